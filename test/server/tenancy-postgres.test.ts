/**
 * Tenancy on PostgreSQL (one schema for the test): searches, counts, bulk actions by filter,
 * queue cleanups, streams, keys and records stay within their tenant, as on SQLite (authz.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './helpers.js'
import { openSse } from './sse-client.js'

describe('tenancy on PostgreSQL', () => {
  let t: TestServer
  let acme: string
  let globex: string
  let globexJob: string
  beforeAll(async () => {
    t = await startServer({ database: 'postgres' })
    acme = await t.key('acme', ['producer'])
    globex = await t.key('globex', ['producer'])
    globexJob = (
      await t.request('POST', '/v1/queues/pgq/jobs', { key: globex, body: { payload: { secret: 'GLOBEX-ONLY' } } })
    ).body.id
    await t.request('POST', '/v1/queues/pgq/jobs/bulk', {
      key: acme,
      body: { jobs: [{ payload: { mine: 1 } }, { payload: { mine: 2 } }] },
    })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('searches, counts and reads only the tenant’s jobs', async () => {
    const list = await t.request('GET', '/v1/jobs?queue=pgq', { key: acme })
    expect(list.body.jobs).toHaveLength(2)
    expect(list.text).not.toContain('GLOBEX-ONLY')
    expect((await t.request('GET', '/v1/jobs?text=GLOBEX-ONLY', { key: acme })).body.jobs).toEqual([])
    expect((await t.request('GET', '/v1/jobs?text=GLOBEX-ONLY', { key: globex })).body.jobs).toHaveLength(1)
    expect((await t.request('GET', '/v1/queues/pgq', { key: acme })).body.counts.waiting).toBe(2)
    expect((await t.request('GET', `/v1/jobs/${globexJob}`, { key: acme })).status).toBe(404)
    expect((await t.request('POST', `/v1/jobs/${globexJob}/cancel`, { key: acme })).status).toBe(404)
  })

  it('a bulk action by filter touches only the tenant’s jobs', async () => {
    const result = await t.request('POST', '/v1/jobs/actions', {
      key: acme,
      body: { action: 'cancel', filter: { queue: 'pgq', state: 'waiting' } },
    })
    expect(result.body).toMatchObject({ matched: 2, succeeded: 2 })
    expect((await t.spool.jobs.get(globexJob))?.state).toBe('waiting')
  })

  it('streams only the tenant’s events, and resumes from an id', async () => {
    const stream = await openSse(`${t.url}/v1/events/stream?lastEventId=0`, { authorization: `Bearer ${acme}` })
    const frames = await stream.waitFor(4)
    stream.close()
    expect(frames.every((f) => (f.data as { tenant: string }).tenant === 'acme')).toBe(true)
    expect(frames.map((f) => (f.data as { type: string }).type)).toEqual([
      'job.created',
      'job.created',
      'job.cancelled',
      'job.cancelled',
    ])
  })

  it('keeps keys and the audit log per tenant', async () => {
    const acmeAdmin = await t.key('acme', ['admin'])
    const keys = await t.request('GET', '/v1/keys', { key: acmeAdmin })
    expect(keys.body.keys.every((k: { tenant: string }) => k.tenant === 'acme')).toBe(true)
    await t.server.context.audit.flush()
    const audit = await t.request('GET', '/v1/audit?limit=1000', { key: acmeAdmin })
    expect(audit.body.entries.length).toBeGreaterThan(0)
    expect(audit.body.entries.every((e: { tenant: string }) => e.tenant === 'acme')).toBe(true)
  })

  it('a queue cleanup removes only the tenant’s finished jobs, under the queue’s retention', async () => {
    await t.spool.queues.configure('pgclean', { retention: { cancelled: { maxCount: 1 } } })
    const cancelled = async (tenant: string) => {
      const { id } = await t.spool.enqueue('pgclean', { n: 1 }, { tenant })
      await t.spool.jobs.cancel(id)
      return id
    }
    const acmeOld = await cancelled('acme')
    const globexOld = await cancelled('globex')
    const acmeNew = await cancelled('acme')
    const acmeAdmin = await t.key('acme', ['admin'])
    // The rule keeps the newest cancelled job of the whole queue (acme's last one); of the rest,
    // acme's cleanup takes only acme's.
    const dry = await t.request('POST', '/v1/queues/pgclean/cleanup', { key: acmeAdmin, body: { dryRun: true } })
    expect(dry.body).toMatchObject({ dryRun: true, removed: { cancelled: 1 }, sampleIds: [acmeOld] })
    const done = await t.request('POST', '/v1/queues/pgclean/cleanup', { key: acmeAdmin })
    expect(done.body.removed.cancelled).toBe(1)
    expect(await t.spool.jobs.get(acmeOld)).toBeNull()
    expect(await t.spool.jobs.get(acmeNew)).not.toBeNull()
    expect(await t.spool.jobs.get(globexOld)).not.toBeNull()
  })

  // Last: its jobs would show in the event stream above.
  it('an idempotency key names a job within its tenant: another tenant’s same key is its own job', async () => {
    const send = (key: string, n: number) =>
      t.request('POST', '/v1/queues/pgkeys/jobs', {
        key,
        body: { payload: { n }, options: { idempotencyKey: 'visit-42' } },
      })
    const first = await send(globex, 1)
    const mine = await send(acme, 2)
    expect(mine.status).toBe(201)
    expect(mine.body.id).not.toBe(first.body.id)
    expect(mine.text).not.toContain(`"${first.body.id}"`)
    expect((await send(acme, 3)).body).toMatchObject({ id: mine.body.id, created: false })
    expect((await send(globex, 4)).body).toMatchObject({ id: first.body.id, created: false })
    // A flow's keyed jobs go the same way (PostgreSQL inserts them one at a time).
    const flow = (key: string) =>
      t.request('POST', '/v1/flows', {
        key,
        body: {
          queue: 'pgkeys',
          options: { idempotencyKey: 'flow-42' },
          children: [{ queue: 'pgkeys', options: { idempotencyKey: 'visit-42' } }],
        },
      })
    const globexFlow = await flow(globex)
    const acmeFlow = await flow(acme)
    expect(acmeFlow.body.children[0].id).toBe(mine.body.id)
    expect(globexFlow.body.children[0].id).toBe(first.body.id)
    expect(acmeFlow.body.id).not.toBe(globexFlow.body.id)
  })
})
