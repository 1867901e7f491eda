/**
 * The routes the dashboard added: who am I, schedules, breakers, queue limits, a job's flow
 * children, the dashboard's static files (long-cached hashed assets, SPA fallback, API 404s
 * untouched), and `spool top --once` reading it all through the client.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/commands.js'
import { buildServer } from '../../src/server/app.js'
import { precompressTree } from '../../src/server/web.js'
import { startServer, type TestServer } from './helpers.js'

describe('dashboard routes', () => {
  let t: TestServer
  let reader: string
  beforeAll(async () => {
    t = await startServer()
    reader = await t.key('default', ['reader'])
  })
  afterAll(async () => {
    await t?.close()
  })

  it('/v1/me names the tenant and scopes', async () => {
    const me = await t.request('GET', '/v1/me', { key: reader })
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ kind: 'key', tenant: 'default', scopes: ['reader'] })
  })

  it('schedules: create, list, pause, resume, delete; other tenants see none', async () => {
    const put = await t.request('PUT', '/v1/schedules/nightly', {
      body: { cron: '0 3 * * *', timezone: 'Europe/Berlin', queue: 'reports', payload: { kind: 'daily' } },
    })
    expect(put.status, put.text).toBe(200)
    expect(put.body).toMatchObject({ name: 'nightly', tenant: 'default', paused: false, options: {} })
    expect(Date.parse(put.body.nextRunAt)).toBeGreaterThan(Date.now())
    const list = await t.request('GET', '/v1/schedules', { key: reader })
    expect(list.body.schedules.map((s: { name: string }) => s.name)).toEqual(['nightly'])
    expect((await t.request('POST', '/v1/schedules/nightly/pause', { key: reader })).status).toBe(403)
    expect((await t.request('POST', '/v1/schedules/nightly/pause')).body.paused).toBe(true)
    expect((await t.request('POST', '/v1/schedules/nightly/resume')).body.paused).toBe(false)
    const one = await t.request('GET', '/v1/schedules/nightly', { key: reader })
    expect(one.body).toMatchObject({
      name: 'nightly',
      cron: '0 3 * * *',
      queue: 'reports',
      nextRunAt: put.body.nextRunAt,
    })
    const preview = await t.request('GET', '/v1/schedules/nightly/preview?count=3', { key: reader })
    expect(preview.status, preview.text).toBe(200)
    expect(preview.body).toMatchObject({ name: 'nightly', timezone: 'Europe/Berlin', paused: false })
    expect(preview.body.runs).toHaveLength(3)
    expect(preview.body.runs[0]).toBe(put.body.nextRunAt)
    // 03:00 in Berlin, a day apart (23 or 25 hours across a clock change)
    const [first, second, third] = preview.body.runs.map((run: string) => Date.parse(run))
    for (const gap of [second - first, third - second]) expect([23, 24, 25]).toContain(gap / 3_600_000)
    const berlinHour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hour12: false })
    expect(preview.body.runs.map((run: string) => berlinHour.format(new Date(run)))).toEqual(['03', '03', '03'])
    expect((await t.request('GET', '/v1/schedules/nightly/preview?count=0')).status).toBe(400)
    expect((await t.request('GET', '/v1/schedules/nope/preview')).status).toBe(404)
    const otherAdmin = await t.key('globex', ['admin'])
    expect((await t.request('GET', '/v1/schedules/nightly', { key: otherAdmin })).status).toBe(404)
    expect((await t.request('GET', '/v1/schedules/nightly/preview', { key: otherAdmin })).status).toBe(404)
    expect((await t.request('GET', '/v1/schedules', { key: otherAdmin })).body.schedules).toEqual([])
    expect((await t.request('POST', '/v1/schedules/nightly/pause', { key: otherAdmin })).status).toBe(404)
    expect(
      (await t.request('PUT', '/v1/schedules/nightly', { key: otherAdmin, body: { cron: '@daily', queue: 'x' } }))
        .status,
    ).toBe(409)
    expect((await t.request('PUT', '/v1/schedules/bad', { body: { cron: 'not cron', queue: 'x' } })).status).toBe(400)
    expect((await t.request('DELETE', '/v1/schedules/nightly')).status).toBe(204)
    expect((await t.request('GET', '/v1/schedules')).body.schedules).toEqual([])
  })

  it('breakers: list, open, close; limits: read and reset', async () => {
    await t.spool.breakers.define('openai', { failureThreshold: 3 })
    await t.spool.queues.configure('notes', { breaker: 'openai', rateLimit: { max: 5, windowMs: 60_000 } })
    const list = await t.request('GET', '/v1/breakers', { key: reader })
    expect(list.body.breakers).toMatchObject([{ name: 'openai', state: 'closed' }])
    expect((await t.request('POST', '/v1/breakers/openai/open', { key: reader })).status).toBe(403)
    expect((await t.request('POST', '/v1/breakers/openai/open')).body.state).toBe('open')
    expect((await t.request('POST', '/v1/breakers/openai/close')).body.state).toBe('closed')
    expect((await t.request('POST', '/v1/breakers/nothing/open')).status).toBe(404)
    // A reader sees a queue's limits once its tenant has jobs there (an operator admin: always).
    expect((await t.request('GET', '/v1/queues/notes/limits', { key: reader })).status).toBe(404)
    expect((await t.request('GET', '/v1/queues/notes/limits')).status).toBe(200)
    await t.spool.enqueue('notes', {}, { delayMs: 3_600_000 })
    const limits = await t.request('GET', '/v1/queues/notes/limits', { key: reader })
    expect(limits.status).toBe(200)
    expect(limits.body.config).toMatchObject({ breaker: 'openai', rateLimit: { max: 5, windowMs: 60_000 } })
    expect((await t.request('POST', '/v1/queues/notes/limits/reset')).status).toBe(200)
  })

  it('every attempt with its stack, for admins', async () => {
    const worker = t.spool.work(
      'boom',
      async () => {
        throw new Error('kaboom')
      },
      { pollIntervalMs: 50 },
    )
    try {
      const { id } = await t.spool.enqueue('boom', {}, { maxAttempts: 1 })
      for (let i = 0; i < 200 && (await t.spool.jobs.get(id))?.state !== 'failed'; i++)
        await new Promise((r) => setTimeout(r, 25))
      const errors = await t.request('GET', `/v1/jobs/${id}/errors`)
      expect(errors.body.errors).toMatchObject([{ attempt: 1, message: 'kaboom', retryable: true }])
      expect(errors.body.errors[0].stack).toContain('kaboom')
      expect((await t.request('GET', `/v1/jobs/${id}`)).body.errors[0].stack).toBeUndefined()
      expect((await t.request('GET', `/v1/jobs/${id}/errors`, { key: reader })).status).toBe(403)
    } finally {
      await worker.close()
    }
  })

  it("a job's children", async () => {
    const flow = await t.spool.flows.add({
      queue: 'parent',
      children: [{ queue: 'child' }, { queue: 'child', onFailure: 'ignore' }],
    })
    const children = await t.request('GET', `/v1/jobs/${flow.id}/children`, { key: reader })
    expect(children.body.children).toMatchObject([
      { queue: 'child', state: 'waiting', onFailure: 'fail', error: null },
      { queue: 'child', state: 'waiting', onFailure: 'ignore', error: null },
    ])
  })

  it('spool top --once prints queues, throughput and workers', async () => {
    const worker = t.spool.work('top-demo', async () => ({ ok: true }), { pollIntervalMs: 50 })
    try {
      await t.spool.enqueue('top-demo', { n: 1 })
      const lines: string[] = []
      const code = await main(
        ['top', '--once', '--url', t.url],
        { out: (text) => lines.push(text), err: (text) => lines.push(text) },
        { SPOOL_KEY: t.adminKey },
      )
      expect(code).toBe(0)
      const text = lines.join('\n')
      expect(text).toContain('spool top')
      expect(text).toMatch(/top-demo\s+running/)
      expect(text).toContain('WORKER')
      const noKey = await main(['top', '--once'], { out: () => {}, err: () => {} }, {})
      expect(noKey).toBe(2)
    } finally {
      await worker.close()
    }
  })
})

describe('the dashboard served at /', () => {
  it('serves index.html for app paths, hashed assets for a year, and leaves API 404s alone', async () => {
    const t = await startServer()
    const root = join(t.dir, 'web')
    mkdirSync(join(root, 'assets'), { recursive: true })
    writeFileSync(join(root, 'index.html'), '<!doctype html><div id="root"></div>')
    writeFileSync(join(root, 'assets', 'app-abc123.js'), 'console.log(1)')
    const server = await buildServer({
      spool: t.spool,
      config: { port: 0, webhooks: { enabled: false } },
      webRoot: root,
    })
    const url = await server.listen()
    try {
      const index = await fetch(`${url}/`)
      expect(index.status).toBe(200)
      expect(index.headers.get('content-type')).toMatch(/text\/html/)
      expect(index.headers.get('cache-control')).toBe('no-cache')
      const deep = await fetch(`${url}/jobs/42?state=failed`)
      expect(await deep.text()).toContain('id="root"')
      const etag = index.headers.get('etag') as string
      expect((await fetch(`${url}/`, { headers: { 'if-none-match': etag } })).status).toBe(304)
      const asset = await fetch(`${url}/assets/app-abc123.js`)
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(asset.headers.get('content-type')).toMatch(/javascript/)
      expect((await fetch(`${url}/assets/gone-000.js`)).status).toBe(404)
      const badPath = await fetch(`${url}/jobs/%E0%A4%A`)
      expect(badPath.status).toBe(400)
      expect(await badPath.json()).toMatchObject({ code: 'SPOOL_INVALID_URL', field: 'path' })
      const api = await fetch(`${url}/v1/nothing-here`)
      expect(api.status).toBe(404)
      expect(await api.json()).toMatchObject({ code: 'SPOOL_NOT_FOUND' })
      expect((await fetch(`${url}/readyz`)).status).toBe(200)
    } finally {
      await server.close()
      await t.close()
    }
  })
})

/** A GET that shows the bytes as sent (fetch would undo the encoding). */
function rawGet(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
    (resolve, reject) => {
      get(url, { headers }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
        )
      }).on('error', reject)
    },
  )
}

describe('the dashboard served compressed', () => {
  it('sends brotli or gzip as the client accepts, with cache headers and an ETag per encoding', async () => {
    const t = await startServer()
    const root = join(t.dir, 'web')
    mkdirSync(join(root, 'assets'), { recursive: true })
    const html = `<!doctype html><div id="root"></div>${'<!-- padding -->'.repeat(200)}`
    const js = Array.from({ length: 2000 }, (_, i) => `export const value${i} = ${i} * 2;`).join('\n')
    writeFileSync(join(root, 'index.html'), html)
    writeFileSync(join(root, 'assets', 'app-abc123.js'), js)
    writeFileSync(join(root, 'assets', 'tiny-abc123.js'), 'console.log(1)')
    const server = await buildServer({
      spool: t.spool,
      config: { port: 0, webhooks: { enabled: false } },
      webRoot: root,
    })
    const url = await server.listen()
    try {
      const asset = `${url}/assets/app-abc123.js`
      const br = await rawGet(asset, { 'accept-encoding': 'gzip, deflate, br' })
      expect(br.status).toBe(200)
      expect(br.headers['content-encoding']).toBe('br')
      expect(br.headers.vary).toMatch(/accept-encoding/i)
      expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable')
      expect(br.headers['content-type']).toMatch(/javascript/)
      expect(br.body.length).toBeLessThan(js.length / 4)
      expect(brotliDecompressSync(br.body).toString()).toBe(js)

      const gzip = await rawGet(asset, { 'accept-encoding': 'gzip' })
      expect(gzip.headers['content-encoding']).toBe('gzip')
      expect(gunzipSync(gzip.body).toString()).toBe(js)
      expect(gzip.headers.etag).not.toBe(br.headers.etag)
      // q=0 refuses an encoding
      expect((await rawGet(asset, { 'accept-encoding': 'br;q=0, gzip;q=0.5' })).headers['content-encoding']).toBe(
        'gzip',
      )

      const plain = await rawGet(asset)
      expect(plain.headers['content-encoding']).toBeUndefined()
      expect(plain.body.toString()).toBe(js)
      expect(plain.headers.vary).toMatch(/accept-encoding/i)
      expect(new Set([plain.headers.etag, gzip.headers.etag, br.headers.etag]).size).toBe(3)

      // Revalidation matches the representation asked for.
      const again = await rawGet(asset, { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) })
      expect(again.status).toBe(304)
      expect((await rawGet(asset, { 'if-none-match': String(br.headers.etag) })).status).toBe(200)

      const index = await rawGet(`${url}/jobs/42`, { 'accept-encoding': 'br' })
      expect(index.headers['content-encoding']).toBe('br')
      expect(index.headers['cache-control']).toBe('no-cache')
      expect(brotliDecompressSync(index.body).toString()).toBe(html)

      // Too small to be worth it: sent as is.
      const tiny = await rawGet(`${url}/assets/tiny-abc123.js`, { 'accept-encoding': 'br' })
      expect(tiny.headers['content-encoding']).toBeUndefined()
      expect(tiny.body.toString()).toBe('console.log(1)')
    } finally {
      await server.close()
      await t.close()
    }
  })

  it('serves the copies the build compressed, and never those copies on their own', async () => {
    const t = await startServer()
    const root = join(t.dir, 'web')
    mkdirSync(join(root, 'assets'), { recursive: true })
    const js = Array.from({ length: 2000 }, (_, i) => `export const value${i} = ${i} * 3;`).join('\n')
    writeFileSync(join(root, 'index.html'), '<!doctype html><div id="root"></div>')
    writeFileSync(join(root, 'assets', 'app-def456.js'), js)
    const built = precompressTree(root)
    expect(built.files).toBe(1)
    // A marker in the build's copy shows which one goes out.
    const marked = brotliCompressSync(Buffer.from(`${js}\n// from the build`))
    writeFileSync(join(root, 'assets', 'app-def456.js.br'), marked)
    // A copy older than its file (the file was rebuilt without it) is not trusted.
    writeFileSync(join(root, 'assets', 'rebuilt-789.js'), js)
    writeFileSync(join(root, 'assets', 'rebuilt-789.js.br'), marked)
    utimesSync(join(root, 'assets', 'rebuilt-789.js.br'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))
    const server = await buildServer({
      spool: t.spool,
      config: { port: 0, webhooks: { enabled: false } },
      webRoot: root,
    })
    const url = await server.listen()
    try {
      const br = await rawGet(`${url}/assets/app-def456.js`, { 'accept-encoding': 'br' })
      expect(br.body.equals(marked)).toBe(true)
      const gzip = await rawGet(`${url}/assets/app-def456.js`, { 'accept-encoding': 'gzip' })
      expect(gunzipSync(gzip.body).toString()).toBe(js)
      const rebuilt = await rawGet(`${url}/assets/rebuilt-789.js`, { 'accept-encoding': 'br' })
      expect(brotliDecompressSync(rebuilt.body).toString()).toBe(js)
      expect((await rawGet(`${url}/assets/app-def456.js.br`)).status).toBe(404)
      expect((await rawGet(`${url}/assets/app-def456.js.gz`)).status).toBe(404)
    } finally {
      await server.close()
      await t.close()
    }
  })
})
