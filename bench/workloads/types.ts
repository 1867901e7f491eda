/**
 * What the harness (bench/run.ts) and the per-system child processes share: the systems, the
 * workload names, their sizes, the one-line JSON results, and the small driver interface each
 * system implements so that every workload runs the very same code against all of them.
 */

/** The short workloads, run by default. */
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
/** Every workload a child can run: the short ones and the long `sustained` run (`--sustained`). */
export const ALL_WORKLOADS = [...WORKLOADS, 'sustained'] as const
export type Workload = (typeof ALL_WORKLOADS)[number]

/**
 * The systems, in table order. Each is one child script (`bench/workloads/<script>.ts`) and, for
 * two that share a script, a variant; `store` says where its data lives.
 */
export const SYSTEMS = {
  'spool-pg': { label: 'Spool-PG', script: 'spool', store: 'postgres' },
  'spool-sqlite': { label: 'Spool-SQLite', script: 'spool', store: 'sqlite' },
  'bullmq-redis': { label: 'BullMQ-Redis', script: 'bullmq', store: 'redis' },
  'bullmq-pg': { label: 'BullMQ-PG', script: 'bullmq', store: 'postgres' },
  graphile: { label: 'Graphile', script: 'graphile', store: 'postgres' },
  'graphile-batched': { label: 'Graphile batched', script: 'graphile', store: 'postgres' },
  pgboss: { label: 'pg-boss', script: 'pgboss', store: 'postgres' },
  // Another Spool checkout (`--base <dir>`, e.g. a git worktree of an earlier commit), for A/B
  // runs interleaved with the current code in one run; only when named in --systems.
  'spool-pg-base': { label: 'Spool-PG (base)', script: 'spool', store: 'postgres' },
  'spool-sqlite-base': { label: 'Spool-SQLite (base)', script: 'spool', store: 'sqlite' },
} as const satisfies Record<string, { label: string; script: string; store: 'postgres' | 'sqlite' | 'redis' }>
export type SystemName = keyof typeof SYSTEMS
/** The server processes of each store (by process name), whose CPU time a drain reports. */
export const SERVER_PROCESS = { postgres: 'postgres', redis: 'redis-server', sqlite: null } as const
export const SYSTEM_NAMES = Object.keys(SYSTEMS) as SystemName[]
/** The systems measured when --systems is not given (the base checkouts only when named). */
export const DEFAULT_SYSTEMS = SYSTEM_NAMES.filter((system) => !system.endsWith('-base'))
/** Whether a system runs from the `--base` checkout. */
export const isBase = (system: SystemName): boolean => system.endsWith('-base')

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
  /**
   * Sustained run: workers at `sustainedConcurrency` drain for `sustainedMinutes` while a producer
   * in the same process keeps `sustainedBacklog` jobs waiting, in calls of `chunk`.
   */
  sustainedMinutes: number
  sustainedBacklog: number
  sustainedConcurrency: number
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
  sustainedMinutes: 10,
  sustainedBacklog: 10_000,
  sustainedConcurrency: 50,
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
  sustainedMinutes: 1,
}

/** argv[3] of a child: everything but the workload name (argv[2]). */
export interface ChildOptions {
  system: SystemName
  sizes: Sizes
  /** Spool-SQLite: an empty folder for this measurement's SQLite file. */
  spoolDir?: string
  /** BullMQ-Redis: the harness's redis-server. */
  redisPort?: number
  /** PostgreSQL systems: the bench database, and a schema that does not exist yet (dropped after). */
  pgUrl?: string
  pgSchema?: string
  /** Spool: run the maintenance loop (retention, lease recovery); on for the sustained run. */
  maintenance?: boolean
}

export interface Throughput {
  kind: 'throughput'
  jobs: number
  /** From the first call (enqueue) or worker start (drain) until the last job is recorded. */
  ms: number
  jobsPerSec: number
  /** Drains: when the last handler returned, from worker start (completion is recorded after). */
  lastHandlerMs?: number
  /** Drains: CPU ms of the worker's process over `ms`, and of the store's server processes (not SQLite's). */
  nodeCpuMs?: number
  serverCpuMs?: number
  /**
   * Drains on Spool-PG: row updates of the jobs table during the drain, and how many of them were
   * HOT (heap-only: no index entry written), from pg_stat_user_tables.
   */
  updates?: number
  hotUpdates?: number
  /**
   * Drains on PostgreSQL: WAL records and bytes the whole cluster wrote during the drain
   * (pg_stat_wal): the system's own write work when nothing else uses the cluster.
   */
  walRecords?: number
  walBytes?: number
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

/** The size of a system's job storage at the end of a sustained run. */
export interface TableSize {
  /** What was measured, e.g. `spool_x.jobs` or `redis used_memory`. */
  table: string
  rows: number
  bytes: number
}

export interface Sustained {
  kind: 'sustained'
  /** Handler returns in each whole minute after the worker started. */
  perMinute: number[]
  /** Jobs enqueued by the producer in each minute (it keeps the backlog topped up). */
  enqueuedPerMinute: number[]
  /** The machine's 1-minute load average at the end of each minute (others' work shows here). */
  loadPerMinute: number[]
  jobs: number
  ms: number
  jobsPerSec: number
  /** perMinute's last / first. */
  lastOverFirst: number
  size: TableSize | null
}

export type Result = Throughput | Latency | PriorityCheck | Sustained

export interface Payload {
  i: number
  /** Latency: wall-clock enqueue time in ms (performance.timeOrigin + performance.now()). */
  t?: number
  kind?: 'low' | 'high'
}

export interface Item {
  payload: Payload
  /** Each driver maps 'high' / 'low' to its system's numbers. Absent: the system's default (FIFO). */
  priority?: 'high' | 'low'
}

export type Handler = (payload: Payload) => Promise<void>

export interface WorkerHandle {
  /** Starts processing (the worker is constructed and connected before, outside the timing). */
  start(): void
  /**
   * Resolves once `n` jobs are recorded completed by the system: after the n-th handler
   * returned and the database shows them completed (Spool, Graphile Worker, pg-boss), or on the
   * n-th worker 'completed' event (BullMQ emits it after the job was moved to completed).
   */
  completed(n: number): Promise<void>
  /** `performance.now()` when the last handler returned. */
  lastReturnAt(): number
  close(): Promise<void>
}

/** One queue system, as the workloads use it. */
/** What a workload knows of where it runs, besides the driver. */
export interface RunContext {
  /** The name of the store's server processes (see SERVER_PROCESS), null for an embedded store. */
  serverProcess: string | null
  /** The database whose server processes count (PostgreSQL systems), see cpuMeter. */
  database?: string
}

export interface Driver {
  enqueueMany(queue: string, items: Item[]): Promise<void>
  enqueue(queue: string, item: Item): Promise<void>
  worker(queue: string, handler: Handler, concurrency: number): Promise<WorkerHandle>
  /** Removes a queue's data where the harness does not (BullMQ-Redis: obliterate). */
  cleanup(queue: string): Promise<void>
  /**
   * Row updates so far of the system's job table, and how many were HOT (Spool-PG only). Waits
   * for the backends' statistics to be flushed first (idle backends flush within a second).
   */
  updateCounts?(): Promise<{ updates: number; hot: number; walRecords: number; walBytes: number }>
  /** Rows and bytes of the job storage (sustained run). */
  size(): Promise<TableSize | null>
  close(): Promise<void>
}
