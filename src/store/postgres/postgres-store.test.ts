/**
 * The PostgreSQL store against a real server: the shared conformance suite, then what only
 * PostgreSQL does (gapless events across transactions, enqueue inside the application's
 * transaction, racing migrators, the LISTEN connection). Each test gets its own schema, dropped
 * afterwards unless the test failed. Without a server these tests fail: run `scripts/setup test`.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { Spool } from '../../engine/spool.js'
import '../../index.js'
import { describeStoreConformance, type StoreFixture, waitFor } from '../conformance/conformance.js'
import { describeOrchestrationConformance } from '../conformance/orchestration.js'
import { readMigrations } from '../sql-file.js'
import type { ClaimConstraints, NewJob } from '../store.js'
import { openPostgres } from './open.js'
import { PostgresStore } from './postgres-store.js'

const PG_URL = process.env.SPOOL_TEST_PG_URL ?? 'postgres://spool:spool@127.0.0.1:5433/spool_test'

let reachable: Promise<void> | undefined
/** Fails loudly, once per file, when there is no server to test against. */
function assertReachable(): Promise<void> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5_000 })
    try {
      await client.connect()
      await client.query('SELECT 1')
    } catch (error) {
      throw new Error(
        `PostgreSQL is not reachable at ${PG_URL.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message}). ` +
          'Run scripts/setup test, which installs and starts a local cluster, or set SPOOL_TEST_PG_URL.',
      )
    } finally {
      await client.end().catch(() => {})
    }
  })()
  return reachable
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

const freshSchema = () => `t_${randomBytes(6).toString('hex')}`
const dropSchema = (schema: string) => admin((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))

async function fixture(): Promise<StoreFixture> {
  await assertReachable()
  const schema = freshSchema()
  const store = await PostgresStore.open({ connectionString: PG_URL, schema })
  return {
    store,
    async cleanup(failed) {
      await store.close()
      if (failed) console.error(`kept the failed test's PostgreSQL schema ${schema}`)
      else await dropSchema(schema)
    },
  }
}

describeStoreConformance('postgres', fixture)
describeOrchestrationConformance('postgres', fixture)

describe('postgres store', () => {
  const stores: PostgresStore[] = []
  const schemas: string[] = []
  const clients: pg.Client[] = []
  let failed = false

  /** A store on a fresh schema, closed (and the schema dropped) after the test. */
  async function openStore(options: { schema?: string; applicationName?: string } = {}) {
    await assertReachable()
    const schema = options.schema ?? freshSchema()
    if (!schemas.includes(schema)) schemas.push(schema)
    const store = await PostgresStore.open({ connectionString: PG_URL, schema, ...options })
    stores.push(store)
    return store
  }

  /** A plain connection, as an application has, ended after the test. */
  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    clients.push(client)
    return client
  }

  afterEach((context) => {
    failed = context.task.result?.state === 'fail'
    return (async () => {
      await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})))
      await Promise.all(stores.splice(0).map((store) => store.close()))
      for (const schema of schemas.splice(0)) {
        if (failed) console.error(`kept the failed test's PostgreSQL schema ${schema}`)
        else await dropSchema(schema)
      }
    })()
  })

  const job = (queue: string, payload: unknown = null): NewJob => ({
    queue,
    priority: 20,
    runAt: Date.now(),
    payload: JSON.stringify(payload),
    maxAttempts: 3,
    backoff: { type: 'fixed', delayMs: 0, maxDelayMs: 0, jitter: 0 },
    timeoutMs: null,
    idempotencyKey: null,
    group: null,
    tags: [],
    metadata: {},
    tenant: 'default',
  })

  /** Inserts jobs that no admission limit can refuse. */
  async function insert(store: PostgresStore, jobs: NewJob[], options: { transaction?: unknown } = {}) {
    const results = await store.jobInsert({ jobs, now: Date.now(), ...options })
    if (!Array.isArray(results)) throw new Error('refused')
    return results
  }

  it('reaches the server (run scripts/setup test when this fails)', async () => {
    await assertReachable()
  })

  it("prepares the claim's statements when it opens, leaving nothing behind", async () => {
    // Prepared on first use, they would run inside a fresh process's first claim, between the
    // start it records (what rate limits count) and its handlers' start.
    const store = await openStore()
    const pool = (store as unknown as { pool: pg.Pool }).pool
    expect(pool.totalCount).toBe(1) // the migrations' connection, which the first claim gets
    const client = await pool.connect()
    try {
      const prepared = await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements')
      expect(prepared.rows.map((row) => row.name)).toEqual(
        expect.arrayContaining([
          'spool_jobClaim',
          'spool_jobClaimLimited',
          'spool_jobComplete',
          'spool_queueLock',
          'spool_queueUsage',
          'spool_groupUsage',
          'spool_jobCandidates',
          'spool_jobClaimIds',
          'spool_rateAdd',
        ]),
      )
      const left = await client.query(`SELECT (SELECT count(*) FROM "${store.schema}".queues)::int AS queues,
                                              (SELECT count(*) FROM "${store.schema}".rate_buckets)::int AS buckets`)
      expect(left.rows[0]).toEqual({ queues: 0, buckets: 0 })
    } finally {
      client.release()
    }
  })

  describe('events across transactions', () => {
    it('holds back a later event until an earlier, still open transaction commits', async () => {
      const store = await openStore()
      const start = await store.eventLastId()
      const a = await connect()
      await a.query('BEGIN')
      await store.jobInsert({ jobs: [job('q')], now: Date.now(), transaction: a })
      // B draws a later id and commits while A is open.
      await store.jobInsert({ jobs: [job('q')], now: Date.now() })
      expect(await store.eventList({ afterId: start, limit: 100 })).toEqual([])
      await a.query('COMMIT')
      const events = await store.eventList({ afterId: start, limit: 100 })
      expect(events.map((e) => e.type)).toEqual(['job.created', 'job.created'])
      expect(events[0]?.id).toBeLessThan(events[1]?.id as number)
      expect(Number(events[0]?.jobId)).toBeLessThan(Number(events[1]?.jobId))
    })

    it('holds back an event of an older transaction drawn after an open newer one', async () => {
      // Why "xid below the snapshot's xmin" alone is not enough: T1 has the older xid, but its
      // event id comes after T2's; with T2 open, xmin is T2's xid, which T1's is below.
      const store = await openStore()
      const start = await store.eventLastId()
      const t1 = await connect()
      const t2 = await connect()
      await t1.query('BEGIN')
      await t1.query('SELECT pg_current_xact_id()')
      await t2.query('BEGIN')
      await store.jobInsert({ jobs: [job('q', 'from t2')], now: Date.now(), transaction: t2 })
      await store.jobInsert({ jobs: [job('q', 'from t1')], now: Date.now(), transaction: t1 })
      await t1.query('COMMIT')
      // The rule "events whose writer's xid is below xmin" would hand out T1's event now, and a
      // reader's cursor would move past T2's forever (row xmin is the inserting xid).
      const naive = await admin(async (c) => {
        const { rows } = await c.query(
          `SELECT id FROM "${store.schema}".events
           WHERE id > $1 AND xmin::text::bigint < pg_snapshot_xmin(pg_current_snapshot())::text::bigint`,
          [start],
        )
        return rows.map((row) => Number(row.id))
      })
      expect(naive).toHaveLength(1)
      expect(await store.eventList({ afterId: start, limit: 100 })).toEqual([])
      await t2.query('COMMIT')
      const events = await store.eventList({ afterId: start, limit: 100 })
      expect(events).toHaveLength(2)
      const payloads = await Promise.all(
        events.map(async (e) => (await store.jobGet({ id: e.jobId as string }))?.payload),
      )
      expect(payloads).toEqual(['"from t2"', '"from t1"'])
    })

    it('reads its own writes at once when nothing else is in flight', async () => {
      const store = await openStore()
      const [created] = await insert(store, [job('q')])
      const history = await store.eventList({ afterId: 0, jobId: created?.id as string, limit: 10 })
      expect(history.map((e) => e.type)).toEqual(['job.created'])
      expect(await store.eventLastId()).toBe(history[0]?.id)
    })
  })

  describe('enqueue inside the application transaction', () => {
    it('writes nothing when the application rolls back', async () => {
      const store = await openStore()
      const spool = await Spool.open({ store, maintenance: false })
      try {
        const app = await connect()
        await app.query('BEGIN')
        const { id } = await spool.enqueue('emails', { to: 'a@b.c' }, { transaction: app })
        expect(await spool.jobs.get(id)).toBeNull()
        await app.query('ROLLBACK')
        expect(await spool.jobs.get(id)).toBeNull()
        expect(await spool.queues.counts('emails')).toMatchObject({ waiting: 0 })
        expect(await spool.jobs.history(id)).toEqual([])
      } finally {
        await spool.close()
      }
    })

    it('makes the job visible, and runnable, when the application commits', async () => {
      const store = await openStore()
      const spool = await Spool.open({ store, maintenance: false })
      try {
        const ran: unknown[] = []
        // A long poll: only the commit's notification can wake this worker in time.
        spool.work('emails', (j) => void ran.push(j.payload), { pollIntervalMs: 60_000 })
        await new Promise((resolve) => setTimeout(resolve, 100))
        const app = await connect()
        await app.query('BEGIN')
        await app.query('CREATE TEMP TABLE orders (id int)')
        await app.query('INSERT INTO orders VALUES (1)')
        const { id } = await spool.enqueue('emails', { order: 1 }, { transaction: app, idempotencyKey: 'order-1' })
        const again = await spool.enqueue('emails', { order: 1 }, { transaction: app, idempotencyKey: 'order-1' })
        expect(again).toMatchObject({ id, created: false, state: 'waiting' })
        await new Promise((resolve) => setTimeout(resolve, 100))
        expect(ran).toEqual([])
        await app.query('COMMIT')
        await waitFor(async () => (await spool.jobs.get(id))?.state === 'completed', 5_000, 'the committed job to run')
        expect(ran).toEqual([{ order: 1 }])
      } finally {
        await spool.close()
      }
    })

    it('writes a flow inside it, and leaves it usable when a dependency does not exist', async () => {
      const store = await openStore()
      const app = await connect()
      await app.query('BEGIN')
      await app.query('CREATE TEMP TABLE orders (id int)')
      const flow = await insert(
        store,
        [job('child', 1), { ...job('parent', 2), dependsOn: [{ index: 0, onFailure: 'fail' }] }],
        { transaction: app },
      )
      expect(flow.map((r) => r.state)).toEqual(['waiting', 'blocked'])
      await expect(
        insert(store, [job('child', 3), { ...job('parent', 4), dependsOn: [{ id: '999999', onFailure: 'fail' }] }], {
          transaction: app,
        }),
      ).rejects.toMatchObject({ code: 'SPOOL_DEPENDENCY_NOT_FOUND' })
      // The failed insert left nothing behind, and the application's transaction goes on.
      await app.query('INSERT INTO orders VALUES (1)')
      await app.query('COMMIT')
      expect(await store.queueCounts({})).toMatchObject({ child: { waiting: 1 }, parent: { blocked: 1 } })
      expect((await store.jobDependencies({ id: flow[1]?.id as string })).map((d) => d.id)).toEqual([flow[0]?.id])
      // Outside a transaction, a flow is refused rather than written in pieces.
      const idle = await connect()
      await expect(
        insert(store, [job('child', 5), { ...job('parent', 6), dependsOn: [{ index: 0, onFailure: 'fail' }] }], {
          transaction: idle,
        }),
      ).rejects.toThrow(/ran BEGIN/)
    })

    it('refuses a transaction that is not a pg client', async () => {
      const store = await openStore()
      await expect(store.jobInsert({ jobs: [job('q')], now: Date.now(), transaction: {} })).rejects.toThrow(/pg client/)
      const pool = new pg.Pool({ connectionString: PG_URL })
      try {
        await expect(store.jobInsert({ jobs: [job('q')], now: Date.now(), transaction: pool })).rejects.toThrow(
          /not the pool/,
        )
      } finally {
        await pool.end()
      }
    })
  })

  describe('migrations', () => {
    it('lets two migrators race on a fresh schema: both succeed, one set of tables', async () => {
      await assertReachable()
      const schema = freshSchema()
      schemas.push(schema)
      const [a, b] = await Promise.all([
        PostgresStore.open({ connectionString: PG_URL, schema, migrate: false }),
        PostgresStore.open({ connectionString: PG_URL, schema, migrate: false }),
      ])
      stores.push(a, b)
      const results = await Promise.all([a.migrate(), b.migrate()])
      // Each migration is applied once, by one of them (the other waits for the lock, then skips it).
      expect(results.flatMap((r) => r.applied).sort((x, y) => x - y)).toEqual([1, 3, 4, 5, 6, 7, 8, 9, 10])
      const tables = await admin(async (c) => {
        const { rows } = await c.query(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
          [schema],
        )
        return rows.map((row) => row.table_name)
      })
      expect(tables).toEqual([
        'breakers',
        'events',
        'job_deps',
        'job_states',
        'jobs',
        'leader_leases',
        'leases',
        'migrations',
        'queue_groups',
        'queues',
        'rate_buckets',
        'ready',
        'records',
        'schedules',
        'stats_minute',
        'token_buckets',
        'workers',
      ])
      expect(await a.migrate()).toEqual({ applied: [] })
    })

    it('upgrades a schema of version 7 with jobs in every state: nothing lost, a worker drains them after', async () => {
      await assertReachable()
      const schema = freshSchema()
      schemas.push(schema)
      const q = `"${schema}"`
      const now = Date.now()
      // The schema as migrations 1–7 left it, filled with SQL of that layout.
      const old = readMigrations(new URL('./migrations/', import.meta.url)).filter((m) => m.version <= 7)
      await admin(async (c) => {
        await c.query(`CREATE SCHEMA ${q}`)
        await c.query(
          `CREATE TABLE ${q}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
        )
        for (const m of old) {
          await c.query(m.sql.replaceAll('{schema}', q))
          await c.query(`INSERT INTO ${q}.migrations VALUES ($1, $2, $3)`, [m.version, m.name, now])
        }
        await c.query(`INSERT INTO ${q}.queues (name, created_at, updated_at) VALUES ('up', $1, $1)`, [now])
        const rows: [string, string, number, number, number, number | null, string | null, number][] = [
          // name (payload), state, priority, run_at, attempt/lease token, lease expiry, group, deps pending
          ['low', 'waiting', 30, now - 5_000, 0, null, 'g1', 0],
          ['high', 'waiting', 10, now - 4_000, 0, null, null, 0],
          ['later', 'scheduled', 20, now + 3_600_000, 0, null, null, 0],
          ['due', 'scheduled', 20, now - 3_000, 0, null, null, 0],
          ['lapsed', 'active', 20, now - 10_000, 1, now - 1_000, 'g1', 0],
          ['running', 'active', 20, now - 10_000, 1, now + 1_500, null, 0],
          ['parent', 'blocked', 20, now - 10_000, 0, null, null, 1],
          ['child', 'waiting', 20, now - 2_000, 0, null, null, 0],
          ['done', 'completed', 20, now - 20_000, 1, null, null, 0],
          ['broken', 'failed', 20, now - 20_000, 3, null, null, 0],
          ['dropped', 'cancelled', 20, now - 20_000, 0, null, null, 0],
        ]
        for (const [name, state, priority, runAt, attempt, expires, grp, pending] of rows) {
          const finished = ['completed', 'failed', 'cancelled'].includes(state) ? now - 10_000 : null
          await c.query(
            `INSERT INTO ${q}.jobs (queue, state, priority, run_at, payload, attempt, max_attempts, backoff, grp,
               deps_pending, lease_token, lease_expires_at, worker_id, created_at, finished_at, updated_at)
             VALUES ('up', $1, $2, $3, $4, $5, 3, '{"type":"fixed","delayMs":0,"maxDelayMs":0,"jitter":0}', $6, $7, $5,
               $8, CASE WHEN $8::bigint IS NULL THEN NULL ELSE 'gone-worker' END, $9, $10, $9)`,
            [state, priority, runAt, JSON.stringify(name), attempt, grp, pending, expires, now - 30_000, finished],
          )
        }
        await c.query(
          `INSERT INTO ${q}.job_deps (parent_id, child_id, on_failure)
           SELECT p.id, ch.id, 'fail' FROM ${q}.jobs p, ${q}.jobs ch WHERE p.payload = '"parent"' AND ch.payload = '"child"'`,
        )
        await c.query(
          `INSERT INTO ${q}.events (at, type, queue, job_id, state)
           SELECT created_at, 'job.created', queue, id, state FROM ${q}.jobs ORDER BY id`,
        )
        await c.query(
          `INSERT INTO ${q}.schedules (name, cron, queue, payload, next_run_at, created_at, updated_at)
           VALUES ('nightly', '0 3 * * *', 'up', '"tick"', $1, $2, $2)`,
          [now + 86_400_000, now],
        )
      })
      const store = await openStore({ schema })
      const ids = await admin(async (c) => {
        const { rows } = await c.query(`SELECT id, payload FROM ${q}.jobs`)
        return new Map(rows.map((row) => [JSON.parse(row.payload) as string, String(row.id)]))
      })
      const named = async (table: string) =>
        admin(async (c) => {
          const { rows } = await c.query(
            `SELECT j.payload FROM ${q}.${table} t JOIN ${q}.jobs j USING (id) ORDER BY j.id`,
          )
          return rows.map((row) => JSON.parse(row.payload) as string)
        })
      expect(await named('ready')).toEqual(['low', 'high', 'later', 'due', 'child'])
      expect(await named('leases')).toEqual(['lapsed', 'running'])
      expect(await named('job_states')).toEqual(['parent', 'broken', 'dropped'])
      // Events settle once no older transaction is open (other tests' share this database).
      await waitFor(async () => (await store.eventList({ afterId: 0, limit: 100 })).length === 11, 10_000, 'events')
      const [firstEvent] = await store.eventList({ afterId: 0, limit: 1 })
      expect((await store.eventList({ afterId: firstEvent?.id as number, limit: 100 })).length).toBe(10)
      expect((await store.scheduleGet({ name: 'nightly' }))?.nextRunAt).toBe(now + 86_400_000)

      const spool = await Spool.open({ store, maintenance: { intervalMs: 200 } })
      try {
        const order: string[] = []
        spool.work('up', (j) => {
          order.push(j.payload as string)
        })
        await waitFor(
          async () => ((await spool.queues.counts('up')).completed ?? 0) === 8,
          15_000,
          'the upgraded jobs to complete',
        )
        // One slot: the best job first (priority), the parent only after its child.
        expect(order[0]).toBe('high')
        expect(order.indexOf('parent')).toBeGreaterThan(order.indexOf('child'))
        expect([...order].sort()).toEqual(['child', 'due', 'high', 'lapsed', 'low', 'parent', 'running'])
        const counts = await spool.queues.counts('up')
        expect(counts).toMatchObject({ completed: 8, scheduled: 1, failed: 1, cancelled: 1, active: 0, waiting: 0 })
        expect(await named('ready')).toEqual(['later'])
        expect(await named('leases')).toEqual([])
        expect(await named('job_states')).toEqual(['broken', 'dropped'])
        // Listings by state read the narrow tables.
        const listed = async (state: 'scheduled' | 'failed' | 'completed') =>
          (await store.jobList({ queue: 'up', state, limit: 50 })).map((j) => j.payload)
        expect(await listed('scheduled')).toEqual(['"later"'])
        expect(await listed('failed')).toEqual(['"broken"'])
        expect((await listed('completed')).length).toBe(8)
        const lapsed = await store.jobGet({ id: ids.get('lapsed') as string })
        expect(lapsed?.errors.map((e) => e.code)).toEqual(['SPOOL_LEASE_EXPIRED'])
        // Resuming from an event written before the upgrade still reads every later event.
        const completedSince = async () =>
          (await store.eventList({ afterId: firstEvent?.id as number, limit: 1_000 })).filter(
            (e) => e.type === 'job.completed',
          ).length
        await waitFor(async () => (await completedSince()) === 7, 10_000, 'the completions to be read after an old id')
      } finally {
        await spool.close()
      }
    })

    it('reports the migrations a schema lacks (for readiness)', async () => {
      await assertReachable()
      const schema = freshSchema()
      schemas.push(schema)
      const store = await PostgresStore.open({ connectionString: PG_URL, schema, migrate: false })
      stores.push(store)
      const all = await store.migrationsPending()
      expect(all.length).toBeGreaterThan(0)
      const { applied } = await store.migrate()
      expect(applied).toEqual(all)
      expect(await store.migrationsPending()).toEqual([])
      const newest = all.at(-1) as number
      await admin((c) => c.query(`DELETE FROM "${schema}".migrations WHERE version = $1`, [newest]))
      expect(await store.migrationsPending()).toEqual([newest])
    })

    it('upgrades to tenant-scoped idempotency keys (migration 8), keeping every job and key', async () => {
      await assertReachable()
      const schema = freshSchema()
      schemas.push(schema)
      // The schema as the release with migration 7 left it, with jobs in several states.
      const old = await PostgresStore.open({ connectionString: PG_URL, schema, migrate: false })
      stores.push(old)
      expect((await old.migrate({ through: 7 })).applied).toEqual([1, 3, 4, 5, 6, 7])
      const rows: [string, string, string | null, string, string | null, string | null, number | null][] = [
        ['shared', 'waiting', 'visit-1', 'acme', null, null, null],
        ['shared', 'completed', 'visit-2', 'acme', null, '"done"', 2000],
        ['shared', 'failed', 'visit-3', 'globex', null, null, 2000],
        ['shared', 'active', null, 'acme', 'w-1', null, null],
        ['shared', 'scheduled', null, 'default', null, null, null],
        ['shared', 'waiting', 'visit-4', 'default', null, null, null],
        ['other', 'waiting', 'visit-1', 'acme', null, null, null],
      ]
      const before = await admin(async (c) => {
        for (const [i, [queue, state, key, tenant, worker, result, finished]] of rows.entries()) {
          await c.query(
            `INSERT INTO "${schema}".jobs (queue, state, priority, run_at, payload, max_attempts, backoff,
                                          idempotency_key, tenant, worker_id, result, finished_at, created_at, updated_at)
             VALUES ($1, $2, 0, 1000, $3, 3, '{"type":"fixed","delayMs":0}', $4, $5, $6, $7, $8, 1000, 1000)`,
            [queue, state, JSON.stringify({ n: i }), key, tenant, worker, result, finished],
          )
        }
        return (await c.query(`SELECT * FROM "${schema}".jobs ORDER BY id`)).rows
      })
      expect((await old.migrate()).applied).toEqual([8, 9, 10])
      const after = await admin(async (c) => (await c.query(`SELECT * FROM "${schema}".jobs ORDER BY id`)).rows)
      expect(after).toEqual(before)
      const spool = await Spool.open({ store: old, maintenance: false })
      try {
        const ids = before.map((row) => String(row.id))
        // Within a tenant, a key still names its job, whatever its state.
        expect(await spool.enqueue('shared', 'again', { idempotencyKey: 'visit-1', tenant: 'acme' })).toMatchObject({
          id: ids[0],
          created: false,
          state: 'waiting',
        })
        expect(await spool.enqueue('shared', 'again', { idempotencyKey: 'visit-2', tenant: 'acme' })).toMatchObject({
          id: ids[1],
          created: false,
          state: 'completed',
        })
        expect(await spool.enqueue('shared', 'again', { idempotencyKey: 'visit-4' })).toMatchObject({
          id: ids[5],
          created: false,
        })
        // Another tenant's key is a new job of the caller's, in a batch as alone.
        const [mine, again] = await spool.enqueueMany('shared', [
          { payload: 'globex', options: { idempotencyKey: 'visit-1', tenant: 'globex' } },
          { payload: 'globex again', options: { idempotencyKey: 'visit-1', tenant: 'globex' } },
        ])
        expect(mine?.created).toBe(true)
        expect(ids).not.toContain(mine?.id)
        expect(again).toMatchObject({ id: mine?.id, created: false })
        expect((await spool.jobs.get(mine?.id as string))?.tenant).toBe('globex')
        expect((await spool.enqueue('shared', 'acme', { idempotencyKey: 'visit-3', tenant: 'acme' })).created).toBe(
          true,
        )
        expect((await spool.jobs.get(ids[0] as string))?.payload).toEqual({ n: 0 })
      } finally {
        await spool.close()
      }
    })

    it('refuses schema names that are not plain lowercase identifiers', async () => {
      await expect(PostgresStore.open({ connectionString: PG_URL, schema: 'Bad-Name' })).rejects.toThrow(/schema name/)
    })
  })

  describe('wake-ups', () => {
    it("wakes other stores on an enqueue, but not the store's own process", async () => {
      const schema = freshSchema()
      const a = await openStore({ schema })
      const b = await openStore({ schema })
      let wokenA = 0
      let wokenB = 0
      a.onWake(() => wokenA++)
      b.onWake(() => wokenB++)
      await waitFor(() => listening(schema, 2), 5_000, 'both listeners')
      await a.jobInsert({ jobs: [job('q')], now: Date.now() })
      await waitFor(() => wokenB > 0, 5_000, 'the other store to wake')
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(wokenA).toBe(0)
    })

    it('reconnects the listener when its connection drops, and wakes up after', async () => {
      const schema = freshSchema()
      const applicationName = `spool-test-${schema}`
      const a = await openStore({ schema, applicationName })
      const b = await openStore({ schema })
      let woken = 0
      a.onWake(() => woken++)
      await waitFor(() => listening(schema, 1), 5_000, 'the listener')
      const killed = await admin(async (c) => {
        const { rows } = await c.query(
          'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
          [`${applicationName}:listen`],
        )
        return rows.length
      })
      expect(killed).toBe(1)
      // After reconnecting it wakes its listeners (hints may have been missed)…
      await waitFor(() => woken > 0, 5_000, 'a wake-up after reconnecting')
      await waitFor(() => listening(schema, 1), 5_000, 'the listener again')
      // …and hears hints again.
      const before = woken
      await b.jobInsert({ jobs: [job('q')], now: Date.now() })
      await waitFor(() => woken > before, 5_000, 'a hint after reconnecting')
    })
  })

  describe('failures', () => {
    it('throws from store methods when the server is unreachable', async () => {
      const closed = new URL(PG_URL)
      closed.port = '9'
      const store = await PostgresStore.open({ connectionString: closed.toString(), migrate: false })
      stores.push(store)
      await expect(store.jobGet({ id: '1' })).rejects.toThrow(/ECONNREFUSED|connect/)
      await expect(PostgresStore.open({ connectionString: closed.toString() })).rejects.toThrow()
    })

    it('keeps working when its connections are killed mid-run', async () => {
      const schema = freshSchema()
      const applicationName = `spool-test-${schema}`
      const store = await openStore({ schema, applicationName })
      const logged: string[] = []
      const logger = {
        error: (_: unknown, message: string) => void logged.push(message),
        warn: (_: unknown, message: string) => void logged.push(message),
        info: () => {},
        debug: () => {},
      }
      const spool = await Spool.open({ store, maintenance: { intervalMs: 50 }, logger })
      try {
        const total = 60
        const ids = (
          await spool.enqueueMany(
            'work',
            Array.from({ length: total }, (_, n) => ({ payload: n })),
          )
        ).map((r) => r.id)
        spool.work('work', () => new Promise((resolve) => setTimeout(resolve, 10)), {
          concurrency: 4,
          leaseMs: 400,
          pollIntervalMs: 50,
        })
        await waitFor(async () => ((await spool.queues.counts('work')).completed ?? 0) >= 10, 10_000, 'some jobs')
        const killed = await admin(async (c) => {
          const { rows } = await c.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1',
            [`${applicationName}%`],
          )
          return rows.length
        })
        expect(killed).toBeGreaterThan(0)
        // The test's own read may draw a pooled connection that was killed while idle and not yet
        // noticed (57P01): that read fails, the next one gets a new connection.
        const completed = () =>
          spool.queues.counts('work').then(
            (counts) => counts.completed ?? 0,
            (error: { code?: string }) => {
              if (error.code === '57P01') return 0
              throw error
            },
          )
        await waitFor(
          async () => (await completed()) === total,
          20_000,
          'every job to complete after the connections were killed',
        )
        const jobs = await Promise.all(ids.map((id) => spool.jobs.get(id)))
        expect(jobs.every((j) => j?.state === 'completed')).toBe(true)
      } finally {
        await spool.close()
      }
    })

    it('leaves no connection open after close', async () => {
      const schema = freshSchema()
      const applicationName = `spool-test-${schema}`
      const store = await openStore({ schema, applicationName })
      store.onWake(() => {})
      await store.jobInsert({ jobs: [job('q')], now: Date.now() })
      await waitFor(() => listening(schema, 1), 5_000, 'the listener')
      await store.close()
      const open = () =>
        admin(async (c) => {
          const { rows } = await c.query(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1',
            [`${applicationName}%`],
          )
          return rows[0].n as number
        })
      await waitFor(async () => (await open()) === 0, 5_000, 'connections to close')
    })
  })

  describe('addresses', () => {
    it('opens postgres:// and postgresql:// addresses with a schema parameter', async () => {
      await assertReachable()
      const schema = freshSchema()
      schemas.push(schema)
      const address = new URL(PG_URL)
      address.searchParams.set('schema', schema)
      address.searchParams.set('poolSize', '3')
      const direct = await openPostgres(address.toString())
      stores.push(direct)
      expect(direct.schema).toBe(schema)
      address.protocol = 'postgresql:'
      const viaSpool = await Spool.openStore(address.toString())
      stores.push(viaSpool as PostgresStore)
      expect(viaSpool.capabilities).toEqual({
        supportsSkipLocked: true,
        supportsListenNotify: true,
        supportsTransactionalEnqueue: true,
        multiNode: true,
      })
      await expect(openPostgres('postgres://u:secret@[bad')).rejects.toThrow(/not a PostgreSQL address/)
      await expect(openPostgres('postgres://u:secret@[bad')).rejects.not.toThrow(/secret/)
    })
  })

  describe('flows across connections', () => {
    /** Waits until `n` backends of the schema's tests wait for a lock. */
    const lockWaiters = (n: number) =>
      waitFor(
        () =>
          admin(async (c) => {
            const { rows } = await c.query(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
            )
            return rows[0].n >= n
          }),
        5_000,
        `${n} transactions waiting for a lock`,
      )

    it('unblocks a parent exactly once when its two children complete at once on two connections', async () => {
      const schema = freshSchema()
      const [a, b] = await Promise.all([openStore({ schema }), openStore({ schema })])
      for (let round = 0; round < 5; round++) {
        const queue = `flow-${round}`
        const [left, right, parent] = await insert(a, [
          job(queue, 'left'),
          job(queue, 'right'),
          {
            ...job(`${queue}-parent`, 'parent'),
            dependsOn: [
              { index: 0, onFailure: 'fail' },
              { index: 1, onFailure: 'fail' },
            ],
          },
        ])
        expect(parent?.state).toBe('blocked')
        const claimed = (await a.jobClaim({ queue, workerId: 'w', limit: 2, leaseMs: 30_000, now: Date.now() })).jobs
        expect(claimed.map((j) => j.id).sort()).toEqual([left?.id, right?.id].sort())
        // Hold the parent's row, so both completions reach it and wait there together.
        const holder = await connect()
        await holder.query('BEGIN')
        await holder.query(`SELECT id FROM "${schema}".jobs WHERE id = $1 FOR UPDATE`, [parent?.id])
        const completions = claimed.map((j, i) =>
          (i === 0 ? a : b).jobComplete({
            items: [{ id: j.id, queue, leaseToken: j.leaseToken, result: '"ok"' }],
            now: Date.now(),
          }),
        )
        await lockWaiters(2)
        await holder.query('COMMIT')
        expect(await Promise.all(completions)).toEqual([[true], [true]])
        const after = await a.jobGet({ id: parent?.id as string })
        expect(after?.state).toBe('waiting')
        const pending = await admin(async (c) => {
          const { rows } = await c.query(`SELECT deps_pending FROM "${schema}".jobs WHERE id = $1`, [parent?.id])
          return rows[0].deps_pending as number
        })
        expect(pending).toBe(0)
        const history = await a.eventList({ afterId: 0, jobId: parent?.id as string, limit: 100 })
        expect(history.map((e) => `${e.type}:${e.data.reason ?? ''}`)).toEqual([
          'job.created:',
          'job.waiting:dependencies',
        ])
        const deps = await a.jobDependencies({ id: parent?.id as string })
        expect(deps.map((d) => d.state)).toEqual(['completed', 'completed'])
      }
    })

    it('sees a dependency added while the child was completing: the enqueue commits first, the parent runs', async () => {
      const schema = freshSchema()
      const store = await openStore({ schema })
      const [child] = await insert(store, [job('work', 'child')])
      const [claimed] = (
        await store.jobClaim({ queue: 'work', workerId: 'w', limit: 1, leaseMs: 30_000, now: Date.now() })
      ).jobs
      // The application enqueues a job waiting for the running child, and keeps its transaction open.
      const app = await connect()
      await app.query('BEGIN')
      const [parent] = await insert(
        store,
        [{ ...job('next', 'parent'), dependsOn: [{ id: child?.id as string, onFailure: 'fail' }] }],
        { transaction: app },
      )
      expect(parent?.state).toBe('blocked')
      // The completion waits for the child's row (held FOR SHARE by the enqueue)…
      const completed = store.jobComplete({
        items: [{ id: claimed?.id as string, queue: 'work', leaseToken: claimed?.leaseToken as number, result: '1' }],
        now: Date.now(),
      })
      await lockWaiters(1)
      // …and its statement began before this commit, yet it resolves the new edge.
      await app.query('COMMIT')
      expect(await completed).toEqual([true])
      expect((await store.jobGet({ id: parent?.id as string }))?.state).toBe('waiting')
    })

    it('reads a dependency that completed while the enqueue waited for it as completed', async () => {
      const schema = freshSchema()
      const store = await openStore({ schema })
      const [child] = await insert(store, [job('work', 'child')])
      const [claimed] = (
        await store.jobClaim({ queue: 'work', workerId: 'w', limit: 1, leaseMs: 30_000, now: Date.now() })
      ).jobs
      // A completion in flight (its transaction open) when the enqueue reads the child.
      const worker = await connect()
      await worker.query('BEGIN')
      await worker.query(`UPDATE "${schema}".jobs SET state = 'completed', finished_at = $2 WHERE id = $1`, [
        claimed?.id,
        Date.now(),
      ])
      const enqueued = insert(store, [
        { ...job('next', 'parent'), dependsOn: [{ id: child?.id as string, onFailure: 'fail' }] },
      ])
      await lockWaiters(1)
      await worker.query('COMMIT')
      const [parent] = await enqueued
      expect(parent?.state).toBe('waiting')
      expect(await store.jobDependencies({ id: parent?.id as string })).toMatchObject([
        { id: child?.id, state: 'completed' },
      ])
    })
  })

  describe('limits across connections', () => {
    const claimAll = (stores: PostgresStore[], queue: string, constraints: ClaimConstraints, perStore: number) =>
      Promise.all(
        stores.flatMap((store, s) =>
          Array.from({ length: perStore }, (_, i) =>
            store.jobClaim({
              queue,
              workerId: `w${s}-${i}`,
              limit: 2,
              leaseMs: 30_000,
              now: Date.now(),
              constraints,
            }),
          ),
        ),
      )

    it('never exceeds a concurrency cap, per queue and per group, with claimers on two pools', async () => {
      const schema = freshSchema()
      const stores = await Promise.all([openStore({ schema }), openStore({ schema })])
      const [a] = stores as [PostgresStore, PostgresStore]
      await a.queueConstrain({ name: 'capped', constrained: true, now: Date.now() })
      await insert(
        a,
        Array.from({ length: 40 }, (_, i) => ({ ...job('capped', i), group: `g${i % 2}` })),
      )
      // The fast claim refuses a constrained queue.
      expect(
        (await a.jobClaim({ queue: 'capped', workerId: 'x', limit: 5, leaseMs: 30_000, now: Date.now() })).jobs,
      ).toEqual([])
      const first = await claimAll(stores, 'capped', { concurrency: 3, groupConcurrency: 2 }, 8)
      const running = first.flatMap((r) => r.jobs)
      expect(running).toHaveLength(3)
      const perGroup = new Map<string | null, number>()
      for (const claimed of running) perGroup.set(claimed.group, (perGroup.get(claimed.group) ?? 0) + 1)
      expect(Math.max(...perGroup.values())).toBe(2)
      // Finish one: exactly one more starts, however many ask at once.
      const done = running[0] as (typeof running)[number]
      await a.jobComplete({
        items: [{ id: done.id, queue: 'capped', leaseToken: done.leaseToken, result: '1' }],
        now: Date.now(),
      })
      const second = await claimAll(stores, 'capped', { concurrency: 3, groupConcurrency: 2 }, 8)
      expect(second.flatMap((r) => r.jobs)).toHaveLength(1)
      const counts = await a.queueCounts({ queue: 'capped' })
      expect(counts.capped?.active).toBe(3)
    })

    it('never starts more than a rate limit allows in a window, with claimers on two pools', async () => {
      const schema = freshSchema()
      const stores = await Promise.all([openStore({ schema }), openStore({ schema })])
      const [a] = stores as [PostgresStore, PostgresStore]
      await a.queueConstrain({ name: 'metered', constrained: true, now: Date.now() })
      await insert(
        a,
        Array.from({ length: 60 }, (_, i) => job('metered', i)),
      )
      const rate = { max: 5, windowMs: 400 }
      const starts: number[] = []
      const deadline = Date.now() + 1_500
      while (Date.now() < deadline) {
        const results = await claimAll(stores, 'metered', { rate }, 4)
        for (const result of results) for (const claimed of result.jobs) starts.push(claimed.startedAt)
        const retryAt = results.find((r) => r.jobs.length === 0)?.retryAt
        if (retryAt) expect(retryAt).toBeGreaterThan(Date.now() - rate.windowMs)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      starts.sort((x, y) => x - y)
      let most = 0
      for (let to = 0, from = 0; to < starts.length; to++) {
        while ((starts[to] as number) - (starts[from] as number) >= rate.windowMs) from += 1
        most = Math.max(most, to - from + 1)
      }
      expect(most).toBeLessThanOrEqual(rate.max)
      // …and not far below it: about five per window over 1.5 s.
      expect(starts.length).toBeGreaterThanOrEqual(10)
    })
  })

  describe('several nodes', () => {
    it('runs every job exactly once with workers on two stores sharing a schema', async () => {
      const schema = freshSchema()
      const nodes = await Promise.all([openStore({ schema }), openStore({ schema })])
      const spools = await Promise.all(nodes.map((store) => Spool.open({ store, maintenance: false })))
      try {
        const runs = new Map<number, number>()
        for (const spool of spools) {
          spool.work(
            'work',
            (j) => {
              const n = j.payload as number
              runs.set(n, (runs.get(n) ?? 0) + 1)
            },
            { concurrency: 8 },
          )
        }
        const total = 400
        await (spools[0] as Spool).enqueueMany(
          'work',
          Array.from({ length: total }, (_, n) => ({ payload: n })),
        )
        await waitFor(
          async () => ((await (spools[1] as Spool).queues.counts('work')).completed ?? 0) === total,
          20_000,
          'every job to complete',
        )
        expect(runs.size).toBe(total)
        expect([...runs.values()].every((n) => n === 1)).toBe(true)
      } finally {
        await Promise.all(spools.map((spool) => spool.close()))
      }
    })

    it("streams one node's progress and state changes to a subscriber on another, live and resumable", async () => {
      const schema = freshSchema()
      const [watcherStore, workerStore] = await Promise.all([openStore({ schema }), openStore({ schema })])
      // A slow safety-net poll: live delivery has to come from the cross-node wake-up.
      const watcher = await Spool.open({ store: watcherStore, maintenance: false, eventPollMs: 60_000 })
      const worker = await Spool.open({ store: workerStore, maintenance: false })
      try {
        const seen: string[] = []
        const ids: number[] = []
        const live = watcher.events.subscribe({ queue: 'steps' }, (event) => {
          seen.push(`${event.type}${event.type === 'job.progress' ? `:${event.data.percent}` : ''}`)
          ids.push(event.id)
        })
        await waitFor(() => live.lastId >= 0)
        await new Promise((resolve) => setTimeout(resolve, 100))
        worker.work('steps', async (_job, ctx) => {
          for (const percent of [25, 50, 75]) await ctx.progress(percent)
          return 'done'
        })
        const { id } = await worker.enqueue('steps', null)
        const expected = [
          'job.created',
          'job.active',
          'job.progress:25',
          'job.progress:50',
          'job.progress:75',
          'job.completed',
        ]
        await waitFor(() => seen.length >= expected.length, 10_000, 'the other node to see every event')
        expect(seen).toEqual(expected)
        expect([...ids].sort((a, b) => a - b)).toEqual(ids)
        live.close()

        // Resume from the middle, as a reconnecting client with Last-Event-ID would.
        const resumed = watcher.events.subscribe({ jobId: id, afterId: ids[2] as number })
        const rest: string[] = []
        for await (const event of resumed) {
          rest.push(event.type)
          if (event.type === 'job.completed') break
        }
        expect(rest).toEqual(['job.progress', 'job.progress', 'job.completed'])
      } finally {
        await Promise.all([watcher.close(), worker.close()])
      }
    })
  })
})

/** Whether `count` connections LISTEN on the schema's channel. */
async function listening(schema: string, count: number): Promise<boolean> {
  return admin(async (c) => {
    const { rows } = await c.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1 AND state = 'idle'",
      [`LISTEN "spool_wake_${schema}"`],
    )
    return rows[0].n >= count
  })
}
