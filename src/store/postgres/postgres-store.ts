/**
 * The multi-node store: PostgreSQL through `pg`, one connection pool per store, all tables in one
 * schema (default `spool`) so several Spool installations, or a test per schema, share a database.
 *
 * Design, and what it trades:
 * - **One statement per round trip that matters.** A worker's round (record its finished jobs,
 *   lease the next ones, write their events and stats) is one statement of data-modifying CTEs:
 *   one round trip and one commit, where BEGIN … COMMIT would cost four. Completions and
 *   heartbeats are one statement for the whole batch (`unnest` of arrays), never one per job.
 *   Lease-guarded writes (fail, progress, release) are single guarded UPDATEs; only when one
 *   changes nothing is the row read again to say why. Manual transitions (cancel, retry, …) read
 *   the row `FOR UPDATE`, check the state machine, and write, in one transaction.
 * - **Claims skip, never wait**: `FOR UPDATE SKIP LOCKED` over the partial index `jobs_claim`, so
 *   workers on many machines racing for one queue take different jobs.
 * - **Wake-ups**: one dedicated connection LISTENs on a channel named after the schema.
 *   Statements that make work runnable notify in their own transaction (delivered on commit).
 *   The hot path does not: NOTIFY holds a database-wide lock from commit until the commit is
 *   flushed, serialising every notifying transaction, so claims, completions, progress and log
 *   lines send one coalesced "events only" hint at most every 25 ms instead (wake-channel.ts). A store ignores its own
 *   hints (its engine already woke its workers), except for enqueues inside an application's
 *   transaction, which only the commit makes visible. The listener reconnects with backoff and
 *   then wakes everyone, since hints may have been lost meanwhile; polling stays the safety net.
 * - **Events without gaps across nodes** (see `eventList`): ids come from a sequence, but
 *   transactions commit out of id order, so a reader only reads up to a watermark below which
 *   every transaction that drew an id has ended.
 * - **Flows**: a parent counts its unresolved dependencies in `deps_pending`. Statements that
 *   finish jobs resolve the parents waiting for them in the same statement, through the
 *   function `resolve_dependents` (migration 003 says why a function: its queries see edges an
 *   enqueue committed while the statement waited for the child's row). Enqueues that wait for
 *   existing jobs read them `FOR SHARE`. Parents are counted down under their row lock, so two
 *   children finishing at once in two transactions unblock a parent exactly once.
 * - **Limits** (concurrency caps, rate limits, breakers) take the constrained claim: one
 *   transaction that first locks the queue's row, so constrained claims of a queue take turns
 *   across nodes and count what the previous turn committed (`claimConstrained`). The fast
 *   claim refuses such queues, and costs nothing more for the others.
 * - **Lock order**, so transactions do not wait for each other in a circle: job rows first (in
 *   ascending ids where there are several: completions, dependencies), then queue rows, then
 *   group rows and breakers. A parent's row comes after its children's (resolve_dependents).
 * - **Integers**: bigint columns (times, ids, counts) are read as JavaScript numbers, for this
 *   store's queries only (no global pg type parser is changed).
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
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
  type JobProgress,
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
import { ClaimOrder } from './claim-order.js'
import {
  type AdmissionCheck,
  admissionChecks,
  blockedState,
  dependenciesOf,
  dependencyNotFound,
  type Edge,
  fairPlan,
  fairRequest,
  type InsertExtras,
  type Inserted,
} from './insert-plan.js'
import { jobCountSearch, jobSearch } from './job-search.js'
import { groupAllowances, groupUsageRange, keyAfter, pgKey } from './limits.js'
import type { StatementName } from './statements.gen.js'
import { WakeChannel } from './wake-channel.js'

const SQL = readSqlFile(new URL('./queries.sql', import.meta.url))
const MIGRATIONS = readMigrations(new URL('./migrations/', import.meta.url))
/** A job row's columns, for `{jobColumns}` in queries.sql and the job search. */
const JOB_COLUMNS =
  'id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms, ' +
  'idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id, ' +
  'created_at, started_at, finished_at, updated_at, tenant, vtime'
/** Lowercase identifiers only: no quoting surprises, and room for the wake channel's prefix. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/
/** How long an event read waits for transactions in flight to end (see `eventList`). */
const EVENT_SETTLE_WAIT_MS = 100
/** How long `eventLastId` waits for them. */
const LAST_ID_SETTLE_WAIT_MS = 2_000
/** Watermarks kept while transactions are in flight. */
const MAX_MARKS = 64
/** Jobs recovered from lapsed leases per maintenance pass (as SQLite). */
const RECOVER_LIMIT = 500
/** Ids per DELETE when retention removes jobs. */
const DELETE_CHUNK = 5_000
/** Most jobs one claim leases. */
const MAX_CLAIM = 10_000
/** Rounds of candidates a constrained claim reads at most (groups filling up, rows held by others). */
const MAX_CANDIDATE_ROUNDS = 50
/** Workers not seen for this long before `since` are forgotten by `workerList` (as SQLite). */
const WORKER_FORGET_MS = 3_600_000
const LEASE_EXPIRED_MESSAGE = 'lease expired: the worker stopped heartbeating (crashed, killed or blocked)'
const UNFINISHED: readonly JobState[] = ['waiting', 'scheduled', 'blocked', 'active']
const INT8_OID = 20
/** SQLSTATE of a savepoint outside a transaction block. */
const NO_ACTIVE_TRANSACTION = '25P01'

/** Parses bigint columns to numbers (epoch ms, ids and counts all fit). */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
}

export interface PostgresStoreOptions {
  /** What `pg` accepts: `postgres://user:password@host:port/database`, with `sslmode` etc. */
  connectionString: string
  /** The schema holding Spool's tables (default `spool`); the first migration creates it. */
  schema?: string
  /** Most connections the store's pool opens (default 10); LISTEN uses one more of its own. */
  poolSize?: number
  /** Apply pending migrations on open (default true). */
  migrate?: boolean
  /** `application_name` the connections show in `pg_stat_activity` (default `spool`). */
  applicationName?: string
}

/** A pool, one of its clients, or an application's client inside its transaction. */
type Queryable = pg.Pool | pg.ClientBase

/** An event-id watermark: every id up to `last` was drawn by a transaction whose xid is below `xid`. */
interface Mark {
  last: number
  xid: bigint
}

/**
 * Opens (and migrates) a PostgreSQL store.
 *
 * @example
 * const store = await PostgresStore.open({ connectionString: 'postgres://spool:spool@127.0.0.1:5433/app', schema: 'jobs' })
 * const spool = await Spool.open({ store })
 */
export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = {
    supportsSkipLocked: true,
    supportsListenNotify: true,
    supportsTransactionalEnqueue: true,
    multiNode: true,
  }
  readonly schema: string

  private readonly pool: pg.Pool
  private readonly clientConfig: pg.ClientConfig
  private readonly statements: Record<string, string>
  /** The LISTEN channel, one per schema. */
  private readonly channel: string
  /** The payload of this store's own hints, which its own listener ignores. */
  private readonly instanceId = randomUUID()
  /** Clients this store checked out of its pool for a transaction (prepared statements are fine there). */
  private readonly ownClients = new WeakSet<pg.PoolClient>()
  private closed = false
  /** Job-search statements by the filters they use (see `jobSearch`). */
  private readonly searches = new Map<string, string>()
  /**
   * Breaker writes in flight, per breaker: they apply in call order, and a constrained claim
   * waits for the ones called before it (as on SQLite, where a call has written when it
   * returns): a worker that recorded a failure and claims again sees the breaker it opened.
   */
  private readonly breakerWrites = new Map<string, Promise<unknown>>()

  private readonly wake: WakeChannel
  /** Priority order between this process's enqueues and claims (claim-order.ts). */
  private readonly order = new ClaimOrder()

  /** Every event id up to this one is settled: no transaction that drew one is still open. */
  private settledEventId = 0
  private marks: Mark[] = []
  /** The xmin at which the last wait for settling gave up: an old transaction holds it. */
  private stuckAt: bigint | null = null
  private settleRound: Promise<number> | null = null
  private settleQueued: Promise<number> | null = null
  /** Settle rounds in flight, which `close` lets finish before it ends the pool. */
  private readonly settling = new Set<Promise<unknown>>()

  private constructor(options: PostgresStoreOptions) {
    const schema = options.schema ?? 'spool'
    if (!SCHEMA_NAME.test(schema)) {
      throw new Error(
        `invalid PostgreSQL schema name "${schema}": use 1 to 48 lowercase letters, digits and underscores, not starting with a digit`,
      )
    }
    const poolSize = options.poolSize ?? 10
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1_000) {
      throw new Error(`invalid PostgreSQL pool size ${poolSize}: use an integer from 1 to 1000`)
    }
    this.schema = schema
    this.channel = `spool_wake_${schema}`
    this.clientConfig = {
      connectionString: options.connectionString,
      application_name: options.applicationName ?? 'spool',
      // A server that stops answering (not one that refuses) fails a connect after 10 s instead of
      // the TCP timeout; dead idle connections are found by keepalive probes.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      types: TYPES,
    }
    this.pool = new pg.Pool({ ...this.clientConfig, max: poolSize })
    // An idle client whose connection dies is dropped from the pool; the next query opens another.
    this.pool.on('error', () => {})
    const quoted = `"${schema}"`
    this.statements = Object.fromEntries(
      Object.entries(SQL).map(([name, text]) => [
        name,
        text.replaceAll('{schema}', quoted).replaceAll('{jobColumns}', JOB_COLUMNS),
      ]),
    )
    this.wake = new WakeChannel(
      this.channel,
      this.clientConfig,
      (payload) => this.run('wake', [this.channel, payload]),
      this.instanceId,
    )
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options)
    if (options.migrate !== false) {
      try {
        await store.migrate()
      } catch (error) {
        await store.close()
        throw error
      }
      // On the connection the migrations used, which a fresh process's first claim usually gets.
      // (Opened without migrating, a store is a tool's: `spool migrate`, `spool doctor`.)
      const client = await store.pool.connect().catch(() => null)
      if (client) {
        await store.prepareClaim(client)
        client.release()
      }
    }
    return store
  }

  /**
   * Prepares, on one of this store's connections, the statements a claim runs after it reads the
   * clock, and has PostgreSQL compile the functions they call (claim_limited, complete_jobs).
   * Prepared on first use, they would run inside a fresh process's first claim, between the start
   * it records and its handlers' start. They run on a queue that does not exist, so they change
   * no row: the transaction gets no transaction id, which would hold back every store's event
   * reads until it ended (claim_limited stops at its queue lookup, planning the rest on first
   * use). Named statements belong to their connection: the pool's later connections still
   * prepare them on first use (doing it when each connects delayed every new connection by a
   * dozen round trips, which a loaded machine felt). A failure (no schema yet) leaves them to
   * first use, as before.
   */
  private async prepareClaim(client: pg.PoolClient): Promise<void> {
    this.ownClients.add(client)
    const queue = '\u0001spool:prepare'
    const none: never[] = []
    const wake = [this.channel, this.instanceId]
    const key = pgKey(rateKey.queue(queue))
    const prefix = pgKey(rateKey.groupPrefix(queue))
    const steps: (() => Promise<unknown>)[] = [
      () => this.run('jobComplete', [none, none, none, 0, ...wake], client),
      () => this.run('jobClaim', [queue, 0, 1, '', 0, none, none, none, ...wake], client),
      () => this.run('jobClaimLimited', [queue, 0, 1, '', 0, none, none, none, ...wake, 1, key, 1, 1_000], client),
      () => this.run('queueLock', [queue], client),
      () => this.run('breakerGet', [queue], client),
      () => this.run('queueUsage', [queue, key, 0], client),
      () => this.run('groupUsage', [queue, prefix, keyAfter(prefix), 0, 0], client),
      () => this.run('jobCandidates', [queue, 0, none, none, 1], client),
      () => this.run('jobClaimIds', [none, 0, '', 0], client),
      () => this.run('rateAdd', [none, none, none], client),
    ]
    try {
      await client.query('BEGIN')
      for (const step of steps) await step()
    } catch {
      // Left to first use.
    } finally {
      await client.query('ROLLBACK').catch(() => {})
    }
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────────────────

  /**
   * Runs a named statement. On this store's own connections it is prepared once per connection
   * (the claim's plan is reused); on an application's client it is sent unnamed, leaving no
   * prepared statement behind there.
   */
  private async run(name: StatementName, values: unknown[] = [], on: Queryable = this.pool): Promise<Row[]> {
    const text = this.statements[name]
    if (text === undefined) throw new Error(`no SQL statement named ${name}`)
    return this.query(`spool_${name}`, text, values, on)
  }

  /** Runs a statement prepared under `name` on this store's connections (unnamed elsewhere). */
  private async query(name: string, text: string, values: unknown[], on: Queryable = this.pool): Promise<Row[]> {
    const foreign = on !== this.pool && !this.ownClients.has(on as pg.PoolClient)
    const result = await on.query<Row>({
      text,
      values,
      types: TYPES,
      ...(!foreign && { name }),
    })
    return result.rows
  }

  /** Runs `fn` in a transaction on one pooled connection; rolls back when it throws. */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    this.ownClients.add(client)
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError
      })
      throw error
    } finally {
      client.release(broken)
    }
  }

  /**
   * Runs `fn` atomically: in a transaction of its own, or inside the application's transaction
   * under a savepoint, so a failure halfway (a dependency that does not exist) leaves nothing
   * behind there either. The application's client must be in a transaction (it ran BEGIN).
   */
  private async atomically<T>(app: pg.ClientBase | null, fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    if (!app) return this.transaction(fn)
    await app.query('SAVEPOINT spool_insert').catch((error: { code?: string }) => {
      if (error.code !== NO_ACTIVE_TRANSACTION) throw error
      throw new TypeError('transaction must be a pg client on which you ran BEGIN (it is not in a transaction)')
    })
    try {
      const result = await fn(app)
      await app.query('RELEASE SAVEPOINT spool_insert')
      return result
    } catch (error) {
      await app.query('ROLLBACK TO SAVEPOINT spool_insert; RELEASE SAVEPOINT spool_insert').catch(() => {})
      throw error
    }
  }

  // ── migrations ───────────────────────────────────────────────────────────────────────────

  /**
   * Applies pending migrations, each in its own transaction under an advisory lock named after
   * the schema, re-checking inside the lock whether another migrator got there first: two
   * processes migrating at once apply each migration exactly once, and both succeed.
   */
  async migrate(options: { through?: number } = {}): Promise<{ applied: number[] }> {
    const lock = `spool.migrate:${this.schema}`
    const done = await this.transaction(async (client) => {
      await this.run('migrationLock', [lock], client)
      await client.query(this.sql('schemaCreate'))
      await client.query(this.sql('migrationsTable'))
      return this.appliedVersions(client)
    })
    const applied: number[] = []
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue
      if (options.through !== undefined && migration.version > options.through) break
      const ran = await this.transaction(async (client) => {
        await this.run('migrationLock', [lock], client)
        if ((await this.appliedVersions(client)).has(migration.version)) return false
        await client.query(migration.sql.replaceAll('{schema}', `"${this.schema}"`))
        await this.run('migrationRecord', [migration.version, migration.name, Date.now()], client)
        return true
      })
      if (ran) applied.push(migration.version)
    }
    return { applied }
  }

  async migrationsPending(): Promise<number[]> {
    let done: Set<number>
    try {
      done = new Set((await this.run('migrationsApplied')).map((row) => Number(row.version)))
    } catch (error) {
      // 42P01: no migrations table yet (a schema never migrated), so every migration is pending.
      if ((error as { code?: string }).code !== '42P01') throw error
      done = new Set()
    }
    return MIGRATIONS.filter((migration) => !done.has(migration.version)).map((migration) => migration.version)
  }

  private sql(name: StatementName): string {
    const text = this.statements[name]
    if (text === undefined) throw new Error(`no SQL statement named ${name}`)
    return text
  }

  private async appliedVersions(client: pg.PoolClient): Promise<Set<number>> {
    const { rows } = await client.query<{ version: number }>(this.sql('migrationsApplied'))
    return new Set(rows.map((row) => row.version))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // A settle loop stops at its next turn; waiting for it keeps its query from being queued
    // on the pool as it ends (such a query is never served, and fails 10 s later).
    await Promise.all([...this.settling].map((round) => round.catch(() => {})))
    await Promise.all([this.wake.close(), this.pool.end()])
  }

  // ── wake-ups (see wake-channel.ts) ─────────────────────────────────────────────────────

  onWake(listener: (hint: WakeHint) => void): () => void {
    return this.wake.subscribe(listener)
  }

  // ── queues ───────────────────────────────────────────────────────────────────────────────

  async queueEnsure({ name, now }: { name: string; now: number }): Promise<QueueRow> {
    await this.run('queueEnsure', [name, now])
    return toQueue((await this.run('queueGet', [name]))[0] as Row)
  }

  async queueGet({ name }: { name: string }): Promise<QueueRow | null> {
    const [row] = await this.run('queueGet', [name])
    return row ? toQueue(row) : null
  }

  async queueList(): Promise<QueueRow[]> {
    return (await this.run('queueList')).map(toQueue)
  }

  async queueConfigure(params: { name: string; config: QueueConfig; now: number }): Promise<QueueRow> {
    const { name, config, now } = params
    const [row] = await this.run('queueConfigure', [name, jsonText(config), now, this.channel, this.instanceId])
    return toQueue(row as Row)
  }

  async queuePause(params: { name: string; paused: boolean; now: number }): Promise<QueueRow> {
    const { name, paused, now } = params
    const type: EventType = paused ? 'queue.paused' : 'queue.resumed'
    const [row] = await this.run('queuePause', [name, paused, now, type, this.channel, this.instanceId])
    return toQueue(row as Row)
  }

  async queueCounts({ queue, tenant }: { queue?: string; tenant?: string }) {
    const rows =
      tenant === undefined
        ? queue === undefined
          ? await this.run('queueCounts')
          : await this.run('queueCountsOne', [queue])
        : queue === undefined
          ? await this.run('queueCountsTenant', [tenant])
          : await this.run('queueCountsOneTenant', [queue, tenant])
    const counts: Record<string, Record<JobState, number>> = {}
    for (const row of rows) {
      const name = row.queue as string
      counts[name] ??= emptyCounts()
      counts[name][row.state as JobState] = row.n as number
    }
    return counts
  }

  async queueOldestWaiting(): Promise<Record<string, number | null>> {
    const oldest: Record<string, number | null> = {}
    for (const row of await this.run('queueOldestWaiting')) {
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
        ? (await this.run('jobOldestWaitingTenant', [tenant]))[0]
        : (await this.run('jobOldestWaitingOneTenant', [queue, tenant]))[0]
    ) as Row | undefined
    return row ? { id: String(row.id), queue: row.queue as string, createdAt: Number(row.created_at) } : null
  }

  async queueConstrain(params: { name: string; constrained: boolean; now: number }): Promise<void> {
    const { name, constrained, now } = params
    await this.run('queueConstrain', [name, constrained, now, this.channel, this.instanceId])
  }

  // ── jobs: the hot path ───────────────────────────────────────────────────────────────────

  /**
   * A plain batch (no dependencies, fairness or size limits) is one statement, as before those
   * existed. Otherwise the insert is a transaction (a savepoint inside the application's):
   * admission locks the limited queues' rows and counts, fair queuing locks the groups' clocks,
   * and flows read the jobs they wait for under a share lock.
   */
  async jobInsert(params: {
    jobs: NewJob[]
    now: number
    transaction?: unknown
    admission?: Record<string, AdmissionLimits>
  }): Promise<Inserted[] | { refused: InsertRefusal }> {
    if (params.jobs.length === 0) return []
    // Inside an application's transaction the commit, which orders it, is not the store's to see.
    if (params.transaction !== undefined) return this.insert(params)
    return this.order.insert(bestPriorities(params.jobs), () => this.insert(params))
  }

  private async insert(params: {
    jobs: NewJob[]
    now: number
    transaction?: unknown
    admission?: Record<string, AdmissionLimits>
  }): Promise<Inserted[] | { refused: InsertRefusal }> {
    const { jobs, now } = params
    const app = params.transaction === undefined ? null : applicationClient(params.transaction)
    // Inside an application's transaction the hint must wake this process too: only the commit,
    // which this store does not see, makes the jobs claimable.
    const wakePayload = app ? '' : this.instanceId
    const checks = admissionChecks(jobs, params.admission)
    const plain = checks.length === 0 && !jobs.some((job) => job.fairWeight || job.dependsOn?.length)
    if (plain) {
      if (jobs.every((job) => job.idempotencyKey === null))
        return this.insertPlain(app ?? this.pool, jobs, now, wakePayload)
      return this.insertBatch(app ?? this.pool, jobs, now, wakePayload)
    }
    return this.atomically(app, async (client) => {
      if (checks.length > 0) {
        // Job rows before queue rows, as everywhere: the jobs named as dependencies are
        // share-locked first, since a completion or failure holding one of them may be waiting
        // for a queue's row (a constrained claim, a Retry-After hold).
        const named = jobs.flatMap((job) => (job.dependsOn ?? []).filter((dep) => dep.index === undefined))
        await this.lockDependencies(
          client,
          named.map((dep) => toId(dep.id ?? '')),
        )
        const refused = await this.admit(client, checks)
        if (refused) return { refused }
      }
      return this.insertJobs(client, jobs, now, wakePayload)
    })
  }

  /** Refuses a batch that would take a queue or a group past its limit; nothing is written. */
  private async admit(client: pg.ClientBase, checks: AdmissionCheck[]): Promise<InsertRefusal | null> {
    const queues = [...new Set(checks.map((check) => check.queue))].sort()
    await this.run('admissionLock', [queues], client)
    const rows = await this.run(
      'unfinishedCounts',
      [checks.map((check) => check.queue), checks.map((check) => check.group)],
      client,
    )
    for (const row of rows.sort((a, b) => (a.ord as number) - (b.ord as number))) {
      const { queue, group, adding, limit } = checks[(row.ord as number) - 1] as AdmissionCheck
      const size = row.n as number
      if (size + adding > limit) return { queue, group, size, limit }
    }
    return null
  }

  /** Inserts jobs with their fair-queuing times and dependencies, inside the caller's transaction. */
  private async insertJobs(client: pg.ClientBase, jobs: NewJob[], now: number, wakePayload: string) {
    const fair = jobs.some((job) => job.fairWeight) ? await this.fairTimes(client, jobs, now) : undefined
    if (!jobs.some((job) => job.dependsOn?.length)) return this.insertBatch(client, jobs, now, wakePayload, fair)
    // Flows are one statement too, unless an idempotency key may turn a job into an existing one,
    // whose state the later jobs of the batch must see: then one job at a time.
    if (jobs.some((job) => job.idempotencyKey !== null))
      return this.insertOneByOne(client, jobs, now, wakePayload, fair)
    return this.insertFlow(client, jobs, now, wakePayload, fair)
  }

  /** The jobInsertPlain statement: every job is new, none waits for another. */
  private async insertPlain(client: Queryable, jobs: NewJob[], now: number, wakePayload: string): Promise<Inserted[]> {
    const rows = jobs.map((job) => ({
      q: job.queue,
      s: job.runAt > now ? 'scheduled' : 'waiting',
      p: job.priority,
      r: job.runAt,
      d: job.payload,
      m: job.maxAttempts,
      b: backoffJson(job.backoff),
      t: job.timeoutMs,
      g: job.group,
      tg: job.tags.length === 0 ? '[]' : jsonText(job.tags),
      md: isEmpty(job.metadata) ? '{}' : jsonText(job.metadata),
      tn: job.tenant,
    }))
    const text = JSON.stringify(rows)
    // A NUL or a lone surrogate in a text field comes out as a \u escape that PostgreSQL refuses
    // to turn into text: those batches take the array path, which behaves as it always did.
    if (text.includes('\\u0000') || UNPAIRED_SURROGATE.test(text))
      return this.insertBatch(client, jobs, now, wakePayload)
    const inserted = await this.run('jobInsertPlain', [text, now, this.channel, wakePayload], client)
    return inserted.map((row) => ({ id: String(row.id), created: true, state: row.state as JobState }))
  }

  /** The jobInsert statement, and the lookup of the jobs whose idempotency key existed. */
  private async insertBatch(
    client: Queryable,
    jobs: NewJob[],
    now: number,
    wakePayload: string,
    extras: InsertExtras = {},
  ): Promise<Inserted[]> {
    const columns: unknown[][] = Array.from({ length: 13 }, () => [])
    for (const [i, job] of jobs.entries()) {
      const values = [
        job.queue,
        extras.states?.[i] ?? (job.runAt > now ? 'scheduled' : 'waiting'),
        job.priority,
        job.runAt,
        job.payload,
        job.maxAttempts,
        backoffJson(job.backoff),
        job.timeoutMs,
        job.idempotencyKey,
        job.group,
        job.tags.length === 0 ? '[]' : jsonText(job.tags),
        isEmpty(job.metadata) ? '{}' : jsonText(job.metadata),
        job.tenant,
      ]
      for (const [c, value] of values.entries()) columns[c]?.push(value)
    }
    const edges = extras.edges ?? []
    const clocks = extras.clocks ?? []
    const rows = await this.run(
      'jobInsert',
      [
        ...columns,
        extras.vtimes ?? [],
        extras.depsPending ?? [],
        now,
        this.channel,
        wakePayload,
        edges.map((edge) => edge.parent),
        edges.map((edge) => edge.childId),
        edges.map((edge) => edge.childOrd),
        edges.map((edge) => edge.onFailure),
        edges.map((edge) => edge.resolved),
        clocks.map((clock) => clock.queue),
        clocks.map((clock) => clock.group),
        clocks.map((clock) => clock.vtime),
      ],
      client,
    )
    const results: (Inserted | undefined)[] = new Array(jobs.length)
    for (const row of rows) {
      results[(row.ord as number) - 1] = { id: String(row.id), created: true, state: row.state as JobState }
    }
    const skipped = [...results.keys()].filter((i) => results[i] === undefined)
    if (skipped.length > 0) {
      const keyed = skipped.map((i) => jobs[i] as NewJob)
      const existing = await this.run(
        'jobByIdempotencyKeys',
        [keyed.map((job) => job.queue), keyed.map((job) => job.tenant), keyed.map((job) => job.idempotencyKey)],
        client,
      )
      for (const row of existing) {
        const i = skipped[(row.ord as number) - 1] as number
        results[i] = { id: String(row.id), created: false, state: row.state as JobState }
      }
      if (results.includes(undefined)) {
        throw new Error('a job with a repeated idempotency key was removed while enqueueing; enqueue again')
      }
    }
    return results as Inserted[]
  }

  /**
   * A flow in one statement: every job is new (no idempotency keys), so the state each later
   * job sees of an earlier one is the state it is given. A job that waits, under `fail`, for one
   * that failed for good is inserted blocked with that edge unresolved, and resolve_dependents
   * then fails it (and, in turn, the jobs of the batch waiting for it).
   */
  private async insertFlow(
    client: pg.ClientBase,
    jobs: NewJob[],
    now: number,
    wakePayload: string,
    fair?: InsertExtras,
  ): Promise<Inserted[]> {
    const named = new Set<number>()
    for (const job of jobs) {
      for (const dep of job.dependsOn ?? []) if (dep.index === undefined) named.add(toId(dep.id ?? ''))
    }
    const found = await this.lockDependencies(client, [...named])
    const seen: JobState[] = []
    const states: JobState[] = []
    const depsPending: number[] = []
    const edges: Edge[] = []
    const roots = new Set<number>()
    for (const [i, job] of jobs.entries()) {
      const deps = dependenciesOf(job).map((dep) => {
        if (dep.index !== undefined) {
          if (!Number.isInteger(dep.index) || dep.index < 0 || dep.index >= i) throw dependencyNotFound(`#${dep.index}`)
          return { ...dep, childId: null, childOrd: dep.index + 1, state: seen[dep.index] as JobState }
        }
        const childId = toId(dep.id ?? '')
        const state = found.get(childId)
        if (state === undefined) throw dependencyNotFound(dep.id ?? '')
        return { ...dep, childId, childOrd: null, state }
      })
      const { state, pending, failedBy } = blockedState(job, deps, now)
      for (const dep of deps) {
        const resolved = FINISHED_STATES.includes(dep.state) && dep !== failedBy
        edges.push({ parent: i + 1, childId: dep.childId, childOrd: dep.childOrd, onFailure: dep.onFailure, resolved })
      }
      if (failedBy?.childId !== null && failedBy?.childId !== undefined) roots.add(failedBy.childId)
      states.push(state)
      depsPending.push(pending)
      seen.push(failedBy ? 'failed' : state)
    }
    const inserted = await this.insertBatch(client, jobs, now, wakePayload, { ...fair, states, depsPending, edges })
    if (roots.size > 0) {
      const failedRoots = [...roots].sort((a, b) => a - b)
      await this.run('depsResolve', [failedRoots, 'failed', now, this.channel, wakePayload], client)
    }
    return inserted.map((result, i) => ({ ...result, state: seen[i] as JobState }))
  }

  /** A flow whose jobs may exist already (idempotency keys): one job at a time, as SQLite does. */
  private async insertOneByOne(
    client: pg.ClientBase,
    jobs: NewJob[],
    now: number,
    wakePayload: string,
    fair?: InsertExtras,
  ): Promise<Inserted[]> {
    const results: Inserted[] = []
    for (const [i, job] of jobs.entries()) {
      const named = dependenciesOf(job).map((dep) => {
        const id =
          dep.index === undefined
            ? toId(dep.id ?? '')
            : Number.isInteger(dep.index) && dep.index >= 0
              ? results[dep.index]?.id
              : undefined
        if (id === undefined) throw dependencyNotFound(dep.id ?? `#${dep.index}`)
        return { ...dep, childId: Number(id) }
      })
      const found = await this.lockDependencies(
        client,
        named.map((dep) => dep.childId),
      )
      const deps = named.map((dep) => {
        const state = found.get(dep.childId)
        if (state === undefined) throw dependencyNotFound(dep.id ?? `#${dep.index}`)
        return { ...dep, state }
      })
      const { state, pending, failedBy } = blockedState(job, deps, now)
      const edges = deps.map((dep) => ({
        parent: 1,
        childId: dep.childId,
        childOrd: null,
        onFailure: dep.onFailure,
        resolved: FINISHED_STATES.includes(dep.state) && dep !== failedBy,
      }))
      const [result] = await this.insertBatch(client, [job], now, wakePayload, {
        states: [state],
        depsPending: [pending],
        edges,
        vtimes: [fair?.vtimes?.[i] ?? null],
        ...(i === 0 && fair?.clocks && { clocks: fair.clocks }),
      })
      const inserted = result as Inserted
      if (inserted.created && failedBy) {
        await this.run('depsResolve', [[failedBy.childId], 'failed', now, this.channel, wakePayload], client)
        inserted.state = 'failed'
      }
      results.push(inserted)
    }
    return results
  }

  /** The states of jobs a new job waits for, read under a share lock (see depsLock). */
  private async lockDependencies(client: pg.ClientBase, ids: number[]): Promise<Map<number, JobState>> {
    const wanted = [...new Set(ids.filter((id) => id > 0))].sort((a, b) => a - b)
    if (wanted.length === 0) return new Map()
    const rows = await this.run('depsLock', [wanted], client)
    return new Map(rows.map((row) => [row.id as number, row.state as JobState]))
  }

  /**
   * Fair queuing's virtual times for a batch (see fairPlan): the groups' clocks are locked until
   * commit (enqueues into one group take turns) and read with the heads in one statement; the
   * insert stores the clocks advanced.
   */
  private async fairTimes(client: pg.ClientBase, jobs: NewJob[], now: number): Promise<InsertExtras> {
    const request = fairRequest(jobs)
    const rows = await this.run(
      'fairClocks',
      [
        request.groups.map(([queue]) => queue),
        request.groups.map(([, group]) => group),
        now,
        request.levels.map(([queue]) => queue),
        request.levels.map(([, priority]) => priority),
        request.queues,
      ],
      client,
    )
    return fairPlan(jobs, request, rows)
  }

  async jobClaim(params: ClaimParams): Promise<ClaimResult> {
    return this.order.claim(
      params.queue,
      (waitedMs) => this.claim(waitedMs > 0 ? { ...params, now: params.now + waitedMs } : params),
      (result) => result.jobs.map((job) => job.priority),
    )
  }

  private async claim(params: ClaimParams): Promise<ClaimResult> {
    const { queue, workerId, leaseMs, now, completions = [], constraints } = params
    const limit = Math.max(1, Math.min(MAX_CLAIM, Math.floor(params.limit)))
    const [ids, tokens, results] = completionArrays(completions)
    let rows: Row[]
    if (!constraints) {
      const args = [queue, now, limit, workerId, now + leaseMs, ids, tokens, results, this.channel, this.instanceId]
      rows = await this.run('jobClaim', args)
    } else if (queueWideOnly(constraints)) {
      const { concurrency = null, rate } = constraints
      rows = await this.run('jobClaimLimited', [
        ...[queue, now, limit, workerId, leaseMs, ids, tokens, results, this.channel, this.instanceId],
        ...[concurrency, rate ? pgKey(rateKey.queue(queue)) : null, rate?.max ?? null, rate?.windowMs ?? null],
      ])
    } else {
      return this.claimConstrained(params, constraints, limit)
    }
    const claimed: Row[] = []
    const done = new Set<number>()
    let woke: string[] | null = null
    let retryAt: number | null = null
    for (const row of rows) {
      if (row.kind === 'claimed') claimed.push(row)
      else if (row.kind === 'held') retryAt = row.retry_at as number
      else {
        done.add(row.id as number)
        woke ??= (row.woke as string[] | null) ?? null
      }
    }
    if (claimed.length > 0 || done.size > 0) this.wake.eventsWrittenSoon()
    return {
      jobs: claimed.sort(byRunOrder).map(toClaimed),
      completed: outcomes(completions, done),
      retryAt,
      ...(woke && { woke }),
    }
  }

  /**
   * The constrained claim, in one transaction: the completions first, then the queue's row
   * locked `FOR UPDATE`, so constrained claims of one queue take turns across nodes; the clock
   * is read after the lock, so recorded start times follow commit order. Then as SQLite: the
   * queue's pause, its breaker, its concurrency cap and rate limit (a budget), then candidates
   * best first, skipping groups that are held back or at their own cap or rate, reading again
   * while groups fill up. Chosen rows are leased with SKIP LOCKED (a row another transaction
   * holds is left, and its group's allowance given back). Starts are counted in rate buckets
   * before the commit releases the lock.
   */
  private async claimConstrained(params: ClaimParams, limits: ClaimConstraints, limit: number): Promise<ClaimResult> {
    const completions = params.completions ?? []
    const pending = limits.breaker && this.breakerWrites.get(limits.breaker.name)
    if (pending) await pending
    const result = await this.transaction(async (client) => {
      let completed: boolean[] = []
      let woke: string[] | null = null
      if (completions.length > 0) {
        const rows = await this.run(
          'jobComplete',
          [...completionArrays(completions), params.now, this.channel, this.instanceId],
          client,
        )
        completed = outcomes(completions, new Set(rows.map((row) => row.id as number)))
        woke = (rows[0]?.woke as string[] | null | undefined) ?? null
        // Under a cap (the queue's, a group's, a half-open breaker's probes), a completion frees a
        // slot: wake the other processes' idle workers, as claim_limited does (migration 6).
        if (rows.length > 0 && capped(limits)) await this.run('wake', [this.channel, this.instanceId], client)
      }
      // Job rows before the queue's row, as everywhere (see jobInsert): no two orders to cross.
      const [queueRow] = await this.run('queueLock', [params.queue], client)
      const now = Math.max(params.now, Date.now())
      return { ...(await this.claimUnderLock(client, params, limits, limit, queueRow, now)), completed, woke }
    })
    const { rows, retryAt, completed, woke } = result
    if (rows.length > 0 || completed.includes(true)) this.wake.eventsWrittenSoon()
    return { jobs: rows.sort(byRunOrder).map(toClaimed), completed, retryAt, ...(woke && { woke }) }
  }

  private async claimUnderLock(
    client: pg.PoolClient,
    params: ClaimParams,
    limits: ClaimConstraints,
    limit: number,
    queueRow: Row | undefined,
    now: number,
  ): Promise<{ rows: Row[]; retryAt: number | null }> {
    const { queue, workerId, leaseMs } = params
    const none = (retryAt: number | null) => ({ rows: [] as Row[], retryAt })
    if (!queueRow || queueRow.paused === true) return none(null)
    if ((queueRow.paused_until as number) > now) return none(queueRow.paused_until as number)

    let budget = limit
    let breakerProbes: number | null = null
    if (limits.breaker) {
      const breaker = await this.breakerAdmit(client, limits.breaker.name, limits.breaker.policy, now)
      if (breaker.state === 'open') return none((breaker.openedAt ?? now) + breaker.config.cooldownMs)
      if (breaker.state === 'half_open') breakerProbes = breaker.config.halfOpenProbes
    }
    const queueKey = pgKey(rateKey.queue(queue))
    const width = limits.rate ? rateBucketWidth(limits.rate.windowMs) : 1
    const from = limits.rate ? bucketStart(now - limits.rate.windowMs, width) : now
    const [usage] = await this.run('queueUsage', [queue, queueKey, from], client)
    const active = (usage?.active as number | undefined) ?? 0
    if (breakerProbes !== null) budget = Math.min(budget, breakerProbes - active)
    if (limits.concurrency !== undefined) budget = Math.min(budget, limits.concurrency - active)
    let retryAt: number | null = null
    if (limits.rate) {
      budget = Math.min(budget, limits.rate.max - ((usage?.used as number | undefined) ?? 0))
      const oldest = (usage?.oldest as number | null | undefined) ?? null
      retryAt = oldest === null ? now : oldest + width + limits.rate.windowMs
    }
    if (budget <= 0) return none(retryAt)

    const groups = await this.groupAllowances(client, queue, limits, now)
    const picked: Row[] = []
    const startsByGroup = new Map<string, number>()
    const skipped: number[] = []
    const leaseExpiresAt = now + leaseMs
    for (let round = 0; budget > 0 && round < MAX_CANDIDATE_ROUNDS; round++) {
      const scan = budget * 4 + 16
      const candidates = await this.run('jobCandidates', [queue, now, groups.blocked(), skipped, scan], client)
      const chosen: Row[] = []
      for (const candidate of candidates) {
        if (chosen.length === budget) break
        const group = candidate.grp as string | null
        if (group !== null && !groups.take(group)) continue
        chosen.push(candidate)
      }
      if (chosen.length > 0) {
        const ids = chosen.map((candidate) => candidate.id as number)
        const rows = await this.run('jobClaimIds', [ids, now, workerId, leaseExpiresAt], client)
        const leased = new Set(rows.map((row) => row.id as number))
        for (const candidate of chosen) {
          if (leased.has(candidate.id as number)) continue
          skipped.push(candidate.id as number)
          if (candidate.grp !== null) groups.giveBack(candidate.grp as string)
        }
        for (const row of rows) {
          picked.push(row)
          budget -= 1
          const group = row.grp as string | null
          if (group !== null) startsByGroup.set(group, (startsByGroup.get(group) ?? 0) + 1)
        }
      }
      if (candidates.length < scan) break
    }

    const counted: [string, number, number][] = []
    if (limits.rate && picked.length > 0) counted.push([queueKey, bucketStart(now, width), picked.length])
    if (limits.groupRate) {
      const groupWidth = rateBucketWidth(limits.groupRate.windowMs)
      for (const [group, n] of startsByGroup) {
        counted.push([pgKey(rateKey.group(queue, group)), bucketStart(now, groupWidth), n])
      }
    }
    if (counted.length > 0) {
      await this.run(
        'rateAdd',
        [counted.map(([key]) => key), counted.map(([, bucket]) => bucket), counted.map(([, , n]) => n)],
        client,
      )
    }
    return { rows: picked, retryAt: picked.length > 0 ? null : (groups.retryAt ?? retryAt) }
  }

  /** What each group of the queue may still start now (see groupAllowances in limits.ts). */
  private async groupAllowances(client: pg.ClientBase, queue: string, limits: ClaimConstraints, now: number) {
    const prefix = pgKey(rateKey.groupPrefix(queue))
    const rows = await this.run('groupUsage', [queue, ...groupUsageRange(prefix, limits, now), now], client)
    return groupAllowances(rows, limits, prefix)
  }

  /**
   * Starts counted against a rate limit: the sum of its buckets (a tenth of the window each)
   * that overlap the window ending now, the oldest counted whole (no window of `windowMs` ever
   * holds more than `max`). `freeAt` is when that oldest bucket stops counting.
   */
  private async rateUsed(key: string, limit: RateLimit, now: number): Promise<{ n: number; freeAt: number }> {
    const width = rateBucketWidth(limit.windowMs)
    const [row] = await this.run('rateUsed', [key, bucketStart(now - limit.windowMs, width)])
    const oldest = (row?.oldest as number | null | undefined) ?? null
    return { n: (row?.n as number | undefined) ?? 0, freeAt: oldest === null ? now : oldest + width + limit.windowMs }
  }

  /**
   * The breaker's state for a claim. An open breaker whose cool-down is over turns half-open,
   * under its row lock (claims of other queues bound to it may be at it too); otherwise a plain
   * read, so claims of those queues do not queue up behind one another on the breaker's row.
   */
  private async breakerAdmit(client: pg.ClientBase, name: string, policy: BreakerPolicy, now: number) {
    let [row] = await this.run('breakerGet', [name], client)
    if (!row) {
      await this.run('breakerEnsure', [name, JSON.stringify(policy), now], client)
      ;[row] = await this.run('breakerGet', [name], client)
    }
    const coolingDown = (breaker: BreakerRow) =>
      breaker.state !== 'open' || now < (breaker.openedAt ?? now) + breaker.config.cooldownMs
    if (coolingDown(toBreaker(row as Row))) return toBreaker(row as Row)
    const [locked] = await this.run('breakerGetForUpdate', [name], client)
    const breaker = toBreaker(locked as Row)
    if (coolingDown(breaker)) return breaker
    return this.saveBreaker(
      client,
      breaker,
      { ...breaker, state: 'half_open', successes: 0, updatedAt: now },
      now,
      false,
    )
  }

  /** Writes a breaker's new state, with an event when the state changed. */
  private async saveBreaker(
    client: pg.ClientBase,
    before: BreakerRow,
    after: BreakerRow,
    now: number,
    wake: boolean,
  ): Promise<BreakerRow> {
    const changed = after.state !== before.state
    const type: EventType | null = !changed
      ? null
      : after.state === 'open'
        ? 'breaker.opened'
        : after.state === 'closed'
          ? 'breaker.closed'
          : 'breaker.half_open'
    await this.run(
      'breakerUpdate',
      [
        after.name,
        after.state,
        after.failures,
        after.successes,
        after.windowStart,
        after.windowTotal,
        after.windowFailures,
        after.openedAt,
        now,
        type,
        jsonText({ breaker: after.name, from: before.state, failures: before.failures }),
        this.channel,
        // Claims of the queues bound to it may succeed again: tell the other processes.
        wake && changed && after.state !== 'open' ? this.instanceId : null,
      ],
      client,
    )
    return after
  }

  async jobNextRunAt({ queue, now }: { queue: string; now: number }): Promise<number | null> {
    const [row] = await this.run('jobNextRunAt', [queue, now])
    return (row?.run_at as number | null) ?? null
  }

  async jobComplete({ items, now }: { items: Completion[]; now: number }): Promise<boolean[]> {
    if (items.length === 0) return []
    // Parents made runnable wake this process too: nobody reports them to its workers.
    const rows = await this.run('jobComplete', [...completionArrays(items), now, this.channel, ''])
    if (rows.length > 0) this.wake.eventsWrittenSoon()
    return outcomes(items, new Set(rows.map((row) => row.id as number)))
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
    const id = toId(params.id)
    const state: JobState = retryAt === null ? 'failed' : retryAt > now ? 'scheduled' : 'waiting'
    const data = { ...(retryAt !== null && { retryAt }), ...(error && { error: error.message }) }
    const rows = await this.run('jobFail', [
      id,
      params.leaseToken,
      state,
      retryAt ?? now,
      refundAttempt ? 1 : 0,
      error ? jsonText(error) : null,
      state === 'failed' ? now : null,
      now,
      jsonText(data),
      this.channel,
      // Runnable now: tell the other processes' workers in the same commit.
      state === 'waiting' ? this.instanceId : null,
      pause?.until ?? null,
      pause?.group ?? null,
    ])
    if (rows.length === 1) {
      if (state !== 'waiting') this.wake.eventsWrittenSoon()
      return { ok: true, job: { state } }
    }
    const [current] = await this.run('jobLeaseGet', [id])
    return current ? { ok: false, reason: 'lease_lost' } : { ok: false, reason: 'not_found' }
  }

  async jobHeartbeat({ items, leaseMs, now }: { items: Lease[]; leaseMs: number; now: number }) {
    if (items.length === 0) return []
    const rows = await this.run('jobHeartbeat', [
      items.map((item) => toId(item.id)),
      items.map((item) => item.leaseToken),
      now + leaseMs,
    ])
    const alive = new Set(rows.map((row) => row.id as number))
    return items.map((item) => alive.has(toId(item.id)))
  }

  async jobProgress(params: Lease & { progress: JobProgress; now: number }): Promise<boolean> {
    const rows = await this.run('jobProgress', [
      toId(params.id),
      params.leaseToken,
      jsonText(params.progress),
      params.now,
    ])
    if (rows.length === 0) return false
    this.wake.eventsWrittenSoon()
    return true
  }

  async jobLog(params: {
    id: string
    leaseToken?: number
    level: 'debug' | 'info' | 'warn' | 'error'
    message: string
    now: number
  }): Promise<boolean> {
    const rows = await this.run('jobLog', [
      toId(params.id),
      params.leaseToken ?? null,
      params.now,
      jsonText({ level: params.level, message: params.message }),
    ])
    if (rows.length === 0) return false
    this.wake.eventsWrittenSoon()
    return true
  }

  async jobRelease(params: Lease & { now: number }): Promise<boolean> {
    const rows = await this.run('jobRelease', [
      toId(params.id),
      params.leaseToken,
      params.now,
      this.channel,
      this.instanceId,
    ])
    return rows.length === 1
  }

  // ── flows ────────────────────────────────────────────────────────────────────────────────

  async jobWaitForChildren(
    params: Lease & { children: { job: NewJob; onFailure: DependencyFailurePolicy }[]; now: number },
  ): Promise<Outcome<{ state: JobState; childIds: string[] }>> {
    const { children, now, leaseToken } = params
    const id = toId(params.id)
    const outcome = await this.transaction(async (client) => {
      const [current] = await this.run('jobLeaseLock', [id], client)
      if (!current) return { ok: false, reason: 'not_found' } as const
      if (current.state !== 'active' || current.lease_token !== leaseToken) {
        return { ok: false, reason: 'lease_lost' } as const
      }
      const jobs = children.map((child) => child.job)
      const inserted = jobs.length > 0 ? await this.insertJobs(client, jobs, now, this.instanceId) : []
      // A child that existed already (its idempotency key) may be finishing right now.
      const existing = await this.lockDependencies(
        client,
        inserted.filter((child) => !child.created).map((child) => toId(child.id)),
      )
      const childIds = inserted.map((child) => toId(child.id))
      const unfinished = inserted.map((child, i) =>
        UNFINISHED.includes(existing.get(childIds[i] as number) ?? child.state),
      )
      const pending = new Set(childIds.filter((_, i) => unfinished[i])).size
      const state: JobState = pending > 0 ? 'blocked' : 'waiting'
      await this.run(
        'jobBlock',
        [
          id,
          leaseToken,
          state,
          pending,
          now,
          childIds,
          children.map((child) => child.onFailure ?? 'fail'),
          unfinished.map((open) => !open),
          pending > 0 ? 'job.blocked' : 'job.waiting',
          this.channel,
          state === 'waiting' ? this.instanceId : null,
        ],
        client,
      )
      return { ok: true, job: { state, childIds: inserted.map((child) => child.id) } } as const
    })
    if (outcome.ok) this.wake.eventsWrittenSoon()
    return outcome
  }

  async jobDependencies({ id }: { id: string }): Promise<DependencyRow[]> {
    return (await this.run('depsOfParent', [toId(id)])).map(toDependency)
  }

  async jobDependents({ id }: { id: string }): Promise<DependentRow[]> {
    return (await this.run('depsParents', [toId(id)])).map(toDependent)
  }

  async jobTenants({ ids }: { ids: string[] }): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map()
    const rows = await this.run('jobTenants', [ids.map(toId)])
    return new Map(rows.map((row) => [String(row.id), row.tenant as string]))
  }

  // ── jobs: management ─────────────────────────────────────────────────────────────────────

  async jobGet({ id }: { id: string }): Promise<JobRow | null> {
    const [row] = await this.run('jobGet', [toId(id)])
    return row ? toJob(row) : null
  }

  async jobList(params: JobFilter & { beforeId?: string; beforeRunAt?: number; order?: JobOrder; limit: number }) {
    const { queue, state, limit } = params
    const ascending = params.order?.dir === 'asc'
    // The first page starts past either end: ids and run_at are never negative.
    const beforeId = params.beforeId === undefined ? (ascending ? 0 : Number.MAX_SAFE_INTEGER) : toId(params.beforeId)
    const beforeRunAt =
      params.beforeId === undefined ? (ascending ? -1 : Number.MAX_SAFE_INTEGER) : (params.beforeRunAt ?? 0)
    const search = jobSearch({ ...params, beforeRunAt }, JOB_COLUMNS, `"${this.schema}".jobs`, this.searches)
    if (search) {
      return (await this.query(search.name, search.text, [beforeId, limit, ...search.values])).map(toJob)
    }
    // Jobs of every state but completed are found in the narrow table holding it (migration 10).
    const rows =
      state !== undefined && state !== 'completed'
        ? await this.run('jobListNarrow', [beforeId, limit, state, queue ?? null])
        : queue !== undefined && state !== undefined
          ? await this.run('jobListQueueState', [beforeId, limit, queue, state])
          : queue !== undefined
            ? await this.run('jobListQueue', [beforeId, limit, queue])
            : state !== undefined
              ? await this.run('jobListState', [beforeId, limit, state])
              : await this.run('jobListAll', [beforeId, limit])
    return rows.map(toJob)
  }

  async jobCount(params: JobFilter & { limit: number }): Promise<number> {
    const search = jobCountSearch(params, `"${this.schema}".jobs`, this.searches)
    const [row] = await this.query(search.name, search.text, [params.limit, ...search.values])
    return Number(row?.n ?? 0)
  }

  /**
   * A guarded manual transition: locks the row, checks its state against `from`, and lets
   * `change` write (returning the row after), in one transaction.
   */
  private transition(
    id: string,
    from: readonly JobState[],
    change: (client: pg.PoolClient, job: JobRow) => Promise<JobRow>,
  ): Promise<Outcome> {
    return this.transaction(async (client) => {
      const [row] = await this.run('jobGetForUpdate', [toId(id)], client)
      if (!row) return { ok: false, reason: 'not_found' } as const
      const job = toJob(row)
      if (!from.includes(job.state)) return { ok: false, reason: 'invalid_state', state: job.state } as const
      return { ok: true, job: await change(client, job) } as const
    })
  }

  private async setState(
    client: pg.PoolClient,
    job: JobRow,
    state: JobState,
    now: number,
    changes: { runAt?: number; attempt?: number; progress?: JobProgress | null } = {},
  ): Promise<JobRow> {
    const progress = 'progress' in changes ? changes.progress : job.progress
    const [row] = await this.run(
      'jobSetState',
      [
        toId(job.id),
        state,
        changes.runAt ?? job.runAt,
        changes.attempt ?? job.attempt,
        state === 'cancelled' || state === 'failed' || state === 'completed' ? now : null,
        progress === null || progress === undefined ? null : jsonText(progress),
        now,
      ],
      client,
    )
    return toJob(row as Row)
  }

  /** Writes a transition's event and its wake-up hint, both delivered on commit. */
  private async event(
    client: pg.PoolClient,
    type: EventType,
    job: JobRow,
    state: JobState | null,
    now: number,
    data?: Record<string, unknown>,
  ): Promise<void> {
    await this.run(
      'eventInsertWake',
      [now, type, job.queue, toId(job.id), state, data ? jsonText(data) : null, this.channel, this.instanceId],
      client,
    )
  }

  /** A job finished for good without completing: the parents waiting for it learn of it. */
  private async resolveDependents(client: pg.PoolClient, id: string, outcome: 'failed' | 'cancelled', now: number) {
    // The payload wakes this process too: nothing reports the parents made runnable to its workers.
    await this.run('depsResolve', [[toId(id)], outcome, now, this.channel, ''], client)
  }

  async jobCancel({ id, now }: { id: string; now: number }): Promise<Outcome> {
    return this.transition(id, UNFINISHED, (client, job) => this.cancelTree(client, job, now))
  }

  /** Cancels a job, then its unfinished children that no other live parent still waits for. */
  private async cancelTree(client: pg.PoolClient, job: JobRow, now: number): Promise<JobRow> {
    const after = await this.setState(client, job, 'cancelled', now)
    await this.event(client, 'job.cancelled', job, 'cancelled', now, { from: job.state })
    await this.resolveDependents(client, job.id, 'cancelled', now)
    for (const dep of await this.run('depsOfParent', [toId(job.id)], client)) {
      if (!UNFINISHED.includes(dep.state as JobState)) continue
      const [others] = await this.run('depsOtherLiveParents', [dep.child_id, toId(job.id)], client)
      if (((others?.n as number | undefined) ?? 0) > 0) continue
      const [child] = await this.run('jobGetForUpdate', [dep.child_id], client)
      if (child && UNFINISHED.includes(child.state as JobState)) await this.cancelTree(client, toJob(child), now)
    }
    return after
  }

  async jobRetry({ id, now }: { id: string; now: number }): Promise<Outcome> {
    return this.transition(id, ['failed', 'cancelled'], async (client, job) => {
      const after = await this.setState(client, job, 'waiting', now, { runAt: now, attempt: 0, progress: null })
      await this.event(client, 'job.waiting', job, 'waiting', now, { reason: 'retried', from: job.state })
      return after
    })
  }

  async jobReprioritize(params: { id: string; priority: number; now: number }): Promise<Outcome> {
    const { id, priority, now } = params
    return this.transition(id, ['waiting', 'scheduled', 'blocked'], async (client, job) => {
      const [row] = await this.run('jobReprioritize', [toId(job.id), priority, now], client)
      await this.event(client, 'job.priority', job, job.state, now, { priority, from: job.priority })
      return toJob(row as Row)
    })
  }

  async jobPromote({ id, now }: { id: string; now: number }): Promise<Outcome> {
    return this.transition(id, ['scheduled'], async (client, job) => {
      const after = await this.setState(client, job, 'waiting', now, { runAt: now })
      await this.event(client, 'job.waiting', job, 'waiting', now, { reason: 'promoted' })
      return after
    })
  }

  async jobRemove({ id, now }: { id: string; now: number }): Promise<Outcome> {
    const removable: JobState[] = ['waiting', 'scheduled', 'blocked', 'completed', 'failed', 'cancelled']
    return this.transition(id, removable, async (client, job) => {
      await this.run('jobRemove', [[toId(job.id)]], client)
      await this.run('jobRemoveEvents', [[toId(job.id)]], client)
      await this.event(client, 'job.removed', job, null, now, { tenant: job.tenant })
      // A parent still waiting for a removed job would wait forever: it counts as cancelled.
      if (UNFINISHED.includes(job.state)) await this.resolveDependents(client, job.id, 'cancelled', now)
      return job
    })
  }

  async jobPosition({ id, now, limit }: { id: string; now: number; limit?: number }): Promise<number | null> {
    const [row] = await this.run('jobGet', [toId(id)])
    if (!row) return null
    const runnable = row.state === 'waiting' || (row.state === 'scheduled' && (row.run_at as number) <= now)
    if (!runnable) return null
    const [count] = await this.run('jobPosition', [
      row.queue,
      now,
      row.priority,
      row.vtime,
      row.run_at,
      row.id,
      limit ?? null,
    ])
    return (count as Row).n as number
  }

  // ── maintenance ──────────────────────────────────────────────────────────────────────────

  async jobRecoverExpired({ now }: { now: number }) {
    const rows = await this.run('jobRecoverExpired', [
      now,
      LEASE_EXPIRED_MESSAGE,
      RECOVER_LIMIT,
      this.channel,
      this.instanceId,
    ])
    return rows.map((row) => ({ id: String(row.id), state: row.state as JobState }))
  }

  async jobPromoteDue({ now, limit }: { now: number; limit: number }): Promise<number> {
    const [row] = await this.run('jobPromoteDue', [now, limit, this.channel, this.instanceId])
    return (row?.n as number | undefined) ?? 0
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
    const ids = new Set<number>()
    const mine = (row: Row) => tenant === undefined || row.tenant === tenant
    if (rule.maxAgeMs !== undefined) {
      for (const row of await this.run('jobCleanupByAge', [queue, state, now - rule.maxAgeMs]))
        if (mine(row)) ids.add(row.id as number)
    }
    if (rule.maxCount !== undefined) {
      for (const row of await this.run('jobCleanupByCount', [queue, state, rule.maxCount]))
        if (mine(row)) ids.add(row.id as number)
    }
    if (!dryRun) {
      // Guarded by the state: a job retried since it was picked is not removed.
      const all = [...ids]
      for (let start = 0; start < all.length; start += DELETE_CHUNK) {
        await this.run('jobCleanupRemove', [all.slice(start, start + DELETE_CHUNK), state])
      }
    }
    return { count: ids.size, sampleIds: [...ids].slice(0, 10).map(String) }
  }

  // ── events and stats ─────────────────────────────────────────────────────────────────────

  /**
   * Events after `afterId`, in id order, never skipping one that commits later.
   *
   * The problem: ids come from a sequence when a row is inserted, but transactions commit in
   * any order. If A draws id 10 and B draws 11 and commits first, a reader that returned 11 and
   * moved its cursor past it would never see 10. Holding back events whose transaction id is
   * not below the snapshot's xmin is not enough either: a transaction with an older xid can
   * draw a later id (T1 gets its xid, T2 inserts id 10 and stays open, T1 inserts 11 and
   * commits: 11's xid is below xmin, and 10 is not visible yet). The test file shows both.
   *
   * The watermark: read the sequence's last value L, then draw a transaction id N (statement
   * `eventMark`). Every id up to L was drawn before N by a transaction that already had its xid
   * (each statement that inserts events writes a row first), so that xid is below N. Once a
   * snapshot's xmin passes N, all those transactions have ended, and every id up to L is either
   * visible or never will be: L is settled. A read returns only settled ids. It waits up to
   * `EVENT_SETTLE_WAIT_MS` for the transactions in flight to end (a few ms usually), so a caller
   * reads its own writes; if one stays open longer (a long application transaction that
   * enqueued), the read returns what is settled and the rest comes on a later read. Watermarks
   * not settled yet are kept, so a busy database, where some transaction is always in flight,
   * still settles them a read later. Concurrent reads share one round.
   *
   * The price is paid by readers only: three small statements per read, and one transaction id
   * per round; writers do nothing extra.
   */
  async eventList(params: { afterId: number; queue?: string; jobId?: string; limit: number }) {
    const { afterId, queue, jobId, limit } = params
    if (!Number.isFinite(afterId)) return []
    const settled = await this.settledNow()
    if (settled <= afterId) return []
    const from = Math.floor(afterId)
    const rows =
      jobId !== undefined
        ? await this.run('eventListJob', [from, settled, limit, toId(jobId)])
        : queue !== undefined
          ? await this.run('eventListQueue', [from, settled, limit, queue])
          : await this.run('eventListAll', [from, settled, limit])
    return rows.map(toEvent)
  }

  /**
   * The id to follow from for "only new events": the sequence's last value, once the
   * transactions in flight have ended (up to `LAST_ID_SETTLE_WAIT_MS`), so their events count
   * as new rather than being skipped.
   */
  async eventLastId(): Promise<number> {
    return (await this.settle(LAST_ID_SETTLE_WAIT_MS)).last
  }

  /**
   * The settled id as of a round that starts after this call: a call that arrives while a round
   * runs waits for the next one (whose sequence read comes after the call), and shares it.
   */
  private settledNow(): Promise<number> {
    if (this.settleQueued) return this.settleQueued
    if (!this.settleRound) {
      this.settleRound = this.settle(EVENT_SETTLE_WAIT_MS)
        .then((round) => round.settled)
        .finally(() => {
          this.settleRound = null
        })
      return this.settleRound
    }
    this.settleQueued = this.settleRound
      .catch(() => 0)
      .then(() => {
        this.settleQueued = null
        return this.settledNow()
      })
    return this.settleQueued
  }

  private settle(waitMs: number): Promise<{ settled: number; last: number }> {
    const round = this.settleLoop(waitMs)
    this.settling.add(round)
    const forget = () => this.settling.delete(round)
    round.then(forget, forget)
    return round
  }

  private async settleLoop(waitMs: number): Promise<{ settled: number; last: number }> {
    const [mark] = await this.run('eventMark')
    const last = mark?.last as number
    this.addMark({ last, xid: BigInt(mark?.xid as string) })
    const deadline = Date.now() + waitMs
    for (;;) {
      const xmin = await this.snapshotXmin()
      this.advance(xmin)
      if (this.settledEventId >= last) {
        this.stuckAt = null
        return { settled: this.settledEventId, last }
      }
      // The transaction that held the last wait up is still open: do not wait for it again.
      // A closing store does not wait either.
      if (Date.now() >= deadline || xmin === this.stuckAt || this.closed) {
        this.stuckAt = xmin
        return { settled: this.settledEventId, last }
      }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  }

  private async snapshotXmin(): Promise<bigint> {
    const [row] = await this.run('snapshotXmin')
    return BigInt(row?.xmin as string)
  }

  private addMark(mark: Mark): void {
    this.marks.push(mark)
    // Keep the oldest (they settle first) and the newest.
    if (this.marks.length > MAX_MARKS) this.marks.splice(this.marks.length - 2, 1)
  }

  /** Settles every watermark whose transactions have all ended by a snapshot with this xmin. */
  private advance(xmin: bigint): void {
    let settled = this.settledEventId
    for (const mark of this.marks) if (mark.xid < xmin && mark.last > settled) settled = mark.last
    this.settledEventId = settled
    this.marks = this.marks.filter((mark) => mark.xid >= xmin && mark.last > settled)
  }

  async statsBuckets({ queue, since }: { queue?: string; since: number }): Promise<StatsBucket[]> {
    const rows =
      queue === undefined
        ? await this.run('statsBucketsAll', [since])
        : await this.run('statsBucketsQueue', [queue, since])
    return rows.map((row) => ({
      minute: row.minute as number,
      completed: row.completed as number,
      failed: row.failed as number,
      retried: row.retried as number,
    }))
  }

  async statsTimings({ queue, limit }: { queue?: string; limit: number }): Promise<Timing[]> {
    const rows =
      queue === undefined
        ? await this.run('statsTimingsAll', [limit])
        : await this.run('statsTimingsQueue', [queue, limit])
    return rows.map((row) => ({ waitMs: Math.max(0, row.wait_ms as number), runMs: row.run_ms as number }))
  }

  async statsPrune({ before }: { before: number }): Promise<void> {
    await this.run('statsPrune', [before])
  }

  async leaderAcquire(params: { name: string; nodeId: string; ttlMs: number; now: number }) {
    const { name, nodeId, ttlMs, now } = params
    const [row] = await this.run('leaderAcquire', [name, nodeId, now + ttlMs, now])
    return row?.node_id === nodeId
  }

  async leaderRelease({ name, nodeId }: { name: string; nodeId: string }): Promise<void> {
    await this.run('leaderRelease', [name, nodeId])
  }

  // ── limits and breakers ──────────────────────────────────────────────────────────────────

  async limitsGet(params: {
    queue: string
    now: number
    windowMs?: number
    groupWindowMs?: number
  }): Promise<LimitsRow> {
    const { queue, now } = params
    const [queueRow] = await this.run('queueGet', [queue])
    const rateUsed: Record<string, number> = {}
    if (params.windowMs !== undefined) {
      rateUsed[''] = (await this.rateUsed(pgKey(rateKey.queue(queue)), { max: 0, windowMs: params.windowMs }, now)).n
    }
    if (params.groupWindowMs !== undefined) {
      const prefix = pgKey(rateKey.groupPrefix(queue))
      const from = bucketStart(now - params.groupWindowMs, rateBucketWidth(params.groupWindowMs))
      for (const row of await this.run('rateUsedByPrefix', [prefix, keyAfter(prefix), from])) {
        rateUsed[(row.key as string).slice(prefix.length)] = row.n as number
      }
    }
    return {
      queue,
      pausedUntil: (queueRow?.paused_until as number | undefined) ?? 0,
      rateUsed,
      groups: (await this.run('groupsList', [queue])).map((row) => ({
        group: row.grp as string,
        pausedUntil: row.paused_until as number,
        vtime: Number(row.vtime),
      })),
    }
  }

  async limitsReset({ queue, now }: { queue: string; now: number }): Promise<void> {
    const prefix = pgKey(rateKey.groupPrefix(queue))
    await this.run('limitsReset', [
      queue,
      pgKey(rateKey.queue(queue)),
      prefix,
      keyAfter(prefix),
      now,
      this.channel,
      this.instanceId,
    ])
  }

  async limitsPrune({ before }: { before: number }): Promise<void> {
    await this.run('ratePrune', [before])
  }

  /**
   * A token bucket, refilled at `ratePerSec` up to `burst`. Each step is one guarded statement
   * under the row's lock: take when there is enough (the common case, one round trip), else
   * store the refill and say how long to wait, else create the bucket; a step that finds the row
   * gone or just created by another taker tries again.
   */
  async tokenTake(params: { key: string; ratePerSec: number; burst: number; cost: number; now: number }) {
    const { ratePerSec, burst, cost, now } = params
    const key = pgKey(params.key)
    const waitFor = (tokens: number) => Math.max(0, Math.ceil(((cost - tokens) / ratePerSec) * 1000))
    for (let attempt = 0; attempt < 5; attempt++) {
      if ((await this.run('tokenTake', [key, ratePerSec, burst, cost, now])).length === 1) {
        return { ok: true, retryAfterMs: 0 }
      }
      const [refilled] = await this.run('tokenRefill', [key, ratePerSec, burst, now])
      if (refilled) return { ok: false, retryAfterMs: waitFor(refilled.tokens as number) }
      if ((await this.run('tokenInsert', [key, burst, cost, now])).length === 1) {
        return burst >= cost ? { ok: true, retryAfterMs: 0 } : { ok: false, retryAfterMs: waitFor(burst) }
      }
    }
    throw new Error(`token bucket ${params.key} changed under every attempt; try again`)
  }

  async breakerDefine(params: { name: string; policy: BreakerPolicy; now: number }): Promise<BreakerRow> {
    const [row] = await this.run('breakerDefine', [params.name, JSON.stringify(params.policy), params.now])
    return toBreaker(row as Row)
  }

  async breakerGet({ name }: { name: string }): Promise<BreakerRow | null> {
    const [row] = await this.run('breakerGet', [name])
    return row ? toBreaker(row) : null
  }

  async breakerHistory({ name, beforeId, limit }: { name: string; beforeId?: number; limit: number }) {
    return (await this.run('eventListBreaker', [name, beforeId ?? Number.MAX_SAFE_INTEGER, limit])).map(toEvent)
  }

  async breakerList(): Promise<BreakerRow[]> {
    return (await this.run('breakerList')).map(toBreaker)
  }

  async breakerRecord({ name, success, now }: { name: string; success: boolean; now: number }) {
    return this.breakerWrite(name, async (client) => {
      const [row] = await this.run('breakerGetForUpdate', [name], client)
      if (!row) return null
      const before = toBreaker(row)
      const window = await this.breakerCount(client, before, success, now)
      return this.saveBreaker(client, before, nextBreaker(before, success, now, window), now, true)
    })
  }

  /** Counts a closed breaker's call in its sliding window (under its row lock); the window's calls and failures since. */
  private async breakerCount(client: pg.ClientBase, breaker: BreakerRow, success: boolean, now: number) {
    const window: BreakerWindow = { calls: 0, failures: 0 }
    if (breaker.state !== 'closed') return window
    const { prefix: shared, bucket, from } = breakerBuckets(breaker, now)
    const prefix = pgKey(shared)
    const keys = success ? [`${prefix}calls`] : [`${prefix}calls`, `${prefix}failures`]
    await this.run('rateAdd', [keys, keys.map(() => bucket), keys.map(() => 1)], client)
    for (const row of await this.run('rateUsedByPrefix', [prefix, keyAfter(prefix), from], client)) {
      window[(row.key as string).slice(prefix.length) as keyof BreakerWindow] = Number(row.n)
    }
    return window
  }

  async breakerSet({ name, state, now }: { name: string; state: BreakerState; now: number }) {
    return this.breakerWrite(name, async (client) => {
      const [row] = await this.run('breakerGetForUpdate', [name], client)
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
      return this.saveBreaker(client, before, { ...after, updatedAt: now }, now, true)
    })
  }

  private breakerWritten(name: string, write: Promise<void>): void {
    if (this.breakerWrites.get(name) === write) this.breakerWrites.delete(name)
  }

  /** A read-compute-write of a breaker under its row lock, after this store's earlier writes to it. */
  private breakerWrite(
    name: string,
    change: (client: pg.PoolClient) => Promise<BreakerRow | null>,
  ): Promise<BreakerRow | null> {
    const previous = this.breakerWrites.get(name) ?? Promise.resolve()
    const write = previous
      .catch(() => {})
      .then(() => this.transaction(change))
      .then((after) => {
        if (after) this.wake.eventsWrittenSoon()
        return after
      })
    const settled: Promise<void> = write.then(
      () => this.breakerWritten(name, settled),
      () => this.breakerWritten(name, settled),
    )
    this.breakerWrites.set(name, settled)
    return write
  }

  // ── records and workers ──────────────────────────────────────────────────────────────────

  async recordPut(params: {
    collection: string
    id: string
    tenant: string
    key: string | null
    data: string
    now: number
  }): Promise<RecordRow> {
    const { collection, id, tenant, key, data, now } = params
    const [row] = await this.run('recordPut', [collection, id, tenant, key, data, now])
    return toRecord(row as Row)
  }

  async recordGet({ collection, id }: { collection: string; id: string }): Promise<RecordRow | null> {
    const [row] = await this.run('recordGet', [collection, id])
    return row ? toRecord(row) : null
  }

  async recordFindByKey({ collection, key }: { collection: string; key: string }): Promise<RecordRow | null> {
    const [row] = await this.run('recordFindByKey', [collection, key])
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
    const { collection, tenant, limit } = params
    const afterSeq = params.afterSeq ?? 0
    const beforeSeq = params.beforeSeq ?? Number.MAX_SAFE_INTEGER
    const desc = params.order === 'desc'
    const rows =
      tenant === undefined
        ? desc
          ? await this.run('recordListDesc', [collection, afterSeq, limit, beforeSeq])
          : await this.run('recordList', [collection, afterSeq, limit])
        : desc
          ? await this.run('recordListTenantDesc', [collection, afterSeq, limit, tenant, beforeSeq])
          : await this.run('recordListTenant', [collection, afterSeq, limit, tenant])
    return rows.map(toRecord)
  }

  async recordDelete({ collection, id }: { collection: string; id: string }): Promise<boolean> {
    return (await this.run('recordDelete', [collection, id])).length === 1
  }

  async workerBeat(params: Omit<WorkerRow, 'seenAt' | 'startedAt'> & { now: number }): Promise<void> {
    const { id, nodeId, queue, concurrency, running, info, now } = params
    await this.run('workerBeat', [id, nodeId, queue, concurrency, JSON.stringify(running), JSON.stringify(info), now])
  }

  async workerRemove({ id }: { id: string }): Promise<void> {
    await this.run('workerRemove', [id])
  }

  async workerList({ since }: { since: number }): Promise<WorkerRow[]> {
    return (await this.run('workerList', [since, since - WORKER_FORGET_MS])).map(toWorker)
  }

  // ── schedules ────────────────────────────────────────────────────────────────────────────

  async scheduleUpsert({ schedule, now }: { schedule: NewSchedule; now: number }): Promise<ScheduleRow> {
    const p = scheduleParams(schedule)
    const values = [p.name, p.tenant, p.cron, p.timezone, p.queue, p.payload, p.options, p.catchUp, p.paused]
    const [row] = await this.run('scheduleUpsert', [...values, p.nextRunAt, now])
    return toSchedule(row as Row)
  }

  async scheduleGet({ name }: { name: string }): Promise<ScheduleRow | null> {
    const [row] = await this.run('scheduleGet', [name])
    return row ? toSchedule(row) : null
  }

  async scheduleList({ tenant }: { tenant?: string }): Promise<ScheduleRow[]> {
    const rows =
      tenant === undefined ? await this.run('scheduleListAll') : await this.run('scheduleListTenant', [tenant])
    return rows.map(toSchedule)
  }

  async scheduleDelete({ name }: { name: string }): Promise<boolean> {
    return (await this.run('scheduleDelete', [name])).length === 1
  }

  async scheduleSetPaused(params: {
    name: string
    paused: boolean
    nextRunAt: number | null
    now: number
  }): Promise<ScheduleRow | null> {
    const [row] = await this.run('scheduleSetPaused', [params.name, params.paused, params.nextRunAt, params.now])
    return row ? toSchedule(row) : null
  }

  async scheduleDue({ now, limit }: { now: number; limit: number }): Promise<ScheduleRow[]> {
    return (await this.run('scheduleDue', [now, limit])).map(toSchedule)
  }

  async scheduleAdvance(params: {
    name: string
    from: number
    cron: string
    timezone: string
    nextRunAt: number | null
    lastRunAt: number | null
  }): Promise<boolean> {
    const { name, from, cron, timezone, nextRunAt, lastRunAt } = params
    return (await this.run('scheduleAdvance', [name, from, cron, timezone, nextRunAt, lastRunAt])).length === 1
  }
}

// ── helpers and row mapping ──────────────────────────────────────────────────────────────

/** The application's client for `jobInsert({ transaction })`: anything with pg's `query`. */
function applicationClient(transaction: unknown): pg.ClientBase {
  const candidate = transaction as { query?: unknown; totalCount?: unknown } | null
  if (typeof candidate?.query !== 'function') {
    throw new TypeError('transaction must be a pg client (Client or PoolClient) on which you ran BEGIN')
  }
  if (typeof candidate.totalCount === 'number') {
    // A pool would run the insert on whichever connection is free, outside your transaction.
    throw new TypeError('transaction must be the client you ran BEGIN on (pool.connect()), not the pool')
  }
  return transaction as pg.ClientBase
}

/** The best (lowest) priority of a batch, per queue. */
function bestPriorities(jobs: NewJob[]): Map<string, number> {
  const best = new Map<string, number>()
  for (const job of jobs) {
    const seen = best.get(job.queue)
    if (seen === undefined || job.priority < seen) best.set(job.queue, job.priority)
  }
  return best
}

/** Limits that only count the queue as a whole: claim_limited takes them in one call. */
function queueWideOnly(limits: ClaimConstraints): boolean {
  return !limits.breaker && limits.groupConcurrency === undefined && !limits.groupRate
}

/** Whether the limits cap how many jobs run at once, so a completion frees a slot someone may be waiting for. */
function capped(limits: ClaimConstraints): boolean {
  return limits.concurrency !== undefined || limits.groupConcurrency !== undefined || limits.breaker !== undefined
}

/**
 * A batch of completions as the statements' arrays, in id order: rows are locked in the order
 * given, and enqueues that wait for running jobs lock them in id order too (no deadlock).
 */
function completionArrays(items: Completion[]): [number[], number[], (string | null)[]] {
  const ids: number[] = []
  const tokens: number[] = []
  const results: (string | null)[] = []
  for (const item of [...items].sort((a, b) => toId(a.id) - toId(b.id))) {
    ids.push(toId(item.id))
    tokens.push(item.leaseToken)
    results.push(item.result)
  }
  return [ids, tokens, results]
}

/** Which completions were recorded; a job listed twice counts once, as SQLite does. */
function outcomes(items: Completion[], done: Set<number>): boolean[] {
  const seen = new Set<number>()
  return items.map((item) => {
    const id = toId(item.id)
    if (!done.has(id) || seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/**
 * JSON for a jsonb column. jsonb refuses the escaped NUL character (\u0000), which JSON.stringify
 * writes for a NUL in a string (an error message, a log line): it becomes U+FFFD.
 */
const ESCAPED_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g
/** How JSON.stringify writes a lone surrogate (escaped, lowercase). */
const UNPAIRED_SURROGATE = /\\ud[89a-f]/
function jsonText(value: unknown): string {
  const text = JSON.stringify(value)
  return text.includes('\\u0000') ? text.replace(ESCAPED_NUL, '$1\\ufffd') : text
}
