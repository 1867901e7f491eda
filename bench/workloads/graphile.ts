/**
 * Graphile Worker 0.17 in two configurations, each as its docs describe:
 *
 * - `graphile`: its defaults (every worker slot fetches its own job, completes it alone).
 * - `graphile-batched`: the batching its performance page uses for throughput, `localQueue:
 *   { size: 500 }` with `completeJobBatchDelay: 0` and `failJobBatchDelay: 0` (prepared
 *   statements are on by default in both).
 *
 * Both get `maxPoolSize` = the larger of 10 and concurrency + 2, as its docs recommend, as a
 * `pg.Pool` opened before the clock starts; `run()` itself (which starts fetching at once) is
 * called at `start()`. Jobs are enqueued with `addJobs` / `addJob` from `makeWorkerUtils`; a
 * queue here is a task identifier. Completed jobs are deleted by Graphile Worker, so a job is
 * recorded completed when its row is gone.
 */
import { Logger, makeWorkerUtils, type Runner, run } from 'graphile-worker'
import pg from 'pg'
import { runChild } from './child.js'
import { Counter } from './counter.js'
import { pgTarget, settle, sideConnection, tableSize, walCounts } from './pg.js'
import type { ChildOptions, Driver, Handler, Payload, WorkerHandle } from './types.js'

/** Graphile Worker: numerically smaller priority runs first (default 0). */
const PRIORITY = { high: 1, low: 100 } as const

/** Warnings and errors to stderr; its info lines would only add noise. */
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`)
})

async function openGraphile(options: ChildOptions): Promise<Driver> {
  const { url, schema } = pgTarget(options)
  const batched = options.system === 'graphile-batched'
  const utils = await makeWorkerUtils({ connectionString: url, schema, logger })
  await utils.migrate()
  const check = await sideConnection(url)
  const enqueued = new Map<string, number>()
  const count = (queue: string, n: number) => enqueued.set(queue, (enqueued.get(queue) ?? 0) + n)
  const remaining = async (queue: string): Promise<number> => {
    const { rows } = await check.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema}"._private_jobs j JOIN "${schema}"._private_tasks t ON t.id = j.task_id
        WHERE t.identifier = $1`,
      [queue],
    )
    return Number(rows[0]?.n)
  }

  return {
    async enqueueMany(queue, items) {
      await utils.addJobs(
        items.map((item) => ({
          identifier: queue,
          payload: item.payload,
          ...(item.priority && { priority: PRIORITY[item.priority] }),
        })),
      )
      count(queue, items.length)
    },
    async enqueue(queue, item) {
      await utils.addJob(queue, item.payload, item.priority ? { priority: PRIORITY[item.priority] } : {})
      count(queue, 1)
    },
    async worker(queue: string, handler: Handler, concurrency: number): Promise<WorkerHandle> {
      const returned = new Counter()
      const poolSize = Math.max(10, concurrency + 2)
      const pool = new pg.Pool({ connectionString: url, max: poolSize })
      pool.on('error', (error) => returned.fail(error))
      const clients = await Promise.all(Array.from({ length: poolSize }, () => pool.connect()))
      for (const client of clients) client.release()
      let runner: Runner | null = null
      return {
        start() {
          run({
            pgPool: pool,
            schema,
            concurrency,
            noHandleSignals: true,
            logger,
            parsedCronItems: [],
            taskList: {
              [queue]: async (payload) => {
                await handler(payload as Payload)
                returned.increment()
              },
            },
            ...(batched && {
              preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
            }),
          }).then(
            (started) => {
              runner = started
              started.events.on('job:failed', ({ error }) => returned.fail(new Error(`job failed: ${String(error)}`)))
              started.promise.catch((error: Error) => returned.fail(error))
            },
            (error: Error) => returned.fail(error),
          )
        },
        async completed(n) {
          await returned.reach(n)
          const total = enqueued.get(queue) ?? 0
          await settle(queue, n, async () => total - (await remaining(queue)))
        },
        lastReturnAt: () => returned.last,
        async close() {
          await runner?.stop()
          await pool.end()
        },
      }
    },
    async cleanup() {},
    async updateCounts() {
      // Idle backends flush their table statistics within a second (PostgreSQL 15).
      await new Promise((resolve) => setTimeout(resolve, 1_200))
      const { rows } = await check.query<{ upd: string; hot: string }>(
        'SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2',
        [schema, '_private_jobs'],
      )
      return { updates: Number(rows[0]?.upd ?? 0), hot: Number(rows[0]?.hot ?? 0), ...(await walCounts(check)) }
    },
    size: () => tableSize(check, schema, '_private_jobs'),
    async close() {
      await utils.release()
      await check.end()
    },
  }
}

runChild(openGraphile)
