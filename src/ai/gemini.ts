/**
 * Gemini's native API (`kind: "gemini"`): where a request goes, and what Gemini's failures mean
 * for the request's job. Gemini sends no rate-limit headers; it says everything in the error's
 * `details` (google.rpc types):
 *
 * | Gemini answers                                              | thrown                     | the job |
 * |-------------------------------------------------------------|----------------------------|---------|
 * | 429 `RESOURCE_EXHAUSTED`, a `QuotaFailure` whose `quotaId` is per day | `GeminiQuotaExhausted` | waits for the reset (next midnight Pacific, or a longer `retryDelay`), attempt given back; the handler opens the provider's breaker and the queue is held back until then: one call, no loop |
 * | 429 `RESOURCE_EXHAUSTED` with `RetryInfo.retryDelay`        | `RateLimitedError(delay)`  | waits that long, attempt given back, the provider's queue held back |
 * | 429 without a delay                                         | `RateLimitedError(1–2 s)`  | the same, after a short jittered pause |
 * | 408, 409, 5xx (503 `UNAVAILABLE` "The model is overloaded") | `UpstreamFailure`          | retried with jittered backoff, counting toward the breaker |
 * | other 4xx                                                   | `UpstreamRejected`         | fails at once; the client gets Gemini's status and body |
 */
import { RateLimitedError } from '../engine/errors.js'

/** Gemini's error body: `{"error":{"code","message","status","details"?}}`. */
export interface GeminiErrorBody {
  error: { code: number; message: string; status: string; details?: unknown[] }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  410: 'NOT_FOUND',
  413: 'INVALID_ARGUMENT',
  415: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
}

/**
 * An error body in Gemini's shape (the `@google/genai` SDK reads `error.message` and `status`).
 *
 * @example
 * geminiError(404, 'models/x is not found') // { error: { code: 404, message: '…', status: 'NOT_FOUND' } }
 */
export function geminiError(code: number, message: string): GeminiErrorBody {
  const status = STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : code >= 400 ? 'FAILED_PRECONDITION' : 'UNKNOWN')
  return { error: { code, message, status } }
}

/** Whether a body already is a Gemini error (a rejection passed through as Gemini sent it). */
export function isGeminiError(body: unknown): body is GeminiErrorBody {
  const error = (body as { error?: { code?: unknown; status?: unknown } } | null)?.error
  return typeof error?.code === 'number' && typeof error.status === 'string'
}

/**
 * An OpenAI-shaped error (`{error:{message,type,code}}`, Spool's own) turned into Gemini's shape,
 * Spool's code kept as `reason`. A Gemini body passes as it is.
 */
export function toGeminiError(status: number, body: unknown): unknown {
  if (isGeminiError(body)) return body
  const error = (body as { error?: { message?: unknown; code?: unknown } } | null)?.error
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`
  const shaped = geminiError(status, message)
  return typeof error?.code === 'string' ? { error: { ...shaped.error, reason: error.code } } : shaped
}

/** The daily quota ran out: wait for its reset, and hold the provider back until then. */
export class GeminiQuotaExhausted extends RateLimitedError {
  readonly code = 'AI_QUOTA_EXHAUSTED'
  constructor(
    provider: string,
    readonly resetAt: number,
    quotaId: string,
    now = Date.now(),
  ) {
    super(
      Math.max(0, resetAt - now),
      `upstream ${provider}: daily quota ${quotaId} exhausted; held until ${new Date(resetAt).toISOString()}`,
    )
  }
}

interface Detail {
  '@type'?: unknown
  retryDelay?: unknown
  violations?: { quotaId?: unknown }[]
}

/**
 * What a Gemini 429 asks: the per-day quota that ran out (if any) and `RetryInfo.retryDelay` in ms.
 *
 * @example
 * readResourceExhausted({ error: { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '17s' }] } })
 * // { perDay: null, retryDelayMs: 17000 }
 */
export function readResourceExhausted(body: unknown): { perDay: string | null; retryDelayMs: number | undefined } {
  const details = (body as { error?: { details?: unknown } } | null)?.error?.details
  let perDay: string | null = null
  let retryDelayMs: number | undefined
  if (Array.isArray(details)) {
    for (const detail of details as Detail[]) {
      const type = typeof detail?.['@type'] === 'string' ? detail['@type'] : ''
      if (type.endsWith('google.rpc.RetryInfo')) retryDelayMs = parseProtoDuration(detail.retryDelay)
      if (type.endsWith('google.rpc.QuotaFailure') && Array.isArray(detail.violations)) {
        for (const violation of detail.violations) {
          if (typeof violation?.quotaId === 'string' && /PerDay/i.test(violation.quotaId)) perDay = violation.quotaId
        }
      }
    }
  }
  return { perDay, retryDelayMs }
}

/**
 * A protobuf JSON duration (`"17s"`, `"0.5s"`, `"1.250s"`) in ms; undefined for anything else.
 *
 * @example
 * parseProtoDuration('17.5s') // 17500
 */
export function parseProtoDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const match = /^(\d{1,9})(?:\.(\d{1,9}))?s$/.exec(value.trim())
  if (!match) return undefined
  return Math.round(Number(`${match[1]}.${match[2] ?? '0'}`) * 1000)
}

/**
 * The next midnight in America/Los_Angeles, when Gemini's daily quotas reset, as epoch ms.
 *
 * @example
 * nextPacificMidnight(Date.parse('2026-01-01T07:30:00Z')) // Date.parse('2026-01-02T08:00:00Z')
 */
export function nextPacificMidnight(now = Date.now()): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/Los_Angeles',
      hourCycle: 'h23',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
      .formatToParts(new Date(now))
      .map((p) => [p.type, p.value]),
  )
  const sinceMidnight =
    (Number(parts.hour) * 3600 + Number(parts.minute) * 60 + Number(parts.second)) * 1000 + (now % 1000)
  // A day with a DST change is an hour off at most; the reset is then an hour late, never early.
  return now - sinceMidnight + 86_400_000
}

/**
 * The error to throw for a Gemini 429.
 *
 * @example
 * throw resourceExhausted('gemini', body)
 */
export function resourceExhausted(provider: string, body: unknown, now = Date.now()): RateLimitedError {
  const { perDay, retryDelayMs } = readResourceExhausted(body)
  if (perDay !== null) {
    return new GeminiQuotaExhausted(
      provider,
      Math.max(nextPacificMidnight(now), now + (retryDelayMs ?? 0)),
      perDay,
      now,
    )
  }
  const waitMs = retryDelayMs ?? 1_000 + Math.round(Math.random() * 1_000)
  return new RateLimitedError(waitMs, `upstream ${provider}: resource exhausted (429); retry in ${waitMs} ms`)
}

/** The upstream path of a Gemini call. */
export function geminiPath(model: string, stream: boolean): string {
  return `/models/${encodeURIComponent(model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`
}
