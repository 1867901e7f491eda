/** A breaker's history over HTTP: its state changes, newest first, paged; bad input refused. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/client/index.js'
import { eventually, startServer, type TestServer } from './helpers.js'

describe('GET /v1/breakers/:name/history', () => {
  let t: TestServer
  beforeAll(async () => {
    t = await startServer()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('lists each change with the state it left, newest first, by page', async () => {
    await t.spool.breakers.define('speech', { failureThreshold: 2, cooldownMs: 60_000 })
    await t.spool.breakers.define('chat')
    // Opened by failures of a provider that keeps answering 503; then closed and opened by hand.
    await t.spool.queues.configure('speech-jobs', { breaker: 'speech' })
    const worker = t.spool.work(
      'speech-jobs',
      () => {
        throw Object.assign(new Error('overloaded'), { status: 503 })
      },
      { pollIntervalMs: 20 },
    )
    for (let i = 0; i < 2; i++) await t.spool.enqueue('speech-jobs', { i }, { maxAttempts: 1 })
    await eventually(async () => (await t.spool.breakers.get('speech'))?.state === 'open', 'the breaker to open')
    await worker.close()
    expect((await t.request('POST', '/v1/breakers/speech/close')).status).toBe(200)
    expect((await t.request('POST', '/v1/breakers/chat/open')).status).toBe(200)
    expect((await t.request('POST', '/v1/breakers/speech/open')).status).toBe(200)

    const all = await t.request('GET', '/v1/breakers/speech/history')
    expect(all.status, all.text).toBe(200)
    const changes = all.body.changes as { id: number; at: number; type: string; from: string; failures: number }[]
    expect(changes.map((c) => [c.type, c.from])).toEqual([
      ['breaker.opened', 'closed'],
      ['breaker.closed', 'open'],
      ['breaker.opened', 'closed'],
    ])
    expect(changes[2]?.failures).toBe(1) // the failures before the one that opened it
    expect(changes[0]?.at).toBeGreaterThanOrEqual(changes[2]?.at as number)

    const page = await t.request('GET', '/v1/breakers/speech/history?limit=2')
    expect(page.body.changes.map((c: { id: number }) => c.id)).toEqual(changes.slice(0, 2).map((c) => c.id))
    const rest = await t.request('GET', `/v1/breakers/speech/history?limit=2&beforeId=${changes[1]?.id}`)
    expect(rest.body.changes.map((c: { id: number }) => c.id)).toEqual([changes[2]?.id])

    const client = createClient({ baseUrl: t.url, apiKey: t.adminKey })
    expect((await client.breakers.history('chat')).map((c) => c.type)).toEqual(['breaker.opened'])
  })

  it('refuses what it cannot answer, with a problem and a stable code', async () => {
    const missing = await t.request('GET', '/v1/breakers/nobody/history')
    expect(missing.status).toBe(404)
    expect(missing.body.code).toBe('SPOOL_BREAKER_NOT_FOUND')
    expect(missing.headers.get('content-type')).toContain('application/problem+json')
    for (const query of ['limit=0', 'limit=1001', 'beforeId=x', 'what=1']) {
      const bad = await t.request('GET', `/v1/breakers/speech/history?${query}`)
      expect(bad.status, query).toBe(400)
      expect(bad.headers.get('content-type')).toContain('application/problem+json')
    }
  })
})
