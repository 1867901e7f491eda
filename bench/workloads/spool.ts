/**
 * Spool, as a user would run it, on SQLite (a fresh file in the folder the harness made) or on
 * PostgreSQL (a fresh schema the harness drops after): one `Spool`, default worker options
 * apart from `concurrency`; the maintenance loop is off except in the sustained run, where its
 * retention keeps the jobs table bounded as it would in production.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { setImmediate as nextTick } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { Spool } from '../../src/index.js'
import { runChild } from './child.js'
import { Counter } from './counter.js'
import { pgTarget, SETTLE_LIMIT_MS, sideConnection, tableSize, walCounts } from './pg.js'
import type { ChildOptions, Driver, Handler, Item, TableSize, WorkerHandle } from './types.js'

function storeAddress(options: ChildOptions): string {
  if (options.system === 'spool-sqlite') {
    if (!options.spoolDir) throw new Error('spoolDir is required')
    return `sqlite:${join(options.spoolDir, 'spool.db')}`
  }
  const { url, schema } = pgTarget(options)
  const address = new URL(url)
  address.searchParams.set('schema', schema)
  return address.toString()
}

async function sqliteSize(file: string): Promise<TableSize> {
  const db = new Database(file, { readonly: true })
  try {
    const { n } = db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }
    const bytes = (suffix: string) => {
      try {
        return statSync(file + suffix).size
      } catch {
        return 0
      }
    }
    return { table: 'jobs (database file + WAL)', rows: n, bytes: bytes('') + bytes('-wal') }
  } finally {
    db.close()
  }
}

async function openSpool(options: ChildOptions): Promise<Driver> {
  const spool = await Spool.open({ store: storeAddress(options), maintenance: options.maintenance ?? false })
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
    ...(options.system !== 'spool-sqlite' && {
      async updateCounts() {
        // Idle backends flush their table statistics within a second (PostgreSQL 15).
        await new Promise((resolve) => setTimeout(resolve, 1_200))
        const { url, schema } = pgTarget(options)
        const client = await sideConnection(url)
        try {
          const { rows } = await client.query<{ upd: string; hot: string }>(
            'SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2',
            [schema, 'jobs'],
          )
          return { updates: Number(rows[0]?.upd ?? 0), hot: Number(rows[0]?.hot ?? 0), ...(await walCounts(client)) }
        } finally {
          await client.end()
        }
      },
    }),
    async size() {
      if (options.system === 'spool-sqlite') return sqliteSize(join(options.spoolDir ?? '', 'spool.db'))
      const { url, schema } = pgTarget(options)
      const client = await sideConnection(url)
      try {
        return await tableSize(client, schema, 'jobs')
      } finally {
        await client.end()
      }
    },
    close: () => spool.close(),
  }
}

runChild(openSpool)
