/**
 * Job searches on PostgreSQL beyond queue and state (which have statements of their own in
 * queries.sql): the WHERE is put together from the fixed terms below, in their order, each with
 * its own numbered parameter, so a search's text depends only on which filters it uses and its
 * order, and is prepared once per connection under a name that says which. Values never enter
 * the text. Text search matches the payload's JSON text, and the error search each attempt's
 * error message, case-insensitively (ILIKE, its wildcards escaped).
 */
import type { JobFilter, JobOrder } from '../store.js'

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
  ['error', (p) => `EXISTS (SELECT 1 FROM jsonb_array_elements(errors) e WHERE e->>'message' ILIKE ${p})`],
]

/** A search statement: its prepared name, its text and its values ($1 the keyset, $2 limit, then the filters'). */
export interface JobSearch {
  name: string
  text: string
  values: unknown[]
}

const escapeLike = (text: unknown) => `%${String(text).replace(/[\\%_]/g, (c) => `\\${c}`)}%`

function filterTerms(filter: JobFilter, first: number): { mask: number; terms: string[]; values: unknown[] } {
  const used = SEARCH_TERMS.filter(([field]) => filter[field] !== undefined)
  let mask = 0
  for (const [i, [field]] of SEARCH_TERMS.entries()) if (filter[field] !== undefined) mask |= 1 << i
  return {
    mask,
    terms: used.map(([, term], i) => term(`$${i + first}`)),
    values: used.map(([field]) => (field === 'text' || field === 'error' ? escapeLike(filter[field]) : filter[field])),
  }
}

/**
 * The statement for a filter and order, or null when queue and state alone are asked for in the
 * default order (newest first). `columns` and `table` (quoted, with its schema) are the store's;
 * `cache` keeps each shape's text. `$1` is the keyset: the id to start after (and, ordering by
 * run_at, the run_at in the last parameter).
 *
 * @example
 * const search = jobSearch({ tenant: 'clinic-a', text: 'jane' }, 'id, queue', '"spool".jobs', new Map())
 */
export function jobSearch(
  filter: JobFilter & { beforeRunAt?: number; order?: JobOrder },
  columns: string,
  table: string,
  cache: Map<string, string>,
): JobSearch | null {
  const order = filter.order ?? { by: 'id', dir: 'desc' }
  const plain = order.by === 'id' && order.dir === 'desc'
  const { mask, terms, values } = filterTerms(filter, 3)
  const onlyQueueState = SEARCH_TERMS.every(
    ([field]) => field === 'queue' || field === 'state' || filter[field] === undefined,
  )
  if (plain && onlyQueueState) return null
  const key = `${mask}_${order.by}_${order.dir}`
  let text = cache.get(key)
  const cmp = order.dir === 'asc' ? '>' : '<'
  const dir = order.dir.toUpperCase()
  if (text === undefined) {
    const keyset = order.by === 'id' ? `id ${cmp} $1` : `(run_at, id) ${cmp} ($${terms.length + 3}, $1)`
    const by = order.by === 'id' ? `id ${dir}` : `run_at ${dir}, id ${dir}`
    text = `SELECT ${columns} FROM ${table} WHERE ${[keyset, ...terms].join(' AND ')} ORDER BY ${by} LIMIT $2`
    cache.set(key, text)
  }
  return {
    name: `spool_jobSearch_${key}`,
    text,
    values: order.by === 'runAt' ? [...values, filter.beforeRunAt] : values,
  }
}

/**
 * The statement counting the jobs that match a filter, at most `$1` of them.
 *
 * @example
 * const count = jobCountSearch({ tenant: 'clinic-a', state: 'failed' }, '"spool".jobs', new Map())
 */
export function jobCountSearch(filter: JobFilter, table: string, cache: Map<string, string>): JobSearch {
  const { mask, terms, values } = filterTerms(filter, 2)
  const key = `count_${mask}`
  let text = cache.get(key)
  if (text === undefined) {
    const where = terms.length > 0 ? ` WHERE ${terms.join(' AND ')}` : ''
    text = `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${table}${where} LIMIT $1) matched`
    cache.set(key, text)
  }
  return { name: `spool_jobSearch_${key}`, text, values }
}
