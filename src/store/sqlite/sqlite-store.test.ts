import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { describeStoreConformance, type StoreFixture } from '../conformance/conformance.js'
import { describeOrchestrationConformance } from '../conformance/orchestration.js'
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
