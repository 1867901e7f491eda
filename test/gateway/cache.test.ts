/**
 * The gateway's response cache through the `openai` SDK: `Spool-Cache: ttl=…` answers an
 * identical request of the same tenant from the cache, identical requests in flight share one
 * upstream call, and the fake upstream counts every call per request.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import type { Gateway } from '../../src/ai/gateway.js'
import type { TestServer } from '../server/helpers.js'
import { startGatewayServer } from './helpers.js'

describe('AI gateway: response cache', () => {
  let t: TestServer
  let gateway: Gateway
  let fake: FakeUpstream
  let tenantA: string
  let tenantB: string

  beforeAll(async () => {
    fake = await startFakeUpstream()
    ;({ t, gateway } = await startGatewayServer({
      config: {
        providers: {
          main: { kind: 'openai', baseUrl: fake.url, models: ['gpt-cache', 'text-embedding-cache'] },
        },
      },
    }))
    tenantA = await t.key('tenant-a', ['producer'])
    tenantB = await t.key('tenant-b', ['producer'])
  })

  afterAll(async () => {
    await gateway?.close({ graceMs: 100 })
    await t?.close()
    await fake?.close()
  })

  const client = (key = tenantA) => new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 })
  const ask = (content: string, key = tenantA, cache: string | null = 'ttl=60') =>
    client(key)
      .chat.completions.create(
        { model: 'gpt-cache', messages: [{ role: 'user', content }] },
        { headers: cache === null ? {} : { 'Spool-Cache': cache } },
      )
      .withResponse()

  it('coalesces identical requests in flight onto one upstream call, then answers from the cache', async () => {
    fake.script({ delayMs: 300 })
    const [a, b] = await Promise.all([ask('cache me'), ask('cache me')])
    expect(a.data.choices[0]?.message.content).toBe('echo: cache me')
    expect(b.data).toEqual(a.data)
    expect(b.response.headers.get('spool-job-id')).toBe(a.response.headers.get('spool-job-id'))
    expect([a.response.headers.get('spool-cache'), b.response.headers.get('spool-cache')].sort()).toEqual([
      'coalesced',
      'miss',
    ])
    expect(fake.callsFor('cache me')).toBe(1)
    const hit = await ask('cache me')
    expect(hit.response.headers.get('spool-cache')).toBe('hit')
    expect(hit.data).toEqual(a.data)
    expect(fake.callsFor('cache me')).toBe(1)
    // Encrypted at rest: the answer is nowhere in the database file in clear.
    const db = readdirSync(t.dir)
      .filter((name) => name.startsWith('spool.db'))
      .map((name) => readFileSync(join(t.dir, name)).toString('latin1'))
      .join('')
    expect(db).not.toContain('echo: cache me')
  })

  it('keeps each tenant’s cache its own, and calls upstream without the header or for another body', async () => {
    await ask('tenant cached')
    expect(fake.callsFor('tenant cached')).toBe(1)
    const other = await ask('tenant cached', tenantB)
    expect(other.response.headers.get('spool-cache')).toBe('miss')
    expect(fake.callsFor('tenant cached')).toBe(2)
    const uncached = await ask('tenant cached', tenantA, null)
    expect(uncached.response.headers.get('spool-cache')).toBeNull()
    expect(fake.callsFor('tenant cached')).toBe(3)
    const embeddings = async () =>
      client()
        .embeddings.create(
          { model: 'text-embedding-cache', input: ['cached vector'] },
          { headers: { 'Spool-Cache': 'ttl=60' } },
        )
        .withResponse()
    await embeddings()
    expect((await embeddings()).response.headers.get('spool-cache')).toBe('hit')
    expect(fake.callsFor(JSON.stringify(['cached vector']))).toBe(1)
  })

  it('does not keep a failure, and refuses a malformed Spool-Cache', async () => {
    fake.script({ status: 400, body: { error: { message: 'nope', type: 'invalid_request_error', code: 'bad' } } })
    await expect(ask('fails once')).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    const again = await ask('fails once')
    expect(again.data.choices[0]?.message.content).toBe('echo: fails once')
    expect(fake.callsFor('fails once')).toBe(2)
    const bad = await ask('x', tenantA, 'forever').catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError)
    expect(bad).toMatchObject({ code: 'spool_invalid_cache', param: 'spool-cache' })
  })
})
