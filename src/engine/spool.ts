/**
 * `Spool`: the engine's front door. It validates, hands the store its work, and wakes the
 * workers of this process; queue semantics that need the database live behind `Store`.
 */
import { randomUUID } from 'node:crypto'
import type { JobState, Store } from '../store/store.js'
import { JobCancelledError, SpoolError } from './errors.js'
import { EventHub } from './events.js'
import type { Handler } from './job.js'
import { JobAdmin } from './job-admin.js'
import { type Logger, stderrLogger } from './logger.js'
import { Maintenance, type MaintenanceOptions } from './maintenance.js'
import { assertQueueName, DEFAULT_MAX_PAYLOAD_BYTES, type EnqueueOptions, toNewJob } from './options.js'
import { QueueAdmin } from './queue-admin.js'
import { Schedules } from './schedules.js'
import { readStats, type Stats } from './stats.js'
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
  /** Cron schedules. */
  readonly schedules: Schedules
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
    const maintenanceOptions = typeof options.maintenance === 'object' ? options.maintenance : {}
    this.schedules = new Schedules(this, store, logger, {
      maxPayloadBytes: this.maxPayloadBytes,
      graceMs: 10 * (maintenanceOptions.intervalMs ?? 1_000),
    })
    this.maintenance = new Maintenance(
      store,
      logger,
      this.nodeId,
      () => this.changed(),
      maintenanceOptions,
      (now) => this.schedules.tick(now),
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
