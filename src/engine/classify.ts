/**
 * Decides what a handler's error means for its job: retry (after the backoff, or at the time a
 * provider asked for), or fail now. Errors are read duck-typed, so an HTTP error from fetch
 * wrappers, axios, got or an SDK works without Spool knowing the library: a status in `status`,
 * `statusCode` or `response.status`, headers in `headers` or `response.headers`, a network
 * failure in `code` (or the `cause` fetch puts it in).
 */
import { RateLimitedError, UnrecoverableError } from './errors.js'

export interface Verdict {
  retryable: boolean
  /** Run again no sooner than this many ms from now (a provider's `Retry-After`). */
  retryAfterMs?: number
  /** The attempt is given back: the job was turned away, not tried. */
  refundAttempt: boolean
}

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'SPOOL_JOB_TIMEOUT',
])

/**
 * @example
 * classifyError(Object.assign(new Error('Too Many Requests'), { status: 429, headers: { 'retry-after': '3' } }))
 * // { retryable: true, retryAfterMs: 3000, refundAttempt: true }
 */
export function classifyError(error: unknown, now = Date.now()): Verdict {
  if (error instanceof UnrecoverableError) return { retryable: false, refundAttempt: false }
  if (error instanceof RateLimitedError) {
    const ms = error.retryAfterMs
    return Number.isFinite(ms) && ms >= 0
      ? { retryable: true, retryAfterMs: ms, refundAttempt: true }
      : { retryable: true, refundAttempt: true }
  }
  if (typeof error !== 'object' || error === null) return { retryable: true, refundAttempt: false }
  const e = error as Record<string, unknown>
  if (typeof e.retryable === 'boolean') return { retryable: e.retryable, refundAttempt: false }

  const status = httpStatus(e)
  if (status !== undefined) {
    const retryAfterMs = parseRetryAfter(header(e, 'retry-after'), now)
    if (status === 429) {
      return retryAfterMs === undefined
        ? { retryable: true, refundAttempt: false }
        : { retryable: true, retryAfterMs, refundAttempt: true }
    }
    if (status === 408 || status >= 500) {
      return { retryable: true, refundAttempt: false, ...(retryAfterMs !== undefined && { retryAfterMs }) }
    }
    if (status >= 400) return { retryable: false, refundAttempt: false }
  }

  const code = networkCode(e)
  if (code !== undefined && RETRYABLE_NETWORK_CODES.has(code)) return { retryable: true, refundAttempt: false }
  return { retryable: true, refundAttempt: false }
}

function httpStatus(e: Record<string, unknown>): number | undefined {
  const response = e.response as Record<string, unknown> | undefined
  for (const value of [e.status, e.statusCode, response?.status, response?.statusCode]) {
    if (typeof value === 'number' && value >= 100 && value <= 599) return value
  }
  return undefined
}

function header(e: Record<string, unknown>, name: string): string | undefined {
  const response = e.response as Record<string, unknown> | undefined
  for (const headers of [e.headers, response?.headers]) {
    if (!headers || typeof headers !== 'object') continue
    const get = (headers as { get?: unknown }).get
    const value =
      typeof get === 'function'
        ? (get.call(headers, name) as unknown)
        : ((headers as Record<string, unknown>)[name] ??
          (headers as Record<string, unknown>)[name.replace(/(^|-)\w/g, (c) => c.toUpperCase())])
    if (typeof value === 'string' || typeof value === 'number') return String(value)
  }
  return undefined
}

/** `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000)
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function networkCode(e: Record<string, unknown>): string | undefined {
  if (typeof e.code === 'string') return e.code
  const cause = e.cause as Record<string, unknown> | undefined
  return typeof cause?.code === 'string' ? cause.code : undefined
}
