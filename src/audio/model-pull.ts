/**
 * `spool models pull`: downloads named model sets (`model-sets.ts`) into the models folder.
 *
 * Each file streams to `<models>/.pull/` while its SHA-256 is computed; it must be as long as
 * the server's `Content-Length` and, where the catalogue knows them, have the published size
 * and digest. Only then is it moved into place (a rename on the same filesystem), and archives
 * are unpacked with the system `tar` into a scratch folder first, so an interrupted or corrupt
 * download never leaves a half-written model where an engine would load it. A file or folder
 * already in place is left alone (pulling twice downloads nothing), unless `force` is set.
 *
 * A mirror (`baseUrl`) serves the same `<release>/<file>` layout as sherpa-onnx's releases.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream } from 'node:stream/web'
import { promisify } from 'node:util'
import { MODEL_SETS, type ModelDownload, type ModelSet, SHERPA_RELEASES_URL } from './model-sets.js'

const run = promisify(execFile)

export interface PullOptions {
  /** The models folder to fill. */
  dir: string
  /** Instead of sherpa-onnx's releases: a mirror with the same `<release>/<file>` layout. */
  baseUrl?: string
  /** Download again even when the target is in place. */
  force?: boolean
  signal?: AbortSignal
  /** Progress lines for the user. */
  onLine?: (line: string) => void
  /** The catalogue; default `MODEL_SETS`. */
  sets?: readonly ModelSet[]
}

export interface PulledFile {
  set: string
  file: string
  url: string
  target: string
  /** `present`: it was in place already, nothing was downloaded. */
  outcome: 'downloaded' | 'present'
  bytes?: number
  sha256?: string
}

/** A download that failed: HTTP status, truncated, wrong size or digest, unpacking. */
export class ModelPullError extends Error {
  override readonly name = 'ModelPullError'
}

/**
 * The sets named, or a `ModelPullError` naming the unknown ones and what exists.
 *
 * @example
 * resolveModelSets(['whisper-tiny.en']) // [{ name: 'whisper-tiny.en', … }]
 */
export function resolveModelSets(names: readonly string[], sets: readonly ModelSet[] = MODEL_SETS): ModelSet[] {
  const unknown = names.filter((name) => !sets.some((set) => set.name === name))
  if (unknown.length > 0) {
    throw new ModelPullError(
      `unknown model set ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${sets.map((s) => s.name).join(', ')}`,
    )
  }
  return names.map((name) => sets.find((set) => set.name === name) as ModelSet)
}

/**
 * Downloads the named sets into `options.dir`, in order, one file at a time.
 *
 * @example
 * await pullModels(['silero-vad', 'whisper-tiny.en'], { dir: modelsDir(), onLine: console.log })
 */
export async function pullModels(names: readonly string[], options: PullOptions): Promise<PulledFile[]> {
  const sets = resolveModelSets(names, options.sets)
  const base = (options.baseUrl ?? SHERPA_RELEASES_URL).replace(/\/+$/, '')
  const out: PulledFile[] = []
  for (const set of sets) {
    for (const download of set.downloads) {
      const url = `${base}/${download.release}/${download.file}`
      const target = join(options.dir, download.target)
      if (!options.force && (await inPlace(target, download))) {
        options.onLine?.(`${set.name}: ${download.target} is in place`)
        out.push({ set: set.name, file: download.file, url, target, outcome: 'present' })
        continue
      }
      options.onLine?.(`${set.name}: downloading ${url}`)
      const got = await fetchInto(url, download, target, options)
      options.onLine?.(
        `${set.name}: ${download.target} (${formatBytes(got.bytes)}, sha256 ${got.sha256.slice(0, 12)}…)`,
      )
      out.push({ set: set.name, file: download.file, url, target, outcome: 'downloaded', ...got })
    }
    if (!set.installed(options.dir)) {
      throw new ModelPullError(`${set.name}: the files are in place but not in the layout its engine reads`)
    }
  }
  return out
}

/** A file of the known size, or a non-empty folder, is taken as in place. */
async function inPlace(target: string, download: ModelDownload): Promise<boolean> {
  try {
    const info = await stat(target)
    if (download.archiveRoot !== undefined) return info.isDirectory() && (await readdir(target)).length > 0
    return info.isFile() && info.size > 0 && (download.bytes === undefined || info.size === download.bytes)
  } catch {
    return false
  }
}

async function fetchInto(
  url: string,
  download: ModelDownload,
  target: string,
  options: PullOptions,
): Promise<{ bytes: number; sha256: string }> {
  const scratchRoot = join(options.dir, '.pull')
  await mkdir(scratchRoot, { recursive: true })
  const scratch = await mkdtemp(join(scratchRoot, `${download.file.replace(/[^\w.-]/g, '_')}-`))
  try {
    let response: Response
    try {
      response = await fetch(url, { redirect: 'follow', ...(options.signal && { signal: options.signal }) })
    } catch (error) {
      throw new ModelPullError(`${url}: ${describe(error)}`, { cause: error })
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel()
      throw new ModelPullError(`${url} answered ${response.status} ${response.statusText}`.trim())
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN)
    const hash = createHash('sha256')
    let bytes = 0
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length
        hash.update(chunk)
        done(null, chunk)
      },
    })
    const file = join(scratch, download.file)
    try {
      await pipeline(Readable.fromWeb(response.body as ReadableStream), counter, createWriteStream(file))
    } catch (error) {
      throw new ModelPullError(`${url}: the download broke off after ${formatBytes(bytes)}: ${describe(error)}`, {
        cause: error,
      })
    }
    const sha256 = hash.digest('hex')
    if (Number.isFinite(declared) && bytes !== declared) {
      throw new ModelPullError(`${url}: got ${bytes} bytes of the ${declared} announced (truncated)`)
    }
    if (download.bytes !== undefined && bytes !== download.bytes) {
      throw new ModelPullError(`${url}: got ${bytes} bytes, the published file has ${download.bytes}`)
    }
    if (download.sha256 !== undefined && sha256 !== download.sha256) {
      throw new ModelPullError(`${url}: sha256 ${sha256} does not match the published ${download.sha256}`)
    }
    if (download.archiveRoot === undefined) {
      await mkdir(dirname(target), { recursive: true })
      await rm(target, { recursive: true, force: true })
      await rename(file, target)
    } else {
      const unpacked = join(scratch, 'unpacked')
      await mkdir(unpacked)
      try {
        // GNU tar refuses members with `..` or absolute names unless told otherwise.
        await run('tar', ['-xjf', file, '-C', unpacked, '--no-same-owner', '--no-same-permissions'], {
          ...(options.signal && { signal: options.signal }),
        })
      } catch (error) {
        throw new ModelPullError(`${url}: cannot unpack: ${describe(error)}`, { cause: error })
      }
      const root = join(unpacked, download.archiveRoot)
      if (!existsSync(root) || !(await stat(root)).isDirectory()) {
        throw new ModelPullError(`${url}: the archive has no folder ${download.archiveRoot}`)
      }
      await mkdir(dirname(target), { recursive: true })
      await rm(target, { recursive: true, force: true })
      await rename(root, target)
    }
    return { bytes, sha256 }
  } finally {
    await rm(scratch, { recursive: true, force: true })
    // The scratch root goes too when nothing else (a concurrent pull) is using it.
    await rmdir(scratchRoot).catch(() => {})
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as { cause?: unknown }).cause
  const stderr = (error as { stderr?: unknown }).stderr
  if (typeof stderr === 'string' && stderr.trim()) return stderr.trim().split('\n')[0] as string
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message
}

function formatBytes(bytes: number): string {
  return bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${bytes} bytes`
}
