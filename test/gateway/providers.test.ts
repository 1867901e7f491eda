/**
 * The providers API (`GET /v1/ai/providers`) and the upstream-call span, against a real Spool
 * server (SQLite) and fake OpenAI upstreams on loopback, driven by the `openai` SDK.
 */
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import { type Gateway, gatewayFor } from '../../src/ai/gateway.js'
import { eventually, startServer, type TestServer } from '../server/helpers.js'

const SECRET = 'sk-upstream-secret-providers-51d0'
const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const contextManager = new AsyncLocalStorageContextManager()

describe('GET /v1/ai/providers', () => {
  let t: TestServer
  let gateway: Gateway
  let fast: FakeUpstream
  let slow: FakeUpstream
  let producer: string

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable())
    fast = await startFakeUpstream()
    slow = await startFakeUpstream({ latencyMs: 400 })
    t = await startServer({
      spool: { tracing: { tracerProvider } },
      config: {
        providers: {
          fast: {
            kind: 'openai',
            baseUrl: fast.url,
            apiKeyEnv: 'PROVIDERS_TEST_KEY',
            models: ['gpt-fast'],
            rpm: 600,
            tpm: 100_000,
            breaker: { failureThreshold: 50 },
            prices: { 'gpt-fast': { input: 1_000, output: 2_000 } },
          },
          slow: { kind: 'openai', baseUrl: slow.url, models: ['gpt-slow'], concurrency: 1 },
        },
      },
    })
    gateway = gatewayFor(t.spool, {
      providers: t.server.config.providers,
      gateway: t.server.config.gateway,
      env: { PROVIDERS_TEST_KEY: SECRET },
    })
    await gateway.start()
    producer = await t.key('acme', ['producer'])
  })

  afterAll(async () => {
    await gateway?.close({ graceMs: 100 })
    await t?.close()
    await fast?.close()
    await slow?.close()
    context.disable()
    await tracerProvider.shutdown()
  })

  const client = () => new OpenAI({ apiKey: producer, baseURL: `${t.url}/v1`, maxRetries: 0 })

  it('shows each provider’s limits, calls, 429s, 5xx, tokens, cost and latency, and no key', async () => {
    fast.script({ rateLimit: true, retryAfter: '0' }, { status: 503 })
    for (const content of ['one', 'two', 'three']) {
      const answer = await client().chat.completions.create({
        model: 'gpt-fast',
        messages: [{ role: 'user', content }],
      })
      expect(answer.choices[0]?.message.content).toBe(`echo: ${content}`)
    }
    const { status, body, text } = await t.request('GET', '/v1/ai/providers')
    expect(status).toBe(200)
    expect(text).not.toContain(SECRET)
    expect(text).not.toContain('PROVIDERS_TEST_KEY')
    expect(body.scope).toBe('process')
    const view = body.providers.find((p: { name: string }) => p.name === 'fast')
    expect(view).toMatchObject({
      kind: 'openai',
      host: new URL(fast.url).host,
      models: ['gpt-fast'],
      limits: { rpm: 600, tpm: 100_000, concurrency: null },
      breaker: { state: 'closed' },
      quota: { exhausted: false },
      priced: true,
      queue: { name: 'ai.fast', counts: { completed: 3 } },
      lastMinute: { requests: 5 },
      lastHour: { requests: 5, succeeded: 3, rateLimited: 1, serverErrors: 1 },
    })
    expect(view.lastHour.promptTokens).toBeGreaterThan(0)
    expect(view.lastHour.completionTokens).toBeGreaterThan(0)
    expect(view.lastMinute.tokens).toBe(view.lastHour.promptTokens + view.lastHour.completionTokens)
    const cost = (view.lastHour.promptTokens * 1_000 + view.lastHour.completionTokens * 2_000) / 1_000_000
    expect(view.lastHour.costUsd).toBeCloseTo(cost, 9)
    expect(view.upstreamLatencyMs.p95).toBeGreaterThanOrEqual(view.upstreamLatencyMs.p50)
    expect(view.queue.waitMs).not.toBeNull()
    expect(view.perMinute.reduce((sum: number, b: { requests: number }) => sum + b.requests, 0)).toBe(5)
  })

  it('counts the waiting requests by priority', async () => {
    const submit = (content: string, priority: string) =>
      t.request('POST', '/v1/chat/completions', {
        key: producer,
        headers: { prefer: 'respond-async', 'spool-priority': priority },
        body: { model: 'gpt-slow', messages: [{ role: 'user', content }] },
      })
    const ids: string[] = []
    for (const [content, priority] of [
      ['a', 'low'],
      ['b', 'low'],
      ['c', 'high'],
      ['d', 'low'],
    ] as const) {
      const answer = await submit(content, priority)
      expect(answer.status).toBe(202)
      ids.push(answer.body.id)
    }
    const { body } = await t.request('GET', '/v1/ai/providers')
    const view = body.providers.find((p: { name: string }) => p.name === 'slow')
    const waiting = view.queue.waitingByPriority as { priority: number; count: number }[]
    // One runs at a time (concurrency 1): three or four still wait, the low ones among them.
    expect(waiting.reduce((sum, row) => sum + row.count, 0)).toBe(view.queue.counts.waiting)
    expect(waiting.find((row) => row.priority === 30)?.count).toBeGreaterThanOrEqual(2)
    expect(view.queue.waitingByPriorityTruncated).toBe(false)
    for (const id of ids) {
      await eventually(async () => (await t.spool.jobs.get(id))?.state === 'completed', `request ${id}`, 10_000)
    }
  })

  it('is for operators only', async () => {
    const admin = await t.key('acme', ['admin'])
    expect((await t.request('GET', '/v1/ai/providers', { key: admin })).status).toBe(403)
    expect((await t.request('GET', '/v1/ai/providers', { key: producer })).status).toBe(403)
    expect((await t.request('GET', '/v1/ai/providers', { key: null })).status).toBe(401)
  })

  it('opens a CLIENT span per upstream call, a child of the job’s processing span', async () => {
    exporter.reset()
    fast.script({ status: 500 })
    await client().chat.completions.create({ model: 'gpt-fast', messages: [{ role: 'user', content: 'traced' }] })
    const calls = exporter.getFinishedSpans().filter((span) => span.name === 'chat gpt-fast')
    expect(calls.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.OK])
    for (const span of calls) {
      expect(span.kind).toBe(SpanKind.CLIENT)
      expect(span.attributes['spool.ai.provider']).toBe('fast')
      const parent = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId)
      expect(parent?.name).toBe('spool.process ai.fast')
    }
    expect(calls[0]?.attributes['http.response.status_code']).toBe(500)
    expect(calls[1]?.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0)
    expect(JSON.stringify(calls.map((span) => span.attributes))).not.toContain(SECRET)
  })
})
