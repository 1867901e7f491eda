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
