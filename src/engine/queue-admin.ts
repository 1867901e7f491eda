/** `spool.queues`: create, configure, pause and inspect queues. */
import type { JobState, QueueRow, Store } from '../store/store.js'
import { JOB_STATES } from '../store/store.js'
import type { EngineContext } from './context.js'
import { DEFAULT_RETENTION, type FinishedState, retentionRule } from './maintenance.js'
import { assertQueueName, isConstrained, parseQueueOptions, type QueueOptions } from './options.js'

export interface QueueInfo {
  name: string
  paused: boolean
  /** Claims wait until this time (a provider's Retry-After for the whole queue); null when not. */
  pausedUntil: Date | null
  config: QueueOptions
  counts: Record<JobState, number>
}

export interface CleanupReport {
  dryRun: boolean
  /** Jobs removed (or that would be), by state. */
  removed: Record<FinishedState, number>
  sampleIds: string[]
}

export class QueueAdmin {
  constructor(
    private readonly spool: EngineContext,
    private readonly store: Store,
  ) {}

  /**
   * Creates a queue or replaces its settings.
   *
   * @example
   * await spool.queues.configure('emails', { retention: { completed: { maxAgeMs: 3_600_000 } } })
   */
  async configure(name: string, options: QueueOptions = {}): Promise<QueueInfo> {
    assertQueueName(name)
    const config = parseQueueOptions(options)
    const now = Date.now()
    // Constrained first: a worker that still holds the old settings then claims nothing rather
    // than more than the new limits allow, until it reads them (within seconds).
    if (isConstrained(config)) await this.store.queueConstrain({ name, constrained: true, now })
    const row = await this.store.queueConfigure({ name, config, now })
    if (!isConstrained(config)) await this.store.queueConstrain({ name, constrained: false, now })
    this.spool.configured(name)
    return this.info(row)
  }

  async get(name: string): Promise<QueueInfo | null> {
    assertQueueName(name)
    const row = await this.store.queueGet({ name })
    return row ? this.info(row) : null
  }

  async list(): Promise<QueueInfo[]> {
    const [rows, counts] = await Promise.all([this.store.queueList(), this.store.queueCounts({})])
    return rows.map((row) => ({ ...toQueueInfo(row), counts: counts[row.name] ?? emptyCounts() }))
  }

  /** Workers everywhere stop claiming from the queue; running jobs finish. */
  async pause(name: string): Promise<QueueInfo> {
    assertQueueName(name)
    const row = await this.store.queuePause({ name, paused: true, now: Date.now() })
    this.spool.changed([name])
    return this.info(row)
  }

  async resume(name: string): Promise<QueueInfo> {
    assertQueueName(name)
    const row = await this.store.queuePause({ name, paused: false, now: Date.now() })
    this.spool.changed([name])
    return this.info(row)
  }

  /** Jobs by state for one queue, or of one tenant only. */
  async counts(name: string, options: { tenant?: string } = {}): Promise<Record<JobState, number>> {
    assertQueueName(name)
    const counts = await this.store.queueCounts({
      queue: name,
      ...(options.tenant !== undefined && { tenant: options.tenant }),
    })
    return counts[name] ?? emptyCounts()
  }

  /** Jobs by state for every queue (of one tenant, when given). */
  async countsAll(options: { tenant?: string } = {}): Promise<Record<string, Record<JobState, number>>> {
    return this.store.queueCounts(options.tenant !== undefined ? { tenant: options.tenant } : {})
  }

  /**
   * When each queue's oldest waiting job was created (epoch ms); null for a queue with nothing
   * waiting. Cheap: one index probe per queue.
   *
   * @example
   * const since = (await spool.queues.oldestWaiting()).emails
   * const ageMs = since == null ? 0 : Date.now() - since
   */
  oldestWaiting(): Promise<Record<string, number | null>> {
    return this.store.queueOldestWaiting()
  }

  /**
   * One tenant's oldest waiting job, of one queue or of any: its id, queue and creation time
   * (epoch ms), or null when the tenant has nothing waiting. One index probe per queue.
   *
   * @example
   * const oldest = await spool.queues.oldestWaitingJob({ tenant: 'acme' })
   * if (oldest) console.log(`#${oldest.id} on ${oldest.queue} waits since ${new Date(oldest.createdAt)}`)
   */
  oldestWaitingJob(options: {
    tenant: string
    queue?: string
  }): Promise<{ id: string; queue: string; createdAt: number } | null> {
    if (options.queue !== undefined) assertQueueName(options.queue)
    return this.store.jobOldestWaiting(options)
  }

  /**
   * Applies the queue's retention now (or reports what it would remove, with `dryRun`). With
   * `tenant`, only that tenant's finished jobs are removed, of those the retention would remove.
   *
   * @example
   * const report = await spool.queues.cleanup('emails', { dryRun: true, tenant: 'acme' })
   */
  async cleanup(name: string, options: { dryRun?: boolean; tenant?: string } = {}): Promise<CleanupReport> {
    assertQueueName(name)
    const queue = await this.store.queueGet({ name })
    const dryRun = options.dryRun ?? false
    const report: CleanupReport = { dryRun, removed: { completed: 0, failed: 0, cancelled: 0 }, sampleIds: [] }
    if (!queue) return report
    for (const state of Object.keys(DEFAULT_RETENTION) as FinishedState[]) {
      const { count, sampleIds } = await this.store.jobCleanup({
        queue: name,
        state,
        rule: retentionRule(queue.config, state),
        now: Date.now(),
        dryRun,
        ...(options.tenant !== undefined && { tenant: options.tenant }),
      })
      report.removed[state] = count
      report.sampleIds.push(...sampleIds.slice(0, 10 - report.sampleIds.length))
    }
    return report
  }

  private async info(row: QueueRow): Promise<QueueInfo> {
    return { ...toQueueInfo(row), counts: await this.counts(row.name) }
  }
}

function toQueueInfo(row: QueueRow): Omit<QueueInfo, 'counts'> {
  return {
    name: row.name,
    paused: row.paused,
    pausedUntil: row.pausedUntil > Date.now() ? new Date(row.pausedUntil) : null,
    config: row.config,
  }
}

export function emptyCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>
}
