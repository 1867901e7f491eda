/**
 * Two families of errors (see docs/concepts.md):
 *
 * - `SpoolError`: what Spool's API throws, with a stable `code` from the catalogue below, an
 *   HTTP status for the server to answer with, and the `field` at fault where there is one.
 * - Errors a handler throws to steer its own job: `UnrecoverableError` (fail now, no retry),
 *   `RateLimitedError` (try again at a given time without spending an attempt).
 */

export const ERROR_CODES = {
  SPOOL_INVALID_OPTION: { status: 400, title: 'An option is invalid' },
  SPOOL_INVALID_PAYLOAD: { status: 400, title: 'The payload is not JSON' },
  SPOOL_PAYLOAD_TOO_LARGE: { status: 413, title: 'The payload is too large' },
  SPOOL_INVALID_QUEUE_NAME: { status: 400, title: 'The queue name is invalid' },
  SPOOL_JOB_NOT_FOUND: { status: 404, title: 'No such job' },
  SPOOL_SCHEDULE_NOT_FOUND: { status: 404, title: 'No such schedule' },
  SPOOL_INVALID_TRANSITION: { status: 409, title: 'The job is not in a state that allows this' },
  SPOOL_LEASE_LOST: { status: 409, title: 'The lease on this job is no longer held' },
  SPOOL_INVALID_STORE: { status: 400, title: 'The store address is not understood' },
  SPOOL_CLOSED: { status: 503, title: 'Spool is closing or closed' },
  SPOOL_QUEUE_FULL: { status: 503, title: 'The queue is full' },
  SPOOL_RATE_LIMITED: { status: 429, title: 'Too many enqueues' },
  SPOOL_DEPENDENCY_NOT_FOUND: { status: 422, title: 'A dependency does not exist' },
  SPOOL_BREAKER_NOT_FOUND: { status: 404, title: 'No such circuit breaker' },
  SPOOL_INVALID_FLOW: { status: 400, title: 'The flow is invalid' },
  SPOOL_INVALID_WORKFLOW: { status: 400, title: 'The workflow template is invalid' },
  SPOOL_WORKFLOW_NOT_FOUND: { status: 404, title: 'No such workflow or run' },
} as const

export type SpoolErrorCode = keyof typeof ERROR_CODES

/**
 * An error from Spool's own API. Nothing was changed when one is thrown.
 *
 * @example
 * try { await spool.jobs.retry(id) }
 * catch (error) { if (error instanceof SpoolError && error.code === 'SPOOL_INVALID_TRANSITION') … }
 */
export class SpoolError extends Error {
  override readonly name = 'SpoolError'
  readonly status: number

  constructor(
    readonly code: SpoolErrorCode,
    message: string,
    readonly details: { field?: string; [key: string]: unknown } = {},
  ) {
    super(message)
    this.status = ERROR_CODES[code].status
  }

  get field(): string | undefined {
    return this.details.field
  }
}

/**
 * Thrown by a handler: the job fails at once and goes to the dead-letter set, whatever attempts
 * are left.
 *
 * @example
 * spool.work('import', async (job) => { if (!valid(job.payload)) throw new UnrecoverableError('bad file') })
 */
export class UnrecoverableError extends Error {
  override readonly name = 'UnrecoverableError'
}

/**
 * Thrown by a handler when a provider asked it to slow down: the job runs again after
 * `retryAfterMs` (the job's backoff when that is not a number ≥ 0) and the attempt is not counted.
 *
 * @example
 * // parseRetryAfter reads both forms of the header (seconds or an HTTP date)
 * if (res.status === 429) throw new RateLimitedError(parseRetryAfter(res.headers.get('retry-after') ?? '60') ?? 60_000)
 */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError'
  constructor(
    readonly retryAfterMs: number,
    message = `rate limited; retry in ${retryAfterMs} ms`,
  ) {
    super(message)
  }
}

/** The reason a handler's signal fires when its job ran past `timeoutMs`. */
export class JobTimeoutError extends Error {
  override readonly name = 'TimeoutError'
  readonly code = 'SPOOL_JOB_TIMEOUT'
}

/** The reason a handler's signal fires when its job was cancelled. */
export class JobCancelledError extends Error {
  override readonly name = 'AbortError'
  readonly code = 'SPOOL_JOB_CANCELLED'
}

/** The reason a handler's signal fires when its worker no longer holds the lease. */
export class LeaseLostError extends Error {
  override readonly name = 'AbortError'
  readonly code = 'SPOOL_LEASE_LOST'
}

/** The reason a handler's signal fires when Spool shuts down; the job is handed back. */
export class ShutdownError extends Error {
  override readonly name = 'AbortError'
  readonly code = 'SPOOL_SHUTDOWN'
}
