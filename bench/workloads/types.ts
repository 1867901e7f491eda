/**
 * What the harness (bench/run.ts) and the per-system child processes share: the workload
 * names, their sizes, the one-line JSON results, and the small driver interface each system
 * implements so that every workload runs the very same code against both.
 */

export const WORKLOADS = [
  'bulk-enqueue',
  'single-enqueue',
  'drain-c1',
  'drain-c10',
  'drain-c50',
  'latency',
  'timer-50ms',
  'priority',
] as const
export type Workload = (typeof WORKLOADS)[number]

export const SYSTEMS = ['spool', 'bullmq'] as const
export type SystemName = (typeof SYSTEMS)[number]

export interface Sizes {
  /** Jobs added by `enqueueMany` / `addBulk`, and the chunk size of each call. */
  bulkJobs: number
  chunk: number
  /** Jobs added one `await`ed call at a time. */
  singleJobs: number
  /** Pre-enqueued no-op jobs drained at concurrency 10 and 50, and at concurrency 1. */
  drainJobs: number
  drainJobsC1: number
  /** Jobs enqueued one by one at `latencyPerSec` while an idle worker waits. */
  latencyJobs: number
  latencyPerSec: number
  latencyConcurrency: number
  /** Jobs that each await a `timerMs` timer, at `timerConcurrency`. */
  timerJobs: number
  timerMs: number
  timerConcurrency: number
  /** Low jobs drained; `priorityHigh` high jobs are enqueued once `priorityTriggerAt` have started. */
  priorityLow: number
  priorityHigh: number
  priorityTriggerAt: number
  priorityConcurrency: number
  priorityHandlerMs: number
}

export const FULL_SIZES: Sizes = {
  bulkJobs: 20_000,
  chunk: 1_000,
  singleJobs: 5_000,
  drainJobs: 20_000,
  drainJobsC1: 20_000,
  latencyJobs: 500,
  latencyPerSec: 50,
  latencyConcurrency: 10,
  timerJobs: 2_000,
  timerMs: 50,
  timerConcurrency: 50,
  priorityLow: 5_000,
  priorityHigh: 10,
  priorityTriggerAt: 1_000,
  priorityConcurrency: 50,
  priorityHandlerMs: 1,
}

/** `--quick`: a smoke run, a tenth of the work (figures are not comparable with a full run). */
export const QUICK_SIZES: Sizes = {
  ...FULL_SIZES,
  bulkJobs: 2_000,
  chunk: 500,
  singleJobs: 500,
  drainJobs: 2_000,
  drainJobsC1: 1_000,
  latencyJobs: 100,
  timerJobs: 500,
  priorityLow: 1_000,
  priorityTriggerAt: 200,
}

/** argv[3] of a child: everything but the workload name (argv[2]). */
export interface ChildOptions {
  sizes: Sizes
  /** Spool: an empty folder for this measurement's SQLite file. */
  spoolDir?: string
  /** BullMQ: the harness's redis-server. */
  redisPort?: number
}

export interface Throughput {
  kind: 'throughput'
  jobs: number
  /** From the first call (enqueue) or worker start (drain) until the last job is recorded. */
  ms: number
  jobsPerSec: number
  /** Drains: when the last handler returned, from worker start (completion is recorded after). */
  lastHandlerMs?: number
  /** Timer workload: concurrency × 1000 / timerMs. */
  idealJobsPerSec?: number
  pctOfIdeal?: number
}

export interface Latency {
  kind: 'latency'
  jobs: number
  /** Enqueue → handler start, in ms. */
  p50: number
  p95: number
  p99: number
  max: number
  /** Achieved enqueue rate (target `latencyPerSec`). */
  enqueuePerSec: number
}

export interface PriorityCheck {
  kind: 'priority'
  /** Low jobs that started after the high ones were enqueued and before the last high one started. */
  violations: number
  /** Jobs started when the high jobs' enqueue call returned. */
  startedAtEnqueue: number
  /** Jobs that started while that call was in flight (neither counted nor excused). */
  startedDuringEnqueue: number
  /** Low jobs not yet started at that moment. */
  lowWaitingAtEnqueue: number
  /** Start positions of the high jobs, counted from that moment (0 = the next job to start). */
  highStartOffsets: number[]
  ms: number
}

export type Result = Throughput | Latency | PriorityCheck

export interface Payload {
  i: number
  /** Latency: wall-clock enqueue time in ms (performance.timeOrigin + performance.now()). */
  t?: number
  kind?: 'low' | 'high'
}

export interface Item {
  payload: Payload
  /** Spool: 'high' / 'low'; BullMQ: 1 / 100. Absent: each system's default (FIFO). */
  priority?: 'high' | 'low'
}

export type Handler = (payload: Payload) => Promise<void>

export interface WorkerHandle {
  /** Starts processing (the worker is constructed and connected before, outside the timing). */
  start(): void
  /**
   * Resolves once `n` jobs are recorded completed by the system: Spool after the last handler
   * returned and `spool.queues.counts(queue).completed` shows all n; BullMQ on the n-th
   * worker 'completed' event (emitted after the job was moved to completed in Redis).
   */
  completed(n: number): Promise<void>
  /** `performance.now()` when the last handler returned. */
  lastReturnAt(): number
  close(): Promise<void>
}

/** One queue system, as the workloads use it. */
export interface Driver {
  enqueueMany(queue: string, items: Item[]): Promise<void>
  enqueue(queue: string, item: Item): Promise<void>
  worker(queue: string, handler: Handler, concurrency: number): Promise<WorkerHandle>
  /** Removes a queue's data (BullMQ: obliterate; Spool: nothing, its file is deleted after). */
  cleanup(queue: string): Promise<void>
  close(): Promise<void>
}
