import { readdirSync, readFileSync } from 'node:fs'

/**
 * Reads a `.sql` file of named statements: each starts at a `-- name: someName` line and runs to
 * the next one. Comment lines above a name belong to the statement that follows.
 *
 * @example
 * const sql = readSqlFile(new URL('./queries.sql', import.meta.url))
 * db.prepare(sql.jobClaim)
 */
export function readSqlFile(url: URL): Record<string, string> {
  const statements: Record<string, string> = {}
  let name: string | null = null
  let body: string[] = []
  const flush = () => {
    if (name) statements[name] = body.join('\n').trim()
  }
  for (const line of readFileSync(url, 'utf8').split('\n')) {
    const match = /^--\s*name:\s*(\w+)\s*$/.exec(line)
    if (match) {
      flush()
      name = match[1] as string
      body = []
    } else if (!line.startsWith('--')) {
      body.push(line)
    }
  }
  flush()
  return statements
}

/** Migration files in a folder, named `NNN_description.sql`, in order. */
export interface MigrationFile {
  version: number
  name: string
  sql: string
}

/**
 * Loads the numbered migrations of one dialect.
 *
 * @example
 * const migrations = readMigrations(new URL('./migrations/', import.meta.url))
 */
export function readMigrations(folder: URL): MigrationFile[] {
  return readdirSync(folder)
    .filter((file) => /^\d+_.*\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number.parseInt(file, 10),
      name: file.replace(/\.sql$/, ''),
      sql: readFileSync(new URL(file, folder), 'utf8'),
    }))
}
