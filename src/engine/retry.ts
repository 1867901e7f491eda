/**
 * What becomes of a failed attempt: retried when (backoff, or the provider's Retry-After),
 * given back without spending the attempt (rate limited), or failed for good. Shared by
 * in-process workers and the HTTP worker protocol, so both follow the same rules.
 */
import type { AttemptError, BackoffPolicy } from '../store/store.js'
import { backoffDelay } from './backoff.js'

export interface AttemptVerdict {
  retryable: boolean
  refundAttempt: boolean
  retryAfterMs?: number
}

export interface FailureDecision {
  /** null: the job fails for good (the dead-letter set). */
  retryAt: number | null
  refundAttempt: boolean
  /** The provider asked to wait (429 + Retry-After, `RateLimitedError`): hold its key back too. */
  throttled: boolean
}

export function decideFailure(
  job: { attempt: number; maxAttempts: number; backoff: BackoffPolicy },
  verdict: AttemptVerdict,
  now: number,
): FailureDecision {
  if (!verdict.retryable) return { retryAt: null, refundAttempt: false, throttled: false }
  if (verdict.refundAttempt) {
    return {
      retryAt: now + (verdict.retryAfterMs ?? backoffDelay(job.backoff, job.attempt)),
      refundAttempt: true,
      throttled: verdict.retryAfterMs !== undefined,
    }
  }
  if (job.attempt >= job.maxAttempts) return { retryAt: null, refundAttempt: false, throttled: false }
  return {
    retryAt: now + Math.max(backoffDelay(job.backoff, job.attempt), verdict.retryAfterMs ?? 0),
    refundAttempt: false,
    throttled: false,
  }
}

export function toAttemptError(error: unknown, attempt: number, retryable: boolean, at: number): AttemptError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      at,
      attempt,
      message: error.message,
      name: error.name,
      ...(typeof code === 'string' && { code }),
      ...(error.stack !== undefined && { stack: error.stack }),
      retryable,
    }
  }
  return { at, attempt, message: String(error), retryable }
}
