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
  /** The tenant the job belongs to ('default' when there is one). */
  tenant: string
  /**
   * Weighted fair queuing between groups (a fair queue's config): the store gives the job a
   * virtual time after the group's previous one, so groups take turns within a priority level.
   */
  fairWeight?: number | null
  /** Jobs this one waits for (a flow): it stays `blocked` until they are resolved. */
  dependsOn?: Dependency[]
}

/** What a parent does when a dependency fails for good (failed or cancelled). */
export type DependencyFailurePolicy = 'fail' | 'ignore' | 'continue'

/** A dependency: an existing job's id, or the index of an earlier job in the same insert. */
export interface Dependency {
  id?: string
  index?: number
  onFailure: DependencyFailurePolicy
}

/** A dependency of a job as its handler sees it: the child's outcome and result. */
export interface DependencyRow {
  id: string
  queue: string
  state: JobState
  result: string | null
  error: AttemptError | null
  onFailure: DependencyFailurePolicy
}

/** A job that waits for another (its parent in a flow, or a job that named it in `dependsOn`). */
export interface DependentRow {
  id: string
  queue: string
  state: JobState
  tenant: string
  /** What this parent does when the child fails for good. */
  onFailure: DependencyFailurePolicy
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
  /**
   * The queue's limits, when it has any: the claim then takes the constrained path (one
   * transaction that counts, admits and leases under a lock), exact across processes. Without
   * them the fast claim runs, and it claims nothing from a queue marked constrained.
   */
  constraints?: ClaimConstraints | null
}

export interface RateLimit {
  /** Starts allowed in any window of `windowMs`. */
  max: number
  windowMs: number
}

export interface BreakerPolicy {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number
  /**
   * Or: the failure rate (0–1) within the last `windowMs` (a sliding window, default 60 s) that
   * opens it, once `minimumCalls` (default 10) were counted in that window.
   */
  failureRate?: number
  windowMs?: number
  minimumCalls?: number
  /** How long the breaker stays open before it lets probes through. */
  cooldownMs: number
  /** Probe jobs allowed at once while half-open. */
  halfOpenProbes: number
  /** Probe successes that close it again. */
  successThreshold: number
}

export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerRow {
  name: string
  state: BreakerState
  config: BreakerPolicy
  /** Consecutive failures while closed. */
  failures: number
  /** Probe successes while half-open. */
  successes: number
  /** When the sliding window's counting began (the last reset or close). */
  windowStart: number
  /** Calls and failures in the sliding window of `windowMs`, as of the last call counted. */
  windowTotal: number
  windowFailures: number
  openedAt: number | null
  updatedAt: number
}

export interface ClaimConstraints {
  /** Active jobs of the queue across every node. */
  concurrency?: number
  /** Starts of the queue. */
  rate?: RateLimit
  /** Active jobs per group. */
  groupConcurrency?: number
  /** Starts per group. */
  groupRate?: RateLimit
  /** The breaker the queue is bound to. */
  breaker?: { name: string; policy: BreakerPolicy }
}

export interface ClaimResult {
  jobs: ClaimedJob[]
  completed: boolean[]
  /** When limits held claims back: the earliest time a claim may succeed again. */
  retryAt?: number | null
  /** Queues whose jobs the completions made runnable (parents whose last dependency finished). */
  woke?: string[]
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
  | 'queue.throttled'
  | 'job.blocked'
  | 'breaker.opened'
  | 'breaker.half_open'
  | 'breaker.closed'

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
  /** The job's tenant, filled in by the engine's event hub when it reads events for subscribers. */
  tenant?: string | null
}

export interface QueueRow {
  name: string
  paused: boolean
  /** Claims wait until this time (a provider's Retry-After for the whole queue); 0 when not. */
  pausedUntil: number
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
  /** Active jobs across every node. */
  concurrency?: number
  /** Starts of the whole queue. */
  rateLimit?: RateLimit
  /** Limits and fairness per group (the job's `group`, or the key named by `groupBy`). */
  groups?: {
    concurrency?: number
    rateLimit?: RateLimit
    /** Serve groups in turn within a priority level; weights default to 1. */
    fair?: boolean
    weights?: Record<string, number>
  }
  /**
   * Where a job's group comes from when the enqueue names none: its tenant, the user who enqueued
   * it (the enqueue's `user`; the server sets it from the caller's credential), or a payload field.
   */
  groupBy?: 'tenant' | 'user' | { payload: string }
  /** Refuse enqueues beyond this many unfinished jobs (waiting, scheduled, blocked, active). */
  maxSize?: number
  /** Refuse enqueues beyond this many unfinished jobs in one group. */
  maxGroupSize?: number
  /** An enqueue rate per user (the enqueue's `user`), with a burst allowance. */
  admission?: { perUser?: { perSecond: number; burst: number } }
  /** A named circuit breaker: the queue does not claim while it is open. */
  breaker?: string
}

/** Why an insert wrote nothing: admission refused it. */
export interface InsertRefusal {
  queue: string
  group: string | null
  size: number
  limit: number
}

export interface AdmissionLimits {
  maxSize?: number
  maxGroupSize?: number
}

/** A document of the server's own (API key, audit entry, webhook…). */
export interface RecordRow {
  collection: string
  id: string
  /** Grows with every write: list order, and the audit log's sequence. */
  seq: number
  tenant: string
  key: string | null
  data: string
  createdAt: number
  updatedAt: number
}

export interface WorkerRow {
  id: string
  nodeId: string
  queue: string
  concurrency: number
  running: string[]
  info: Record<string, unknown>
  startedAt: number
  seenAt: number
}

export interface JobFilter {
  tenant?: string
  queue?: string
  state?: JobState
  group?: string
  tag?: string
  createdAfter?: number
  createdBefore?: number
  /** Text the payload contains (the store's plain text; the engine filters encrypted ones). */
  text?: string
  /** Text any attempt's error message contains (case-insensitive). */
  error?: string
}

/**
 * The order of a job listing: by id (the order jobs were created in) or by run_at (then id),
 * ascending or descending. The default is id, descending (newest first).
 */
export interface JobOrder {
  by: 'id' | 'runAt'
  dir: 'asc' | 'desc'
}

export interface LimitsRow {
  queue: string
  pausedUntil: number
  /** Starts counted in the current window, per rate-limit key ('' for the queue). */
  rateUsed: Record<string, number>
  groups: { group: string; pausedUntil: number; vtime: number }[]
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

  /**
   * Apply pending migrations; safe to call twice or from two processes at once. `through` stops
   * after that version (tests build a database as an older release left it, then upgrade it).
   */
  migrate(options?: { through?: number }): Promise<{ applied: number[] }>
  /** Migrations this code has that the database has not applied (empty when current); a cheap read, for readiness. */
  migrationsPending(): Promise<number[]>
  close(): Promise<void>
  /** Called whenever another process may have written (a hint, not a promise). */
  onWake(listener: (hint: WakeHint) => void): () => void

  queueEnsure(params: { name: string; now: number }): Promise<QueueRow>
  queueGet(params: { name: string }): Promise<QueueRow | null>
  queueList(): Promise<QueueRow[]>
  queueConfigure(params: { name: string; config: QueueConfig; now: number }): Promise<QueueRow>
  queuePause(params: { name: string; paused: boolean; now: number }): Promise<QueueRow>
  queueCounts(params: { queue?: string; tenant?: string }): Promise<Record<string, Record<JobState, number>>>
  /**
   * When each queue's oldest waiting job was created (epoch ms), by queue; null for a queue with
   * nothing waiting. One index probe per queue (the first-created job has the lowest id).
   */
  queueOldestWaiting(): Promise<Record<string, number | null>>
  /**
   * One tenant's oldest waiting job (of one queue, or of any): its id, queue and creation time
   * (epoch ms); null when the tenant has nothing waiting there.
   */
  jobOldestWaiting(params: {
    tenant: string
    queue?: string
  }): Promise<{ id: string; queue: string; createdAt: number } | null>
  /** Mark whether the queue's claims must take the constrained path. */
  queueConstrain(params: { name: string; constrained: boolean; now: number }): Promise<void>

  /**
   * Insert jobs atomically. A job whose (queue, tenant, idempotencyKey) exists returns the
   * existing id: a key never matches another tenant's job.
   */
  jobInsert(params: {
    jobs: NewJob[]
    now: number
    /**
     * The application's own open transaction (for PostgreSQL, a `pg` client after BEGIN), when
     * `capabilities.supportsTransactionalEnqueue`; the store writes in it and does not commit.
     */
    transaction?: unknown
    /** Admission limits per queue; an insert that would exceed one writes nothing. */
    admission?: Record<string, AdmissionLimits>
  }): Promise<{ id: string; created: boolean; state: JobState }[] | { refused: InsertRefusal }>
  /**
   * Lease up to `limit` runnable jobs, best first (priority, then run_at, then id). Completions
   * passed in `completions` are written first, in the same transaction (as `jobComplete` would):
   * a worker's round of "record what finished, take what is next" is one commit.
   */
  jobClaim(params: ClaimParams): Promise<ClaimResult>
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
      /** Also hold the whole queue (group null) or one group back until `until` (Retry-After). */
      pause?: { group: string | null; until: number }
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
  jobList(
    params: JobFilter & {
      /**
       * Keyset paging: return the jobs after this one in `order` (with the default order, jobs
       * with an id below it). `runAt` is the job's run_at, needed when ordering by it.
       */
      beforeId?: string
      beforeRunAt?: number
      order?: JobOrder
      limit: number
    },
  ): Promise<JobRow[]>
  /** How many jobs match the filter, counting at most `limit` (cheap to cap: a count never reads past it). */
  jobCount(params: JobFilter & { limit: number }): Promise<number>
  /** The tenant of each job that still exists (for scoping events). */
  jobTenants(params: { ids: string[] }): Promise<Map<string, string>>

  /**
   * Fan-out at run time: insert `children`, make the leased job wait for them (`blocked`, its
   * attempt given back) in one transaction. With no unfinished children it goes straight back to
   * waiting. Refused when the lease is gone.
   */
  jobWaitForChildren(
    params: Lease & { children: { job: NewJob; onFailure: DependencyFailurePolicy }[]; now: number },
  ): Promise<Outcome<{ state: JobState; childIds: string[] }>>
  /** A job's dependencies and their outcomes, in the order they were added. */
  jobDependencies(params: { id: string }): Promise<DependencyRow[]>
  /** The jobs waiting for this one (its parents), oldest first. */
  jobDependents(params: { id: string }): Promise<DependentRow[]>
  /** waiting/scheduled/blocked/active → cancelled, with its unfinished children. */
  jobCancel(params: { id: string; now: number }): Promise<Outcome>
  /** failed/cancelled → waiting, with a fresh set of attempts. */
  jobRetry(params: { id: string; now: number }): Promise<Outcome>
  jobReprioritize(params: { id: string; priority: number; now: number }): Promise<Outcome>
  /** scheduled → waiting now. */
  jobPromote(params: { id: string; now: number }): Promise<Outcome>
  /** Delete a job that is not active, with its events. */
  jobRemove(params: { id: string; now: number }): Promise<Outcome>
  /**
   * How many runnable jobs of its queue run before this one, counting at most `limit` (a cheap
   * answer for a long queue); null when it is not runnable.
   */
  jobPosition(params: { id: string; now: number; limit?: number }): Promise<number | null>

  /** Active jobs whose lease lapsed go back to waiting (or to failed when out of attempts). */
  jobRecoverExpired(params: { now: number }): Promise<{ id: string; state: JobState }[]>
  /** Due scheduled jobs become waiting. */
  jobPromoteDue(params: { now: number; limit: number }): Promise<number>
  /**
   * Finished jobs in `state` that the rule no longer keeps; deletes them unless `dryRun`. With
   * `tenant`, only that tenant's jobs among them (the rule still counts the whole queue).
   */
  jobCleanup(params: {
    queue: string
    state: 'completed' | 'failed' | 'cancelled'
    rule: RetentionRule
    now: number
    dryRun: boolean
    tenant?: string
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

  // ── limits and breakers ─────────────────────────────────────────────────────────────────
  /** Pauses and fair-queuing clocks; starts counted in the windows given (queue's, groups'). */
  limitsGet(params: { queue: string; now: number; windowMs?: number; groupWindowMs?: number }): Promise<LimitsRow>
  /** Forget counted starts and pauses of the queue and its groups. */
  limitsReset(params: { queue: string; now: number }): Promise<void>
  /** Drop rate-limit buckets that started before `before` (epoch ms). */
  limitsPrune(params: { before: number }): Promise<void>
  /** Take `cost` tokens from a bucket refilled at `ratePerSec` up to `burst`; how long to wait if short. */
  tokenTake(params: {
    key: string
    ratePerSec: number
    burst: number
    cost: number
    now: number
  }): Promise<{ ok: boolean; retryAfterMs: number }>

  /** Create a breaker or change its policy (its state stays). */
  breakerDefine(params: { name: string; policy: BreakerPolicy; now: number }): Promise<BreakerRow>
  breakerGet(params: { name: string }): Promise<BreakerRow | null>
  breakerList(): Promise<BreakerRow[]>
  /** Count a call's outcome; opens or closes the breaker when its policy says so. */
  breakerRecord(params: { name: string; success: boolean; now: number }): Promise<BreakerRow | null>
  /** Force a state by hand; `closed` also forgets the counts (reset). */
  breakerSet(params: { name: string; state: BreakerState; now: number }): Promise<BreakerRow | null>
  /**
   * A breaker's state changes (its `breaker.*` events), newest first, below `beforeId` when
   * given. They are queue-level events: kept as long as `statsPrune` keeps those.
   */
  breakerHistory(params: { name: string; beforeId?: number; limit: number }): Promise<SpoolEvent[]>

  // ── records and workers ─────────────────────────────────────────────────────────────────
  recordPut(params: {
    collection: string
    id: string
    tenant: string
    key: string | null
    data: string
    now: number
  }): Promise<RecordRow>
  recordGet(params: { collection: string; id: string }): Promise<RecordRow | null>
  recordFindByKey(params: { collection: string; key: string }): Promise<RecordRow | null>
  /** By seq, oldest first (or newest first with `order: 'desc'`), strictly between `afterSeq` and `beforeSeq`. */
  recordList(params: {
    collection: string
    tenant?: string
    afterSeq?: number
    beforeSeq?: number
    order?: 'asc' | 'desc'
    limit: number
  }): Promise<RecordRow[]>
  recordDelete(params: { collection: string; id: string }): Promise<boolean>

  workerBeat(params: Omit<WorkerRow, 'seenAt' | 'startedAt'> & { now: number }): Promise<void>
  workerRemove(params: { id: string }): Promise<void>
  /** Workers seen since `since`; older ones are forgotten. */
  workerList(params: { since: number }): Promise<WorkerRow[]>

  // ── schedules ───────────────────────────────────────────────────────────────────────────
  /**
   * Create a schedule or replace its settings. An existing schedule keeps its `nextRunAt` when
   * its cron, time zone and paused flag are unchanged; otherwise it takes the one given.
   */
  scheduleUpsert(params: { schedule: NewSchedule; now: number }): Promise<ScheduleRow>
  scheduleGet(params: { name: string }): Promise<ScheduleRow | null>
  /** By name. */
  scheduleList(params: { tenant?: string }): Promise<ScheduleRow[]>
  scheduleDelete(params: { name: string }): Promise<boolean>
  /** Pause, or resume from `nextRunAt` (applied only when the schedule was paused). */
  scheduleSetPaused(params: {
    name: string
    paused: boolean
    nextRunAt: number | null
    now: number
  }): Promise<ScheduleRow | null>
  /** Unpaused schedules whose next run is due, earliest first. */
  scheduleDue(params: { now: number; limit: number }): Promise<ScheduleRow[]>
  /**
   * Move a schedule on, only if it is still as the caller read it (its next run is `from`, same
   * cron and time zone, not paused): the compare-and-set that makes one node's advance win.
   * `lastRunAt` null keeps the previous one.
   */
  scheduleAdvance(params: {
    name: string
    from: number
    cron: string
    timezone: string
    nextRunAt: number | null
    lastRunAt: number | null
  }): Promise<boolean>
}

// ── schedules ─────────────────────────────────────────────────────────────────────────────

/** What happens to ticks missed while no node ran the schedules (see docs/concepts.md#schedules). */
export type CatchUpPolicy = 'none' | 'latest' | 'all'

/** A schedule as the engine hands it to the store. */
export interface NewSchedule {
  name: string
  tenant: string
  cron: string
  timezone: string
  queue: string
  /** The payload as JSON text. */
  payload: string
  /** The enqueue options, validated. */
  options: Record<string, unknown>
  catchUp: CatchUpPolicy
  paused: boolean
  /** The first tick after now; null when the expression never fires again. */
  nextRunAt: number | null
}

/** A schedule as stored. Times are epoch milliseconds. */
export interface ScheduleRow extends NewSchedule {
  /** The newest tick enqueued. */
  lastRunAt: number | null
  createdAt: number
  updatedAt: number
}
