/**
 * The `spool` command around the server, as an operator runs it: `start` serves the API and
 * prints the first admin key once; SIGTERM hands running jobs back; keys, queues, jobs,
 * clean, config print and doctor, with --json and meaningful exit codes.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/commands.js'
import { Spool } from '../../src/index.js'
import { runCli, until } from '../helpers/cli.js'

/** The server binds a free port unless a test names one. */
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { SPOOL_PORT: '0', ...env })

describe('spool command with the server', () => {
  let dir: string
  const children: ChildProcess[] = []
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-cli-server-'))
  })
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  const store = () => `sqlite:${join(dir, 'spool.db')}`
  /** Runs a command in this process (as fast as the code allows; `start` runs as a real process above). */
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    let out = ''
    let err = ''
    const io = { out: (text: string) => (out += `${text}\n`), err: (text: string) => (err += `${text}\n`) }
    const code = await main([...args, '--store', store()], io, { SPOOL_PORT: '0', ...env })
    return { code, out, err }
  }

  it('start serves the API, prints the admin key once, and hands running jobs back on SIGTERM', async () => {
    const spool = run(['start', '--store', store(), '--grace', '0', '--verbose'])
    children.push(spool.child)
    await until(
      () => /API on http:\/\/127\.0\.0\.1:\d+/.test(spool.out()) && /spool_[a-z0-9]{10}_\S+/.test(spool.out()),
      'the URL and key',
    )
    const url = /API on (http:\/\/127\.0\.0\.1:\d+)/.exec(spool.out())?.[1] as string
    const key = /(spool_[a-z0-9]{10}_\S+)/.exec(spool.out())?.[1] as string
    expect(statSync(join(dir, 'spool.key')).mode & 0o777).toBe(0o600)
    const queues = await fetch(`${url}/v1/queues`, { headers: { authorization: `Bearer ${key}` } })
    expect(queues.status).toBe(200)
    expect((await fetch(`${url}/v1/queues`)).status).toBe(401)
    await until(() => /job +\d+ +[█·]+ +\d+%/.test(spool.out()), 'a demo job in progress')
    spool.child.kill('SIGTERM')
    expect(await spool.exited).toBe(0)
    expect(spool.out()).toMatch(/stopped/)
    expect(spool.err()).not.toContain(key)

    const second = run(['start', '--store', store(), '--no-demo'])
    children.push(second.child)
    await until(() => /API on/.test(second.out()), 'the second start')
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
    expect(second.out()).not.toMatch(/spool_[a-z0-9]{10}_/)

    const listed = await cli(['jobs', 'ls', '--queue', 'demo', '--limit', '1000', '--json'])
    expect(listed.code).toBe(0)
    const jobs = JSON.parse(listed.out).jobs as { id: string; state: string }[]
    expect(jobs.some((job) => job.state === 'active')).toBe(false)
    // At least one job was running at SIGTERM and went back to the queue.
    const { Spool } = await import('../../src/index.js')
    const { loadKeyring } = await import('../../src/security/keyring.js')
    const reader = await Spool.open({
      store: store(),
      maintenance: false,
      codec: loadKeyring({ keyFile: join(dir, 'spool.key') }).codec,
    })
    try {
      let released = 0
      for (const job of jobs) {
        const events = await reader.jobs.history(job.id)
        released += events.filter((e) => e.type === 'job.waiting' && e.data.reason === 'released').length
      }
      expect(released).toBeGreaterThan(0)
    } finally {
      await reader.close()
    }
  })

  it('worker serves the queues a module exports, and stops on SIGTERM', async () => {
    const module = join(dir, 'handlers.mjs')
    writeFileSync(module, 'export default { mail: async (job) => ({ sent: job.payload.to }) }\n')
    const worker = run(['worker', module, '--store', store()])
    children.push(worker.child)
    await until(() => /serving queue mail/.test(worker.out()), 'the worker to start')
    const added = await cli(['jobs', 'add', 'mail', '{"to":"a@b.c"}'])
    const { id } = JSON.parse(added.out)
    let job: { state?: string; result?: unknown } = {}
    const deadline = Date.now() + 20_000
    while (job.state !== 'completed' && Date.now() < deadline) {
      job = JSON.parse((await cli(['jobs', 'show', id])).out)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(job).toMatchObject({ state: 'completed', result: { sent: 'a@b.c' } })
    worker.child.kill('SIGTERM')
    expect(await worker.exited).toBe(0)
    expect((await cli(['worker'])).code).toBe(1)
  })

  it('manages keys, queues and jobs with --json and exit codes', async () => {
    const created = await cli([
      'keys',
      'create',
      '--name',
      'ingest',
      '--scopes',
      'producer,reader',
      '--tenant',
      'acme',
      '--json',
    ])
    expect(created.code, created.err).toBe(0)
    const key = JSON.parse(created.out)
    expect(key).toMatchObject({ name: 'ingest', tenant: 'acme', scopes: ['producer', 'reader'] })
    expect(key.token).toMatch(/^spool_/)
    const list = await cli(['keys', 'list', '--json'])
    expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ id: key.id, revokedAt: null })])
    expect(list.out).not.toContain(key.token)
    expect((await cli(['keys', 'revoke', key.id])).code).toBe(0)
    expect((await cli(['keys', 'revoke', 'nosuchkey0'])).code).toBe(3)
    expect((await cli(['keys', 'create', '--name', 'x', '--scopes', 'root'])).code).toBe(2)

    const added = await cli(['jobs', 'add', 'mail', '{"to":"a@b.c"}', '--priority', 'high', '--tenant', 'acme'])
    expect(added.code, added.err).toBe(0)
    const { id } = JSON.parse(added.out)
    const shown = await cli(['jobs', 'show', id])
    expect(JSON.parse(shown.out)).toMatchObject({ id, tenant: 'acme', payload: { to: 'a@b.c' }, priority: 10 })
    expect((await cli(['jobs', 'show', '999999'])).code).toBe(3)
    expect(JSON.parse((await cli(['jobs', 'cancel', id, '--json'])).out).state).toBe('cancelled')
    expect((await cli(['jobs', 'cancel', id])).code).toBe(1)
    expect(JSON.parse((await cli(['jobs', 'retry', id, '--json'])).out).state).toBe('waiting')
    expect((await cli(['jobs', 'ls', '--tenant', 'acme'])).out).toMatch(new RegExp(`${id}\\s+mail\\s+waiting`))

    expect((await cli(['queues', 'pause', 'mail'])).out).toMatch(/mail paused/)
    const queues = JSON.parse((await cli(['queues', 'ls', '--json'])).out)
    expect(queues).toEqual([expect.objectContaining({ name: 'mail', paused: true })])
    expect((await cli(['queues', 'resume', 'mail'])).out).toMatch(/mail resumed/)
    expect(JSON.parse((await cli(['clean', 'mail', '--dry-run', '--json'])).out)).toMatchObject({ dryRun: true })
    expect((await cli(['queues', 'explode'])).code).toBe(2)
    expect((await cli(['stats', 'mail'])).code).toBe(0)
  })

  it('lists, shows, previews, pauses and resumes schedules', async () => {
    const spool = await Spool.open({ store: store(), maintenance: false })
    try {
      await spool.schedules.upsert({ name: 'nightly', cron: '30 2 * * *', timezone: 'UTC', queue: 'reports' })
    } finally {
      await spool.close()
    }
    const plain = ['--no-encryption']
    expect((await cli(['schedules', 'ls', ...plain])).out).toMatch(/^nightly\s+active\s+30 2 \* \* \* UTC\s+→ reports/)
    const shown = JSON.parse((await cli(['schedules', 'show', 'nightly', ...plain])).out)
    expect(shown).toMatchObject({ name: 'nightly', cron: '30 2 * * *', queue: 'reports', paused: false })
    const preview = await cli(['schedules', 'preview', 'nightly', '--count', '3', '--json', ...plain])
    expect(preview.code, preview.err).toBe(0)
    const runs = JSON.parse(preview.out) as string[]
    expect(runs).toHaveLength(3)
    expect(runs[0]).toBe(shown.nextRunAt)
    for (const run of runs) expect(run).toMatch(/T02:30:00\.000Z$/)
    expect((await cli(['schedules', 'pause', 'nightly', ...plain])).out).toMatch(/nightly paused/)
    expect(JSON.parse((await cli(['schedules', 'ls', '--json', ...plain])).out)[0].paused).toBe(true)
    expect((await cli(['schedules', 'resume', 'nightly', ...plain])).out).toMatch(/nightly resumed, next 20/)
    expect((await cli(['schedules', 'preview', 'nope', ...plain])).code).toBe(3)
    expect((await cli(['schedules', 'preview', 'nightly', '--count', 'many', ...plain])).code).toBe(1)
    expect((await cli(['schedules', 'explode', ...plain])).code).toBe(2)
  })

  it('prints the settings with secrets redacted, and doctor checks the installation', async () => {
    const env = {
      SPOOL_JWT_SECRET: 'a-very-secret-jwt-signing-key-0123456789',
      SPOOL_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    }
    const printed = await cli(['config', 'print'], { ...env, SPOOL_STORE: 'postgres://app:hunter2@db.internal/spool' })
    expect(printed.code).toBe(0)
    const config = JSON.parse(printed.out)
    expect(config.auth.jwt.secret).toBe('[redacted]')
    expect(config.encryption.key).toBe('[redacted]')
    expect(printed.out).not.toContain('hunter2')
    expect(printed.out).not.toContain(env.SPOOL_JWT_SECRET)
    expect((await cli(['config', 'print'], { SPOOL_PORT: 'eighty' })).err).toMatch(/SPOOL_PORT must be a number/)

    const missing = await cli(['doctor', '--json'])
    expect(missing.code).toBe(4)
    expect(JSON.parse(missing.out).checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'encryption', ok: false })]),
    )
    expect((await cli(['migrate'])).code).toBe(0)
    const healthy = await cli(['doctor'], env)
    expect(healthy.code, healthy.out).toBe(0)
    expect(healthy.out).toMatch(/ok +store/)
  })
})
