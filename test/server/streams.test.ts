/**
 * Live streams: SSE for a job, a queue and the tenant, with event ids, heartbeats and resume by
 * Last-Event-ID — also across a server restart, on SQLite and on PostgreSQL — and the
 * WebSocket protocol; both confined to the caller's tenant.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { eventually, freshPgSchema, startServer, type TestServer } from './helpers.js'
import { openSse } from './sse-client.js'

const servers: TestServer[] = []
async function server(options: Parameters<typeof startServer>[0] = {}) {
  const t = await startServer(options)
  servers.push(t)
  return t
}
afterEach(async () => {
  for (const t of servers.splice(0)) await t.close()
})

const auth = (key: string) => ({ authorization: `Bearer ${key}` })

describe('SSE', () => {
  it('streams a tenant’s events with ids and heartbeats, and never another tenant’s', async () => {
    const t = await server()
    const acme = await t.key('acme', ['producer'])
    const globex = await t.key('globex', ['producer'])
    const stream = await openSse(`${t.url}/v1/events/stream`, auth(acme))
    expect(stream.status).toBe(200)
    await stream.waitForComment('connected')
    await t.request('POST', '/v1/queues/s1/jobs', { key: globex, body: { payload: 'theirs' } })
    const mine = await t.request('POST', '/v1/queues/s1/jobs', { key: acme, body: { payload: 'mine' } })
    const [event] = await stream.waitFor(1)
    expect(event).toMatchObject({
      event: 'job.created',
      data: { jobId: mine.body.id, tenant: 'acme', type: 'job.created' },
    })
    expect(event?.id).toBe((event?.data as { id: number } | undefined)?.id)
    await stream.waitForComment('ping', 3_000)
    expect(stream.frames.filter((f) => f.data).every((f) => (f.data as { tenant: string }).tenant === 'acme')).toBe(
      true,
    )
    stream.close()
  })

  it('filters by job and by queue, and resumes from Last-Event-ID without gaps or repeats', async () => {
    const t = await server()
    const first = await t.request('POST', '/v1/queues/s2/jobs', { body: { payload: 1 } })
    const history = await openSse(`${t.url}/v1/events/stream?jobId=${first.body.id}&lastEventId=0`, auth(t.adminKey))
    const [created] = await history.waitFor(1)
    expect(created?.data).toMatchObject({ type: 'job.created', jobId: first.body.id })
    history.close()

    const queue = await openSse(`${t.url}/v1/events/stream?queue=s2`, auth(t.adminKey))
    await queue.waitForComment('connected')
    await t.request('POST', '/v1/queues/other/jobs', { body: { payload: 0 } })
    for (let i = 0; i < 3; i++) await t.request('POST', '/v1/queues/s2/jobs', { body: { payload: i } })
    const seen = await queue.waitFor(3)
    queue.close()
    expect(seen.every((f) => (f.data as { queue: string }).queue === 's2')).toBe(true)
    const lastId = seen[0]?.id as number
    for (let i = 0; i < 2; i++) await t.request('POST', '/v1/queues/s2/jobs', { body: { payload: 10 + i } })
    const resumed = await openSse(`${t.url}/v1/events/stream?queue=s2`, {
      ...auth(t.adminKey),
      'last-event-id': String(lastId),
    })
    const rest = await resumed.waitFor(4)
    resumed.close()
    const ids = rest.map((f) => f.id as number)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(ids[0]).toBeGreaterThan(lastId)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.slice(0, 2)).toEqual(seen.slice(1, 3).map((f) => f.id))
  })

  it('refuses a stream of another tenant’s job and takes the key from access_token', async () => {
    const t = await server()
    const acme = await t.key('acme', ['reader'])
    const job = await t.request('POST', '/v1/queues/s3/jobs', { body: { payload: 1 } })
    const refused = await fetch(`${t.url}/v1/events/stream?jobId=${job.body.id}&access_token=${acme}`)
    expect(refused.status).toBe(404)
    const ok = await openSse(`${t.url}/v1/events/stream?access_token=${t.adminKey}`, {})
    expect(ok.status).toBe(200)
    ok.close()
    expect(t.logs.join('\n')).not.toContain(t.adminKey)
    expect(t.logs.join('\n')).not.toContain(acme)
  })

  for (const database of ['sqlite', 'postgres'] as const) {
    it(`resumes across a server restart on ${database}`, async () => {
      const pgSchema = database === 'postgres' ? await freshPgSchema() : null
      let t = await startServer({ database, ...(pgSchema && { store: pgSchema.address }) })
      const first = t
      const { codec, store } = t
      try {
        const key = await t.key('acme', ['producer'])
        const stream = await openSse(`${t.url}/v1/events/stream`, auth(key))
        await stream.waitForComment('connected')
        const before = await t.request('POST', '/v1/queues/r/jobs', { key, body: { payload: 'before' } })
        const [seen] = await stream.waitFor(1)
        expect((seen?.data as { jobId: string } | undefined)?.jobId).toBe(before.body.id)
        await t.stop()
        await stream.closed
        // While the server is down, other processes keep writing.
        const { Spool } = await import('../../src/engine/spool.js')
        const writer = await Spool.open({ store, ...(codec && { codec }), maintenance: false })
        const missed: string[] = []
        for (let i = 0; i < 3; i++) missed.push((await writer.enqueue('r', { i }, { tenant: 'acme' })).id)
        await writer.enqueue('r', { other: true }, { tenant: 'globex' })
        await writer.close()
        t = await startServer({ store, codec: codec ?? null })
        const again = await openSse(`${t.url}/v1/events/stream`, {
          ...auth(await t.key('acme', ['reader'])),
          'last-event-id': String(seen?.id),
        })
        const resumed = await again.waitFor(3)
        expect(resumed.map((f) => (f.data as { jobId: string }).jobId)).toEqual(missed)
        const after = await t.request('POST', '/v1/queues/r/jobs', {
          key: await t.key('acme', ['producer']),
          body: { payload: 'after' },
        })
        const live = await again.waitFor(4)
        expect((live[3]?.data as { jobId: string } | undefined)?.jobId).toBe(after.body.id)
        again.close()
      } finally {
        await t.close()
        await first.close()
        await pgSchema?.drop()
      }
    })
  }

  it('counts open streams, and each one left by its client is let go while the others keep streaming', async () => {
    const t = await server()
    const open = async () => {
      const text = (await t.request('GET', '/metrics')).text
      return Number(/^spool_streams_open\{kind="sse"\} (\d+)$/m.exec(text)?.[1] ?? 0)
    }
    const streams = await Promise.all(
      ['/v1/events/stream', '/v1/events/stream?queue=gone', '/v1/events/stream?queue=kept'].map((path) =>
        openSse(`${t.url}${path}`, auth(t.adminKey)),
      ),
    )
    for (const stream of streams) await stream.waitForComment('connected')
    expect(await open()).toBe(3)
    streams[0]?.close()
    streams[1]?.close()
    await eventually(async () => (await open()) === 1, 'two streams to be let go')
    // The one left still gets its events.
    const job = await t.request('POST', '/v1/queues/kept/jobs', { body: { payload: 1 } })
    const [event] = (await streams[2]?.waitFor(1)) ?? []
    expect((event?.data as { jobId: string } | undefined)?.jobId).toBe(job.body.id)
    streams[2]?.close()
    await eventually(async () => (await open()) === 0, 'the last stream to be let go')
  })
})

describe('WebSocket', () => {
  it('subscribes, delivers, unsubscribes, answers pings, and stays in its tenant', async () => {
    const t = await server({ config: { streams: { pingMs: 200 } } })
    const acme = await t.key('acme', ['producer'])
    const globex = await t.key('globex', ['producer'])
    expect(
      await new Promise((resolve) => {
        const anonymous = new WebSocket(`${t.url.replace('http', 'ws')}/v1/ws`)
        anonymous.on('unexpected-response', (_req, res) => resolve(res.statusCode))
        anonymous.on('open', () => resolve('open'))
      }),
    ).toBe(401)

    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/v1/ws`, { headers: auth(acme) })
    const messages: { type: string; [key: string]: unknown }[] = []
    let pings = 0
    ws.on('ping', () => {
      pings += 1
    })
    ws.on('message', (data) => messages.push(JSON.parse(String(data))))
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send(JSON.stringify({ type: 'subscribe', id: 'q', queue: 'w' }))
    await eventually(() => messages.some((m) => m.type === 'subscribed'), 'subscribed')
    await t.request('POST', '/v1/queues/w/jobs', { key: globex, body: { payload: 1 } })
    const mine = await t.request('POST', '/v1/queues/w/jobs', { key: acme, body: { payload: 2 } })
    const event = await eventually(() => messages.find((m) => m.type === 'event'), 'an event')
    expect(event).toMatchObject({ id: 'q', event: { jobId: mine.body.id, tenant: 'acme' } })

    ws.send(JSON.stringify({ type: 'ping' }))
    await eventually(() => messages.some((m) => m.type === 'pong'), 'pong')
    ws.send('not json')
    ws.send(JSON.stringify({ type: 'subscribe', id: 'bad', queue: '../x' }))
    await eventually(() => messages.filter((m) => m.type === 'error').length >= 2, 'two errors')
    const errors = () => messages.filter((m) => m.type === 'error')
    expect(errors().map((m) => m.code)).toEqual(['SPOOL_INVALID_JSON', 'SPOOL_INVALID_REQUEST'])
    // An error about a subscription names it, as docs/api.md shows, so a client with several
    // in flight knows which one failed; a message without an id gets an error without one.
    expect(errors()[0]).not.toHaveProperty('id')
    expect(errors()[1]).toMatchObject({ id: 'bad', field: 'queue' })
    ws.send(JSON.stringify({ type: 'subscribe', id: 'typo', queue: 'w', colour: 'red' }))
    ws.send(JSON.stringify({ type: 'unsubscribe', id: 'u', extra: 1 }))
    ws.send(JSON.stringify({ type: 'subscribe', id: 7, queue: 'w' }))
    await eventually(() => errors().length >= 5, 'three more errors')
    expect(errors()[2]).toMatchObject({ code: 'SPOOL_UNKNOWN_FIELD', id: 'typo', field: 'colour' })
    expect(errors()[3]).toMatchObject({ code: 'SPOOL_UNKNOWN_FIELD', id: 'u', field: 'extra' })
    expect(errors()[4]).toMatchObject({ code: 'SPOOL_INVALID_REQUEST', field: 'id' })
    expect(errors()[4]).not.toHaveProperty('id')
    ws.send(JSON.stringify({ type: 'unsubscribe', id: 'q' }))
    await eventually(() => messages.some((m) => m.type === 'unsubscribed'), 'unsubscribed')
    const count = messages.filter((m) => m.type === 'event').length
    await t.request('POST', '/v1/queues/w/jobs', { key: acme, body: { payload: 3 } })
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(messages.filter((m) => m.type === 'event').length).toBe(count)
    expect(
      messages.filter((m) => m.type === 'event').every((m) => (m.event as { tenant: string }).tenant === 'acme'),
    ).toBe(true)
    await eventually(() => pings > 0, 'a server ping')
    ws.close()
  })
})
