import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it, vi } from 'vitest'
import { Spool } from '../../engine/spool.js'
import { describeStoreConformance, type StoreFixture } from '../conformance/conformance.js'
import { describeOrchestrationConformance } from '../conformance/orchestration.js'
import '../../index.js'
import { SqliteStore } from './sqlite-store.js'

async function fixture(): Promise<StoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-sqlite-'))
  const store = await SqliteStore.open({ path: join(dir, 'spool.db') })
  return {
    store,
    async cleanup(failed) {
      await store.close()
      if (failed) console.error(`kept the failed test's database in ${dir}`)
      else rmSync(dir, { recursive: true, force: true })
    },
  }
}

describeStoreConformance('sqlite', fixture)
describeOrchestrationConformance('sqlite', fixture)

describe('sqlite migrations', () => {
  it('reports the migrations a database lacks (for readiness)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-sqlite-'))
    const path = join(dir, 'spool.db')
    const store = await SqliteStore.open({ path, migrate: false })
    try {
      const all = await store.migrationsPending()
      expect(all.length).toBeGreaterThan(0)
      expect((await store.migrate()).applied).toEqual(all)
      expect(await store.migrationsPending()).toEqual([])
      const newest = all.at(-1) as number
      const db = new Database(path)
      db.prepare('DELETE FROM spool_migrations WHERE version = ?').run(newest)
      db.close()
      expect(await store.migrationsPending()).toEqual([newest])
    } finally {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('sqlite upgrade to tenant-scoped idempotency keys (migration 5)', () => {
  it('keeps every job and key; a key then dedupes within its tenant and not across tenants', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-sqlite-'))
    const path = join(dir, 'spool.db')
    // The database as release with migration 4 left it, with jobs in several states.
    const old = await SqliteStore.open({ path, migrate: false })
    expect((await old.migrate({ through: 4 })).applied).toEqual([1, 2, 3, 4])
    await old.close()
    const db = new Database(path)
    const insert = db.prepare(
      `INSERT INTO jobs (queue, state, priority, run_at, payload, max_attempts, backoff, idempotency_key, tenant,
                         worker_id, result, finished_at, created_at, updated_at)
       VALUES (?, ?, 0, 1000, ?, 3, '{"type":"fixed","delayMs":0}', ?, ?, ?, ?, ?, 1000, 1000)`,
    )
    const rows: [string, string, string | null, string, string | null, string | null, number | null][] = [
      ['shared', 'waiting', 'visit-1', 'acme', null, null, null],
      ['shared', 'completed', 'visit-2', 'acme', null, '"done"', 2000],
      ['shared', 'failed', 'visit-3', 'globex', null, null, 2000],
      ['shared', 'active', null, 'acme', 'w-1', null, null],
      ['shared', 'scheduled', null, 'default', null, null, null],
      ['shared', 'waiting', 'visit-4', 'default', null, null, null],
      ['other', 'waiting', 'visit-1', 'acme', null, null, null],
    ]
    for (const [i, [queue, state, key, tenant, worker, result, finished]] of rows.entries()) {
      insert.run(queue, state, JSON.stringify({ n: i }), key, tenant, worker, result, finished)
    }
    const before = db.prepare('SELECT * FROM jobs ORDER BY id').all()
    db.close()

    const store = await SqliteStore.open({ path })
    const spool = await Spool.open({ store, maintenance: false })
    try {
      expect(await store.migrationsPending()).toEqual([])
      const check = new Database(path, { readonly: true })
      expect(check.prepare('SELECT * FROM jobs ORDER BY id').all()).toEqual(before)
      check.close()
      const ids = (before as { id: number }[]).map((row) => String(row.id))
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
      // Another tenant's key is a new job of the caller's.
      const [mine] = await spool.enqueueMany('shared', [
        { payload: 'globex', options: { idempotencyKey: 'visit-1', tenant: 'globex' } },
      ])
      expect(mine?.created).toBe(true)
      expect(ids).not.toContain(mine?.id)
      expect((await spool.jobs.get(mine?.id as string))?.tenant).toBe('globex')
      expect((await spool.enqueue('shared', 'acme', { idempotencyKey: 'visit-3', tenant: 'acme' })).created).toBe(true)
      expect((await spool.jobs.get(ids[0] as string))?.payload).toEqual({ n: 0 })
    } finally {
      await spool.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('sqlite claim', () => {
  it('a limited claim on a freshly opened store prepares no statement after it reads the clock', async () => {
    // Prepared on first use, they would run between the start the claim records (what rate
    // limits count) and its handlers' start.
    const dir = mkdtempSync(join(tmpdir(), 'spool-sqlite-'))
    const path = join(dir, 'spool.db')
    const setup = await Spool.open({ store: `sqlite:${path}`, maintenance: false })
    await setup.queues.configure('q', { rateLimit: { max: 20, windowMs: 1_000 }, concurrency: 8 })
    await setup.enqueueMany(
      'q',
      Array.from({ length: 10 }, (_, i) => ({ payload: { i } })),
    )
    await setup.close()

    const store = await SqliteStore.open({ path })
    const db = (store as unknown as { db: Database.Database }).db
    const steps: string[] = []
    const prepare = db.prepare.bind(db)
    vi.spyOn(db, 'prepare').mockImplementation((source: string) => {
      steps.push('prepare')
      return prepare(source)
    })
    const clock = Date.now
    vi.spyOn(Date, 'now').mockImplementation(() => {
      steps.push('clock')
      return clock()
    })
    try {
      const { jobs } = await store.jobClaim({
        queue: 'q',
        workerId: 'w',
        limit: 5,
        leaseMs: 30_000,
        now: clock(),
        constraints: { rate: { max: 20, windowMs: 1_000 }, concurrency: 8 },
      })
      expect(jobs).toHaveLength(5)
      expect(steps).toContain('clock')
      expect(steps.slice(steps.indexOf('clock'))).not.toContain('prepare')
    } finally {
      vi.restoreAllMocks()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
