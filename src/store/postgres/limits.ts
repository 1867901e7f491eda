/**
 * The constrained claim's bookkeeping on PostgreSQL that needs no database: rate-limit keys as
 * stored, and what each group of a queue may still start (postgres-store.ts reads the rows and
 * leases the jobs under the queue's row lock).
 */
import { bucketStart, type Row, rateBucketWidth } from '../rows.js'
import type { ClaimConstraints } from '../store.js'

/**
 * A rate-limit or token key as stored: PostgreSQL text cannot hold NUL, the separator of the
 * shared keys (rows.ts), so it becomes U+0001 here (queue names never contain either).
 */
export function pgKey(key: string): string {
  return key.replaceAll('\u0000', '\u0001')
}

/** The first key after every key starting with `prefix` (which ends with the separator U+0001). */
export function keyAfter(prefix: string): string {
  return `${prefix.slice(0, -1)}\u0002`
}

/** The groupUsage statement's parameters after the queue: the group keys' range, the window's first bucket. */
export function groupUsageRange(prefix: string, limits: ClaimConstraints, now: number): [string, string, number] {
  const rate = limits.groupRate
  if (!rate) return [prefix, prefix, now] // an empty key range: no group rate to count
  return [prefix, keyAfter(prefix), bucketStart(now - rate.windowMs, rateBucketWidth(rate.windowMs))]
}

/** What the groups of a queue may start in one constrained claim. */
export interface GroupAllowances {
  /** When held-back or exhausted groups may start again (null: none is). */
  readonly retryAt: number | null
  /** Groups the candidates leave out. */
  blocked(): string[]
  /** Spends one start of a group; false when it has none left. */
  take(group: string): boolean
  /** Returns a start that could not be leased (another transaction held the row). */
  giveBack(group: string): void
}

/**
 * Each group's allowance: its concurrency cap less its active jobs, and its rate limit less its
 * counted starts; groups held back until a time (Retry-After) start nothing. `rows` are
 * groupUsage's; `prefix` is the queue's group key prefix as stored.
 */
export function groupAllowances(rows: Row[], limits: ClaimConstraints, prefix: string): GroupAllowances {
  const rate = limits.groupRate
  const width = rate ? rateBucketWidth(rate.windowMs) : 1
  const paused = new Set<string>()
  const allowance = new Map<string, number>()
  let retryAt: number | null = null
  const later = (at: number) => {
    retryAt = retryAt === null ? at : Math.min(retryAt, at)
  }
  const fresh = Math.min(limits.groupConcurrency ?? Number.POSITIVE_INFINITY, rate?.max ?? Number.POSITIVE_INFINITY)
  const lower = (group: string, left: number) => allowance.set(group, Math.min(allowance.get(group) ?? fresh, left))
  for (const row of rows) {
    const n = row.n as number
    if (row.kind === 'paused') {
      paused.add(row.grp as string)
      later(n)
    } else if (row.kind === 'active') {
      if (limits.groupConcurrency !== undefined) lower(row.grp as string, limits.groupConcurrency - n)
    } else if (rate) {
      const left = rate.max - n
      lower((row.grp as string).slice(prefix.length), left)
      if (left <= 0) later((row.oldest as number) + width + rate.windowMs)
    }
  }
  return {
    get retryAt(): number | null {
      return retryAt
    },
    blocked: () => [...paused, ...[...allowance].filter(([, left]) => left <= 0).map(([group]) => group)],
    take(group) {
      if (paused.has(group)) return false
      const left = allowance.get(group) ?? fresh
      if (left <= 0) return false
      allowance.set(group, left - 1)
      return true
    },
    giveBack(group) {
      allowance.set(group, (allowance.get(group) ?? fresh) + 1)
    },
  }
}
