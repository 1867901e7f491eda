/**
 * API keys: `spool_<id>_<secret>`, 32 random bytes of secret. Only the SHA-256 of the whole key
 * is stored (a fast hash is enough for a high-entropy random secret, and it lets a request be
 * authenticated with one indexed lookup); the key itself is shown once, when it is created.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export const SCOPES = ['admin', 'producer', 'worker', 'reader'] as const
export type Scope = (typeof SCOPES)[number]

const TOKEN = /^spool_([a-z0-9]{10})_([A-Za-z0-9_-]{43})$/

export interface GeneratedKey {
  /** Public id, also inside the token; safe to show and log. */
  id: string
  /** The whole key, shown once. */
  token: string
  /** What is stored. */
  hash: string
}

/**
 * @example
 * const { id, token, hash } = generateApiKey() // store hash, show token once
 */
export function generateApiKey(): GeneratedKey {
  const id = randomId(10)
  const token = `spool_${id}_${randomBytes(32).toString('base64url')}`
  return { id, token, hash: hashApiKey(token) }
}

export function hashApiKey(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** The public id inside a well-formed key, or null when the text is not one. */
export function apiKeyId(token: string): string | null {
  return TOKEN.exec(token)?.[1] ?? null
}

/** Compares two hex digests in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && timingSafeEqual(x, y)
}

function randomId(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  const bytes = randomBytes(length)
  let out = ''
  for (const byte of bytes) out += alphabet[byte % alphabet.length]
  return out
}
