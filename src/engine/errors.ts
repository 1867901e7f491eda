/**
 * Two families of errors (see docs/concepts.md):
 *
 * - `SpoolError`: what Spool's API throws, with a stable `code` from the catalogue below, an
 *   HTTP status for the server to answer with, and the `field` at fault where there is one.
 * - Errors a handler throws to steer its own job: `UnrecoverableError` (fail now, no retry),
 *   `RateLimitedError` (try again at a given time without spending an attempt).
 */

/**
 * One entry of an error catalogue: the HTTP status to answer with, a short title, when the code
 * happens and what the caller can do. Each area keeps its own list (this file for the engine,
 * `audio/errors.ts`, `ai/errors.ts`, `server/errors.ts`); `server/errors.ts` composes them into
 * the one catalogue the server maps from and the docs' tables are generated from
 * (`npm run docs:errors`). A code is defined in exactly one list.
 */
export interface ErrorEntry {
  readonly status: number
  readonly title: string
  /** When it happens (one sentence, Markdown). */
  readonly when: string
  /** What to do about it (one sentence, Markdown). */
  readonly fix: string
  /** OpenAI-compatible routes: the `error.type` / `error.code` OpenAI uses, where it differs from the default. */
  readonly openAi?: { readonly type?: string; readonly code?: string }
}

export const ERROR_CODES = {
  SPOOL_INVALID_OPTION: {
    status: 400,
    title: 'An option is invalid',
    when: 'An option, item list, priority, cursor, `limit`, retention rule, worker option, or CLI flag or environment value is invalid (`field` names it).',
    fix: 'Correct the value named by `field`.',
  },
  SPOOL_INVALID_PAYLOAD: {
    status: 400,
    title: 'The payload is not JSON',
    when: "The payload (or a handler's result, or `metadata`) cannot be written as JSON, or the CLI's JSON argument does not parse.",
    fix: 'Send plain JSON values (no functions, cycles or BigInts).',
  },
  SPOOL_PAYLOAD_TOO_LARGE: {
    status: 413,
    title: 'The payload is too large',
    when: 'The payload is larger than `maxPayloadBytes` (`limits.payloadBytes` on the server, 1 MiB; `limit` says how much).',
    fix: 'Store large inputs elsewhere and pass a reference.',
  },
  SPOOL_INVALID_QUEUE_NAME: {
    status: 400,
    title: 'The queue name is invalid',
    when: 'The queue name does not match the queue-name rule.',
    fix: 'Use 1–128 letters, digits, `.`, `_`, `-` or `:`, starting with a letter or digit.',
  },
  SPOOL_JOB_NOT_FOUND: {
    status: 404,
    title: 'No such job',
    when: 'No job with this id (in this tenant).',
    fix: 'Check the id; finished jobs may have been removed by retention.',
  },
  SPOOL_SCHEDULE_NOT_FOUND: {
    status: 404,
    title: 'No such schedule',
    when: 'No schedule with this name.',
    fix: 'Check the name, or create the schedule first.',
  },
  SPOOL_INVALID_TRANSITION: {
    status: 409,
    title: 'The job is not in a state that allows this',
    when: "The job's state does not allow the action, e.g. cancelling a completed job (`details.state` says what it is).",
    fix: 'Read the job and act on its current state.',
  },
  SPOOL_LEASE_LOST: {
    status: 409,
    title: 'The lease on this job is no longer held',
    when: "A remote worker's heartbeat, progress, log, complete or fail (`spool.leases`, `/v1/leases`) presented a lease token that is no longer current: the lease expired, went to another worker, or the job was cancelled. Also a handler's `signal.reason.code`.",
    fix: 'Stop working on the job; its new owner or recovery decides its fate.',
  },
  SPOOL_INVALID_STORE: {
    status: 400,
    title: 'The store address is not understood',
    when: '`Spool.open` got a store address with an unknown scheme.',
    fix: 'Use a `sqlite:` or `postgres:` address (the message lists the known schemes).',
  },
  SPOOL_CLOSED: {
    status: 503,
    title: 'Spool is closing or closed',
    when: '`spool.close()` has begun.',
    fix: 'Retry against a running instance.',
  },
  SPOOL_QUEUE_FULL: {
    status: 503,
    title: 'The queue is full',
    when: "An enqueue would pass the queue's `maxSize`, or the server's `limits.maxQueueDepth`; nothing is written.",
    fix: 'Retry after `Retry-After`, or raise the limit.',
  },
  SPOOL_RATE_LIMITED: {
    status: 429,
    title: 'Too many requests',
    when: "Over the queue's, the tenant's or the user's enqueue rate (`details.retryAfterMs`).",
    fix: 'Retry after `Retry-After`.',
  },
  SPOOL_DEPENDENCY_NOT_FOUND: {
    status: 422,
    title: 'A dependency does not exist',
    when: 'A job names a `dependsOn` job that does not exist; nothing is written.',
    fix: 'Enqueue the dependency first, or drop it.',
  },
  SPOOL_BREAKER_NOT_FOUND: {
    status: 404,
    title: 'No such circuit breaker',
    when: 'No circuit breaker with this name.',
    fix: 'List the breakers to see their names.',
  },
  SPOOL_INVALID_FLOW: {
    status: 400,
    title: 'The flow is invalid',
    when: 'A flow is not a tree of job objects, or holds too many jobs (`field` names the part).',
    fix: 'Correct the part named by `field`.',
  },
  SPOOL_INVALID_WORKFLOW: {
    status: 400,
    title: 'The workflow template is invalid',
    when: 'A workflow template is not a DAG of valid steps: a duplicate or unknown step id, a cycle, a `$result` of a step it does not depend on, or a condition outside the allowed operations (`field` names the step).',
    fix: 'Correct the step named by `field`.',
  },
  SPOOL_WORKFLOW_NOT_FOUND: {
    status: 404,
    title: 'No such workflow or run',
    when: 'No workflow template with this name, or no run with this id (in this tenant).',
    fix: 'Check the name or id; list the workflows or their runs.',
  },
} as const satisfies Record<string, ErrorEntry>

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
