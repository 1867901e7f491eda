/**
 * BullMQ, as a user would run it, on the harness's redis-server or on PostgreSQL through the
 * backend BullMQ 6 ships (`withBackend(createPostgresBackend)`, its schema created by its own
 * migrations: `migrate: true`). A `Queue` and a `Worker` with connection options (BullMQ opens
 * its own connections), default options otherwise (completed jobs are kept, as Spool keeps
 * them). Redis queues are obliterated after each workload; PostgreSQL schemas are dropped by
 * the harness.
 */
import { createPostgresBackend, Queue, Worker, withBackend } from 'bullmq'
import { Redis } from 'ioredis'
import { runChild } from './child.js'
import { Counter } from './counter.js'
import { pgTarget, sideConnection, tableSize } from './pg.js'
import type { ChildOptions, Driver, Handler, Item, Payload, WorkerHandle } from './types.js'

/** BullMQ: lower number = higher priority. */
const PRIORITY = { high: 1, low: 100 } as const

/** The two backends behind one shape: what the driver needs from a Queue and a Worker. */
interface Backend {
  queue(name: string): Queue
  worker(
    name: string,
    processor: (job: { id?: string | undefined; data: Payload }) => Promise<null>,
    concurrency: number,
  ): Worker
}

function backendFor(options: ChildOptions): Backend {
  if (options.system === 'bullmq-redis') {
    if (!options.redisPort) throw new Error('redisPort is required')
    const connection = { host: '127.0.0.1', port: options.redisPort }
    return {
      queue: (name) => new Queue(name, { connection }),
      worker: (name, processor, concurrency) =>
        new Worker<Payload>(name, processor, { connection, concurrency, autorun: false }),
    }
  }
  const { url, schema } = pgTarget(options)
  const connection = { connectionString: url, schema, migrate: true }
  const pg = withBackend(createPostgresBackend)
  return {
    queue: (name) => new pg.Queue(name, { connection }) as unknown as Queue,
    worker: (name, processor, concurrency) =>
      new pg.Worker<Payload>(name, processor, { connection, concurrency, autorun: false }) as unknown as Worker,
  }
}

async function openBullmq(options: ChildOptions): Promise<Driver> {
  const backend = backendFor(options)
  const queues = new Map<string, Queue>()

  const queueFor = async (name: string): Promise<Queue> => {
    let queue = queues.get(name)
    if (!queue) {
      queue = backend.queue(name)
      queues.set(name, queue)
      await queue.waitUntilReady()
    }
    return queue
  }
  const toOpts = (item: Item) => (item.priority ? { opts: { priority: PRIORITY[item.priority] } } : {})

  return {
    async enqueueMany(name, items) {
      const queue = await queueFor(name)
      await queue.addBulk(items.map((item) => ({ name: 'job', data: item.payload, ...toOpts(item) })))
    },
    async enqueue(name, item) {
      const queue = await queueFor(name)
      await queue.add('job', item.payload, item.priority ? { priority: PRIORITY[item.priority] } : undefined)
    },
    async worker(name: string, handler: Handler, concurrency: number): Promise<WorkerHandle> {
      const returned = new Counter()
      const completed = new Counter()
      const worker = backend.worker(
        name,
        async (job) => {
          await handler(job.data)
          returned.increment()
          return null
        },
        concurrency,
      )
      worker.on('completed', () => completed.increment())
      worker.on('failed', (job, error) => completed.fail(new Error(`job ${job?.id} failed: ${error.message}`)))
      worker.on('error', (error) => completed.fail(error))
      await worker.waitUntilReady()
      return {
        start() {
          worker.run().catch((error: Error) => completed.fail(error))
        },
        completed: (n) => completed.reach(n),
        lastReturnAt: () => returned.last,
        close: () => worker.close(),
      }
    },
    async cleanup(name) {
      if (options.system === 'bullmq-redis') await (await queueFor(name)).obliterate({ force: true })
    },
    async size() {
      if (options.system === 'bullmq-redis') {
        const redis = new Redis({ host: '127.0.0.1', port: options.redisPort ?? 0 })
        try {
          const memory = /used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]
          let rows = 0
          for (const queue of queues.values()) {
            const counts = await queue.getJobCounts()
            rows += Object.values(counts).reduce((sum, n) => sum + n, 0)
          }
          return { table: 'redis used_memory (rows: jobs in every state)', rows, bytes: Number(memory) }
        } finally {
          redis.disconnect()
        }
      }
      const { url, schema } = pgTarget(options)
      const client = await sideConnection(url)
      try {
        return await tableSize(client, schema, 'job')
      } finally {
        await client.end()
      }
    },
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()))
    },
  }
}

runChild(openBullmq)
