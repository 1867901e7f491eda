/**
 * Where the audio programs are. ffmpeg and ffprobe are looked up in this order:
 *
 * 1. `FFMPEG_PATH` / `FFPROBE_PATH`, when set (a path that is not executable is an error, not a
 *    silent fall-through: a typo there should be loud);
 * 2. the system's binary on `PATH` (Debian's `ffmpeg` package, installed by `scripts/setup`);
 * 3. the static builds in the optional npm packages `@ffmpeg-installer/ffmpeg` and
 *    `@ffprobe-installer/ffprobe`, for machines where apt is not an option.
 *
 * The answer is cached per process; `resetToolCache` is for tests that change the environment.
 */
import { accessSync, constants } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, join } from 'node:path'
import { AudioError } from './errors.js'

const require = createRequire(import.meta.url)
const cache = new Map<string, string>()

/** The first executable called `name` on `PATH`, or undefined. */
export function whichSync(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function installerPath(pkg: string): string | undefined {
  try {
    const found = (require(pkg) as { path?: unknown }).path
    return typeof found === 'string' && isExecutable(found) ? found : undefined
  } catch {
    return undefined
  }
}

function locate(name: 'ffmpeg' | 'ffprobe', envVar: string, pkg: string): string {
  const cached = cache.get(name)
  if (cached) return cached
  const fromEnv = process.env[envVar]
  let found: string | undefined
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new AudioError('AUDIO_ENGINE_UNAVAILABLE', `${envVar}=${fromEnv} is not an executable file`, {
        tool: name,
      })
    }
    found = fromEnv
  } else {
    found = whichSync(name) ?? installerPath(pkg)
  }
  if (!found) {
    throw new AudioError(
      'AUDIO_ENGINE_UNAVAILABLE',
      `${name} was not found: install Debian's ffmpeg (scripts/setup does), set ${envVar}, or install ${pkg}`,
      { tool: name },
    )
  }
  cache.set(name, found)
  return found
}

/**
 * The ffmpeg to run.
 *
 * @example
 * await runCommand(ffmpegPath(), ['-i', input, output])
 */
export function ffmpegPath(): string {
  return locate('ffmpeg', 'FFMPEG_PATH', '@ffmpeg-installer/ffmpeg')
}

/**
 * The ffprobe to run.
 *
 * @example
 * await runCommand(ffprobePath(), ['-v', 'error', '-show_format', input])
 */
export function ffprobePath(): string {
  return locate('ffprobe', 'FFPROBE_PATH', '@ffprobe-installer/ffprobe')
}

/** Forgets the located paths (tests that change `FFMPEG_PATH` or `PATH`). */
export function resetToolCache(): void {
  cache.clear()
}
