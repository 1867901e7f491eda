/**
 * The settings of each queue this process uses, read from the store and kept for a couple of
 * seconds: enqueues need them (groups, fairness, admission) and workers need them (limits,
 * breaker), but neither should read the queue row on every call. A change made through this
 * process is seen at once (`forget`); one made on another node within `ttlMs`.
 */
import type { ClaimConstraints, QueueRow, Store } from '../store/store.js'
import { DEFAULT_BREAKER, isConstrained } from './options.js'

export class QueueConfigs {
  private readonly rows = new Map<string, { row: QueueRow; at: number }>()
  private readonly limits = new Map<string, { constraints: ClaimConstraints | null; at: number }>()

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 2_000,
  ) {}

  /** The queue's row, created when the queue does not exist yet. */
  async get(queue: string): Promise<QueueRow> {
    const now = Date.now()
    const cached = this.rows.get(queue)
    if (cached && now - cached.at < this.ttlMs) return cached.row
    const row = (await this.store.queueGet({ name: queue })) ?? (await this.store.queueEnsure({ name: queue, now }))
    this.rows.set(queue, { row, at: now })
    return row
  }

  /** A cached row, however old, without a read (the hot path's view). */
  peek(queue: string): QueueRow | undefined {
    return this.rows.get(queue)?.row
  }

  set(row: QueueRow): void {
    this.rows.set(row.name, { row, at: Date.now() })
  }

  forget(queue: string): void {
    this.rows.delete(queue)
    this.limits.delete(queue)
  }

  /**
   * What a claim on the queue must respect (null: nothing, so the fast claim runs). A bound
   * breaker that nobody defined yet gets the default policy on its first claim.
   */
  async constraints(queue: string): Promise<ClaimConstraints | null> {
    const now = Date.now()
    const cached = this.limits.get(queue)
    if (cached && now - cached.at < this.ttlMs) return cached.constraints
    const { config } = await this.get(queue)
    let constraints: ClaimConstraints | null = null
    if (isConstrained(config)) {
      constraints = {
        ...(config.concurrency !== undefined && { concurrency: config.concurrency }),
        ...(config.rateLimit && { rate: config.rateLimit }),
        ...(config.groups?.concurrency !== undefined && { groupConcurrency: config.groups.concurrency }),
        ...(config.groups?.rateLimit && { groupRate: config.groups.rateLimit }),
      }
      if (config.breaker !== undefined) {
        const breaker = await this.store.breakerGet({ name: config.breaker })
        constraints.breaker = { name: config.breaker, policy: breaker?.config ?? { ...DEFAULT_BREAKER } }
      }
    }
    this.limits.set(queue, { constraints, at: now })
    return constraints
  }

  /**
   * The key a provider's Retry-After holds back: the job's group when the queue limits groups,
   * else the whole queue.
   */
  pauseKey(queue: string, group: string | null, until: number): { group: string | null; until: number } {
    const groups = this.peek(queue)?.config.groups
    const perGroup = groups?.rateLimit !== undefined || groups?.concurrency !== undefined
    return { group: perGroup ? group : null, until }
  }
}
