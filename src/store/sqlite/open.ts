import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { SqliteStore } from './sqlite-store.js'

/**
 * Opens a store from an address: `sqlite:./data/spool.db`, `sqlite:///abs/path.db` or
 * `sqlite::memory:`. The file's folder is created when missing.
 *
 * @example
 * const store = await openSqlite('sqlite:./data/spool.db')
 */
export async function openSqlite(address: string, options: { migrate?: boolean } = {}): Promise<SqliteStore> {
  let path = address.replace(/^sqlite:/i, '')
  if (path.startsWith('//')) path = path.slice(2)
  if (path === '') path = './data/spool.db'
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true })
  return SqliteStore.open({ path, migrate: options.migrate ?? true })
}
