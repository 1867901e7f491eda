/**
 * The gateway's response cache (opt-in per request: `Spool-Cache: ttl=<seconds>`): exact — the
 * same tenant, endpoint and upstream body, byte for byte after key ordering — kept in the
 * records store (`ai.cache`), so encrypted at rest when the server encrypts and shared by every
 * node. Only answers the provider gave with a 2xx are kept, by the worker that got them.
 *
 * Identical requests in flight coalesce: they carry the same idempotency key (the cache key and
 * the TTL's time slot), so the second re-attaches to the first one's job instead of calling the
 * provider again.
 */
import { createHash } from 'node:crypto'
import type { Spool } from '../engine/spool.js'

export const CACHE = 'ai.cache'
export const MAX_CACHE_TTL_SECONDS = 7 * 86_400

export interface CacheEntry {
  status: number
  body: unknown
  jobId: string
  expiresAt: number
}

/**
 * `Spool-Cache: ttl=60` → 60 (seconds); undefined when absent, null when malformed.
 *
 * @example
 * parseCacheHeader('ttl=300') // 300
 */
export function parseCacheHeader(value: string | string[] | undefined): number | undefined | null {
  if (value === undefined) return undefined
  if (typeof value !== 'string') return null
  const match = /^\s*ttl\s*=\s*(\d{1,7})\s*$/i.exec(value)
  const ttl = Number(match?.[1])
  return match && ttl >= 1 && ttl <= MAX_CACHE_TTL_SECONDS ? ttl : null
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are one request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

/** The cache key of a request: per tenant and endpoint, over the body sent upstream. */
export function cacheKey(tenant: string, endpoint: string, body: unknown): string {
  return createHash('sha256')
    .update(`${tenant}\u0000${endpoint}\u0000${canonical(body)}`)
    .digest('hex')
}

/**
 * A live cached answer of this tenant, or null.
 *
 * @example
 * const hit = await cacheGet(spool, 'acme', key)
 */
export async function cacheGet(
  spool: Spool,
  tenant: string,
  key: string,
  now = Date.now(),
): Promise<CacheEntry | null> {
  const record = await spool.records.findByKey<CacheEntry>(CACHE, key)
  if (!record || record.tenant !== tenant || record.data.expiresAt <= now) return null
  return record.data
}

/** Keeps a 2xx answer for `ttlSeconds`. */
export async function cachePut(
  spool: Spool,
  tenant: string,
  key: string,
  entry: Omit<CacheEntry, 'expiresAt'>,
  ttlSeconds: number,
): Promise<void> {
  const existing = await spool.records.findByKey<CacheEntry>(CACHE, key)
  await spool.records.put(CACHE, {
    ...(existing && { id: existing.id }),
    tenant,
    key,
    data: { ...entry, expiresAt: Date.now() + ttlSeconds * 1000 },
  })
}

/** The idempotency key that makes identical requests in flight share one job. */
export function coalescingKey(key: string, ttlSeconds: number, now = Date.now()): string {
  return `cache:${key}:${Math.floor(now / (ttlSeconds * 1000))}`
}
