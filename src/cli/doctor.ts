/**
 * `spool doctor`: the checks an operator runs when something is off — Node version, the store
 * and its schema, the data key (file mode, and that it decrypts what is stored), API keys, and
 * whether the port is free. Each check says what it found; exit code 4 when any failed.
 */
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { Spool } from '../index.js'
import { keyFileMode } from '../security/keyring.js'
import { redactAddress } from '../security/redact.js'
import { keyFilePath, openKeyring } from '../server/bootstrap.js'
import { API_KEYS } from '../server/keys.js'
import type { CliConfig } from './config.js'

export interface Check {
  name: string
  ok: boolean
  detail: string
}

export async function doctor(config: CliConfig): Promise<{ ok: boolean; checks: Check[] }> {
  const checks: Check[] = []
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail })

  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  add('node', major > 20 || (major === 20 && minor >= 19), `Node ${process.versions.node} (needs 20.19 or newer)`)
  add('config', true, 'settings are valid')

  let codec: ReturnType<typeof openKeyring> = null
  if (config.encryption.enabled) {
    try {
      const path = keyFilePath(config)
      if (config.encryption.key) {
        codec = openKeyring(config, { create: false })
        add('encryption', true, `keys from SPOOL_ENCRYPTION_KEY (${codec?.codec.keyIds.join(', ')})`)
      } else if (!existsSync(path)) {
        add('encryption', false, `no key file at ${path} (spool start creates one)`)
      } else {
        const mode = keyFileMode(path)
        codec = openKeyring(config, { create: false })
        add(
          'encryption',
          (mode & 0o077) === 0,
          `key file ${path}, mode ${mode.toString(8).padStart(4, '0')}${(mode & 0o077) === 0 ? '' : ' — readable by others: chmod 600 it'}, keys ${codec?.codec.keyIds.join(', ')}`,
        )
      }
    } catch (error) {
      add('encryption', false, (error as Error).message)
    }
  } else add('encryption', true, 'off (payloads are stored in plain text)')

  let store: Awaited<ReturnType<typeof Spool.openStore>> | null = null
  try {
    store = await Spool.openStore(config.store, { migrate: false })
    add('store', true, `reachable at ${redactAddress(config.store)}`)
  } catch (error) {
    add('store', false, `${redactAddress(config.store)}: ${redactAddress((error as Error).message)}`)
  }
  if (store) {
    try {
      await store.queueList()
      await store.recordList({ collection: API_KEYS, limit: 1 })
      add('schema', true, 'tables are in place (spool migrate applies what is pending)')
    } catch (error) {
      add('schema', false, `${(error as Error).message} — run spool migrate`)
    }
    await store.close().catch(() => {})
  }
  if (checks.every((check) => check.ok)) {
    const spool = await Spool.open({ store: config.store, maintenance: false, ...(codec && { codec: codec.codec }) })
    try {
      const keys = await spool.records.list(API_KEYS, { limit: 1 })
      add(
        'api keys',
        true,
        keys.length > 0 ? 'at least one key exists and decrypts' : 'none yet (spool start creates an admin key)',
      )
    } catch (error) {
      add('api keys', false, `cannot read the stored keys: ${(error as Error).message} (wrong data key?)`)
    } finally {
      await spool.close()
    }
  }
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(config.port, config.host, () => server.close(() => resolve(true)))
  })
  // Informational: a running spool holds its own port.
  add(
    'port',
    true,
    free ? `${config.host}:${config.port} is free` : `${config.host}:${config.port} is in use (a running spool?)`,
  )
  return { ok: checks.every((check) => check.ok), checks }
}
