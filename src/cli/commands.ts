/**
 * The `spool` command's commands. Run `spool --help` for the list; every command takes `--json`
 * for machine-readable output. Exit codes: 0 done, 1 failed, 2 usage error, 3 not found,
 * 4 `doctor` found a problem. `main` runs in-process (the tests call it); src/cli/main.ts is the
 * executable.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { SpoolError } from '../engine/errors.js'
import { Spool } from '../index.js'
import { SCOPES, type Scope } from '../security/api-keys.js'
import { rotateKeyFile } from '../security/keyring.js'
import { redactAddress, redactSecrets } from '../security/redact.js'
import { keyFilePath, openKeyring } from '../server/bootstrap.js'
import { createApiKey, listApiKeys, revokeApiKey } from '../server/keys.js'
import type { JobState } from '../store/store.js'
import { type CliConfig, readConfig } from './config.js'
import { doctor } from './doctor.js'
import { consoleIo, type Io } from './io.js'

const USAGE = `usage: spool COMMAND [options]

  start     [--host H] [--port P] [--demo|--no-demo] [--grace S] [--verbose]   the API server and workers, until Ctrl-C
  worker    [MODULE] [--demo] [--concurrency N] [--verbose]        workers only: MODULE's default export maps queues to handlers
            (--verbose or SPOOL_DEMO_VERBOSE=1: the demo prints every job's every step, not a summary)
  migrate                                                          apply database migrations
  keys      create --name N --scopes admin,producer,worker,reader [--tenant T] | list [--tenant T] | revoke ID
            (writes to the store directly: \`keys create --name admin --scopes admin\` mints a new admin key
            when the one \`start\` printed is lost)
  queues    ls | pause QUEUE | resume QUEUE
  schedules ls [--tenant T] | show NAME | preview NAME [--count N] | pause NAME | resume NAME
  workflows define FILE [--tenant T] | ls [--tenant T] | start NAME [--params JSON] [--tenant T] | run ID [--tenant T]
            (FILE: JSON { "name", "description"?, "steps": [...] }; docs/workflows.md)
  jobs      ls [--queue Q] [--state S] [--tenant T] [--limit N] | show ID | add QUEUE JSON [--priority P] [--delay MS] [--tenant T]
            | retry ID | cancel ID
            | export --format jsonl|csv [--queue Q] [--state S] [--tenant T] [--group G] [--tag T] [--text T] [--error T]
                [--created-after TIME] [--created-before TIME] [--sort created|runAt] [--order asc|desc]   to stdout
  enqueue   QUEUE JSON [--priority P] [--delay MS]                 same as jobs add
  stats     [QUEUE]                                                counts, throughput and timings
  clean     QUEUE [--dry-run]                                      apply the queue's retention now
  doctor                                                           check the store, migrations, keys and settings
  config    print                                                  the settings in force, secrets redacted
  encryption rotate                                                add a fresh data key in front of the key file
  openapi                                                          print the OpenAPI document
  top       [--url URL] [--once]                                   live queues, throughput and workers of a running server (key in SPOOL_KEY)
  models    ls | pull SET... [--url BASE] [--dir DIR] [--force]    model files for the sherpa engines and Silero VAD (docs/audio-engines.md)
  transcribe FILE [--follow] [--url URL] [--urgency U] [--visit-type T] [--language L] [--speakers N]   upload a recording (key in SPOOL_KEY)

  common: --store URL  --config FILE  --json
  settings come from flags, then SPOOL_* variables, then --config FILE, then defaults (docs/api.md)`

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, unhealthy: 4 } as const

class UsageError extends Error {}

/**
 * Runs one command; resolves to its exit code and never throws.
 *
 * @example
 * const code = await main(['keys', 'list', '--json'])
 */
export async function main(argv: string[], io: Io = consoleIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await run(argv, io, env)
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`spool: ${error.message}\n\n${USAGE}`)
      return EXIT.usage
    }
    if (error instanceof SpoolError) io.err(`spool: ${error.message} (${error.code})`)
    else if (error instanceof Error) {
      const code = (error as { code?: unknown }).code
      io.err(`spool: ${redactAddress(error.message)}${typeof code === 'string' ? ` (${code})` : ''}`)
      if (env.SPOOL_DEBUG) io.err(String(error.stack))
    } else io.err(`spool: ${String(error)}`)
    return EXIT.failed
  }
}

async function run(argv: string[], io: Io, env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'key-file': { type: 'string' },
      'jwks-url': { type: 'string' },
      'log-level': { type: 'string' },
      'no-encryption': { type: 'boolean' },
      demo: { type: 'boolean' },
      'no-demo': { type: 'boolean' },
      verbose: { type: 'boolean' },
      grace: { type: 'string' },
      priority: { type: 'string' },
      delay: { type: 'string' },
      tenant: { type: 'string' },
      queue: { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string' },
      count: { type: 'string' },
      params: { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      concurrency: { type: 'string' },
      'dry-run': { type: 'boolean' },
      format: { type: 'string' },
      group: { type: 'string' },
      tag: { type: 'string' },
      text: { type: 'string' },
      error: { type: 'string' },
      'created-after': { type: 'string' },
      'created-before': { type: 'string' },
      sort: { type: 'string' },
      order: { type: 'string' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      once: { type: 'boolean' },
      follow: { type: 'boolean' },
      urgency: { type: 'string' },
      'visit-type': { type: 'string' },
      language: { type: 'string' },
      speakers: { type: 'string' },
      dir: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command, sub, ...rest] = positionals
  if (values.help || command === undefined) {
    io.out(USAGE)
    return command === undefined && !values.help ? EXIT.usage : EXIT.ok
  }
  const json = values.json === true
  const print: Print = (value, human) => io.out(json ? JSON.stringify(value, null, 2) : human())
  const known = new Set([
    'start',
    'worker',
    'migrate',
    'keys',
    'queues',
    'schedules',
    'workflows',
    'jobs',
    'enqueue',
    'stats',
    'clean',
    'doctor',
    'config',
    'encryption',
    'openapi',
    'top',
    'transcribe',
    'models',
  ])
  if (!known.has(command)) {
    io.err(`unknown command "${command}"\n\n${USAGE}`)
    return EXIT.usage
  }
  if (command === 'transcribe') {
    const key = env.SPOOL_KEY
    if (!key) throw new UsageError('transcribe needs an API key in SPOOL_KEY')
    if (!sub) throw new UsageError('transcribe needs FILE')
    const url = (typeof values.url === 'string' ? values.url : undefined) ?? env.SPOOL_URL ?? 'http://127.0.0.1:7700'
    const metadata = {
      ...(typeof values.urgency === 'string' && { urgency: values.urgency }),
      ...(typeof values['visit-type'] === 'string' && { visitType: values['visit-type'] }),
      ...(typeof values.language === 'string' && { language: values.language }),
      ...(typeof values.speakers === 'string' && { speakers: optionalInt(values.speakers, 'speakers') }),
    }
    const tty = process.stdout.isTTY === true && io === consoleIo
    const out = tty ? (text: string) => process.stdout.write(text) : (text: string) => io.out(text.replace(/\n$/, ''))
    return (await import('./transcribe.js')).runTranscribe({
      url,
      key,
      file: sub,
      metadata: metadata as never,
      follow: values.follow === true,
      out,
      tty,
    })
  }
  if (command === 'models') {
    const { runModels } = await import('./models.js')
    if (sub !== 'ls' && sub !== 'pull') throw new UsageError('models takes "ls" or "pull SET..."')
    if (sub === 'pull' && rest.length === 0)
      throw new UsageError('models pull needs at least one SET (spool models ls lists them)')
    return runModels(sub, rest, {
      ...(typeof values.dir === 'string' && { dir: values.dir }),
      ...(typeof values.url === 'string' && { baseUrl: values.url }),
      force: values.force === true,
      json,
      io,
      env,
    })
  }
  if (command === 'top') {
    const key = env.SPOOL_KEY
    if (!key) throw new UsageError('top needs an API key in SPOOL_KEY')
    const url = (typeof values.url === 'string' ? values.url : undefined) ?? env.SPOOL_URL ?? 'http://127.0.0.1:7700'
    return (await import('./top.js')).runTop({
      url,
      key,
      once: values.once === true,
      out: (text) => (values.once ? io.out(text.trimEnd()) : process.stdout.write(text)),
    })
  }
  if (command === 'openapi') {
    const { openApiDocument } = await import('../server/openapi.js')
    io.out(JSON.stringify(openApiDocument(), null, 2))
    return EXIT.ok
  }
  const config = readConfig(values, env)
  switch (command) {
    case 'start':
      return (await import('./start.js')).runStart(config, { verbose: demoVerbose(values.verbose, env) })
    case 'worker':
      return (await import('./start.js')).runWorker(config, {
        module: sub,
        demo: values.demo === true,
        concurrency: optionalInt(values.concurrency, 'concurrency'),
        verbose: demoVerbose(values.verbose, env),
      })
    case 'config': {
      if (sub !== 'print') throw new UsageError('config takes "print"')
      const shown = redactSecrets(config)
      io.out(JSON.stringify(shown, null, 2))
      return EXIT.ok
    }
    case 'encryption': {
      if (sub !== 'rotate') throw new UsageError('encryption takes "rotate"')
      if (config.encryption.key)
        throw new UsageError('keys come from SPOOL_ENCRYPTION_KEY: rotate by putting a new id:key in front there')
      const path = keyFilePath(config)
      openKeyring(config)
      const id = rotateKeyFile(path)
      print({ keyFile: path, activeKeyId: id }, () => `new data key ${id} in ${path}; older keys stay for reading`)
      return EXIT.ok
    }
    case 'doctor': {
      const report = await doctor(config)
      print(report, () =>
        report.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(12)} ${c.detail}`).join('\n'),
      )
      return report.ok ? EXIT.ok : EXIT.unhealthy
    }
    case 'migrate': {
      const store = await Spool.openStore(config.store, { migrate: false })
      try {
        const { applied } = await store.migrate()
        print({ applied }, () => (applied.length ? `applied migrations ${applied.join(', ')}` : 'schema is up to date'))
      } finally {
        await store.close()
      }
      return EXIT.ok
    }
    default:
      break
  }

  const spool = await openSpool(config)
  try {
    switch (command) {
      case 'enqueue':
        return await addJob(spool, [sub, ...rest], values, io)
      case 'stats': {
        const stats = await spool.stats(sub)
        io.out(JSON.stringify(stats, null, 2))
        return EXIT.ok
      }
      case 'clean': {
        if (!sub) throw new UsageError('clean needs QUEUE')
        const report = await spool.queues.cleanup(sub, { dryRun: values['dry-run'] === true })
        print(report, () => {
          const verb = report.dryRun ? 'would remove' : 'removed'
          const { completed, failed, cancelled } = report.removed
          return `${verb} ${completed} completed, ${failed} failed, ${cancelled} cancelled jobs from ${sub}`
        })
        return EXIT.ok
      }
      case 'queues':
        return await queues(spool, sub, rest, print)
      case 'schedules':
        return await schedules(spool, sub, rest, values, print, io)
      case 'workflows':
        return await workflows(spool, sub, rest, values, print, io)
      case 'jobs':
        return await jobs(spool, sub, rest, values, print, io)
      case 'keys':
        return await keys(spool, sub, rest, values, print, io)
      default:
        return EXIT.usage
    }
  } finally {
    await spool.close()
  }
}

type Print = (value: unknown, human: () => string) => void
type Values = Record<string, string | boolean | undefined>

async function openSpool(config: CliConfig): Promise<Spool> {
  const keyring = openKeyring(config)
  return Spool.open({
    store: config.store,
    maintenance: false,
    maxPayloadBytes: config.limits.payloadBytes,
    ...(keyring && { codec: keyring.codec }),
    ...(config.tracing.enabled && { tracing: true }),
  })
}

async function addJob(spool: Spool, args: (string | undefined)[], values: Values, io: Io): Promise<number> {
  const [queue, text] = args
  if (queue === undefined || text === undefined) {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'enqueue needs QUEUE and JSON', { field: 'queue' })
  }
  let payload: unknown
  try {
    payload = JSON.parse(text)
  } catch {
    throw new SpoolError('SPOOL_INVALID_PAYLOAD', 'JSON argument is not valid JSON', { field: 'payload' })
  }
  const priority =
    typeof values.priority === 'string'
      ? /^-?\d+$/.test(values.priority)
        ? Number(values.priority)
        : values.priority
      : undefined
  const result = await spool.enqueue(queue, payload, {
    ...(priority !== undefined && { priority: priority as never }),
    ...(typeof values.delay === 'string' && { delayMs: Number(values.delay) }),
    ...(typeof values.tenant === 'string' && { tenant: values.tenant }),
  })
  io.out(JSON.stringify(result))
  return EXIT.ok
}

async function queues(spool: Spool, sub: string | undefined, rest: string[], print: Print): Promise<number> {
  if (sub === 'ls' || sub === 'list') {
    const list = await spool.queues.list()
    print(list, () =>
      list.length === 0
        ? 'no queues'
        : list
            .map((q) => {
              const c = q.counts
              return `${q.name.padEnd(24)} ${q.paused ? 'paused ' : 'running'}  waiting ${c.waiting}  active ${c.active}  scheduled ${c.scheduled}  failed ${c.failed}  completed ${c.completed}`
            })
            .join('\n'),
    )
    return EXIT.ok
  }
  if (sub === 'pause' || sub === 'resume') {
    const [name] = rest
    if (!name) throw new UsageError(`queues ${sub} needs QUEUE`)
    const queue = await spool.queues[sub](name)
    print(queue, () => `${queue.name} ${queue.paused ? 'paused' : 'resumed'}`)
    return EXIT.ok
  }
  throw new UsageError('queues takes ls, pause QUEUE or resume QUEUE')
}

async function schedules(
  spool: Spool,
  sub: string | undefined,
  rest: string[],
  values: Values,
  print: Print,
  io: Io,
): Promise<number> {
  const when = (date: Date | null) => date?.toISOString() ?? '-'
  const notFound = (name: string) => {
    io.err(`spool: no schedule named "${name}" (SPOOL_SCHEDULE_NOT_FOUND)`)
    return EXIT.notFound
  }
  if (sub === 'ls' || sub === 'list') {
    const list = await spool.schedules.list(typeof values.tenant === 'string' ? { tenant: values.tenant } : {})
    print(list, () =>
      list.length === 0
        ? 'no schedules'
        : list
            .map(
              (s) =>
                `${s.name.padEnd(24)} ${s.paused ? 'paused ' : 'active '} ${`${s.cron} ${s.timezone}`.padEnd(28)} → ${s.queue.padEnd(16)} next ${when(s.nextRunAt)}  last ${when(s.lastRunAt)}`,
            )
            .join('\n'),
    )
    return EXIT.ok
  }
  const [name] = rest
  if (sub === 'show' || sub === 'preview' || sub === 'pause' || sub === 'resume') {
    if (!name) throw new UsageError(`schedules ${sub} needs NAME`)
    const schedule = await spool.schedules.get(name)
    if (!schedule) return notFound(name)
    if (sub === 'pause' || sub === 'resume') {
      const changed = await spool.schedules[sub](name)
      print(changed, () => `${changed.name} ${changed.paused ? 'paused' : 'resumed'}, next ${when(changed.nextRunAt)}`)
      return EXIT.ok
    }
    if (sub === 'show') {
      print(schedule, () => JSON.stringify(schedule, null, 2))
      return EXIT.ok
    }
    const count = optionalInt(values.count, 'count') ?? 5
    const runs = await spool.schedules.preview(name, count)
    print(
      runs.map((run) => run.toISOString()),
      () => runs.map((run) => run.toISOString()).join('\n') || 'no more runs',
    )
    return EXIT.ok
  }
  throw new UsageError('schedules takes ls, show NAME, preview NAME, pause NAME or resume NAME')
}

async function workflows(
  spool: Spool,
  sub: string | undefined,
  rest: string[],
  values: Values,
  print: Print,
  io: Io,
): Promise<number> {
  const tenant = typeof values.tenant === 'string' ? values.tenant : 'default'
  const [arg] = rest
  const parseJson = (text: string, what: string): unknown => {
    try {
      return JSON.parse(text)
    } catch {
      throw new UsageError(`${what} is not valid JSON`)
    }
  }
  switch (sub) {
    case 'define': {
      if (!arg) throw new UsageError('workflows define needs FILE')
      const file = parseJson(await readFile(arg, 'utf8'), arg) as { name?: unknown } & Record<string, unknown>
      const { name, ...definition } = file ?? {}
      if (typeof name !== 'string') throw new UsageError(`${arg} needs a "name"`)
      const saved = await spool.workflows.define(name, definition as never, { tenant })
      print(saved, () => `${saved.name} version ${saved.version}${saved.created ? '' : ' (unchanged)'}`)
      return EXIT.ok
    }
    case 'ls':
    case 'list': {
      const list = await spool.workflows.list({ tenant })
      print(list, () =>
        list.length === 0
          ? 'no workflows'
          : list.map((w) => `${w.name.padEnd(24)} v${String(w.version).padEnd(4)} ${w.steps.length} steps`).join('\n'),
      )
      return EXIT.ok
    }
    case 'start': {
      if (!arg) throw new UsageError('workflows start needs NAME')
      const params = typeof values.params === 'string' ? parseJson(values.params, '--params') : {}
      const started = await spool.workflows.start(arg, params, { tenant })
      print(started, () => `started run ${started.id} of ${arg} v${started.version}`)
      return EXIT.ok
    }
    case 'run': {
      if (!arg) throw new UsageError('workflows run needs ID')
      const found = await spool.workflows.run(arg, { tenant })
      if (!found) {
        io.err(`spool: no workflow run ${arg} (SPOOL_WORKFLOW_NOT_FOUND)`)
        return EXIT.notFound
      }
      print(found, () =>
        [
          `${found.name} v${found.version} run ${found.id}: ${found.status}`,
          ...found.steps.map(
            (step) =>
              `  ${step.id.padEnd(20)} ${step.state.padEnd(10)} job ${step.jobId}${step.error ? `  ${step.error}` : ''}`,
          ),
        ].join('\n'),
      )
      return EXIT.ok
    }
    default:
      throw new UsageError('workflows takes define FILE, ls, start NAME [--params JSON] or run ID')
  }
}

async function jobs(
  spool: Spool,
  sub: string | undefined,
  rest: string[],
  values: Values,
  print: Print,
  io: Io,
): Promise<number> {
  switch (sub) {
    case 'ls':
    case 'list': {
      const page = await spool.jobs.list({
        ...(typeof values.queue === 'string' && { queue: values.queue }),
        ...(typeof values.state === 'string' && { state: values.state as never }),
        ...(typeof values.tenant === 'string' && { tenant: values.tenant }),
        limit: optionalInt(values.limit, 'limit') ?? 20,
      })
      print(page, () =>
        page.jobs.length === 0
          ? 'no jobs'
          : page.jobs
              .map(
                (j) =>
                  `${j.id.padStart(8)}  ${j.queue.padEnd(20)} ${j.state.padEnd(10)} attempt ${j.attempt}/${j.maxAttempts}  ${j.createdAt.toISOString()}`,
              )
              .join('\n'),
      )
      return EXIT.ok
    }
    case 'show': {
      const [id] = rest
      if (!id) throw new UsageError('jobs show needs ID')
      const job = await spool.jobs.get(id)
      if (!job) {
        io.err(`spool: no job ${id} (SPOOL_JOB_NOT_FOUND)`)
        return EXIT.notFound
      }
      io.out(JSON.stringify(job, null, 2))
      return EXIT.ok
    }
    case 'add':
      return addJob(spool, rest, values, io)
    case 'export':
      return exportJobsTo(spool, values, io)
    case 'retry':
    case 'cancel': {
      const [id] = rest
      if (!id) throw new UsageError(`jobs ${sub} needs ID`)
      try {
        const job = await spool.jobs[sub](id)
        print(job, () => `job ${job.id} is ${job.state}`)
        return EXIT.ok
      } catch (error) {
        if (error instanceof SpoolError && error.code === 'SPOOL_JOB_NOT_FOUND') {
          io.err(`spool: ${error.message} (${error.code})`)
          return EXIT.notFound
        }
        throw error
      }
    }
    default:
      throw new UsageError('jobs takes ls, show ID, add QUEUE JSON, retry ID, cancel ID or export --format jsonl|csv')
  }
}

/** `jobs export`: the jobs matching the filters to stdout, a page at a time (as the API's export route). */
async function exportJobsTo(spool: Spool, values: Values, io: Io): Promise<number> {
  const format = values.format
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError('jobs export needs --format jsonl or --format csv')
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined)
  const time = (name: string) => {
    const value = text(name)
    if (value === undefined) return undefined
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
    if (Number.isNaN(ms)) throw new UsageError(`--${name} must be epoch ms or an ISO 8601 date-time`)
    return ms
  }
  const filter = {
    queue: text('queue'),
    state: text('state') as JobState | undefined,
    tenant: text('tenant'),
    group: text('group'),
    tag: text('tag'),
    text: text('text'),
    error: text('error'),
    createdAfter: time('created-after'),
    createdBefore: time('created-before'),
    sort: text('sort') as 'created' | 'runAt' | undefined,
    order: text('order') as 'asc' | 'desc' | undefined,
  }
  const { exportJobs } = await import('../server/job-export.js')
  const stdout = io === consoleIo ? process.stdout : null
  for await (const chunk of exportJobs(
    spool,
    Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)),
    format,
  )) {
    if (!stdout) io.out(chunk.replace(/\n$/, ''))
    else if (!stdout.write(chunk)) await new Promise((resolve) => stdout.once('drain', resolve))
  }
  return EXIT.ok
}

async function keys(
  spool: Spool,
  sub: string | undefined,
  rest: string[],
  values: Values,
  print: Print,
  io: Io,
): Promise<number> {
  switch (sub) {
    case 'create': {
      const name = typeof values.name === 'string' ? values.name : undefined
      const scopes = typeof values.scopes === 'string' ? values.scopes.split(',').map((s) => s.trim()) : []
      if (!name || scopes.length === 0) throw new UsageError('keys create needs --name and --scopes')
      const bad = scopes.find((scope) => !SCOPES.includes(scope as Scope))
      if (bad) throw new UsageError(`unknown scope "${bad}"; scopes are ${SCOPES.join(', ')}`)
      const key = await createApiKey(spool, {
        name,
        scopes: scopes as Scope[],
        tenant: typeof values.tenant === 'string' ? values.tenant : 'default',
        createdBy: 'cli',
      })
      print(
        key,
        () =>
          `created key ${key.id} (${key.scopes.join(', ')}) in tenant ${key.tenant}\n\n  ${key.token}\n\nIt is shown this once; Spool keeps only its hash.`,
      )
      return EXIT.ok
    }
    case 'ls':
    case 'list': {
      const list = await listApiKeys(spool, typeof values.tenant === 'string' ? values.tenant : undefined)
      print(list, () =>
        list.length === 0
          ? 'no keys'
          : list
              .map(
                (k) =>
                  `${k.id}  ${k.tenant.padEnd(16)} ${k.scopes.join(',').padEnd(24)} ${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}  ${k.name}`,
              )
              .join('\n'),
      )
      return EXIT.ok
    }
    case 'revoke': {
      const [id] = rest
      if (!id) throw new UsageError('keys revoke needs ID')
      const key = await revokeApiKey(spool, id)
      if (!key) {
        io.err(`spool: no key ${id}`)
        return EXIT.notFound
      }
      print(key, () => `revoked key ${key.id}`)
      return EXIT.ok
    }
    default:
      throw new UsageError('keys takes create, list or revoke ID')
  }
}

/** `--verbose`, else `SPOOL_DEMO_VERBOSE` (1, true, yes or on). */
function demoVerbose(flag: string | boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (flag === true) return true
  return /^(1|true|yes|on)$/i.test(env.SPOOL_DEMO_VERBOSE ?? '')
}

function optionalInt(value: string | boolean | undefined, field: string): number | undefined {
  if (typeof value !== 'string') return undefined
  if (!/^\d+$/.test(value)) throw new SpoolError('SPOOL_INVALID_OPTION', `${field} must be a whole number`, { field })
  return Number(value)
}
