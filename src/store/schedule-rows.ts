/**
 * Row mapping for the `schedules` table, shared by both stores. `options` is JSON text in both
 * dialects; `paused` is 0/1 in SQLite and a boolean in PostgreSQL.
 */
import type { Row } from './rows.js'
import type { CatchUpPolicy, NewSchedule, ScheduleRow } from './store.js'

/**
 * @example
 * const schedule = toSchedule(db.prepare('SELECT * FROM schedules WHERE name = ?').get('nightly'))
 */
export function toSchedule(row: Row): ScheduleRow {
  const options = row.options
  return {
    name: row.name as string,
    tenant: row.tenant as string,
    cron: row.cron as string,
    timezone: row.timezone as string,
    queue: row.queue as string,
    payload: row.payload as string,
    options: (typeof options === 'string' ? JSON.parse(options) : (options ?? {})) as Record<string, unknown>,
    catchUp: row.catch_up as CatchUpPolicy,
    paused: row.paused === true || row.paused === 1,
    nextRunAt: row.next_run_at === null ? null : Number(row.next_run_at),
    lastRunAt: row.last_run_at === null ? null : Number(row.last_run_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

/** The named parameters of an upsert (SQLite names them, PostgreSQL numbers them in this order). */
export function scheduleParams(schedule: NewSchedule) {
  return {
    name: schedule.name,
    tenant: schedule.tenant,
    cron: schedule.cron,
    timezone: schedule.timezone,
    queue: schedule.queue,
    payload: schedule.payload,
    options: JSON.stringify(schedule.options),
    catchUp: schedule.catchUp,
    paused: schedule.paused,
    nextRunAt: schedule.nextRunAt,
  }
}
