/**
 * Spool on SQLite, as a user would run it: one `Spool` on a fresh file in the folder the
 * harness made (it deletes it after), maintenance loop off, default worker options otherwise.
 */
import { join } from 'node:path'
import { setImmediate as nextTick } from 'node:timers/promises'
import { Spool } from '../../src/index.js'
import { runChild } from './child.js'
import { Counter } from './counter.js'
import type { ChildOptions, Driver, Handler, Item, WorkerHandle } from './types.js'

/** Longest wait, after the last handler returned, for the completions to show in the database. */
const SETTLE_LIMIT_MS = 30_000

async function openSpool(options: ChildOptions): Promise<Driver> {
  if (!options.spoolDir) throw new Error('spoolDir is required')
  const spool = await Spool.open({ store: `sqlite:${join(options.spoolDir, 'spool.db')}`, maintenance: false })

  const toOptions = (item: Item) => (item.priority ? { options: { priority: item.priority } } : {})

  return {
    async enqueueMany(queue, items) {
      await spool.enqueueMany(
        queue,
        items.map((item) => ({ payload: item.payload, ...toOptions(item) })),
      )
    },
    async enqueue(queue, item) {
      await spool.enqueue(queue, item.payload, item.priority ? { priority: item.priority } : undefined)
    },
    async worker(queue: string, handler: Handler, concurrency: number): Promise<WorkerHandle> {
      const returned = new Counter()
      let worker: ReturnType<typeof spool.work> | null = null
      return {
        start() {
          worker = spool.work(
            queue,
            async (job) => {
              await handler(job.payload as Parameters<Handler>[0])
              returned.increment()
              return null
            },
            { concurrency },
          )
        },
        async completed(n) {
          await returned.reach(n)
          const deadline = performance.now() + SETTLE_LIMIT_MS
          while ((await spool.queues.counts(queue)).completed < n) {
            if (performance.now() > deadline) throw new Error(`${queue}: fewer than ${n} jobs completed`)
            await nextTick()
          }
        },
        lastReturnAt: () => returned.last,
        async close() {
          await worker?.close()
        },
      }
    },
    async cleanup() {},
    close: () => spool.close(),
  }
}

runChild(openSpool)
