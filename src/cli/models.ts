/**
 * `spool models ls` and `spool models pull SET... [--url BASE] [--dir DIR] [--force]`: which model
 * sets the sherpa engines and Silero VAD can use, whether each is in the models folder, and
 * downloading them there (src/audio/model-pull.ts). The folder is `--dir`, else
 * `SPOOL_MODELS_DIR`, else `../shared/models` beside the project; the base is `--url`, else
 * `SPOOL_MODELS_URL`, else sherpa-onnx's GitHub releases.
 */
import { resolve } from 'node:path'
import { ModelPullError, pullModels, resolveModelSets } from '../audio/model-pull.js'
import { MODEL_SETS, SHERPA_RELEASES_URL } from '../audio/model-sets.js'
import { modelsDir } from '../audio/models.js'
import type { Io } from './io.js'

export interface ModelsCommandOptions {
  dir?: string
  baseUrl?: string
  force: boolean
  json: boolean
  io: Io
  env: NodeJS.ProcessEnv
}

/**
 * Runs `models ls` or `models pull`; resolves to the exit code (0 done, 1 a download failed,
 * 2 an unknown set).
 *
 * @example
 * await runModels('pull', ['silero-vad'], { force: false, json: false, io, env: process.env })
 */
export async function runModels(sub: 'ls' | 'pull', names: string[], options: ModelsCommandOptions): Promise<number> {
  const { io, env } = options
  const dir = options.dir ? resolve(options.dir) : modelsDir(env)
  if (sub === 'ls') {
    const sets = MODEL_SETS.map((set) => ({
      name: set.name,
      installed: set.installed(dir),
      description: set.description,
      files: set.downloads.map((d) => d.target),
    }))
    if (options.json) io.out(JSON.stringify({ dir, sets }, null, 2))
    else {
      io.out(`models folder: ${dir}`)
      for (const set of sets) io.out(`  ${set.installed ? '✓' : '·'} ${set.name.padEnd(20)} ${set.description}`)
    }
    return 0
  }
  try {
    resolveModelSets(names)
  } catch (error) {
    io.err(`spool: ${(error as Error).message}`)
    return 2
  }
  const baseUrl = options.baseUrl ?? env.SPOOL_MODELS_URL ?? SHERPA_RELEASES_URL
  try {
    const files = await pullModels(names, {
      dir,
      baseUrl,
      force: options.force,
      ...(!options.json && { onLine: (line: string) => io.out(line) }),
    })
    if (options.json) io.out(JSON.stringify({ dir, files }, null, 2))
    else io.out(`done: ${names.join(', ')} in ${dir}`)
    return 0
  } catch (error) {
    if (!(error instanceof ModelPullError)) throw error
    io.err(`spool: ${error.message}`)
    return 1
  }
}
