/**
 * Admission control for enqueues: a token bucket per tenant (`limits.enqueuePerSecond`, over it
 * → 429 with `Retry-After`) and a depth cap per queue (`limits.maxQueueDepth` waiting jobs, over
 * it → 503 with `Retry-After`). Depths are read at most once a second per queue, so the check
 * costs nothing on the hot path.
 */
import type { Spool } from '../engine/spool.js'
import { HttpProblem } from './problem.js'

export class Admission {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()
  private readonly depths = new Map<string, { waiting: number; at: number; reading?: Promise<void> }>()

  constructor(
    private readonly spool: Spool,
    private readonly limits: { enqueuePerSecond: number; maxQueueDepth: number },
  ) {}

  /** Throws 429 or 503 when `count` more enqueues for this tenant and queue are not admitted now. */
  async admit(tenant: string, queue: string, count = 1): Promise<void> {
    const rate = this.limits.enqueuePerSecond
    if (rate > 0) {
      const now = Date.now()
      const burst = Math.max(rate, count)
      const bucket = this.buckets.get(tenant) ?? { tokens: burst, at: now }
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate)
      bucket.at = now
      this.buckets.set(tenant, bucket)
      if (bucket.tokens < count) {
        throw new HttpProblem('SPOOL_RATE_LIMITED', `tenant "${tenant}" may enqueue ${rate} jobs per second`, {
          retryAfterSeconds: (count - bucket.tokens) / rate,
          limit: rate,
        })
      }
      bucket.tokens -= count
    }
    const max = this.limits.maxQueueDepth
    if (max > 0) {
      const waiting = await this.waiting(queue)
      if (waiting + count > max) {
        throw new HttpProblem('SPOOL_QUEUE_FULL', `queue "${queue}" holds ${waiting} waiting jobs (at most ${max})`, {
          field: 'queue',
          retryAfterSeconds: 5,
          limit: max,
        })
      }
    }
  }

  private async waiting(queue: string): Promise<number> {
    const now = Date.now()
    let entry = this.depths.get(queue)
    if (!entry) {
      entry = { waiting: 0, at: 0 }
      this.depths.set(queue, entry)
    }
    if (now - entry.at > 1_000) {
      const current = entry
      current.reading ??= this.spool.queues
        .counts(queue)
        .then((counts) => {
          current.waiting = counts.waiting + counts.scheduled
          current.at = Date.now()
        })
        .finally(() => {
          current.reading = undefined as never
        })
      await current.reading
    }
    return entry.waiting
  }
}
