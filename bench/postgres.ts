/**
 * The PostgreSQL side of the harness: the bench database on the project-local cluster
 * (`scripts/setup bench` starts it and creates role `spool` and database `spool_bench`), a
 * fresh schema for every measurement of a PostgreSQL system, dropped after, and the server's
 * version and the settings that matter for the figures.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'

export const DEFAULT_BENCH_PG_URL = 'postgres://spool:spool@127.0.0.1:5433/spool_bench'

export interface PostgresServer {
  url: string
  /** e.g. `15.14`, with the settings that change write costs. */
  version: string
  settings: Record<string, string>
  /** A schema name no one uses yet; each system creates it itself (its own migrations). */
  freshSchema(system: string): string
  /** `DROP SCHEMA … CASCADE`; safe for a schema that was never created. */
  drop(schema: string): Promise<void>
}

const SETTINGS = ['shared_buffers', 'fsync', 'synchronous_commit', 'wal_level', 'max_connections', 'autovacuum']

/** Runs one query on a connection of its own (a long-lived one would die with any server restart). */
async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'spool-bench' })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

export async function connectPostgres(
  url = process.env.SPOOL_BENCH_PG_URL ?? DEFAULT_BENCH_PG_URL,
): Promise<PostgresServer> {
  let rows: { name: string; setting: string; unit: string | null }[]
  try {
    rows = await query(url, 'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [
      [...SETTINGS, 'server_version'],
    ])
  } catch (error) {
    throw new Error(
      `cannot reach the bench database (${url.replace(/:[^:@/]*@/, ':***@')}); run scripts/setup bench: ${(error as Error).message}`,
    )
  }
  const settings: Record<string, string> = {}
  for (const row of rows)
    settings[row.name] = row.unit === '8kB' ? `${(Number(row.setting) * 8) / 1024} MB` : row.setting
  const version = settings.server_version ?? 'unknown'
  delete settings.server_version
  return {
    url,
    version,
    settings,
    freshSchema: (system) => `bench_${system.replace(/-/g, '_')}_${randomUUID().slice(0, 8)}`,
    async drop(schema) {
      if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`not a bench schema name: ${schema}`)
      await query(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    },
  }
}
