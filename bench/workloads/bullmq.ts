/**
 * BullMQ on the harness's redis-server, as a user would run it: a `Queue` and a `Worker` with
 * connection options (BullMQ opens its own ioredis connections), default options otherwise
 * (completed jobs are kept, as Spool keeps them). Queues are obliterated after each workload.
 */
import { Queue, Worker } from 'bullmq'
import { runChild } from './child.js'
import { Counter } from './counter.js'
import type { ChildOptions, Driver, Handler, Item, Payload, WorkerHandle } from './types.js'

/** BullMQ: lower number = higher priority. */
const PRIORITY = { high: 1, low: 100 } as const

async function openBullmq(options: ChildOptions): Promise<Driver> {
  if (!options.redisPort) throw new Error('redisPort is required')
  const connection = { host: '127.0.0.1', port: options.redisPort }
  const queues = new Map<string, Queue>()

  const queueFor = async (name: string): Promise<Queue> => {
    let queue = queues.get(name)
    if (!queue) {
      queue = new Queue(name, { connection })
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
      const worker = new Worker<Payload>(
        name,
        async (job) => {
          await handler(job.data)
          returned.increment()
          return null
        },
        { connection, concurrency, autorun: false },
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
      await (await queueFor(name)).obliterate({ force: true })
    },
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()))
    },
  }
}

runChild(openBullmq)
