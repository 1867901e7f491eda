/**
 * A new user's first run: `spool start` as `npm start` runs it (a real process on a real SQLite
 * file, stdout not a terminal), `spool keys create` when the printed admin key is lost, and
 * `scripts/setup` saying what it installs.
 */
import type { ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli as run, spawnCollected, until } from './helpers/cli.js'

describe('first run', () => {
  let dir: string
  let children: ChildProcess[] = []

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-first-run-'))
    children = []
  })

  afterEach(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  const store = () => `sqlite:${join(dir, 'spool.db')}`

  it('start keeps the demo compact, so the dashboard address, the admin key and how to mint another stay in view', async () => {
    const spool = run(['start', '--store', store(), '--grace', '1', '--port', '0'])
    children.push(spool.child)
    await until(() => /^ {2}└─+$/m.test(spool.out()), 'the welcome block')
    const url = /API on (http:\/\/127\.0\.0\.1:\d+)/.exec(spool.out())?.[1] as string
    expect(url).toBeDefined()
    const block = spool.out().slice(spool.out().indexOf('Spool is running'))
    expect(block).toContain(`dashboard  ${url}/`)
    const key = /admin key {2}(spool_\S+)/.exec(block)?.[1] as string
    expect(key).toMatch(/^spool_/)
    const mint = /new key {4}npx spool (keys create [^\n]+)/.exec(block)?.[1] as string
    expect(mint).toBeDefined()

    // Six seconds of the demo (about 12 jobs of 4 steps each): before, a line per job per step.
    const linesAtBlock = spool.out().split('\n').length
    await new Promise((resolve) => setTimeout(resolve, 6_000))
    const after = spool
      .out()
      .split('\n')
      .slice(linesAtBlock - 1)
    expect(after.filter((line) => line.trim() !== '').length).toBeLessThanOrEqual(3)
    expect(after.join('\n')).toMatch(/demo: \d+ created, [1-9]\d* completed, \d+ retried, \d+ failed, \d+ running/)

    // The printed key signs in; the printed command mints another admin key while the server runs.
    const headers = (token: string) => ({ authorization: `Bearer ${token}` })
    expect((await fetch(`${url}/v1/keys`, { headers: headers(key) })).status).toBe(200)
    const minted = run([...mint.split(/\s+/), '--json'])
    expect(await minted.exited, minted.err()).toBe(0)
    const created = JSON.parse(minted.out()) as { token: string; scopes: string[]; tenant: string }
    expect(created).toMatchObject({ scopes: ['admin'], tenant: 'default' })
    const answer = await fetch(`${url}/v1/keys`, { headers: headers(created.token) })
    expect(answer.status).toBe(200)
    const { keys } = (await answer.json()) as { keys: { scopes: string[] }[] }
    expect(keys.filter((k) => k.scopes.includes('admin'))).toHaveLength(2)

    spool.child.kill('SIGTERM')
    expect(await spool.exited).toBe(0)
  })

  it('on a terminal the demo is one status line redrawn in place', async () => {
    // `script` gives spool a terminal for its stdout and copies what it writes to ours.
    const main = new URL('../src/cli/main.ts', import.meta.url).pathname
    const command = `stty cols 120; exec ${process.execPath} --import tsx ${main} start --store ${store()} --grace 1 --port 0 2>/dev/null`
    const spool = spawnCollected('script', ['-qfec', command, '/dev/null'])
    children.push(spool.child)
    const clearLine = '\r\u001b[2K'
    const statusLines = () => {
      const out = spool.out()
      const blockEnd = out.indexOf('\n', out.indexOf('  └')) + 1
      return out.slice(blockEnd).replace(/^\r?\n/, '')
    }
    await until(() => spool.out().includes('  └'), 'the welcome block')
    await until(() => /demo: \d+ created, [1-9]\d* completed/.test(statusLines()), 'a job completed')
    // Nothing after the block but the status line, drawn again and again on the same line.
    const status = statusLines()
    expect(status).not.toContain('\n')
    const drawn = status.split(clearLine).filter((part) => part !== '')
    for (const part of drawn) expect(part).toMatch(/^demo: \d+ created, .+ \(--verbose: every step\)$/)
    spool.child.kill('SIGTERM')
    await spool.exited
  })

  it('a second start prints the block again, without a key but with how to mint one', async () => {
    const first = run(['keys', 'create', '--name', 'earlier', '--scopes', 'reader', '--store', store()])
    expect(await first.exited).toBe(0)
    const spool = run(['start', '--store', store(), '--grace', '1', '--port', '0', '--no-demo'])
    children.push(spool.child)
    await until(() => /^ {2}└─+$/m.test(spool.out()), 'the welcome block')
    expect(spool.out()).not.toMatch(/admin key {2}spool_/)
    expect(spool.out()).toMatch(/new key {4}npx spool keys create --name admin --scopes admin --store sqlite:/)
    spool.child.kill('SIGTERM')
    expect(await spool.exited).toBe(0)
  })

  it('scripts/setup names each package it installs once (ffmpeg and ffprobe are one package)', async () => {
    // A PATH with what the script itself needs, but no ffmpeg, ffprobe, compiler or pocketsphinx,
    // and an apt-get that only says what it was asked for (and fails, so the script stops there).
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    for (const command of ['bash', 'node', 'dirname', 'find', 'sort', 'id', 'env', 'head']) {
      const path = spawnCollected('bash', ['-c', `command -v ${command}`])
      await path.exited
      symlinkSync(path.out().trim(), join(bin, command))
    }
    writeFileSync(join(bin, 'apt-get'), '#!/bin/sh\necho "apt-get $*" >&2\nexit 1\n')
    chmodSync(join(bin, 'apt-get'), 0o755)
    const setup = spawnCollected(new URL('../scripts/setup', import.meta.url).pathname, ['start'], { PATH: bin })
    expect(await setup.exited).not.toBe(0)
    const installing = /setup: installing (.+) with apt/.exec(setup.err())?.[1]?.split(' ')
    expect(installing).toBeDefined()
    expect(installing).toContain('ffmpeg')
    expect(new Set(installing).size).toBe(installing?.length)
  })
})
