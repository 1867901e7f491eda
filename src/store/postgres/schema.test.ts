/**
 * The committed schema.sql and statements.gen.ts are what `npm run schema` writes today: the
 * migrations applied to a fresh schema (dumped with pg_dump), and the statement names in
 * queries.sql. Needs the test server (SPOOL_TEST_PG_URL), as the store's own tests do.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DEFAULT_PG_URL, GENERATED, postgresSchema, statementNamesSource } from '../schema-gen.js'

const PG_URL = process.env.SPOOL_TEST_PG_URL ?? DEFAULT_PG_URL
const STALE = 'is stale: run `npm run schema` and commit the result'

describe('PostgreSQL generated files', () => {
  it('schema.sql is the schema the migrations produce', async () => {
    expect(readFileSync(GENERATED.postgres.schema, 'utf8'), `src/store/postgres/schema.sql ${STALE}`).toBe(
      await postgresSchema(PG_URL),
    )
  })

  it('statements.gen.ts names every statement in queries.sql', () => {
    expect(readFileSync(GENERATED.postgres.statements, 'utf8'), `src/store/postgres/statements.gen.ts ${STALE}`).toBe(
      statementNamesSource(GENERATED.postgres.queries),
    )
  })
})
