/**
 * The `spool` package: the engine, its errors and types, and the built-in stores.
 *
 * @example
 * import { Spool } from 'spool'
 * const spool = await Spool.open({ store: 'sqlite:./data/spool.db' })
 */
import { Spool } from './engine/spool.js'
import { openPostgres } from './store/postgres/open.js'
import { openSqlite } from './store/sqlite/open.js'

// The engine may not import a store (engine ← store), so the package's entry point wires the
// built-in ones: importing 'spool' is all an app does to open `sqlite:` and `postgres:` addresses.
Spool.registerStore('sqlite', openSqlite)
Spool.registerStore('postgres', openPostgres)
Spool.registerStore('postgresql', openPostgres)

export { backoffDelay, DEFAULT_BACKOFF } from './engine/backoff.js'
export { type BreakerOptions, Breakers } from './engine/breakers.js'
export { classifyError, parseRetryAfter } from './engine/classify.js'
export { type Codec, PLAIN } from './engine/codec.js'
export {
  ERROR_CODES,
  JobCancelledError,
  JobTimeoutError,
  LeaseLostError,
  RateLimitedError,
  ShutdownError,
  SpoolError,
  type SpoolErrorCode,
  UnrecoverableError,
} from './engine/errors.js'
export type { SubscribeOptions, Subscription } from './engine/events.js'
export { type FlowJob, type FlowNode, Flows } from './engine/flows.js'
export type {
  ChildJob,
  ChildResult,
  Handler,
  Job,
  JobContext,
  JobInfo,
  WaitingForChildren,
} from './engine/job.js'
export { JobAdmin, type JobCounts, type JobListOptions, type JobPage } from './engine/job-admin.js'
export { type ClaimRequest, type FailureReport, type LeasedJob, Leases } from './engine/leases.js'
export { Limits, type WeightedLimit } from './engine/limits.js'
export type { Logger } from './engine/logger.js'
export { DEFAULT_RETENTION } from './engine/maintenance.js'
export type { EnqueueOptions, QueueOptions } from './engine/options.js'
export { PRIORITIES, type Priority } from './engine/priority.js'
export { type CleanupReport, QueueAdmin, type QueueInfo } from './engine/queue-admin.js'
export { Records, type SpoolRecord } from './engine/records.js'
export {
  type CatchUpPolicy,
  type ScheduleEnqueueOptions,
  type ScheduleInfo,
  type ScheduleInput,
  Schedules,
  type ScheduleTickMetadata,
} from './engine/schedules.js'
export type { EnqueueResult, SpoolOptions } from './engine/spool.js'
export { Spool } from './engine/spool.js'
export type { Stats } from './engine/stats.js'
export type { Worker, WorkOptions } from './engine/worker.js'
export { WorkerRegistry } from './engine/worker-registry.js'
export {
  openStep,
  type RunStatus,
  resolveTemplate,
  type StepState,
  type WorkflowDefinition,
  type WorkflowEdge,
  type WorkflowRun,
  type WorkflowStep,
  type WorkflowStepView,
  Workflows,
  type WorkflowTemplate,
} from './engine/workflows.js'
export { openPostgres } from './store/postgres/open.js'
export { PostgresStore, type PostgresStoreOptions } from './store/postgres/postgres-store.js'
export { SqliteStore, type SqliteStoreOptions } from './store/sqlite/sqlite-store.js'
export type {
  BreakerPolicy,
  BreakerRow,
  BreakerState,
  DependencyFailurePolicy,
  JobState,
  LimitsRow,
  QueueConfig,
  RateLimit,
  SpoolEvent,
  Store,
  WorkerRow,
} from './store/store.js'
export { JOB_STATES } from './store/store.js'
