/**
 * A request answered by a node that does not run the provider's worker: the API node enqueues
 * and waits, a second Spool on the same store (another node) makes the upstream call. Sync
 * answers and streams (replayed from the job's saved events) both arrive.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import { type Gateway, gatewayFor } from '../../src/ai/gateway.js'
import { Spool } from '../../src/engine/spool.js'
import { startServer, type TestServer } from '../server/helpers.js'

describe('AI gateway across two nodes', () => {
  let t: TestServer
  let fake: FakeUpstream
  let worker: Spool
  let gateway: Gateway
  let key: string

  beforeAll(async () => {
    fake = await startFakeUpstream()
    t = await startServer({
      config: {
        providers: { main: { kind: 'openai', baseUrl: fake.url, models: ['gpt-test'] } },
        gateway: { streamHoldMs: 50 },
      },
    })
    worker = await Spool.open({
      store: t.store,
      eventPollMs: 100,
      maintenance: false,
      ...(t.codec && { codec: t.codec }),
      logger: { info() {}, warn() {}, error() {}, debug() {} } as never,
    })
    gateway = gatewayFor(worker, { providers: t.server.config.providers, gateway: t.server.config.gateway })
    await gateway.start()
    key = await t.key('acme', ['producer'])
  })

  afterAll(async () => {
    await gateway?.close({ graceMs: 100 })
    await worker?.close()
    await t?.close()
    await fake?.close()
  })

  it('answers sync and streamed requests whose upstream call another node made', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 })
    const sync = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'far away' }],
    })
    expect(sync.choices[0]?.message.content).toBe('echo: far away')
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      stream: true,
      messages: [{ role: 'user', content: 'streamed from afar' }],
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('echo: streamed from afar')
    expect(fake.callsFor('far away')).toBe(1)
    expect(fake.callsFor('streamed from afar')).toBe(1)
  })
})
