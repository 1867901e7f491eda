/**
 * Limits are counted in the database, so they hold across processes: two worker processes on
 * one store, a rate limit and a concurrency cap on their queue, and the start and finish times
 * the jobs record must never break either — on SQLite and on PostgreSQL. A circuit breaker lives
 * there too: opened by failures in one process, it stops another process's worker from claiming.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { Spool } from '../src/index.js'
import { maxInWindow } from '../src/store/conformance/windows.js'
import { onTeardown, startWorker, teardown, waitUntil } from './helpers/children.js'

const PG_URL = process.env.SPOOL_TEST_PG_URL ?? 'postgres://spool:spool@127.0.0.1:5433/spool_test'
const QUEUE = 'limited'
const RATE = { max: 10, windowMs: 500 }
const CAP = 4
const JOBS = 60
const GROUPS = 3
const GROUP_CAP = 1

/** The most jobs running at one moment, from their [start, finish) intervals. */
function maxOverlap(intervals: [number, number][]): number {
  const points = intervals.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ])
  points.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number))
  let now = 0
  let most = 0
  for (const [, delta] of points) {
    now += delta as number
    most = Math.max(most, now)
  }
  return most
}

async function sqliteAddress(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-limits-'))
  onTeardown(() => rmSync(dir, { recursive: true, force: true }))
  return `sqlite:${join(dir, 'spool.db')}`
}

async function postgresAddress(): Promise<string> {
  const schema = `limits_${process.pid}_${Date.now()}`
  onTeardown(async () => {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  })
  return `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`
}

describe.each([
  ['sqlite', sqliteAddress],
  ['postgres', postgresAddress],
])('limits across two worker processes: %s', (kind, makeAddress) => {
  let failed = false
  afterEach(async (context) => {
    failed = context.task.result?.state === 'fail'
    await teardown({ failed, tag: `limits-${kind}` })
  })

  // Queue-wide limits take PostgreSQL's one-call claim (claim_limited); a group cap takes the
  // transaction of several statements. Both must share the slots between the processes.
  it.each([
    ['queue-wide limits', null],
    ['a cap per group as well', GROUP_CAP],
  ])(
    `holds a rate limit of ${RATE.max} per ${RATE.windowMs} ms and a cap of ${CAP} running: %s`,
    async (_, groupCap) => {
      const address = await makeAddress()
      const spool = await Spool.open({ store: address, maintenance: false })
      onTeardown(() => spool.close())
      await spool.queues.configure(QUEUE, {
        rateLimit: RATE,
        concurrency: CAP,
        ...(groupCap !== null && { groups: { concurrency: groupCap } }),
      })
      await spool.enqueueMany(
        QUEUE,
        Array.from({ length: JOBS }, (_, i) => ({ payload: { i }, options: { group: `g${i % GROUPS}` } })),
      )
      const settings = {
        queue: QUEUE,
        mode: 'sleep' as const,
        concurrency: 10,
        leaseMs: 10_000,
        minMs: 20,
        maxMs: 40,
        graceMs: 1_000,
        maintenanceIntervalMs: null,
        store: address.startsWith('sqlite:') ? undefined : address,
        file: address.startsWith('sqlite:') ? address.slice('sqlite:'.length) : undefined,
      }
      const workers = ['A', 'B'].map((name) =>
        startWorker(
          Object.fromEntries(Object.entries({ ...settings, name }).filter(([, v]) => v !== undefined)) as never,
        ),
      )
      await Promise.all(workers.map((worker) => worker.waitFor('ready')))
      await waitUntil(
        'every job to complete',
        30_000,
        async () => (await spool.queues.counts(QUEUE)).completed === JOBS,
      )
      const { jobs } = await spool.jobs.list({ queue: QUEUE, limit: 1_000 })
      const starts = jobs.map((job) => job.startedAt?.getTime() as number)
      const intervals = jobs.map((job) => [job.startedAt?.getTime(), job.finishedAt?.getTime()] as [number, number])
      const byWorker = new Set(jobs.map((job) => (job.result as { by: string }).by))
      console.log(
        `[limits-${kind}${groupCap === null ? '' : `, group cap ${groupCap}`}] most starts in ${RATE.windowMs} ms: ${maxInWindow(starts, RATE.windowMs)} (limit ${RATE.max}); ` +
          `most running: ${maxOverlap(intervals)} (cap ${CAP}); done by ${[...byWorker].join(', ')}`,
      )
      expect(maxInWindow(starts, RATE.windowMs)).toBeLessThanOrEqual(RATE.max)
      expect(maxOverlap(intervals)).toBeLessThanOrEqual(CAP)
      if (groupCap !== null) {
        for (let g = 0; g < GROUPS; g++) {
          const own = jobs.filter((job) => job.group === `g${g}`)
          expect(own).toHaveLength(JOBS / GROUPS)
          expect(
            maxOverlap(own.map((job) => [job.startedAt?.getTime(), job.finishedAt?.getTime()] as [number, number])),
          ).toBeLessThanOrEqual(groupCap)
        }
      }
      expect(byWorker).toEqual(new Set(['A', 'B']))
    },
  )

  it('a breaker opened by one process stops the other from claiming until it closes', async () => {
    const address = await makeAddress()
    const queue = 'guarded'
    const spool = await Spool.open({ store: address, maintenance: false })
    onTeardown(() => spool.close())
    await spool.breakers.define('provider', { failureThreshold: 2, cooldownMs: 600_000 })
    await spool.queues.configure(queue, { breaker: 'provider' })
    // This process: the provider fails twice, and the breaker opens.
    const failing = spool.work(
      queue,
      () => {
        throw Object.assign(new Error('unavailable'), { status: 503 })
      },
      { concurrency: 1, pollIntervalMs: 20 },
    )
    const retry = { maxAttempts: 5, backoff: { type: 'fixed' as const, delayMs: 600_000 } }
    await spool.enqueueMany(queue, [
      { payload: 1, options: retry },
      { payload: 2, options: retry },
    ])
    await waitUntil('the breaker to open', 10_000, async () => (await spool.breakers.get('provider'))?.state === 'open')
    await failing.close()
    await spool.enqueueMany(
      queue,
      Array.from({ length: 5 }, (_, i) => ({ payload: { i } })),
    )
    // Another process serves the queue: while the breaker is open it claims nothing.
    const worker = startWorker({
      name: 'B',
      queue,
      mode: 'sleep',
      concurrency: 5,
      leaseMs: 10_000,
      graceMs: 1_000,
      maintenanceIntervalMs: null,
      ...(address.startsWith('sqlite:') ? { file: address.slice('sqlite:'.length) } : { store: address }),
    })
    await worker.waitFor('ready')
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const counts = await spool.queues.counts(queue)
    expect(counts).toMatchObject({ waiting: 5, active: 0, completed: 0 })
    await spool.breakers.close('provider')
    await waitUntil(
      'the other process to run them',
      15_000,
      async () => (await spool.queues.counts(queue)).completed === 5,
    )
    const { jobs } = await spool.jobs.list({ queue, state: 'completed', limit: 10 })
    expect(new Set(jobs.map((job) => (job.result as { by: string }).by))).toEqual(new Set(['B']))
  })
})
