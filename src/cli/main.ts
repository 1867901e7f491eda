#!/usr/bin/env node
/**
 * The `spool` command.
 *
 *   spool start    [--store URL] [--demo|--no-demo] [--grace SECONDS]
 *   spool migrate  [--store URL]
 *   spool enqueue  QUEUE JSON [--priority P] [--delay MS] [--store URL]
 *   spool stats    [QUEUE] [--store URL]
 */
import { parseArgs } from 'node:util'
import { SpoolError } from '../engine/errors.js'
import { Spool } from '../index.js'
import { readConfig } from './config.js'
import { startDemo } from './demo.js'

const USAGE = `usage:
  spool start    [--store URL] [--demo|--no-demo] [--grace SECONDS]   run workers (and the demo) until Ctrl-C
  spool migrate  [--store URL]                                        apply database migrations
  spool enqueue  QUEUE JSON [--priority P] [--delay MS] [--store URL]  add a job
  spool stats    [QUEUE] [--store URL]                                counts, throughput and timings

  --store defaults to $SPOOL_STORE, then sqlite:./data/spool.db`

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      demo: { type: 'boolean' },
      'no-demo': { type: 'boolean' },
      grace: { type: 'string' },
      priority: { type: 'string' },
      delay: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command, ...rest] = positionals
  if (values.help || command === undefined) {
    console.log(USAGE)
    return command === undefined && !values.help ? 2 : 0
  }
  const config = readConfig(values)
  switch (command) {
    case 'start':
      return start(config)
    case 'migrate': {
      const store = await Spool.openStore(config.store, { migrate: false })
      try {
        const { applied } = await store.migrate()
        console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'schema is up to date')
      } finally {
        await store.close()
      }
      return 0
    }
    case 'enqueue': {
      const [queue, json] = rest
      if (queue === undefined || json === undefined)
        throw new SpoolError('SPOOL_INVALID_OPTION', 'enqueue needs QUEUE and JSON', { field: 'queue' })
      let payload: unknown
      try {
        payload = JSON.parse(json)
      } catch {
        throw new SpoolError('SPOOL_INVALID_PAYLOAD', 'JSON argument is not valid JSON', { field: 'payload' })
      }
      const spool = await Spool.open({ store: config.store, maintenance: false })
      try {
        const priority =
          values.priority === undefined
            ? undefined
            : /^-?\d+$/.test(values.priority)
              ? Number(values.priority)
              : values.priority
        const result = await spool.enqueue(queue, payload, {
          ...(priority !== undefined && { priority: priority as never }),
          ...(values.delay !== undefined && { delayMs: Number(values.delay) }),
        })
        console.log(JSON.stringify(result))
      } finally {
        await spool.close()
      }
      return 0
    }
    case 'stats': {
      const spool = await Spool.open({ store: config.store, maintenance: false })
      try {
        console.log(JSON.stringify(await spool.stats(rest[0]), null, 2))
      } finally {
        await spool.close()
      }
      return 0
    }
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`)
      return 2
  }
}

async function start(config: ReturnType<typeof readConfig>): Promise<number> {
  const spool = await Spool.open({ store: config.store })
  const print = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)}  ${line}`)
  // A PostgreSQL address may carry a password: never print it.
  const where = config.store.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
  print(`spool started on ${where} (node ${spool.nodeId})`)
  let stopDemo = () => {}
  if (config.demo) {
    stopDemo = startDemo(spool, print)
    print('demo: a job every 0.5 s on queue "demo" (urgent, normal and low), 4 at a time, ~10 % fail and retry')
    const bar = (percent: number) =>
      `${'█'.repeat(Math.round(percent / 10)).padEnd(10, '·')} ${String(percent).padStart(3)}%`
    spool.events.subscribe({ queue: 'demo' }, (event) => {
      const tag = `job ${event.jobId?.padStart(4)}`
      if (event.type === 'job.progress') print(`${tag}  ${bar(Number(event.data.percent))}  ${event.data.stage ?? ''}`)
      else if (event.type === 'job.retrying') print(`${tag}  retrying after: ${event.data.error}`)
      else if (event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.created') {
        print(`${tag}  ${event.type.slice(4)}`)
      }
    })
  }
  let signals = 0
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      signals += 1
      if (signals > 1) {
        print(`${signal} again: exiting now; running jobs will be recovered when their leases lapse`)
        process.exit(130)
      }
      print(
        `${signal}: stopping — running jobs get ${config.graceSeconds} s, then go back to the queue (again to force)`,
      )
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  stopDemo()
  await spool.close({ graceMs: config.graceSeconds * 1000 })
  print('stopped')
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    if (error instanceof SpoolError) console.error(`spool: ${error.message} (${error.code})`)
    else if (error instanceof Error) {
      const code = (error as { code?: unknown }).code
      console.error(`spool: ${error.message}${typeof code === 'string' ? ` (${code})` : ''}`)
      if (process.env.SPOOL_DEBUG) console.error(error.stack)
    } else console.error(`spool: ${String(error)}`)
    process.exitCode = 1
  },
)
