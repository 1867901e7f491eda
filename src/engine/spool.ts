/**
 * `Spool`: the engine's front door. It validates, hands the store its work, and wakes the
 * workers of this process; queue semantics that need the database live behind `Store`.
 */
import { randomUUID } from 'node:crypto'
import type { JobState, QueueRow, Store } from '../store/store.js'
import { JOB_STATES } from '../store/store.js'
import { JobCancelledError, SpoolError } from './errors.js'
import { EventHub } from './events.js'
import { type Handler, type JobInfo, toJobInfo } from './job.js'
import { type Logger, stderrLogger } from './logger.js'
import {
  DEFAULT_RETENTION,
  type FinishedState,
  Maintenance,
  type MaintenanceOptions,
  retentionRule,
} from './maintenance.js'
import {
  assertQueueName,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type EnqueueOptions,
  parseQueueOptions,
  type QueueOptions,
  toNewJob,
} from './options.js'
import { type Priority, priorityValue } from './priority.js'
import { readStats, type Stats, throughput } from './stats.js'
import { Worker, type WorkOptions } from './worker.js'

export interface SpoolOptions {
  /** A store, or an address such as `sqlite:./data/spool.db` (resolved by a registered opener). */
  store: Store | string
  /** Largest payload in bytes of JSON (default 1 MiB). */
  maxPayloadBytes?: number
  /** Where warnings and errors go (default: JSON lines on stderr). */
  logger?: Logger
  /** Run the maintenance loop in this process (default true); or its settings. */
  maintenance?: boolean | MaintenanceOptions
  /** Safety-net poll for live event subscriptions, in ms (default 250). */
  eventPollMs?: number
  /** This process's name in leader leases (default a random id). */
  nodeId?: string
}

export interface EnqueueResult {
  id: string
  /** false when an idempotency key matched an existing job (returned instead). */
  created: boolean
  state: JobState
}

export interface QueueInfo {
  name: string
  paused: boolean
  config: QueueOptions
  counts: Record<JobState, number>
}

export interface JobPage {
  jobs: JobInfo[]
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

export interface CleanupReport {
  dryRun: boolean
  /** Jobs removed (or that would be), by state. */
  removed: Record<FinishedState, number>
  sampleIds: string[]
}

/** Opens a store from its address; `migrate: false` leaves the schema as it is. */
type StoreOpener = (address: string, options: { migrate: boolean }) => Promise<Store>
const openers = new Map<string, StoreOpener>()

/**
 * @example
 * const spool = await Spool.open({ store: 'sqlite:./data/spool.db' })
 * await spool.enqueue('emails', { to: 'a@b.c' }, { priority: 'high', maxAttempts: 5 })
 * spool.work('emails', async (job, ctx) => { await ctx.progress(40, 'sending'); return { ok: true } })
 * await spool.close()
 */
export class Spool {
  /** Live events: `spool.events.subscribe({ queue, jobId, afterId })`. */
  readonly events: EventHub
  /** Queue administration. */
  readonly queues: QueueAdmin
  /** Job administration. */
  readonly jobs: JobAdmin
  readonly nodeId: string

  private readonly workers = new Map<string, Set<Worker<never, never>>>()
  private readonly knownQueues = new Set<string>()
  private readonly maintenance: Maintenance
  private readonly maxPayloadBytes: number
  private closing: Promise<void> | null = null

  private constructor(
    readonly store: Store,
    private readonly options: SpoolOptions,
    private readonly ownsStore: boolean,
  ) {
    const logger = options.logger ?? stderrLogger
    this.nodeId = options.nodeId ?? `${process.pid}-${randomUUID().slice(0, 8)}`
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
    this.events = new EventHub(store, logger, options.eventPollMs ?? 250)
    this.queues = new QueueAdmin(this, store)
    this.jobs = new JobAdmin(this, store)
    this.maintenance = new Maintenance(
      store,
      logger,
      this.nodeId,
      () => this.changed(),
      typeof options.maintenance === 'object' ? options.maintenance : {},
    )
  }

  /** Teach `Spool.open` a store address scheme (done for `sqlite:` by the package entry). */
  static registerStore(scheme: string, opener: StoreOpener): void {
    openers.set(scheme, opener)
  }

  /**
   * Opens a store from an address with the registered opener for its scheme.
   *
   * @example
   * const store = await Spool.openStore('sqlite:./data/spool.db', { migrate: false })
   */
  static async openStore(address: string, options: { migrate?: boolean } = {}): Promise<Store> {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(address)?.[1]?.toLowerCase()
    const opener = scheme === undefined ? undefined : openers.get(scheme)
    if (!opener) {
      throw new SpoolError(
        'SPOOL_INVALID_STORE',
        `unknown store address "${address}"; known schemes: ${[...openers.keys()].join(', ') || 'none'}`,
        { field: 'store' },
      )
    }
    return opener(address, { migrate: options.migrate ?? true })
  }

  static async open(options: SpoolOptions): Promise<Spool> {
    const max = options.maxPayloadBytes
    if (max !== undefined && (!Number.isInteger(max) || max < 2 || max > 256 * 1024 * 1024)) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'maxPayloadBytes must be an integer from 2 to 268435456', {
        field: 'maxPayloadBytes',
      })
    }
    const store = typeof options.store === 'string' ? await Spool.openStore(options.store) : options.store
    const spool = new Spool(store, options, typeof options.store === 'string')
    if (options.maintenance !== false) spool.maintenance.start()
    return spool
  }

  /**
   * Adds one job. Validates everything first; on error nothing is written. `transaction`: see
   * `enqueueMany`.
   *
   * @example
   * const { id } = await spool.enqueue('transcribe', { file: 'a.wav' }, { priority: 'urgent', timeoutMs: 600_000 })
   */
  async enqueue<P>(
    queue: string,
    payload: P,
    options?: EnqueueOptions & { transaction?: unknown },
  ): Promise<EnqueueResult> {
    const { transaction, ...jobOptions } = options ?? {}
    const [result] = await this.enqueueMany(
      queue,
      [{ payload, ...(options !== undefined && { options: jobOptions }) }],
      transaction === undefined ? {} : { transaction },
    )
    return result as EnqueueResult
  }

  /**
   * Adds many jobs in one transaction: all of them or, on any invalid item, none. With
   * `transaction` (a PostgreSQL client inside your own transaction) the jobs are written in it,
   * so they exist exactly when your data does; workers see them when you commit.
   *
   * @example
   * await spool.enqueueMany('emails', users.map((u) => ({ payload: { to: u.email }, options: { group: u.id } })))
   */
  async enqueueMany<P>(
    queue: string,
    items: { payload: P; options?: EnqueueOptions }[],
    batch: { transaction?: unknown } = {},
  ): Promise<EnqueueResult[]> {
    this.assertOpen()
    assertQueueName(queue)
    if (batch.transaction !== undefined && !this.store.capabilities.supportsTransactionalEnqueue) {
      throw new SpoolError(
        'SPOOL_INVALID_OPTION',
        'this store cannot enqueue inside your transaction (PostgreSQL can; SQLite cannot)',
        { field: 'transaction' },
      )
    }
    if (!Array.isArray(items)) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'items must be an array of { payload, options }', { field: 'items' })
    }
    const now = Date.now()
    const many = items.length > 1
    const jobs = items.map((item, i) =>
      toNewJob(queue, item?.payload, item?.options, {
        now,
        maxPayloadBytes: this.maxPayloadBytes,
        ...(many && { field: `items.${i}` }),
      }),
    )
    if (jobs.length === 0) return []
    await this.ensureQueue(queue)
    const results = await this.store.jobInsert({
      jobs,
      now,
      ...(batch.transaction !== undefined && { transaction: batch.transaction }),
    })
    this.changed([queue])
    return results
  }

  /**
   * Serves a queue with `handler`. The handler's return value (JSON) becomes the job's result;
   * a throw fails the attempt (see docs/concepts.md for what is retried).
   *
   * @example
   * spool.work('emails', async (job, { signal, progress }) => { await progress(50); return send(job.payload, signal) }, { concurrency: 10 })
   */
  work<P = unknown, R = unknown>(queue: string, handler: Handler<P, R>, options: WorkOptions = {}): Worker<P, R> {
    this.assertOpen()
    assertQueueName(queue)
    if (typeof handler !== 'function') {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'handler must be a function', { field: 'handler' })
    }
    const worker = new Worker<P, R>(queue, handler, options, this.store, this.options.logger ?? stderrLogger, {
      onStateChange: () => this.events.kick(),
    })
    const set = this.workers.get(queue) ?? new Set()
    set.add(worker as unknown as Worker<never, never>)
    this.workers.set(queue, set)
    void this.ensureQueue(queue).then(
      () => worker.start(),
      (error) => (this.options.logger ?? stderrLogger).error({ queue, err: String(error) }, 'cannot start worker'),
    )
    const close = worker.close.bind(worker)
    worker.close = (closeOptions) =>
      close(closeOptions).finally(() => set.delete(worker as unknown as Worker<never, never>))
    return worker
  }

  /**
   * Counts, throughput, timings and success rate, for one queue or all.
   *
   * @example
   * const stats = await spool.stats('emails')
   */
  stats(queue?: string): Promise<Stats> {
    return readStats(this.store, queue)
  }

  /**
   * Runs one maintenance pass now — recover lapsed leases, promote due jobs, retention when due —
   * if this process holds (or wins) the maintenance lease. Works with the loop turned off.
   */
  async maintain(): Promise<void> {
    await this.maintenance.tick()
  }

  /**
   * Graceful shutdown: workers stop claiming, running jobs get `graceMs` (default 10 s) to
   * finish, then their signals abort and they go back to the queue; then the store closes.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      const all = [...this.workers.values()].flatMap((set) => [...set])
      await Promise.all(all.map((worker) => worker.close(options)))
      await this.maintenance.stop()
      await this.events.close()
      if (this.ownsStore) await this.store.close()
    })()
    return this.closing
  }

  /** @internal Something changed: wake local workers of these queues (all when empty) and event readers. */
  changed(queues: string[] = []): void {
    const targets = queues.length === 0 ? [...this.workers.keys()] : queues
    for (const queue of targets) for (const worker of this.workers.get(queue) ?? []) worker.pump()
    this.events.kick()
  }

  /** @internal Abort a job running in this process (it was cancelled). */
  abortLocal(queue: string, jobId: string): void {
    for (const worker of this.workers.get(queue) ?? [])
      worker.abort(jobId, new JobCancelledError('the job was cancelled'))
  }

  /** @internal */
  async ensureQueue(queue: string): Promise<void> {
    if (this.knownQueues.has(queue)) return
    await this.store.queueEnsure({ name: queue, now: Date.now() })
    this.knownQueues.add(queue)
  }

  /** @internal */
  assertOpen(): void {
    if (this.closing) throw new SpoolError('SPOOL_CLOSED', 'Spool is closing or closed')
  }
}

/** `spool.queues`: create, configure, pause and inspect queues. */
export class QueueAdmin {
  constructor(
    private readonly spool: Spool,
    private readonly store: Store,
  ) {}

  /**
   * Creates a queue or replaces its settings.
   *
   * @example
   * await spool.queues.configure('emails', { retention: { completed: { maxAgeMs: 3_600_000 } } })
   */
  async configure(name: string, options: QueueOptions = {}): Promise<QueueInfo> {
    assertQueueName(name)
    const config = parseQueueOptions(options)
    const row = await this.store.queueConfigure({ name, config, now: Date.now() })
    this.spool.changed([name])
    return this.info(row)
  }

  async get(name: string): Promise<QueueInfo | null> {
    assertQueueName(name)
    const row = await this.store.queueGet({ name })
    return row ? this.info(row) : null
  }

  async list(): Promise<QueueInfo[]> {
    const [rows, counts] = await Promise.all([this.store.queueList(), this.store.queueCounts({})])
    return rows.map((row) => ({ ...toQueueInfo(row), counts: counts[row.name] ?? emptyCounts() }))
  }

  /** Workers everywhere stop claiming from the queue; running jobs finish. */
  async pause(name: string): Promise<QueueInfo> {
    assertQueueName(name)
    const row = await this.store.queuePause({ name, paused: true, now: Date.now() })
    this.spool.changed([name])
    return this.info(row)
  }

  async resume(name: string): Promise<QueueInfo> {
    assertQueueName(name)
    const row = await this.store.queuePause({ name, paused: false, now: Date.now() })
    this.spool.changed([name])
    return this.info(row)
  }

  /** Jobs by state for one queue. */
  async counts(name: string): Promise<Record<JobState, number>> {
    assertQueueName(name)
    return (await this.store.queueCounts({ queue: name }))[name] ?? emptyCounts()
  }

  /**
   * Applies the queue's retention now (or reports what it would remove, with `dryRun`).
   *
   * @example
   * const report = await spool.queues.cleanup('emails', { dryRun: true })
   */
  async cleanup(name: string, options: { dryRun?: boolean } = {}): Promise<CleanupReport> {
    assertQueueName(name)
    const queue = await this.store.queueGet({ name })
    const dryRun = options.dryRun ?? false
    const report: CleanupReport = { dryRun, removed: { completed: 0, failed: 0, cancelled: 0 }, sampleIds: [] }
    if (!queue) return report
    for (const state of Object.keys(DEFAULT_RETENTION) as FinishedState[]) {
      const { count, sampleIds } = await this.store.jobCleanup({
        queue: name,
        state,
        rule: retentionRule(queue.config, state),
        now: Date.now(),
        dryRun,
      })
      report.removed[state] = count
      report.sampleIds.push(...sampleIds.slice(0, 10 - report.sampleIds.length))
    }
    return report
  }

  private async info(row: QueueRow): Promise<QueueInfo> {
    return { ...toQueueInfo(row), counts: await this.counts(row.name) }
  }
}

/** `spool.jobs`: find, inspect and steer jobs. */
export class JobAdmin {
  constructor(
    private readonly spool: Spool,
    private readonly store: Store,
  ) {}

  async get<P = unknown, R = unknown>(id: string): Promise<JobInfo<P, R> | null> {
    const row = await this.store.jobGet({ id: String(id) })
    return row ? toJobInfo<P, R>(row) : null
  }

  /**
   * Newest first, one page at a time.
   *
   * @example
   * let page = await spool.jobs.list({ queue: 'emails', state: 'failed', limit: 50 })
   * if (page.nextCursor) page = await spool.jobs.list({ queue: 'emails', state: 'failed', cursor: page.nextCursor })
   */
  async list(options: { queue?: string; state?: JobState; cursor?: string; limit?: number } = {}): Promise<JobPage> {
    const { queue, state, cursor } = options
    const limit = options.limit ?? 50
    if (queue !== undefined) assertQueueName(queue)
    if (state !== undefined && !JOB_STATES.includes(state)) {
      throw new SpoolError('SPOOL_INVALID_OPTION', `state must be one of ${JOB_STATES.join(', ')}`, { field: 'state' })
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'limit must be an integer from 1 to 1000', { field: 'limit' })
    }
    const rows = await this.store.jobList({
      limit: limit + 1,
      ...(queue !== undefined && { queue }),
      ...(state !== undefined && { state }),
      ...(cursor !== undefined && { beforeId: decodeCursor(cursor) }),
    })
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return {
      jobs: page.map((row) => toJobInfo(row)),
      nextCursor: rows.length > limit && last ? Buffer.from(`id:${last.id}`).toString('base64url') : null,
    }
  }

  /**
   * waiting, scheduled or blocked → cancelled at once; an active job's handler sees its signal
   * abort (`SPOOL_JOB_CANCELLED`).
   */
  async cancel(id: string): Promise<JobInfo> {
    const job = await this.apply(id, 'cancel', (now) => this.store.jobCancel({ id, now }))
    this.spool.abortLocal(job.queue, job.id)
    return job
  }

  /** failed or cancelled → waiting, with its attempts reset. */
  retry(id: string): Promise<JobInfo> {
    return this.apply(id, 'retry', (now) => this.store.jobRetry({ id, now }))
  }

  /** Changes the priority of a job that has not started. */
  reprioritize(id: string, priority: Priority): Promise<JobInfo> {
    const value = typeof priority === 'number' || typeof priority === 'string' ? safePriority(priority) : NaN
    if (!Number.isInteger(value) || value < -1000 || value > 1000) {
      throw new SpoolError(
        'SPOOL_INVALID_OPTION',
        'priority must be urgent, high, normal, low or an integer from -1000 to 1000',
        {
          field: 'priority',
        },
      )
    }
    return this.apply(id, 'reprioritize', (now) => this.store.jobReprioritize({ id, priority: value, now }))
  }

  /** scheduled → waiting now. */
  promote(id: string): Promise<JobInfo> {
    return this.apply(id, 'promote', (now) => this.store.jobPromote({ id, now }))
  }

  /** Deletes a job that is not running, with its history. */
  async remove(id: string): Promise<void> {
    await this.apply(id, 'remove', (now) => this.store.jobRemove({ id, now }))
  }

  /**
   * How many jobs run before this one, and a guess at the wait from recent throughput.
   *
   * @example
   * const { position, estimatedWaitMs } = (await spool.jobs.position(id)) ?? {}
   */
  async position(id: string): Promise<{ position: number; estimatedWaitMs: number | null } | null> {
    const now = Date.now()
    const job = await this.store.jobGet({ id: String(id) })
    if (!job) throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${id}`, { field: 'id' })
    const position = await this.store.jobPosition({ id: job.id, now })
    if (position === null) return null
    const perMinute = throughput(await this.store.statsBuckets({ queue: job.queue, since: now - 6 * 60_000 }), now)
    return { position, estimatedWaitMs: perMinute > 0 ? Math.round(((position + 1) / perMinute) * 60_000) : null }
  }

  /** The job's events, oldest first: state changes, progress and log lines. */
  history(id: string, options: { afterId?: number; limit?: number } = {}) {
    return this.store.eventList({ jobId: String(id), afterId: options.afterId ?? 0, limit: options.limit ?? 1_000 })
  }

  private async apply(
    id: string,
    action: string,
    change: (now: number) => ReturnType<Store['jobCancel']>,
  ): Promise<JobInfo> {
    this.spool.assertOpen()
    const outcome = await change(Date.now())
    if (!outcome.ok) {
      if (outcome.reason === 'invalid_state') {
        throw new SpoolError('SPOOL_INVALID_TRANSITION', `cannot ${action} a job that is ${outcome.state}`, {
          field: 'state',
          state: outcome.state,
        })
      }
      throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${id}`, { field: 'id' })
    }
    this.spool.changed([outcome.job.queue])
    return toJobInfo(outcome.job)
  }
}

function safePriority(priority: Priority): number {
  try {
    return priorityValue(priority)
  } catch {
    return Number.NaN
  }
}

function decodeCursor(cursor: string): string {
  const match = /^id:(\d+)$/.exec(Buffer.from(String(cursor), 'base64url').toString())
  if (!match) throw new SpoolError('SPOOL_INVALID_OPTION', 'cursor is not one this API returned', { field: 'cursor' })
  return match[1] as string
}

function toQueueInfo(row: QueueRow): Omit<QueueInfo, 'counts'> {
  return { name: row.name, paused: row.paused, config: row.config }
}

function emptyCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>
}
