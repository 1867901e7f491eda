/**
 * The operators' views in Chromium against a real server: the overview's oldest
 * waiting job past 5,000 waiting (from the stats, never "nothing waiting" while loading), the
 * charts' time axes (labels apart, the last one inside the chart, a wait chart of one sample a
 * few minutes wide), no sideways scroll on a phone in any of these views, breakers compact on a
 * phone with their actions in reach and their state and policy in words, aligned schedule rows,
 * a key's badge, retry-all-failed on a queue page (a confirmation with the count), and a
 * schedule's "run now" and next runs.
 *
 * Jobs are seeded through the HTTP API in bulk (1,000 a call), never one request a job.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Worker } from '../../src/engine/worker.js'
import { eventually, startServer, type TestServer } from '../server/helpers.js'
import { ensureDashboardBuilt, launchChromium, probeServer, recordPageTrouble } from './browser.js'

const PHONE = { width: 390, height: 800 }
const DESKTOP = { width: 1280, height: 820 }

/** What the page's chart under `selector` draws on its time axis: each label's text and box. */
interface AxisLabels {
  canvasWidth: number
  /** Where the plot area ends (the last tick can sit there). */
  plotRight: number
  range: [number, number]
  labels: { text: string; left: number; right: number }[]
}

describe('operators’ views in Chromium', { retry: 1 }, () => {
  let t: TestServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let trouble: () => string[] = () => []
  const pageErrors: string[] = []
  let firstWaiting: string
  const failedIds: string[] = []

  /** `n` jobs on `queue` through the bulk route, 1,000 a call. */
  async function bulk(queue: string, n: number, options: Record<string, unknown> = {}): Promise<string[]> {
    const ids: string[] = []
    for (let from = 0; from < n; from += 1000) {
      const jobs = Array.from({ length: Math.min(1000, n - from) }, (_, i) => ({ payload: { n: from + i }, options }))
      const answer = await t.request('POST', `/v1/queues/${queue}/jobs/bulk`, { body: { jobs } })
      if (answer.status !== 201) throw new Error(`bulk enqueue answered ${answer.status}: ${answer.text}`)
      ids.push(...answer.body.jobs.map((job: { id: string }) => job.id))
    }
    return ids
  }

  beforeAll(async () => {
    ensureDashboardBuilt()
    t = await startServer()
    // 5,000 waiting on one queue, then 5,000 on another: the oldest is the first of the first.
    ;[firstWaiting] = (await bulk('backlog-a', 5000)) as [string]
    await bulk('backlog-b', 5000)
    // Failed jobs on a queue (one attempt each), for "retry all failed".
    failedIds.push(...(await bulk('fragile', 12, { maxAttempts: 1 })))
    const worker = t.spool.work(
      'fragile',
      async () => {
        throw new Error('the provider answered 500')
      },
      { concurrency: 4, pollIntervalMs: 50 },
    ) as Worker<never, never>
    await eventually(async () => (await t.spool.queues.counts('fragile')).failed === 12, 'the failed jobs')
    await worker.close({ graceMs: 200 })
    // A breaker that is open, one that is closed; a queue bound to one; a schedule.
    await t.spool.breakers.define('openai', { failureThreshold: 3, cooldownMs: 30_000 })
    await t.spool.breakers.open('openai')
    await t.spool.breakers.define('speech-to-text-provider', { failureThreshold: 5, cooldownMs: 90_000 })
    await t.spool.queues.configure('notes', {
      breaker: 'openai',
      concurrency: 4,
      rateLimit: { max: 60, windowMs: 60_000 },
    })
    await t.request('PUT', '/v1/schedules/nightly-report', {
      body: { cron: '0 3 * * *', timezone: 'Europe/Berlin', queue: 'reports', payload: { kind: 'daily' } },
    })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' })
    page = await context.newPage()
    trouble = recordPageTrouble(page, pageErrors)
    await page.goto(t.url)
    await page.getByLabel('API key').fill(t.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
  })

  beforeEach(async ({ onTestFailed, task }) => {
    onTestFailed(async () => {
      const report = [...trouble(), await probeServer(t.url)]
      console.error(`[ops-views] "${task.name}" failed; the page reported:\n  ${report.join('\n  ')}`)
    })
    await page.setViewportSize(DESKTOP)
  })

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  /** Each label the chart titled `title` draws on its time axis, measured in its own font. */
  const axisLabels = (on: Page, title: string): Promise<AxisLabels> =>
    on.evaluate((caption) => {
      type Plot = {
        width: number
        scales: { x: { min: number; max: number } }
        valToPos(value: number, scale: string, canvasPixels?: boolean): number
        axes: { font: [string]; _splits: number[]; _values: (string | null)[] }[]
        bbox: { left: number; width: number }
        ctx: { font: string; measureText(text: string): { width: number } }
      }
      const doc = (globalThis as unknown as { document: { querySelector(q: string): unknown } }).document
      const element = doc.querySelector(`[aria-label="${caption} chart"]`) as { uplot?: Plot } | null
      const plot = element?.uplot
      if (!plot) throw new Error(`no chart "${caption}"`)
      const axis = plot.axes[0] as Plot['axes'][number]
      const ratio = (globalThis as unknown as { devicePixelRatio: number }).devicePixelRatio || 1
      plot.ctx.font = axis.font[0]
      const labels = axis._splits.flatMap((split, i) => {
        const value = axis._values[i]
        if (value === null || value === undefined) return []
        const width =
          Math.max(
            ...String(value)
              .split('\n')
              .map((line) => plot.ctx.measureText(line).width),
          ) / ratio
        const centre = plot.valToPos(split, 'x') + plot.bbox.left / ratio
        return [{ text: String(value), left: centre - width / 2, right: centre + width / 2 }]
      })
      return {
        canvasWidth: plot.width,
        plotRight: (plot.bbox.left + plot.bbox.width) / ratio,
        range: [plot.scales.x.min, plot.scales.x.max] as [number, number],
        labels,
      }
    }, title)

  const expectReadableAxis = (axis: AxisLabels, what: string) => {
    const texts = axis.labels.map((label) => label.text).join(' | ')
    expect(axis.labels.length, `${what}: ${texts}`).toBeGreaterThanOrEqual(2)
    for (let i = 1; i < axis.labels.length; i++) {
      const [before, after] = [axis.labels[i - 1], axis.labels[i]] as [AxisLabels['labels'][0], AxisLabels['labels'][0]]
      expect(
        after.left - before.right,
        `${what}: "${before.text}" and "${after.text}" overlap (${texts})`,
      ).toBeGreaterThanOrEqual(4)
    }
    const last = axis.labels.at(-1) as AxisLabels['labels'][0]
    expect(last.right, `${what}: the last label "${last.text}" is cut off`).toBeLessThanOrEqual(axis.canvasWidth)
    expect((axis.labels[0] as AxisLabels['labels'][0]).left).toBeGreaterThanOrEqual(0)
  }

  const scrollWidth = () =>
    page.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
          .scrollWidth,
    )

  it('names the oldest of 10,000 waiting jobs from the stats, and says it is loading while it loads', async () => {
    // Slow answers, so the page is caught while it loads: it must never claim "nothing waiting".
    await page.route('**/v1/{stats,jobs}*', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 800))
      await route.continue()
    })
    // And it reads no job lists for it (it paged through up to 5,000 jobs every 30 s).
    const listings: string[] = []
    const onRequest = (request: { url(): string }) => {
      if (new URL(request.url()).pathname === '/v1/jobs') listings.push(request.url())
    }
    page.on('request', onRequest)
    await page.goto(`${t.url}/`)
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    const tile = page.getByTestId('oldest-waiting')
    const seen: string[] = []
    const deadline = Date.now() + 6_000
    while (Date.now() < deadline) {
      const text = (await tile.count()) > 0 ? ((await tile.textContent()) ?? '') : '(no tile yet)'
      seen.push(text)
      if (text.includes(`#${firstWaiting}`)) break
      await page.waitForTimeout(50)
    }
    await page.unroute('**/v1/{stats,jobs}*')
    page.off('request', onRequest)
    expect(listings).toEqual([])
    expect(
      seen.filter((text) => text.includes('nothing waiting')),
      seen.join(' / '),
    ).toEqual([])
    await tile.getByRole('link', { name: `#${firstWaiting}` }).waitFor()
    await expect(tile.textContent()).resolves.toContain('backlog-a')
    // It is a link to the job.
    await tile.getByRole('link', { name: `#${firstWaiting}` }).click()
    await page.getByRole('heading', { name: `Job #${firstWaiting}` }).waitFor()
  })

  it('draws time axes whose labels do not overlap or get cut off, and a one-sample wait chart minutes wide', async () => {
    // The page's clock stopped at a quarter to the hour, so the per-minute chart's last tick is
    // at its right edge (where a label centred on it was cut off), whatever the time the test
    // runs at.
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 15 * 60_000)
    const clocked = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' })
    await clocked.clock.setFixedTime(hour)
    const on = await clocked.newPage()
    recordPageTrouble(on, pageErrors)
    try {
      await on.goto(t.url)
      await on.getByLabel('API key').fill(t.adminKey)
      await on.getByRole('button', { name: 'Sign in' }).click()
      for (const viewport of [DESKTOP, PHONE, { width: 900, height: 800 }]) {
        await on.setViewportSize(viewport)
        await on.goto(`${t.url}/`)
        await on.getByRole('heading', { name: 'Overview' }).waitFor()
        // The first stats answer is the wait chart's only sample.
        await on.locator('[aria-label="Wait before start (p50, p95) chart"] canvas').waitFor()
        await on.waitForTimeout(300)
        const where = `at ${viewport.width} px`
        const wait = await axisLabels(on, 'Wait before start (p50, p95)')
        const spanSeconds = wait.range[1] - wait.range[0]
        expect(spanSeconds, `${where}: the wait chart spans ${spanSeconds} s`).toBeLessThanOrEqual(15 * 60)
        expect(spanSeconds).toBeGreaterThanOrEqual(5 * 60)
        expectReadableAxis(wait, `wait chart ${where}`)
        const live = await axisLabels(on, 'Live: completed and failed per second (2 min)')
        expectReadableAxis(live, `live chart ${where}`)
        const perMinute = await axisLabels(on, 'Per minute (last hour)')
        expectReadableAxis(perMinute, `per-minute chart ${where}`)
        expect(perMinute.range[1], `${where}: the per-minute chart ends at the page's time`).toBe(hour.getTime() / 1000)
        // A label centred on the plot's right edge (a tick at the last minute) fits in the chart.
        const widest = Math.max(...perMinute.labels.map((label) => label.right - label.left))
        expect(perMinute.plotRight + widest / 2, `${where}: room for the last label`).toBeLessThanOrEqual(
          perMinute.canvasWidth,
        )
      }
    } finally {
      await clocked.close()
    }
  })

  it('nothing scrolls sideways on a phone', async () => {
    await page.setViewportSize(PHONE)
    const views: [string, () => Promise<void>][] = [
      ['/', () => page.getByRole('heading', { name: 'Overview' }).waitFor()],
      ['/queues', () => page.locator('tr[data-queue="fragile"]').waitFor()],
      ['/queues/notes', () => page.getByRole('heading', { name: 'Settings' }).waitFor()],
      ['/schedules', () => page.getByRole('rowheader', { name: 'nightly-report' }).waitFor()],
      ['/breakers', () => page.locator('tr[data-breaker="openai"]').waitFor()],
      ['/keys', () => page.locator('tbody tr').first().waitFor()],
      ['/workers', () => page.getByRole('heading', { name: 'Workers' }).waitFor()],
    ]
    const wide: string[] = []
    for (const [path, ready] of views) {
      await page.goto(`${t.url}${path}`)
      await ready()
      const width = await scrollWidth()
      if (width > PHONE.width) wide.push(`${path}: ${width} px`)
    }
    expect(wide).toEqual([])
  })

  it('breakers on a phone: compact rows with their actions on screen, state and policy in words', async () => {
    await page.setViewportSize(PHONE)
    await page.goto(`${t.url}/breakers`)
    // Three lines (a long name puts the actions on a line of their own): it was about 150 px.
    for (const [name, tallest] of [
      ['openai', 100],
      ['speech-to-text-provider', 125],
    ] as const) {
      const row = page.locator(`tr[data-breaker="${name}"]`)
      await row.waitFor()
      const box = await row.boundingBox()
      expect(box?.height, `${name} row height`).toBeLessThanOrEqual(tallest)
      for (const button of await row.getByRole('button').all()) {
        const at = await button.boundingBox()
        expect(at, `${name}: ${await button.textContent()}`).not.toBeNull()
        expect((at?.x ?? -1) >= 0 && (at?.x ?? 0) + (at?.width ?? 0) <= PHONE.width).toBe(true)
      }
    }
    await page.screenshot({ path: '/tmp/ops-breakers-phone.png' })
    const open = page.locator('tr[data-breaker="openai"]')
    await expect(open.locator('.badge').textContent()).resolves.toBe('open')
    const text = (await open.textContent()) ?? ''
    expect(text).toContain('Cooldown 30 s')
    expect(text).toContain('Opens after 3 failures in a row')
    expect(text).not.toMatch(/breaker-|cooldownMs|\.0 s/)
    await expect(page.locator('tr[data-breaker="speech-to-text-provider"]').textContent()).resolves.toContain(
      'Cooldown 1 min 30 s',
    )
    // The actions work from there.
    await open.getByRole('button', { name: 'Close' }).click()
    await open.locator('.badge', { hasText: 'closed' }).waitFor()
    expect((await t.spool.breakers.get('openai'))?.state).toBe('closed')
    await open.getByRole('button', { name: 'History' }).click()
    await expect(page.getByTestId('breaker-history').textContent()).resolves.not.toContain('breaker-')
  })

  it('schedules: rows aligned, next runs from the preview, run now enqueues once and keeps the cadence', async () => {
    await page.goto(`${t.url}/schedules`)
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'nightly-report' }) })
    await row.waitFor()
    // Every cell of the row has the row's top and bottom (the Actions cell, a flex box, ended
    // short of a row made taller by a wrapped cell: its border sat higher than the others').
    for (const viewport of [PHONE, DESKTOP]) {
      await page.setViewportSize(viewport)
      const cells = await row.locator(':scope > th, :scope > td').all()
      const boxes = await Promise.all(cells.map((cell) => cell.boundingBox()))
      const rowBox = await row.boundingBox()
      for (const [i, box] of boxes.entries()) {
        const where = `at ${viewport.width} px, cell ${i}`
        expect(Math.abs((box?.y ?? 0) - (rowBox?.y ?? 0)), `${where}: top`).toBeLessThan(1)
        expect(Math.abs((box?.height ?? 0) - (rowBox?.height ?? 0)), `${where}: height`).toBeLessThan(1)
      }
    }
    // Next runs: what the API's preview says, five of them.
    await row.getByRole('button', { name: /Next runs/ }).click()
    const runs = page.getByTestId('next-runs')
    await runs.locator('li').nth(4).waitFor()
    const preview = await t.request('GET', '/v1/schedules/nightly-report/preview?count=5')
    const shown = await Promise.all((await runs.locator('time').all()).map((time) => time.getAttribute('datetime')))
    expect(shown).toEqual(preview.body.runs)
    await expect(runs.textContent()).resolves.toContain('Europe/Berlin')
    // Run now: one job on the queue, the next run unchanged.
    const before = (await t.request('GET', '/v1/schedules/nightly-report')).body
    await row.getByRole('button', { name: /Run now/ }).click()
    const notice = page.getByTestId('schedule-run')
    await notice.waitFor()
    const link = notice.getByRole('link')
    const id = ((await link.textContent()) ?? '').replace(/\D/g, '')
    const job = await t.spool.jobs.get(id)
    expect(job).toMatchObject({ queue: 'reports', payload: { kind: 'daily' } })
    expect(job?.metadata.schedule).toMatchObject({ name: 'nightly-report', manual: true })
    const after = (await t.request('GET', '/v1/schedules/nightly-report')).body
    expect(after.nextRunAt).toBe(before.nextRunAt)
    expect(after.lastRunAt).toBe(before.lastRunAt)
    expect((await t.spool.queues.counts('reports')).waiting).toBe(1)
  })

  it('a key’s badge reads "active"', async () => {
    await page.goto(`${t.url}/keys`)
    const badge = page.locator('tbody tr').first().locator('.badge')
    await badge.waitFor()
    await expect(badge.textContent()).resolves.toBe('active')
  })

  it('retries every failed job of a queue from its page, after a confirmation that says how many', async () => {
    await page.goto(`${t.url}/queues/fragile`)
    await page.getByTestId('oldest-waiting').getByText('nothing waiting').waitFor()
    await page.getByRole('button', { name: 'Retry all failed…' }).click()
    const dialog = page.getByRole('dialog')
    await expect(dialog.getByRole('heading').textContent()).resolves.toBe('Retry 12 failed jobs on fragile?')
    // Cancel changes nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    expect((await t.spool.queues.counts('fragile')).failed).toBe(12)
    await page.getByRole('button', { name: 'Retry all failed…' }).click()
    await dialog.getByRole('button', { name: 'Retry 12 jobs' }).click()
    await page.getByRole('status').filter({ hasText: 'Retried 12 of 12 failed jobs' }).waitFor()
    for (const id of failedIds) expect((await t.spool.jobs.get(id))?.state).toBe('waiting')
    // The queue's own oldest waiting job is now the first of them.
    await page
      .getByTestId('oldest-waiting')
      .getByRole('link', { name: `#${failedIds[0]}` })
      .waitFor()
    // Nothing left to retry: it says so, no dialog.
    await page.getByRole('button', { name: 'Retry all failed…' }).click()
    await page.getByRole('status').filter({ hasText: 'No failed jobs on fragile to retry' }).waitFor()
    expect(await dialog.isVisible()).toBe(false)
  })

  it('left no uncaught error and no console error in any page', () => {
    expect(pageErrors).toEqual([])
  })
})
