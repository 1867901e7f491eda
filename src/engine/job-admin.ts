/** `spool.jobs`: find, inspect and steer jobs. */
import type { DependentRow, JobFilter, JobOrder, JobRow, JobState, Store } from '../store/store.js'
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
  /** Text any attempt's error message contains (case-insensitive). */
  error?: string
  /** `created` (the default: the order jobs were created in, i.e. by id) or `runAt` (when the job runs or ran). */
  sort?: 'created' | 'runAt'
  /** `desc` (the default: newest or latest first) or `asc`. */
  order?: 'asc' | 'desc'
  cursor?: string
  limit?: number
}

/** Jobs by state that match a filter, each counted up to a cap. */
export interface JobCounts {
  counts: Record<JobState, number>
  /** The states whose count reached the cap (their count is "at least"). */
  capped: JobState[]
  /** The cap each state's count stops at. */
  cap: number
}

/** The most a count goes to per state: counting further would read every matching row each time. */
export const COUNT_CAP = 10_000

/** The cursor names the order it belongs to, so a cursor of one order is refused in another. */
function encodeCursor(order: JobOrder, row: JobRow): string {
  const text =
    order.by === 'id' && order.dir === 'desc'
      ? `id:${row.id}`
      : `${order.by}.${order.dir}:${row.id}${order.by === 'runAt' ? `:${row.runAt}` : ''}`
  return Buffer.from(text).toString('base64url')
}

function toOrder(sort: unknown, dir: unknown): JobOrder {
  if (sort !== undefined && sort !== 'created' && sort !== 'runAt') {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'sort must be created or runAt', { field: 'sort' })
  }
  if (dir !== undefined && dir !== 'asc' && dir !== 'desc') {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'order must be asc or desc', { field: 'order' })
  }
  return { by: sort === 'runAt' ? 'runAt' : 'id', dir: dir === 'asc' ? 'asc' : 'desc' }
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
    const { cursor } = options
    const limit = options.limit ?? 50
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'limit must be an integer from 1 to 1000', { field: 'limit' })
    }
    const { filter, needle } = this.filterOf(options)
    const order = toOrder(options.sort, options.order)
    const codec = this.spool.codec
    let from = cursor !== undefined ? decodeCursor(cursor, order) : undefined
    const page = (size: number) =>
      this.store.jobList({
        ...filter,
        limit: size,
        ...((order.by !== 'id' || order.dir !== 'desc') && { order }),
        ...(from !== undefined && { beforeId: from.id, ...(from.runAt !== undefined && { beforeRunAt: from.runAt }) }),
      })
    if (needle === undefined) {
      const rows = await page(limit + 1)
      const kept = rows.slice(0, limit)
      const last = kept.at(-1)
      return {
        jobs: kept.map((row) => toJobInfo(row, codec)),
        nextCursor: rows.length > limit && last ? encodeCursor(order, last) : null,
      }
    }
    // Payloads stored encoded (encrypted) are decoded and searched here, scanning at most
    // SEARCH_SCAN jobs per page.
    const found: JobInfo[] = []
    let lastRow: JobRow | undefined
    let scanned = 0
    for (;;) {
      const rows = await page(200)
      let stoppedEarly = false
      for (const [i, row] of rows.entries()) {
        lastRow = row
        from = { id: row.id, runAt: row.runAt }
        scanned += 1
        const info = toJobInfo(row, codec)
        if (JSON.stringify(info.payload).toLowerCase().includes(needle)) found.push(info)
        if (found.length === limit) {
          stoppedEarly = i < rows.length - 1
          break
        }
      }
      const exhausted = rows.length < 200 && !stoppedEarly
      if (found.length === limit || scanned >= SEARCH_SCAN || exhausted) {
        return { jobs: found, nextCursor: exhausted || !lastRow ? null : encodeCursor(order, lastRow) }
      }
    }
  }

  /**
   * Jobs by state matching the filter (the listing's filters; with `state`, only that state is
   * counted), each counted up to `cap`. A text search over encrypted payloads decodes them here,
   * reading at most the cap's worth of jobs: past that, every state is marked capped.
   *
   * @example
   * const { counts, capped } = await spool.jobs.counts({ tenant: 'clinic-a', tag: 'odd' })
   * console.log(`${counts.failed}${capped.includes('failed') ? '+' : ''} failed`)
   */
  async counts(
    options: Omit<JobListOptions, 'cursor' | 'limit' | 'sort' | 'order'> = {},
    cap = COUNT_CAP,
  ): Promise<JobCounts> {
    const { filter, needle } = this.filterOf(options)
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>
    const states = filter.state !== undefined ? [filter.state] : JOB_STATES
    if (
      needle === undefined &&
      Object.keys(filter).every((key) => key === 'tenant' || key === 'queue' || key === 'state')
    ) {
      // Queue and tenant alone: the exact counts the queue pages show (one grouped read, no cap).
      const byQueue = await this.store.queueCounts({
        ...(filter.queue !== undefined && { queue: filter.queue }),
        ...(filter.tenant !== undefined && { tenant: filter.tenant }),
      })
      for (const perQueue of Object.values(byQueue)) for (const state of states) counts[state] += perQueue[state] ?? 0
      return { counts, capped: [], cap }
    }
    if (needle === undefined) {
      const capped: JobState[] = []
      for (const state of states) {
        counts[state] = await this.store.jobCount({ ...filter, state, limit: cap })
        if (counts[state] >= cap) capped.push(state)
      }
      return { counts, capped, cap }
    }
    let beforeId: string | undefined
    let scanned = 0
    const size = Math.min(500, cap)
    for (;;) {
      const rows = await this.store.jobList({ ...filter, limit: size, ...(beforeId !== undefined && { beforeId }) })
      for (const row of rows) {
        beforeId = row.id
        scanned += 1
        const payload: unknown = JSON.parse(this.spool.codec.decode(row.payload))
        if (JSON.stringify(payload).toLowerCase().includes(needle)) counts[row.state] += 1
      }
      if (rows.length < size) return { counts, capped: [], cap }
      if (scanned >= cap) return { counts, capped: [...states], cap }
    }
  }

  /** The store's filter from the listing's options, and the text to search for here (encrypted payloads). */
  private filterOf(options: Omit<JobListOptions, 'cursor' | 'limit'>): { filter: JobFilter; needle?: string } {
    const { queue, state, text, error } = options
    if (queue !== undefined) assertQueueName(queue)
    if (state !== undefined && !JOB_STATES.includes(state)) {
      throw new SpoolError('SPOOL_INVALID_OPTION', `state must be one of ${JOB_STATES.join(', ')}`, { field: 'state' })
    }
    for (const [field, value] of [
      ['text', text],
      ['error', error],
    ] as const) {
      if (value !== undefined && (typeof value !== 'string' || value.length > 200)) {
        throw new SpoolError('SPOOL_INVALID_OPTION', `${field} must be a string of at most 200 characters`, { field })
      }
    }
    const filter: JobFilter = {
      ...(queue !== undefined && { queue }),
      ...(state !== undefined && { state }),
      ...(options.tenant !== undefined && { tenant: options.tenant }),
      ...(options.group !== undefined && { group: options.group }),
      ...(options.tag !== undefined && { tag: options.tag }),
      ...(options.createdAfter !== undefined && { createdAfter: toTime(options.createdAfter, 'createdAfter') }),
      ...(options.createdBefore !== undefined && { createdBefore: toTime(options.createdBefore, 'createdBefore') }),
      ...(error !== undefined && error !== '' && { error }),
    }
    // Payloads stored in plain text are searched by the database; encoded (encrypted) ones here.
    if (text === undefined || text === '') return { filter }
    if (this.spool.codec === PLAIN) return { filter: { ...filter, text } }
    return { filter, needle: text.toLowerCase() }
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

function decodeCursor(cursor: string, order: JobOrder): { id: string; runAt?: number } {
  const text = Buffer.from(String(cursor), 'base64url').toString()
  const plain = order.by === 'id' && order.dir === 'desc'
  const match = plain ? /^id:(\d+)$/.exec(text) : /^(\w+)\.(\w+):(\d+)(?::(\d+))?$/.exec(text)
  if (
    !match ||
    (!plain && (match[1] !== order.by || match[2] !== order.dir || (order.by === 'runAt') !== (match[4] !== undefined)))
  ) {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'cursor is not one this API returned for this order', {
      field: 'cursor',
    })
  }
  if (plain) return { id: match[1] as string }
  return { id: match[3] as string, ...(match[4] !== undefined && { runAt: Number(match[4]) }) }
}
