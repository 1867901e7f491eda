/**
 * One call to an OpenAI-compatible upstream, and what its failures mean for the request's job
 * in the engine's terms (`src/engine/classify.ts`, `RateLimitedError`, `UnrecoverableError`):
 *
 * | upstream answer                                   | thrown                   | the job                                 |
 * |---------------------------------------------------|--------------------------|-----------------------------------------|
 * | 429 `insufficient_quota`                          | `UpstreamRejected` (429) | fails at once; the handler opens the provider's breaker |
 * | 429 with `retry-after(-ms)` or `x-ratelimit-reset-*` | `RateLimitedError(ms)` | waits that long, attempt given back, the provider's queue held back |
 * | 429 without any hint                              | `RateLimitedError(1–2 s)`| the same, after a short jittered pause  |
 * | 408, 409, 5xx; refused, reset, timed out          | `UpstreamFailure`        | retried with jittered backoff, counts toward the breaker (a 503's `retry-after` obeyed) |
 * | other 4xx                                         | `UpstreamRejected`       | fails at once; the client gets the provider's status and body |
 *
 * The API key goes only into the request's `Authorization` header: never into an error, a log
 * line or a job.
 */
import { parseRetryAfter } from '../engine/classify.js'
import { RateLimitedError, UnrecoverableError } from '../engine/errors.js'
import { resourceExhausted } from './gemini.js'

/** A failure worth retrying; the engine's classifier reads `status`, `headers` and `code`. */
export class UpstreamFailure extends Error {
  override readonly name = 'UpstreamFailure'
  constructor(
    message: string,
    readonly details: { status?: number; headers?: Headers; code?: string } = {},
  ) {
    super(message)
  }
  get status(): number | undefined {
    return this.details.status
  }
  get headers(): Headers | undefined {
    return this.details.headers
  }
  get code(): string | undefined {
    return this.details.code
  }
  /** Transport failures are always retried; HTTP ones are left to the classifier (it reads the status). */
  get retryable(): boolean | undefined {
    return this.details.status === undefined ? true : undefined
  }
}

const REJECTED = /^upstream (\S+) answered (\d{3}): ([\s\S]*)$/

/**
 * The provider refused the request for good. The message carries the provider's status and body
 * (as JSON) so that the answer can pass them through from the job's recorded error, on any node.
 */
export class UpstreamRejected extends UnrecoverableError {
  readonly code = 'AI_UPSTREAM_REJECTED'
  constructor(
    provider: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`upstream ${provider} answered ${status}: ${JSON.stringify(body ?? null).slice(0, 8_000)}`)
  }
}

/**
 * The status and body of a rejection recorded as a job error (see `UpstreamRejected`).
 *
 * @example
 * readRejection(job.errors.at(-1).message) // { provider: 'openai', status: 400, body: { error: { … } } }
 */
export function readRejection(message: string): { provider: string; status: number; body: unknown } | null {
  const match = REJECTED.exec(message)
  if (!match) return null
  let body: unknown
  try {
    body = JSON.parse(match[3] as string)
  } catch {
    body = { error: { message: match[3], type: 'upstream_error', code: null } }
  }
  return { provider: match[1] as string, status: Number(match[2]), body }
}

export interface UpstreamTarget {
  /** The provider's name, for messages. */
  name: string
  baseUrl: string
  apiKey: string | undefined
  timeoutMs: number
  /** `gemini`: the key goes in `x-goog-api-key` and 429s are read as Gemini writes them (gemini.ts). */
  kind?: 'openai' | 'gemini'
}

/**
 * POSTs `body` to `path` under the provider's base URL; resolves only with a 2xx response
 * (its body unread).
 *
 * @example
 * const res = await upstreamPost(target, '/chat/completions', body, signal)
 */
export async function upstreamPost(
  target: UpstreamTarget,
  path: string,
  body: unknown,
  signal: AbortSignal | undefined,
  options: { stream?: boolean } = {},
): Promise<Response> {
  signal?.throwIfAborted()
  // The timeout covers the whole answer, or for a stream its headers (the relay then times
  // the gaps between events itself): a long generation is not cut at `timeoutMs`.
  const timeoutController = new AbortController()
  const timer = setTimeout(() => timeoutController.abort(), target.timeoutMs)
  timer.unref()
  const timeout = timeoutController.signal
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
  let response: Response
  try {
    response = await fetch(`${target.baseUrl.replace(/\/+$/, '')}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(target.apiKey !== undefined &&
          (target.kind === 'gemini'
            ? { 'x-goog-api-key': target.apiKey }
            : { authorization: `Bearer ${target.apiKey}` })),
      },
      body: JSON.stringify(body),
      signal: combined,
    })
  } catch (error) {
    clearTimeout(timer)
    throw transportFailure(error, signal, timeout, target)
  }
  if (options.stream) clearTimeout(timer)
  if (response.ok) return response
  const text = await response.text().catch(() => '')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = {
      error: { message: text.slice(0, 2_000) || `HTTP ${response.status}`, type: 'upstream_error', code: null },
    }
  }
  const status = response.status
  const error = (parsed as { error?: { code?: unknown; type?: unknown; message?: unknown } } | null)?.error
  if (status === 429 && target.kind === 'gemini') throw resourceExhausted(target.name, parsed)
  if (status === 429) {
    if (error?.code === 'insufficient_quota' || error?.type === 'insufficient_quota') {
      throw new UpstreamRejected(target.name, status, parsed)
    }
    const waitMs = rateLimitWait(response.headers) ?? 1_000 + Math.round(Math.random() * 1_000)
    throw new RateLimitedError(waitMs, `upstream ${target.name}: rate limited (429); retry in ${waitMs} ms`)
  }
  if (status === 408 || status === 409 || status >= 500) {
    const detail = typeof error?.message === 'string' ? error.message : text.slice(0, 200)
    throw new UpstreamFailure(`upstream ${target.name}: HTTP ${status} ${detail}`.trim(), {
      status,
      headers: response.headers,
    })
  }
  throw new UpstreamRejected(target.name, status, parsed)
}

/**
 * How long a 429 asks to wait: `retry-after-ms`, `retry-after`, else the reset of the
 * `x-ratelimit-*` budget that ran out (`x-ratelimit-reset-requests: 1s`, `…-tokens: 6m0s`).
 *
 * @example
 * rateLimitWait(new Headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '2s' })) // 2000
 */
export function rateLimitWait(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms'))
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return Math.round(ms)
  const retryAfter = parseRetryAfter(headers.get('retry-after') ?? undefined)
  if (retryAfter !== undefined) return retryAfter
  const resets: number[] = []
  for (const kind of ['requests', 'tokens']) {
    const reset = parseDuration(headers.get(`x-ratelimit-reset-${kind}`))
    if (reset === undefined) continue
    const remaining = headers.get(`x-ratelimit-remaining-${kind}`)
    if (remaining === null || Number(remaining) <= 0) resets.push(reset)
  }
  return resets.length > 0 ? Math.max(...resets) : undefined
}

/**
 * OpenAI's reset durations: `20ms`, `1s`, `1.5s`, `6m0s`, `1h2m3s`; undefined for anything else.
 *
 * @example
 * parseDuration('6m0s') // 360000
 */
export function parseDuration(value: string | null): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }
  let total = 0
  let matched = ''
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(part[1]) * (units[part[2] as string] as number)
    matched += part[0]
  }
  return matched.length > 0 && matched === text ? Math.round(total) : undefined
}

function transportFailure(
  error: unknown,
  signal: AbortSignal | undefined,
  timeout: AbortSignal,
  target: UpstreamTarget,
): unknown {
  if (signal?.aborted) return signal.reason
  if (timeout.aborted) {
    return new UpstreamFailure(`upstream ${target.name}: no answer within ${target.timeoutMs} ms`, {
      code: 'ETIMEDOUT',
    })
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
  const code = typeof cause?.code === 'string' ? cause.code : 'ECONNRESET'
  const reason = typeof cause?.message === 'string' ? cause.message : (error as Error)?.message
  return new UpstreamFailure(`upstream ${target.name}: ${reason} (${code})`, { code })
}
