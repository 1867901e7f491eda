import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '../store/conformance/conformance.js'
import { SqliteStore } from '../store/sqlite/sqlite-store.js'
import type { Store } from '../store/store.js'
import { Spool } from './spool.js'

describe('worker', () => {
  let dir: string
  let store: SqliteStore
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spool-worker-'))
    store = await SqliteStore.open({ path: join(dir, 'spool.db') })
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('backs off while the store fails, logs once, and finishes every job when it recovers', async () => {
    let down = false
    let claims = 0
    const flaky = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver)
        if (key !== 'jobClaim') return typeof value === 'function' ? value.bind(target) : value
        return (params: Parameters<Store['jobClaim']>[0]) => {
          claims += 1
          if (down) return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
          return target.jobClaim(params)
        }
      },
    })
    const logged: string[] = []
    const logger = {
      error: (_: object, message: string) => void logged.push(message),
      warn: () => {},
      info: () => {},
      debug: () => {},
    }
    const spool = await Spool.open({ store: flaky, maintenance: false, logger })
    try {
      await spool.enqueueMany(
        'q',
        Array.from({ length: 200 }, (_, i) => ({ payload: i })),
      )
      let ran = 0
      spool.work(
        'q',
        async () => {
          ran += 1
          if (ran === 20) down = true
          await new Promise((resolve) => setTimeout(resolve, 2))
        },
        { concurrency: 5, pollIntervalMs: 50 },
      )
      await waitFor(() => down)
      const before = claims
      await new Promise((resolve) => setTimeout(resolve, 600))
      // 50, 100, 200, 400 ms apart: a handful of attempts, not one per event-loop turn.
      expect(claims - before).toBeLessThanOrEqual(6)
      expect(logged.filter((m) => m.startsWith('claiming jobs failed'))).toHaveLength(1)
      down = false
      await waitFor(async () => (await spool.queues.counts('q')).completed === 200, 10_000, 'every job')
      expect((await spool.queues.counts('q')).active).toBe(0)
    } finally {
      await spool.close()
    }
  })
})
