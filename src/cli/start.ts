/**
 * `spool start`: the API server with the demo workers (unless `--no-demo`), on
 * http://127.0.0.1:7700 by default; `spool worker`: workers only, no server.
 *
 * Shutdown (SIGTERM or Ctrl-C): readiness turns 503, the server stops taking requests (long
 * polls answer, streams end), running jobs get `graceSeconds` to finish and are then handed back
 * to the queue; a second signal exits at once.
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
import type { CliConfig } from './config.js'
import { startDemo } from './demo.js'
import { startGateway } from './gateway.js'

const stamp = () => new Date().toISOString().slice(11, 23)
const say = (line: string) => console.log(`${stamp()}  ${line}`)

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

export async function runStart(config: CliConfig): Promise<number> {
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
  if (adminToken) {
    say('first start: created an admin key for tenant "default". It is shown this once; Spool keeps only its hash:')
    console.log(`\n    ${adminToken}\n`)
    say(`try: curl -H "Authorization: Bearer $SPOOL_KEY" ${url}/v1/queues`)
  }
  const stopDemo = config.demo ? demo(spool) : () => {}
  await untilSignal(config)
  stopDemo()
  await server.close()
  await ai.close({ graceMs: config.graceSeconds * 1000 })
  await audio?.close({ graceMs: config.graceSeconds * 1000 })
  await spool.close({ graceMs: config.graceSeconds * 1000 })
  say('stopped')
  return 0
}

export async function runWorker(
  config: CliConfig,
  options: { module: string | undefined; demo: boolean; concurrency: number | undefined },
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
  } else if (options.demo) stopDemo = demo(spool)
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

function demo(spool: Spool): () => void {
  const stop = startDemo(spool, say)
  say('demo: a job every 0.5 s on queue "demo" (urgent, normal and low), 4 at a time, ~10 % fail and retry')
  const bar = (percent: number) =>
    `${'█'.repeat(Math.round(percent / 10)).padEnd(10, '·')} ${String(percent).padStart(3)}%`
  const subscription = spool.events.subscribe({ queue: 'demo' }, (event) => {
    const tag = `job ${event.jobId?.padStart(4)}`
    if (event.type === 'job.progress') say(`${tag}  ${bar(Number(event.data.percent))}  ${event.data.stage ?? ''}`)
    else if (event.type === 'job.retrying') say(`${tag}  retrying after: ${event.data.error}`)
    else if (event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.created') {
      say(`${tag}  ${event.type.slice(4)}`)
    }
  })
  return () => {
    stop()
    subscription.close()
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
      say(`${signal}: stopping — running jobs get ${config.graceSeconds} s, then go back to the queue (again to force)`)
      resolveSignal()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
