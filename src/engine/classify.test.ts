import { describe, expect, it } from 'vitest'
import { classifyError, parseRetryAfter } from './classify.js'
import { JobTimeoutError, RateLimitedError, UnrecoverableError } from './errors.js'

const http = (status: number, headers?: unknown) => Object.assign(new Error(`HTTP ${status}`), { status, headers })

describe('classifyError', () => {
  it.each([400, 401, 403, 404, 409, 422])('does not retry HTTP %i', (status) => {
    expect(classifyError(http(status))).toEqual({ retryable: false, refundAttempt: false })
  })

  it.each([408, 500, 502, 503, 504])('retries HTTP %i', (status) => {
    expect(classifyError(http(status)).retryable).toBe(true)
  })

  it('honours Retry-After on a 429 and gives the attempt back', () => {
    expect(classifyError(http(429, { 'retry-after': '7' }))).toEqual({
      retryable: true,
      retryAfterMs: 7_000,
      refundAttempt: true,
    })
    expect(classifyError(http(429, new Headers({ 'Retry-After': '2' })))).toMatchObject({ retryAfterMs: 2_000 })
    expect(classifyError(http(429))).toEqual({ retryable: true, refundAttempt: false })
  })

  it('reads the status and headers an HTTP client puts on response', () => {
    const error = Object.assign(new Error('nope'), { response: { status: 429, headers: { 'Retry-After': '1' } } })
    expect(classifyError(error)).toMatchObject({ retryAfterMs: 1_000, refundAttempt: true })
  })

  it('keeps a 503 Retry-After as the least delay but spends the attempt', () => {
    expect(classifyError(http(503, { 'retry-after': '3' }))).toEqual({
      retryable: true,
      retryAfterMs: 3_000,
      refundAttempt: false,
    })
  })

  it('retries network errors, timeouts and plain errors; not UnrecoverableError', () => {
    expect(classifyError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).retryable).toBe(true)
    expect(classifyError(new TypeError('fetch failed', { cause: { code: 'UND_ERR_SOCKET' } })).retryable).toBe(true)
    expect(classifyError(new JobTimeoutError('slow')).retryable).toBe(true)
    expect(classifyError(new Error('anything')).retryable).toBe(true)
    expect(classifyError('a string').retryable).toBe(true)
    expect(classifyError(new UnrecoverableError('corrupt')).retryable).toBe(false)
    expect(classifyError(Object.assign(new Error('x'), { retryable: false })).retryable).toBe(false)
  })

  it('turns RateLimitedError into a refunded delay', () => {
    expect(classifyError(new RateLimitedError(1_500))).toEqual({
      retryable: true,
      retryAfterMs: 1_500,
      refundAttempt: true,
    })
  })
})

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000)
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
  })
})
