/**
 * A FAKE OpenAI-compatible provider on 127.0.0.1, for tests, benchmarks and the offline demo of
 * `spool start` — it calls no real model and answers made-up text. It misbehaves the way hosted
 * APIs do:
 *
 * - requests-per-minute and tokens-per-minute buckets (a request charges max(`max_tokens`,
 *   characters / 4), failed ones too), answered 429 when empty — with `retry-after` or, when
 *   `limitRetryAfter: false`, with only the `x-ratelimit-reset-*` headers — and
 *   `x-ratelimit-limit/remaining/reset-{requests,tokens}` on every answer;
 * - random 429 storms (`rateLimitRate`, with `retry-after` of `retryAfterSeconds`) and 503
 *   overloads (`overloadRate`);
 * - scripted behaviours for the next requests (`script`): any status, 429 with or without
 *   hints, `insufficient_quota`, a slow answer, a dropped connection, a stream whose first token
 *   is slow or that is cut before `[DONE]`;
 * - it counts upstream calls per request key (the body's `user`, else the last message), so a
 *   test can fail on any request that reached it twice.
 *
 * @example
 * const fake = await startFakeUpstream({ rpm: 600, rateLimitRate: 0.3 })
 * // … point a provider's baseUrl at fake.url …
 * await fake.close()
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type FakeBehaviour =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { rateLimit: true; retryAfter?: string; resetRequests?: string }
  | { quota: true }
  | { delayMs: number }
  | { drop: true }
  | { streamCutAfter: number }
  | { firstTokenDelayMs: number }

export interface FakeUpstreamOptions {
  /** Requests per minute before 429 (default unlimited). */
  rpm?: number
  /** Tokens per minute before 429 (default unlimited). */
  tpm?: number
  /** The limits' 429s carry `retry-after` (default true); else only `x-ratelimit-reset-*`. */
  limitRetryAfter?: boolean
  /** Share of requests answered 429 at random (a storm). */
  rateLimitRate?: number
  /** `retry-after` seconds of a storm's 429s, drawn from [min, max] (default [1, 5]). */
  retryAfterSeconds?: [number, number]
  /** Share of requests answered 503 "overloaded" at random. */
  overloadRate?: number
  /** Time to answer, ms (default 0). */
  latencyMs?: number
  /** Gap between streamed tokens, ms (default 5). */
  tokenGapMs?: number
  /** The assistant's text for a request (default: an echo of the last message). */
  reply?: (body: Record<string, unknown>) => string
}

export interface FakeCall {
  path: string
  key: string
  status: number | 'dropped' | 'cut'
  at: number
  authorization: string | undefined
}

export interface FakeUpstream {
  /** Base URL including `/v1`. */
  url: string
  calls: FakeCall[]
  /** Calls that reached the fake for this key (the body's `user`, else the last message's text). */
  callsFor(key: string): number
  /** Calls answered 200. */
  served(): number
  script(...behaviours: FakeBehaviour[]): void
  close(): Promise<void>
}

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const queue: FakeBehaviour[] = []
  const calls: FakeCall[] = []
  const timers = new Set<NodeJS.Timeout>()
  const window: { at: number; tokens: number }[] = []

  const sleep = (ms: number, req: IncomingMessage) =>
    new Promise<boolean>((resolve) => {
      if (ms <= 0) return resolve(true)
      const onClose = () => {
        clearTimeout(timer)
        timers.delete(timer)
        resolve(false)
      }
      const timer = setTimeout(() => {
        timers.delete(timer)
        req.socket.off('close', onClose)
        resolve(true)
      }, ms)
      timers.add(timer)
      req.socket.once('close', onClose)
    })

  /** Charges the buckets; the headers describe what is left. */
  const charge = (tokens: number, now: number) => {
    while (window.length > 0 && (window[0] as { at: number }).at <= now - 60_000) window.shift()
    const usedRequests = window.length
    const usedTokens = window.reduce((sum, w) => sum + w.tokens, 0)
    const resetMs = window.length > 0 ? Math.max(0, (window[0] as { at: number }).at + 60_000 - now) : 0
    const overRequests = options.rpm !== undefined && usedRequests + 1 > options.rpm
    const overTokens = options.tpm !== undefined && usedTokens + tokens > options.tpm
    // OpenAI counts requests it refuses against the limits too.
    window.push({ at: now, tokens })
    const headers: Record<string, string> = {}
    if (options.rpm !== undefined) {
      headers['x-ratelimit-limit-requests'] = String(options.rpm)
      headers['x-ratelimit-remaining-requests'] = String(Math.max(0, options.rpm - usedRequests - 1))
      headers['x-ratelimit-reset-requests'] = `${(resetMs / 1000).toFixed(3)}s`
    }
    if (options.tpm !== undefined) {
      headers['x-ratelimit-limit-tokens'] = String(options.tpm)
      headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, options.tpm - usedTokens - tokens))
      headers['x-ratelimit-reset-tokens'] = `${(resetMs / 1000).toFixed(3)}s`
    }
    return { over: overRequests || overTokens, kind: overRequests ? 'requests' : 'tokens', headers, resetMs }
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.writableEnded || res.destroyed) return
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }

  const rateLimited = (message: string, code = 'rate_limit_exceeded') => ({
    error: { message, type: code === 'insufficient_quota' ? 'insufficient_quota' : 'requests', param: null, code },
  })

  const handle = async (req: IncomingMessage, res: ServerResponse, call: FakeCall) => {
    const path = (req.url ?? '').split('?')[0] ?? ''
    if (req.method === 'GET' && path === '/v1/models') {
      call.status = 200
      return send(res, 200, { object: 'list', data: [] })
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let body: Record<string, unknown>
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {
      call.status = 400
      return send(res, 400, { error: { message: 'We could not parse the JSON body', type: 'invalid_request_error' } })
    }
    call.key = keyOf(body)
    const now = Date.now()
    const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : 0
    const bucket = charge(Math.max(maxTokens, Math.ceil(text.length / 4)), now)
    const behaviour = queue.shift()
    if (behaviour && 'drop' in behaviour) {
      call.status = 'dropped'
      req.socket.destroy()
      return
    }
    if (behaviour && 'delayMs' in behaviour && !(await sleep(behaviour.delayMs, req))) return
    if (behaviour && 'quota' in behaviour) {
      call.status = 429
      return send(
        res,
        429,
        rateLimited(
          'You exceeded your current quota, please check your plan and billing details.',
          'insufficient_quota',
        ),
      )
    }
    if (behaviour && 'rateLimit' in behaviour) {
      call.status = 429
      return send(res, 429, rateLimited('Rate limit reached (scripted)'), {
        ...bucket.headers,
        ...(behaviour.retryAfter !== undefined && { 'retry-after': behaviour.retryAfter }),
        ...(behaviour.resetRequests !== undefined && {
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': behaviour.resetRequests,
        }),
      })
    }
    if (behaviour && 'status' in behaviour) {
      call.status = behaviour.status
      return send(
        res,
        behaviour.status,
        behaviour.body ?? { error: { message: `scripted ${behaviour.status}`, type: 'server_error', code: null } },
        behaviour.headers,
      )
    }
    if (bucket.over) {
      call.status = 429
      const retry = options.limitRetryAfter === false ? {} : { 'retry-after': String(Math.ceil(bucket.resetMs / 1000)) }
      return send(res, 429, rateLimited(`Rate limit reached for ${bucket.kind} per minute (fake provider)`), {
        ...bucket.headers,
        ...retry,
        [`x-ratelimit-remaining-${bucket.kind}`]: '0',
      })
    }
    if (options.rateLimitRate && Math.random() < options.rateLimitRate) {
      const [min, max] = options.retryAfterSeconds ?? [1, 5]
      call.status = 429
      return send(res, 429, rateLimited('Rate limit reached (fake storm)'), {
        ...bucket.headers,
        'retry-after': String(Math.round(min + Math.random() * (max - min))),
      })
    }
    if (options.overloadRate && Math.random() < options.overloadRate) {
      call.status = 503
      return send(res, 503, {
        error: { message: 'The model is overloaded. Please try again later.', type: 'server_error', code: null },
      })
    }
    if (options.latencyMs && !(await sleep(options.latencyMs, req))) return
    const model = String(body.model ?? 'fake')
    if (req.method === 'POST' && path === '/v1/embeddings') {
      const inputs = Array.isArray(body.input) ? body.input : [body.input]
      call.status = 200
      return send(
        res,
        200,
        {
          object: 'list',
          model,
          data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: embed(String(input)) })),
          usage: { prompt_tokens: Math.ceil(text.length / 4), total_tokens: Math.ceil(text.length / 4) },
        },
        bucket.headers,
      )
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      call.status = 404
      return send(res, 404, {
        error: { message: `Unknown request URL: ${req.method} ${path}`, type: 'invalid_request_error' },
      })
    }
    const content = options.reply ? options.reply(body) : `echo: ${lastMessage(body)}`
    const usage = { prompt_tokens: Math.ceil(text.length / 4), completion_tokens: Math.ceil(content.length / 4) }
    const total = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens }
    if (body.stream !== true) {
      call.status = 200
      return send(
        res,
        200,
        {
          id: `chatcmpl-fake-${calls.length}`,
          object: 'chat.completion',
          created: Math.floor(now / 1000),
          model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
          usage: total,
        },
        bucket.headers,
      )
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', ...bucket.headers })
    // The headers go out now: a cut before the first token is a broken stream, not a refused connection.
    res.flushHeaders()
    if (behaviour && 'firstTokenDelayMs' in behaviour && !(await sleep(behaviour.firstTokenDelayMs, req))) return
    const words = content.split(/(?<= )/)
    const cutAfter = behaviour && 'streamCutAfter' in behaviour ? behaviour.streamCutAfter : Number.POSITIVE_INFINITY
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({
        id: `chatcmpl-fake-${calls.length}`,
        object: 'chat.completion.chunk',
        created: Math.floor(now / 1000),
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      })}\n\n`
    for (const [i, word] of words.entries()) {
      if (i >= cutAfter) {
        call.status = 'cut'
        req.socket.destroy()
        return
      }
      res.write(chunk(i === 0 ? { role: 'assistant', content: word } : { content: word }, null))
      if (!(await sleep(options.tokenGapMs ?? 5, req))) return
    }
    res.write(chunk({}, 'stop'))
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined
    if (streamOptions?.include_usage) {
      res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', model, choices: [], usage: total })}\n\n`)
    }
    res.end('data: [DONE]\n\n')
    call.status = 200
  }

  const server = createServer((req, res) => {
    const call: FakeCall = {
      path: req.url ?? '',
      key: '',
      status: 0,
      at: Date.now(),
      authorization: req.headers.authorization,
    }
    calls.push(call)
    handle(req, res, call).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(error), type: 'server_error' } })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    callsFor: (key) => calls.filter((c) => c.key === key).length,
    served: () => calls.filter((c) => c.status === 200).length,
    script: (...behaviours) => queue.push(...behaviours),
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function keyOf(body: Record<string, unknown>): string {
  if (typeof body.user === 'string') return body.user
  if (body.input !== undefined) return JSON.stringify(body.input).slice(0, 200)
  return lastMessage(body)
}

function lastMessage(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages : []
  const last = messages.at(-1) as { content?: unknown } | undefined
  return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '')
}

/** A small deterministic vector from the text. */
function embed(text: string): number[] {
  const vector = new Array<number>(8).fill(0)
  for (let i = 0; i < text.length; i++) vector[i % 8] = ((vector[i % 8] as number) + text.charCodeAt(i)) % 997
  return vector.map((v) => v / 997)
}
