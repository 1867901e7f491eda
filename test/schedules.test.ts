/**
 * Cron schedules on both stores: exactly one job per tick with two nodes running (in one
 * process, and as two processes, with the maintenance leader killed), and with two nodes that
 * both fire ticks at once (as an old and a new leader during a takeover); catch-up policies
 * after downtime; pause and resume; updates; preview.
 *
 * Each test gets its own SQLite file or PostgreSQL schema (SPOOL_TEST_PG_URL, default the
 * cluster `scripts/setup test` runs), removed when it passes and kept (its name printed) when
 * it fails. Children are SIGKILLed and Spools closed in afterEach whatever happened.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { type JobInfo, Spool, SpoolError } from '../src/index.js'
import type { TickerFixtureConfig } from './fixtures/ticker.js'
import { Child, onTeardown, startWorker, teardown, waitUntil } from './helpers/children.js'

const PG_URL = process.env.SPOOL_TEST_PG_URL ?? 'postgres://spool:spool@127.0.0.1:5433/spool_test'
const TICKER_FIXTURE = fileURLToPath(new URL('./fixtures/ticker.ts', import.meta.url))
const EVERY_SECOND = '* * * * * *'

// ── per-test stores ────────────────────────────────────────────────────────────────────────

interface TestStore {
  /** The store address every node of this test opens. */
  address: string
  /** The node id holding the maintenance leader lease, if any. */
  leader(): Promise<string | null>
  /** A schedule's payload as stored. */
  storedPayload(name: string): Promise<string | undefined>
}

const backends: Record<'sqlite' | 'postgres', () => Promise<TestStore>> = {
  async sqlite() {
    const dir = mkdtempSync(join(tmpdir(), 'spool-schedules-'))
    const file = join(dir, 'spool.db')
    kept.push({ what: `files in ${dir}`, remove: () => rmSync(dir, { recursive: true, force: true }) })
    return {
      address: `sqlite:${file}`,
      async leader() {
        const db = new Database(file, { readonly: true })
        try {
          const row = db.prepare(`SELECT node_id FROM leader_leases WHERE name = 'maintenance'`).get() as
            | { node_id: string }
            | undefined
          return row?.node_id ?? null
        } finally {
          db.close()
        }
      },
      async storedPayload(name) {
        const db = new Database(file, { readonly: true })
        try {
          const row = db.prepare('SELECT payload FROM schedules WHERE name = ?').get(name) as { payload: string }
          return row?.payload
        } finally {
          db.close()
        }
      },
    }
  },
  async postgres() {
    const schema = `sch_${randomBytes(6).toString('hex')}`
    const url = new URL(PG_URL)
    url.searchParams.set('schema', schema)
    kept.push({ what: `PostgreSQL schema ${schema}`, remove: () => admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`) })
    return {
      address: url.toString(),
      async leader() {
        const rows = await admin(`SELECT node_id FROM "${schema}".leader_leases WHERE name = 'maintenance'`)
        return (rows[0]?.node_id as string | undefined) ?? null
      },
      async storedPayload(name) {
        const rows = await admin(`SELECT payload FROM "${schema}".schedules WHERE name = '${name}'`)
        return rows[0]?.payload as string | undefined
      },
    }
  },
}

async function admin(text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5_000 })
  try {
    await client.connect()
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message}). ` +
        'Run scripts/setup test, which installs and starts a local cluster, or set SPOOL_TEST_PG_URL.',
    )
  }
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

/** What the test created: removed when it passes, kept (and named) when it fails. */
let kept: { what: string; remove: () => unknown }[] = []

afterEach(async (ctx) => {
  const failed = ctx.task.result?.state !== 'pass'
  await teardown({ failed, tag: 'schedules' })
  for (const item of kept.splice(0)) {
    if (failed) console.error(`[schedules] test "${ctx.task.name}" failed; kept its ${item.what}`)
    else await item.remove()
  }
  kept = []
})

async function open(store: TestStore, maintenanceIntervalMs: number | null): Promise<Spool> {
  const spool = await Spool.open({
    store: store.address,
    maintenance: maintenanceIntervalMs === null ? false : { intervalMs: maintenanceIntervalMs },
  })
  onTeardown(() => spool.close({ graceMs: 0 }))
  return spool
}

const queueName = () => `cron-${randomBytes(4).toString('hex')}`

async function jobsOf(spool: Spool, queue: string): Promise<JobInfo[]> {
  return (await spool.jobs.list({ queue, limit: 1_000 })).jobs
}

const tickOf = (job: JobInfo) => (job.metadata.schedule as { tick: number }).tick

/**
 * Every job is one tick of `name`, each tick has exactly one job, and the ticks are consecutive
 * seconds. Returns the ticks, oldest first.
 */
function assertOncePerSecond(jobs: JobInfo[], name: string): number[] {
  const ticks = jobs.map(tickOf).sort((a, b) => a - b)
  expect(new Set(ticks).size, 'one job per tick').toBe(ticks.length)
  const gaps = ticks.slice(1).filter((tick, i) => tick - (ticks[i] as number) !== 1_000)
  expect(gaps, 'consecutive ticks').toEqual([])
  for (const job of jobs) {
    expect(job.idempotencyKey).toBe(`cron:${name}:${tickOf(job)}`)
    expect((job.metadata.schedule as { name: string }).name).toBe(name)
  }
  return ticks
}

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<SpoolError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(SpoolError)
  expect((error as SpoolError).code).toBe(code)
  if (field !== undefined) expect((error as SpoolError).field).toBe(field)
  return error as SpoolError
}

// ── the tests ──────────────────────────────────────────────────────────────────────────────

describe.each(['sqlite', 'postgres'] as const)('schedules on %s', (backend) => {
  it('two nodes running maintenance enqueue exactly one job per tick, without gaps', async () => {
    const store = await backends[backend]()
    const a = await open(store, 100)
    const b = await open(store, 100)
    const queue = queueName()
    const created = await a.schedules.upsert({ name: 'every-second', cron: EVERY_SECOND, queue, catchUp: 'all' })
    await waitUntil('three ticks', 10_000, async () => (await jobsOf(b, queue)).length >= 3, 50)
    await b.schedules.pause('every-second')
    await sleep(300) // a pass that read the schedule before the pause ends
    const jobs = await jobsOf(a, queue)
    const ticks = assertOncePerSecond(jobs, 'every-second')
    expect(ticks[0]).toBe(created.nextRunAt?.getTime())
    const info = await b.schedules.get('every-second')
    expect(ticks).toContain(info?.lastRunAt?.getTime())
  })

  it('two nodes firing ticks at once (an old and a new leader) still enqueue each tick once', async () => {
    const store = await backends[backend]()
    const a = await open(store, null)
    const b = await open(store, null)
    const queue = queueName()
    await a.schedules.upsert({ name: 'raced', cron: EVERY_SECOND, queue, catchUp: 'all' })
    let created = 0
    const deadline = Date.now() + 2_000
    while (Date.now() < deadline) {
      const [x, y] = await Promise.all([a.schedules.tick(), b.schedules.tick()])
      created += x + y
    }
    const jobs = await jobsOf(a, queue)
    expect(jobs.length).toBeGreaterThanOrEqual(2)
    expect(created).toBe(jobs.length)
    assertOncePerSecond(jobs, 'raced')
  })

  it('two processes with maintenance: one job per tick across a killed leader', async () => {
    const store = await backends[backend]()
    const spool = await open(store, null)
    const queue = queueName()
    const workers = ['a', 'b'].map((name) =>
      startWorker({
        name,
        store: store.address,
        queue,
        mode: 'sleep',
        concurrency: 4,
        leaseMs: 5_000,
        graceMs: 0,
        maintenanceIntervalMs: 100,
      }),
    )
    const nodes = await Promise.all(workers.map(async (child) => (await child.waitFor('ready')).nodeId as string))
    await spool.schedules.upsert({ name: 'failover', cron: EVERY_SECOND, queue, catchUp: 'all' })
    await waitUntil('two ticks', 10_000, async () => (await jobsOf(spool, queue)).length >= 2, 50)
    const leader = await store.leader()
    const victim = nodes.indexOf(leader as string)
    expect(victim).toBeGreaterThanOrEqual(0)
    await (workers[victim] as Child).kill('SIGKILL')
    const killedAt = Date.now()
    // The lease lapses after five intervals (500 ms); the survivor takes over and goes on.
    await waitUntil('two ticks after the kill', 15_000, async () => {
      const ticks = (await jobsOf(spool, queue)).map(tickOf)
      return ticks.filter((tick) => tick > killedAt).length >= 2
    })
    await spool.schedules.pause('failover')
    expect(await store.leader()).toBe(nodes[1 - victim])
    assertOncePerSecond(await jobsOf(spool, queue), 'failover')
  })

  it('two processes firing ticks at once, without a leader, enqueue each tick once', async () => {
    const store = await backends[backend]()
    const spool = await open(store, null)
    const queue = queueName()
    const config: TickerFixtureConfig = { store: store.address, everyMs: 5 }
    const tickers = ['1', '2'].map((n) => new Child(`ticker ${n}`, TICKER_FIXTURE, config))
    await Promise.all(tickers.map((child) => child.waitFor('ready')))
    await spool.schedules.upsert({ name: 'two-processes', cron: EVERY_SECOND, queue, catchUp: 'all' })
    await waitUntil('three ticks', 10_000, async () => (await jobsOf(spool, queue)).length >= 3, 50)
    await spool.schedules.pause('two-processes')
    await Promise.all(tickers.map((child) => child.kill('SIGTERM')))
    const reported = tickers.map((child) => child.messages.find((m) => m.type === 'closed')?.created as number)
    const jobs = await jobsOf(spool, queue)
    expect(reported.every(Number.isInteger), 'both processes reported').toBe(true)
    expect(
      reported.reduce((sum, n) => sum + n, 0),
      'jobs created by the two processes',
    ).toBe(jobs.length)
    assertOncePerSecond(jobs, 'two-processes')
  })

  it('applies the catch-up policy to ticks missed while no node ran', async () => {
    const store = await backends[backend]()
    const spool = await open(store, null)
    const queue = queueName()
    const policies = ['none', 'latest', 'all'] as const
    const firstRun = new Map<string, number>()
    for (const catchUp of policies) {
      const info = await spool.schedules.upsert({ name: `m-${catchUp}`, cron: '0 * * * * *', queue, catchUp })
      firstRun.set(catchUp, info.nextRunAt?.getTime() as number)
    }
    // Nodes were down from before the first run until 500 ms after the tenth minute after it.
    const first = firstRun.get('none') as number
    expect(new Set(firstRun.values())).toEqual(new Set([first]))
    const created = await spool.schedules.tick(first + 10 * 60_000 + 500)
    const jobs = await jobsOf(spool, queue)
    expect(created).toBe(jobs.length)
    const minutes = (catchUp: string) =>
      jobs
        .filter((job) => (job.metadata.schedule as { name: string }).name === `m-${catchUp}`)
        .map((job) => {
          const meta = job.metadata.schedule as { tick: number; missed?: boolean }
          return `${(meta.tick - first) / 60_000}${meta.missed ? ' missed' : ''}`
        })
        .sort((x, y) => Number.parseInt(x, 10) - Number.parseInt(y, 10))
    expect(minutes('none')).toEqual(['10'])
    expect(minutes('latest')).toEqual(['9 missed', '10'])
    expect(minutes('all')).toEqual([...Array.from({ length: 10 }, (_, i) => `${i} missed`), '10'])
    for (const catchUp of policies) {
      expect((await spool.schedules.get(`m-${catchUp}`))?.nextRunAt?.getTime()).toBe(first + 11 * 60_000)
    }
    // The same pass again changes nothing: the schedules moved on.
    expect(await spool.schedules.tick(first + 10 * 60_000 + 500)).toBe(0)
  })

  it('catches up after a real restart of every node', async () => {
    const store = await backends[backend]()
    const queue = queueName()
    const before = await open(store, 50)
    await before.schedules.upsert({ name: 'restarted', cron: EVERY_SECOND, queue, catchUp: 'latest' })
    await waitUntil('a tick', 10_000, async () => (await jobsOf(before, queue)).length >= 1, 20)
    await before.close()
    const down = Date.now()
    // Down for 3 s, with a grace period of 10 intervals (0.5 s): at least two ticks are missed.
    await sleep(3_000)
    const after = await open(store, 50)
    const up = Date.now()
    await waitUntil('a tick after the restart', 10_000, async () => {
      return (await jobsOf(after, queue)).some((job) => tickOf(job) > up)
    })
    await after.schedules.pause('restarted')
    const jobs = await jobsOf(after, queue)
    const ticks = jobs.map(tickOf).sort((x, y) => x - y)
    expect(new Set(ticks).size).toBe(ticks.length)
    const missed = jobs.filter((job) => (job.metadata.schedule as { missed?: boolean }).missed)
    // `latest`: of the ticks missed while down, only the newest was enqueued.
    expect(missed).toHaveLength(1)
    const skipped = ticks.slice(1).filter((tick, i) => tick - (ticks[i] as number) > 1_000)
    expect(skipped.length).toBe(1)
    expect(tickOf(missed[0] as JobInfo)).toBeGreaterThan(down - 1_000)
  })

  it('pauses, resumes without catching up, updates, lists and removes', async () => {
    const store = await backends[backend]()
    const spool = await open(store, null)
    const queue = queueName()
    const made = await spool.schedules.upsert({
      name: 'report',
      cron: '0 0 * * * *',
      timezone: 'Europe/Berlin',
      queue,
      payload: { kind: 'hourly' },
      options: { priority: 'high', maxAttempts: 7, tags: ['cron'], metadata: { owner: 'ops' } },
    })
    expect(made).toMatchObject({ name: 'report', tenant: 'default', catchUp: 'latest', paused: false, lastRunAt: null })
    const next = made.nextRunAt?.getTime() as number

    // Paused: due ticks are not enqueued, on any node.
    await spool.schedules.pause('report')
    expect(await spool.schedules.tick(next + 1)).toBe(0)
    // Resumed: from the next tick after now; what fell while paused is not caught up.
    const resumed = await spool.schedules.resume('report')
    expect(resumed.paused).toBe(false)
    expect(resumed.nextRunAt?.getTime()).toBe(next)
    expect(await spool.schedules.tick(next + 1)).toBe(1)
    const [job] = await jobsOf(spool, queue)
    expect(job).toMatchObject({ payload: { kind: 'hourly' }, priority: 10, maxAttempts: 7, tags: ['cron'] })
    expect(job?.metadata).toEqual({ owner: 'ops', schedule: { name: 'report', tick: next } })
    expect((await spool.schedules.get('report'))?.lastRunAt?.getTime()).toBe(next)

    // Re-applying the same schedule keeps its next run; a new expression takes a new one.
    const again = await spool.schedules.upsert({
      name: 'report',
      cron: '0 0 * * * *',
      timezone: 'Europe/Berlin',
      queue,
    })
    expect(again.nextRunAt?.getTime()).toBe(next + 3_600_000)
    expect(again.payload).toBeNull()
    const changed = await spool.schedules.upsert({ name: 'report', cron: '30 * * * * *', queue })
    expect(changed.timezone).toBe('UTC')
    expect(changed.nextRunAt?.getTime()).not.toBe(next + 3_600_000)

    await spool.schedules.upsert({ name: 'another', cron: '@daily', queue, paused: true })
    expect((await spool.schedules.list()).map((s) => [s.name, s.paused])).toEqual([
      ['another', true],
      ['report', false],
    ])
    await spool.schedules.remove('another')
    expect(await spool.schedules.get('another')).toBeNull()
    await expectError(spool.schedules.remove('another'), 'SPOOL_SCHEDULE_NOT_FOUND')
    await expectError(spool.schedules.pause('another'), 'SPOOL_SCHEDULE_NOT_FOUND')
    await expectError(spool.schedules.resume('another'), 'SPOOL_SCHEDULE_NOT_FOUND')
    await expectError(spool.schedules.preview('another'), 'SPOOL_SCHEDULE_NOT_FOUND')
  })

  it("keeps the payload at rest through Spool's codec", async () => {
    const store = await backends[backend]()
    const codec = {
      encode: (text: string) => `b64:${Buffer.from(text).toString('base64')}`,
      decode: (stored: string) => Buffer.from(stored.slice(4), 'base64').toString(),
    }
    const spool = await Spool.open({ store: store.address, maintenance: false, codec })
    onTeardown(() => spool.close({ graceMs: 0 }))
    const queue = queueName()
    const info = await spool.schedules.upsert({ name: 'secret', cron: '@hourly', queue, payload: { token: 's3cret' } })
    expect(info.payload).toEqual({ token: 's3cret' })
    expect(await store.storedPayload('secret')).toBe(codec.encode('{"token":"s3cret"}'))
    expect(await spool.schedules.tick((info.nextRunAt as Date).getTime())).toBe(1)
    expect((await jobsOf(spool, queue))[0]?.payload).toEqual({ token: 's3cret' })
  })

  it('refuses invalid schedules with the field at fault, writing nothing', async () => {
    const store = await backends[backend]()
    const spool = await open(store, null)
    const base = { name: 'bad', cron: '* * * * *', queue: 'q' }
    await expectError(spool.schedules.upsert({ ...base, cron: '61 * * * *' }), 'SPOOL_INVALID_OPTION', 'cron')
    await expectError(spool.schedules.upsert({ ...base, cron: '0 0 0 1 1 * 2020' }), 'SPOOL_INVALID_OPTION', 'cron')
    await expectError(
      spool.schedules.upsert({ ...base, timezone: 'Europe/Atlantis' }),
      'SPOOL_INVALID_OPTION',
      'timezone',
    )
    await expectError(spool.schedules.upsert({ ...base, name: '' }), 'SPOOL_INVALID_OPTION', 'name')
    await expectError(spool.schedules.upsert({ ...base, queue: 'no spaces' }), 'SPOOL_INVALID_QUEUE_NAME', 'queue')
    await expectError(spool.schedules.upsert({ ...base, catchUp: 'some' as 'all' }), 'SPOOL_INVALID_OPTION', 'catchUp')
    await expectError(
      spool.schedules.upsert({ ...base, options: { priority: 'asap' as 'high' } }),
      'SPOOL_INVALID_OPTION',
      'options.priority',
    )
    await expectError(
      spool.schedules.upsert({ ...base, options: { runAt: 0 } as object }),
      'SPOOL_INVALID_OPTION',
      'options.runAt',
    )
    await expectError(
      spool.schedules.upsert({ ...base, options: { idempotencyKey: 'k' } as object }),
      'SPOOL_INVALID_OPTION',
      'options.idempotencyKey',
    )
    await expectError(spool.schedules.upsert({ ...base, extra: 1 } as typeof base), 'SPOOL_INVALID_OPTION')
    expect(await spool.schedules.list()).toEqual([])
  })

  it('previews the next runs of a schedule or an expression', async () => {
    const store = await backends[backend]()
    const spool = await open(store, null)
    const runs = await spool.schedules.preview({ cron: '0 9 * * MON-FRI', timezone: 'America/New_York' }, 7)
    expect(runs).toHaveLength(7)
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
    for (const [i, run] of runs.entries()) {
      expect(run.getTime()).toBeGreaterThan(i === 0 ? Date.now() : (runs[i - 1] as Date).getTime())
      const parts = Object.fromEntries(local.formatToParts(run).map((part) => [part.type, part.value]))
      expect(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']).toContain(parts.weekday)
      expect(`${parts.hour}:${parts.minute}`).toBe('09:00')
    }
    const info = await spool.schedules.upsert({ name: 'preview', cron: '*/15 * * * *', queue: 'q' })
    const next = await spool.schedules.preview('preview', 3)
    expect(next[0]?.getTime()).toBe(info.nextRunAt?.getTime())
    expect(next.map((d) => d.getTime() - (next[0] as Date).getTime())).toEqual([0, 900_000, 1_800_000])
    await expectError(spool.schedules.preview('preview', 0), 'SPOOL_INVALID_OPTION', 'count')
  })
})
