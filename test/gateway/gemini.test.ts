/**
 * Gemini's native API through the gateway, end to end: the official `@google/genai` SDK (its
 * `httpOptions.baseUrl` at Spool, a Spool API key as its `apiKey`) talks to a real Spool server
 * (SQLite, encrypted at rest), which calls fake Gemini upstreams on loopback that misbehave like
 * Gemini does (src/ai/fake-gemini.ts: RetryInfo per-minute and per-day quotas, overloaded 503s,
 * no rate-limit headers) and count every call per request.
 */
import { ApiError, GoogleGenAI } from '@google/genai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeGemini, startFakeGemini } from '../../src/ai/fake-gemini.js'
import type { Gateway } from '../../src/ai/gateway.js'
import { nextPacificMidnight } from '../../src/ai/gemini.js'
import { eventually, type TestServer } from '../server/helpers.js'
import { startGatewayServer } from './helpers.js'

const SECRET = 'gemini-upstream-secret-5b8e21d0'

describe('AI gateway: Gemini native', () => {
  let t: TestServer
  let gateway: Gateway
  const fakes: Record<string, FakeGemini> = {}
  let tenantA: string

  beforeAll(async () => {
    fakes.main = await startFakeGemini({ tokenGapMs: 2 })
    fakes.minute = await startFakeGemini({ rpm: 2, windowMs: 700 })
    fakes.daily = await startFakeGemini({ rpd: 1, perDayRetryDelay: '0.2s' })
    fakes.overload = await startFakeGemini()
    fakes.tight = await startFakeGemini()
    const provider = (name: string, models: string[], extra: Record<string, unknown> = {}) => ({
      kind: 'gemini' as const,
      baseUrl: (fakes[name] as FakeGemini).url,
      apiKeyEnv: 'FAKE_GEMINI_KEY',
      models,
      breaker: { failureThreshold: 5, cooldownMs: 600 },
      ...extra,
    })
    ;({ t, gateway } = await startGatewayServer(
      {
        config: {
          providers: {
            main: provider('main', ['gemini-test']),
            minute: provider('minute', ['gemini-minute']),
            daily: provider('daily', ['gemini-daily']),
            tight: provider('tight', ['gemini-tight'], { tpm: 1_000, defaultMaxTokens: 900 }),
            overload: provider('overload', ['gemini-overload'], {
              maxAttempts: 10,
              breaker: { failureThreshold: 2, cooldownMs: 300, successThreshold: 1 },
            }),
          },
          gateway: { streamHoldMs: 100, queuedNoticeMs: 100, maxWaitSeconds: 30 },
        },
      },
      { FAKE_GEMINI_KEY: SECRET },
    ))
    tenantA = await t.key('tenant-a', ['producer'])
  })

  afterAll(async () => {
    await gateway?.close({ graceMs: 100 })
    await t?.close()
    for (const fake of Object.values(fakes)) await fake.close()
  })

  const genai = (key = tenantA) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: t.url } })

  it('answers generateContent through the SDK, with the job id, one upstream call and the provider’s key', async () => {
    const response = await genai().models.generateContent({ model: 'gemini-test', contents: 'sync hello' })
    expect(response.text).toBe('echo: sync hello')
    expect(response.usageMetadata?.totalTokenCount).toBeGreaterThan(0)
    const jobId = response.sdkHttpResponse?.headers?.['spool-job-id']
    expect(jobId).toMatch(/^\d+$/)
    expect(fakes.main?.callsFor('sync hello')).toBe(1)
    // Gemini got the provider's key in x-goog-api-key; the client's Spool key never left Spool.
    expect(fakes.main?.calls.at(-1)?.apiKey).toBe(SECRET)
    const job = await t.request('GET', `/v1/jobs/${jobId}`, { key: tenantA })
    expect(job.body).toMatchObject({ queue: 'ai.main', tenant: 'tenant-a', state: 'completed' })
    expect(t.logs.join('\n')).not.toContain(SECRET)
  })

  it('streams streamGenerateContent (SSE) through the SDK, chunk by chunk, with one upstream call', async () => {
    const stream = await genai().models.generateContentStream({
      model: 'gemini-test',
      contents: 'stream me a few words please',
    })
    const parts: string[] = []
    for await (const chunk of stream) parts.push(chunk.text ?? '')
    expect(parts.length).toBeGreaterThan(3)
    expect(parts.join('')).toBe('echo: stream me a few words please')
    expect(fakes.main?.callsFor('stream me a few words please')).toBe(1)
  })

  it('streams a request that waited in its queue: the SDK skips the queued notices and reads every chunk', async () => {
    await t.spool.queues.pause('ai.main')
    const stream = genai().models.generateContentStream({ model: 'gemini-test', contents: 'queued stream words' })
    // Held for 0.4 s: the headers go out after streamHoldMs (0.1 s), then a notice every 0.1 s.
    await new Promise((resolve) => setTimeout(resolve, 400))
    await t.spool.queues.resume('ai.main')
    const parts: string[] = []
    for await (const chunk of await stream) parts.push(chunk.text ?? '')
    expect(parts.join('')).toBe('echo: queued stream words')
    expect(fakes.main?.callsFor('queued stream words')).toBe(1)
  })

  it('retries a stream cut before its first chunk unseen; one cut after it ends in an in-band Gemini error', async () => {
    const fake = fakes.main as FakeGemini
    fake.script({ streamCutAfter: 0 })
    const parts: string[] = []
    for await (const chunk of await genai().models.generateContentStream({
      model: 'gemini-test',
      contents: 'cut early then fine',
    })) {
      parts.push(chunk.text ?? '')
    }
    expect(parts.join('')).toBe('echo: cut early then fine')
    expect(fake.callsFor('cut early then fine')).toBe(2)
    fake.script({ streamCutAfter: 2 })
    const seen: string[] = []
    const broken = await (async () => {
      for await (const chunk of await genai().models.generateContentStream({
        model: 'gemini-test',
        contents: 'cut in the middle of it',
      })) {
        seen.push(chunk.text ?? '')
      }
    })().catch((e: unknown) => e)
    expect(seen.join('')).toBe('echo: cut ')
    expect(broken).toBeInstanceOf(Error)
    expect(String((broken as Error).message)).toContain('the stream broke after 2 events')
    expect(fake.callsFor('cut in the middle of it')).toBe(1)
  })

  it('answers Prefer: respond-async with 202 and the job, whose result holds Gemini’s answer', async () => {
    const accepted = await t.request('POST', '/v1beta/models/gemini-test:generateContent', {
      key: tenantA,
      headers: { prefer: 'respond-async' },
      body: { contents: [{ role: 'user', parts: [{ text: 'async hello' }] }] },
    })
    expect(accepted.status).toBe(202)
    expect(accepted.body).toMatchObject({ object: 'spool.job', id: expect.stringMatching(/^\d+$/) })
    const job = await eventually(async () => {
      const read = await t.request('GET', `/v1/jobs/${accepted.body.id}`, { key: tenantA })
      return read.body.state === 'completed' && read.body
    }, 'the async request to complete')
    expect(job.result.body.candidates[0].content.parts[0].text).toBe('echo: async hello')
  })

  it('refuses in Gemini’s error shape: unknown model, unknown key, bad body, an OpenAI route for a Gemini model', async () => {
    const unknown = await genai()
      .models.generateContent({ model: 'nope', contents: 'x' })
      .catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(ApiError)
    expect(unknown).toMatchObject({ status: 404 })
    const badKey = await genai('spool_not_a_key')
      .models.generateContent({ model: 'gemini-test', contents: 'x' })
      .catch((e: unknown) => e)
    expect(badKey).toMatchObject({ status: 401 })
    const raw = await t.request('POST', '/v1beta/models/gemini-test:generateContent', {
      key: tenantA,
      body: { contents: [] },
    })
    expect(raw.status).toBe(400)
    expect(raw.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', field: 'contents' })
    const noKey = await t.request('POST', '/v1beta/models/gemini-test:generateContent', {
      key: null,
      body: { contents: [{ parts: [{ text: 'x' }] }] },
    })
    expect(noKey.body.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' })
    const viaOpenAi = await t.request('POST', '/v1/chat/completions', {
      key: tenantA,
      body: { model: 'gemini-test', messages: [{ role: 'user', content: 'x' }] },
    })
    expect(viaOpenAi.status).toBe(404)
    expect(viaOpenAi.body.error).toMatchObject({ code: 'model_not_found' })
  })

  it('passes Gemini’s other 4xx through with its status and body, at once and once', async () => {
    fakes.main?.script({
      status: 400,
      body: { error: { code: 400, message: 'API key not valid for this model', status: 'INVALID_ARGUMENT' } },
    })
    const error = await genai()
      .models.generateContent({ model: 'gemini-test', contents: 'bad request' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 400 })
    expect((error as Error).message).toContain('API key not valid for this model')
    expect(fakes.main?.callsFor('bad request')).toBe(1)
  })

  it('waits out a per-minute RESOURCE_EXHAUSTED by its RetryInfo delay, spending no attempt: every request answered once', async () => {
    const texts = Array.from({ length: 6 }, (_, i) => `minute ${i}`)
    const answers = await Promise.all(
      texts.map((text) =>
        genai()
          .models.generateContent({ model: 'gemini-minute', contents: text })
          .then((r) => ({ text: r.text, job: r.sdkHttpResponse?.headers?.['spool-job-id'] })),
      ),
    )
    expect(answers.map((a) => a.text)).toEqual(texts.map((text) => `echo: ${text}`))
    const fake = fakes.minute as FakeGemini
    // The quota refused some calls (2 a window for 6 requests) and none was answered twice.
    expect(fake.calls.filter((c) => c.status === 429).length).toBeGreaterThan(0)
    for (const text of texts) expect(fake.calls.filter((c) => c.key === text && c.status === 200)).toHaveLength(1)
    for (const { job } of answers) {
      const read = await t.request('GET', `/v1/jobs/${job}`, { key: tenantA })
      expect(read.body.attempt).toBe(1)
    }
  })

  it('holds a provider whose daily quota ran out until the reset: its breaker opens, no call loops on it', async () => {
    const fake = fakes.daily as FakeGemini
    const first = await genai().models.generateContent({ model: 'gemini-daily', contents: 'daily 1' })
    expect(first.text).toBe('echo: daily 1')
    const send = (text: string) =>
      t.request('POST', '/v1beta/models/gemini-daily:generateContent', {
        key: tenantA,
        headers: { prefer: 'respond-async' },
        body: { contents: [{ parts: [{ text }] }] },
      })
    const second = await send('daily 2')
    expect(second.status).toBe(202)
    await eventually(() => fake.callsFor('daily 2') === 1, 'the call that meets the daily quota')
    const breaker = await eventually(async () => {
      const b = await t.spool.breakers.get('ai.daily')
      return b?.state === 'open' && b
    }, 'the breaker to open')
    expect(breaker.state).toBe('open')
    const third = await send('daily 3')
    expect(third.status).toBe(202)
    // The quota's RetryInfo says 0.2 s and the breaker's cool-down is 0.6 s; obeying either would loop.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(fake.callsFor('daily 2')).toBe(1)
    expect(fake.callsFor('daily 3')).toBe(0)
    const limits = await t.spool.limits.get('ai.daily')
    expect(limits.pausedUntil).toBeGreaterThanOrEqual(nextPacificMidnight() - 5_000)
    const job = await t.request('GET', `/v1/jobs/${second.body.id}`, { key: tenantA })
    expect(job.body).toMatchObject({ state: 'scheduled', attempt: 0 })
  })

  it('settles the TPM reservation from usageMetadata, streamed or not, so the next request need not wait', async () => {
    // Each request reserves ~910 tokens of 1 000 a minute; unsettled, the third would wait ~50 s.
    const ai = genai()
    const one = await ai.models.generateContent({ model: 'gemini-tight', contents: 'tpm one' })
    expect(one.text).toBe('echo: tpm one')
    let streamed = ''
    for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-tight', contents: 'tpm two' })) {
      streamed += chunk.text ?? ''
    }
    expect(streamed).toBe('echo: tpm two')
    const three = await ai.models.generateContent({
      model: 'gemini-tight',
      contents: 'tpm three',
      config: { httpOptions: { headers: { prefer: 'wait=5' } } },
    })
    expect(three.text).toBe('echo: tpm three')
    const four = await ai.models.generateContent({
      model: 'gemini-tight',
      contents: 'tpm four',
      config: { httpOptions: { headers: { prefer: 'wait=5' } } },
    })
    expect(four.text).toBe('echo: tpm four')
  })

  it('backs off through a window of overloaded 503s, counting them toward the breaker, and answers once', async () => {
    const fake = fakes.overload as FakeGemini
    fake.overload(1_200)
    const response = await genai().models.generateContent({ model: 'gemini-overload', contents: 'overloaded' })
    expect(response.text).toBe('echo: overloaded')
    const mine = fake.calls.filter((c) => c.key === 'overloaded')
    expect(mine.filter((c) => c.status === 503).length).toBeGreaterThanOrEqual(1)
    expect(mine.filter((c) => c.status === 200)).toHaveLength(1)
    const history = await t.spool.breakers.history('ai.overload')
    expect(JSON.stringify(history)).toContain('open')
  })
})
