import type { BackoffPolicy } from '../store/store.js'

/** Used when a job gives no backoff: 1 s doubling to at most 1 h, with 20 % jitter. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  type: 'exponential',
  delayMs: 1_000,
  maxDelayMs: 3_600_000,
  jitter: 0.2,
}

/**
 * The delay before the next attempt, after `attempt` attempts have failed (1 for the first).
 * Jitter takes a random share of the delay off, so a burst of failures does not retry in step.
 *
 * @example
 * backoffDelay({ type: 'exponential', delayMs: 1000, maxDelayMs: 60_000, jitter: 0 }, 3) // 4000
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random = Math.random): number {
  const base =
    policy.type === 'fixed'
      ? policy.delayMs
      : Math.min(policy.maxDelayMs, policy.delayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(base * (1 - policy.jitter * random()))
}
