/**
 * The child-process harness of the multi-process tests: fixtures (test/fixtures) run as
 * `node --import tsx <script> <json config>` from the repository root, speaking JSON lines on
 * stdout, with their stderr kept for the report of a failed test.
 *
 * Every child started here is registered; a test file's afterEach calls `teardown` (or
 * `killAll`), which SIGKILLs whatever is still running, whatever happened in the test.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { WorkerFixtureConfig } from '../fixtures/worker.js'

/** The repository root: where the fixtures run from. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const WORKER_FIXTURE = fileURLToPath(new URL('../fixtures/worker.ts', import.meta.url))
export const ENQUEUER_FIXTURE = fileURLToPath(new URL('../fixtures/enqueuer.ts', import.meta.url))

export interface Message {
  type: string
  [key: string]: unknown
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

// ── the registry ───────────────────────────────────────────────────────────────────────────

const children: Child[] = []
const cleanups: (() => unknown)[] = []

/** Runs `cleanup` at the next teardown (after the children are killed; last registered, first run). */
export function onTeardown(cleanup: () => unknown): void {
  cleanups.push(cleanup)
}

/** SIGKILLs every child started since the last call and resolves, with them, once all have exited. */
export async function killAll(): Promise<Child[]> {
  const ended = children.splice(0)
  await Promise.all(ended.map((child) => child.kill('SIGKILL')))
  return ended
}

/**
 * For afterEach: children first (nothing may keep running), their stderr printed when the test
 * failed, then the registered cleanups (best effort: a handle may already be closed).
 */
export async function teardown(options: { failed: boolean; tag: string }): Promise<void> {
  const ended = await killAll()
  if (options.failed) {
    for (const child of ended) {
      if (child.stderr) console.error(`[${options.tag}] stderr of ${child.name}:\n${child.stderr.slice(-4000)}`)
    }
  }
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup()
    } catch {
      // best effort: a handle that is already closed
    }
  }
}

// ── child processes ────────────────────────────────────────────────────────────────────────

/** A fixture run as `node --import tsx`, speaking JSON lines on stdout. */
export class Child {
  readonly proc: ChildProcess
  readonly messages: Message[] = []
  /** Lines that were not JSON (a line cut short by a kill would be one). */
  readonly garbled: string[] = []
  stderr = ''
  /** Resolves once the process has exited and its stdout has been read to the end. */
  readonly closed: Promise<Exit>
  private exit: Exit | null = null

  constructor(
    readonly name: string,
    script: string,
    config: object,
    options: { stdin?: boolean } = {},
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], {
      cwd: ROOT,
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    })
    const stdout = this.proc.stdout
    const stderr = this.proc.stderr
    if (!stdout || !stderr) throw new Error('spawned without pipes')
    createInterface({ input: stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as Message)
      } catch {
        this.garbled.push(line)
      }
    })
    stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.closed = new Promise((resolve) => {
      this.proc.once('close', (code, signal) => {
        this.exit = { code, signal }
        resolve(this.exit)
      })
    })
    children.push(this)
  }

  get alive(): boolean {
    return this.exit === null
  }

  /** Throws (with its stderr) when the process is gone: for probes that need it running. */
  assertAlive(): void {
    if (!this.alive) {
      throw new Error(`${this.name} exited unexpectedly (${JSON.stringify(this.exit)}):\n${this.stderr.slice(-4000)}`)
    }
  }

  /** The first message of this type, once it arrives. */
  waitFor(type: string, timeoutMs = 30_000): Promise<Message> {
    return waitUntil(`${this.name} to report "${type}"`, timeoutMs, () => {
      const found = this.messages.find((message) => message.type === type)
      if (!found) this.assertAlive()
      return found
    })
  }

  send(line: string): void {
    this.proc.stdin?.write(`${line}\n`)
  }

  /** Sends a signal (when still running) and resolves once it has exited. */
  kill(signal: NodeJS.Signals): Promise<Exit> {
    if (this.alive) this.proc.kill(signal)
    return this.closed
  }

  /** The engine's log lines (JSON on stderr) whose message contains `text`. */
  logged(text: string): number {
    return this.stderr.split('\n').filter((line) => line.includes(text)).length
  }
}

/** The worker fixture, named `worker <name>`; a standby one gets a stdin to be told to go. */
export function startWorker(config: WorkerFixtureConfig): Child {
  return new Child(`worker ${config.name}`, WORKER_FIXTURE, config, { stdin: config.standby === true })
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined/false.
 * Fails with `what` after `timeoutMs`; a probe that throws fails at once.
 */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}
