import type { BreakerState, JobState, StatsBucket, Store, Timing } from '../store/store.js'

const MINUTE = 60_000

export interface Percentiles {
  p50: number
  p95: number
}

export interface Stats {
  /** Counts by state, per queue. */
  counts: Record<string, Record<JobState, number>>
  /** Completed, failed and retried jobs per minute over the last hour, oldest first. */
  perMinute: StatsBucket[]
  /** From becoming runnable to starting, over the most recent finished jobs (ms). */
  waitMs: Percentiles | null
  /** From start to finish, over the most recent finished jobs (ms). */
  runMs: Percentiles | null
  /** completed / (completed + failed) over the last hour; null when nothing finished. */
  successRate: number | null
  /** Jobs completed per minute, averaged over the last 5 minutes. */
  throughputPerMinute: number
  /** Circuit breakers (the queue's own, for one queue) and their state. */
  breakers: { name: string; state: BreakerState; failures: number; openedAt: number | null }[]
}

/**
 * @example
 * const { counts, waitMs, successRate } = await spool.stats('emails')
 */
export async function readStats(store: Store, queue: string | undefined, now = Date.now()): Promise<Stats> {
  const scope = queue === undefined ? {} : { queue }
  const [counts, perMinute, timings, breakers, queueRow] = await Promise.all([
    store.queueCounts(scope),
    store.statsBuckets({ ...scope, since: now - 60 * MINUTE }),
    store.statsTimings({ ...scope, limit: 1_000 }),
    store.breakerList(),
    queue === undefined ? null : store.queueGet({ name: queue }),
  ])
  const bound = queueRow?.config.breaker
  let completed = 0
  let failed = 0
  for (const bucket of perMinute) {
    completed += bucket.completed
    failed += bucket.failed
  }
  return {
    counts,
    perMinute,
    waitMs: percentiles(timings, (t) => t.waitMs),
    runMs: percentiles(timings, (t) => t.runMs),
    successRate: completed + failed === 0 ? null : completed / (completed + failed),
    throughputPerMinute: throughput(perMinute, now),
    breakers: breakers
      .filter((breaker) => queue === undefined || breaker.name === bound)
      .map(({ name, state, failures, openedAt }) => ({ name, state, failures, openedAt })),
  }
}

/** Completed per minute over the last five minutes (the current, partial minute weighted by its age). */
export function throughput(buckets: StatsBucket[], now: number): number {
  const since = now - 5 * MINUTE
  let completed = 0
  for (const bucket of buckets) if (bucket.minute >= since - MINUTE) completed += bucket.completed
  const oldest = buckets.find((bucket) => bucket.minute >= since - MINUTE)?.minute
  if (oldest === undefined) return 0
  const spanMinutes = Math.max(1, (now - oldest) / MINUTE)
  return completed / spanMinutes
}

function percentiles(timings: Timing[], pick: (t: Timing) => number): Percentiles | null {
  if (timings.length === 0) return null
  const sorted = timings.map(pick).sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
  return { p50: at(0.5), p95: at(0.95) }
}
