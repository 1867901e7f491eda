import type { AttemptError, JobProgress, JobRow, JobState } from '../store/store.js'

/** A job as a handler sees it. */
export interface Job<P = unknown> {
  id: string
  queue: string
  payload: P
  /** 1 on the first attempt. */
  attempt: number
  maxAttempts: number
  priority: number
  group: string | null
  tags: string[]
  metadata: Record<string, unknown>
  idempotencyKey: string | null
  createdAt: Date
}

/** What a handler gets besides its job. */
export interface JobContext {
  /**
   * Fires when the job times out, is cancelled, loses its lease or Spool shuts down; its
   * `reason` says which (`SPOOL_JOB_TIMEOUT`, `SPOOL_JOB_CANCELLED`, `SPOOL_LEASE_LOST`,
   * `SPOOL_SHUTDOWN` in `reason.code`). Pass it to fetch and friends.
   */
  signal: AbortSignal
  /** Records progress (0–100) and an optional stage and message. Never throws; false when the lease is gone. */
  progress(percent: number, stage?: string, message?: string): Promise<boolean>
  /** Adds a line to the job's log. Never throws; false when the lease is gone. */
  log(message: string, level?: 'debug' | 'info' | 'warn' | 'error'): Promise<boolean>
}

export type Handler<P = unknown, R = unknown> = (job: Job<P>, ctx: JobContext) => Promise<R> | R

/** A job as the management API returns it: payload and result parsed. */
export interface JobInfo<P = unknown, R = unknown> {
  id: string
  queue: string
  state: JobState
  priority: number
  payload: P
  result: R | null
  attempt: number
  maxAttempts: number
  progress: JobProgress | null
  /** Every failed attempt, oldest first. */
  errors: AttemptError[]
  group: string | null
  tags: string[]
  metadata: Record<string, unknown>
  idempotencyKey: string | null
  timeoutMs: number | null
  runAt: Date
  createdAt: Date
  startedAt: Date | null
  finishedAt: Date | null
  workerId: string | null
}

export function toJobInfo<P, R>(row: JobRow): JobInfo<P, R> {
  return {
    id: row.id,
    queue: row.queue,
    state: row.state,
    priority: row.priority,
    payload: JSON.parse(row.payload) as P,
    result: row.result === null ? null : (JSON.parse(row.result) as R),
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    progress: row.progress,
    errors: row.errors,
    group: row.group,
    tags: row.tags,
    metadata: row.metadata,
    idempotencyKey: row.idempotencyKey,
    timeoutMs: row.timeoutMs,
    runAt: new Date(row.runAt),
    createdAt: new Date(row.createdAt),
    startedAt: row.startedAt === null ? null : new Date(row.startedAt),
    finishedAt: row.finishedAt === null ? null : new Date(row.finishedAt),
    workerId: row.workerId,
  }
}
