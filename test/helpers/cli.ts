/** The `spool` command as a child process, its output collected as it comes. */
import { type ChildProcess, spawn } from 'node:child_process'

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname

export interface CliRun {
  child: ChildProcess
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>
  out(): string
  err(): string
}

/** Runs `spool ARGS…` with `env` over this process's environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, out: () => stdout, err: () => stderr }
}

/** Polls `check` every 25 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
