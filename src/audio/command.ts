/**
 * Runs the audio tools (ffmpeg, ffprobe, pocketsphinx) as child processes. The one thing every
 * caller needs besides the output is that an aborted job leaves nothing running: the child gets
 * SIGKILL the moment the signal fires (ffmpeg ignores SIGTERM while it flushes, and a
 * half-written WAV is discarded anyway), and the promise rejects with the signal's reason so the
 * worker sees `SPOOL_JOB_TIMEOUT` or `SPOOL_JOB_CANCELLED` rather than "exit code null".
 */
import { spawn } from 'node:child_process'

export interface CommandResult {
  code: number
  stdout: string
  stderr: string
}

export interface CommandOptions {
  signal?: AbortSignal | undefined
  /** Kept output per stream; the tail is kept when it is longer (errors come last). Default 4 MB. */
  maxOutputBytes?: number
  /** Called with each chunk of stdout as it arrives (progress lines), besides collecting it. */
  onStdout?: (chunk: string) => void
  env?: NodeJS.ProcessEnv
}

/** A tool that could not be started, or exited with a code other than 0. */
export class CommandError extends Error {
  override readonly name = 'CommandError'
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/**
 * Runs `command` with `args` (no shell) and resolves with its output when it exits 0.
 *
 * @example
 * const { stdout } = await runCommand('ffprobe', ['-v', 'error', '-of', 'json', '-show_format', path], { signal })
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const { signal, maxOutputBytes = 4 * 1024 * 1024 } = options
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env })
    let stdout = ''
    let stderr = ''
    const keep = (text: string, chunk: string) => {
      const next = text + chunk
      return next.length > maxOutputBytes ? next.slice(next.length - maxOutputBytes) : next
    }
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout = keep(stdout, chunk)
      options.onStdout?.(chunk)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = keep(stderr, chunk)
    })
    const onAbort = () => child.kill('SIGKILL')
    signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort)
      reject(
        new CommandError(`${command} could not be started: ${error.message}`, command, null, stderr, { cause: error }),
      )
    })
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort)
      if (signal?.aborted) reject(signal.reason)
      else if (code === 0) resolve({ code, stdout, stderr })
      else {
        const last = stderr.trim().split('\n').slice(-3).join(' | ')
        reject(new CommandError(`${command} exited with ${code}: ${last}`, command, code, stderr))
      }
    })
  })
}
