/**
 * `useGatewayRequests` (spool/react) in Chromium against a real server (SQLite file) whose
 * gateway calls a fake OpenAI upstream on loopback, one call at a time and slowly, so requests
 * queue: each request's status, place in line and ETA while it waits, its answer once done,
 * a refused one's reason, the queue's stats, and `isLoading` / `hasActive`.
 */
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import { type Gateway, gatewayFor } from '../../src/ai/gateway.js'
import { eventually, startServer, type TestServer } from '../server/helpers.js'
import { launchChromium } from './browser.js'

interface Shown {
  isLoading: boolean
  hasActive: boolean
  rateLimit: unknown
  stats: Record<string, number> | null
  requests: {
    id: string | null
    status: string
    position: number | null
    estimatedWaitMs: number | null
    content: string | null
    error: string | null
  }[]
}

describe('useGatewayRequests in Chromium', () => {
  let t: TestServer
  let fake: FakeUpstream
  let gateway: Gateway
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    fake = await startFakeUpstream({ latencyMs: 250 })
    t = await startServer({
      config: {
        providers: { slow: { kind: 'openai', baseUrl: fake.url, models: ['gpt-hook'], concurrency: 1 } },
      },
    })
    gateway = gatewayFor(t.spool, { providers: t.server.config.providers, gateway: t.server.config.gateway })
    await gateway.start()
    const apiKey = await t.key('acme', ['producer'])
    const bundle = await build({
      entryPoints: [new URL('./react-gateway-app.ts', import.meta.url).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"development"' },
    })
    const script = bundle.outputFiles[0]?.text ?? ''
    browser = await launchChromium()
    page = await browser.newPage()
    await page.route(`${t.url}/react-gateway-test`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><div id="root"></div><script>globalThis.SPOOL_TEST = ${JSON.stringify({ baseUrl: t.url, apiKey })}</script><script type="module" src="/react-gateway-test.js"></script>`,
      }),
    )
    await page.route(`${t.url}/react-gateway-test.js`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: script }),
    )
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(`${t.url}/react-gateway-test`)
    await page.waitForFunction(() => typeof (globalThis as { submitRequest?: unknown }).submitRequest === 'function')
    expect(errors).toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    await gateway?.close({ graceMs: 100 })
    await t?.close()
    await fake?.close()
  })

  const shown = async (): Promise<Shown> =>
    JSON.parse((await page.getByTestId('requests').textContent()) ?? 'null') as Shown
  const until = (check: (value: Shown) => boolean, what: string, timeoutMs = 10_000) =>
    eventually(
      async () => {
        const value = await shown()
        return check(value) ? value : null
      },
      what,
      timeoutMs,
    )
  const submit = (model: string, content: string) =>
    page.evaluate(
      ([m, c]) =>
        (globalThis as unknown as { submitRequest(m: string, c: string): Promise<string | null> }).submitRequest(
          m as string,
          c as string,
        ),
      [model, content],
    )

  it('tracks each request through its place in line to its answer, and the queue’s stats', async () => {
    const ids = await Promise.all(['one', 'two', 'three', 'four'].map((content) => submit('gpt-hook', content)))
    expect(ids.every((id) => typeof id === 'string')).toBe(true)
    // One call at a time, 250 ms each: the last ones wait, with a place in line.
    const queued = await until(
      (s) => s.requests.some((r) => r.status === 'waiting' && r.position !== null && r.position >= 1),
      'a waiting request with its position',
    )
    expect(queued.hasActive).toBe(true)
    expect(queued.requests.map((r) => r.id)).toEqual(ids)
    const done = await until(
      (s) => s.requests.length === 4 && s.requests.every((r) => r.status === 'completed'),
      'every request answered',
    )
    expect(done.requests.map((r) => r.content)).toEqual(['echo: one', 'echo: two', 'echo: three', 'echo: four'])
    expect(done.requests.every((r) => r.position === null && r.error === null)).toBe(true)
    expect(done.isLoading).toBe(false)
    expect(done.hasActive).toBe(false)
    await until((s) => s.stats?.completed === 4, 'the queue’s stats: four completed')
    expect(fake.served()).toBe(4)
  })

  it('shows a refused request with its reason', async () => {
    expect(await submit('no-such-model', 'nobody serves this')).toBeNull()
    const refused = await until((s) => s.requests.at(-1)?.status === 'rejected', 'the refused request')
    expect(refused.requests.at(-1)?.error).toMatch(/no-such-model/)
    expect(refused.hasActive).toBe(false)
  })
})
