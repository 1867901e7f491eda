/**
 * The embedded store: one SQLite file through better-sqlite3, in WAL mode.
 *
 * Design: better-sqlite3 is synchronous, so every method runs its statements to completion in
 * one `BEGIN IMMEDIATE` transaction and returns a settled promise. One connection per process
 * is the one writer; other processes on the same file queue behind SQLite's write lock
 * (busy timeout) rather than fail. `IMMEDIATE` takes that lock up front, so a transaction never
 * has to upgrade a read lock and die with SQLITE_BUSY halfway.
 *
 * Durability: `synchronous = NORMAL` in WAL mode survives a killed process (the multi-process
 * tests SIGKILL writers) but may lose the last commits on power loss; pass `synchronous: 'full'`
 * when that matters more than throughput.
 *
 * Hot path: a claim is one UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING over the partial
 * index `jobs_claim`; completions arrive in batches and run one prepared UPDATE per job inside a
 * single transaction, which in SQLite costs the same as one multi-row statement.
 */
import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import {
  type BreakerWindow,
  backoffJson,
  breakerBuckets,
  bucketStart,
  byRunOrder,
  emptyCounts,
  isEmpty,
  nextBreaker,
  type Row,
  rateBucketWidth,
  rateKey,
  toBreaker,
  toClaimed,
  toDependency,
  toDependent,
  toEvent,
  toId,
  toJob,
  toQueue,
  toRecord,
  toWorker,
} from '../rows.js'
import { scheduleParams, toSchedule } from '../schedule-rows.js'
import { readMigrations, readSqlFile } from '../sql-file.js'
import {
  type AdmissionLimits,
  type AttemptError,
  type BreakerPolicy,
  type BreakerRow,
  type BreakerState,
  type ClaimConstraints,
  type ClaimParams,
  type ClaimResult,
  type Completion,
  type DependencyFailurePolicy,
  type DependencyRow,
  type DependentRow,
  type EventType,
  FINISHED_STATES,
  type InsertRefusal,
  type JobFilter,
  type JobOrder,
  type JobRow,
  type JobState,
  type Lease,
  type LimitsRow,
  type NewJob,
  type NewSchedule,
  type Outcome,
  type QueueConfig,
  type QueueRow,
  type RateLimit,
  type RecordRow,
  type RetentionRule,
  type ScheduleRow,
  type StatsBucket,
  type Store,
  type StoreCapabilities,
  type Timing,
  type WakeHint,
  type WorkerRow,
} from '../store.js'
import type { StatementName } from './statements.gen.js'

const SQL = readSqlFile(new URL('./queries.sql', import.meta.url))
const MIGRATIONS = readMigrations(new URL('./migrations/', import.meta.url))
/** Attempt errors kept per job; older ones are dropped first. */
const MAX_KEPT_ERRORS = 50
const MINUTE = 60_000
const UNFINISHED: readonly JobState[] = ['waiting', 'scheduled', 'blocked', 'active']
const EVERYTHING: WakeHint = { jobs: true, events: true }

/**
 * The statements a claim runs after it reads the clock (completions first, then limits, breaker
 * and leases), prepared when the store opens: prepared on first use they would run inside the
 * first claim's transaction, between the start it records and its handlers' start.
 */
const CLAIM_STATEMENTS = [
  'jobComplete',
  'eventInsert',
  'statsAdd',
  'depsOfChild',
  'depResolve',
  'jobDepsDone',
  'jobUnblock',
  'queueGet',
  'jobActiveCount',
  'breakerGet',
  'breakerDefine',
  'breakerUpdate',
  'rateUsed',
  'rateAdd',
  'groupsPaused',
  'jobActiveByGroup',
  'rateUsedByPrefix',
  'jobCandidates',
  'jobClaimOne',
] as const

export interface SqliteStoreOptions {
  /** Path of the database file, or `:memory:`. */
  path: string
  /** ms a writer waits for another process's lock before giving up (default 10 000). */
  busyTimeoutMs?: number
  /** `normal` (default) survives process crashes; `full` also survives power loss. */
  synchronous?: 'normal' | 'full'
  /** Apply pending migrations on open (default true). */
  migrate?: boolean
}

type Statements = Record<StatementName, Database.Statement>

/**
 * Opens (and migrates) a SQLite store.
 *
 * @example
 * const store = await SqliteStore.open({ path: './data/spool.db' })
 * const spool = await Spool.open({ store })
 */
export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities = {
    supportsSkipLocked: false,
    supportsListenNotify: true,
    supportsTransactionalEnqueue: false,
    multiNode: false,
  }

  private readonly db: Database.Database
  private readonly sql: Statements
  private readonly wakeListeners = new Set<(hint: WakeHint) => void>()
  private watcher: FSWatcher | null = null
  private wakePending = false
  private dataVersion = -1
  private readDataVersion: Database.Statement | null = null
  private readonly claimStatements = new Map<number, Database.Statement>()
  private readonly searchStatements = new Map<string, Database.Statement>()
  /** Queues whose parents the current claim's completions unblocked (reported to the worker). */
  private readonly woke = new Set<string>()
  private readonly begin: Database.Statement
  private readonly commit: Database.Statement
  private readonly rollback: Database.Statement

  private constructor(private readonly options: SqliteStoreOptions) {
    this.db = new Database(options.path)
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    this.db.pragma('cache_size = -65536')
    this.db.pragma('temp_store = MEMORY')
    this.db.exec(SQL.migrationsTable ?? '')
    this.begin = this.db.prepare('BEGIN IMMEDIATE')
    this.commit = this.db.prepare('COMMIT')
    this.rollback = this.db.prepare('ROLLBACK')
    this.sql = new Proxy({} as Statements, {
      get: (cache, name: StatementName) => {
        const statement = SQL[name]
        if (statement === undefined) throw new Error(`no SQL statement named ${name}`)
        cache[name] ??= this.db.prepare(statement)
        return cache[name]
      },
    })
  }

  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const store = new SqliteStore(options)
    if (options.migrate !== false) await store.migrate()
    // Only on the current schema: a statement cannot be prepared against tables not there yet.
    if ((await store.migrationsPending()).length === 0) for (const name of CLAIM_STATEMENTS) void store.sql[name]
    return store
  }

  async migrate(options: { through?: number } = {}): Promise<{ applied: number[] }> {
    const applied: number[] = []
    this.write(() => {
      const done = new Set(this.sql.migrationsApplied.all().map((row) => (row as Row).version))
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue
        if (options.through !== undefined && migration.version > options.through) break
        this.db.exec(migration.sql)
        this.sql.migrationRecord.run({ version: migration.version, name: migration.name, now: Date.now() })
        applied.push(migration.version)
      }
    })
    return { applied }
  }

  async migrationsPending(): Promise<number[]> {
    const done = new Set(this.sql.migrationsApplied.all().map((row) => (row as Row).version))
    return MIGRATIONS.filter((migration) => !done.has(migration.version)).map((migration) => migration.version)
  }

  async close(): Promise<void> {
    this.watcher?.close()
    this.watcher = null
    this.wakeListeners.clear()
    if (this.db.open) this.db.close()
  }

  /** SQLite cannot tell what another process wrote, so every hint is of every kind. */
  onWake(listener: (hint: WakeHint) => void): () => void {
    this.wakeListeners.add(listener)
    this.watchWal()
    return () => this.wakeListeners.delete(listener)
  }

  /**
   * Another process's commit appends to the `-wal` file: a free cross-process wake-up hint.
   * Our own commits touch it too; `PRAGMA data_version` changes only for other connections'
   * commits, so those are told apart for the price of one pragma read.
   */
  private watchWal(): void {
    if (this.watcher || this.options.path === ':memory:') return
    const file = resolve(this.options.path)
    const wal = `${basename(file)}-wal`
    this.watcher = watch(dirname(file), { persistent: false }, (_kind, name) => {
      if (name !== wal || this.wakePending) return
      this.wakePending = true
      setImmediate(() => {
        this.wakePending = false
        if (!this.db.open) return
        // Prepared once: db.pragma() prepares its statement on every call, and this runs after
        // every commit of this process too.
        this.readDataVersion ??= this.db.prepare('PRAGMA data_version').pluck()
        const version = this.readDataVersion.get() as number
        if (version === this.dataVersion) return
        this.dataVersion = version
        for (const listener of this.wakeListeners) listener(EVERYTHING)
      })
    })
    this.watcher.on('error', () => {
      this.watcher = null
    })
  }

  /**
   * Runs `fn` in one BEGIN IMMEDIATE transaction. Prepared BEGIN/COMMIT rather than
   * better-sqlite3's `db.transaction(fn)`, which builds a wrapper per call: 8 µs against 30 µs
   * for an empty transaction here, which counts when a worker commits a round per job.
   */
  private write<T>(fn: () => T): T {
    this.begin.run()
    try {
      const result = fn()
      this.commit.run()
      return result
    } catch (error) {
      if (this.db.inTransaction) this.rollback.run()
      throw error
    }
  }

  private event(
    type: EventType,
    queue: string | null,
    jobId: number | string | null,
    state: JobState | null,
    now: number,
    data?: Record<string, unknown>,
  ): void {
    this.sql.eventInsert.run({
      at: now,
      type,
      queue,
      jobId: jobId === null ? null : Number(jobId),
      state,
      data: data ? JSON.stringify(data) : null,
    })
  }

  // ── queues ──────────────────────────────────────────────────────────────────────────────

  async queueEnsure({ name, now }: { name: string; now: number }): Promise<QueueRow> {
    this.write(() => this.sql.queueEnsure.run({ name, now }))
    return toQueue(this.sql.queueGet.get({ name }) as Row)
  }

  async queueGet({ name }: { name: string }): Promise<QueueRow | null> {
    const row = this.sql.queueGet.get({ name }) as Row | undefined
    return row ? toQueue(row) : null
  }

  async queueList(): Promise<QueueRow[]> {
    return (this.sql.queueList.all() as Row[]).map(toQueue)
  }

  async queueConfigure(params: { name: string; config: QueueConfig; now: number }): Promise<QueueRow> {
    const { name, config, now } = params
    this.write(() => {
      this.sql.queueEnsure.run({ name, now })
      this.sql.queueConfigure.run({ name, config: JSON.stringify(config), now })
      this.event('queue.configured', name, null, null, now, { config })
    })
    return toQueue(this.sql.queueGet.get({ name }) as Row)
  }

  async queuePause(params: { name: string; paused: boolean; now: number }): Promise<QueueRow> {
    const { name, paused, now } = params
    this.write(() => {
      this.sql.queueEnsure.run({ name, now })
      this.sql.queuePause.run({ name, paused: paused ? 1 : 0, now })
      this.event(paused ? 'queue.paused' : 'queue.resumed', name, null, null, now)
    })
    return toQueue(this.sql.queueGet.get({ name }) as Row)
  }

  async queueCounts({ queue, tenant }: { queue?: string; tenant?: string }) {
    const statement =
      tenant === undefined
        ? queue === undefined
          ? this.sql.queueCounts
          : this.sql.queueCountsOne
        : queue === undefined
          ? this.sql.queueCountsTenant
          : this.sql.queueCountsOneTenant
    const rows = statement.all({ queue, tenant }) as Row[]
    const counts: Record<string, Record<JobState, number>> = {}
    for (const row of rows) {
      const queue = row.queue as string
      counts[queue] ??= emptyCounts()
      counts[queue][row.state as JobState] = row.n as number
    }
    return counts
  }

  async queueOldestWaiting(): Promise<Record<string, number | null>> {
    const oldest: Record<string, number | null> = {}
    for (const row of this.sql.queueOldestWaiting.all() as Row[]) {
      oldest[row.queue as string] = row.created_at === null ? null : Number(row.created_at)
    }
    return oldest
  }

  async jobOldestWaiting({
    tenant,
    queue,
  }: {
    tenant: string
    queue?: string
  }): Promise<{ id: string; queue: string; createdAt: number } | null> {
    const row = (
      queue === undefined
        ? this.sql.jobOldestWaitingTenant.get({ tenant })
        : this.sql.jobOldestWaitingOneTenant.get({ queue, tenant })
    ) as Row | undefined
    return row ? { id: String(row.id), queue: row.queue as string, createdAt: Number(row.created_at) } : null
  }

  async queueConstrain(params: { name: string; constrained: boolean; now: number }): Promise<void> {
    const { name, constrained, now } = params
    this.write(() => {
      this.sql.queueEnsure.run({ name, now })
      this.sql.queueConstrain.run({ name, constrained: constrained ? 1 : 0, now })
    })
  }

  // ── jobs: the hot path ───────────────────────────────────────────────────────────────────

  async jobInsert(params: { jobs: NewJob[]; now: number; admission?: Record<string, AdmissionLimits> }) {
    const { jobs, now, admission } = params
    return this.write(() => {
      const refused = admission && this.admit(jobs, admission)
      if (refused) return { refused }
      return this.insertJobs(jobs, now)
    })
  }

  /** Refuses a batch that would take a queue or a group past its limit (nothing is written). */
  private admit(jobs: NewJob[], admission: Record<string, AdmissionLimits>): InsertRefusal | null {
    const adding = new Map<string, number>()
    for (const job of jobs) {
      const limits = admission[job.queue]
      if (!limits) continue
      adding.set(job.queue, (adding.get(job.queue) ?? 0) + 1)
      if (limits.maxGroupSize !== undefined && job.group !== null) {
        const key = `${job.queue}\u0000${job.group}`
        adding.set(key, (adding.get(key) ?? 0) + 1)
      }
    }
    for (const [key, n] of adding) {
      const [queue = '', group] = key.split('\u0000')
      const limits = admission[queue] ?? {}
      const limit = group === undefined ? limits.maxSize : limits.maxGroupSize
      if (limit === undefined) continue
      const row = (
        group === undefined
          ? this.sql.jobUnfinishedCount.get({ queue })
          : this.sql.jobUnfinishedGroupCount.get({ queue, group })
      ) as Row
      const size = row.n as number
      if (size + n > limit) return { queue, group: group ?? null, size, limit }
    }
    return null
  }

  /** Inserts jobs with their dependencies, inside the caller's transaction. */
  private insertJobs(jobs: NewJob[], now: number) {
    const ids: number[] = []
    return jobs.map((job) => {
      const deps = (job.dependsOn ?? []).map((dep) => {
        const id = dep.index !== undefined ? ids[dep.index] : toId(dep.id ?? '')
        const child = id === undefined ? undefined : (this.sql.jobLeaseGet.get({ id }) as Row | undefined)
        if (id === undefined || !child) throw dependencyNotFound(dep.id ?? `#${dep.index}`)
        return { id, state: child.state as JobState, onFailure: dep.onFailure }
      })
      const pending = deps.filter((dep) => !FINISHED_STATES.includes(dep.state)).length
      const failedBy = deps.find(
        (dep) => dep.onFailure === 'fail' && (dep.state === 'failed' || dep.state === 'cancelled'),
      )
      const state: JobState = pending > 0 || failedBy ? 'blocked' : job.runAt > now ? 'scheduled' : 'waiting'
      const row = {
        queue: job.queue,
        state,
        priority: job.priority,
        runAt: job.runAt,
        payload: job.payload,
        maxAttempts: job.maxAttempts,
        backoff: backoffJson(job.backoff),
        timeoutMs: job.timeoutMs,
        idempotencyKey: job.idempotencyKey,
        group: job.group,
        tags: job.tags.length === 0 ? '[]' : JSON.stringify(job.tags),
        metadata: isEmpty(job.metadata) ? '{}' : JSON.stringify(job.metadata),
        tenant: job.tenant,
        vtime: job.fairWeight ? this.fairVtime(job, now) : 0,
        depsPending: pending,
        now,
      }
      const id =
        job.idempotencyKey === null
          ? Number(this.sql.jobInsertPlain.run(row).lastInsertRowid)
          : ((this.sql.jobInsert.get(row) as Row | undefined)?.id as number | undefined)
      if (id === undefined) {
        const existing = this.sql.jobByIdempotencyKey.get({
          queue: job.queue,
          tenant: job.tenant,
          idempotencyKey: job.idempotencyKey,
        }) as Row
        ids.push(existing.id as number)
        return { id: String(existing.id), created: false, state: existing.state as JobState }
      }
      ids.push(id)
      for (const dep of deps) {
        const resolved = FINISHED_STATES.includes(dep.state) ? 1 : 0
        this.sql.depInsert.run({ parentId: id, childId: dep.id, onFailure: dep.onFailure, resolved })
      }
      this.event(
        'job.created',
        job.queue,
        id,
        state,
        now,
        deps.length > 0 ? { dependsOn: deps.map((d) => String(d.id)) } : undefined,
      )
      if (failedBy) {
        this.failForDependency(id, failedBy.id, now)
        return { id: String(id), created: true, state: 'failed' as JobState }
      }
      return { id: String(id), created: true, state }
    })
  }

  /**
   * Weighted fair queuing: a job's virtual time is one step (1 / weight) after its group's
   * previous job, but never behind the head of its priority level, so a group that was idle
   * joins the rotation now instead of jumping ahead of everyone with its old clock.
   */
  private fairVtime(job: NewJob, now: number): number {
    const group = job.group ?? ''
    const head = this.sql.fairHead.get({ queue: job.queue, priority: job.priority }) as Row | undefined
    const base = head ? (head.vtime as number) : ((this.sql.fairMax.get({ queue: job.queue }) as Row).vtime as number)
    const last = (this.sql.fairGroupGet.get({ queue: job.queue, group }) as Row | undefined)?.vtime as
      | number
      | undefined
    const vtime = Math.max(base, last ?? 0) + 1 / (job.fairWeight ?? 1)
    this.sql.fairGroupSet.run({ queue: job.queue, group, vtime, now })
    return vtime
  }

  async jobClaim(params: ClaimParams): Promise<ClaimResult> {
    const { queue, workerId, limit, leaseMs, now, completions = [], constraints } = params
    this.woke.clear()
    const [rows, completed, retryAt] = this.write(() => {
      const completed = this.complete(completions, now)
      if (constraints) {
        const { rows, retryAt } = this.claimConstrained(params, constraints)
        return [rows, completed, retryAt] as const
      }
      const claimed = this.claimStatement(limit).all({
        queue,
        workerId,
        now,
        leaseExpiresAt: now + leaseMs,
      }) as Row[]
      for (const row of claimed) {
        this.event('job.active', queue, row.id as number, 'active', now, { attempt: row.attempt })
      }
      return [claimed, completed, null] as const
    })
    const woke = this.woke.size > 0 ? [...this.woke] : undefined
    return { jobs: rows.sort(byRunOrder).map(toClaimed), completed, retryAt, ...(woke && { woke }) }
  }

  /**
   * The constrained claim: inside the write lock, so counts and admissions are exact across
   * processes. Order of checks: the queue's pause, its breaker, its concurrency cap and rate
   * limit (a budget), then candidates best first, skipping groups that are paused or at their
   * own cap or rate, re-reading while groups fill up. Start times come from the clock read under
   * the lock, so starts recorded by different processes are in time order.
   */
  private claimConstrained(params: ClaimParams, limits: ClaimConstraints): { rows: Row[]; retryAt: number | null } {
    const { queue, workerId, leaseMs } = params
    // The lease statement for the batch asked for (the budget unless a limit binds) is prepared
    // before the clock is read, so preparing it never delays handlers past their recorded start.
    this.claimStatement(params.limit, true)
    const now = Math.max(params.now, Date.now())
    const none = (retryAt: number | null) => ({ rows: [] as Row[], retryAt })
    const queueRow = this.sql.queueGet.get({ name: queue }) as Row | undefined
    if (!queueRow || queueRow.paused === 1) return none(null)
    if ((queueRow.paused_until as number) > now) return none(queueRow.paused_until as number)

    let budget = params.limit
    let active: number | undefined
    const activeCount = () => {
      active ??= (this.sql.jobActiveCount.get({ queue }) as Row).n as number
      return active
    }
    if (limits.breaker) {
      const breaker = this.breakerAdmit(limits.breaker.name, limits.breaker.policy, now)
      if (breaker.state === 'open') return none((breaker.openedAt ?? now) + breaker.config.cooldownMs)
      if (breaker.state === 'half_open') budget = Math.min(budget, breaker.config.halfOpenProbes - activeCount())
    }
    if (limits.concurrency !== undefined) budget = Math.min(budget, limits.concurrency - activeCount())
    let retryAt: number | null = null
    if (limits.rate) {
      const used = this.rateUsed(rateKey.queue(queue), limits.rate, now)
      budget = Math.min(budget, limits.rate.max - used.n)
      retryAt = used.freeAt
    }
    if (budget <= 0) return none(retryAt)

    const groups = this.groupAllowances(queue, limits, now)
    const leaseExpiresAt = now + leaseMs
    if (groups.blocked.size === 0 && limits.groupConcurrency === undefined && limits.groupRate === undefined) {
      // Nothing to skip per group: the budget is claimed in one statement, as on the fast path.
      const rows = this.claimStatement(budget, true).all({ queue, workerId, now, leaseExpiresAt }) as Row[]
      for (const row of rows) this.event('job.active', queue, row.id as number, 'active', now, { attempt: row.attempt })
      if (limits.rate && rows.length > 0) this.rateAdd(rateKey.queue(queue), limits.rate, now, rows.length)
      return { rows, retryAt: rows.length > 0 ? null : retryAt }
    }
    const picked: Row[] = []
    const startsByGroup = new Map<string, number>()
    while (budget > 0) {
      const scan = budget * 4 + 16
      const candidates = this.sql.jobCandidates.all({
        queue,
        now,
        blocked: JSON.stringify([...groups.blocked]),
        limit: scan,
      }) as Row[]
      for (const candidate of candidates) {
        if (budget === 0) break
        const group = candidate.grp as string | null
        if (group !== null && !groups.take(group)) continue
        const row = this.sql.jobClaimOne.get({ id: candidate.id, workerId, now, leaseExpiresAt }) as Row | undefined
        if (!row) continue
        picked.push(row)
        budget -= 1
        if (group !== null) startsByGroup.set(group, (startsByGroup.get(group) ?? 0) + 1)
        this.event('job.active', queue, row.id as number, 'active', now, { attempt: row.attempt })
      }
      if (candidates.length < scan) break
    }
    if (limits.rate && picked.length > 0) this.rateAdd(rateKey.queue(queue), limits.rate, now, picked.length)
    if (limits.groupRate) {
      for (const [group, n] of startsByGroup) this.rateAdd(rateKey.group(queue, group), limits.groupRate, now, n)
    }
    return { rows: picked, retryAt: picked.length > 0 ? null : (groups.retryAt ?? retryAt) }
  }

  /**
   * What each group may still start now: its concurrency cap less its active jobs, and its
   * rate limit less its counted starts; paused or exhausted groups are `blocked`, so the
   * candidate query skips them. `take` spends one start of a group.
   */
  private groupAllowances(queue: string, limits: ClaimConstraints, now: number) {
    const blocked = new Set<string>()
    const allowance = new Map<string, number>()
    let retryAt: number | null = null
    const later = (at: number) => {
      retryAt = retryAt === null ? at : Math.min(retryAt, at)
    }
    for (const row of this.sql.groupsPaused.all({ queue, now }) as Row[]) {
      blocked.add(row.grp as string)
      later(row.paused_until as number)
    }
    const fresh = Math.min(
      limits.groupConcurrency ?? Number.POSITIVE_INFINITY,
      limits.groupRate?.max ?? Number.POSITIVE_INFINITY,
    )
    const lower = (group: string, left: number) => {
      allowance.set(group, Math.min(allowance.get(group) ?? fresh, left))
      if (left <= 0) blocked.add(group)
    }
    if (limits.groupConcurrency !== undefined) {
      for (const row of this.sql.jobActiveByGroup.all({ queue }) as Row[]) {
        lower(row.grp as string, limits.groupConcurrency - (row.n as number))
      }
    }
    if (limits.groupRate) {
      const prefix = rateKey.groupPrefix(queue)
      const width = rateBucketWidth(limits.groupRate.windowMs)
      const from = bucketStart(now - limits.groupRate.windowMs, width)
      const rows = this.sql.rateUsedByPrefix.all({ prefix, prefixEnd: `${prefix}\uffff`, from }) as Row[]
      for (const row of rows) {
        const left = limits.groupRate.max - (row.n as number)
        lower((row.key as string).slice(prefix.length), left)
        if (left <= 0) later((row.oldest as number) + width + limits.groupRate.windowMs)
      }
    }
    return {
      blocked,
      get retryAt() {
        return retryAt
      },
      take(group: string): boolean {
        if (blocked.has(group)) return false
        const left = allowance.get(group) ?? fresh
        if (left <= 0) return false
        allowance.set(group, left - 1)
        if (left - 1 <= 0) blocked.add(group)
        return true
      },
    }
  }

  /**
   * Starts counted against a rate limit: the sum of its buckets (a tenth of the window each)
   * that overlap the window ending now. Counting the oldest bucket whole errs on the safe side:
   * no window of `windowMs` ever holds more than `max` starts. `freeAt` is when that oldest
   * bucket stops counting.
   */
  private rateUsed(key: string, limit: RateLimit, now: number): { n: number; freeAt: number } {
    const width = rateBucketWidth(limit.windowMs)
    const row = this.sql.rateUsed.get({ key, from: bucketStart(now - limit.windowMs, width) }) as Row
    const oldest = row.oldest as number | null
    return { n: row.n as number, freeAt: oldest === null ? now : oldest + width + limit.windowMs }
  }

  private rateAdd(key: string, limit: RateLimit, now: number, n: number): void {
    this.sql.rateAdd.run({ key, bucket: bucketStart(now, rateBucketWidth(limit.windowMs)), n })
  }

  /** The breaker's state for a claim: an open breaker whose cool-down is over turns half-open. */
  private breakerAdmit(name: string, policy: BreakerPolicy, now: number): BreakerRow {
    let row = this.sql.breakerGet.get({ name }) as Row | undefined
    if (!row) {
      this.sql.breakerDefine.run({ name, config: JSON.stringify(policy), now })
      row = this.sql.breakerGet.get({ name }) as Row
    }
    const breaker = toBreaker(row)
    if (breaker.state !== 'open' || now < (breaker.openedAt ?? now) + breaker.config.cooldownMs) return breaker
    return this.saveBreaker(breaker, { ...breaker, state: 'half_open', successes: 0, updatedAt: now }, now)
  }

  /** Writes a breaker's new state, with an event when the state changed. */
  private saveBreaker(before: BreakerRow, after: BreakerRow, now: number): BreakerRow {
    this.sql.breakerUpdate.run({
      name: after.name,
      state: after.state,
      failures: after.failures,
      successes: after.successes,
      windowStart: after.windowStart,
      windowTotal: after.windowTotal,
      windowFailures: after.windowFailures,
      openedAt: after.openedAt,
      now,
    })
    if (after.state !== before.state) {
      const type =
        after.state === 'open' ? 'breaker.opened' : after.state === 'closed' ? 'breaker.closed' : 'breaker.half_open'
      this.event(type, null, null, null, now, { breaker: after.name, from: before.state, failures: before.failures })
    }
    return after
  }

  /**
   * The claim with its LIMIT written in: with `LIMIT ?` bound, SQLite plans the IN-subquery
   * without knowing how small it is, and a claim of one job cost 180 µs instead of 70 µs here.
   * One prepared statement per batch size seen (a worker uses a handful).
   */
  private claimStatement(limit: number, constrained = false): Database.Statement {
    const n = Math.max(1, Math.min(10_000, Math.floor(limit)))
    const key = constrained ? -n : n
    let statement = this.claimStatements.get(key)
    if (!statement) {
      // The constrained path checked the queue row itself, under the same lock.
      const sql = (SQL.jobClaim ?? '').replace(':limit', String(n))
      statement = this.db.prepare(constrained ? sql.replace(' OR constrained = 1', '') : sql)
      this.claimStatements.set(key, statement)
    }
    return statement
  }

  async jobNextRunAt({ queue, now }: { queue: string; now: number }): Promise<number | null> {
    const row = this.sql.jobNextRunAt.get({ queue, now }) as Row
    return (row.run_at as number | null) ?? null
  }

  async jobComplete({ items, now }: { items: Completion[]; now: number }): Promise<boolean[]> {
    return this.write(() => this.complete(items, now))
  }

  /** Guarded completions, inside the caller's transaction. */
  private complete(items: Completion[], now: number): boolean[] {
    if (items.length === 0) return []
    const completedPerQueue = new Map<string, number>()
    const outcome = items.map((item) => {
      const { changes } = this.sql.jobComplete.run({
        id: Number(item.id),
        leaseToken: item.leaseToken,
        result: item.result,
        now,
      })
      if (changes !== 1) return false
      completedPerQueue.set(item.queue, (completedPerQueue.get(item.queue) ?? 0) + 1)
      this.event('job.completed', item.queue, item.id, 'completed', now)
      this.resolveDependents(Number(item.id), 'completed', now)
      return true
    })
    for (const [queue, completed] of completedPerQueue) this.addStats(queue, now, { completed })
    return outcome
  }

  async jobFail(
    params: Lease & {
      error: AttemptError | null
      retryAt: number | null
      refundAttempt: boolean
      now: number
      pause?: { group: string | null; until: number }
    },
  ): Promise<Outcome<{ state: JobState }>> {
    const { error, retryAt, refundAttempt, now, pause } = params
    const id = Number(params.id)
    return this.write(() => {
      const current = this.sql.jobLeaseGet.get({ id }) as Row | undefined
      if (!current) return { ok: false, reason: 'not_found' } as const
      if (current.state !== 'active' || current.lease_token !== params.leaseToken) {
        return { ok: false, reason: 'lease_lost' } as const
      }
      const state: JobState = retryAt === null ? 'failed' : retryAt > now ? 'scheduled' : 'waiting'
      const errors = appendError(current.errors as string, error)
      this.sql.jobFail.run({
        id,
        leaseToken: params.leaseToken,
        state,
        runAt: retryAt ?? now,
        refund: refundAttempt ? 1 : 0,
        errors,
        finishedAt: state === 'failed' ? now : null,
        now,
      })
      const queue = current.queue as string
      this.event(state === 'failed' ? 'job.failed' : 'job.retrying', queue, id, state, now, {
        attempt: current.attempt,
        ...(retryAt !== null && { retryAt }),
        ...(error && { error: error.message }),
      })
      if (state === 'failed') this.addStats(queue, now, { failed: 1 })
      else if (!refundAttempt) this.addStats(queue, now, { retried: 1 })
      if (pause) this.pauseKey(queue, pause.group, pause.until, now)
      if (state === 'failed') this.resolveDependents(id, 'failed', now)
      return { ok: true, job: { state } } as const
    })
  }

  async jobHeartbeat({ items, leaseMs, now }: { items: Lease[]; leaseMs: number; now: number }) {
    return this.write(() =>
      items.map(
        (item) =>
          this.sql.jobHeartbeat.run({
            id: Number(item.id),
            leaseToken: item.leaseToken,
            leaseExpiresAt: now + leaseMs,
          }).changes === 1,
      ),
    )
  }

  async jobProgress(params: Lease & { progress: JobRow['progress']; now: number }): Promise<boolean> {
    const { progress, now } = params
    const id = Number(params.id)
    return this.write(() => {
      const row = this.sql.jobProgress.get({
        id,
        leaseToken: params.leaseToken,
        progress: JSON.stringify(progress),
        now,
      }) as Row | undefined
      if (!row) return false
      this.event('job.progress', row.queue as string, id, 'active', now, { ...progress })
      return true
    })
  }

  async jobLog(params: {
    id: string
    leaseToken?: number
    level: 'debug' | 'info' | 'warn' | 'error'
    message: string
    now: number
  }): Promise<boolean> {
    const id = Number(params.id)
    return this.write(() => {
      const current = this.sql.jobLeaseGet.get({ id }) as Row | undefined
      if (!current) return false
      if (
        params.leaseToken !== undefined &&
        (current.state !== 'active' || current.lease_token !== params.leaseToken)
      ) {
        return false
      }
      this.event('job.log', current.queue as string, id, current.state as JobState, params.now, {
        level: params.level,
        message: params.message,
      })
      return true
    })
  }

  async jobRelease(params: Lease & { now: number }): Promise<boolean> {
    const id = Number(params.id)
    return this.write(() => {
      const row = this.sql.jobRelease.get({ id, leaseToken: params.leaseToken, now: params.now }) as Row | undefined
      if (!row) return false
      this.event('job.waiting', row.queue as string, id, 'waiting', params.now, { reason: 'released' })
      return true
    })
  }

  // ── jobs: management ─────────────────────────────────────────────────────────────────────

  async jobGet({ id }: { id: string }): Promise<JobRow | null> {
    const row = this.sql.jobGet.get({ id: toId(id) }) as Row | undefined
    return row ? toJob(row) : null
  }

  async jobList(params: JobFilter & { beforeId?: string; beforeRunAt?: number; order?: JobOrder; limit: number }) {
    const { queue, state, limit } = params
    const order = params.order ?? { by: 'id', dir: 'desc' }
    const filter = jobFilterSql(params)
    if (order.by !== 'id' || order.dir !== 'desc') {
      // Another order: keyset on (run_at, id) or id, one prepared statement per shape.
      const key = `${order.by} ${order.dir} ${params.beforeId === undefined ? 'first' : 'next'} ${filter.key}`
      let statement = this.searchStatements.get(key)
      if (!statement) {
        const cmp = order.dir === 'asc' ? '>' : '<'
        const dir = order.dir.toUpperCase()
        const keyset =
          params.beforeId === undefined
            ? []
            : [order.by === 'id' ? `id ${cmp} :beforeId` : `(run_at, id) ${cmp} (:beforeRunAt, :beforeId)`]
        const where = [...keyset, ...filter.all].join(' AND ') || '1'
        const by = order.by === 'id' ? `id ${dir}` : `run_at ${dir}, id ${dir}`
        statement = this.db.prepare(`SELECT * FROM jobs WHERE ${where} ORDER BY ${by} LIMIT :limit`)
        this.searchStatements.set(key, statement)
      }
      const values: Record<string, unknown> = { ...filter.values, limit }
      if (params.beforeId !== undefined) {
        values.beforeId = toId(params.beforeId)
        if (order.by === 'runAt') values.beforeRunAt = params.beforeRunAt ?? 0
      }
      return (statement.all(values) as Row[]).map(toJob)
    }
    const beforeId = params.beforeId === undefined ? Number.MAX_SAFE_INTEGER : toId(params.beforeId)
    if (filter.where.length > 0) {
      let statement = this.searchStatements.get(filter.key)
      if (!statement) {
        const where = ['id < :beforeId', ...filter.where].join(' AND ')
        statement = this.db.prepare(`SELECT * FROM jobs WHERE ${where} ORDER BY id DESC LIMIT :limit`)
        this.searchStatements.set(filter.key, statement)
      }
      return (statement.all({ ...filter.values, beforeId, limit }) as Row[]).map(toJob)
    }
    const statement =
      queue !== undefined && state !== undefined
        ? this.sql.jobListQueueState
        : queue !== undefined
          ? this.sql.jobListQueue
          : state !== undefined
            ? this.sql.jobListState
            : this.sql.jobListAll
    return (statement.all({ queue, state, beforeId, limit }) as Row[]).map(toJob)
  }

  async jobCount(params: JobFilter & { limit: number }): Promise<number> {
    const filter = jobFilterSql(params)
    const key = `count ${filter.key}`
    let statement = this.searchStatements.get(key)
    if (!statement) {
      const where = filter.all.join(' AND ') || '1'
      statement = this.db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE ${where} LIMIT :limit)`)
      this.searchStatements.set(key, statement)
    }
    return (statement.get({ ...filter.values, limit: params.limit }) as { n: number }).n
  }

  /**
   * Runs a guarded manual transition: reads the job, checks its state against `from`, and
   * applies `change` in the same transaction.
   */
  private transition(id: string, from: readonly JobState[], change: (job: JobRow) => void): Outcome {
    return this.write(() => {
      const row = this.sql.jobGet.get({ id: toId(id) }) as Row | undefined
      if (!row) return { ok: false, reason: 'not_found' } as const
      const job = toJob(row)
      if (!from.includes(job.state)) return { ok: false, reason: 'invalid_state', state: job.state } as const
      change(job)
      const after = this.sql.jobGet.get({ id: toId(id) }) as Row | undefined
      return { ok: true, job: after ? toJob(after) : job } as const
    })
  }

  private setState(job: JobRow, state: JobState, now: number, changes: Partial<Row> = {}): void {
    this.sql.jobSetState.run({
      id: Number(job.id),
      state,
      runAt: job.runAt,
      attempt: job.attempt,
      progress: job.progress === null ? null : JSON.stringify(job.progress),
      finishedAt: state === 'cancelled' || state === 'failed' || state === 'completed' ? now : null,
      now,
      ...changes,
    })
  }

  async jobCancel({ id, now }: { id: string; now: number }): Promise<Outcome> {
    return this.transition(id, UNFINISHED, (job) => this.cancelTree(job, now))
  }

  /** Cancels a job, then its unfinished children that no other live parent still waits for. */
  private cancelTree(job: JobRow, now: number): void {
    this.setState(job, 'cancelled', now)
    this.event('job.cancelled', job.queue, job.id, 'cancelled', now, { from: job.state })
    this.resolveDependents(Number(job.id), 'cancelled', now)
    for (const dep of this.sql.depsOfParent.all({ parentId: Number(job.id) }) as Row[]) {
      if (!UNFINISHED.includes(dep.state as JobState)) continue
      const others = this.sql.depsOtherLiveParents.get({ childId: dep.child_id, parentId: Number(job.id) }) as Row
      if ((others.n as number) > 0) continue
      const child = this.sql.jobGet.get({ id: dep.child_id }) as Row | undefined
      if (child) this.cancelTree(toJob(child), now)
    }
  }

  /**
   * A job finished for good: each parent waiting for it counts one dependency resolved and
   * runs when none is left, or fails at once when this one failed under the `fail` policy.
   */
  private resolveDependents(childId: number, outcome: 'completed' | 'failed' | 'cancelled', now: number): void {
    for (const dep of this.sql.depsOfChild.all({ childId }) as Row[]) {
      const parentId = dep.parent_id as number
      this.sql.depResolve.run({ parentId, childId })
      if (outcome !== 'completed' && dep.on_failure === 'fail') {
        this.failForDependency(parentId, childId, now)
        continue
      }
      const parent = this.sql.jobDepsDone.get({ id: parentId, now }) as Row | undefined
      if (!parent || (parent.deps_pending as number) > 0) continue
      const state: JobState = (parent.run_at as number) > now ? 'scheduled' : 'waiting'
      this.sql.jobUnblock.run({ id: parentId, state, now })
      this.woke.add(parent.queue as string)
      this.event('job.waiting', parent.queue as string, parentId, state, now, { reason: 'dependencies' })
    }
  }

  /** A blocked job fails because a dependency it may not do without failed; its own parents learn of it. */
  private failForDependency(parentId: number, childId: number, now: number): void {
    const parent = this.sql.jobLeaseGet.get({ id: parentId }) as Row | undefined
    if (parent?.state !== 'blocked') return
    const error: AttemptError = {
      at: now,
      attempt: parent.attempt as number,
      message: `dependency ${childId} failed`,
      code: 'SPOOL_DEPENDENCY_FAILED',
      retryable: false,
    }
    this.sql.jobFailDependency.run({ id: parentId, errors: appendError(parent.errors as string, error), now })
    const queue = parent.queue as string
    this.event('job.failed', queue, parentId, 'failed', now, { error: error.message, dependency: String(childId) })
    this.addStats(queue, now, { failed: 1 })
    this.resolveDependents(parentId, 'failed', now)
  }

  /** Holds a whole queue, or one group of it, back until a time (a provider's Retry-After). */
  private pauseKey(queue: string, group: string | null, until: number, now: number): void {
    if (group === null) this.sql.queuePauseUntil.run({ queue, until, now })
    else this.sql.groupPauseUntil.run({ queue, group, until, now })
    this.event('queue.throttled', queue, null, null, now, { group, until })
  }

  async jobWaitForChildren(
    params: Lease & { children: { job: NewJob; onFailure: DependencyFailurePolicy }[]; now: number },
  ): Promise<Outcome<{ state: JobState; childIds: string[] }>> {
    const { children, now, leaseToken } = params
    const id = Number(params.id)
    return this.write(() => {
      const current = this.sql.jobLeaseGet.get({ id }) as Row | undefined
      if (!current) return { ok: false, reason: 'not_found' } as const
      if (current.state !== 'active' || current.lease_token !== leaseToken) {
        return { ok: false, reason: 'lease_lost' } as const
      }
      const inserted = this.insertJobs(
        children.map((child) => child.job),
        now,
      )
      let pending = 0
      inserted.forEach((child, index) => {
        const unfinished = UNFINISHED.includes(child.state)
        if (unfinished) pending += 1
        this.sql.depInsert.run({
          parentId: id,
          childId: Number(child.id),
          onFailure: children[index]?.onFailure ?? 'fail',
          resolved: unfinished ? 0 : 1,
        })
      })
      const state: JobState = pending > 0 ? 'blocked' : 'waiting'
      const row = this.sql.jobBlock.get({ id, leaseToken, state, depsPending: pending, now }) as Row
      this.event(pending > 0 ? 'job.blocked' : 'job.waiting', row.queue as string, id, state, now, {
        children: inserted.map((child) => child.id),
      })
      return { ok: true, job: { state, childIds: inserted.map((child) => child.id) } } as const
    })
  }

  async jobDependencies({ id }: { id: string }): Promise<DependencyRow[]> {
    return (this.sql.depsOfParent.all({ parentId: toId(id) }) as Row[]).map(toDependency)
  }

  async jobDependents({ id }: { id: string }): Promise<DependentRow[]> {
    return (this.sql.depsParents.all({ childId: toId(id) }) as Row[]).map(toDependent)
  }

  async jobTenants({ ids }: { ids: string[] }): Promise<Map<string, string>> {
    const rows = this.sql.jobTenants.all({ ids: JSON.stringify(ids.map(toId)) }) as Row[]
    return new Map(rows.map((row) => [String(row.id), row.tenant as string]))
  }

  async jobRetry({ id, now }: { id: string; now: number }): Promise<Outcome> {
    return this.transition(id, ['failed', 'cancelled'], (job) => {
      this.setState(job, 'waiting', now, { runAt: now, attempt: 0, progress: null })
      this.event('job.waiting', job.queue, job.id, 'waiting', now, { reason: 'retried', from: job.state })
    })
  }

  async jobReprioritize(params: { id: string; priority: number; now: number }): Promise<Outcome> {
    const { id, priority, now } = params
    return this.transition(id, ['waiting', 'scheduled', 'blocked'], (job) => {
      this.sql.jobReprioritize.run({ id: Number(job.id), priority, now })
      this.event('job.priority', job.queue, job.id, job.state, now, { priority, from: job.priority })
    })
  }

  async jobPromote({ id, now }: { id: string; now: number }): Promise<Outcome> {
    return this.transition(id, ['scheduled'], (job) => {
      this.setState(job, 'waiting', now, { runAt: now })
      this.event('job.waiting', job.queue, job.id, 'waiting', now, { reason: 'promoted' })
    })
  }

  async jobRemove({ id, now }: { id: string; now: number }): Promise<Outcome> {
    const removable: JobState[] = ['waiting', 'scheduled', 'blocked', 'completed', 'failed', 'cancelled']
    return this.transition(id, removable, (job) => {
      this.sql.jobRemove.run({ id: Number(job.id) })
      this.sql.jobRemoveEvents.run({ id: Number(job.id) })
      this.event('job.removed', job.queue, job.id, null, now, { tenant: job.tenant })
      // A parent still waiting for a removed job would wait forever: it counts as cancelled.
      if (UNFINISHED.includes(job.state)) this.resolveDependents(Number(job.id), 'cancelled', now)
    })
  }

  async jobPosition({ id, now, limit }: { id: string; now: number; limit?: number }): Promise<number | null> {
    const row = this.sql.jobGet.get({ id: toId(id) }) as Row | undefined
    if (!row) return null
    const runnable = row.state === 'waiting' || (row.state === 'scheduled' && (row.run_at as number) <= now)
    if (!runnable) return null
    const count = this.sql.jobPosition.get({
      queue: row.queue,
      priority: row.priority,
      vtime: row.vtime,
      runAt: row.run_at,
      id: row.id,
      now,
      limit: limit ?? -1,
    }) as Row
    return count.n as number
  }

  // ── maintenance ──────────────────────────────────────────────────────────────────────────

  async jobRecoverExpired({ now }: { now: number }) {
    return this.write(() =>
      (this.sql.jobExpired.all({ now }) as Row[]).map((row) => {
        const exhausted = (row.attempt as number) >= (row.max_attempts as number)
        const state: JobState = exhausted ? 'failed' : 'waiting'
        const error: AttemptError = {
          at: now,
          attempt: row.attempt as number,
          message: 'lease expired: the worker stopped heartbeating (crashed, killed or blocked)',
          code: 'SPOOL_LEASE_EXPIRED',
          retryable: true,
        }
        this.sql.jobFail.run({
          id: row.id,
          leaseToken: row.lease_token,
          state,
          runAt: now,
          refund: 0,
          errors: appendError(row.errors as string, error),
          finishedAt: exhausted ? now : null,
          now,
        })
        const queue = row.queue as string
        this.event(exhausted ? 'job.failed' : 'job.retrying', queue, row.id as number, state, now, {
          attempt: row.attempt,
          error: error.message,
        })
        this.addStats(queue, now, exhausted ? { failed: 1 } : { retried: 1 })
        if (exhausted) this.resolveDependents(row.id as number, 'failed', now)
        return { id: String(row.id), state }
      }),
    )
  }

  async jobPromoteDue({ now, limit }: { now: number; limit: number }): Promise<number> {
    return this.write(() => {
      const rows = this.sql.jobPromoteDue.all({ now, limit }) as Row[]
      for (const row of rows) {
        this.event('job.waiting', row.queue as string, row.id as number, 'waiting', now, {
          reason: 'due',
        })
      }
      return rows.length
    })
  }

  async jobCleanup(params: {
    queue: string
    state: 'completed' | 'failed' | 'cancelled'
    rule: RetentionRule
    now: number
    dryRun: boolean
    tenant?: string
  }): Promise<{ count: number; sampleIds: string[] }> {
    const { queue, state, rule, now, dryRun, tenant } = params
    return this.write(() => {
      const ids = new Set<number>()
      const mine = (row: Row) => tenant === undefined || row.tenant === tenant
      if (rule.maxAgeMs !== undefined) {
        const before = now - rule.maxAgeMs
        for (const row of this.sql.jobCleanupByAge.all({ queue, state, before }) as Row[]) {
          if (mine(row)) ids.add(row.id as number)
        }
      }
      if (rule.maxCount !== undefined) {
        for (const row of this.sql.jobCleanupByCount.all({ queue, state, keep: rule.maxCount }) as Row[]) {
          if (mine(row)) ids.add(row.id as number)
        }
      }
      if (!dryRun) {
        for (const id of ids) {
          this.sql.jobRemove.run({ id })
          this.sql.jobRemoveEvents.run({ id })
        }
      }
      return { count: ids.size, sampleIds: [...ids].slice(0, 10).map(String) }
    })
  }

  // ── events and stats ─────────────────────────────────────────────────────────────────────

  async eventList(params: { afterId: number; queue?: string; jobId?: string; limit: number }) {
    const { afterId, queue, jobId, limit } = params
    const rows = (
      jobId !== undefined
        ? this.sql.eventListJob.all({ afterId, jobId: toId(jobId), limit })
        : queue !== undefined
          ? this.sql.eventListQueue.all({ afterId, queue, limit })
          : this.sql.eventListAll.all({ afterId, limit })
    ) as Row[]
    return rows.map(toEvent).filter((event) => queue === undefined || event.queue === queue)
  }

  async eventLastId(): Promise<number> {
    return (this.sql.eventLastId.get() as Row).id as number
  }

  private addStats(
    queue: string,
    now: number,
    counts: { completed?: number; failed?: number; retried?: number },
  ): void {
    this.sql.statsAdd.run({
      queue,
      minute: now - (now % MINUTE),
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      retried: counts.retried ?? 0,
    })
  }

  async statsBuckets({ queue, since }: { queue?: string; since: number }): Promise<StatsBucket[]> {
    const rows = (
      queue === undefined ? this.sql.statsBucketsAll.all({ since }) : this.sql.statsBucketsQueue.all({ queue, since })
    ) as Row[]
    return rows.map((row) => ({
      minute: row.minute as number,
      completed: row.completed as number,
      failed: row.failed as number,
      retried: row.retried as number,
    }))
  }

  async statsTimings({ queue, limit }: { queue?: string; limit: number }): Promise<Timing[]> {
    const rows = (
      queue === undefined ? this.sql.statsTimingsAll.all({ limit }) : this.sql.statsTimingsQueue.all({ queue, limit })
    ) as Row[]
    return rows.map((row) => ({ waitMs: Math.max(0, row.wait_ms as number), runMs: row.run_ms as number }))
  }

  async statsPrune({ before }: { before: number }): Promise<void> {
    this.write(() => {
      this.sql.statsPrune.run({ before })
      this.sql.eventsPrune.run({ before })
    })
  }

  async leaderAcquire(params: { name: string; nodeId: string; ttlMs: number; now: number }) {
    const { name, nodeId, ttlMs, now } = params
    const row = this.write(() => this.sql.leaderAcquire.get({ name, nodeId, now, expiresAt: now + ttlMs })) as
      | Row
      | undefined
    return row?.node_id === nodeId
  }

  async leaderRelease({ name, nodeId }: { name: string; nodeId: string }): Promise<void> {
    this.write(() => this.sql.leaderRelease.run({ name, nodeId }))
  }

  // ── limits and breakers ──────────────────────────────────────────────────────────────────

  async limitsGet(params: {
    queue: string
    now: number
    windowMs?: number
    groupWindowMs?: number
  }): Promise<LimitsRow> {
    const { queue, now } = params
    const queueRow = this.sql.queueGet.get({ name: queue }) as Row | undefined
    const rateUsed: Record<string, number> = {}
    if (params.windowMs !== undefined) {
      rateUsed[''] = this.rateUsed(rateKey.queue(queue), { max: 0, windowMs: params.windowMs }, now).n
    }
    if (params.groupWindowMs !== undefined) {
      const prefix = rateKey.groupPrefix(queue)
      const from = bucketStart(now - params.groupWindowMs, rateBucketWidth(params.groupWindowMs))
      for (const row of this.sql.rateUsedByPrefix.all({ prefix, prefixEnd: `${prefix}\uffff`, from }) as Row[]) {
        rateUsed[(row.key as string).slice(prefix.length)] = row.n as number
      }
    }
    return {
      queue,
      pausedUntil: (queueRow?.paused_until as number | undefined) ?? 0,
      rateUsed,
      groups: (this.sql.groupsList.all({ queue }) as Row[]).map((row) => ({
        group: row.grp as string,
        pausedUntil: row.paused_until as number,
        vtime: row.vtime as number,
      })),
    }
  }

  async limitsReset({ queue, now }: { queue: string; now: number }): Promise<void> {
    const prefix = rateKey.groupPrefix(queue)
    this.write(() => {
      this.sql.rateResetKey.run({ key: rateKey.queue(queue), prefix, prefixEnd: `${prefix}\uffff` })
      this.sql.queueUnpauseUntil.run({ queue, now })
      this.sql.groupsUnpause.run({ queue, now })
      this.event('queue.resumed', queue, null, null, now, { reason: 'limits reset' })
    })
  }

  async limitsPrune({ before }: { before: number }): Promise<void> {
    this.write(() => this.sql.ratePrune.run({ before }))
  }

  async tokenTake(params: { key: string; ratePerSec: number; burst: number; cost: number; now: number }) {
    const { key, ratePerSec, burst, cost, now } = params
    return this.write(() => {
      const row = this.sql.tokenGet.get({ key }) as Row | undefined
      const tokens = row
        ? Math.min(burst, (row.tokens as number) + ((now - (row.updated_at as number)) / 1000) * ratePerSec)
        : burst
      if (tokens >= cost) {
        this.sql.tokenSet.run({ key, tokens: tokens - cost, now })
        return { ok: true, retryAfterMs: 0 }
      }
      this.sql.tokenSet.run({ key, tokens, now })
      return { ok: false, retryAfterMs: Math.ceil(((cost - tokens) / ratePerSec) * 1000) }
    })
  }

  async breakerDefine({
    name,
    policy,
    now,
  }: {
    name: string
    policy: BreakerPolicy
    now: number
  }): Promise<BreakerRow> {
    return this.write(() => {
      this.sql.breakerDefine.run({ name, config: JSON.stringify(policy), now })
      return toBreaker(this.sql.breakerGet.get({ name }) as Row)
    })
  }

  async breakerGet({ name }: { name: string }): Promise<BreakerRow | null> {
    const row = this.sql.breakerGet.get({ name }) as Row | undefined
    return row ? toBreaker(row) : null
  }

  async breakerList(): Promise<BreakerRow[]> {
    return (this.sql.breakerList.all() as Row[]).map(toBreaker)
  }

  async breakerHistory({ name, beforeId, limit }: { name: string; beforeId?: number; limit: number }) {
    const before = beforeId ?? Number.MAX_SAFE_INTEGER
    return (this.sql.eventListBreaker.all({ name, beforeId: before, limit }) as Row[]).map(toEvent)
  }

  async breakerRecord({ name, success, now }: { name: string; success: boolean; now: number }) {
    return this.write(() => {
      const row = this.sql.breakerGet.get({ name }) as Row | undefined
      if (!row) return null
      const before = toBreaker(row)
      return this.saveBreaker(before, nextBreaker(before, success, now, this.breakerCount(before, success, now)), now)
    })
  }

  /** Counts a closed breaker's call in its sliding window; the window's calls and failures since. */
  private breakerCount(breaker: BreakerRow, success: boolean, now: number): BreakerWindow {
    if (breaker.state !== 'closed') return { calls: 0, failures: 0 }
    const { prefix, bucket, from } = breakerBuckets(breaker, now)
    this.sql.rateAdd.run({ key: `${prefix}calls`, bucket, n: 1 })
    if (!success) this.sql.rateAdd.run({ key: `${prefix}failures`, bucket, n: 1 })
    const window = { calls: 0, failures: 0 }
    for (const row of this.sql.rateUsedByPrefix.all({ prefix, prefixEnd: `${prefix}\uffff`, from }) as Row[]) {
      window[(row.key as string).slice(prefix.length) as keyof BreakerWindow] = row.n as number
    }
    return window
  }

  async breakerSet({ name, state, now }: { name: string; state: BreakerState; now: number }) {
    return this.write(() => {
      const row = this.sql.breakerGet.get({ name }) as Row | undefined
      if (!row) return null
      const before = toBreaker(row)
      const after: BreakerRow =
        state === 'closed'
          ? {
              ...before,
              state,
              failures: 0,
              successes: 0,
              windowStart: now,
              windowTotal: 0,
              windowFailures: 0,
              openedAt: null,
            }
          : { ...before, state, successes: 0, openedAt: state === 'open' ? now : before.openedAt }
      return this.saveBreaker(before, { ...after, updatedAt: now }, now)
    })
  }

  // ── records and workers ──────────────────────────────────────────────────────────────────

  async recordPut(params: {
    collection: string
    id: string
    tenant: string
    key: string | null
    data: string
    now: number
  }) {
    return toRecord(this.write(() => this.sql.recordPut.get(params)) as Row)
  }

  async recordGet(params: { collection: string; id: string }): Promise<RecordRow | null> {
    const row = this.sql.recordGet.get(params) as Row | undefined
    return row ? toRecord(row) : null
  }

  async recordFindByKey(params: { collection: string; key: string }): Promise<RecordRow | null> {
    const row = this.sql.recordFindByKey.get(params) as Row | undefined
    return row ? toRecord(row) : null
  }

  async recordList(params: {
    collection: string
    tenant?: string
    afterSeq?: number
    beforeSeq?: number
    order?: 'asc' | 'desc'
    limit: number
  }) {
    const { order, beforeSeq, ...rest } = params
    const values = { ...rest, afterSeq: params.afterSeq ?? 0 }
    const rows = (
      order === 'desc'
        ? (params.tenant === undefined ? this.sql.recordListDesc : this.sql.recordListTenantDesc).all({
            ...values,
            beforeSeq: beforeSeq ?? Number.MAX_SAFE_INTEGER,
          })
        : params.tenant === undefined
          ? this.sql.recordList.all(values)
          : this.sql.recordListTenant.all(values)
    ) as Row[]
    return rows.map(toRecord)
  }

  async recordDelete(params: { collection: string; id: string }): Promise<boolean> {
    return this.write(() => this.sql.recordDelete.run(params).changes === 1)
  }

  async workerBeat(params: Omit<WorkerRow, 'seenAt' | 'startedAt'> & { now: number }): Promise<void> {
    const { running, info, ...rest } = params
    this.write(() => this.sql.workerBeat.run({ ...rest, running: JSON.stringify(running), info: JSON.stringify(info) }))
  }

  async workerRemove({ id }: { id: string }): Promise<void> {
    this.write(() => this.sql.workerRemove.run({ id }))
  }

  async workerList({ since }: { since: number }): Promise<WorkerRow[]> {
    this.write(() => this.sql.workerPrune.run({ since: since - 3_600_000 }))
    return (this.sql.workerList.all({ since }) as Row[]).map(toWorker)
  }

  // ── schedules ────────────────────────────────────────────────────────────────────────────

  async scheduleUpsert({ schedule, now }: { schedule: NewSchedule; now: number }): Promise<ScheduleRow> {
    const params = { ...scheduleParams(schedule), paused: schedule.paused ? 1 : 0, now }
    return toSchedule(this.write(() => this.sql.scheduleUpsert.get(params)) as Row)
  }

  async scheduleGet({ name }: { name: string }): Promise<ScheduleRow | null> {
    const row = this.sql.scheduleGet.get({ name }) as Row | undefined
    return row ? toSchedule(row) : null
  }

  async scheduleList({ tenant }: { tenant?: string }): Promise<ScheduleRow[]> {
    const rows = tenant === undefined ? this.sql.scheduleListAll.all() : this.sql.scheduleListTenant.all({ tenant })
    return (rows as Row[]).map(toSchedule)
  }

  async scheduleDelete({ name }: { name: string }): Promise<boolean> {
    return this.write(() => this.sql.scheduleDelete.run({ name }).changes === 1)
  }

  async scheduleSetPaused(params: {
    name: string
    paused: boolean
    nextRunAt: number | null
    now: number
  }): Promise<ScheduleRow | null> {
    const { name, nextRunAt, now } = params
    const row = this.write(() =>
      this.sql.scheduleSetPaused.get({ name, paused: params.paused ? 1 : 0, nextRunAt, now }),
    ) as Row | undefined
    return row ? toSchedule(row) : null
  }

  async scheduleDue({ now, limit }: { now: number; limit: number }): Promise<ScheduleRow[]> {
    return (this.sql.scheduleDue.all({ now, limit }) as Row[]).map(toSchedule)
  }

  async scheduleAdvance(params: {
    name: string
    from: number
    cron: string
    timezone: string
    nextRunAt: number | null
    lastRunAt: number | null
  }): Promise<boolean> {
    return this.write(() => this.sql.scheduleAdvance.run(params).changes === 1)
  }
}

// ── row mapping ──────────────────────────────────────────────────────────────────────────

/**
 * The WHERE terms of a job search beyond queue and state, and a key naming their shape (one
 * prepared statement per shape). Text search matches the payload's JSON text, case-insensitively.
 */
function jobFilterSql(filter: JobFilter): {
  key: string
  where: string[]
  all: string[]
  values: Record<string, unknown>
} {
  const where: string[] = []
  const values: Record<string, unknown> = {}
  const like = (text: string | undefined) => `%${text?.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
  const add = (name: keyof JobFilter, term: string, value: unknown) => {
    if (filter[name] === undefined) return
    where.push(term)
    values[name] = value
  }
  add('tenant', 'tenant = :tenant', filter.tenant)
  add('queue', 'queue = :queue', filter.queue)
  add('state', 'state = :state', filter.state)
  add('group', 'grp = :group', filter.group)
  add('tag', 'EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE value = :tag)', filter.tag)
  add('createdAfter', 'created_at >= :createdAfter', filter.createdAfter)
  add('createdBefore', 'created_at < :createdBefore', filter.createdBefore)
  add('text', "payload LIKE :text ESCAPE '\\'", like(filter.text))
  add(
    'error',
    "EXISTS (SELECT 1 FROM json_each(jobs.errors) WHERE json_extract(value, '$.message') LIKE :error ESCAPE '\\')",
    like(filter.error),
  )
  // Queue and state alone have statements of their own.
  const extra = where.filter((term) => !term.startsWith('queue =') && !term.startsWith('state ='))
  return { key: where.join(' AND '), where: extra.length > 0 ? where : [], all: where, values }
}

function dependencyNotFound(id: string): Error {
  return Object.assign(new Error(`dependency ${id} does not exist`), { code: 'SPOOL_DEPENDENCY_NOT_FOUND', id })
}

function appendError(errorsJson: string, error: AttemptError | null): string {
  if (!error) return errorsJson
  const errors = JSON.parse(errorsJson) as AttemptError[]
  errors.push(error)
  return JSON.stringify(errors.slice(-MAX_KEPT_ERRORS))
}
