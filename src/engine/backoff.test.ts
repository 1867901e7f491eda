import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.js'

describe('backoffDelay', () => {
  const exponential = { type: 'exponential', delayMs: 1_000, maxDelayMs: 10_000, jitter: 0 } as const

  it('doubles from the base delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(exponential, attempt))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ])
  })

  it('keeps a fixed delay fixed', () => {
    expect(backoffDelay({ type: 'fixed', delayMs: 500, maxDelayMs: 500, jitter: 0 }, 9)).toBe(500)
  })

  it('takes up to the jitter share off at random', () => {
    const jittered = { ...exponential, jitter: 0.5 }
    expect(backoffDelay(jittered, 2, () => 0)).toBe(2_000)
    expect(backoffDelay(jittered, 2, () => 1)).toBe(1_000)
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(jittered, 3)
      expect(delay).toBeGreaterThanOrEqual(2_000)
      expect(delay).toBeLessThanOrEqual(4_000)
    }
  })
})
