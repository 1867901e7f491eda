/**
 * The operators' routes, through the HTTP API of a real server (SQLite file, and the
 * oldest-waiting probe on PostgreSQL too): the stats' oldest waiting job (right past 5,000
 * waiting, tenant-scoped), retry every failed job of a queue (tenant-scoped, counted, audited),
 * and run a schedule now without moving its cadence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Worker } from '../../src/engine/worker.js'
import { eventually, startServer, type TestServer } from './helpers.js'

/** `n` jobs on `queue` in `tenant`, in one bulk enqueue per 1,000 (the engine's, not HTTP calls). */
async function seed(t: TestServer, queue: string, n: number, tenant = 'default'): Promise<string[]> {
  const ids: string[] = []
  for (let from = 0; from < n; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - from) }, (_, i) => ({
      payload: { n: from + i },
      options: { tenant },
    }))
    for (const result of await t.spool.enqueueMany(queue, batch, { position: false })) ids.push(result.id)
  }
  return ids
}

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`the oldest waiting job in the stats (${database})`, () => {
    let t: TestServer
    beforeAll(async () => {
      t = await startServer({ database })
    })
    afterAll(async () => {
      await t?.close()
    })

    it('names the oldest past 5,000 waiting jobs, per tenant, per queue, and null when none waits', async () => {
      const acme = await t.key('acme', ['reader'])
      const nobody = await t.key('nobody', ['reader'])
      // 5,000 on a, then 5,000 on b: the oldest is a's first (the dashboard used to say b's first).
      const onA = await seed(t, 'ow-a', 5000)
      await seed(t, 'ow-b', 5000)
      // Acme's only waiting job is newer than all of them, on the same queue.
      const [acmeJob] = await seed(t, 'ow-a', 1, 'acme')
      const all = await t.request('GET', '/v1/stats')
      expect(all.status, all.text).toBe(200)
      expect(all.body.oldestWaiting).toMatchObject({ id: onA[0], queue: 'ow-a' })
      expect(Date.parse(all.body.oldestWaiting.createdAt)).toBe(
        (await t.spool.jobs.get(onA[0] as string))?.createdAt.getTime(),
      )
      expect(all.body.oldestWaiting.ageMs).toBeGreaterThanOrEqual(0)
      const b = await t.request('GET', '/v1/queues/ow-b/stats')
      expect(b.body.oldestWaiting).toMatchObject({ queue: 'ow-b', id: String(Number(onA.at(-1)) + 1) })
      // A tenant sees its own job, never the older ones of another tenant.
      const mine = await t.request('GET', '/v1/stats', { key: acme })
      expect(mine.body.oldestWaiting).toMatchObject({ id: acmeJob, queue: 'ow-a' })
      const mineOnA = await t.request('GET', '/v1/queues/ow-a/stats', { key: acme })
      expect(mineOnA.body.oldestWaiting).toMatchObject({ id: acmeJob })
      // A queue only another tenant uses is not there for acme at all (docs/security.md).
      expect((await t.request('GET', '/v1/queues/ow-b/stats', { key: acme })).status).toBe(404)
      expect((await t.request('GET', '/v1/stats', { key: nobody })).body.oldestWaiting).toBeNull()
      // Once a's first job is no longer waiting, the next one is the oldest.
      await t.spool.jobs.cancel(onA[0] as string)
      expect((await t.request('GET', '/v1/stats')).body.oldestWaiting.id).toBe(onA[1])
    })
  })
}

describe('operators’ routes', () => {
  let t: TestServer
  beforeAll(async () => {
    t = await startServer()
  })
  afterAll(async () => {
    await t?.close()
  })

  /** Jobs that fail for good at once (one attempt), in `tenant`. */
  async function failJobs(queue: string, n: number, tenant: string): Promise<string[]> {
    const ids = (
      await t.spool.enqueueMany(
        queue,
        Array.from({ length: n }, (_, i) => ({ payload: { i }, options: { tenant, maxAttempts: 1 } })),
      )
    ).map((r) => r.id)
    const worker = t.spool.work(
      queue,
      async () => {
        throw new Error('the provider answered 500')
      },
      { concurrency: 4, pollIntervalMs: 50 },
    ) as Worker<never, never>
    try {
      await eventually(async () => (await t.spool.queues.counts(queue, { tenant })).failed >= n, `${n} failed jobs`)
    } finally {
      await worker.close({ graceMs: 200 })
    }
    return ids
  }

  it('retries every failed job of the caller’s tenant on a queue, counted first with dryRun, and audits it', async () => {
    const queue = 'fragile'
    const mine = await failJobs(queue, 12, 'acme')
    const theirs = await failJobs(queue, 5, 'default')
    const acme = await t.key('acme', ['admin'])
    const acmeReader = await t.key('acme', ['reader'])

    const dry = await t.request('POST', `/v1/queues/${queue}/retry-failed`, { key: acme, body: { dryRun: true } })
    expect(dry.status, dry.text).toBe(200)
    expect(dry.body).toEqual({ queue, dryRun: true, matched: 12, retried: 0, failed: [], truncated: false })
    expect((await t.spool.queues.counts(queue, { tenant: 'acme' })).failed).toBe(12)
    const exactly = await t.request('POST', `/v1/queues/${queue}/retry-failed`, {
      key: acme,
      body: { dryRun: true, max: 12 },
    })
    expect(exactly.body).toMatchObject({ matched: 12, truncated: false })
    const fewer = await t.request('POST', `/v1/queues/${queue}/retry-failed`, {
      key: acme,
      body: { dryRun: true, max: 11 },
    })
    expect(fewer.body).toMatchObject({ matched: 11, truncated: true })

    const some = await t.request('POST', `/v1/queues/${queue}/retry-failed`, { key: acme, body: { max: 5 } })
    expect(some.body).toMatchObject({ matched: 5, retried: 5, truncated: true })
    // The newest five (as a listing of failed jobs shows them first); the older ones wait their turn.
    for (const id of mine.slice(-5)) expect((await t.spool.jobs.get(id))?.state).toBe('waiting')
    for (const id of mine.slice(0, 7)) expect((await t.spool.jobs.get(id))?.state).toBe('failed')

    const rest = await t.request('POST', `/v1/queues/${queue}/retry-failed`, { key: acme })
    expect(rest.body).toMatchObject({ dryRun: false, matched: 7, retried: 7, failed: [], truncated: false })
    for (const id of mine) {
      const job = await t.spool.jobs.get(id)
      expect(job?.state).toBe('waiting')
      expect(job?.attempt).toBe(0)
    }
    // Another tenant's failed jobs on the same queue stay as they were.
    for (const id of theirs) expect((await t.spool.jobs.get(id))?.state).toBe('failed')
    expect((await t.request('POST', `/v1/queues/${queue}/retry-failed`, { key: acme })).body.matched).toBe(0)

    // A reader may not; bad input is refused with the field named and changes nothing.
    const refused = await t.request('POST', `/v1/queues/${queue}/retry-failed`, { key: acmeReader })
    expect(refused.status).toBe(403)
    const bad = await t.request('POST', `/v1/queues/${queue}/retry-failed`, { body: { max: 0 } })
    expect(bad.status).toBe(400)
    expect(bad.headers.get('content-type')).toContain('application/problem+json')
    expect(bad.body.field ?? bad.body.errors?.[0]?.field).toMatch(/max/)
    expect((await t.request('POST', `/v1/queues/${queue}/retry-failed`, { body: { all: true } })).status).toBe(400)
    expect((await t.request('POST', '/v1/queues/bad%20name/retry-failed')).status).toBe(400)
    for (const id of theirs) expect((await t.spool.jobs.get(id))?.state).toBe('failed')

    // The audit log of acme has the calls, with how many were retried.
    const audit = await t.request('GET', '/v1/audit?action=queues.retryFailed&limit=100', { key: acme })
    expect(audit.status, audit.text).toBe(200)
    const targets = audit.body.entries.map((e: { target: string }) => e.target)
    expect(targets).toEqual(
      expect.arrayContaining([
        `${queue}: 12 failed (dry run)`,
        `${queue}: 11 failed (dry run)`,
        `${queue}: 5 retried`,
        `${queue}: 7 retried`,
      ]),
    )
    expect(audit.body.entries.find((e: { status: number }) => e.status === 403)?.outcome).toBe('denied')
    // The default tenant's own call retries its own five.
    const own = await t.request('POST', `/v1/queues/${queue}/retry-failed`)
    expect(own.body).toMatchObject({ matched: 5, retried: 5 })
  })

  it('runs a schedule now: one job, as a tick would make it, with the cadence unchanged', async () => {
    const put = await t.request('PUT', '/v1/schedules/nightly-export', {
      body: {
        cron: '0 3 * * *',
        timezone: 'Europe/Berlin',
        queue: 'exports',
        payload: { kind: 'daily' },
        options: { priority: 'high', tags: ['nightly'] },
      },
    })
    expect(put.status, put.text).toBe(200)
    const run = await t.request('POST', '/v1/schedules/nightly-export/run')
    expect(run.status, run.text).toBe(201)
    expect(run.body).toMatchObject({ queue: 'exports', schedule: { name: 'nightly-export' } })
    const job = await t.spool.jobs.get(run.body.id)
    expect(job).toMatchObject({ queue: 'exports', tenant: 'default', state: 'waiting', payload: { kind: 'daily' } })
    expect(job?.tags).toEqual(['nightly'])
    expect(job?.metadata.schedule).toMatchObject({ name: 'nightly-export', manual: true })
    const after = await t.request('GET', '/v1/schedules/nightly-export')
    expect(after.body.nextRunAt).toBe(put.body.nextRunAt)
    expect(after.body.lastRunAt).toBeNull()
    // Each call is one more job; a paused schedule runs too, and stays paused.
    await t.request('POST', '/v1/schedules/nightly-export/pause')
    const again = await t.request('POST', '/v1/schedules/nightly-export/run')
    expect(again.status).toBe(201)
    expect(again.body.id).not.toBe(run.body.id)
    expect(again.body.schedule.paused).toBe(true)
    expect((await t.spool.queues.counts('exports')).waiting).toBe(2)
    // Another tenant's schedule is "not found"; a reader may not; each run is audited.
    const acme = await t.key('acme', ['admin'])
    const reader = await t.key('default', ['reader'])
    expect((await t.request('POST', '/v1/schedules/nightly-export/run', { key: acme })).status).toBe(404)
    expect((await t.request('POST', '/v1/schedules/nightly-export/run', { key: reader })).status).toBe(403)
    expect((await t.request('POST', '/v1/schedules/missing/run')).status).toBe(404)
    expect((await t.spool.queues.counts('exports')).waiting).toBe(2)
    const audit = await t.request('GET', '/v1/audit?action=schedules.run&limit=100')
    const ok = audit.body.entries.filter((e: { outcome: string }) => e.outcome === 'ok')
    expect(ok.map((e: { target: string }) => e.target).sort()).toEqual(
      [`nightly-export #${run.body.id}`, `nightly-export #${again.body.id}`].sort(),
    )
  })

  it('the client SDK calls both', async () => {
    const { createClient } = await import('../../src/client/index.js')
    const client = createClient({ baseUrl: t.url, apiKey: t.adminKey })
    await t.spool.schedules.upsert({ name: 'sdk-run', cron: '@daily', queue: 'sdk', options: { tenant: 'default' } })
    const run = await client.schedules.run('sdk-run')
    expect((await t.spool.jobs.get(run.id))?.queue).toBe('sdk')
    const report = await client.queues.retryFailed('sdk', { dryRun: true })
    expect(report).toMatchObject({ queue: 'sdk', dryRun: true, matched: 0 })
    expect((await client.stats()).oldestWaiting?.id).toBeDefined()
  })
})
