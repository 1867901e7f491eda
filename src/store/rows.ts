/**
 * Row mapping shared by the stores. A column holding JSON arrives as text from SQLite and as a
 * parsed value from PostgreSQL's jsonb; `json` takes either, so one mapper serves both.
 */
import type {
  BackoffPolicy,
  ClaimedJob,
  EventType,
  JobRow,
  JobState,
  QueueConfig,
  QueueRow,
  SpoolEvent,
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

/** Claim order: priority, then run_at, then id. */
export function byRunOrder(a: ClaimedJob, b: ClaimedJob): number {
  return a.priority - b.priority || a.runAt - b.runAt || Number(a.id) - Number(b.id)
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
