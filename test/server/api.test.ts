/**
 * The REST API's contract on a real SQLite file: queues, jobs, search and pagination, job
 * actions, bulk actions, keys, the audit log, health, metrics, and the OpenAPI document.
 */
import { readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openApiDocument } from '../../src/server/openapi.js'
import { startServer, type TestServer } from './helpers.js'

describe('REST API', () => {
  let t: TestServer
  beforeAll(async () => {
    t = await startServer()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('answers every enqueue with its position, also for requests that arrive together', async () => {
    const queue = 'positions'
    // Requests that arrive together are written as one batch (server/enqueuer.ts).
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => t.request('POST', `/v1/queues/${queue}/jobs`, { body: { payload: i } })),
    )
    const positions = answers.map((answer) => answer.body.position as number)
    expect([...positions].sort()).toEqual([0, 1, 2, 3, 4])
    for (const answer of answers) {
      const asked = await t.request('GET', `/v1/jobs/${answer.body.id}/position`)
      expect(asked.body.position).toBe(answer.body.position)
    }
    const bulk = await t.request('POST', `/v1/queues/${queue}/jobs/bulk`, {
      body: { jobs: [{ payload: 'a' }, { payload: 'b', options: { delayMs: 60_000 } }, { payload: 'c' }] },
    })
    expect(bulk.body.jobs.map((job: { position: number | null }) => job.position)).toEqual([5, null, 6])
    expect(bulk.body.jobs[1].estimatedWaitMs).toBeGreaterThan(59_000)
    const skipped = await t.request('POST', `/v1/queues/${queue}/jobs?position=false`, { body: { payload: 'x' } })
    expect(skipped.body).toMatchObject({ created: true, position: null, estimatedWaitMs: null })
  })

  it('enqueues, reads and steers a job', async () => {
    const created = await t.request('POST', '/v1/queues/emails/jobs', {
      body: { payload: { to: 'a@b.c' }, options: { priority: 'high', tags: ['x'] } },
    })
    expect(created.status, created.text).toBe(201)
    expect(created.body).toMatchObject({ created: true, state: 'waiting' })
    const id = created.body.id as string
    expect(created.headers.get('x-request-id')).toBeTruthy()

    const job = await t.request('GET', `/v1/jobs/${id}`)
    expect(job.status).toBe(200)
    expect(job.body).toMatchObject({
      id,
      queue: 'emails',
      tenant: 'default',
      payload: { to: 'a@b.c' },
      priority: 10,
      tags: ['x'],
    })
    const status = await t.request('GET', `/v1/jobs/${id}/status`)
    expect(status.body).toMatchObject({ id, state: 'waiting', attempt: 0 })
    expect(status.body.payload).toBeUndefined()
    const position = await t.request('GET', `/v1/jobs/${id}/position`)
    expect(position.body.position).toBe(0)
    expect(created.body).toMatchObject({ position: 0, estimatedWaitMs: null })
    const behind = await t.request('POST', '/v1/queues/emails/jobs', { body: { payload: { to: 'b' } } })
    expect(behind.body).toMatchObject({ created: true, position: 1 })
    await t.request('DELETE', `/v1/jobs/${behind.body.id}`)

    const again = await t.request('PATCH', `/v1/jobs/${id}`, { body: { priority: 'low' } })
    expect(again.body.priority).toBe(30)
    const cancelled = await t.request('POST', `/v1/jobs/${id}/cancel`)
    expect(cancelled.body.state).toBe('cancelled')
    const twice = await t.request('POST', `/v1/jobs/${id}/cancel`)
    expect(twice.status).toBe(409)
    expect(twice.headers.get('content-type')).toMatch(/application\/problem\+json/)
    expect(twice.body).toMatchObject({
      code: 'SPOOL_INVALID_TRANSITION',
      status: 409,
      instance: `/v1/jobs/${id}/cancel`,
    })
    const retried = await t.request('POST', `/v1/jobs/${id}/retry`)
    expect(retried.body.state).toBe('waiting')
    const history = await t.request('GET', `/v1/jobs/${id}/events`)
    expect(history.body.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['job.created', 'job.priority', 'job.cancelled']),
    )
    const removed = await t.request('DELETE', `/v1/jobs/${id}`)
    expect(removed.status).toBe(204)
    expect((await t.request('GET', `/v1/jobs/${id}`)).status).toBe(404)
  })

  it('idempotency keys return the existing job with 200', async () => {
    const body = { payload: { n: 1 }, options: { idempotencyKey: 'visit-42' } }
    const first = await t.request('POST', '/v1/queues/idem/jobs', { body })
    const second = await t.request('POST', '/v1/queues/idem/jobs', { body })
    expect(first.status).toBe(201)
    expect(second.status).toBe(200)
    expect(second.body).toMatchObject({ id: first.body.id, created: false })
  })

  it('bulk enqueue is all or nothing, naming the bad item', async () => {
    const ok = await t.request('POST', '/v1/queues/bulk/jobs/bulk', {
      body: { jobs: [{ payload: 1 }, { payload: 2, options: { delayMs: 60_000 } }] },
    })
    expect(ok.status, ok.text).toBe(201)
    expect(ok.body.jobs.map((j: { state: string }) => j.state)).toEqual(['waiting', 'scheduled'])
    const bad = await t.request('POST', '/v1/queues/bulk/jobs/bulk', {
      body: { jobs: [{ payload: 1 }, { payload: 2, options: { priority: 'soon' } }] },
    })
    expect(bad.status).toBe(400)
    expect(bad.body.field).toBe('jobs.1.options.priority')
    const counts = await t.request('GET', '/v1/queues/bulk')
    expect(counts.body.counts.waiting + counts.body.counts.scheduled).toBe(2)
  })

  it('searches with filters and pages with a cursor', async () => {
    const jobs = Array.from({ length: 25 }, (_, i) => ({
      payload: { n: i, note: i % 5 === 0 ? 'needle in payload' : 'hay' },
      options: { group: i % 2 ? 'odd' : 'even', tags: [i < 10 ? 'early' : 'late'] },
    }))
    await t.request('POST', '/v1/queues/search/jobs/bulk', { body: { jobs } })
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const query: string = `/v1/jobs?queue=search&limit=10${cursor ? `&cursor=${cursor}` : ''}`
      const page = await t.request('GET', query)
      expect(page.status, page.text).toBe(200)
      seen.push(...page.body.jobs.map((j: { id: string }) => j.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen).toHaveLength(25)
    expect(new Set(seen).size).toBe(25)
    expect(seen).toEqual([...seen].sort((a, b) => Number(b) - Number(a)))

    const text = await t.request('GET', '/v1/jobs?queue=search&text=needle')
    expect(text.body.jobs).toHaveLength(5)
    const grouped = await t.request('GET', '/v1/jobs?queue=search&group=odd&tag=early')
    expect(grouped.body.jobs).toHaveLength(5)
    const future = await t.request('GET', `/v1/jobs?queue=search&createdAfter=${Date.now() + 60_000}`)
    expect(future.body.jobs).toHaveLength(0)
    const iso = await t.request(
      'GET',
      `/v1/jobs?queue=search&createdBefore=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&limit=1`,
    )
    expect(iso.body.jobs).toHaveLength(1)
  })

  it('acts on a selection and on all jobs matching a filter', async () => {
    const { body } = await t.request('POST', '/v1/queues/bulkact/jobs/bulk', {
      body: { jobs: Array.from({ length: 12 }, (_, i) => ({ payload: i, options: { group: i < 4 ? 'a' : 'b' } })) },
    })
    const ids = body.jobs.map((j: { id: string }) => j.id)
    const some = await t.request('POST', '/v1/jobs/actions', {
      body: { action: 'cancel', ids: [ids[0], ids[1], '999999'] },
    })
    expect(some.body).toMatchObject({ matched: 2, succeeded: 2 })
    expect(some.body.failed).toEqual([expect.objectContaining({ id: '999999', code: 'SPOOL_JOB_NOT_FOUND' })])
    const dry = await t.request('POST', '/v1/jobs/actions', {
      body: { action: 'cancel', filter: { queue: 'bulkact', state: 'waiting', group: 'b' }, dryRun: true },
    })
    expect(dry.body).toMatchObject({ matched: 8, succeeded: 0, dryRun: true })
    const all = await t.request('POST', '/v1/jobs/actions', {
      body: { action: 'reprioritize', filter: { queue: 'bulkact', state: 'waiting' }, priority: 'urgent' },
    })
    expect(all.body).toMatchObject({ matched: 10, succeeded: 10, truncated: false })
    const capped = await t.request('POST', '/v1/jobs/actions', {
      body: { action: 'cancel', filter: { queue: 'bulkact', state: 'waiting' }, max: 3 },
    })
    expect(capped.body).toMatchObject({ matched: 3, succeeded: 3, truncated: true })
    const retry = await t.request('POST', '/v1/jobs/actions', {
      body: { action: 'retry', filter: { queue: 'bulkact', state: 'cancelled' } },
    })
    expect(retry.body).toMatchObject({ matched: 5, succeeded: 5 })
  })

  it('groups a queue’s jobs by the calling user (groupBy: user), so a group limit is per caller', async () => {
    const configured = await t.request('PUT', '/v1/queues/per-user', { body: { groupBy: 'user', maxGroupSize: 1 } })
    expect(configured.status, configured.text).toBe(200)
    const [alice, bob] = [await t.key('default', ['producer']), await t.key('default', ['producer'])]
    const first = await t.request('POST', '/v1/queues/per-user/jobs', { key: alice, body: { payload: 1 } })
    const other = await t.request('POST', '/v1/queues/per-user/jobs', { key: bob, body: { payload: 2 } })
    expect([first.status, other.status]).toEqual([201, 201])
    const groups = await Promise.all(
      [first, other].map(async (r) => (await t.request('GET', `/v1/jobs/${r.body.id}`)).body.group as string),
    )
    expect(groups[0]).toMatch(/^key:/)
    expect(groups[1]).toMatch(/^key:/)
    expect(groups[0]).not.toBe(groups[1])
    const again = await t.request('POST', '/v1/queues/per-user/jobs', { key: alice, body: { payload: 3 } })
    expect(again.status).toBe(503)
    expect(again.body).toMatchObject({ code: 'SPOOL_QUEUE_FULL' })
  })

  it('lists, configures, pauses and cleans queues, with stats', async () => {
    const configured = await t.request('PUT', '/v1/queues/ops', {
      body: { retention: { completed: { maxCount: 0 } }, concurrency: 4 },
    })
    expect(configured.status, configured.text).toBe(200)
    expect(configured.body.config).toMatchObject({ concurrency: 4 })
    expect((await t.request('POST', '/v1/queues/ops/pause')).body.paused).toBe(true)
    expect((await t.request('POST', '/v1/queues/ops/resume', { body: {} })).body.paused).toBe(false)
    const list = await t.request('GET', '/v1/queues')
    expect(list.body.queues.map((q: { name: string }) => q.name)).toContain('ops')
    const cleanup = await t.request('POST', '/v1/queues/ops/cleanup', { body: { dryRun: true } })
    expect(cleanup.body).toMatchObject({ dryRun: true, removed: { completed: 0 } })
    const stats = await t.request('GET', '/v1/queues/emails/stats')
    expect(stats.status).toBe(200)
    expect(Object.keys(stats.body.counts)).toEqual(['emails'])
    expect((await t.request('GET', '/v1/stats')).body.counts.search.waiting).toBe(25)
    expect((await t.request('GET', '/v1/queues/nope')).status).toBe(404)
  })

  it('creates, lists and revokes API keys; a revoked key stops working at once', async () => {
    const created = await t.request('POST', '/v1/keys', { body: { name: 'ingest', scopes: ['producer'] } })
    expect(created.status).toBe(201)
    expect(created.body.token).toMatch(/^spool_[a-z0-9]{10}_/)
    const list = await t.request('GET', '/v1/keys')
    const listed = list.body.keys.find((k: { id: string }) => k.id === created.body.id)
    expect(listed).toMatchObject({ name: 'ingest', scopes: ['producer'], revokedAt: null })
    expect(JSON.stringify(list.body)).not.toContain(created.body.token)
    const ok = await t.request('POST', '/v1/queues/k/jobs', { key: created.body.token, body: { payload: 1 } })
    expect(ok.status).toBe(201)
    expect((await t.request('DELETE', `/v1/keys/${created.body.id}`)).body.revokedAt).toBeTruthy()
    const refused = await t.request('POST', '/v1/queues/k/jobs', { key: created.body.token, body: { payload: 1 } })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toMatch(/Bearer/)
  })

  it('keeps an audit log of writes and sensitive reads, readable by admins only', async () => {
    const reader = await t.key('default', ['reader'])
    const { body } = await t.request('POST', '/v1/queues/audited/jobs', { body: { payload: { secret: 'p' } } })
    await t.request('GET', `/v1/jobs/${body.id}`, { key: reader })
    await t.request('POST', '/v1/queues/audited/pause', { key: reader })
    const log = await t.request('GET', '/v1/audit?limit=1000')
    expect(log.status).toBe(200)
    const entries = log.body.entries as {
      action: string
      target: string
      outcome: string
      actor: { id: string }
      ip: string
      requestId: string
    }[]
    expect(entries.find((e) => e.action === 'jobs.create' && e.target === body.id)).toMatchObject({
      outcome: 'ok',
      ip: '127.0.0.1',
    })
    expect(entries.find((e) => e.action === 'jobs.get' && e.target === body.id)).toMatchObject({ outcome: 'ok' })
    expect(entries.find((e) => e.action === 'queues.pause' && e.target === 'audited')).toMatchObject({
      outcome: 'denied',
    })
    expect(JSON.stringify(entries)).not.toContain('"secret"')
    const filtered = await t.request('GET', '/v1/audit?action=queues.pause')
    expect(filtered.body.entries.every((e: { action: string }) => e.action === 'queues.pause')).toBe(true)
    expect((await t.request('GET', '/v1/audit', { key: reader })).status).toBe(403)
  })

  it('serves health, metrics, docs and the OpenAPI document', async () => {
    expect((await t.request('GET', '/livez', { key: null })).body).toEqual({ status: 'ok' })
    expect((await t.request('GET', '/readyz', { key: null })).body.status).toBe('ready')
    expect((await t.request('GET', '/metrics', { key: null })).status).toBe(401)
    await t.spool.ensureQueue('idle')
    const waiting = (await t.request('GET', '/v1/jobs?queue=search&state=waiting&limit=100')).body.jobs
    const firstSearchJobAt = Math.min(...waiting.map((job: { createdAt: string }) => Date.parse(job.createdAt)))
    const scrapedAt = Date.now()
    const metrics = await t.request('GET', '/metrics')
    expect(metrics.status).toBe(200)
    expect(metrics.text).toMatch(/spool_jobs\{queue="search",state="waiting"\} 25/)
    expect(metrics.text).toMatch(
      /spool_http_requests_total\{method="POST",route="\/v1\/queues\/:queue\/jobs",status="201"\}/,
    )
    expect(metrics.text).toMatch(/spool_jobs_enqueued_total/)
    expect(metrics.text).toMatch(/# TYPE spool_breaker_open gauge/)
    expect(metrics.text).toMatch(/# TYPE spool_job_wait_seconds histogram/)
    expect(metrics.text).toMatch(/spool_queue_oldest_waiting_age_seconds\{queue="idle"\} 0\n/)
    const age = Number(/spool_queue_oldest_waiting_age_seconds\{queue="search"\} ([\d.e-]+)/.exec(metrics.text)?.[1])
    expect(age).toBeGreaterThan(0)
    expect(age).toBeLessThanOrEqual((Date.now() - firstSearchJobAt) / 1000)
    expect(age).toBeGreaterThanOrEqual((scrapedAt - firstSearchJobAt) / 1000)
    const docs = await fetch(`${t.url}/docs/`)
    expect(docs.status).toBe(200)
    expect(await docs.text()).toMatch(/swagger/i)
    const spec = await t.request('GET', '/openapi.json', { key: null })
    expect(spec.body.openapi).toBe('3.1.0')
  })

  it('is not ready while the store lacks a migration', async () => {
    const db = new Database(t.store.replace(/^sqlite:/, ''))
    const newest = db.prepare('SELECT * FROM spool_migrations ORDER BY version DESC LIMIT 1').get() as {
      version: number
      name: string
      applied_at: number
    }
    db.prepare('DELETE FROM spool_migrations WHERE version = ?').run(newest.version)
    try {
      const answer = await t.request('GET', '/readyz', { key: null })
      expect(answer.status).toBe(503)
      expect(answer.body).toMatchObject({ code: 'SPOOL_UNAVAILABLE' })
      expect(answer.body.detail).toContain(`migrations ${newest.version}`)
    } finally {
      db.prepare('INSERT INTO spool_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        newest.version,
        newest.name,
        newest.applied_at,
      )
      db.close()
    }
    expect((await t.request('GET', '/readyz', { key: null })).body).toEqual({
      status: 'ready',
      checks: { store: 'ok', migrations: 'current', shutdown: 'no' },
    })
  })

  it('docs/openapi.json is the document the routes generate (regenerate: spool openapi > docs/openapi.json)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'))
    expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument())))
  })
})

describe('admission', () => {
  it('answers 503 with Retry-After for a full queue and 429 over the tenant’s enqueue rate', async () => {
    const t = await startServer({ config: { limits: { enqueuePerSecond: 3 } } })
    try {
      await t.request('PUT', '/v1/queues/small', { body: { maxSize: 2 } })
      const answers = []
      for (let i = 0; i < 3; i++)
        answers.push(await t.request('POST', '/v1/queues/small/jobs', { body: { payload: i } }))
      expect(answers.map((a) => a.status)).toEqual([201, 201, 503])
      expect(answers[2]?.body).toMatchObject({ code: 'SPOOL_QUEUE_FULL' })
      expect(Number(answers[2]?.headers.get('retry-after'))).toBeGreaterThan(0)
      expect((await t.spool.queues.counts('small')).waiting).toBe(2)

      const other = await t.key('other', ['producer'])
      const limited = []
      for (let i = 0; i < 5; i++)
        limited.push(await t.request('POST', '/v1/queues/fast/jobs', { key: other, body: { payload: i } }))
      expect(limited.map((a) => a.status)).toEqual([201, 201, 201, 429, 429])
      expect(limited[3]?.body).toMatchObject({ code: 'SPOOL_RATE_LIMITED', limit: 3 })
      expect(Number(limited[3]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    } finally {
      await t.close()
    }
  })
})
