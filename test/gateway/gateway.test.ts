/**
 * The AI gateway end to end: the official `openai` SDK talks to a real Spool server (SQLite,
 * encrypted at rest), which calls fake upstreams on loopback that misbehave like OpenAI does
 * (src/ai/fake-upstream.ts) and count every call they get per request, so a duplicate upstream
 * call fails the test.
 */
import OpenAI, { type APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import type { Gateway } from '../../src/ai/gateway.js'
import { eventually, type TestServer } from '../server/helpers.js'
import { startGatewayServer } from './helpers.js'

const SECRET = 'sk-upstream-secret-7f3a9c1e'

describe('AI gateway', () => {
  let t: TestServer
  let gateway: Gateway
  const fakes: Record<string, FakeUpstream> = {}
  let tenantA: string
  let tenantB: string

  beforeAll(async () => {
    fakes.main = await startFakeUpstream({ tokenGapMs: 2 })
    fakes.slow = await startFakeUpstream()
    fakes.storm = await startFakeUpstream({ rateLimitRate: 0.3, retryAfterSeconds: [0.1, 0.4], overloadRate: 0.05 })
    fakes.quota = await startFakeUpstream()
    fakes.tight = await startFakeUpstream()
    fakes.backup = await startFakeUpstream()
    fakes.flaky = await startFakeUpstream()
    const provider = (name: string, models: string[], extra: Record<string, unknown> = {}) => ({
      kind: 'openai' as const,
      baseUrl: (fakes[name] as FakeUpstream).url,
      apiKeyEnv: 'FAKE_UPSTREAM_KEY',
      models,
      breaker: { failureThreshold: 5, cooldownMs: 600 },
      ...extra,
    })
    ;({ t, gateway } = await startGatewayServer(
      {
        config: {
          providers: {
            main: provider('main', ['gpt-test', 'text-embedding-test']),
            slow: provider('slow', ['gpt-slow'], { concurrency: 1 }),
            storm: provider('storm', ['gpt-storm'], { maxAttempts: 8 }),
            quota: provider('quota', ['gpt-quota', 'gpt-shared'], { fallbacks: ['backup'] }),
            tight: provider('tight', ['gpt-tight'], { tpm: 600 }),
            backup: provider('backup', ['gpt-shared']),
            flaky: provider('flaky', ['gpt-flaky'], {
              maxAttempts: 8,
              timeoutMs: 400,
              breaker: { failureThreshold: 3, cooldownMs: 300, successThreshold: 1 },
            }),
          },
          gateway: { streamHoldMs: 100, queuedNoticeMs: 100, maxWaitSeconds: 30 },
        },
      },
      { FAKE_UPSTREAM_KEY: SECRET },
    ))
    tenantA = await t.key('tenant-a', ['producer'])
    tenantB = await t.key('tenant-b', ['producer'])
  })

  afterAll(async () => {
    await gateway?.close({ graceMs: 100 })
    await t?.close()
    for (const fake of Object.values(fakes)) await fake.close()
  })

  const client = (key = tenantA, options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
    new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0, ...options })

  it('answers a chat completion synchronously through the SDK, with its job id and queue wait', async () => {
    const { data, response } = await client()
      .chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'sync hello' }] })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe('echo: sync hello')
    expect(response.headers.get('spool-job-id')).toMatch(/^\d+$/)
    expect(Number(response.headers.get('spool-queue-wait-ms'))).toBeGreaterThanOrEqual(0)
    expect(fakes.main?.callsFor('sync hello')).toBe(1)
    // The upstream got the provider's key; the client's Spool key never left Spool.
    expect(fakes.main?.calls.at(-1)?.authorization).toBe(`Bearer ${SECRET}`)
    const job = await t.request('GET', `/v1/jobs/${response.headers.get('spool-job-id')}`, { key: tenantA })
    expect(job.body).toMatchObject({ queue: 'ai.main', tenant: 'tenant-a', state: 'completed' })
  })

  it('serves embeddings and lists the models, and refuses unknown models and keys in OpenAI’s shape', async () => {
    const embeddings = await client().embeddings.create({ model: 'text-embedding-test', input: ['a', 'b'] })
    expect(embeddings.data).toHaveLength(2)
    const models = await client().models.list()
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-test', 'gpt-slow', 'gpt-shared']))
    const unknown = await client()
      .chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError)
    expect(unknown).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' })
    const badKey = await client('spool_not_a_key')
      .chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)
    expect(badKey).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((badKey as APIError).error).toMatchObject({ type: 'authentication_error' })
    const invalid = await client()
      .chat.completions.create({ model: 'gpt-test', messages: [] })
      .catch((e: unknown) => e)
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError)
    expect(invalid).toMatchObject({ param: 'messages' })
    // Every refusal of Spool's own is problem+json with OpenAI's `error` beside the problem: the
    // problem keeps Spool's code, `error.code` is OpenAI's (lower-case snake, or OpenAI's own).
    for (const [body, problem, error] of [
      [{ model: 'nope', messages: [{ role: 'user', content: 'x' }] }, 'AI_MODEL_NOT_FOUND', 'model_not_found'],
      [{ model: 'gpt-test', messages: [] }, 'SPOOL_INVALID_REQUEST', 'spool_invalid_request'],
    ] as const) {
      const raw = await t.request('POST', '/v1/chat/completions', { key: tenantA, body })
      expect(raw.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(raw.body).toMatchObject({ code: problem, error: { code: error } })
    }
    const badPriority = await t.request('POST', '/v1/chat/completions', {
      key: tenantA,
      body: { model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] },
      headers: { 'spool-priority': 'soon' },
    })
    expect(badPriority.status).toBe(400)
    expect(badPriority.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(badPriority.body).toMatchObject({
      code: 'SPOOL_INVALID_PRIORITY',
      field: 'spool-priority',
      error: { type: 'invalid_request_error', code: 'spool_invalid_priority', param: 'spool-priority' },
    })
  })

  it('passes another 4xx through with the provider’s status and body, at once and once', async () => {
    fakes.main?.script({
      status: 400,
      body: {
        error: {
          message: 'temperature is out of range',
          type: 'invalid_request_error',
          code: 'invalid_value',
          param: 'temperature',
        },
      },
    })
    const error = await client()
      .chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'bad temp' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({ code: 'invalid_value', param: 'temperature' })
    expect((error as Error).message).toContain('temperature is out of range')
    expect(fakes.main?.callsFor('bad temp')).toBe(1)
  })

  it('answers Prefer: respond-async with 202 and the job, whose result /v1/jobs/:id holds', async () => {
    const { data, response } = await client()
      .chat.completions.create(
        { model: 'gpt-test', messages: [{ role: 'user', content: 'async hello' }] },
        { headers: { Prefer: 'respond-async' } },
      )
      .withResponse()
    expect(response.status).toBe(202)
    const accepted = data as unknown as { id: string; object: string; position: number | null }
    expect(accepted).toMatchObject({ object: 'spool.job', id: response.headers.get('spool-job-id') })
    const job = await eventually(async () => {
      const answer = await t.request('GET', `/v1/jobs/${accepted.id}`, { key: tenantA })
      return answer.body.state === 'completed' && answer.body
    }, 'the async job')
    expect(job.result.body.choices[0].message.content).toBe('echo: async hello')
    // Another tenant cannot see it.
    expect((await t.request('GET', `/v1/jobs/${accepted.id}`, { key: tenantB })).status).toBe(404)
  })

  it('answers 504 with the job id and x-should-retry: false when the wait runs out, and the SDK does not resend', async () => {
    fakes.main?.script({ delayMs: 2_500 })
    const error = await client(tenantA, { maxRetries: 2 })
      .chat.completions.create(
        { model: 'gpt-test', messages: [{ role: 'user', content: 'slow one' }] },
        { headers: { Prefer: 'wait=1' } },
      )
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    expect(error).toMatchObject({ status: 504, code: 'spool_wait_timeout' })
    const headers = (error as APIError).headers
    expect(headers?.get('x-should-retry')).toBe('false')
    const id = headers?.get('spool-job-id')
    const done = await eventually(async () => {
      const answer = await t.request('GET', `/v1/jobs/${id}`, { key: tenantA })
      return answer.body.state === 'completed' && answer.body
    }, 'the job to finish after the 504')
    expect(done.result.body.choices[0].message.content).toBe('echo: slow one')
    // One client request (no SDK retry), one upstream call.
    expect(fakes.main?.callsFor('slow one')).toBe(1)
    expect(
      (await t.spool.jobs.list({ tenant: 'tenant-a', tag: 'model:gpt-test' })).jobs.filter((j) =>
        JSON.stringify(j.payload).includes('slow one'),
      ),
    ).toHaveLength(1)
  })

  it('re-attaches a retry with the same Idempotency-Key to its job: one upstream call, per tenant', async () => {
    fakes.main?.script({ delayMs: 300 })
    const body = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'idempotent' }] }
    const options = { headers: { 'Idempotency-Key': 'order-42' } }
    const [first, second] = await Promise.all([
      client().chat.completions.create(body, options).withResponse(),
      client().chat.completions.create(body, options).withResponse(),
    ])
    const later = await client().chat.completions.create(body, options).withResponse()
    const id = first.response.headers.get('spool-job-id')
    expect(second.response.headers.get('spool-job-id')).toBe(id)
    expect(later.response.headers.get('spool-job-id')).toBe(id)
    expect(later.data.choices[0]?.message.content).toBe('echo: idempotent')
    expect(fakes.main?.callsFor('idempotent')).toBe(1)
    // The same key from another tenant is another request.
    const other = await client(tenantB).chat.completions.create(body, options).withResponse()
    expect(other.response.headers.get('spool-job-id')).not.toBe(id)
    expect(fakes.main?.callsFor('idempotent')).toBe(2)
  })

  it('takes the priority from Spool-Priority or the body', async () => {
    const viaHeader = await client()
      .chat.completions.create(
        { model: 'gpt-test', messages: [{ role: 'user', content: 'urgent one' }] },
        { headers: { 'Spool-Priority': 'urgent' } },
      )
      .withResponse()
    const viaBody = await client()
      .chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'low one' }],
        priority: 'low',
      } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse()
    const get = (r: { response: Response }) => t.spool.jobs.get(r.response.headers.get('spool-job-id') as string)
    expect((await get(viaHeader))?.priority).toBe(0)
    expect((await get(viaBody))?.priority).toBe(30)
    // Spool's own field does not go upstream.
    expect(JSON.stringify((await get(viaBody))?.payload)).not.toContain('"priority"')
  })

  it('streams the upstream’s events and ends with [DONE]', async () => {
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'stream one two three' }],
      stream: true,
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('echo: stream one two three')
    expect(fakes.main?.callsFor('stream one two three')).toBe(1)
  })

  it('lets a client that lost a stream re-attach at /v1/jobs/:id/stream, resuming after Last-Event-ID', async () => {
    const sse = async (path: string, init: RequestInit) => {
      const response = await fetch(`${t.url}${path}`, init)
      const text = await response.text()
      const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
      const content = [...text.matchAll(/^data: (\{.*\})$/gm)]
        .map((m) => JSON.parse(m[1] as string).choices?.[0]?.delta?.content ?? '')
        .join('')
      return { response, text, ids, content }
    }
    const auth = { authorization: `Bearer ${tenantA}` }
    const first = await sse('/v1/chat/completions', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-test',
        stream: true,
        messages: [{ role: 'user', content: 'again one two three' }],
      }),
    })
    expect(first.content).toBe('echo: again one two three')
    const id = first.response.headers.get('spool-job-id')
    const all = first.ids.length
    expect(first.ids).toEqual(Array.from({ length: all }, (_, i) => i + 1))
    // From the live buffer, after event 2.
    const resumed = await sse(`/v1/jobs/${id}/stream`, { headers: { ...auth, 'last-event-id': '2' } })
    expect(resumed.ids).toEqual(first.ids.slice(2))
    expect(resumed.text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    // From the job's saved answer, once this node has let the live buffer go.
    gateway.streams.close()
    const saved = await sse(`/v1/jobs/${id}/stream`, { headers: auth })
    expect(saved.content).toBe('echo: again one two three')
    expect(saved.ids).toEqual(first.ids)
    expect(fakes.main?.callsFor('again one two three')).toBe(1)
    // Not another tenant's, and not a request that was not streamed.
    expect(
      (await fetch(`${t.url}/v1/jobs/${id}/stream`, { headers: { authorization: `Bearer ${tenantB}` } })).status,
    ).toBe(404)
  })

  it('retries a stream that broke before its first event without the client noticing', async () => {
    fakes.main?.script({ streamCutAfter: 0 })
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'cut early' }],
      stream: true,
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('echo: cut early')
    expect(fakes.main?.callsFor('cut early')).toBe(2)
  })

  it('ends a stream that broke after its first event with an in-band error and no [DONE]', async () => {
    fakes.main?.script({ streamCutAfter: 2 })
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'cut late a b c d' }],
      stream: true,
    })
    let text = ''
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    })().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as Error).message).toMatch(/stream broke/)
    expect(text).toBe('echo: cut ')
    expect(fakes.main?.callsFor('cut late a b c d')).toBe(1)
  })

  it('sends a stream’s headers after streamHoldMs when the first token is slow, then the tokens', async () => {
    fakes.main?.script({ firstTokenDelayMs: 800 })
    const started = Date.now()
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantA}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-test',
        stream: true,
        messages: [{ role: 'user', content: 'slow first token' }],
      }),
    })
    const headersAfter = Date.now() - started
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const text = await response.text()
    // The headers went out after the 100 ms hold, not with the first token 800 ms in.
    expect(headersAfter).toBeLessThan(800)
    expect(text).toContain('"content":"echo: "')
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    expect(fakes.main?.callsFor('slow first token')).toBe(1)
  })

  it('tells a queued stream its position in SSE comments, then streams', async () => {
    fakes.slow?.script({ delayMs: 1_200 })
    const blocker = client().chat.completions.create({
      model: 'gpt-slow',
      messages: [{ role: 'user', content: 'blocker' }],
    })
    await eventually(() => fakes.slow?.callsFor('blocker') === 1, 'the blocker upstream')
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-slow', stream: true, messages: [{ role: 'user', content: 'queued stream' }] }),
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('spool-job-id')).toMatch(/^\d+$/)
    const text = await response.text()
    expect(text).toMatch(/^: spool queued position=0 eta_ms=\d*$/m)
    expect(text.indexOf(': spool queued')).toBeLessThan(text.indexOf('data: '))
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    await blocker
  })

  it('turns a 429 storm and 503s into zero errors for SDK clients that do not retry', async () => {
    fakes.storm?.script(
      { rateLimit: true, retryAfter: '0.3' },
      { rateLimit: true, resetRequests: '250ms' },
      { rateLimit: true },
      { status: 503 },
      { status: 503 },
    )
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        client().chat.completions.create({ model: 'gpt-storm', messages: [{ role: 'user', content: `storm ${i}` }] }),
      ),
    )
    const failures = results.filter((r) => r.status === 'rejected')
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([])
    expect(fakes.storm?.calls.some((c) => c.status === 429)).toBe(true)
    // Exactly one successful upstream call per request.
    for (let i = 0; i < 40; i++) {
      expect(fakes.storm?.calls.filter((c) => c.key === `storm ${i}` && c.status === 200)).toHaveLength(1)
    }
  }, 30_000)

  it('waits out 429s without spending attempts or tripping the breaker', async () => {
    fakes.slow?.script(...Array.from({ length: 6 }, () => ({ rateLimit: true as const, retryAfter: '0.05' })))
    const { response } = await client()
      .chat.completions.create({ model: 'gpt-slow', messages: [{ role: 'user', content: 'patient' }] })
      .withResponse()
    expect(fakes.slow?.callsFor('patient')).toBe(7)
    const job = await t.spool.jobs.get(response.headers.get('spool-job-id') as string)
    expect(job).toMatchObject({ state: 'completed', attempt: 1 })
    expect(job?.errors).toHaveLength(6)
    expect(await t.spool.breakers.history('ai.slow')).toEqual([])
  })

  it('backs off on 5xx and timeouts, opens the breaker on them, and answers once a probe succeeds', async () => {
    fakes.flaky?.script({ status: 503 }, { delayMs: 1_000 }, { status: 500 })
    const { data, response } = await client()
      .chat.completions.create({ model: 'gpt-flaky', messages: [{ role: 'user', content: 'flaky' }] })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe('echo: flaky')
    expect(fakes.flaky?.callsFor('flaky')).toBe(4)
    const job = await t.spool.jobs.get(response.headers.get('spool-job-id') as string)
    expect(job?.attempt).toBe(4)
    expect(job?.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/HTTP 503/),
      expect.stringMatching(/no answer within 400 ms/),
      expect.stringMatching(/HTTP 500/),
    ])
    const history = await t.spool.breakers.history('ai.flaky')
    expect(history.map((e) => e.type).reverse()).toEqual(['breaker.opened', 'breaker.half_open', 'breaker.closed'])
  })

  it('holds the breaker open on insufficient_quota instead of looping, and routes to a fallback meanwhile', async () => {
    fakes.quota?.script({ quota: true })
    const error = await client()
      .chat.completions.create({ model: 'gpt-quota', messages: [{ role: 'user', content: 'no quota' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error).toMatchObject({ code: 'insufficient_quota' })
    expect((error as APIError).headers?.get('x-should-retry')).toBe('false')
    expect(await t.spool.breakers.get('ai.quota')).toMatchObject({ state: 'open' })
    expect(fakes.quota?.callsFor('no quota')).toBe(1)
    // While it is open, a model another provider also serves goes there.
    const shared = await client().chat.completions.create({
      model: 'gpt-shared',
      messages: [{ role: 'user', content: 'shared' }],
    })
    expect(shared.choices[0]?.message.content).toBe('echo: shared')
    expect(fakes.backup?.callsFor('shared')).toBe(1)
    expect(fakes.quota?.callsFor('shared')).toBe(0)
    // A request only it serves waits for the cool-down and one probe, and is answered.
    const before = fakes.quota?.calls.length ?? 0
    const waited = await client().chat.completions.create({
      model: 'gpt-quota',
      messages: [{ role: 'user', content: 'after quota' }],
    })
    expect(waited.choices[0]?.message.content).toBe('echo: after quota')
    expect(fakes.quota?.calls.length).toBe(before + 1)
  })

  it('reserves tokens per minute before calling, and holds a request the budget cannot cover', async () => {
    fakes.tight?.script({ delayMs: 600 })
    const first = client().chat.completions.create({
      model: 'gpt-tight',
      max_tokens: 490,
      messages: [{ role: 'user', content: 'tpm first' }],
    })
    await eventually(() => fakes.tight?.callsFor('tpm first') === 1, 'the first TPM call')
    const { id } = (await client().chat.completions.create(
      { model: 'gpt-tight', max_tokens: 490, messages: [{ role: 'user', content: 'tpm second' }] },
      { headers: { Prefer: 'respond-async' } },
    )) as unknown as { id: string }
    await first
    const held = await eventually(async () => {
      const job = await t.spool.jobs.get(id)
      return job?.errors.some((e) => /TPM/.test(e.message)) && job
    }, 'the TPM refusal')
    expect(held.state).toBe('scheduled')
    expect(held.attempt).toBe(0)
    expect(fakes.tight?.callsFor('tpm second')).toBe(0)
    await t.spool.jobs.cancel(id)
  })

  it('never writes the upstream key or a Spool key into logs, jobs or answers', async () => {
    const all = t.logs.join('\n')
    expect(all).not.toContain(SECRET)
    expect(all).not.toContain(tenantA)
    const jobs = await t.spool.jobs.list({ tenant: 'tenant-a', limit: 200 })
    expect(JSON.stringify(jobs)).not.toContain(SECRET)
    expect((await t.request('GET', '/v1/models', { key: tenantA })).text).not.toContain(SECRET)
    expect(JSON.stringify(t.server.config)).not.toContain(SECRET)
  })
})
