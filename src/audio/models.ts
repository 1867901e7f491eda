/**
 * Where model files live. Model files are never part of the project: a machine either has them
 * (here `../shared/models`, beside the checkout) or the offline fallbacks run instead.
 *
 * `SPOOL_MODELS_DIR` wins when set; otherwise `<project root>/../shared/models`, where the project
 * root is the nearest folder above this module holding Spool's `package.json` (so the answer is
 * the same from `src/` under tsx and from `dist/` after a build).
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

let projectRootCache: string | undefined

/** The folder holding Spool's package.json. */
export function projectRoot(): string {
  if (projectRootCache) return projectRootCache
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'spool') break
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir)
    if (parent === dir) {
      dir = process.cwd()
      break
    }
    dir = parent
  }
  projectRootCache = dir
  return dir
}

/**
 * The models folder: `SPOOL_MODELS_DIR`, else `../shared/models` relative to the project.
 *
 * @example
 * join(modelsDir(), 'silero-vad', 'silero_vad.onnx')
 */
export function modelsDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.SPOOL_MODELS_DIR
  return configured ? resolve(configured) : resolve(projectRoot(), '..', 'shared', 'models')
}

/**
 * `relative` inside the models folder when that file exists, else undefined.
 *
 * @example
 * const silero = findModelFile('silero-vad/silero_vad.onnx')
 */
export function findModelFile(relative: string, dir = modelsDir()): string | undefined {
  const path = join(dir, relative)
  return existsSync(path) ? path : undefined
}
