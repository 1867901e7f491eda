/**
 * Opening everything `spool start` (and the tests) need: the keyring, a Spool whose codec
 * encrypts at rest, the first admin key.
 */
import { dirname, join } from 'node:path'
import type { Logger as PinoLogger } from 'pino'
import type { Spool } from '../engine/spool.js'
import type { Codec } from '../security/codec.js'
import { type Keyring, loadKeyring } from '../security/keyring.js'
import type { ServerConfig } from './config.js'
import { anyApiKey, createApiKey } from './keys.js'

/**
 * The key file: `encryption.keyFile`; else beside a SQLite database (`spool.key` in its folder);
 * else `<dataDir>/spool.key`.
 */
export function keyFilePath(config: Pick<ServerConfig, 'encryption' | 'dataDir' | 'store'>): string {
  if (config.encryption.keyFile) return config.encryption.keyFile
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/i.exec(config.store)?.[1]
  if (sqlite && sqlite !== ':memory:') return join(dirname(sqlite.split('?')[0] as string), 'spool.key')
  return join(config.dataDir, 'spool.key')
}

/** The codec for `Spool.open`, or undefined when encryption is off. */
export function openKeyring(
  config: Pick<ServerConfig, 'encryption' | 'dataDir' | 'store'>,
  options: { create?: boolean } = {},
): (Keyring & { codec: Codec }) | null {
  if (!config.encryption.enabled) return null
  return loadKeyring({ envKey: config.encryption.key, keyFile: keyFilePath(config), create: options.create ?? true })
}

/**
 * Creates an admin key in tenant `default` when the store has no key at all; returns its token
 * (to print once) or null.
 *
 * @example
 * const token = await ensureAdminKey(spool)
 * if (token) console.log(`admin key (shown once): ${token}`)
 */
export async function ensureAdminKey(spool: Spool, logger?: PinoLogger): Promise<string | null> {
  if (await anyApiKey(spool)) return null
  const key = await createApiKey(spool, {
    name: 'first admin',
    tenant: 'default',
    scopes: ['admin'],
    createdBy: 'bootstrap',
  })
  logger?.info({ keyId: key.id }, 'created the first admin key')
  return key.token
}
