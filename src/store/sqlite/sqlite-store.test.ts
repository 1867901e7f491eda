import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
