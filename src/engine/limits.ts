/**
 * `spool.limits`: what a queue's rate limits have counted, and the pauses a provider's
 * Retry-After put on the queue or its groups; `reset` forgets both.
 */
import type { LimitsRow, Store } from '../store/store.js'
import type { EngineContext } from './context.js'
import { assertQueueName } from './options.js'

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
}
