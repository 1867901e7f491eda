/**
 * Job searches on PostgreSQL beyond queue and state (which have statements of their own in
 * queries.sql): the WHERE is put together from the fixed terms below, in their order, each with
 * its own numbered parameter, so a search's text depends only on which filters it uses, and is
 * prepared once per connection under a name that says which. Values never enter the text. Text
 * search matches the payload's JSON text, case-insensitively (ILIKE, its wildcards escaped).
 */
import type { JobFilter } from '../store.js'

/** The job-search terms, in the order their parameters are numbered (see `jobSearch`). */
const SEARCH_TERMS: [keyof JobFilter, (param: string) => string][] = [
  ['tenant', (p) => `tenant = ${p}`],
  ['queue', (p) => `queue = ${p}`],
  ['state', (p) => `state = ${p}`],
  ['group', (p) => `grp = ${p}`],
  ['tag', (p) => `tags @> jsonb_build_array(${p}::text)`],
  ['createdAfter', (p) => `created_at >= ${p}`],
  ['createdBefore', (p) => `created_at < ${p}`],
  ['text', (p) => `payload ILIKE ${p}`],
]

/** A search statement: its prepared name, its text and its values ($1 before id, $2 limit, then the filters'). */
export interface JobSearch {
  name: string
  text: string
  values: unknown[]
}

/**
 * The statement for a filter, or null when queue and state alone are asked for. `columns` and
 * `table` (quoted, with its schema) are the store's; `cache` keeps each shape's text.
 *
 * @example
 * const search = jobSearch({ tenant: 'clinic-a', text: 'jane' }, 'id, queue', '"spool".jobs', new Map())
 */
export function jobSearch(
  filter: JobFilter,
  columns: string,
  table: string,
  cache: Map<number, string>,
): JobSearch | null {
  const used = SEARCH_TERMS.filter(([field]) => filter[field] !== undefined)
  if (used.every(([field]) => field === 'queue' || field === 'state')) return null
  let mask = 0
  for (const [i, [field]] of SEARCH_TERMS.entries()) if (filter[field] !== undefined) mask |= 1 << i
  let text = cache.get(mask)
  if (text === undefined) {
    const where = ['id < $1', ...used.map(([, term], i) => term(`$${i + 3}`))].join(' AND ')
    text = `SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY id DESC LIMIT $2`
    cache.set(mask, text)
  }
  const values = used.map(([field]) =>
    field === 'text' ? `%${String(filter.text).replace(/[\\%_]/g, (c) => `\\${c}`)}%` : filter[field],
  )
  return { name: `spool_jobSearch_${mask}`, text, values }
}
