/**
 * The workloads, written once against `Driver` so every system runs identical code. Each uses a
 * fresh queue name, builds its inputs before the clock starts, and cleans its queue up after.
 */
import { randomUUID } from 'node:crypto'
import { loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { percentile } from '../stats.js'
import { cpuMeter } from './cpu.js'
import type {
  Driver,
  Handler,
  Item,
  Latency,
  PriorityCheck,
  Result,
  RunContext,
  Sizes,
  Sustained,
  Throughput,
  Workload,
} from './types.js'

const noop: Handler = async () => {}
/** Wall-clock ms with sub-ms resolution, comparable across processes. */
const wallClock = (): number => performance.timeOrigin + performance.now()

function freshQueue(name: string): string {
  return `bench-${name}-${randomUUID().slice(0, 8)}`
}

function noopItems(n: number, priority?: Item['priority'], kind?: 'low' | 'high'): Item[] {
  return Array.from({ length: n }, (_, i) => ({
    payload: { i, ...(kind && { kind }) },
    ...(priority && { priority }),
  }))
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size))
  return out
}

async function fill(driver: Driver, queue: string, items: Item[], size: number): Promise<void> {
  for (const chunk of chunks(items, size)) await driver.enqueueMany(queue, chunk)
}

function throughput(jobs: number, ms: number, extra: Partial<Throughput> = {}): Throughput {
  return { kind: 'throughput', jobs, ms, jobsPerSec: (jobs / ms) * 1000, ...extra }
}

/** Runs each code path once on a throwaway queue so that no measurement pays for a cold JIT. */
export async function warmUp(driver: Driver): Promise<void> {
  const queue = freshQueue('warmup')
  await fill(driver, queue, noopItems(200), 100)
  for (let i = 0; i < 50; i++) await driver.enqueue(queue, { payload: { i } })
  const worker = await driver.worker(queue, noop, 10)
  worker.start()
  await worker.completed(250)
  await worker.close()
  await driver.cleanup(queue)
}

async function bulkEnqueue(driver: Driver, sizes: Sizes): Promise<Throughput> {
  const queue = freshQueue('bulk')
  const batches = chunks(noopItems(sizes.bulkJobs), sizes.chunk)
  const t0 = performance.now()
  for (const batch of batches) await driver.enqueueMany(queue, batch)
  const ms = performance.now() - t0
  await driver.cleanup(queue)
  return throughput(sizes.bulkJobs, ms)
}

async function singleEnqueue(driver: Driver, sizes: Sizes): Promise<Throughput> {
  const queue = freshQueue('single')
  const items = noopItems(sizes.singleJobs)
  const t0 = performance.now()
  for (const item of items) await driver.enqueue(queue, item)
  const ms = performance.now() - t0
  await driver.cleanup(queue)
  return throughput(sizes.singleJobs, ms)
}

/**
 * Pre-enqueues `jobs`, then times worker start → the last job recorded completed, with the CPU
 * the worker's process and (when `context` names them) the store's server processes used meanwhile.
 */
async function drain(
  driver: Driver,
  sizes: Sizes,
  jobs: number,
  concurrency: number,
  handler: Handler,
  context: RunContext | null = null,
): Promise<Throughput> {
  const queue = freshQueue(`drain-c${concurrency}`)
  await fill(driver, queue, noopItems(jobs), sizes.chunk)
  const worker = await driver.worker(queue, handler, concurrency)
  const updatesBefore = context === null ? undefined : await driver.updateCounts?.()
  const cpu = context === null ? null : cpuMeter(context.serverProcess, context.database)
  const t0 = performance.now()
  worker.start()
  await worker.completed(jobs)
  const ms = performance.now() - t0
  const used = cpu?.()
  const lastHandlerMs = worker.lastReturnAt() - t0
  await worker.close()
  const updatesAfter = updatesBefore && (await driver.updateCounts?.())
  const hot = updatesBefore &&
    updatesAfter && {
      updates: updatesAfter.updates - updatesBefore.updates,
      hotUpdates: updatesAfter.hot - updatesBefore.hot,
      walRecords: updatesAfter.walRecords - updatesBefore.walRecords,
      walBytes: updatesAfter.walBytes - updatesBefore.walBytes,
    }
  await driver.cleanup(queue)
  return throughput(jobs, ms, { lastHandlerMs, ...used, ...hot })
}

async function timer(driver: Driver, sizes: Sizes): Promise<Throughput> {
  const { timerJobs, timerMs, timerConcurrency } = sizes
  const result = await drain(driver, sizes, timerJobs, timerConcurrency, () => sleep(timerMs))
  const idealJobsPerSec = (timerConcurrency * 1000) / timerMs
  return { ...result, idealJobsPerSec, pctOfIdeal: (result.jobsPerSec / idealJobsPerSec) * 100 }
}

/** An idle worker; jobs enqueued one by one at a steady rate; enqueue → handler start. */
async function latency(driver: Driver, sizes: Sizes): Promise<Latency> {
  const queue = freshQueue('latency')
  const samples: number[] = []
  const worker = await driver.worker(
    queue,
    async (payload) => {
      samples.push(wallClock() - (payload.t as number))
    },
    sizes.latencyConcurrency,
  )
  worker.start()
  await sleep(500)
  const interval = 1000 / sizes.latencyPerSec
  const t0 = performance.now()
  for (let i = 0; i < sizes.latencyJobs; i++) {
    const wait = t0 + i * interval - performance.now()
    if (wait > 0) await sleep(wait)
    await driver.enqueue(queue, { payload: { i, t: wallClock() } })
  }
  const enqueueMs = performance.now() - t0
  await worker.completed(sizes.latencyJobs)
  await worker.close()
  await driver.cleanup(queue)
  return {
    kind: 'latency',
    jobs: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: Math.max(...samples),
    enqueuePerSec: (sizes.latencyJobs / enqueueMs) * 1000,
  }
}

/**
 * Low jobs drain; once `priorityTriggerAt` have started, high jobs are enqueued in one call.
 * A violation is a low job that started after that call returned but before the last high job.
 */
async function priority(driver: Driver, sizes: Sizes): Promise<PriorityCheck> {
  const queue = freshQueue('priority')
  await fill(driver, queue, noopItems(sizes.priorityLow, 'low', 'low'), sizes.chunk)
  const order: ('low' | 'high')[] = []
  let startedAtCall = -1
  let startedAtEnqueue = -1
  let highs: Promise<void> | undefined
  const worker = await driver.worker(
    queue,
    async (payload) => {
      order.push(payload.kind ?? 'low')
      if (order.length === sizes.priorityTriggerAt) {
        startedAtCall = order.length
        highs = driver.enqueueMany(queue, noopItems(sizes.priorityHigh, 'high', 'high')).then(() => {
          startedAtEnqueue = order.length
        })
      }
      await sleep(sizes.priorityHandlerMs)
    },
    sizes.priorityConcurrency,
  )
  const t0 = performance.now()
  worker.start()
  await worker.completed(sizes.priorityLow + sizes.priorityHigh)
  const ms = performance.now() - t0
  await highs
  await worker.close()
  await driver.cleanup(queue)

  const lastHigh = order.lastIndexOf('high')
  const violations = order.slice(startedAtEnqueue, Math.max(lastHigh, startedAtEnqueue)).filter((k) => k === 'low')
  const lowStarted = order.slice(0, startedAtEnqueue).filter((k) => k === 'low').length
  return {
    kind: 'priority',
    violations: violations.length,
    startedAtEnqueue,
    startedDuringEnqueue: startedAtEnqueue - startedAtCall,
    lowWaitingAtEnqueue: sizes.priorityLow - lowStarted,
    highStartOffsets: order.flatMap((k, i) => (k === 'high' ? [i - startedAtEnqueue] : [])),
    ms,
  }
}

/**
 * A producer keeps `sustainedBacklog` jobs waiting (topping up in calls of `chunk` whenever the
 * backlog falls below it) while a worker at `sustainedConcurrency` drains no-op jobs for
 * `sustainedMinutes`, in the same process. Counts handler returns per minute: a system whose
 * tables or indexes degrade as rows pile up shows it as a falling count.
 */
async function sustained(driver: Driver, sizes: Sizes): Promise<Sustained> {
  const queue = freshQueue('sustained')
  const minutes = sizes.sustainedMinutes
  const perMinute = new Array<number>(minutes).fill(0)
  const enqueuedPerMinute = new Array<number>(minutes).fill(0)
  const loadPerMinute: number[] = []
  let done = 0
  let t0 = Number.POSITIVE_INFINITY
  const minute = () => Math.floor((performance.now() - t0) / 60_000)
  await fill(driver, queue, noopItems(sizes.sustainedBacklog), sizes.chunk)
  let enqueued = sizes.sustainedBacklog
  const worker = await driver.worker(
    queue,
    async () => {
      const m = minute()
      if (m < minutes) {
        perMinute[m] = (perMinute[m] ?? 0) + 1
        done++
      }
    },
    sizes.sustainedConcurrency,
  )
  t0 = performance.now()
  const end = t0 + minutes * 60_000
  worker.start()
  let next = enqueued
  const sampler = setInterval(() => loadPerMinute.push(Math.round((loadavg()[0] ?? 0) * 100) / 100), 60_000)
  while (performance.now() < end) {
    if (enqueued - done >= sizes.sustainedBacklog) {
      await sleep(5)
      continue
    }
    const items = Array.from({ length: sizes.chunk }, () => ({ payload: { i: next++ } }))
    await driver.enqueueMany(queue, items)
    enqueued += items.length
    const m = minute()
    if (m < minutes) enqueuedPerMinute[m] = (enqueuedPerMinute[m] ?? 0) + items.length
  }
  const ms = performance.now() - t0
  clearInterval(sampler)
  await worker.close()
  const size = await driver.size()
  await driver.cleanup(queue)
  const first = perMinute[0] ?? 0
  const last = perMinute.at(-1) ?? 0
  return {
    kind: 'sustained',
    perMinute,
    enqueuedPerMinute,
    loadPerMinute,
    jobs: done,
    ms,
    jobsPerSec: (done / ms) * 1000,
    lastOverFirst: first > 0 ? last / first : Number.NaN,
    size,
  }
}

export const SCENARIOS: Record<Workload, (driver: Driver, sizes: Sizes, context: RunContext) => Promise<Result>> = {
  'bulk-enqueue': bulkEnqueue,
  'single-enqueue': singleEnqueue,
  'drain-c1': (driver, sizes, context) => drain(driver, sizes, sizes.drainJobsC1, 1, noop, context),
  'drain-c10': (driver, sizes, context) => drain(driver, sizes, sizes.drainJobs, 10, noop, context),
  'drain-c50': (driver, sizes, context) => drain(driver, sizes, sizes.drainJobs, 50, noop, context),
  latency,
  'timer-50ms': timer,
  priority,
  sustained,
}
