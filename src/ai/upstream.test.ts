import { describe, expect, it } from 'vitest'
import { parseDuration, rateLimitWait, readRejection, UpstreamRejected } from './upstream.js'

describe('upstream failure reading', () => {
  it('reads OpenAI’s reset durations', () => {
    expect(parseDuration('20ms')).toBe(20)
    expect(parseDuration('1s')).toBe(1_000)
    expect(parseDuration('1.5s')).toBe(1_500)
    expect(parseDuration('6m0s')).toBe(360_000)
    expect(parseDuration('1h2m3s')).toBe(3_723_000)
    expect(parseDuration('2')).toBe(2_000)
    expect(parseDuration('soon')).toBeUndefined()
    expect(parseDuration('5s and more')).toBeUndefined()
    expect(parseDuration(null)).toBeUndefined()
  })

  it('takes the wait from retry-after-ms, retry-after, else the reset of the budget that ran out', () => {
    expect(rateLimitWait(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250)
    expect(rateLimitWait(new Headers({ 'retry-after': '3' }))).toBe(3_000)
    expect(
      rateLimitWait(
        new Headers({
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': '2s',
          'x-ratelimit-remaining-tokens': '5000',
          'x-ratelimit-reset-tokens': '40s',
        }),
      ),
    ).toBe(2_000)
    expect(rateLimitWait(new Headers({ 'x-ratelimit-reset-tokens': '1m0s' }))).toBe(60_000)
    expect(rateLimitWait(new Headers())).toBeUndefined()
  })

  it('carries a refusal’s status and body through the job’s recorded error message', () => {
    const body = { error: { message: 'bad: "quotes"\nand lines', type: 'invalid_request_error', code: 'x' } }
    const error = new UpstreamRejected('openai', 422, body)
    expect(readRejection(error.message)).toEqual({ provider: 'openai', status: 422, body })
    expect(readRejection('something else')).toBeNull()
  })
})
