/**
 * A request answered by a node that does not run the provider's worker: the API node enqueues
 * and waits, a second Spool on the same store (another node) makes the upstream call. Sync
 * answers and streams (replayed from the job's saved events) both arrive.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import { type Gateway, gatewayFor } from '../../src/ai/gateway.js'
import { Spool } from '../../src/engine/spool.js'
import { runCli, until } from '../helpers/cli.js'
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

describe('spool worker serving the configured providers', () => {
  it('makes the upstream calls of requests another process answers, with the key from its environment', async () => {
    const secret = 'sk-worker-node-secret-91b2'
    const fake = await startFakeUpstream()
    const providers = {
      main: { kind: 'openai' as const, baseUrl: fake.url, apiKeyEnv: 'SPOOL_TEST_GW_KEY', models: ['gpt-test'] },
    }
    const t = await startServer({ codec: null, config: { providers } })
    const file = join(t.dir, 'spool.json')
    writeFileSync(file, JSON.stringify({ providers }))
    const worker = runCli(['worker', '--config', file, '--store', t.store, '--no-encryption', '--log-level', 'warn'], {
      SPOOL_TEST_GW_KEY: secret,
    })
    try {
      await until(() => worker.out().includes('ai gateway: main'), 'the worker to serve the provider')
      const key = await t.key('acme', ['producer'])
      const client = new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 })
      const answer = await client.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'via worker' }],
      })
      expect(answer.choices[0]?.message.content).toBe('echo: via worker')
      expect(fake.calls.at(-1)?.authorization).toBe(`Bearer ${secret}`)
    } finally {
      worker.child.kill('SIGTERM')
      expect(await worker.exited).toBe(0)
      await t.close()
      await fake.close()
    }
    expect(worker.out() + worker.err()).not.toContain(secret)
  })
})
