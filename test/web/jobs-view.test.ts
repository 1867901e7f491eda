/**
 * The Jobs list and a job's page in Chromium against a real server: state tabs counted with
 * every filter and the total of matches, run-at of scheduled jobs, the worker of a job, a failed
 * job's result, one time format for logs and timeline, the error filter, sorting, the export
 * download, `/` to search, and on a phone the filters folded (with a summary) and no sideways
 * scrolling.
 */
import { readFile } from 'node:fs/promises'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Worker } from '../../src/engine/worker.js'
import { eventually, startServer, type TestServer } from '../server/helpers.js'
import { ensureDashboardBuilt, launchChromium, probeServer, recordPageTrouble, screenshotPath } from './browser.js'

/** The little of the DOM the page functions use (this file compiles without the DOM library). */
interface DomElement {
  getAttribute(name: string): string | null
  getBoundingClientRect(): { top: number }
  scrollWidth: number
  clientWidth: number
}
interface DomWindow {
  document: { activeElement: DomElement | null; documentElement: DomElement }
}

describe('jobs views in Chromium', () => {
  let t: TestServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let trouble: () => string[] = () => []
  const workers: Worker<never, never>[] = []
  const queue = 'view'
  let failedOdd: string[] = []
  let completedId: string
  let scheduled: { soon: string; later: string }
  let release: () => void = () => {}

  beforeAll(async () => {
    ensureDashboardBuilt()
    t = await startServer()
    const { spool } = t
    // 30 jobs, tagged odd and even; every third fails with a message naming its parity.
    for (let n = 0; n < 30; n++) {
      await spool.enqueue(queue, { n }, { tags: [n % 2 ? 'odd' : 'even'], maxAttempts: 1 })
    }
    // Another tenant's odd failures, which nothing here may count.
    for (let n = 0; n < 6; n++) {
      await spool.enqueue(queue, { n }, { tenant: 'elsewhere', tags: ['odd'], maxAttempts: 1 })
    }
    workers.push(
      spool.work<{ n: number }, unknown>(
        queue,
        async (job, ctx) => {
          await ctx.log(`working on ${job.payload.n}`)
          await ctx.log('second line', 'warn')
          if (job.payload.n % 3 === 0) throw new Error(`boom-${job.payload.n % 2 ? 'odd' : 'even'}`)
          return { n: job.payload.n }
        },
        { concurrency: 4, pollIntervalMs: 20 },
      ) as unknown as Worker<never, never>,
    )
    await eventually(
      async () => {
        const counts = await spool.queues.counts(queue)
        return counts.completed + counts.failed === 36
      },
      'the jobs to finish',
      20_000,
    )
    const failed = await spool.jobs.list({ queue, state: 'failed', tag: 'odd', tenant: 'default', limit: 100 })
    failedOdd = failed.jobs.map((job) => job.id)
    completedId = (await spool.jobs.list({ queue, state: 'completed', tenant: 'default', limit: 1 })).jobs[0]
      ?.id as string
    const later = await spool.enqueue(queue, { n: 100 }, { tags: ['odd'], delayMs: 2 * 3_600_000 })
    const soon = await spool.enqueue(queue, { n: 101 }, { tags: ['odd'], delayMs: 30 * 60_000 })
    scheduled = { soon: soon.id, later: later.id }
    // A job held running, to see its worker.
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    workers.push(
      spool.work('held', async () => {
        await gate
        return 'done'
      }) as Worker<never, never>,
    )
    browser = await launchChromium()
    context = await browser.newContext({
      viewport: { width: 1280, height: 820 },
      colorScheme: 'light',
      locale: 'en-US',
    })
    page = await context.newPage()
    trouble = recordPageTrouble(page)
    await page.goto(t.url)
    await page.getByLabel('API key').fill(t.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
  }, 60_000)

  beforeEach(({ onTestFailed, task }) => {
    onTestFailed(async () => {
      const report = [...trouble(), await probeServer(t.url)]
      console.error(`[jobs view] "${task.name}" failed; the page reported:\n  ${report.join('\n  ')}`)
    })
  })

  afterAll(async () => {
    release()
    await browser?.close()
    for (const worker of workers) await worker.close({ graceMs: 200 })
    await t?.close()
  })

  const tabCount = async (name: string) =>
    (
      await page
        .getByRole('tab', { name: new RegExp(`^${name}\\b`) })
        .locator('.count')
        .textContent()
    )?.trim()

  it('counts the state tabs with every filter, and shows the total of matches', async () => {
    expect(failedOdd).toHaveLength(5)
    await page.goto(`${t.url}/jobs?state=failed&tag=odd`)
    await page.locator('tr[data-job]').first().waitFor()
    await eventually(async () => (await tabCount('failed')) === '5', 'the failed tab to count 5')
    // Odd completed: 15 odd jobs less the 5 that failed; the odd scheduled ones count too.
    expect(await tabCount('completed')).toBe('10')
    expect(await tabCount('scheduled')).toBe('2')
    expect(await tabCount('all')).toBe('17')
    await expect(page.getByTestId('match-total').textContent()).resolves.toBe('5 jobs match')
    expect(await page.locator('tr[data-job]').count()).toBe(5)
    await page.getByRole('tab', { name: /^all/ }).click()
    await page.getByTestId('match-total').filter({ hasText: '17 jobs match' }).waitFor()
    await page.screenshot({ path: screenshotPath('jobs-filtered') })
  })

  it('labels a capped count as such', async () => {
    await page.route('**/v1/jobs/counts*', async (route) => {
      const response = await route.fetch()
      const body = await response.json()
      body.counts.completed = 10_000
      body.capped = ['completed']
      body.total += 10_000
      await route.fulfill({ response, json: body })
    })
    try {
      await page.goto(`${t.url}/jobs?state=completed`)
      await eventually(async () => (await tabCount('completed')) === '10,000+', 'a capped count')
      await page.getByTestId('match-total').filter({ hasText: '10,000+ jobs match (counted up to the cap)' }).waitFor()
    } finally {
      await page.unroute('**/v1/jobs/counts*')
    }
  })

  it('shows when a scheduled job runs, in the list and on its page', async () => {
    await page.goto(`${t.url}/jobs?state=scheduled`)
    const row = page.locator(`tr[data-job="${scheduled.soon}"]`)
    await row.waitFor()
    const headers = await page.locator('.jobs-table thead th').allTextContents()
    const runAt = headers.indexOf('Run at')
    expect(runAt).toBeGreaterThan(0)
    await expect(row.locator('td').nth(runAt).textContent()).resolves.toMatch(/^in (29|30) min$/)
    await expect(page.locator(`tr[data-job="${scheduled.later}"] td`).nth(runAt).textContent()).resolves.toMatch(
      /^in (1|2) h$/,
    )
    await row.getByRole('link').click()
    const runs = page.getByTestId('runs-at')
    await runs.waitFor()
    const at = (await t.spool.jobs.get(scheduled.soon))?.runAt.getTime() ?? 0
    // The browser's own format for that moment.
    const expected = await page.evaluate(
      (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }),
      at,
    )
    await expect(runs.textContent()).resolves.toMatch(new RegExp(`^Runs in (29|30) min, at ${expected}\\.$`))
  })

  it('shows the worker of a running job, and of a finished one when the API names it', async () => {
    const { id } = await t.spool.enqueue('held', { hold: true })
    await eventually(async () => (await t.spool.jobs.get(id))?.state === 'active', 'the held job to run')
    const workerId = (await t.spool.jobs.get(id))?.workerId as string
    expect(workerId).toBeTruthy()
    await page.goto(`${t.url}/jobs/${id}`)
    await page.getByTestId('worker').filter({ hasText: workerId }).waitFor()
    // A finished job whose answer keeps its worker (the API does once a job has ended).
    await page.route(`**/v1/jobs/${completedId}`, async (route) => {
      const response = await route.fetch()
      await route.fulfill({ response, json: { ...(await response.json()), workerId: 'node-7/view-worker' } })
    })
    try {
      await page.goto(`${t.url}/jobs/${completedId}`)
      await page.locator('h1 .badge', { hasText: 'completed' }).waitFor()
      await expect(page.getByTestId('worker').textContent()).resolves.toBe('node-7/view-worker')
    } finally {
      await page.unroute(`**/v1/jobs/${completedId}`)
    }
  })

  it('shows a failed job’s missing result neutrally and its error as an error', async () => {
    await page.goto(`${t.url}/jobs/${failedOdd[0]}`)
    await page.locator('h1 .badge', { hasText: 'failed' }).waitFor()
    const result = page.getByTestId('result')
    await result.waitFor()
    await page.screenshot({ path: screenshotPath('job-detail-no-result') })
    await expect(result.locator('.muted').textContent()).resolves.toBe('No result: the job failed.')
    await expect(result.locator('.error-text').textContent()).resolves.toMatch(/^Last error \(attempt 1\): boom-odd$/)
    // No red `null` anywhere in the result.
    expect(await result.getByText('null').count()).toBe(0)
    expect(await page.locator('.json .j-b', { hasText: 'null' }).count()).toBe(0)
  })

  it('writes the log’s times as the timeline does', async () => {
    await page.goto(`${t.url}/jobs/${completedId}`)
    const logs = page.locator('pre.logs')
    await logs.waitFor()
    const lines = ((await logs.textContent()) ?? '').split('\n')
    expect(lines).toHaveLength(2)
    const logTime = lines[0]?.split('  ')[0]
    const timelineTime = await page
      .locator('.timeline li', { has: page.locator('.event-type', { hasText: 'job.log' }) })
      .first()
      .locator('time')
      .textContent()
    // 12-hour clock with seconds and milliseconds in en-US, the same text in both places.
    expect(logTime).toMatch(/^\d{1,2}:\d{2}:\d{2}\.\d{3} (AM|PM)$/)
    expect(timelineTime).toBe(logTime)
  })

  it('filters by error message and sorts by run-at', async () => {
    await page.goto(`${t.url}/jobs`)
    await page.getByLabel('Error message').fill('BOOM-ODD')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.waitForURL(/error=BOOM-ODD/)
    await page.getByTestId('match-total').filter({ hasText: '5 jobs match' }).waitFor()
    const ids = await page
      .locator('tr[data-job]')
      .evaluateAll((rows) => rows.map((row) => (row as unknown as DomElement).getAttribute('data-job')))
    expect(ids.sort()).toEqual([...failedOdd].sort())
    await expect(page.getByTestId('filter-summary').textContent()).resolves.toBe('· error: BOOM-ODD')

    await page.goto(`${t.url}/jobs?state=scheduled`)
    await page.locator(`tr[data-job="${scheduled.soon}"]`).waitFor()
    const order = () =>
      page
        .locator('tr[data-job]')
        .evaluateAll((rows) => rows.map((row) => (row as unknown as DomElement).getAttribute('data-job')))
    // Newest first: the soon one was created last.
    expect(await order()).toEqual([scheduled.soon, scheduled.later])
    await page.getByLabel('Sort').selectOption({ label: 'Run at, latest first' })
    await page.waitForURL(/sort=runAt/)
    await eventually(async () => (await order())[0] === scheduled.later, 'the latest run first')
    await page.getByLabel('Sort').selectOption({ label: 'Run at, soonest first' })
    await page.waitForURL(/order=asc/)
    await eventually(async () => (await order())[0] === scheduled.soon, 'the soonest run first')
  })

  it('exports the filtered jobs as CSV and JSON Lines', async () => {
    await page.goto(`${t.url}/jobs?state=failed&tag=odd`)
    await page.locator('tr[data-job]').first().waitFor()
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export' }).click(),
    ])
    expect(csv.suggestedFilename()).toMatch(/^spool-jobs-.+\.csv$/)
    const rows = (await readFile((await csv.path()) as string, 'utf8')).trimEnd().split('\r\n')
    expect(rows[0]).toMatch(/^id,queue,tenant,state,/)
    expect(
      rows
        .slice(1)
        .map((row) => row.split(',')[0])
        .sort(),
    ).toEqual([...failedOdd].sort())

    await page.getByLabel('Export format').selectOption('jsonl')
    const [jsonl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export' }).click(),
    ])
    expect(jsonl.suggestedFilename()).toMatch(/\.jsonl$/)
    const jobs = (await readFile((await jsonl.path()) as string, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(jobs.map((job) => job.id).sort()).toEqual([...failedOdd].sort())
    expect(jobs.every((job) => job.tenant === 'default' && job.state === 'failed')).toBe(true)
  })

  it('focuses the search box on "/"', async () => {
    await page.goto(`${t.url}/jobs`)
    await page.locator('tr[data-job]').first().waitFor()
    await page.locator('h1').click()
    await page.keyboard.press('/')
    await expect(
      page.evaluate(() => (globalThis as unknown as DomWindow).document.activeElement?.getAttribute('name')),
    ).resolves.toBe('text')
    await page.keyboard.type('"n":101')
    await page.keyboard.press('Enter')
    await page.waitForURL(/text=/)
    // The job was on the unfiltered page too: wait for the filtered answer to replace that page.
    await expect.poll(() => page.locator('tr[data-job]').count(), { timeout: 10_000 }).toBe(1)
    await page.locator(`tr[data-job="${scheduled.soon}"]`).waitFor()
    // Typed into a field, "/" is a character.
    await page.getByLabel('Tag').fill('a/b')
    await expect(page.getByLabel('Tag').inputValue()).resolves.toBe('a/b')
  })

  it('on a phone, folds the filters with a summary, and nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 800 })
    try {
      await page.goto(`${t.url}/jobs?tag=odd&state=failed`)
      await page.locator('tr[data-job]').first().waitFor()
      const toggle = page.getByRole('button', { name: /^Filters/ })
      await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('false')
      await page.screenshot({ path: screenshotPath('mobile-jobs-folded') })
      await expect(page.getByTestId('filter-summary').textContent()).resolves.toBe('· tag: odd')
      expect(await page.getByLabel('Error message').count()).toBe(0)
      // The jobs table starts on the first screen, not below the form.
      const tableTop = await page
        .locator('.jobs-table')
        .evaluate((el) => (el as unknown as DomElement).getBoundingClientRect().top)
      expect(tableTop).toBeLessThan(800)
      const sideways = () =>
        page.evaluate(() => {
          const root = (globalThis as unknown as DomWindow).document.documentElement
          return root.scrollWidth - root.clientWidth
        })
      expect(await sideways()).toBeLessThanOrEqual(0)
      await toggle.click()
      await page.getByLabel('Error message').waitFor()
      await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('true')
      expect(await sideways()).toBeLessThanOrEqual(0)
      // Applying folds them again.
      await page.getByLabel('Group').fill('g1')
      await page.getByRole('button', { name: 'Apply filters' }).click()
      await page.waitForURL(/group=g1/)
      await expect(page.getByTestId('filter-summary').textContent()).resolves.toBe('· group: g1 · tag: odd')
      expect(await page.getByLabel('Error message').count()).toBe(0)
      // A job's page too.
      await page.goto(`${t.url}/jobs/${failedOdd[0]}`)
      await page.getByTestId('result').waitFor()
      expect(await sideways()).toBeLessThanOrEqual(0)
    } finally {
      await page.setViewportSize({ width: 1280, height: 820 })
    }
  })
})
