/**
 * `spool/react` in Chromium against a real server (SQLite file): a page rendering `useJob`,
 * `useQueueStats` and `useEvents` (test/web/react-hooks-app.ts, bundled with esbuild) follows a
 * job through progress to its result, reports a missing job, and catches up on what happened
 * while the server was restarted.
 */
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Spool } from '../../src/engine/spool.js'
import { eventually, startServer, type TestServer } from '../server/helpers.js'
import { launchChromium } from './browser.js'

interface JobShown {
  loading: boolean
  connected: boolean
  error: string | null
  state: string | null
  percent: number | null
  stage: string | null
  result: { ok: boolean } | null
}

describe('spool/react hooks in Chromium', () => {
  let first: TestServer
  let t: TestServer
  let browser: Browser
  let page: Page
  let jobId: string
  const queue = 'hooks'
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })

  beforeAll(async () => {
    first = await startServer()
    t = first
    jobId = (await t.spool.enqueue(queue, { n: 1 })).id
    const bundle = await build({
      entryPoints: [new URL('./react-hooks-app.ts', import.meta.url).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"development"' },
    })
    const script = bundle.outputFiles[0]?.text ?? ''
    const settings = { baseUrl: t.url, apiKey: t.adminKey, jobId, queue }
    browser = await launchChromium()
    page = await browser.newPage()
    // Served from the server's own origin (the API has no CORS), without touching the server.
    await page.route(`${t.url}/react-hooks-test`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><div id="root"></div><script>globalThis.SPOOL_TEST = ${JSON.stringify(settings)}</script><script type="module" src="/react-hooks-test.js"></script>`,
      }),
    )
    await page.route(`${t.url}/react-hooks-test.js`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: script }),
    )
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(`${t.url}/react-hooks-test`)
    expect(errors).toEqual([])
  })

  afterAll(async () => {
    release()
    await browser?.close()
    await t?.close()
    if (first !== t) await first?.close()
  })

  const shown = async <T>(testId: string): Promise<T> =>
    JSON.parse((await page.getByTestId(testId).textContent()) ?? 'null') as T
  const until = <T>(testId: string, check: (value: T) => boolean, what: string) =>
    eventually(async () => {
      const value = await shown<T>(testId)
      return check(value) ? value : null
    }, what)

  it('follows a job live through progress to its result', async () => {
    await until<JobShown>('job', (j) => j.state === 'waiting' && j.connected, 'the waiting job')
    t.spool.work(queue, async (_job, ctx) => {
      await ctx.progress(40, 'halfway')
      await gate
      return { ok: true }
    })
    const active = await until<JobShown>('job', (j) => j.state === 'active' && j.percent === 40, 'progress 40 %')
    expect(active).toMatchObject({ stage: 'halfway', result: null, error: null })
    await until<{ counts: { active: number } | null }>('stats', (s) => s.counts?.active === 1, 'one active in stats')
    release()
    const done = await until<JobShown>('job', (j) => j.state === 'completed', 'the completed job')
    expect(done).toMatchObject({ result: { ok: true }, error: null, loading: false })
    const stats = await until<{ counts: { completed: number; waiting: number } | null }>(
      'stats',
      (s) => s.counts?.completed === 1,
      'one completed in stats',
    )
    expect(stats.counts?.waiting).toBe(0)
    const { events } = await until<{ events: string[] }>(
      'events',
      (e) => e.events.includes(`job.completed:${jobId}`),
      'the completed event',
    )
    // From the oldest (lastEventId 0), in order.
    expect(events.filter((e) => e.endsWith(`:${jobId}`))).toEqual([
      `job.created:${jobId}`,
      `job.active:${jobId}`,
      `job.progress:${jobId}`,
      `job.completed:${jobId}`,
    ])
  })

  it('reports a job that does not exist as an API error', async () => {
    const missing = await until<JobShown>('missing', (j) => !j.loading, 'the missing job')
    expect(missing).toMatchObject({ error: 'SPOOL_JOB_NOT_FOUND', state: null, connected: false })
  })

  it('catches up after the server restarts: events written meanwhile arrive, stats are read again', async () => {
    const port = Number(new URL(t.url).port)
    const { store, codec } = t
    await t.stop()
    // While the server is down, another process writes.
    const writer = await Spool.open({ store, maintenance: false, ...(codec && { codec }) })
    const meanwhile = (await writer.enqueue(queue, { n: 2 })).id
    await writer.jobs.cancel(meanwhile)
    await writer.close()
    t = await startServer({ store, codec, config: { port } })
    const { events } = await until<{ events: string[] }>(
      'events',
      (e) => e.events.includes(`job.cancelled:${meanwhile}`),
      'the events written while the server was down',
    )
    expect(events.filter((e) => e.endsWith(`:${meanwhile}`))).toEqual([
      `job.created:${meanwhile}`,
      `job.cancelled:${meanwhile}`,
    ])
    // Each event once: the stream resumed after the last one it had, not from the start.
    expect(new Set(events).size).toBe(events.length)
    await until<{ counts: { cancelled: number; completed: number } | null }>(
      'stats',
      (s) => s.counts?.cancelled === 1 && s.counts.completed === 1,
      'stats read again after the restart',
    )
    expect(await shown<JobShown>('job')).toMatchObject({ state: 'completed', connected: true })
  })
})
