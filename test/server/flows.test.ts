/**
 * Flows over HTTP: a tree enqueued in one call, children first, the parent blocked until they
 * finish; each job's children and parents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/client/index.js'
import { eventually, startServer, type TestServer } from './helpers.js'

describe('POST /v1/flows', () => {
  let t: TestServer
  beforeAll(async () => {
    t = await startServer()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('writes the tree at once; the parent runs after its children with their results', async () => {
    const created = await t.request('POST', '/v1/flows', {
      body: {
        queue: 'report',
        payload: { month: 11 },
        children: [
          { queue: 'fetch', payload: { part: 'a' } },
          { queue: 'fetch', payload: { part: 'b' }, onFailure: 'continue' },
        ],
      },
    })
    expect(created.status, created.text).toBe(201)
    const flow = created.body as { id: string; children: { id: string }[] }
    expect(flow.children).toHaveLength(2)
    expect((await t.request('GET', `/v1/jobs/${flow.id}`)).body).toMatchObject({ state: 'blocked' })
    t.spool.work('fetch', (job) => (job.payload as { part: string }).part.toUpperCase())
    t.spool.work('report', async (_job, ctx) => (await ctx.children()).map((child) => child.result))
    await eventually(
      async () => (await t.request('GET', `/v1/jobs/${flow.id}`)).body.state === 'completed',
      'the parent to complete',
    )
    expect((await t.request('GET', `/v1/jobs/${flow.id}`)).body).toMatchObject({ result: ['A', 'B'] })
    const children = await t.request('GET', `/v1/jobs/${flow.id}/children`)
    expect(children.body.children.map((c: { state: string }) => c.state)).toEqual(['completed', 'completed'])
  })

  it('answers a job’s parents, up the tree a level at a time', async () => {
    const created = await t.request('POST', '/v1/flows', {
      body: {
        queue: 'album',
        children: [{ queue: 'track', children: [{ queue: 'stem', options: { delayMs: 3_600_000 } }] }],
      },
    })
    const flow = created.body as { id: string; children: { id: string; children: { id: string }[] }[] }
    const track = flow.children[0]?.id
    const stem = flow.children[0]?.children[0]?.id
    const up = await t.request('GET', `/v1/jobs/${stem}/parents`)
    expect(up.status, up.text).toBe(200)
    expect(up.body).toEqual({ parents: [{ id: track, queue: 'track', state: 'blocked', onFailure: 'fail' }] })
    expect((await t.request('GET', `/v1/jobs/${track}/parents`)).body.parents).toMatchObject([{ id: flow.id }])
    expect((await t.request('GET', `/v1/jobs/${flow.id}/parents`)).body).toEqual({ parents: [] })
    const missing = await t.request('GET', '/v1/jobs/987654321/parents')
    expect(missing.status).toBe(404)
    expect(missing.body.code).toBe('SPOOL_JOB_NOT_FOUND')
    expect((await t.request('GET', '/v1/jobs/abc/parents')).status).toBe(400)
    // From the client too.
    const client = createClient({ baseUrl: t.url, apiKey: t.adminKey })
    expect((await client.jobs.parents(stem as string)).map((parent) => parent.id)).toEqual([track])
  })

  it('is enqueued from the typed client, which sees a refusal as a SpoolApiError with the field', async () => {
    const client = createClient({ baseUrl: t.url, apiKey: t.adminKey })
    const flow = await client.flows.create({
      queue: 'notes',
      payload: { session: 's1' },
      children: [
        { queue: 'transcribe', payload: { part: 1 }, options: { delayMs: 3_600_000 } },
        { queue: 'diarize', payload: { part: 1 }, onFailure: 'continue', options: { delayMs: 3_600_000 } },
      ],
    })
    expect(flow.children.map((child) => child.queue)).toEqual(['transcribe', 'diarize'])
    expect(await client.jobs.get(flow.id)).toMatchObject({ state: 'blocked', payload: { session: 's1' } })
    expect((await client.jobs.children(flow.id)).map((child) => child.onFailure)).toEqual(['fail', 'continue'])
    const refused = await client.flows
      .create({ queue: 'notes', children: [{ queue: 'bad queue name' }] })
      .catch((e) => e)
    expect(refused).toMatchObject({ status: 400, field: 'children.0.queue' })
  })

  it('refuses a bad node by its path and writes nothing', async () => {
    const before = await t.spool.queues.counts('fetch')
    const bad = await t.request('POST', '/v1/flows', {
      body: { queue: 'report', children: [{ queue: 'fetch' }, { queue: 'bad queue name' }] },
    })
    expect(bad.status).toBe(400)
    expect(bad.body.field).toMatch(/^children\.1\.queue/)
    expect(await t.spool.queues.counts('fetch')).toEqual(before)
  })
})
