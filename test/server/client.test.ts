/**
 * The client SDK (`spool/client`): every call it makes is a route of the OpenAPI document, its
 * types are checked against the document's (src/client/openapi.gen.ts, kept current here; the
 * checks are test/server/client-openapi.test-d.ts, run by the typecheck), and against a real
 * server it enqueues, reads, reports errors as problems, and follows events across a server
 * restart without gaps.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, SpoolApiError } from '../../src/client/index.js'
import type { SpoolEvent } from '../../src/client/types.js'
import { eventually, startServer, type TestServer } from './helpers.js'

const servers: TestServer[] = []
afterEach(async () => {
  for (const t of servers.splice(0)) await t.close()
})

describe('client SDK', () => {
  it('src/client/openapi.gen.ts is what `npm run openapi:types` makes of docs/openapi.json', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    const [bin = '', ...args] = (pkg.scripts['openapi:types'] ?? '').split(' ')
    expect(bin).toBe('openapi-typescript')
    const out = args.indexOf('-o') + 1
    expect(args[out]).toBe('src/client/openapi.gen.ts')
    const dir = mkdtempSync(join(tmpdir(), 'spool-openapi-'))
    try {
      const fresh = join(dir, 'openapi.gen.ts')
      args[out] = fresh
      execFileSync(join(root, 'node_modules', '.bin', bin), args, { cwd: root, stdio: 'pipe' })
      expect(
        readFileSync(fresh, 'utf8') === readFileSync(join(root, 'src/client/openapi.gen.ts'), 'utf8'),
        'src/client/openapi.gen.ts is stale: run `npm run openapi:types` (or `npm run openapi` after changing routes)',
      ).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('calls only routes the OpenAPI document has', async () => {
    const spec = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>
    }
    const templates = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => ({
        method: method.toUpperCase(),
        pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      })),
    )
    const calls: { method: string; path: string }[] = []
    const client = createClient({
      baseUrl: 'http://spool.test',
      apiKey: 'k',
      fetch: async (input, init) => {
        calls.push({ method: init?.method ?? 'GET', path: new URL(String(input)).pathname })
        return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } })
      },
    })
    let called = 0
    for (const [namespace, methods] of Object.entries(client)) {
      // The audio sessions API is documented with the audio routes (src/audio).
      if (namespace === 'sessions' || typeof methods !== 'object') continue
      for (const [name, method] of Object.entries(methods as Record<string, unknown>)) {
        if (typeof method !== 'function') continue
        const result = (method as (...args: unknown[]) => unknown)('x1', {}, {}, {})
        if (result && typeof (result as { close?: unknown }).close === 'function') {
          await new Promise((resolve) => setTimeout(resolve, 20))
          ;(result as { close(): void }).close()
        } else await Promise.resolve(result).catch(() => {})
        called += 1
        expect(calls.length, `${namespace}.${name} made no request`).toBeGreaterThan(0)
      }
    }
    expect(called).toBeGreaterThan(40)
    const unknown = calls.filter(
      (call) => !templates.some((t) => t.method === call.method && t.pattern.test(call.path)),
    )
    expect(unknown).toEqual([])
  })

  it('works against a real server and follows events across a restart', async () => {
    let t = await startServer()
    const first = t
    const port = Number(new URL(t.url).port)
    const { store, codec } = t
    try {
      const admin = createClient({ baseUrl: t.url, apiKey: t.adminKey })
      const key = await admin.keys.create('sdk', ['producer'])
      const client = createClient({ baseUrl: t.url, apiKey: key.token })
      const { id } = await client.jobs.create('sdk', { hello: 'world' }, { priority: 'urgent' })
      expect((await client.jobs.get<{ hello: string }>(id)).payload.hello).toBe('world')
      expect((await client.jobs.list({ queue: 'sdk' })).jobs).toHaveLength(1)
      const error = await client.queues.pause('sdk').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SpoolApiError)
      expect(error).toMatchObject({ status: 403, code: 'SPOOL_FORBIDDEN' })
      const invalid = await client.jobs.create('sdk', 1, { priority: 'soon' as never }).catch((e: unknown) => e)
      expect(invalid).toMatchObject({ status: 400, field: 'options.priority' })

      const events: SpoolEvent[] = []
      let opens = 0
      const subscription = client.events.subscribe({ queue: 'sdk' }, (event) => events.push(event), {
        onOpen: () => {
          opens += 1
        },
        retryMs: 100,
      })
      await eventually(() => opens === 1, 'the stream to open')
      await client.jobs.create('sdk', { n: 1 })
      await eventually(() => events.length === 1, 'the first event')

      await t.stop()
      const { Spool } = await import('../../src/engine/spool.js')
      const writer = await Spool.open({ store, maintenance: false, ...(codec && { codec }) })
      const missed = [
        (await writer.enqueue('sdk', { n: 2 }, { tenant: 'default' })).id,
        (await writer.enqueue('sdk', { n: 3 }, { tenant: 'default' })).id,
      ]
      await writer.close()
      t = await startServer({ store, codec, config: { port } })
      await client.jobs.create('sdk', { n: 4 }).catch(() => {})
      await eventually(() => events.length >= 4, 'the missed and the new events', 15_000)
      expect(opens).toBeGreaterThanOrEqual(2)
      expect(events.slice(1, 3).map((e) => e.jobId)).toEqual(missed)
      const ids = events.map((e) => e.id)
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids).toEqual([...ids].sort((a, b) => a - b))
      expect(subscription.lastEventId).toBe(ids.at(-1))
      subscription.close()
      await subscription.done
    } finally {
      await t.close()
      await first.close()
    }
  })
})
