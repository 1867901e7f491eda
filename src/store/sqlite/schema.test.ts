/**
 * The committed schema.sql and statements.gen.ts are what `npm run schema` writes today: the
 * migrations applied to a fresh file, and the statement names in queries.sql.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { GENERATED, sqliteSchema, statementNamesSource } from '../schema-gen.js'

const STALE = 'is stale: run `npm run schema` and commit the result'

describe('SQLite generated files', () => {
  it('schema.sql is the schema the migrations produce', async () => {
    expect(readFileSync(GENERATED.sqlite.schema, 'utf8'), `src/store/sqlite/schema.sql ${STALE}`).toBe(
      await sqliteSchema(),
    )
  })

  it('statements.gen.ts names every statement in queries.sql', () => {
    expect(readFileSync(GENERATED.sqlite.statements, 'utf8'), `src/store/sqlite/statements.gen.ts ${STALE}`).toBe(
      statementNamesSource(GENERATED.sqlite.queries),
    )
  })
})
