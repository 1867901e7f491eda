/**
 * A FAKE Gemini native API on 127.0.0.1, for tests — it calls no model and answers made-up
 * text (an echo). It misbehaves the way Gemini does, and sends no rate-limit headers:
 *
 * - a per-minute request quota (`rpm`): past it, 429 `RESOURCE_EXHAUSTED` with a `QuotaFailure`
 *   (`…PerMinute…`) and `RetryInfo.retryDelay` until the window frees a slot;
 * - a per-day request quota (`rpd`): past it, 429 with a `QuotaFailure` (`…PerDay…`) and a
 *   short, misleading `retryDelay` (`perDayRetryDelay`, as Gemini sends) — a client that obeys
 *   it loops on an exhausted quota until the next day;
 * - windows of 503 `UNAVAILABLE` "The model is overloaded. Please try again later." (`overload(ms)`);
 * - scripted answers for the next requests (`script`), a stream cut after N chunks;
 * - it counts upstream calls per request key (the last text part of `contents`), so a test fails
 *   on any request that reached it twice. Refused calls do not count against the quotas.
 *
 * @example
 * const fake = await startFakeGemini({ rpm: 10, rpd: 100 })
 * // … a provider { kind: 'gemini', baseUrl: fake.url } …
 * await fake.close()
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type FakeGeminiBehaviour = { status: number; body?: unknown } | { streamCutAfter: number } | { delayMs: number }

export interface FakeGeminiOptions {
  /** Requests per minute before 429 with RetryInfo (default unlimited). */
  rpm?: number
  /** The per-minute quota's window, ms (default 60 000; tests shorten it). */
  windowMs?: number
  /** Requests per day before 429 PerDay (default unlimited). */
  rpd?: number
  /** The `retryDelay` a PerDay 429 carries (default `"20s"`). */
  perDayRetryDelay?: string
  /** Gap between streamed chunks, ms (default 5). */
  tokenGapMs?: number
}

export interface FakeGeminiCall {
  path: string
  key: string
  status: number | 'cut'
  at: number
  apiKey: string | undefined
}

export interface FakeGemini {
  /** Base URL including `/v1beta`. */
  url: string
  calls: FakeGeminiCall[]
  /** Calls that reached the fake for this key (the last text part of the request's contents). */
  callsFor(key: string): number
  /** Every request for the next `ms` is answered 503 "The model is overloaded". */
  overload(ms: number): void
  script(...behaviours: FakeGeminiBehaviour[]): void
  close(): Promise<void>
}

const TYPE = 'type.googleapis.com/google.rpc.'

export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const calls: FakeGeminiCall[] = []
  const queue: FakeGeminiBehaviour[] = []
  const minute: number[] = []
  let today = 0
  let overloadedUntil = 0
  const timers = new Set<NodeJS.Timeout>()
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })

  const send = (res: ServerResponse, status: number, body: unknown) => {
    if (res.writableEnded || res.destroyed) return
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' })
    res.end(JSON.stringify(body))
  }
  const error = (code: number, status: string, message: string, details?: unknown[]) => ({
    error: { code, message, status, ...(details && { details }) },
  })
  const exhausted = (quotaId: string, value: number, retryDelay: string) =>
    error(
      429,
      'RESOURCE_EXHAUSTED',
      `You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_requests, limit: ${value}`,
      [
        {
          '@type': `${TYPE}QuotaFailure`,
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests',
              quotaId,
              quotaDimensions: { location: 'global', model: 'fake' },
              quotaValue: String(value),
            },
          ],
        },
        { '@type': `${TYPE}Help`, links: [{ description: 'Learn more about Gemini API quotas', url: 'about:blank' }] },
        { '@type': `${TYPE}RetryInfo`, retryDelay },
      ],
    )

  const handle = async (req: IncomingMessage, res: ServerResponse, call: FakeGeminiCall) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const [path = '', search = ''] = (req.url ?? '').split('?')
    const match = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path)
    if (req.method !== 'POST' || !match) {
      call.status = 404
      return send(res, 404, error(404, 'NOT_FOUND', `Unknown path ${path}`))
    }
    let body: { contents?: { parts?: { text?: unknown }[] }[] }
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      call.status = 400
      return send(res, 400, error(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'))
    }
    const text = lastText(body)
    call.key = text
    if (!Array.isArray(body.contents) || body.contents.length === 0) {
      call.status = 400
      return send(
        res,
        400,
        error(400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified'),
      )
    }
    const now = Date.now()
    const windowMs = options.windowMs ?? 60_000
    while (minute.length > 0 && (minute[0] as number) <= now - windowMs) minute.shift()
    const overMinute = options.rpm !== undefined && minute.length >= options.rpm
    const overDay = options.rpd !== undefined && today >= options.rpd
    if (!overMinute && !overDay) {
      minute.push(now)
      today += 1
    }
    const behaviour = queue.shift()
    if (behaviour && 'delayMs' in behaviour) await sleep(behaviour.delayMs)
    if (behaviour && 'status' in behaviour) {
      call.status = behaviour.status
      return send(res, behaviour.status, behaviour.body ?? error(behaviour.status, 'INTERNAL', 'scripted'))
    }
    if (overDay) {
      call.status = 429
      return send(
        res,
        429,
        exhausted(
          'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
          options.rpd as number,
          options.perDayRetryDelay ?? '20s',
        ),
      )
    }
    if (overMinute) {
      call.status = 429
      const waitMs = Math.max(1, (minute[0] as number) + windowMs - now)
      return send(
        res,
        429,
        exhausted(
          'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
          options.rpm as number,
          `${(waitMs / 1000).toFixed(3)}s`,
        ),
      )
    }
    if (now < overloadedUntil) {
      call.status = 503
      return send(res, 503, error(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'))
    }
    const model = match[1] as string
    const answer = `echo: ${text}`
    const usageMetadata = {
      promptTokenCount: Math.ceil(text.length / 4),
      candidatesTokenCount: Math.ceil(answer.length / 4),
      totalTokenCount: Math.ceil(text.length / 4) + Math.ceil(answer.length / 4),
    }
    const candidate = (part: string, finish: boolean) => ({
      content: { parts: [{ text: part }], role: 'model' },
      ...(finish && { finishReason: 'STOP' }),
      index: 0,
    })
    if (match[2] === 'generateContent') {
      call.status = 200
      return send(res, 200, { candidates: [candidate(answer, true)], usageMetadata, modelVersion: model })
    }
    if (!new URLSearchParams(search).has('alt')) {
      call.status = 400
      return send(res, 400, error(400, 'INVALID_ARGUMENT', 'this fake streams only with alt=sse'))
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.flushHeaders()
    const words = answer.split(/(?<= )/)
    const cutAfter = behaviour && 'streamCutAfter' in behaviour ? behaviour.streamCutAfter : Number.POSITIVE_INFINITY
    for (const [i, word] of words.entries()) {
      if (i >= cutAfter) {
        call.status = 'cut'
        req.socket.destroy()
        return
      }
      const last = i === words.length - 1
      const chunk = { candidates: [candidate(word, last)], ...(last && { usageMetadata }), modelVersion: model }
      res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`)
      await sleep(options.tokenGapMs ?? 5)
    }
    call.status = 200
    res.end()
  }

  const server = createServer((req, res) => {
    const key = req.headers['x-goog-api-key']
    const call: FakeGeminiCall = {
      path: req.url ?? '',
      key: '',
      status: 0,
      at: Date.now(),
      apiKey: typeof key === 'string' ? key : undefined,
    }
    calls.push(call)
    handle(req, res, call).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, error(500, 'INTERNAL', String(e)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1beta`,
    calls,
    callsFor: (key) => calls.filter((c) => c.key === key).length,
    overload: (ms) => {
      overloadedUntil = Date.now() + ms
    },
    script: (...behaviours) => queue.push(...behaviours),
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function lastText(body: { contents?: { parts?: { text?: unknown }[] }[] }): string {
  const parts = Array.isArray(body.contents) ? (body.contents.at(-1)?.parts ?? []) : []
  const text = [...parts].reverse().find((p) => typeof p?.text === 'string')?.text
  return typeof text === 'string' ? text : ''
}
