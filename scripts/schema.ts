/**
 * Writes each store's generated files: `schema.sql` (the live schema the migrations produce)
 * and `statements.gen.ts` (the statement names in queries.sql). Needs the test PostgreSQL
 * (SPOOL_TEST_PG_URL, default postgres://spool:spool@127.0.0.1:5433/spool_test).
 *
 *   npm run schema
 */
import { writeFileSync } from 'node:fs'
import {
  DEFAULT_PG_URL,
  GENERATED,
  postgresSchema,
  sqliteSchema,
  statementNamesSource,
} from '../src/store/schema-gen.js'

const pgUrl = process.env.SPOOL_TEST_PG_URL ?? DEFAULT_PG_URL
for (const files of Object.values(GENERATED)) writeFileSync(files.statements, statementNamesSource(files.queries))
writeFileSync(GENERATED.sqlite.schema, await sqliteSchema())
writeFileSync(GENERATED.postgres.schema, await postgresSchema(pgUrl))
const relative = (url: URL) => url.pathname.replace(`${process.cwd()}/`, '')
for (const files of Object.values(GENERATED))
  console.log(`wrote ${relative(files.schema)} and ${relative(files.statements)}`)
