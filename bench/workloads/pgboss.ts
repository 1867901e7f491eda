/**
 * pg-boss 10, as its docs describe: `new PgBoss({ connectionString, schema })` and `start()`
 * (its defaults otherwise, maintenance included), `createQueue` before a queue is used, `insert`
 * for a batch and `send` for one job. pg-boss 10 has no worker concurrency option: `work()`
 * fetches up to `batchSize` jobs per poll and hands them to the handler as an array, so a
 * worker at concurrency c is one `work()` with `batchSize: c` whose handler runs the batch's jobs
 * at once. Each `work()` polls every `pollingIntervalSeconds`, which is set to its minimum, 0.5 s
 * (default 2 s). A job is recorded completed when its row's state is `completed`.
 */
import PgBoss from 'pg-boss'
import { runChild } from './child.js'
import { Counter } from './counter.js'
import { pgTarget, settle, sideConnection, tableSize } from './pg.js'
import type { ChildOptions, Driver, Handler, Item, Payload, WorkerHandle } from './types.js'

/** pg-boss: numerically larger priority runs first (default 0). */
const PRIORITY = { high: 100, low: 1 } as const
const POLLING_INTERVAL_SECONDS = 0.5

async function openPgBoss(options: ChildOptions): Promise<Driver> {
  const { url, schema } = pgTarget(options)
  const boss = new PgBoss({ connectionString: url, schema })
  const errors = new Counter()
  boss.on('error', (error: Error) => errors.fail(error))
  await boss.start()
  const check = await sideConnection(url)
  const created = new Set<string>()
  const ensureQueue = async (name: string) => {
    if (created.has(name)) return
    await boss.createQueue(name)
    created.add(name)
  }
  const toPriority = (item: Item) => (item.priority ? { priority: PRIORITY[item.priority] } : {})

  return {
    async enqueueMany(queue, items) {
      await ensureQueue(queue)
      await boss.insert(items.map((item) => ({ name: queue, data: item.payload, ...toPriority(item) })))
    },
    async enqueue(queue, item) {
      await ensureQueue(queue)
      await boss.send(queue, item.payload, toPriority(item))
    },
    async worker(queue: string, handler: Handler, concurrency: number): Promise<WorkerHandle> {
      await ensureQueue(queue)
      const returned = new Counter()
      let workerId: string | null = null
      return {
        start() {
          boss
            .work<Payload>(
              queue,
              { batchSize: concurrency, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS },
              async (jobs) => {
                await Promise.all(
                  jobs.map(async (job) => {
                    await handler(job.data)
                    returned.increment()
                  }),
                )
              },
            )
            .then(
              (id) => {
                workerId = id
              },
              (error: Error) => returned.fail(error),
            )
        },
        async completed(n) {
          await Promise.race([returned.reach(n), errors.reach(Number.POSITIVE_INFINITY)])
          await settle(queue, n, async () => {
            const { rows } = await check.query<{ n: string }>(
              `SELECT count(*) AS n FROM "${schema}".job WHERE name = $1 AND state = 'completed'`,
              [queue],
            )
            return Number(rows[0]?.n)
          })
        },
        lastReturnAt: () => returned.last,
        async close() {
          if (workerId) await boss.offWork({ id: workerId })
        },
      }
    },
    async cleanup() {},
    size: () => tableSize(check, schema, 'job'),
    async close() {
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 })
      await check.end()
    },
  }
}

runChild(openPgBoss)
