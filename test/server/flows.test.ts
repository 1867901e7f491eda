/** Flows over HTTP: a tree enqueued in one call, children first, the parent blocked until they finish. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
