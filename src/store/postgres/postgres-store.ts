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
 * - **Integers**: bigint columns (times, ids, counts) are read as JavaScript numbers, for this
 *   store's queries only (no global pg type parser is changed).
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import {
  backoffJson,
  byRunOrder,
  emptyCounts,
  isEmpty,
  type Row,
  toClaimed,
  toEvent,
  toId,
  toJob,
  toQueue,
} from '../rows.js'
import { scheduleParams, toSchedule } from '../schedule-rows.js'
import { readMigrations, readSqlFile } from '../sql-file.js'
import type {
  AttemptError,
  ClaimedJob,
  ClaimParams,
  Completion,
  EventType,
  JobProgress,
  JobRow,
  JobState,
  Lease,
  NewJob,
  NewSchedule,
  Outcome,
  QueueConfig,
  QueueRow,
  RetentionRule,
  ScheduleRow,
  StatsBucket,
  Store,
  StoreCapabilities,
  Timing,
  WakeHint,
} from '../store.js'
import { WakeChannel } from './wake-channel.js'

const SQL = readSqlFile(new URL('./queries.sql', import.meta.url))
const MIGRATIONS = readMigrations(new URL('./migrations/', import.meta.url))
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
const LEASE_EXPIRED_MESSAGE = 'lease expired: the worker stopped heartbeating (crashed, killed or blocked)'
const INT8_OID = 20

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
/** Every statement in queries.sql, by name; a missing one fails at first use. */
type StatementName =
  | 'migrationLock'
  | 'schemaCreate'
  | 'migrationsTable'
  | 'migrationsApplied'
  | 'migrationRecord'
  | 'queueEnsure'
  | 'queueGet'
  | 'queueList'
  | 'queueConfigure'
  | 'queuePause'
  | 'queueCounts'
  | 'queueCountsOne'
  | 'jobInsert'
  | 'jobByIdempotencyKeys'
  | 'jobClaim'
  | 'jobNextRunAt'
  | 'jobComplete'
  | 'jobFail'
  | 'jobLeaseGet'
  | 'jobHeartbeat'
  | 'jobProgress'
  | 'jobLog'
  | 'jobRelease'
  | 'jobGet'
  | 'jobGetForUpdate'
  | 'jobSetState'
  | 'jobReprioritize'
  | 'jobRemove'
  | 'jobRemoveEvents'
  | 'jobCleanupRemove'
  | 'eventInsertWake'
  | 'wake'
  | 'jobPosition'
  | 'jobRecoverExpired'
  | 'jobPromoteDue'
  | 'jobCleanupByAge'
  | 'jobCleanupByCount'
  | 'eventMark'
  | 'snapshotXmin'
  | 'eventListAll'
  | 'eventListQueue'
  | 'eventListJob'
  | 'statsBucketsAll'
  | 'statsBucketsQueue'
  | 'statsTimingsAll'
  | 'statsTimingsQueue'
  | 'statsPrune'
  | 'leaderAcquire'
  | 'leaderRelease'
  | 'jobListAll'
  | 'jobListQueue'
  | 'jobListState'
  | 'jobListQueueState'
  // ── schedules ──
  | 'scheduleUpsert'
  | 'scheduleGet'
  | 'scheduleListAll'
  | 'scheduleListTenant'
  | 'scheduleDelete'
  | 'scheduleSetPaused'
  | 'scheduleDue'
  | 'scheduleAdvance'

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

  private readonly wake: WakeChannel

  /** Every event id up to this one is settled: no transaction that drew one is still open. */
  private settledEventId = 0
  private marks: Mark[] = []
  /** The xmin at which the last wait for settling gave up: an old transaction holds it. */
  private stuckAt: bigint | null = null
  private settleRound: Promise<number> | null = null
  private settleQueued: Promise<number> | null = null

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
      Object.entries(SQL).map(([name, text]) => [name, text.replaceAll('{schema}', quoted)]),
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
    }
    return store
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
    const foreign = on !== this.pool && !this.ownClients.has(on as pg.PoolClient)
    const result = await on.query<Row>({
      text,
      values,
      types: TYPES,
      ...(!foreign && { name: `spool_${name}` }),
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

  // ── migrations ───────────────────────────────────────────────────────────────────────────

  /**
   * Applies pending migrations, each in its own transaction under an advisory lock named after
   * the schema, re-checking inside the lock whether another migrator got there first: two
   * processes migrating at once apply each migration exactly once, and both succeed.
   */
  async migrate(): Promise<{ applied: number[] }> {
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

  async queueCounts({ queue }: { queue?: string }) {
    const rows = queue === undefined ? await this.run('queueCounts') : await this.run('queueCountsOne', [queue])
    const counts: Record<string, Record<JobState, number>> = {}
    for (const row of rows) {
      const name = row.queue as string
      counts[name] ??= emptyCounts()
      counts[name][row.state as JobState] = row.n as number
    }
    return counts
  }

  // ── jobs: the hot path ───────────────────────────────────────────────────────────────────

  async jobInsert(params: { jobs: NewJob[]; now: number; transaction?: unknown }) {
    const { jobs, now } = params
    if (jobs.length === 0) return []
    const client = params.transaction === undefined ? this.pool : applicationClient(params.transaction)
    const columns: unknown[][] = Array.from({ length: 12 }, () => [])
    for (const job of jobs) {
      const values = [
        job.queue,
        job.runAt > now ? 'scheduled' : 'waiting',
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
      ]
      for (const [i, value] of values.entries()) columns[i]?.push(value)
    }
    // Inside an application's transaction the hint must wake this process too: only the commit,
    // which this store does not see, makes the jobs claimable.
    const wakePayload = client === this.pool ? this.instanceId : ''
    const rows = await this.run('jobInsert', [...columns, now, this.channel, wakePayload], client)
    const results: ({ id: string; created: boolean; state: JobState } | undefined)[] = new Array(jobs.length)
    for (const row of rows) {
      results[(row.ord as number) - 1] = { id: String(row.id), created: true, state: row.state as JobState }
    }
    const skipped = [...results.keys()].filter((i) => results[i] === undefined)
    if (skipped.length > 0) {
      const keyed = skipped.map((i) => jobs[i] as NewJob)
      const existing = await this.run(
        'jobByIdempotencyKeys',
        [keyed.map((job) => job.queue), keyed.map((job) => job.idempotencyKey)],
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
    return results as { id: string; created: boolean; state: JobState }[]
  }

  async jobClaim(params: ClaimParams): Promise<{ jobs: ClaimedJob[]; completed: boolean[] }> {
    const { queue, workerId, leaseMs, now, completions = [] } = params
    const limit = Math.max(1, Math.min(10_000, Math.floor(params.limit)))
    const [ids, tokens, results] = completionArrays(completions)
    const rows = await this.run('jobClaim', [queue, now, limit, workerId, now + leaseMs, ids, tokens, results])
    const jobs: ClaimedJob[] = []
    const done = new Set<number>()
    for (const row of rows) {
      if (row.kind === 'claimed') jobs.push(toClaimed(row))
      else done.add(row.id as number)
    }
    if (rows.length > 0) this.wake.eventsWrittenSoon()
    return { jobs: jobs.sort(byRunOrder), completed: outcomes(completions, done) }
  }

  async jobNextRunAt({ queue, now }: { queue: string; now: number }): Promise<number | null> {
    const [row] = await this.run('jobNextRunAt', [queue, now])
    return (row?.run_at as number | null) ?? null
  }

  async jobComplete({ items, now }: { items: Completion[]; now: number }): Promise<boolean[]> {
    if (items.length === 0) return []
    const rows = await this.run('jobComplete', [...completionArrays(items), now])
    if (rows.length > 0) this.wake.eventsWrittenSoon()
    return outcomes(items, new Set(rows.map((row) => row.id as number)))
  }

  async jobFail(
    params: Lease & {
      error: AttemptError | null
      retryAt: number | null
      refundAttempt: boolean
      now: number
    },
  ): Promise<Outcome<{ state: JobState }>> {
    const { error, retryAt, refundAttempt, now } = params
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

  // ── jobs: management ─────────────────────────────────────────────────────────────────────

  async jobGet({ id }: { id: string }): Promise<JobRow | null> {
    const [row] = await this.run('jobGet', [toId(id)])
    return row ? toJob(row) : null
  }

  async jobList(params: { queue?: string; state?: JobState; beforeId?: string; limit: number }) {
    const { queue, state, limit } = params
    const beforeId = params.beforeId === undefined ? Number.MAX_SAFE_INTEGER : toId(params.beforeId)
    const rows =
      queue !== undefined && state !== undefined
        ? await this.run('jobListQueueState', [beforeId, limit, queue, state])
        : queue !== undefined
          ? await this.run('jobListQueue', [beforeId, limit, queue])
          : state !== undefined
            ? await this.run('jobListState', [beforeId, limit, state])
            : await this.run('jobListAll', [beforeId, limit])
    return rows.map(toJob)
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

  async jobCancel({ id, now }: { id: string; now: number }): Promise<Outcome> {
    return this.transition(id, ['waiting', 'scheduled', 'blocked', 'active'], async (client, job) => {
      const after = await this.setState(client, job, 'cancelled', now)
      await this.event(client, 'job.cancelled', job, 'cancelled', now, { from: job.state })
      return after
    })
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
      await this.event(client, 'job.removed', job, null, now)
      return job
    })
  }

  async jobPosition({ id, now }: { id: string; now: number }): Promise<number | null> {
    const [row] = await this.run('jobGet', [toId(id)])
    if (!row) return null
    const runnable = row.state === 'waiting' || (row.state === 'scheduled' && (row.run_at as number) <= now)
    if (!runnable) return null
    const [count] = await this.run('jobPosition', [row.queue, now, row.priority, row.run_at, row.id])
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
  }): Promise<{ count: number; sampleIds: string[] }> {
    const { queue, state, rule, now, dryRun } = params
    const ids = new Set<number>()
    if (rule.maxAgeMs !== undefined) {
      for (const row of await this.run('jobCleanupByAge', [queue, state, now - rule.maxAgeMs]))
        ids.add(row.id as number)
    }
    if (rule.maxCount !== undefined) {
      for (const row of await this.run('jobCleanupByCount', [queue, state, rule.maxCount])) ids.add(row.id as number)
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

  private async settle(waitMs: number): Promise<{ settled: number; last: number }> {
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
      if (Date.now() >= deadline || xmin === this.stuckAt) {
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

function completionArrays(items: Completion[]): [number[], number[], (string | null)[]] {
  const ids: number[] = []
  const tokens: number[] = []
  const results: (string | null)[] = []
  for (const item of items) {
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
function jsonText(value: unknown): string {
  const text = JSON.stringify(value)
  return text.includes('\\u0000') ? text.replace(ESCAPED_NUL, '$1\\ufffd') : text
}
