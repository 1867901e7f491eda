import { describe, expect, it } from 'vitest'
import { RateLimitedError } from '../engine/errors.js'
import {
  GeminiQuotaExhausted,
  geminiError,
  nextPacificMidnight,
  parseProtoDuration,
  readResourceExhausted,
  resourceExhausted,
  toGeminiError,
} from './gemini.js'

const exhausted = (quotaId: string, retryDelay?: string) => ({
  error: {
    code: 429,
    message: 'You exceeded your current quota',
    status: 'RESOURCE_EXHAUSTED',
    details: [
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId }] },
      ...(retryDelay ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }] : []),
    ],
  },
})

describe('Gemini failure reading', () => {
  it('reads protobuf durations', () => {
    expect(parseProtoDuration('17s')).toBe(17_000)
    expect(parseProtoDuration('0.250s')).toBe(250)
    expect(parseProtoDuration('17')).toBeUndefined()
    expect(parseProtoDuration(3)).toBeUndefined()
  })

  it('waits a per-minute RESOURCE_EXHAUSTED out by its RetryInfo delay', () => {
    const body = exhausted('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', '23.5s')
    expect(readResourceExhausted(body)).toEqual({ perDay: null, retryDelayMs: 23_500 })
    const error = resourceExhausted('g', body)
    expect(error).toBeInstanceOf(RateLimitedError)
    expect(error).not.toBeInstanceOf(GeminiQuotaExhausted)
    expect(error.retryAfterMs).toBe(23_500)
  })

  it('holds a per-day quota until the next Pacific midnight, not its short RetryInfo delay', () => {
    const now = Date.parse('2026-03-02T20:00:00Z') // 12:00 in Los Angeles (PST)
    const error = resourceExhausted('g', exhausted('GenerateRequestsPerDayPerProjectPerModel-FreeTier', '20s'), now)
    expect(error).toBeInstanceOf(GeminiQuotaExhausted)
    expect((error as GeminiQuotaExhausted).resetAt).toBe(Date.parse('2026-03-03T08:00:00Z'))
    expect(error.retryAfterMs).toBe(12 * 3_600_000)
  })

  it('finds the next midnight in Los Angeles in winter and summer', () => {
    expect(nextPacificMidnight(Date.parse('2026-01-01T07:30:00Z'))).toBe(Date.parse('2026-01-01T08:00:00Z'))
    expect(nextPacificMidnight(Date.parse('2026-07-01T07:30:00Z'))).toBe(Date.parse('2026-07-02T07:00:00Z'))
  })

  it('shapes errors as Gemini does, passing Gemini’s own through', () => {
    expect(geminiError(429, 'slow down')).toEqual({
      error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED' },
    })
    const own = { error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT', details: [] } }
    expect(toGeminiError(400, own)).toBe(own)
    expect(toGeminiError(404, { error: { message: 'no model', type: 'x', code: 'model_not_found' } })).toEqual({
      error: { code: 404, message: 'no model', status: 'NOT_FOUND', reason: 'model_not_found' },
    })
  })
})
