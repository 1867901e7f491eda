/**
 * Housekeeping that must happen somewhere, once: recovering lapsed leases, promoting due
 * scheduled jobs, applying retention. Every Spool process runs this loop, but only the holder
 * of the `maintenance` leader lease acts; when it dies its lease lapses and another takes over
 * within a few intervals.
 */
import type { QueueConfig, RetentionRule, Store } from '../store/store.js'
import { describeError, type Logger } from './logger.js'

/** What a queue keeps when its config says nothing. */
export const DEFAULT_RETENTION: Required<NonNullable<QueueConfig['retention']>> = {
  completed: { maxAgeMs: 24 * 3_600_000, maxCount: 50_000 },
  failed: { maxAgeMs: 30 * 24 * 3_600_000 },
  cancelled: { maxAgeMs: 7 * 24 * 3_600_000 },
}

/** Per-minute stats and queue-level events are kept this long. */
const STATS_KEPT_MS = 24 * 3_600_000

export interface MaintenanceOptions {
  /** How often the loop runs (default 1 000 ms); leadership lasts five intervals. */
  intervalMs?: number
  /** How often retention runs (default 60 000 ms). */
  retentionIntervalMs?: number
}

export type FinishedState = keyof typeof DEFAULT_RETENTION

export function retentionRule(config: QueueConfig, state: FinishedState): RetentionRule {
  return { ...DEFAULT_RETENTION[state], ...config.retention?.[state] }
}

export class Maintenance {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private lastRetention = 0
  private readonly intervalMs: number
  private readonly retentionIntervalMs: number
  isLeader = false

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly nodeId: string,
    private readonly onChange: (queues: string[]) => void,
    options: MaintenanceOptions = {},
    /** More work for the leader's pass (cron schedules), after recovery and promotion. */
    private readonly onPass?: (now: number) => Promise<unknown>,
  ) {
    this.intervalMs = options.intervalMs ?? 1_000
    this.retentionIntervalMs = options.retentionIntervalMs ?? 60_000
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = null
      })
    }, this.intervalMs)
    this.timer.unref()
  }

  /** One pass; public so tests and the CLI can run it on demand. */
  async tick(now = Date.now()): Promise<void> {
    try {
      this.isLeader = await this.store.leaderAcquire({
        name: 'maintenance',
        nodeId: this.nodeId,
        ttlMs: this.intervalMs * 5,
        now,
      })
      if (!this.isLeader) return
      const recovered = await this.store.jobRecoverExpired({ now })
      const promoted = await this.store.jobPromoteDue({ now, limit: 1_000 })
      if (recovered.length > 0 || promoted > 0) this.onChange([])
      if (this.onPass) await this.onPass(now)
      if (now - this.lastRetention >= this.retentionIntervalMs) {
        this.lastRetention = now
        await this.retention(now)
      }
    } catch (error) {
      this.logger.warn(describeError(error), 'maintenance pass failed; will retry')
    }
  }

  private async retention(now: number): Promise<void> {
    const queues = await this.store.queueList()
    // Rate-limit buckets count only within their window: keep the longest window any queue (or
    // breaker, whose sliding failure-rate window uses the same buckets) uses.
    let longestWindow = 0
    for (const { config } of queues) {
      longestWindow = Math.max(longestWindow, config.rateLimit?.windowMs ?? 0, config.groups?.rateLimit?.windowMs ?? 0)
    }
    for (const { config } of await this.store.breakerList()) {
      longestWindow = Math.max(longestWindow, config.windowMs ?? 60_000) // the default window (rows.ts)
    }
    await this.store.limitsPrune({ before: now - longestWindow - 60_000 })
    for (const queue of queues) {
      for (const state of Object.keys(DEFAULT_RETENTION) as FinishedState[]) {
        await this.store.jobCleanup({
          queue: queue.name,
          state,
          rule: retentionRule(queue.config, state),
          now,
          dryRun: false,
        })
      }
    }
    await this.store.statsPrune({ before: now - STATS_KEPT_MS })
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.running
    if (this.isLeader) {
      await this.store.leaderRelease({ name: 'maintenance', nodeId: this.nodeId }).catch(() => {})
      this.isLeader = false
    }
  }
}
