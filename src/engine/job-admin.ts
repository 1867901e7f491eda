/** `spool.jobs`: find, inspect and steer jobs. */
import type { DependentRow, JobFilter, JobState, Store } from '../store/store.js'
import { JOB_STATES } from '../store/store.js'
import { PLAIN } from './codec.js'
import type { EngineContext } from './context.js'
import { SpoolError } from './errors.js'
import { type ChildResult, type JobInfo, toChildResult, toJobInfo } from './job.js'
import { assertQueueName } from './options.js'
import { type Priority, priorityValue } from './priority.js'
import { throughput } from './stats.js'

/** Jobs scanned at most for one page of a text search over encoded payloads. */
const SEARCH_SCAN = 5_000

export interface JobListOptions {
  queue?: string
  state?: JobState
  tenant?: string
  group?: string
  tag?: string
  createdAfter?: Date | number
  createdBefore?: Date | number
  /** Text the payload contains (case-insensitive). */
  text?: string
  cursor?: string
  limit?: number
}

function encodeCursor(id: string): string {
  return Buffer.from(`id:${id}`).toString('base64url')
}

function toTime(value: Date | number, field: string): number {
  const ms = value instanceof Date ? value.getTime() : value
  if (!Number.isFinite(ms)) throw new SpoolError('SPOOL_INVALID_OPTION', `${field} must be a time`, { field })
  return ms
}

export interface JobPage {
  jobs: JobInfo[]
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

export class JobAdmin {
  constructor(
    private readonly spool: EngineContext,
    private readonly store: Store,
  ) {}

  async get<P = unknown, R = unknown>(id: string): Promise<JobInfo<P, R> | null> {
    const row = await this.store.jobGet({ id: String(id) })
    return row ? toJobInfo<P, R>(row, this.spool.codec) : null
  }

  /** A job's dependencies (a flow's children) and their outcomes. */
  async children(id: string): Promise<ChildResult[]> {
    const rows = await this.store.jobDependencies({ id: String(id) })
    return rows.map((row) => toChildResult(row, this.spool.codec))
  }

  /**
   * The jobs that wait for this one: its parents in a flow, or jobs that named it in `dependsOn`.
   *
   * @example
   * const [parent] = await spool.jobs.parents(childId)
   * if (parent) console.log(`#${childId} feeds #${parent.id} (${parent.queue}, ${parent.state})`)
   */
  async parents(id: string): Promise<DependentRow[]> {
    return this.store.jobDependents({ id: String(id) })
  }

  /**
   * Newest first, one page at a time.
   *
   * @example
   * let page = await spool.jobs.list({ queue: 'emails', state: 'failed', limit: 50 })
   * if (page.nextCursor) page = await spool.jobs.list({ queue: 'emails', state: 'failed', cursor: page.nextCursor })
   */
  async list(options: JobListOptions = {}): Promise<JobPage> {
    const { queue, state, cursor, text } = options
    const limit = options.limit ?? 50
    if (queue !== undefined) assertQueueName(queue)
    if (state !== undefined && !JOB_STATES.includes(state)) {
      throw new SpoolError('SPOOL_INVALID_OPTION', `state must be one of ${JOB_STATES.join(', ')}`, { field: 'state' })
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'limit must be an integer from 1 to 1000', { field: 'limit' })
    }
    const filter: JobFilter = {
      ...(queue !== undefined && { queue }),
      ...(state !== undefined && { state }),
      ...(options.tenant !== undefined && { tenant: options.tenant }),
      ...(options.group !== undefined && { group: options.group }),
      ...(options.tag !== undefined && { tag: options.tag }),
      ...(options.createdAfter !== undefined && { createdAfter: toTime(options.createdAfter, 'createdAfter') }),
      ...(options.createdBefore !== undefined && { createdBefore: toTime(options.createdBefore, 'createdBefore') }),
    }
    if (text !== undefined && (typeof text !== 'string' || text.length > 200)) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'text must be a string of at most 200 characters', { field: 'text' })
    }
    const codec = this.spool.codec
    // Payloads stored in plain text are searched by the database; encoded (encrypted) ones are
    // decoded and searched here, scanning at most SEARCH_SCAN jobs per page.
    const searchHere = text !== undefined && text !== '' && codec !== PLAIN
    if (text !== undefined && text !== '' && !searchHere) filter.text = text
    const from = cursor !== undefined ? decodeCursor(cursor) : undefined
    if (!searchHere) {
      const rows = await this.store.jobList({
        ...filter,
        limit: limit + 1,
        ...(from !== undefined && { beforeId: from }),
      })
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return {
        jobs: page.map((row) => toJobInfo(row, codec)),
        nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
      }
    }
    const needle = (text as string).toLowerCase()
    const found: JobInfo[] = []
    let beforeId = from
    let scanned = 0
    for (;;) {
      const rows = await this.store.jobList({ ...filter, limit: 200, ...(beforeId !== undefined && { beforeId }) })
      for (const row of rows) {
        beforeId = row.id
        scanned += 1
        const info = toJobInfo(row, codec)
        if (JSON.stringify(info.payload).toLowerCase().includes(needle)) found.push(info)
        if (found.length === limit) break
      }
      const exhausted = rows.length < 200 && beforeId === rows.at(-1)?.id
      if (found.length === limit || scanned >= SEARCH_SCAN || exhausted || rows.length === 0) {
        return {
          jobs: found,
          nextCursor: exhausted || rows.length === 0 || beforeId === undefined ? null : encodeCursor(beforeId),
        }
      }
    }
  }

  /**
   * waiting, scheduled or blocked → cancelled at once; an active job's handler sees its signal
   * abort (`SPOOL_JOB_CANCELLED`).
   */
  async cancel(id: string): Promise<JobInfo> {
    const job = await this.apply(id, 'cancel', (now) => this.store.jobCancel({ id, now }))
    this.spool.abortLocal(job.queue, job.id)
    return job
  }

  /** failed or cancelled → waiting, with its attempts reset. */
  retry(id: string): Promise<JobInfo> {
    return this.apply(id, 'retry', (now) => this.store.jobRetry({ id, now }))
  }

  /** Changes the priority of a job that has not started. */
  reprioritize(id: string, priority: Priority): Promise<JobInfo> {
    const value = typeof priority === 'number' || typeof priority === 'string' ? safePriority(priority) : NaN
    if (!Number.isInteger(value) || value < -1000 || value > 1000) {
      throw new SpoolError(
        'SPOOL_INVALID_OPTION',
        'priority must be urgent, high, normal, low or an integer from -1000 to 1000',
        {
          field: 'priority',
        },
      )
    }
    return this.apply(id, 'reprioritize', (now) => this.store.jobReprioritize({ id, priority: value, now }))
  }

  /** scheduled → waiting now. */
  promote(id: string): Promise<JobInfo> {
    return this.apply(id, 'promote', (now) => this.store.jobPromote({ id, now }))
  }

  /** Deletes a job that is not running, with its history. */
  async remove(id: string): Promise<void> {
    await this.apply(id, 'remove', (now) => this.store.jobRemove({ id, now }))
  }

  /**
   * How many jobs run before this one, and a guess at the wait from recent throughput.
   *
   * @example
   * const { position, estimatedWaitMs } = (await spool.jobs.position(id)) ?? {}
   */
  async position(id: string): Promise<{ position: number; estimatedWaitMs: number | null } | null> {
    const now = Date.now()
    const job = await this.store.jobGet({ id: String(id) })
    if (!job) throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${id}`, { field: 'id' })
    const position = await this.store.jobPosition({ id: job.id, now })
    if (position === null) return null
    const perMinute = throughput(await this.store.statsBuckets({ queue: job.queue, since: now - 6 * 60_000 }), now)
    return { position, estimatedWaitMs: perMinute > 0 ? Math.round(((position + 1) / perMinute) * 60_000) : null }
  }

  /** The job's events, oldest first: state changes, progress and log lines. */
  history(id: string, options: { afterId?: number; limit?: number } = {}) {
    return this.store.eventList({ jobId: String(id), afterId: options.afterId ?? 0, limit: options.limit ?? 1_000 })
  }

  private async apply(
    id: string,
    action: string,
    change: (now: number) => ReturnType<Store['jobCancel']>,
  ): Promise<JobInfo> {
    this.spool.assertOpen()
    const outcome = await change(Date.now())
    if (!outcome.ok) {
      if (outcome.reason === 'invalid_state') {
        throw new SpoolError('SPOOL_INVALID_TRANSITION', `cannot ${action} a job that is ${outcome.state}`, {
          field: 'state',
          state: outcome.state,
        })
      }
      throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${id}`, { field: 'id' })
    }
    this.spool.changed([outcome.job.queue])
    return toJobInfo(outcome.job, this.spool.codec)
  }
}

function safePriority(priority: Priority): number {
  try {
    return priorityValue(priority)
  } catch {
    return Number.NaN
  }
}

function decodeCursor(cursor: string): string {
  const match = /^id:(\d+)$/.exec(Buffer.from(String(cursor), 'base64url').toString())
  if (!match) throw new SpoolError('SPOOL_INVALID_OPTION', 'cursor is not one this API returned', { field: 'cursor' })
  return match[1] as string
}
