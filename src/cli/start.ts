/**
 * `spool start`: the API server with the demo workers (unless `--no-demo`), on
 * http://127.0.0.1:7700 by default; `spool worker`: workers only, no server.
 *
 * What it prints is for a person: a few lines at start, then a block with the dashboard's
 * address, the admin key (on the first start) and how to mint another; the demo then keeps to
 * one live status line on a terminal, or a summary line every few seconds elsewhere, so that
 * block stays in view (`--verbose` or `SPOOL_DEMO_VERBOSE=1`: a line per job per step).
 *
 * Shutdown (SIGTERM or Ctrl-C): readiness turns 503, long polls answer and streams end, running
 * jobs — in this process's workers, and those HTTP workers leased here (the server still takes
 * their heartbeats and reports) — get `graceSeconds` to finish and are then handed back to the
 * queue with the attempt refunded; then the server stops. A second signal exits at once.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { engineStatus } from '../audio/pipeline/engines.js'
import { startAudioPipeline } from '../audio/pipeline/pipeline.js'
import type { Handler } from '../engine/job.js'
import { Spool } from '../index.js'
import { redactAddress } from '../security/redact.js'
import { buildServer, createLogger } from '../server/app.js'
import { ensureAdminKey, openKeyring } from '../server/bootstrap.js'
import { pipelineOptionsFromConfig } from '../server/routes/sessions.js'
import { defaultWebRoot } from '../server/web.js'
import type { CliConfig } from './config.js'
import { reportDemo, startDemo } from './demo.js'
import { startGateway } from './gateway.js'

/** How the demo reports: every step, or compactly (the default). */
export interface OutputOptions {
  verbose: boolean
}

const stamp = () => new Date().toISOString().slice(11, 23)

/**
 * stdout for a person. On a terminal a status line can sit below the other lines: each new line
 * clears it, prints, and draws it again, so it never scrolls anything away.
 */
class Screen {
  private line = ''
  readonly tty = process.stdout.isTTY === true

  /** A timestamped line. */
  readonly say = (text: string): void => this.write(`${stamp()}  ${text}\n`)

  /** Lines as they are (a block). */
  readonly print = (lines: string[]): void => this.write(`${lines.join('\n')}\n`)

  /** Shows `text` as the status line (terminals only; cut to the terminal's width, so it never wraps). */
  readonly status = (text: string): void => {
    const width = Math.max(20, (process.stdout.columns ?? 80) - 1)
    this.line = text.length > width ? `${text.slice(0, width - 1)}…` : text
    process.stdout.write(`\r\x1b[2K${this.line}`)
  }

  clearStatus(): void {
    if (this.line) process.stdout.write('\r\x1b[2K')
    this.line = ''
  }

  private write(text: string): void {
    if (this.line) process.stdout.write(`\r\x1b[2K${text}${this.line}`)
    else process.stdout.write(text)
  }
}

const screen = new Screen()
const say = screen.say

const DEFAULT_STORE = 'sqlite:./data/spool.db'

/**
 * The command that mints another admin key on this server's store (it writes to the store
 * directly, so it needs no key): with `--store` unless the store is the default one; a
 * PostgreSQL address is not printed (it may hold a password).
 */
export function mintAdminKeyCommand(config: Pick<CliConfig, 'store'>): string {
  const base = 'npx spool keys create --name admin --scopes admin'
  if (config.store === DEFAULT_STORE) return base
  if (/^sqlite:/i.test(config.store)) return `${base} --store ${config.store}`
  return `SPOOL_STORE=… ${base}   (this server's store)`
}

/** The block that says where the dashboard is, the admin key, and how to get another. */
function welcomeBlock(url: string, adminToken: string | null, config: CliConfig): string[] {
  const dashboard = defaultWebRoot() ? `${url}/` : `${url}/  (not built: npm run build)`
  const rule = '─'.repeat(76)
  return [
    '',
    `  ┌─ Spool is running ${rule.slice(19)}`,
    `  │ dashboard  ${dashboard}   ·   API docs ${url}/docs`,
    ...(adminToken
      ? [`  │ admin key  ${adminToken}`, '  │            sign in with it; shown this once (Spool keeps only its hash)']
      : ['  │ sign in    with an admin key (the first start printed one)']),
    `  │ new key    ${mintAdminKeyCommand(config)}`,
    '  │            mints another admin key if this one is lost (`spool keys revoke ID` retires the old)',
    `  └${rule}`,
    '',
  ]
}

async function openSpool(config: CliConfig, logger: ReturnType<typeof createLogger>) {
  const keyring = openKeyring(config)
  if (keyring?.source === 'created') say(`created a data key for encryption at rest (mode 0600)`)
  return Spool.open({
    store: config.store,
    maxPayloadBytes: config.limits.payloadBytes,
    logger: logger.child({ component: 'engine' }),
    ...(keyring && { codec: keyring.codec }),
    ...(config.tracing.enabled && { tracing: true }),
  })
}

export async function runStart(config: CliConfig, output: OutputOptions = { verbose: false }): Promise<number> {
  // Request logs go to stderr: stdout is for the lines a person reads.
  const logger = createLogger(config.logLevel, process.stderr)
  const spool = await openSpool(config, logger)
  // The audio pipeline's workers run beside the API (offline engines by default), before the
  // server answers, so /v1/sessions and the workers share one sessions service.
  const audio = config.audio.enabled ? await startAudio(spool, config) : null
  const ai = await startGateway(spool, config, say)
  const server = await buildServer({ spool, config: ai.config, logger })
  const adminToken = config.auth.bootstrapAdminKey ? await ensureAdminKey(spool, logger) : null
  const url = await server.listen()
  say(`spool started on ${redactAddress(config.store)} (node ${spool.nodeId})`)
  say(`API on ${url}  ·  docs ${url}/docs  ·  health ${url}/readyz`)
  if (adminToken) say('first start: created an admin key for tenant "default"')
  const stopDemo = config.demo ? demo(spool, output) : () => {}
  screen.print(welcomeBlock(url, adminToken, config))
  await untilSignal(config)
  stopDemo()
  // One grace period for every running job: those of this process's workers (the audio
  // pipeline's, the demo's, the gateway's) and those HTTP workers leased here, whose reports the
  // server still takes until they are in or handed back.
  const graceMs = config.graceSeconds * 1000
  await Promise.all([
    server.close({ graceMs }),
    ai.close({ graceMs }),
    audio?.close({ graceMs }),
    spool.drain({ graceMs }),
  ])
  await spool.close({ graceMs })
  say('stopped')
  return 0
}

export async function runWorker(
  config: CliConfig,
  options: { module: string | undefined; demo: boolean; concurrency: number | undefined } & OutputOptions,
): Promise<number> {
  const logger = createLogger(config.logLevel, process.stderr)
  const spool = await openSpool(config, logger)
  say(`spool worker on ${redactAddress(config.store)} (node ${spool.nodeId})`)
  let stopDemo = () => {}
  // Configured AI providers are served by every worker node too (never the demo's fake one).
  const ai =
    Object.keys(config.providers).length > 0 ? await startGateway(spool, { ...config, demo: false }, say) : null
  if (options.module) {
    const mod = (await import(pathToFileURL(resolve(options.module)).href)) as { default?: unknown }
    const handlers = mod.default
    if (typeof handlers === 'function') await (handlers as (spool: Spool) => unknown)(spool)
    else if (handlers && typeof handlers === 'object') {
      for (const [queue, handler] of Object.entries(handlers)) {
        spool.work(queue, handler as Handler, {
          ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
        })
        say(`serving queue ${queue}`)
      }
    } else throw new Error(`${options.module} must export default { queue: handler } or (spool) => void`)
  } else if (options.demo) stopDemo = demo(spool, options)
  else if (!ai) throw new Error('worker needs a MODULE (default export { queue: handler }), --demo or providers')
  await untilSignal(config)
  stopDemo()
  await ai?.close({ graceMs: config.graceSeconds * 1000 })
  await spool.close({ graceMs: config.graceSeconds * 1000 })
  say('stopped')
  return 0
}

/** Starts the audio pipeline's workers and says which engines run. */
async function startAudio(spool: Spool, config: CliConfig) {
  const options = pipelineOptionsFromConfig(config)
  const pipeline = await startAudioPipeline(spool, options)
  const status = engineStatus(options)
  const engine = (family: 'transcription' | 'diarization' | 'notes') => {
    const name = options.engines[family]
    const state = status[family][name]
    return state?.available ? name : `${name} (unavailable: ${state?.reason ?? 'unknown engine'})`
  }
  say(
    `audio: sessions on /v1/sessions, audio in ${options.dir}; engines ${engine('transcription')}, ${engine('diarization')}, ${engine('notes')}`,
  )
  return pipeline
}

function demo(spool: Spool, output: OutputOptions): () => void {
  const stop = startDemo(spool, say)
  say(
    `demo: a job every 0.5 s on queue "demo" (urgent, normal and low), 4 at a time, ~10 % fail and retry${output.verbose ? '' : '; --verbose shows every step'}`,
  )
  const stopReport = reportDemo(spool, { say, status: screen.tty ? screen.status : undefined }, output)
  return () => {
    stop()
    stopReport()
    screen.clearStatus()
  }
}

function untilSignal(config: CliConfig): Promise<void> {
  let signals = 0
  return new Promise<void>((resolveSignal) => {
    const onSignal = (signal: string) => {
      signals += 1
      if (signals > 1) {
        say(`${signal} again: exiting now; running jobs will be recovered when their leases lapse`)
        process.exit(130)
      }
      say(
        `${signal}: stopping — running jobs (in-process and HTTP workers') get ${config.graceSeconds} s, then go back to the queue (again to force)`,
      )
      resolveSignal()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
