/**
 * `spool.limits`: what a queue's rate limits have counted, and the pauses a provider's
 * Retry-After put on the queue or its groups; `reset` forgets both. And weighted limits
 * (`take`, `giveBack`): a token bucket in the store, shared by every node, from which a handler
 * takes a cost of its own choosing (the tokens an LLM request will use, say) before it calls a
 * provider, throwing `RateLimitedError(retryAfterMs)` when it is short — the job then waits
 * without spending an attempt and its queue (or group) is held back until the bucket refills.
 */
import type { LimitsRow, Store } from '../store/store.js'
import type { EngineContext } from './context.js'
import { SpoolError } from './errors.js'
import { assertQueueName } from './options.js'

export interface WeightedLimit {
  /** Units refilled per minute (and the most the bucket holds, unless `burst` says otherwise). */
  perMinute: number
  /** The most units the bucket holds (default `perMinute`). */
  burst?: number
}

const BUCKET_KEY = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/

export class Limits {
  constructor(
    private readonly spool: EngineContext,
    private readonly store: Store,
  ) {}

  async get(queue: string): Promise<LimitsRow & { config: Record<string, unknown> }> {
    assertQueueName(queue)
    const { config } = await this.spool.configs.get(queue)
    const row = await this.store.limitsGet({
      queue,
      now: Date.now(),
      ...(config.rateLimit && { windowMs: config.rateLimit.windowMs }),
      ...(config.groups?.rateLimit && { groupWindowMs: config.groups.rateLimit.windowMs }),
    })
    return {
      ...row,
      config: {
        ...(config.concurrency !== undefined && { concurrency: config.concurrency }),
        ...(config.rateLimit && { rateLimit: config.rateLimit }),
        ...(config.groups && { groups: config.groups }),
        ...(config.maxSize !== undefined && { maxSize: config.maxSize }),
        ...(config.maxGroupSize !== undefined && { maxGroupSize: config.maxGroupSize }),
        ...(config.breaker !== undefined && { breaker: config.breaker }),
      },
    }
  }

  async reset(queue: string): Promise<void> {
    assertQueueName(queue)
    await this.store.limitsReset({ queue, now: Date.now() })
    this.spool.changed([queue])
  }

  /**
   * Takes `cost` units from the weighted limit `key` if it has them; else takes nothing and says
   * how long until it will. A cost above the burst is charged as the burst (it waits for a full
   * bucket rather than forever).
   *
   * @example
   * const taken = await spool.limits.take('openai.tpm', { perMinute: 200_000 }, estimatedTokens)
   * if (!taken.ok) throw new RateLimitedError(taken.retryAfterMs)
   */
  async take(key: string, limit: WeightedLimit, cost: number): Promise<{ ok: boolean; retryAfterMs: number }> {
    const { ratePerSec, burst } = bucket(key, limit)
    if (!Number.isFinite(cost) || cost < 0) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'cost must be a number ≥ 0', { field: 'cost' })
    }
    return this.store.tokenTake({
      key: `limit\u0000${key}`,
      ratePerSec,
      burst,
      cost: Math.min(cost, burst),
      now: Date.now(),
    })
  }

  /**
   * Puts back units taken but not used (the request used fewer tokens than reserved); the
   * bucket never holds more than its burst.
   *
   * @example
   * await spool.limits.giveBack('openai.tpm', { perMinute: 200_000 }, reserved - usage.total_tokens)
   */
  async giveBack(key: string, limit: WeightedLimit, amount: number): Promise<void> {
    const { ratePerSec, burst } = bucket(key, limit)
    if (!Number.isFinite(amount) || amount <= 0) return
    await this.store.tokenTake({
      key: `limit\u0000${key}`,
      ratePerSec,
      burst,
      cost: -Math.min(amount, burst),
      now: Date.now(),
    })
  }
}

function bucket(key: string, limit: WeightedLimit): { ratePerSec: number; burst: number } {
  if (typeof key !== 'string' || !BUCKET_KEY.test(key)) {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'a limit key is 1–200 letters, digits, ".", "_", ":" or "-"', {
      field: 'key',
    })
  }
  const perMinute = limit?.perMinute
  if (typeof perMinute !== 'number' || !Number.isFinite(perMinute) || perMinute <= 0) {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'perMinute must be a number > 0', { field: 'perMinute' })
  }
  const burst = limit.burst ?? perMinute
  if (!Number.isFinite(burst) || burst <= 0) {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'burst must be a number > 0', { field: 'burst' })
  }
  return { ratePerSec: perMinute / 60, burst }
}
