/**
 * `Spool`: the engine's front door. It validates, hands the store its work, and wakes the
 * workers of this process; queue semantics that need the database live behind `Store`.
 */
import { randomUUID } from 'node:crypto'
import type { AdmissionLimits, InsertRefusal, JobState, NewJob, QueueConfig, Store } from '../store/store.js'
import { Breakers } from './breakers.js'
import { type Codec, PLAIN } from './codec.js'
import type { EngineContext, EnqueueResult } from './context.js'
import { JobCancelledError, SpoolError } from './errors.js'
import { EventHub } from './events.js'
import { Flows } from './flows.js'
import type { Handler } from './job.js'
import { JobAdmin } from './job-admin.js'
import { Leases } from './leases.js'
import { Limits } from './limits.js'
import { type Logger, stderrLogger } from './logger.js'
import { Maintenance, type MaintenanceOptions } from './maintenance.js'
import {
  applyQueueConfig,
  assertQueueName,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type EnqueueOptions,
  toNewJob,
} from './options.js'
import { QueueAdmin } from './queue-admin.js'
import { QueueConfigs } from './queue-config.js'
import { Records } from './records.js'
import { Schedules } from './schedules.js'
import { readStats, type Stats, throughput } from './stats.js'
import { Tracing, type TracingOption } from './tracing.js'
import { Worker, type WorkOptions } from './worker.js'
import { WorkerRegistry } from './worker-registry.js'
import { Workflows } from './workflows.js'

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
  /** How payloads, results and records are stored (default: JSON text as it is). */
  codec?: Codec
  /**
   * OpenTelemetry spans for enqueue and processing, the trace carried in `metadata.traceparent`
   * (default off): `true` uses the global tracer provider, or pass `{ tracerProvider }`.
   */
  tracing?: TracingOption
}

/** How many jobs ahead an enqueue counts at most to answer its position (see `withPositions`). */
export const POSITION_CAP = 1_000

/** Opens a store from its address; `migrate: false` leaves the schema as it is. */
type StoreOpener = (address: string, options: { migrate: boolean }) => Promise<Store>
const openers = new Map<string, StoreOpener>()

export type { EnqueueResult } from './context.js'

/**
 * A queue engine on one store: enqueue, work, and the admin namespaces.
 *
 * @example
 * const spool = await Spool.open({ store: 'sqlite:./data/spool.db' })
 * await spool.enqueue('emails', { to: 'a@b.c' }, { priority: 'high', maxAttempts: 5 })
 * spool.work('emails', async (job, ctx) => { await ctx.progress(40, 'sending'); return { ok: true } })
 * await spool.close()
 */
export class Spool implements EngineContext {
  /** Live events: `spool.events.subscribe({ queue, jobId, afterId })`. */
  readonly events: EventHub
  /** Queue administration. */
  readonly queues: QueueAdmin
  /** Job administration. */
  readonly jobs: JobAdmin
  /** Cron schedules. */
  readonly schedules: Schedules
  /** Flows: trees and DAGs of jobs enqueued atomically. */
  readonly flows: Flows
  /** Workflows: versioned templates of steps (a DAG) and their runs, built on flows. */
  readonly workflows: Workflows
  /** Named circuit breakers shared by every node. */
  readonly breakers: Breakers
  /** Rate limits and pauses: read and reset. */
  readonly limits: Limits
  /** The server's own documents (API keys, audit log…), through the codec. */
  readonly records: Records
  /** Workers outside this process (HTTP workers): claim, heartbeat, complete, fail by lease. */
  readonly leases: Leases
  /** Who is connected and what they run, across nodes. */
  readonly workers: WorkerRegistry
  readonly nodeId: string
  readonly codec: Codec
  /** OpenTelemetry spans, when `tracing` is on; null otherwise. */
  readonly tracing: Tracing | null
  /** @internal */
  readonly configs: QueueConfigs

  private readonly localWorkers = new Map<string, Set<Worker<never, never>>>()
  private readonly maintenance: Maintenance
  private readonly maxPayloadBytes: number
  private closing: Promise<void> | null = null
  private draining: Promise<void> | null = null

  private constructor(
    readonly store: Store,
    private readonly options: SpoolOptions,
    private readonly ownsStore: boolean,
  ) {
    const logger = options.logger ?? stderrLogger
    this.nodeId = options.nodeId ?? `${process.pid}-${randomUUID().slice(0, 8)}`
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
    this.codec = options.codec ?? PLAIN
    this.tracing = options.tracing ? new Tracing(options.tracing) : null
    this.configs = new QueueConfigs(store)
    this.events = new EventHub(store, logger, options.eventPollMs ?? 250)
    this.queues = new QueueAdmin(this, store)
    this.jobs = new JobAdmin(this, store)
    this.flows = new Flows(this)
    this.breakers = new Breakers(this, store)
    this.limits = new Limits(this, store)
    this.records = new Records(store, this.codec)
    this.leases = new Leases(this, store, logger)
    this.workers = new WorkerRegistry(store)
    this.workflows = new Workflows({
      engine: this,
      records: this.records,
      jobs: this.jobs,
      work: (queue, handler, workOptions) => this.work(queue, handler, workOptions),
    })
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
   * `enqueueMany`. The result tells the job's place in line and a guess at its wait
   * (`position`, `estimatedWaitMs`; `position: false` skips the read that costs).
   *
   * @example
   * const { id, position, estimatedWaitMs } = await spool.enqueue('transcribe', { file: 'a.wav' }, { priority: 'urgent' })
   */
  async enqueue<P>(
    queue: string,
    payload: P,
    options?: EnqueueOptions & { transaction?: unknown; position?: boolean },
  ): Promise<EnqueueResult> {
    const { transaction, position, ...jobOptions } = options ?? {}
    const [result] = await this.enqueueMany(
      queue,
      [{ payload, ...(options !== undefined && { options: jobOptions }) }],
      { ...(transaction !== undefined && { transaction }), ...(position !== undefined && { position }) },
    )
    return result as EnqueueResult
  }

  /**
   * Adds many jobs in one transaction: all of them or, on any invalid item, none. With
   * `transaction` (a PostgreSQL client inside your own transaction) the jobs are written in it,
   * so they exist exactly when your data does; workers see them when you commit. Each result has
   * the job's position and estimated wait, from one count per priority level in the batch
   * (see `withPositions`); `position: false` skips them.
   *
   * @example
   * await spool.enqueueMany('emails', users.map((u) => ({ payload: { to: u.email }, options: { group: u.id } })))
   */
  async enqueueMany<P>(
    queue: string,
    items: { payload: P; options?: EnqueueOptions }[],
    batch: { transaction?: unknown; position?: boolean } = {},
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
    const { config } = await this.configs.get(queue)
    const jobs = items.map((item, i) =>
      this.prepare(queue, item?.payload, item?.options, config, now, many ? `items.${i}` : undefined),
    )
    if (jobs.length === 0) return []
    await this.admitUsers(queue, config, items, now)
    const inserted = await this.insert(jobs, now, batch.transaction)
    this.changed([queue])
    if (batch.position === false || batch.transaction !== undefined) {
      return inserted.map((r) => ({ ...r, position: null, estimatedWaitMs: null }))
    }
    return this.withPositions(queue, jobs, inserted)
  }

  /** @internal Validates one job, applies its queue's config (group, fairness) and encodes its payload. */
  prepare(
    queue: string,
    payload: unknown,
    options: EnqueueOptions | undefined,
    config: QueueConfig,
    now: number,
    field?: string,
  ): NewJob {
    const job = toNewJob(queue, payload, options, {
      now,
      maxPayloadBytes: this.maxPayloadBytes,
      ...(field !== undefined && { field }),
    })
    applyQueueConfig(job, config, payload, options?.user)
    if (this.codec !== PLAIN) job.payload = this.codec.encode(job.payload)
    return job
  }

  /**
   * @internal Inserts prepared jobs under their queues' admission limits; a refusal throws. With
   * tracing on, each job gets an enqueue span whose context its metadata carries.
   */
  async insert(jobs: NewJob[], now: number, transaction?: unknown) {
    if (this.tracing === null) return this.insertJobs(jobs, now, transaction)
    const spans = this.tracing.enqueueSpans(jobs)
    try {
      const results = await this.insertJobs(jobs, now, transaction)
      this.tracing.endEnqueue(spans, { ids: results.map((result) => result.id) })
      return results
    } catch (error) {
      this.tracing.endEnqueue(spans, { error })
      throw error
    }
  }

  private async insertJobs(jobs: NewJob[], now: number, transaction?: unknown) {
    const admission: Record<string, AdmissionLimits> = {}
    for (const queue of new Set(jobs.map((job) => job.queue))) {
      const { config } = await this.configs.get(queue)
      if (config.maxSize !== undefined || config.maxGroupSize !== undefined) {
        admission[queue] = {
          ...(config.maxSize !== undefined && { maxSize: config.maxSize }),
          ...(config.maxGroupSize !== undefined && { maxGroupSize: config.maxGroupSize }),
        }
      }
    }
    let results: Awaited<ReturnType<Store['jobInsert']>>
    try {
      results = await this.store.jobInsert({
        jobs,
        now,
        ...(Object.keys(admission).length > 0 && { admission }),
        ...(transaction !== undefined && { transaction }),
      })
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (code === 'SPOOL_DEPENDENCY_NOT_FOUND') {
        throw new SpoolError('SPOOL_DEPENDENCY_NOT_FOUND', (error as Error).message, { field: 'dependsOn' })
      }
      throw error
    }
    if (!Array.isArray(results)) throw await this.queueFull(results.refused, now)
    // The event stream attributes each job's events to its tenant: jobs made here need no lookup.
    // Not for the app's transaction, which may still roll back.
    if (transaction === undefined) this.events.noteTenants(results, jobs)
    return results
  }

  /** A refusal as the caller sees it: what was full, and when to try again. */
  private async queueFull(refusal: InsertRefusal, now: number): Promise<SpoolError> {
    const { queue, group, size, limit } = refusal
    const perMs = await this.throughputPerMs(queue, now).catch(() => 0)
    const excess = Math.max(1, size - limit + 1)
    const retryAfterMs = perMs > 0 ? Math.min(3_600_000, Math.max(1_000, Math.ceil(excess / perMs))) : 5_000
    const what = group === null ? `queue ${queue}` : `group ${group} of queue ${queue}`
    return new SpoolError('SPOOL_QUEUE_FULL', `${what} holds ${size} unfinished jobs (limit ${limit})`, {
      field: group === null ? 'queue' : 'group',
      queue,
      group,
      size,
      limit,
      retryAfterMs,
    })
  }

  /** A queue's per-user enqueue rate (token bucket with burst): refused with the wait. */
  private async admitUsers(
    queue: string,
    config: QueueConfig,
    items: { options?: EnqueueOptions }[],
    now: number,
  ): Promise<void> {
    const perUser = config.admission?.perUser
    if (!perUser) return
    const costs = new Map<string, number>()
    for (const item of items) {
      const user = item?.options?.user
      if (user !== undefined) costs.set(user, (costs.get(user) ?? 0) + 1)
    }
    for (const [user, cost] of costs) {
      const taken = await this.store.tokenTake({
        key: `enqueue\u0000${queue}\u0000${user}`,
        ratePerSec: perUser.perSecond,
        burst: perUser.burst,
        cost,
        now,
      })
      if (!taken.ok) {
        throw new SpoolError(
          'SPOOL_RATE_LIMITED',
          `user ${user} enqueues faster than ${perUser.perSecond}/s on ${queue}`,
          {
            field: 'user',
            retryAfterMs: taken.retryAfterMs,
          },
        )
      }
    }
  }

  /**
   * Each new job's place in line and a guess at its wait, at the cost of one bounded count per
   * priority level in the batch, not one per job:
   *
   * - The first new waiting job of each level is counted in the store (runnable jobs of the queue
   *   ahead of it, over the claim index), up to `POSITION_CAP`; the next ones of its level come
   *   after it in the batch's order (FIFO within a level), so theirs is its position plus their
   *   place among them. A count that reaches the cap makes `position` a lower bound
   *   (`positionCapped`). Measured on SQLite with 20,000 jobs ahead (a busy 2-core machine):
   *   the capped count 0.31 ms against 7.9 ms counting them all, and a single enqueue
   *   0.59 → 1.0 ms; a batch pays it once per level.
   * - On a fair queue the order within a level depends on the groups, so each job is counted, for
   *   the first 100 of a batch (null after).
   * - A delayed job has no place yet: its wait is its delay. A blocked one has neither.
   * - `estimatedWaitMs` is (position + 1) divided by the jobs the queue completed per ms over the
   *   last five minutes; null when it completed none.
   */
  private async withPositions(
    queue: string,
    jobs: NewJob[],
    results: { id: string; created: boolean; state: JobState }[],
  ): Promise<EnqueueResult[]> {
    const now = Date.now()
    const perMs = await this.throughputPerMs(queue, now)
    const fair = jobs.some((job) => job.fairWeight !== undefined && job.fairWeight !== null)
    const levels = new Map<number, { first: number; next: number }>()
    let counted = 0
    const count = async (id: string) => {
      counted += 1
      return this.store.jobPosition({ id, now, limit: POSITION_CAP })
    }
    const answers: EnqueueResult[] = []
    for (const [i, result] of results.entries()) {
      const job = jobs[i] as NewJob
      if (result.state !== 'waiting') {
        const delay = result.state === 'scheduled' && result.created ? Math.max(0, job.runAt - now) : null
        answers.push({ ...result, position: null, estimatedWaitMs: delay })
        continue
      }
      let position: number | null = null
      let capped = false
      if (fair || !result.created) {
        if (counted < 100) {
          position = await count(result.id)
          capped = position !== null && position >= POSITION_CAP
        }
      } else {
        let level = levels.get(job.priority)
        if (level === undefined) {
          const first = await count(result.id)
          if (first !== null) {
            level = { first, next: 0 }
            levels.set(job.priority, level)
          }
        }
        if (level !== undefined) {
          position = level.first + level.next
          capped = level.first >= POSITION_CAP
          level.next += 1
        }
      }
      answers.push({
        ...result,
        position,
        estimatedWaitMs: position === null || perMs === 0 ? null : Math.round((position + 1) / perMs),
        ...(capped && { positionCapped: true as const }),
      })
    }
    return answers
  }

  private readonly throughputs = new Map<string, { at: number; perMs: number }>()

  /** @internal Jobs per ms the queue finished lately (cached for 5 s). */
  async throughputPerMs(queue: string, now = Date.now()): Promise<number> {
    const cached = this.throughputs.get(queue)
    if (cached && now - cached.at < 5_000) return cached.perMs
    const buckets = await this.store.statsBuckets({ queue, since: now - 5 * 60_000 })
    const perMs = throughput(buckets, now) / 60_000
    this.throughputs.set(queue, { at: now, perMs })
    return perMs
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
    const worker = new Worker<P, R>(queue, handler, options, {
      store: this.store,
      logger: this.options.logger ?? stderrLogger,
      spool: this,
      onStateChange: () => this.events.kick(),
    })
    const set = this.localWorkers.get(queue) ?? new Set()
    set.add(worker as unknown as Worker<never, never>)
    this.localWorkers.set(queue, set)
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
   * The first half of a graceful shutdown, with the store still open (a server in front can
   * keep answering): this process's workers stop claiming and no more HTTP leases are granted;
   * running jobs — in-process, and those HTTP workers lease from this process — get `graceMs`
   * (default 10 s) to finish, then go back to their queue with the attempt refunded.
   * Idempotent; `close()` starts with it.
   *
   * @example
   * await spool.drain({ graceMs: 10_000 })
   */
  drain(options: { graceMs?: number } = {}): Promise<void> {
    this.draining ??= (async () => {
      const all = [...this.localWorkers.values()].flatMap((set) => [...set])
      await Promise.all([...all.map((worker) => worker.close(options)), this.leases.drain(options.graceMs ?? 10_000)])
    })()
    return this.draining
  }

  /**
   * Graceful shutdown: `drain()` (workers stop claiming, running jobs — in-process and
   * HTTP-leased — get `graceMs`, default 10 s, to finish, then their signals abort and they go
   * back to the queue), then the store closes.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      await this.drain(options)
      await this.maintenance.stop()
      await this.events.close()
      if (this.ownsStore) await this.store.close()
    })()
    return this.closing
  }

  /** @internal Something changed: wake local workers of these queues (all when empty) and event readers. */
  changed(queues: string[] = []): void {
    const targets = queues.length === 0 ? [...this.localWorkers.keys()] : queues
    for (const queue of targets) for (const worker of this.localWorkers.get(queue) ?? []) worker.pump()
    this.leases.wake()
    this.events.kick()
  }

  /** @internal Abort a job running in this process (it was cancelled). */
  abortLocal(queue: string, jobId: string): void {
    for (const worker of this.localWorkers.get(queue) ?? [])
      worker.abort(jobId, new JobCancelledError('the job was cancelled'))
  }

  /** @internal A queue's settings changed here: workers re-read them now. */
  configured(queue: string): void {
    this.configs.forget(queue)
    for (const worker of this.localWorkers.get(queue) ?? []) worker.reconfigure()
    this.changed([queue])
  }

  /** @internal */
  async ensureQueue(queue: string): Promise<void> {
    await this.configs.get(queue)
  }

  /** @internal */
  assertOpen(): void {
    if (this.closing) throw new SpoolError('SPOOL_CLOSED', 'Spool is closing or closed')
  }
}
