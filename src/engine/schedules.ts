/**
 * `spool.schedules`: cron schedules that enqueue one job per tick.
 *
 * Design, and what it trades:
 * - **Where ticks run.** The maintenance leader fires due schedules on each pass, so one node
 *   does the work. Leadership alone cannot promise "once": during a takeover an old leader that
 *   has not noticed it lost the lease may still be mid-pass. The promise comes from the database:
 *   1. every tick is enqueued through the normal enqueue path with the idempotency key
 *      `cron:<name>:<tick ms>`, so a second enqueue of the same tick returns the first job;
 *   2. the schedule then moves on with a compare-and-set (`next_run_at = new WHERE next_run_at =
 *      old`), so of two nodes that read the same next run, one advances it.
 *   Enqueue first, advance second: a node that dies in between leaves the tick due, and the next
 *   pass enqueues it again, which the key turns into nothing. The key holds while the job row
 *   exists (retention keeps completed jobs 24 h by default), far longer than any such retry.
 * - **Late or missed.** A tick the leader reaches within `graceMs` (10 maintenance intervals,
 *   10 s by default: longer than a leader takeover) is only late, and is always enqueued. Older
 *   ticks were missed while no node ran, and the schedule's catch-up policy decides: `none`
 *   skips them, `latest` enqueues the newest, `all` enqueues them all (the newest 100). They
 *   are found with croner's `previousRuns`, so a day of a per-second schedule costs 100 steps.
 * - The payload is stored through Spool's codec, as jobs' payloads are (encrypted by the server).
 * - Times are croner's: IANA time zones, DST gaps and repeats as croner resolves them, whole
 *   seconds. Expressions have 5 fields, 6 (with seconds first) or 7 (with a year), or a nickname
 *   such as `@hourly`.
 */
import { Cron } from 'croner'
import { z } from 'zod'
import type { CatchUpPolicy, ScheduleRow, Store } from '../store/store.js'
import type { Codec } from './codec.js'
import type { EngineContext } from './context.js'
import { SpoolError } from './errors.js'
import { describeError, type Logger } from './logger.js'
import { assertQueueName, type EnqueueOptions, serialisePayload, toNewJob } from './options.js'

export type { CatchUpPolicy } from '../store/store.js'

/** Missed ticks `all` enqueues at most (the newest). */
export const MAX_CATCH_UP = 100
/** Late ticks enqueued at most in one pass (a per-second schedule with a long grace). */
const MAX_LATE = 1_000
/** Schedules fired per maintenance pass; the rest are due on the next one. */
const DUE_PER_PASS = 100
const MAX_PREVIEW = 1_000
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
const NAME_RULE = 'a schedule name is 1–128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit'

/** Enqueue options a schedule cannot take, and why. */
const FIXED_BY_SCHEDULE: Record<string, string> = {
  runAt: 'each tick sets the run time of its job (use delayMs to run later than the tick)',
  idempotencyKey: 'each tick sets the idempotency key of its job (cron:<name>:<tick>)',
  dependsOn: 'a dependency would hold back every tick; enqueue a flow from a handler instead',
}

/** The enqueue options of a schedule's jobs: all but a fixed time, the idempotency key and dependencies. */
export type ScheduleEnqueueOptions = Omit<EnqueueOptions, 'runAt' | 'idempotencyKey' | 'dependsOn'>

export interface ScheduleInput {
  /** 1–128 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit. */
  name: string
  /** `0 9 * * MON-FRI`, `30 0 9 * * *` (seconds first), `@daily`… */
  cron: string
  /** An IANA time zone such as `Europe/Berlin` (default `UTC`). */
  timezone?: string
  queue: string
  payload?: unknown
  options?: ScheduleEnqueueOptions
  /** Ticks missed while no node ran: `none`, `latest` (default) or `all` (at most 100). */
  catchUp?: CatchUpPolicy
  /** Create or keep it paused (default false). */
  paused?: boolean
}

export interface ScheduleInfo {
  name: string
  tenant: string
  cron: string
  timezone: string
  queue: string
  payload: unknown
  options: ScheduleEnqueueOptions
  catchUp: CatchUpPolicy
  paused: boolean
  /** The next tick to enqueue; null when the expression never fires again. */
  nextRunAt: Date | null
  /** The newest tick enqueued. */
  lastRunAt: Date | null
  createdAt: Date
  updatedAt: Date
}

/** What a job enqueued by a schedule carries in `metadata.schedule`. */
export interface ScheduleTickMetadata {
  name: string
  /** The tick, epoch ms. */
  tick: number
  /** Present when the tick was missed and enqueued by the catch-up policy. */
  missed?: true
  /** Present when the job was enqueued by `runNow` (a "run now" in the dashboard), not by a tick. */
  manual?: true
}

const inputSchema = z.strictObject({
  name: z.string().regex(NAME, NAME_RULE),
  cron: z.string().min(1).max(256),
  timezone: z.string().min(1).max(64).optional(),
  queue: z.string(),
  payload: z.unknown().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  catchUp: z.enum(['none', 'latest', 'all']).optional(),
  paused: z.boolean().optional(),
})

/** A due tick: its time, and whether it was missed (older than the grace period). */
export interface DueTick {
  at: number
  missed: boolean
}

/**
 * Parses an expression in a time zone; throws `SPOOL_INVALID_OPTION` naming `cron` or `timezone`.
 *
 * @example
 * parseCron('0 9 * * MON-FRI', 'Europe/Berlin').nextRun() // the next weekday, 09:00 in Berlin
 */
export function parseCron(expression: string, timezone: string): Cron {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone })
  } catch {
    throw new SpoolError('SPOOL_INVALID_OPTION', `timezone: "${timezone}" is not an IANA time zone`, {
      field: 'timezone',
    })
  }
  try {
    return new Cron(expression, { timezone, paused: true })
  } catch (error) {
    throw new SpoolError('SPOOL_INVALID_OPTION', `cron: ${(error as Error).message}`, { field: 'cron' })
  }
}

/** The first tick strictly after `after`, or null when there is none. */
export function nextTick(cron: Cron, after: number): number | null {
  return cron.nextRun(new Date(after))?.getTime() ?? null
}

/**
 * The ticks to enqueue for a schedule whose next run is `from`, at `now`: late ticks (within
 * `graceMs` of now) always, missed ones as `policy` says; oldest first.
 *
 * @example
 * dueTicks(parseCron('0 * * * *', 'UTC'), Date.UTC(2024, 0, 1, 10), Date.UTC(2024, 0, 1, 13, 30), 'latest', 10_000)
 * // [{ at: 13:00, missed: true }]
 */
export function dueTicks(cron: Cron, from: number, now: number, policy: CatchUpPolicy, graceMs: number): DueTick[] {
  if (from > now) return []
  const lateFrom = Math.max(from, now - graceMs)
  const ticks: DueTick[] = []
  if (from < lateFrom && policy !== 'none') {
    // previousRuns is strictly before its reference: the missed ticks are in [from, lateFrom).
    const missed = cron.previousRuns(policy === 'latest' ? 1 : MAX_CATCH_UP, new Date(lateFrom))
    for (const date of missed.reverse()) {
      if (date.getTime() >= from) ticks.push({ at: date.getTime(), missed: true })
    }
  }
  let at = lateFrom === from ? from : nextTick(cron, lateFrom - 1)
  for (let late = 0; at !== null && at <= now && late < MAX_LATE; late++) {
    ticks.push({ at, missed: false })
    at = nextTick(cron, at)
  }
  return ticks
}

/**
 * `spool.schedules`: create, change, pause, remove and preview cron schedules.
 *
 * @example
 * await spool.schedules.upsert({ name: 'nightly-report', cron: '0 3 * * *', timezone: 'Europe/Berlin', queue: 'reports', payload: { kind: 'daily' } })
 * await spool.schedules.preview('nightly-report', 3) // the next three runs, as Dates
 */
export class Schedules {
  private readonly crons = new Map<string, Cron>()

  constructor(
    private readonly spool: EngineContext,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly settings: { maxPayloadBytes: number; graceMs: number },
  ) {}

  /**
   * Creates a schedule, or replaces its settings. The next run is kept when the cron, time zone
   * and paused flag are unchanged, so re-applying the same schedules at every start is safe.
   *
   * @example
   * await spool.schedules.upsert({ name: 'sync', cron: '*\/10 * * * *', queue: 'sync', options: { priority: 'high' }, catchUp: 'none' })
   */
  async upsert(input: ScheduleInput): Promise<ScheduleInfo> {
    const parsed = inputSchema.safeParse(input)
    if (!parsed.success) {
      const issue = parsed.error.issues[0] as z.core.$ZodIssue
      const field = issue.path.map(String).join('.')
      throw new SpoolError('SPOOL_INVALID_OPTION', `${field || 'schedule'}: ${issue.message}`, { field })
    }
    const { name, cron, queue, options = {} } = parsed.data
    const timezone = parsed.data.timezone ?? 'UTC'
    assertQueueName(queue)
    const parsedCron = this.cron(cron, timezone)
    const now = Date.now()
    const nextRunAt = nextTick(parsedCron, now)
    if (nextRunAt === null) {
      throw new SpoolError('SPOOL_INVALID_OPTION', `cron: "${cron}" never fires after now`, { field: 'cron' })
    }
    for (const [key, why] of Object.entries(FIXED_BY_SCHEDULE)) {
      if (key in options) {
        throw new SpoolError('SPOOL_INVALID_OPTION', `options.${key}: ${why}`, { field: `options.${key}` })
      }
    }
    const payload = serialisePayload(parsed.data.payload, this.settings.maxPayloadBytes)
    try {
      toNewJob(queue, null, options as EnqueueOptions, { now, maxPayloadBytes: this.settings.maxPayloadBytes })
    } catch (error) {
      if (!(error instanceof SpoolError) || error.field === undefined) throw error
      throw new SpoolError(error.code, `options.${error.message}`, {
        ...error.details,
        field: `options.${error.field}`,
      })
    }
    const row = await this.store.scheduleUpsert({
      schedule: {
        name,
        tenant: typeof options.tenant === 'string' ? options.tenant : 'default',
        cron,
        timezone,
        queue,
        // At rest as jobs' payloads are: through the codec (the server's encryption).
        payload: this.spool.codec.encode(payload),
        options,
        catchUp: parsed.data.catchUp ?? 'latest',
        paused: parsed.data.paused ?? false,
        nextRunAt,
      },
      now,
    })
    return this.info(row)
  }

  /** The schedule, or null when there is none of that name. */
  async get(name: string): Promise<ScheduleInfo | null> {
    assertName(name)
    const row = await this.store.scheduleGet({ name })
    return row ? this.info(row) : null
  }

  /** Every schedule (of one tenant, when given), by name. */
  async list(filter: { tenant?: string } = {}): Promise<ScheduleInfo[]> {
    const rows = await this.store.scheduleList(filter.tenant === undefined ? {} : { tenant: filter.tenant })
    return rows.map((row) => this.info(row))
  }

  /** No ticks are enqueued while paused, on any node. */
  async pause(name: string): Promise<ScheduleInfo> {
    return this.setPaused(name, true)
  }

  /** Runs again from the next tick after now; ticks that fell while paused are not caught up. */
  async resume(name: string): Promise<ScheduleInfo> {
    return this.setPaused(name, false)
  }

  /** Deletes the schedule; jobs it already enqueued stay. */
  async remove(name: string): Promise<void> {
    assertName(name)
    if (!(await this.store.scheduleDelete({ name }))) throw notFound(name)
  }

  /**
   * Enqueues one job of the schedule now, as a tick would (its queue, payload and options, in its
   * tenant), whether it is paused or not. The cadence stays: the next run and the last run are
   * unchanged. The job's `metadata.schedule` is `{ name, tick: <now>, manual: true }`; it has no
   * idempotency key, so each call enqueues one more job.
   *
   * @example
   * const { id } = await spool.schedules.runNow('nightly-report')
   */
  async runNow(name: string): Promise<{ id: string; queue: string }> {
    assertName(name)
    const row = await this.store.scheduleGet({ name })
    if (!row) throw notFound(name)
    const now = Date.now()
    const payload: unknown = JSON.parse(this.spool.codec.decode(row.payload))
    const options = row.options as EnqueueOptions
    const [result] = await this.spool.enqueueMany(
      row.queue,
      [
        {
          payload,
          options: {
            ...options,
            metadata: { ...options.metadata, schedule: { name: row.name, tick: now, manual: true } },
          },
        },
      ],
      { position: false },
    )
    return { id: (result as { id: string }).id, queue: row.queue }
  }

  /**
   * The next `count` (1–1000, default 5) run times after now of a schedule, or of an expression.
   *
   * @example
   * await spool.schedules.preview({ cron: '0 9 * * MON-FRI', timezone: 'America/New_York' }, 3)
   */
  async preview(target: string | { cron: string; timezone?: string }, count = 5): Promise<Date[]> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_PREVIEW) {
      throw new SpoolError('SPOOL_INVALID_OPTION', `count: an integer from 1 to ${MAX_PREVIEW}`, { field: 'count' })
    }
    let cron: string
    let timezone: string
    if (typeof target === 'string') {
      assertName(target)
      const row = await this.store.scheduleGet({ name: target })
      if (!row) throw notFound(target)
      cron = row.cron
      timezone = row.timezone
    } else if (target !== null && typeof target === 'object' && typeof target.cron === 'string') {
      cron = target.cron
      timezone = target.timezone ?? 'UTC'
    } else {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'preview takes a schedule name or { cron, timezone }', {
        field: 'cron',
      })
    }
    return this.cron(cron, timezone).nextRuns(count, new Date())
  }

  /**
   * @internal One pass: enqueue the due ticks of every due schedule. The maintenance leader
   * calls it; safe to run on several nodes at once (see the top of this file). Returns the jobs
   * created.
   */
  async tick(now = Date.now()): Promise<number> {
    let created = 0
    for (const schedule of await this.store.scheduleDue({ now, limit: DUE_PER_PASS })) {
      try {
        created += await this.fire(schedule, now)
      } catch (error) {
        if (error instanceof SpoolError && error.code === 'SPOOL_CLOSED') return created
        this.logger.warn(
          { schedule: schedule.name, ...describeError(error) },
          'schedule tick failed; it stays due and is tried again',
        )
      }
    }
    return created
  }

  private async fire(schedule: ScheduleRow, now: number): Promise<number> {
    const from = schedule.nextRunAt as number
    const cron = this.cron(schedule.cron, schedule.timezone)
    const ticks = dueTicks(cron, from, now, schedule.catchUp, this.settings.graceMs)
    let created = 0
    if (ticks.length > 0) {
      const payload: unknown = JSON.parse(this.spool.codec.decode(schedule.payload))
      const options = schedule.options as EnqueueOptions
      const results = await this.spool.enqueueMany(
        schedule.queue,
        ticks.map((tick) => ({
          payload,
          options: {
            ...options,
            idempotencyKey: `cron:${schedule.name}:${tick.at}`,
            metadata: {
              ...options.metadata,
              schedule: { name: schedule.name, tick: tick.at, ...(tick.missed && { missed: true }) },
            },
          },
        })),
        { position: false },
      )
      created = results.filter((result) => result.created).length
    }
    await this.store.scheduleAdvance({
      name: schedule.name,
      from,
      cron: schedule.cron,
      timezone: schedule.timezone,
      nextRunAt: nextTick(cron, now),
      lastRunAt: ticks.at(-1)?.at ?? null,
    })
    return created
  }

  private async setPaused(name: string, paused: boolean): Promise<ScheduleInfo> {
    assertName(name)
    const now = Date.now()
    let nextRunAt: number | null = null
    if (!paused) {
      const row = await this.store.scheduleGet({ name })
      if (!row) throw notFound(name)
      nextRunAt = nextTick(this.cron(row.cron, row.timezone), now)
    }
    const row = await this.store.scheduleSetPaused({ name, paused, nextRunAt, now })
    if (!row) throw notFound(name)
    return this.info(row)
  }

  private info(row: ScheduleRow): ScheduleInfo {
    return toInfo(row, this.spool.codec)
  }

  /** Parsed expressions, kept: a pass over many schedules parses each once. */
  private cron(expression: string, timezone: string): Cron {
    const key = `${timezone}\n${expression}`
    let cron = this.crons.get(key)
    if (!cron) {
      cron = parseCron(expression, timezone)
      if (this.crons.size >= 1_000) this.crons.clear()
      this.crons.set(key, cron)
    }
    return cron
  }
}

function assertName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new SpoolError('SPOOL_INVALID_OPTION', `name: ${NAME_RULE}`, { field: 'name' })
  }
}

function notFound(name: string): SpoolError {
  return new SpoolError('SPOOL_SCHEDULE_NOT_FOUND', `no schedule named "${name}"`, { name })
}

function toInfo(row: ScheduleRow, codec: Codec): ScheduleInfo {
  return {
    name: row.name,
    tenant: row.tenant,
    cron: row.cron,
    timezone: row.timezone,
    queue: row.queue,
    payload: JSON.parse(codec.decode(row.payload)) as unknown,
    options: row.options as ScheduleEnqueueOptions,
    catchUp: row.catchUp,
    paused: row.paused,
    nextRunAt: row.nextRunAt === null ? null : new Date(row.nextRunAt),
    lastRunAt: row.lastRunAt === null ? null : new Date(row.lastRunAt),
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  }
}
