/**
 * Row mapping shared by the stores. A column holding JSON arrives as text from SQLite and as a
 * parsed value from PostgreSQL's jsonb; `json` takes either, so one mapper serves both.
 */
import type {
  AttemptError,
  BackoffPolicy,
  BreakerRow,
  ClaimedJob,
  DependencyFailurePolicy,
  DependencyRow,
  DependentRow,
  EventType,
  JobRow,
  JobState,
  QueueConfig,
  QueueRow,
  RecordRow,
  SpoolEvent,
  WorkerRow,
} from './store.js'

/** A database row, column name to value. */
export type Row = Record<string, unknown>

/** Ids that are not positive safe integers match no job. */
export function toId(id: string): number {
  const n = Number(id)
  return Number.isSafeInteger(n) && n > 0 ? n : -1
}

export function emptyCounts(): Record<JobState, number> {
  return { waiting: 0, scheduled: 0, blocked: 0, active: 0, completed: 0, failed: 0, cancelled: 0 }
}

/** Most jobs share one backoff policy object: serialise it once. */
const backoffText = new WeakMap<BackoffPolicy, string>()
export function backoffJson(policy: BackoffPolicy): string {
  let text = backoffText.get(policy)
  if (text === undefined) {
    text = JSON.stringify(policy)
    backoffText.set(policy, text)
  }
  return text
}

export function isEmpty(object: Record<string, unknown>): boolean {
  for (const _ in object) return false
  return true
}

/** Claim order over claimed rows: priority, fair-queuing time, run_at, id. */
export function byRunOrder(a: Row, b: Row): number {
  return (
    (a.priority as number) - (b.priority as number) ||
    Number(a.vtime ?? 0) - Number(b.vtime ?? 0) ||
    Number(a.run_at) - Number(b.run_at) ||
    Number(a.id) - Number(b.id)
  )
}

/** A JSON column's value: parsed when it is text, as it is otherwise. */
function json<T>(value: unknown): T {
  if (typeof value !== 'string') return value as T
  if (value === '[]') return [] as T
  if (value === '{}') return {} as T
  return JSON.parse(value) as T
}

/** Jobs of a queue mostly share a backoff policy: parse each distinct text once (read-only). */
const parsedBackoff = new Map<string, BackoffPolicy>()
function backoff(value: unknown): BackoffPolicy {
  if (typeof value !== 'string') return value as BackoffPolicy
  let policy = parsedBackoff.get(value)
  if (policy === undefined) {
    policy = Object.freeze(JSON.parse(value) as BackoffPolicy)
    if (parsedBackoff.size >= 256) parsedBackoff.clear()
    parsedBackoff.set(value, policy)
  }
  return policy
}

export function toQueue(row: Row): QueueRow {
  return {
    name: row.name as string,
    paused: row.paused === true || row.paused === 1,
    pausedUntil: Number(row.paused_until ?? 0),
    config: json<QueueConfig>(row.config),
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  }
}

/** The columns a claim returns, shared by claimed jobs and full rows. */
export function toClaimed(row: Row): ClaimedJob {
  return {
    id: String(row.id),
    queue: row.queue as string,
    priority: row.priority as number,
    runAt: row.run_at as number,
    payload: row.payload as string,
    attempt: row.attempt as number,
    maxAttempts: row.max_attempts as number,
    backoff: backoff(row.backoff),
    timeoutMs: row.timeout_ms as number | null,
    idempotencyKey: row.idempotency_key as string | null,
    group: row.grp as string | null,
    tags: json<string[]>(row.tags),
    metadata: json<Record<string, unknown>>(row.metadata),
    tenant: (row.tenant as string | undefined) ?? 'default',
    leaseToken: row.lease_token as number,
    leaseExpiresAt: row.lease_expires_at as number,
    createdAt: row.created_at as number,
    startedAt: row.started_at as number,
  }
}

export function toJob(row: Row): JobRow {
  return {
    ...toClaimed(row),
    state: row.state as JobState,
    result: row.result as string | null,
    progress: row.progress === null || row.progress === undefined ? null : json(row.progress),
    errors: json(row.errors),
    leaseExpiresAt: row.lease_expires_at as number | null,
    workerId: row.worker_id as string | null,
    startedAt: row.started_at as number | null,
    finishedAt: row.finished_at as number | null,
    updatedAt: row.updated_at as number,
  }
}

export function toEvent(row: Row): SpoolEvent {
  return {
    id: row.id as number,
    at: row.at as number,
    type: row.type as EventType,
    queue: row.queue as string | null,
    jobId: row.job_id === null ? null : String(row.job_id),
    state: row.state as JobState | null,
    data: row.data === null || row.data === undefined ? {} : json(row.data),
  }
}

export function toBreaker(row: Row): BreakerRow {
  return {
    name: row.name as string,
    state: row.state as BreakerRow['state'],
    config: json(row.config),
    failures: Number(row.failures),
    successes: Number(row.successes),
    windowStart: Number(row.window_start),
    windowTotal: Number(row.window_total),
    windowFailures: Number(row.window_failures),
    openedAt: row.opened_at === null || row.opened_at === undefined ? null : Number(row.opened_at),
    updatedAt: Number(row.updated_at),
  }
}

export function toRecord(row: Row): RecordRow {
  return {
    collection: row.collection as string,
    id: row.id as string,
    seq: Number(row.seq),
    tenant: row.tenant as string,
    key: (row.key as string | null) ?? null,
    data: row.data as string,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

export function toWorker(row: Row): WorkerRow {
  return {
    id: row.id as string,
    nodeId: row.node_id as string,
    queue: row.queue as string,
    concurrency: Number(row.concurrency),
    running: json(row.running),
    info: json(row.info),
    startedAt: Number(row.started_at),
    seenAt: Number(row.seen_at),
  }
}

export function toDependent(row: Row): DependentRow {
  return {
    id: String(row.parent_id),
    queue: row.queue as string,
    state: row.state as JobState,
    tenant: row.tenant as string,
    onFailure: row.on_failure as DependencyFailurePolicy,
  }
}

export function toDependency(row: Row): DependencyRow {
  const errors = row.errors === null || row.errors === undefined ? [] : json<AttemptError[]>(row.errors)
  return {
    id: String(row.child_id),
    queue: (row.queue as string | null) ?? '',
    // A child removed by retention after it finished counts as completed without a result.
    state: (row.state as JobState | null) ?? 'completed',
    result: (row.result as string | null) ?? null,
    error: errors.at(-1) ?? null,
    onFailure: row.on_failure as DependencyFailurePolicy,
  }
}

/**
 * Rate-limit keys: the queue's own, and one per group under a prefix (see the stores' limits).
 * A breaker's sliding window counts its calls and failures in the same buckets, under a prefix
 * that names the time its counting began (`windowStart`): a reset starts new keys, and the old
 * buckets age out with the pruning.
 */
export const rateKey = {
  queue: (queue: string) => `q\u0000${queue}`,
  groupPrefix: (queue: string) => `g\u0000${queue}\u0000`,
  group: (queue: string, group: string) => `g\u0000${queue}\u0000${group}`,
  breakerPrefix: (name: string, since: number) => `b\u0000${name}\u0000${since}\u0000`,
}

/** The start (epoch ms) of the bucket of `width` ms that holds `at`: rate buckets are keyed by it. */
export function bucketStart(at: number, width: number): number {
  return Math.floor(at / width) * width
}

/** Sub-window width of a rate limit: ten buckets per window. */
export function rateBucketWidth(windowMs: number): number {
  return Math.max(1, Math.floor(windowMs / 10))
}

/** A breaker's failure-rate window when its policy names none. */
export const DEFAULT_BREAKER_WINDOW_MS = 60_000

/** Calls and failures a breaker counted in its sliding window, this call included. */
export interface BreakerWindow {
  calls: number
  failures: number
}

/**
 * Where a closed breaker's call is counted: the bucket (a tenth of the window, as for rate
 * limits) and the first bucket still inside the window. Buckets that began before
 * `now - windowMs` are left out, so the window slides in steps of a tenth and covers between
 * 90 % and 100 % of `windowMs`, never more.
 */
export function breakerBuckets(breaker: BreakerRow, now: number): { prefix: string; bucket: number; from: number } {
  const windowMs = breaker.config.windowMs ?? DEFAULT_BREAKER_WINDOW_MS
  return {
    prefix: rateKey.breakerPrefix(breaker.name, breaker.windowStart),
    bucket: bucketStart(now, rateBucketWidth(windowMs)),
    from: now - windowMs,
  }
}

/**
 * The breaker after one call's outcome, and whether its state changed. Shared by both stores so
 * their rules cannot drift; each store runs it under a row lock, after counting the call in the
 * breaker's sliding window (`window`: see breakerBuckets) when the breaker is closed.
 *
 * Closed, it opens after `failureThreshold` failures in a row, or when the failures in the last
 * `windowMs` reach `failureRate` of the calls, once at least `minimumCalls` (default 10) were
 * counted there.
 */
export function nextBreaker(breaker: BreakerRow, success: boolean, now: number, window: BreakerWindow): BreakerRow {
  const policy = breaker.config
  const next = { ...breaker, updatedAt: now }
  if (breaker.state === 'open') return next
  if (breaker.state === 'half_open') {
    if (!success) return { ...next, state: 'open', openedAt: now, successes: 0 }
    const successes = breaker.successes + 1
    if (successes < policy.successThreshold) return { ...next, successes }
    return {
      ...next,
      state: 'closed',
      failures: 0,
      successes: 0,
      windowStart: now,
      windowTotal: 0,
      windowFailures: 0,
      openedAt: null,
    }
  }
  next.windowTotal = window.calls
  next.windowFailures = window.failures
  if (success) return { ...next, failures: 0 }
  next.failures += 1
  const byCount = next.failures >= policy.failureThreshold
  const byRate =
    policy.failureRate !== undefined &&
    window.calls >= (policy.minimumCalls ?? 10) &&
    window.failures / window.calls >= policy.failureRate
  return byCount || byRate ? { ...next, state: 'open', openedAt: now, successes: 0 } : next
}
