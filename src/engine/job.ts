import type {
  AttemptError,
  DependencyFailurePolicy,
  DependencyRow,
  JobProgress,
  JobRow,
  JobState,
} from '../store/store.js'
import { type Codec, PLAIN } from './codec.js'
import type { EnqueueOptions } from './options.js'

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
  tenant: string
  createdAt: Date
}

/** A child job to add at run time (fan-out). */
export interface ChildJob {
  queue: string
  payload: unknown
  options?: EnqueueOptions
  /** What this job does if the child fails for good (default `fail`). */
  onFailure?: DependencyFailurePolicy
}

/** A dependency's outcome as its parent's handler sees it. */
export interface ChildResult<R = unknown> {
  id: string
  queue: string
  state: JobState
  /** The child's result (null unless it completed). */
  result: R | null
  /** Its last error, when it failed. */
  error: AttemptError | null
  onFailure: DependencyFailurePolicy
}

/** Returned by `ctx.waitForChildren`: hand it back from the handler. */
export interface WaitingForChildren {
  readonly waitingFor: string[]
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
  /**
   * The outcomes of this job's dependencies (children of a flow, or children it added with
   * `waitForChildren`), oldest first; empty on a job without any. Children whose policy is
   * `ignore` and that failed are left out.
   */
  children<R = unknown>(): Promise<ChildResult<R>[]>
  /**
   * Fan-out: adds `children` and parks this job (`blocked`, the attempt given back) until they
   * have finished; then the handler runs again and `children()` has their results. Return what
   * it returns: nothing the handler does after it is written.
   *
   * @example
   * spool.work('transcribe', async (job, ctx) => {
   *   const done = await ctx.children<Words>()
   *   if (done.length === 0) return ctx.waitForChildren(chunks(job.payload).map((c) => ({ queue: 'chunk', payload: c })))
   *   return stitch(done.map((child) => child.result))
   * })
   */
  waitForChildren(children: ChildJob[]): Promise<WaitingForChildren>
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
  tenant: string
  timeoutMs: number | null
  runAt: Date
  createdAt: Date
  startedAt: Date | null
  finishedAt: Date | null
  workerId: string | null
}

export function toJobInfo<P, R>(row: JobRow, codec: Codec = PLAIN): JobInfo<P, R> {
  return {
    id: row.id,
    queue: row.queue,
    state: row.state,
    priority: row.priority,
    payload: JSON.parse(codec.decode(row.payload)) as P,
    result: row.result === null ? null : (JSON.parse(codec.decode(row.result)) as R),
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    progress: row.progress,
    errors: row.errors,
    group: row.group,
    tags: row.tags,
    metadata: row.metadata,
    idempotencyKey: row.idempotencyKey,
    tenant: row.tenant,
    timeoutMs: row.timeoutMs,
    runAt: new Date(row.runAt),
    createdAt: new Date(row.createdAt),
    startedAt: row.startedAt === null ? null : new Date(row.startedAt),
    finishedAt: row.finishedAt === null ? null : new Date(row.finishedAt),
    workerId: row.workerId,
  }
}

export function toChildResult<R>(row: DependencyRow, codec: Codec): ChildResult<R> {
  return {
    id: row.id,
    queue: row.queue,
    state: row.state,
    result: row.result === null ? null : (JSON.parse(codec.decode(row.result)) as R),
    error: row.error,
    onFailure: row.onFailure,
  }
}
