/**
 * Jobs out as JSON Lines or CSV, for the export route and `spool jobs export`: pages through
 * the listing (500 jobs a page) and yields text as it goes, so an export of any size holds one
 * page in memory and a slow reader slows the reading (the stream's backpressure), nothing more.
 */
import type { JobListOptions } from '../engine/job-admin.js'
import type { Spool } from '../engine/spool.js'
import { type ApiJob, toApiJob } from './routes/common.js'

export type ExportFormat = 'jsonl' | 'csv'

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/jsonl; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
}

/** The CSV columns, in order, and how each is read from a job. */
const CSV_COLUMNS: [string, (job: ApiJob) => unknown][] = [
  ['id', (j) => j.id],
  ['queue', (j) => j.queue],
  ['tenant', (j) => j.tenant],
  ['state', (j) => j.state],
  ['priority', (j) => j.priority],
  ['attempt', (j) => j.attempt],
  ['maxAttempts', (j) => j.maxAttempts],
  ['group', (j) => j.group],
  ['tags', (j) => j.tags.join(' ')],
  ['idempotencyKey', (j) => j.idempotencyKey],
  ['createdAt', (j) => j.createdAt],
  ['runAt', (j) => j.runAt],
  ['startedAt', (j) => j.startedAt],
  ['finishedAt', (j) => j.finishedAt],
  ['workerId', (j) => j.workerId],
  ['progress', (j) => j.progress?.percent ?? null],
  ['lastError', (j) => j.errors.at(-1)?.message ?? null],
  ['payload', (j) => JSON.stringify(j.payload)],
  ['result', (j) => (j.result === null ? null : JSON.stringify(j.result))],
]

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. Text that a
 * spreadsheet would run as a formula (beginning with =, +, -, @, tab or CR) gets a leading `'`.
 *
 * @example
 * csvCell('=HYPERLINK("x")') // → `"'=HYPERLINK(""x"")"`
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return String(value)
  let text = String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/**
 * The export's text, a page of jobs at a time: JSON Lines (one job a line, as the API returns
 * it) or CSV (a header row, then one row a job).
 *
 * @example
 * for await (const chunk of exportJobs(spool, { tenant: 'clinic-a', state: 'failed' }, 'csv')) process.stdout.write(chunk)
 */
export async function* exportJobs(
  spool: Spool,
  filter: Omit<JobListOptions, 'cursor' | 'limit'>,
  format: ExportFormat,
): AsyncGenerator<string> {
  // The header goes with the first page, so the first chunk has read the store.
  let text = format === 'csv' ? `${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n` : ''
  let cursor: string | undefined
  do {
    const page = await spool.jobs.list({ ...filter, limit: 500, ...(cursor !== undefined && { cursor }) })
    for (const info of page.jobs) {
      const job = toApiJob(info)
      text +=
        format === 'jsonl'
          ? `${JSON.stringify(job)}\n`
          : `${CSV_COLUMNS.map(([, read]) => csvCell(read(job))).join(',')}\r\n`
    }
    if (text !== '') yield text
    text = ''
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
}
