import { PostgresStore } from './postgres-store.js'

/**
 * Opens a store from an address: `postgres://user:password@host:port/database` (or
 * `postgresql://…`), with anything else `pg` reads from a connection string (`sslmode`, …).
 * Two query parameters are Spool's own, and are taken out before the address reaches `pg`:
 * `schema` (default `spool`) and `poolSize` (default 10).
 *
 * @example
 * const store = await openPostgres('postgres://spool:spool@127.0.0.1:5433/app?schema=jobs')
 */
export async function openPostgres(address: string, options: { migrate?: boolean } = {}): Promise<PostgresStore> {
  let url: URL
  try {
    url = new URL(address)
  } catch {
    throw new Error(
      `not a PostgreSQL address: "${redact(address)}" (expected postgres://user:password@host:port/database)`,
    )
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`not a PostgreSQL address: "${redact(address)}" (expected postgres:// or postgresql://)`)
  }
  const schema = url.searchParams.get('schema')
  const poolSize = url.searchParams.get('poolSize')
  url.searchParams.delete('schema')
  url.searchParams.delete('poolSize')
  return PostgresStore.open({
    connectionString: url.toString(),
    ...(schema !== null && { schema }),
    ...(poolSize !== null && { poolSize: Number(poolSize) }),
    migrate: options.migrate ?? true,
  })
}

/** The address without its password, for error messages. */
function redact(address: string): string {
  return address.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@')
}
