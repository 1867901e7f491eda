/**
 * The `spool` command as a user runs it: a real process on a real SQLite file.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli as run, until } from './helpers/cli.js'

describe('spool command', () => {
  let dir: string
  let children: ChildProcess[] = []

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-cli-'))
    children = []
  })

  afterEach(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  const store = () => `sqlite:${join(dir, 'spool.db')}`

  it('start --verbose runs the demo step by step and stops gracefully on SIGTERM', async () => {
    const spool = run(['start', '--store', store(), '--grace', '1', '--port', '0', '--verbose'])
    children.push(spool.child)
    await until(() => /job +\d+ +completed/.test(spool.out()), 'a demo job to complete')
    expect(spool.out()).toMatch(/█+·*\s+\d+%\s+\w+/)
    spool.child.kill('SIGTERM')
    expect(await spool.exited).toBe(0)
    expect(spool.out()).toMatch(/stopped/)

    const stats = run(['stats', 'demo', '--store', store()])
    expect(await stats.exited).toBe(0)
    const counts = JSON.parse(stats.out()).counts.demo
    expect(counts.completed).toBeGreaterThan(0)
    expect(counts.active).toBe(0)
  })

  it('migrate says what it applied, then that the schema is up to date', async () => {
    const first = run(['migrate', '--store', store()])
    expect(await first.exited).toBe(0)
    expect(first.out()).toMatch(/applied migrations 1, 2/)
    const second = run(['migrate'], { SPOOL_STORE: store() })
    expect(await second.exited).toBe(0)
    expect(second.out()).toMatch(/schema is up to date/)
  })

  it('migrate works against PostgreSQL too', async () => {
    const base = process.env.SPOOL_TEST_PG_URL ?? 'postgres://spool:spool@127.0.0.1:5433/spool_test'
    const schema = `cli_${Math.random().toString(36).slice(2, 10)}`
    const address = `${base}?schema=${schema}`
    try {
      const first = run(['migrate', '--store', address])
      expect(await first.exited, first.err()).toBe(0)
      expect(first.out()).toMatch(/applied migrations 1/)
      const second = run(['migrate', '--store', address])
      expect(await second.exited).toBe(0)
      expect(second.out()).toMatch(/schema is up to date/)
    } finally {
      const client = new pg.Client({ connectionString: base })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
    }
  })

  it('enqueue adds a job and refuses bad input with a clear message and exit code', async () => {
    const ok = run(['enqueue', 'emails', '{"to":"a@b.c"}', '--priority', 'high', '--store', store()])
    expect(await ok.exited).toBe(0)
    expect(JSON.parse(ok.out())).toMatchObject({ created: true, state: 'waiting' })

    const badJson = run(['enqueue', 'emails', '{nope', '--store', store()])
    expect(await badJson.exited).toBe(1)
    expect(badJson.err()).toMatch(/not valid JSON \(SPOOL_INVALID_PAYLOAD\)/)

    const badPriority = run(['enqueue', 'emails', '{}', '--priority', 'soonish', '--store', store()])
    expect(await badPriority.exited).toBe(1)
    expect(badPriority.err()).toMatch(/SPOOL_INVALID_OPTION/)

    const unknown = run(['frobnicate'])
    expect(await unknown.exited).toBe(2)
    expect(unknown.err()).toMatch(/unknown command/)
  })
})
