/**
 * Multi-process crash tests: real child processes (test/fixtures) on one real SQLite file.
 *
 * - Worker processes are SIGKILLed while they hold leases; maintenance in a surviving process
 *   recovers the lapsed leases and every job still completes exactly once (fencing).
 * - An enqueueing process is SIGKILLed mid-stream; every acknowledged job is in the file, which
 *   passes `PRAGMA integrity_check`, and every `enqueueMany` batch is all there or not at all.
 * - A worker process is frozen (SIGSTOP) past its leases while another one recovers and
 *   completes its jobs; thawed (SIGCONT), its handlers return and their completions, sent under
 *   stale lease tokens, are refused by the store.
 * - A worker process gets SIGTERM; `close({ graceMs })` hands its running jobs back with the
 *   attempt refunded and nothing recorded as a failure.
 *
 * Fixtures run as `node --import tsx` from the repository root and talk JSON lines on stdout
 * (the harness is test/helpers/children.ts).
 *
 * Each test gets a fresh temp dir, removed when the test passes and kept (its path printed)
 * when it fails. Children are killed in afterEach whatever happened.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { type JobPage, Spool } from '../src/index.js'
import type { EnqueuerFixtureConfig } from './fixtures/enqueuer.js'
import type { WorkerFixtureConfig } from './fixtures/worker.js'
import { Child, ENQUEUER_FIXTURE, onTeardown, startWorker, teardown, waitUntil } from './helpers/children.js'

const QUEUE = 'crash'

// ── per-test resources ─────────────────────────────────────────────────────────────────────

let dir: string | null = null

afterEach(async (ctx) => {
  const failed = ctx.task.result?.state !== 'pass'
  // Children first (nothing may keep running), then handles, then the folder.
  await teardown({ failed, tag: 'multiprocess' })
  if (dir === null) return
  if (!failed) {
    rmSync(dir, { recursive: true, force: true })
  } else {
    console.error(`[multiprocess] test "${ctx.task.name}" failed; its files are kept in ${dir}`)
  }
  dir = null
})

function tempFile(name: string): string {
  dir = mkdtempSync(join(tmpdir(), 'spool-multiprocess-'))
  return join(dir, name)
}

async function openSpool(file: string): Promise<Spool> {
  const spool = await Spool.open({ store: `sqlite:${file}`, maintenance: false })
  onTeardown(() => spool.close({ graceMs: 0 }))
  return spool
}

function openDb(file: string): Database.Database {
  const db = new Database(file)
  db.pragma('busy_timeout = 10000')
  onTeardown(() => db.close())
  return db
}

// ── the tests ──────────────────────────────────────────────────────────────────────────────

describe('multi-process crashes on one SQLite file', () => {
  it('completes every job exactly once when worker processes are SIGKILLed mid-job', async () => {
    const TOTAL = 3_000
    const file = tempFile('spool.db')
    const spool = await openSpool(file)
    await spool.enqueueMany(
      QUEUE,
      Array.from({ length: TOTAL }, (_, i) => ({ payload: { i }, options: { maxAttempts: 10 } })),
    )
    const db = openDb(file)
    const activeIdsOf = (workerId: unknown): number[] =>
      db
        .prepare(`SELECT id FROM jobs WHERE state = 'active' AND worker_id = ? ORDER BY id`)
        .pluck()
        .all(String(workerId)) as number[]
    const completed = (): number =>
      db.prepare(`SELECT count(*) FROM jobs WHERE queue = ? AND state = 'completed'`).pluck().get(QUEUE) as number

    const config: WorkerFixtureConfig = {
      name: 'A',
      file,
      queue: QUEUE,
      mode: 'sleep',
      concurrency: 20,
      leaseMs: 1_500,
      minMs: 1,
      maxMs: 5,
      graceMs: 5_000,
      maintenanceIntervalMs: 200,
    }
    const a = startWorker(config)
    const b = startWorker({ ...config, name: 'B' })
    // The replacement is started now but only opens Spool when told: it joins at once when A dies.
    const c = startWorker({ ...config, name: 'C', standby: true })
    const [readyA, readyB] = await Promise.all([a.waitFor('ready'), b.waitFor('ready'), c.waitFor('standby')])

    // Kill A once a good number of jobs are done and it holds leases.
    await waitUntil('A to hold leases with 10% of the jobs completed', 30_000, () => {
      a.assertAlive()
      b.assertAlive()
      return completed() >= TOTAL * 0.1 && activeIdsOf(readyA.workerId).length > 0
    })
    expect(await a.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' })
    // A is dead: what is still active under its worker id can only be finished by recovery.
    const orphansOfA = activeIdsOf(readyA.workerId)
    expect(orphansOfA.length).toBeGreaterThan(0)

    c.send('go')
    const readyC = await c.waitFor('ready')

    // Then kill B too, once C is working and B holds leases: C alone must recover and finish.
    await waitUntil('C to claim, and B to hold leases with 40% completed', 30_000, () => {
      b.assertAlive()
      c.assertAlive()
      return (
        completed() >= TOTAL * 0.4 && activeIdsOf(readyC.workerId).length > 0 && activeIdsOf(readyB.workerId).length > 0
      )
    })
    expect(await b.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' })
    const orphansOfB = activeIdsOf(readyB.workerId)
    expect(orphansOfB.length).toBeGreaterThan(0)

    await waitUntil(
      'every job to be completed',
      45_000,
      async () => {
        c.assertAlive()
        return (await spool.queues.counts(QUEUE)).completed === TOTAL
      },
      25,
    )

    // The public view: all completed, nothing failed or left behind.
    expect(await spool.queues.counts(QUEUE)).toEqual({
      waiting: 0,
      scheduled: 0,
      blocked: 0,
      active: 0,
      completed: TOTAL,
      failed: 0,
      cancelled: 0,
    })
    const seen = new Set<number>()
    let cursor: string | null = null
    do {
      const page: JobPage = await spool.jobs.list({
        queue: QUEUE,
        state: 'completed',
        limit: 1_000,
        ...(cursor !== null && { cursor }),
      })
      for (const job of page.jobs) seen.add((job.payload as { i: number }).i)
      cursor = page.nextCursor
    } while (cursor !== null)
    expect(seen.size).toBe(TOTAL)

    // Whole-table checks: exactly one completion per job, and the event log agrees with the rows.
    expect(
      db
        .prepare(
          `SELECT job_id, count(*) AS n FROM events WHERE type = 'job.completed' GROUP BY job_id HAVING count(*) <> 1`,
        )
        .all(),
    ).toEqual([])
    expect(db.prepare(`SELECT count(DISTINCT job_id) FROM events WHERE type = 'job.completed'`).pluck().get()).toBe(
      TOTAL,
    )
    expect(db.prepare(`SELECT count(*) FROM events WHERE type = 'job.failed'`).pluck().get()).toBe(0)
    // Every attempt was a claim (one job.active each), every attempt but the last ended in recovery.
    expect(
      db
        .prepare(
          `SELECT j.id, j.attempt,
             (SELECT count(*) FROM events e WHERE e.job_id = j.id AND e.type = 'job.active') AS claims,
             (SELECT count(*) FROM events e WHERE e.job_id = j.id AND e.type = 'job.retrying') AS retries
           FROM jobs j
           WHERE claims <> j.attempt OR retries <> j.attempt - 1`,
        )
        .all(),
    ).toEqual([])

    // Recovery happened: every job orphaned by a kill lost its lease and ran again. (One of A's
    // can be among B's too, when it was recovered and claimed by B before B died.)
    const orphans = new Set([...orphansOfA, ...orphansOfB])
    for (const id of orphans) {
      const job = await spool.jobs.get(String(id))
      expect(job?.state).toBe('completed')
      expect(job?.attempt).toBeGreaterThanOrEqual(2)
      expect(job?.errors.some((error) => error.code === 'SPOOL_LEASE_EXPIRED')).toBe(true)
      // Completed by a process that was alive at the time: B or C for A's, only C for B's.
      expect(job?.result).toEqual({ by: orphansOfB.includes(id) ? 'C' : expect.stringMatching(/^[BC]$/) })
    }
    expect(db.prepare(`SELECT count(*) FROM jobs WHERE attempt >= 2`).pluck().get() as number).toBeGreaterThanOrEqual(
      orphans.size,
    )
    const history = (await spool.jobs.history(String(orphansOfA[0]))).map((event) => event.type)
    expect(history.slice(0, 4)).toEqual(['job.created', 'job.active', 'job.retrying', 'job.active'])
    expect(history.at(-1)).toBe('job.completed')
    expect(history.filter((type) => type === 'job.completed')).toHaveLength(1)

    // Maintenance leadership moved to the only process left alive (it had to, to recover B's jobs).
    expect(db.prepare(`SELECT node_id FROM leader_leases WHERE name = 'maintenance'`).pluck().get()).toBe(readyC.nodeId)

    // The survivor still shuts down cleanly.
    expect(await c.kill('SIGTERM')).toEqual({ code: 0, signal: null })
    expect(c.messages.some((message) => message.type === 'closed')).toBe(true)
  }, 90_000)

  it('keeps every acknowledged enqueue, and no partial batch, when the enqueuer is SIGKILLed', async () => {
    const BATCH = 100
    const ROUNDS = 3
    const file = tempFile('spool.db')
    let totalAcked = 0

    for (let round = 0; round < ROUNDS; round++) {
      const firstBatch = round * 1_000_000
      const config: EnqueuerFixtureConfig = { file, queue: QUEUE, firstBatch, batchSize: BATCH }
      const child = new Child(`enqueuer ${round}`, ENQUEUER_FIXTURE, config)
      await child.waitFor('acked')
      // Let it enqueue for a while (a random 0.5–1 s, so the kill lands anywhere in a call).
      await sleep(500 + Math.random() * 500)
      child.assertAlive()
      expect(await child.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' })

      const acked = child.messages.filter((message) => message.type === 'acked') as unknown as {
        batch: number
        size: number
        ids: string[]
      }[]
      expect(child.garbled).toEqual([])
      expect(acked.length).toBeGreaterThan(10)
      expect(acked.some((ack) => ack.size === 1)).toBe(true)
      expect(acked.some((ack) => ack.size === BATCH)).toBe(true)
      totalAcked += acked.reduce((sum, ack) => sum + ack.ids.length, 0)

      // The file after the crash, straight through SQLite.
      const db = new Database(file)
      try {
        expect(db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }])
        const rows = db
          .prepare(
            `SELECT id, json_extract(payload, '$.batch') AS batch, json_extract(payload, '$.i') AS i
             FROM jobs WHERE json_extract(payload, '$.batch') BETWEEN ? AND ?`,
          )
          .all(firstBatch, firstBatch + 999_999) as { id: number; batch: number; i: number }[]
        const batchOf = new Map<string, number>()
        const items = new Map<number, number[]>()
        for (const row of rows) {
          batchOf.set(String(row.id), row.batch)
          items.set(row.batch, [...(items.get(row.batch) ?? []), row.i])
        }

        // Every acknowledged id is there, in the batch it was acknowledged for.
        const missing = acked.flatMap((ack) => ack.ids.filter((id) => batchOf.get(id) !== ack.batch))
        expect(missing).toEqual([])

        // Every batch present is whole; batches are contiguous (each call starts after the last
        // resolved), and at most the one call cut off by the kill committed without its ack.
        const lastAcked = acked.at(-1)?.batch ?? firstBatch
        const present = [...items.keys()].sort((x, y) => x - y)
        expect(present[0]).toBe(firstBatch)
        expect(present.at(-1)).toBeGreaterThanOrEqual(lastAcked)
        expect(present.at(-1)).toBeLessThanOrEqual(lastAcked + 1)
        expect(present).toEqual(present.map((_, k) => firstBatch + k))
        const partial = present.filter((batch) => {
          const size = batch % 3 === 0 ? 1 : BATCH
          const got = (items.get(batch) ?? []).sort((x, y) => x - y)
          return got.length !== size || got.some((i, k) => i !== k)
        })
        expect(partial).toEqual([])

        // Each job has its job.created event (same transaction), and no event names a missing job.
        expect(
          db
            .prepare(
              `SELECT count(*) FROM jobs j
               WHERE (SELECT count(*) FROM events e WHERE e.job_id = j.id AND e.type = 'job.created') <> 1`,
            )
            .pluck()
            .get(),
        ).toBe(0)
        expect(
          db
            .prepare(`SELECT count(*) FROM events WHERE job_id IS NOT NULL AND job_id NOT IN (SELECT id FROM jobs)`)
            .pluck()
            .get(),
        ).toBe(0)
      } finally {
        db.close()
      }

      // And through Spool: it opens the crashed file and sees the same jobs.
      const spool = await Spool.open({ store: `sqlite:${file}`, maintenance: false })
      try {
        const counts = await spool.queues.counts(QUEUE)
        expect(counts.waiting).toBeGreaterThanOrEqual(totalAcked)
        expect(counts.waiting).toBeLessThanOrEqual(totalAcked + BATCH * (round + 1))
        const lastId = acked.at(-1)?.ids.at(-1) as string
        const job = await spool.jobs.get(lastId)
        expect(job).toMatchObject({ state: 'waiting', payload: { batch: acked.at(-1)?.batch } })
      } finally {
        await spool.close()
      }
    }
  }, 60_000)

  it('fences off the late completions of a worker process frozen past its leases (SIGSTOP, SIGCONT)', async () => {
    const TOTAL = 20
    const file = tempFile('spool.db')
    const spool = await openSpool(file)
    const enqueued = await spool.enqueueMany(
      QUEUE,
      Array.from({ length: TOTAL }, (_, i) => ({ payload: { i }, options: { maxAttempts: 5 } })),
    )
    const db = openDb(file)

    // Z takes every job. Its handlers take 600–900 ms and its first heartbeat is due at 1.4 s,
    // so once thawed its handlers return before it can learn the leases are gone: their
    // completions reach the store with stale tokens, and only the store's fencing stops them.
    // No maintenance in Z, so when frozen it holds no SQLite lock and no leader lease.
    const zombie = startWorker({
      name: 'Z',
      file,
      queue: QUEUE,
      mode: 'sleep',
      concurrency: TOTAL,
      leaseMs: 1_500,
      heartbeatMs: 1_400,
      minMs: 600,
      maxMs: 900,
      graceMs: 5_000,
      maintenanceIntervalMs: null,
      report: true,
    })
    const rescuer = startWorker({
      name: 'R',
      file,
      queue: QUEUE,
      mode: 'sleep',
      concurrency: TOTAL,
      leaseMs: 1_500,
      graceMs: 5_000,
      maintenanceIntervalMs: 200,
      standby: true,
    })
    const [readyZ] = await Promise.all([zombie.waitFor('ready'), rescuer.waitFor('standby')])
    const activeOfZ = db.prepare(`SELECT count(*) FROM jobs WHERE state = 'active' AND worker_id = ?`).pluck()
    await waitUntil(`Z to hold all ${TOTAL} jobs`, 30_000, () => {
      zombie.assertAlive()
      return activeOfZ.get(String(readyZ.workerId)) === TOTAL
    })
    zombie.proc.kill('SIGSTOP')
    // Frozen before any handler returned (otherwise the test proves nothing).
    expect(activeOfZ.get(String(readyZ.workerId))).toBe(TOTAL)
    expect(zombie.messages.filter((message) => message.type === 'finished')).toEqual([])

    // R recovers the lapsed leases and completes everything while Z is frozen.
    rescuer.send('go')
    await waitUntil('R to complete every job while Z is frozen', 30_000, async () => {
      rescuer.assertAlive()
      return (await spool.queues.counts(QUEUE)).completed === TOTAL
    })

    // Thaw Z: its handlers return, it tries to complete under its old tokens; closing flushes them.
    zombie.proc.kill('SIGCONT')
    const finished = await waitUntil(`Z's ${TOTAL} handlers to return`, 30_000, () => {
      zombie.assertAlive()
      const done = zombie.messages.filter((message) => message.type === 'finished')
      return done.length === TOTAL && done
    })
    expect(await zombie.kill('SIGTERM')).toEqual({ code: 0, signal: null })
    const unaware = finished.filter((message) => message.aborted === false)
    expect(unaware.length).toBeGreaterThan(0)

    for (const { id } of enqueued) {
      const job = await spool.jobs.get(id)
      expect(job).toMatchObject({ state: 'completed', attempt: 2, result: { by: 'R' } })
      expect(job?.errors.map((error) => error.code)).toEqual(['SPOOL_LEASE_EXPIRED'])
      const types = (await spool.jobs.history(id)).map((event) => event.type)
      expect(types).toEqual(['job.created', 'job.active', 'job.retrying', 'job.active', 'job.completed'])
    }
    expect(await spool.queues.counts(QUEUE)).toMatchObject({ completed: TOTAL, active: 0, failed: 0, waiting: 0 })
    expect(await rescuer.kill('SIGTERM')).toEqual({ code: 0, signal: null })
  }, 60_000)

  it('hands running jobs back with the attempt refunded when a worker process gets SIGTERM', async () => {
    const TOTAL = 8
    const CONCURRENCY = 5
    const file = tempFile('spool.db')
    const spool = await openSpool(file)
    const enqueued = await spool.enqueueMany(
      QUEUE,
      Array.from({ length: TOTAL }, (_, i) => ({ payload: { i }, options: { maxAttempts: 3 } })),
    )
    const db = openDb(file)

    const holder = startWorker({
      name: 'holder',
      file,
      queue: QUEUE,
      mode: 'hold',
      concurrency: CONCURRENCY,
      leaseMs: 30_000,
      graceMs: 200,
      maintenanceIntervalMs: 200,
    })
    const ready = await holder.waitFor('ready')
    const held = await waitUntil(`the worker to hold ${CONCURRENCY} jobs`, 30_000, () => {
      holder.assertAlive()
      const ids = db
        .prepare(`SELECT id FROM jobs WHERE state = 'active' AND worker_id = ? ORDER BY id`)
        .pluck()
        .all(String(ready.workerId)) as number[]
      return ids.length === CONCURRENCY && ids.map(String)
    })

    expect(await holder.kill('SIGTERM')).toEqual({ code: 0, signal: null })
    expect(holder.messages.at(-1)?.type).toBe('closed')
    // Each running handler saw its signal abort for the shutdown.
    const aborted = holder.messages.filter((message) => message.type === 'aborted')
    expect(aborted.map((message) => String(message.jobId)).sort()).toEqual([...held].sort())
    expect(aborted.every((message) => message.code === 'SPOOL_SHUTDOWN')).toBe(true)

    // Back in the queue, attempt given back, no failure recorded.
    expect(await spool.queues.counts(QUEUE)).toMatchObject({ waiting: TOTAL, active: 0, failed: 0, scheduled: 0 })
    for (const { id } of enqueued) {
      const job = await spool.jobs.get(id)
      expect(job).toMatchObject({ state: 'waiting', attempt: 0, errors: [], workerId: null })
    }
    expect(db.prepare(`SELECT count(*) FROM events WHERE type IN ('job.failed', 'job.retrying')`).pluck().get()).toBe(0)
    for (const id of held) {
      const history = await spool.jobs.history(id)
      expect(history.map((event) => event.type)).toEqual(['job.created', 'job.active', 'job.waiting'])
      expect(history.at(-1)?.data).toMatchObject({ reason: 'released' })
    }

    // Another process picks them up; the refunded attempt means each completes on attempt 1.
    const drainer = startWorker({
      name: 'drainer',
      file,
      queue: QUEUE,
      mode: 'sleep',
      concurrency: CONCURRENCY,
      leaseMs: 1_500,
      graceMs: 5_000,
      maintenanceIntervalMs: 200,
    })
    await waitUntil('the jobs to be completed by another process', 30_000, async () => {
      drainer.assertAlive()
      return (await spool.queues.counts(QUEUE)).completed === TOTAL
    })
    for (const { id } of enqueued) {
      expect(await spool.jobs.get(id)).toMatchObject({ state: 'completed', attempt: 1, errors: [] })
    }
    expect(await drainer.kill('SIGTERM')).toEqual({ code: 0, signal: null })
  }, 60_000)
})
