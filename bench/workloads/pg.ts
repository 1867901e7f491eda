/** Helpers for the children of the PostgreSQL systems: a side connection for checks and sizes. */
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { ChildOptions, TableSize } from './types.js'

/** Longest wait, after the last handler returned, for the completions to show in the database. */
export const SETTLE_LIMIT_MS = 30_000

export function pgTarget(options: ChildOptions): { url: string; schema: string } {
  if (!options.pgUrl || !options.pgSchema) throw new Error('pgUrl and pgSchema are required')
  return { url: options.pgUrl, schema: options.pgSchema }
}

/**
 * One connection of the harness's own, outside the system's pool, for the completion checks
 * and the sizes (its queries are not the system's work).
 */
export async function sideConnection(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'spool-bench-check' })
  await client.connect()
  client.on('error', (error) => {
    process.stderr.write(`side connection: ${error.message}\n`)
    process.exit(1)
  })
  return client
}

/** Polls `count()` (a short query) until it reaches `n`, every millisecond. */
export async function settle(what: string, n: number, count: () => Promise<number>): Promise<void> {
  const deadline = performance.now() + SETTLE_LIMIT_MS
  while ((await count()) < n) {
    if (performance.now() > deadline) throw new Error(`${what}: fewer than ${n} jobs recorded completed`)
    await sleep(1)
  }
}

/** Rows and `pg_total_relation_size` of a table, its partitions included (pg-boss partitions by queue). */
export async function tableSize(client: pg.Client, schema: string, table: string): Promise<TableSize> {
  const name = `"${schema}"."${table}"`
  const { rows } = await client.query<{ rows: string; bytes: string }>(
    `SELECT (SELECT count(*) FROM ${name}) AS rows,
            CASE WHEN (SELECT relkind FROM pg_class WHERE oid = $1::regclass) = 'p'
              THEN (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree($1::regclass))
              ELSE pg_total_relation_size($1::regclass) END AS bytes`,
    [name],
  )
  const row = rows[0]
  return { table: `${schema}.${table}`, rows: Number(row?.rows), bytes: Number(row?.bytes) }
}

/** WAL records and bytes the cluster has written so far (pg_stat_wal, PostgreSQL 14+). */
export async function walCounts(client: pg.Client): Promise<{ walRecords: number; walBytes: number }> {
  const { rows } = await client.query<{ records: string; bytes: string }>(
    'SELECT wal_records AS records, wal_bytes AS bytes FROM pg_stat_wal',
  )
  return { walRecords: Number(rows[0]?.records ?? 0), walBytes: Number(rows[0]?.bytes ?? 0) }
}
