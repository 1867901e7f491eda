/** A child process with its output collected as it comes: the `spool` command, or any other. */
import { type ChildProcess, spawn } from 'node:child_process'
import { waitUntil } from './children.js'

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname

export interface Collected {
  child: ChildProcess
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>
  out(): string
  err(): string
}

/** Runs `command ARGS…` with `env` over this process's environment, collecting stdout and stderr. */
export function spawnCollected(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Collected {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, out: () => stdout, err: () => stderr }
}

/** Runs `spool ARGS…` from the sources. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Collected {
  return spawnCollected(process.execPath, ['--import', 'tsx', MAIN, ...args], env)
}

/** Polls `check` until it holds; throws naming `what` after `timeoutMs`. */
export function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<true> {
  return waitUntil(what, timeoutMs, () => check() || undefined, 25)
}
