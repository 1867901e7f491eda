/**
 * API keys as records (collection `api_keys`): the record's `key` is the SHA-256 of the token
 * (unique, so a request is one indexed lookup), its `tenant` the tenant the key acts in, and its
 * data `{ name, scopes, createdBy, revokedAt }`. The token itself is never stored.
 */
import type { Spool } from '../engine/spool.js'
import { generateApiKey, type Scope } from '../security/api-keys.js'

export const API_KEYS = 'api_keys'

export interface ApiKeyInfo {
  id: string
  name: string
  tenant: string
  scopes: Scope[]
  createdBy: string | null
  createdAt: string
  revokedAt: string | null
}

interface KeyData {
  name: string
  scopes: Scope[]
  createdBy: string | null
  revokedAt: number | null
}

/**
 * Creates a key and returns it with its token, which is shown this once.
 *
 * @example
 * const { token } = await createApiKey(spool, { name: 'ingest', tenant: 'acme', scopes: ['producer'] })
 */
export async function createApiKey(
  spool: Spool,
  input: { name: string; tenant: string; scopes: Scope[]; createdBy?: string | null },
): Promise<ApiKeyInfo & { token: string }> {
  const { id, token, hash } = generateApiKey()
  const data: KeyData = {
    name: input.name,
    scopes: [...new Set(input.scopes)],
    createdBy: input.createdBy ?? null,
    revokedAt: null,
  }
  const record = await spool.records.put(API_KEYS, { id, tenant: input.tenant, key: hash, data })
  return { ...toInfo(record), token }
}

/** Keys of one tenant (or of all, for `undefined`), oldest first. */
export async function listApiKeys(spool: Spool, tenant?: string): Promise<ApiKeyInfo[]> {
  const out: ApiKeyInfo[] = []
  let afterSeq = 0
  for (;;) {
    const page = await spool.records.list(API_KEYS, { ...(tenant !== undefined && { tenant }), afterSeq, limit: 500 })
    for (const record of page) out.push(toInfo(record))
    if (page.length < 500) return out
    afterSeq = page.at(-1)?.seq ?? afterSeq
  }
}

export async function getApiKey(spool: Spool, id: string): Promise<ApiKeyInfo | null> {
  const record = await spool.records.get(API_KEYS, id)
  return record ? toInfo(record) : null
}

/** Marks a key revoked (kept, so the audit log can still name it). Returns null for an unknown id. */
export async function revokeApiKey(spool: Spool, id: string): Promise<ApiKeyInfo | null> {
  const record = await spool.records.get(API_KEYS, id)
  if (!record) return null
  const data = record.data as KeyData
  if (data.revokedAt !== null) return toInfo(record)
  const updated = await spool.records.put(API_KEYS, {
    id,
    tenant: record.tenant,
    ...(record.key !== null && record.key !== undefined && { key: record.key }),
    data: { ...data, revokedAt: Date.now() },
  })
  return toInfo(updated)
}

/** Whether any key exists (the first start creates an admin key when none does). */
export async function anyApiKey(spool: Spool): Promise<boolean> {
  return (await spool.records.list(API_KEYS, { afterSeq: 0, limit: 1 })).length > 0
}

export interface StoredKey {
  id: string
  tenant: string
  scopes: Scope[]
  revoked: boolean
}

export async function findApiKeyByHash(spool: Spool, hash: string): Promise<StoredKey | null> {
  const record = await spool.records.findByKey(API_KEYS, hash)
  if (!record) return null
  const data = record.data as KeyData
  return { id: record.id, tenant: record.tenant, scopes: data.scopes, revoked: data.revokedAt !== null }
}

function toInfo(record: { id: string; tenant: string; data: unknown; createdAt: number | Date }): ApiKeyInfo {
  const data = record.data as KeyData
  return {
    id: record.id,
    name: data.name,
    tenant: record.tenant,
    scopes: data.scopes,
    createdBy: data.createdBy,
    createdAt: new Date(record.createdAt).toISOString(),
    revokedAt: data.revokedAt === null ? null : new Date(data.revokedAt).toISOString(),
  }
}
