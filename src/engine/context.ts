/**
 * What the engine's parts (workers, flows, admin APIs, leases, schedules) need from the `Spool`
 * that made them. `Spool` implements it; the parts depend on this narrow view, not on `Spool`,
 * so the front door can import them without a cycle.
 */
import type { JobState, NewJob, QueueConfig } from '../store/store.js'
import type { Codec } from './codec.js'
import type { EventHub } from './events.js'
import type { EnqueueOptions } from './options.js'
import type { QueueConfigs } from './queue-config.js'
import type { Tracing } from './tracing.js'

export interface EnqueueResult {
  id: string
  /** false when an idempotency key matched an existing job (returned instead). */
  created: boolean
  state: JobState
  /**
   * Runnable jobs of the queue ahead of this one (0: next) when it is waiting; null when it is
   * delayed or blocked, or the enqueue said `position: false`. Counted up to 1,000 (see
   * `positionCapped`); `spool.jobs.position(id)` counts them all, later.
   */
  position: number | null
  /** True when more jobs are ahead than were counted: `position` is then a lower bound. */
  positionCapped?: true
  /**
   * Estimated ms until it starts: (position + 1) over the jobs the queue completed per ms in the
   * last five minutes, or a delayed job's delay; null when unknown.
   */
  estimatedWaitMs: number | null
}

export interface EngineContext {
  readonly nodeId: string
  /** OpenTelemetry spans, when `tracing` is on; null otherwise. */
  readonly tracing: Tracing | null
  readonly codec: Codec
  readonly configs: QueueConfigs
  readonly events: EventHub
  /** Throws `SPOOL_CLOSED` once closing has begun. */
  assertOpen(): void
  /** Something changed: wake local workers of these queues (all when empty) and event readers. */
  changed(queues?: string[]): void
  /** A queue's settings changed here: workers re-read them now. */
  configured(queue: string): void
  /** Abort a job running in this process (it was cancelled). */
  abortLocal(queue: string, jobId: string): void
  ensureQueue(queue: string): Promise<void>
  /** Validates one job, applies its queue's config and encodes its payload. */
  prepare(
    queue: string,
    payload: unknown,
    options: EnqueueOptions | undefined,
    config: QueueConfig,
    now: number,
    field?: string,
  ): NewJob
  /** Inserts prepared jobs under their queues' admission limits; a refusal throws. */
  insert(
    jobs: NewJob[],
    now: number,
    transaction?: unknown,
  ): Promise<{ id: string; created: boolean; state: JobState }[]>
  enqueueMany<P>(
    queue: string,
    items: { payload: P; options?: EnqueueOptions }[],
    batch?: { transaction?: unknown; position?: boolean },
  ): Promise<EnqueueResult[]>
}
