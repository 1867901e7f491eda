/**
 * The storage seam. The engine speaks to a database only through this interface, so SQLite and
 * PostgreSQL differ here and nowhere else (capability flags, never dialect checks in the engine).
 *
 * Every state change a method makes is written together with its event rows, in one
 * transaction: a reader who sees the new state also sees the event, and event ids grow in
 * commit order. Methods that act on a leased job take its `leaseToken` and change nothing when
 * the token is stale (the fencing rule): a worker that lost its lease can never overwrite the
 * new owner.
 *
 * Payloads and results cross this seam as JSON text that the engine has already serialised
 * (and, later, encrypted): the store never parses them.
 */

export const JOB_STATES = ['waiting', 'scheduled', 'blocked', 'active', 'completed', 'failed', 'cancelled'] as const
export type JobState = (typeof JOB_STATES)[number]

/** States a job can no longer leave on its own (only by an explicit retry or removal). */
export const FINISHED_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled']

export interface BackoffPolicy {
  type: 'fixed' | 'exponential'
  /** Base delay in ms (the whole delay for `fixed`). */
  delayMs: number
  /** Upper bound for exponential delays, in ms. */
  maxDelayMs: number
  /** Fraction of the delay drawn at random, 0 (none) to 1 (full jitter). */
  jitter: number
}

/** One failed attempt, as kept on the job and shown in its history. */
export interface AttemptError {
  at: number
  attempt: number
  message: string
  name?: string
  code?: string
  stack?: string
  retryable: boolean
}

export interface JobProgress {
  percent: number
  stage?: string
  message?: string
}

/** A job as stored. Times are epoch milliseconds. */
export interface JobRow extends NewJob {
  id: string
  state: JobState
  result: string | null
  attempt: number
  progress: JobProgress | null
  errors: AttemptError[]
  leaseToken: number
  leaseExpiresAt: number | null
  workerId: string | null
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  updatedAt: number
}

/** What the engine hands the store to create a job; the store assigns id, state and times. */
export interface NewJob {
  queue: string
  priority: number
  /** When the job may first run; later than `now` makes it `scheduled`. */
  runAt: number
  payload: string
  maxAttempts: number
  backoff: BackoffPolicy
  timeoutMs: number | null
  idempotencyKey: string | null
  group: string | null
  tags: string[]
  metadata: Record<string, unknown>
}

/** A job the store has just leased to a worker. */
export interface ClaimedJob extends Omit<NewJob, 'payload'> {
  id: string
  payload: string
  attempt: number
  leaseToken: number
  leaseExpiresAt: number
  createdAt: number
  startedAt: number
}

export interface ClaimParams {
  queue: string
  workerId: string
  limit: number
  leaseMs: number
  now: number
  /** Completions to record first, in the same transaction. */
  completions?: Completion[]
}

export interface Lease {
  id: string
  leaseToken: number
}

/** A finished job's result (JSON text), to be recorded under its lease. */
export interface Completion extends Lease {
  /** The job's queue, as the claim returned it. */
  queue: string
  result: string | null
}

export type EventType =
  | 'job.created'
  | 'job.active'
  | 'job.progress'
  | 'job.log'
  | 'job.completed'
  | 'job.retrying'
  | 'job.failed'
  | 'job.cancelled'
  | 'job.waiting'
  | 'job.priority'
  | 'job.removed'
  | 'queue.paused'
  | 'queue.resumed'
  | 'queue.configured'

export interface SpoolEvent {
  /** Grows with every event; resume a stream from the last id you saw. */
  id: number
  at: number
  type: EventType
  queue: string | null
  jobId: string | null
  /** The job's state after the event, for job events that change or report it. */
  state: JobState | null
  data: Record<string, unknown>
}

export interface QueueRow {
  name: string
  paused: boolean
  config: QueueConfig
  createdAt: number
  updatedAt: number
}

export interface RetentionRule {
  /** Remove jobs finished longer ago than this. */
  maxAgeMs?: number
  /** Keep at most this many (the newest). */
  maxCount?: number
}

export interface QueueConfig {
  retention?: { completed?: RetentionRule; failed?: RetentionRule; cancelled?: RetentionRule }
}

/** Why a guarded change did not happen. */
export type Refusal =
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'invalid_state'; state: JobState }
  | { ok: false; reason: 'lease_lost' }

export type Outcome<T = JobRow> = { ok: true; job: T } | Refusal

export interface StatsBucket {
  /** Start of the minute, epoch ms. */
  minute: number
  completed: number
  failed: number
  retried: number
}

export interface Timing {
  /** ms from becoming runnable (run_at) to start. */
  waitMs: number
  /** ms from start to finish. */
  runMs: number
}

/** What another process's write may have changed, so each listener wakes only for its own kind. */
export interface WakeHint {
  /** Jobs may have become runnable (enqueue, retry, promotion, release, resume…): workers look. */
  jobs: boolean
  /** Events were written: live subscriptions read. */
  events: boolean
}

export interface StoreCapabilities {
  /** Claims skip rows other transactions hold instead of waiting on them. */
  supportsSkipLocked: boolean
  /** The store pushes wake-up hints across processes (LISTEN/NOTIFY, file-system watch). */
  supportsListenNotify: boolean
  /** Jobs can be enqueued inside the application's own database transaction. */
  supportsTransactionalEnqueue: boolean
  /** Several machines may share the store. */
  multiNode: boolean
}

export interface Store {
  readonly capabilities: StoreCapabilities

  /** Apply pending migrations; safe to call twice or from two processes at once. */
  migrate(): Promise<{ applied: number[] }>
  close(): Promise<void>
  /** Called whenever another process may have written (a hint, not a promise). */
  onWake(listener: (hint: WakeHint) => void): () => void

  queueEnsure(params: { name: string; now: number }): Promise<QueueRow>
  queueGet(params: { name: string }): Promise<QueueRow | null>
  queueList(): Promise<QueueRow[]>
  queueConfigure(params: { name: string; config: QueueConfig; now: number }): Promise<QueueRow>
  queuePause(params: { name: string; paused: boolean; now: number }): Promise<QueueRow>
  queueCounts(params: { queue?: string }): Promise<Record<string, Record<JobState, number>>>

  /** Insert jobs atomically. A job whose (queue, idempotencyKey) exists returns the existing id. */
  jobInsert(params: {
    jobs: NewJob[]
    now: number
    /**
     * The application's own open transaction (for PostgreSQL, a `pg` client after BEGIN), when
     * `capabilities.supportsTransactionalEnqueue`; the store writes in it and does not commit.
     */
    transaction?: unknown
  }): Promise<{ id: string; created: boolean; state: JobState }[]>
  /**
   * Lease up to `limit` runnable jobs, best first (priority, then run_at, then id). Completions
   * passed in `completions` are written first, in the same transaction (as `jobComplete` would):
   * a worker's round of "record what finished, take what is next" is one commit.
   */
  jobClaim(params: ClaimParams): Promise<{ jobs: ClaimedJob[]; completed: boolean[] }>
  /** The earliest run_at after `now` among the queue's jobs, for a worker's idle timer. */
  jobNextRunAt(params: { queue: string; now: number }): Promise<number | null>
  /** Complete many leased jobs; each only if it is still active under its token. */
  jobComplete(params: { items: Completion[]; now: number }): Promise<boolean[]>
  /**
   * Record a failed attempt. `retryAt` null sends the job to `failed` (the dead-letter set);
   * otherwise it becomes scheduled (or waiting when due). `refundAttempt` gives the attempt back
   * (rate limits). `error` null records nothing in the job's history.
   */
  jobFail(
    params: Lease & {
      error: AttemptError | null
      retryAt: number | null
      refundAttempt: boolean
      now: number
    },
  ): Promise<Outcome<{ state: JobState }>>
  /** Extend the leases still held; false where the lease is gone. */
  jobHeartbeat(params: { items: Lease[]; leaseMs: number; now: number }): Promise<boolean[]>
  jobProgress(params: Lease & { progress: JobProgress; now: number }): Promise<boolean>
  jobLog(params: {
    id: string
    leaseToken?: number
    level: 'debug' | 'info' | 'warn' | 'error'
    message: string
    now: number
  }): Promise<boolean>
  /** Hand an active job back unharmed (shutdown): waiting again, attempt refunded. */
  jobRelease(params: Lease & { now: number }): Promise<boolean>

  jobGet(params: { id: string }): Promise<JobRow | null>
  jobList(params: {
    queue?: string
    state?: JobState
    /** Return jobs with id below this one (newest first). */
    beforeId?: string
    limit: number
  }): Promise<JobRow[]>
  /** waiting/scheduled/blocked/active → cancelled. */
  jobCancel(params: { id: string; now: number }): Promise<Outcome>
  /** failed/cancelled → waiting, with a fresh set of attempts. */
  jobRetry(params: { id: string; now: number }): Promise<Outcome>
  jobReprioritize(params: { id: string; priority: number; now: number }): Promise<Outcome>
  /** scheduled → waiting now. */
  jobPromote(params: { id: string; now: number }): Promise<Outcome>
  /** Delete a job that is not active, with its events. */
  jobRemove(params: { id: string; now: number }): Promise<Outcome>
  /** How many runnable jobs of its queue run before this one; null when it is not runnable. */
  jobPosition(params: { id: string; now: number }): Promise<number | null>

  /** Active jobs whose lease lapsed go back to waiting (or to failed when out of attempts). */
  jobRecoverExpired(params: { now: number }): Promise<{ id: string; state: JobState }[]>
  /** Due scheduled jobs become waiting. */
  jobPromoteDue(params: { now: number; limit: number }): Promise<number>
  /** Finished jobs in `state` that the rule no longer keeps; deletes them unless `dryRun`. */
  jobCleanup(params: {
    queue: string
    state: 'completed' | 'failed' | 'cancelled'
    rule: RetentionRule
    now: number
    dryRun: boolean
  }): Promise<{ count: number; sampleIds: string[] }>

  eventList(params: { afterId: number; queue?: string; jobId?: string; limit: number }): Promise<SpoolEvent[]>
  eventLastId(): Promise<number>

  statsBuckets(params: { queue?: string; since: number }): Promise<StatsBucket[]>
  /** Timings of the queue's most recently finished jobs. */
  statsTimings(params: { queue?: string; limit: number }): Promise<Timing[]>
  /** Drop stats buckets and queue-level events older than `before`. */
  statsPrune(params: { before: number }): Promise<void>

  /** Hold or renew a named lease (e.g. maintenance leadership); true when `nodeId` holds it. */
  leaderAcquire(params: { name: string; nodeId: string; ttlMs: number; now: number }): Promise<boolean>
  leaderRelease(params: { name: string; nodeId: string }): Promise<void>
}
