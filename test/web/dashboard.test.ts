/**
 * The dashboard end to end in Chromium against a real server: sign in; retry a failed job and
 * watch it complete; cancel every job matching a filter; pause a queue and see claims stop;
 * a reader key changes nothing (no controls, and the API refuses); the sessions flow when the
 * server has the sessions API. Screenshots of each view go to docs/screenshots/ with SPOOL_SCREENSHOTS=1.
 */
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AudioPipeline, resolvePipelineOptions, startAudioPipeline } from '../../src/audio/pipeline/index.js'
import type { Worker } from '../../src/engine/worker.js'
import { eventually, startServer, type TestServer } from '../server/helpers.js'
import { ensureDashboardBuilt, launchChromium, screenshotPath } from './browser.js'

describe('dashboard in Chromium', () => {
  let t: TestServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let readerKey: string
  let audio: AudioPipeline
  const workers: Worker<never, never>[] = []
  const failOnce = new Set<string>()

  beforeAll(async () => {
    ensureDashboardBuilt()
    t = await startServer()
    // The audio pipeline's workers, as `spool start` runs them, for the sessions views.
    audio = await startAudioPipeline(t.spool, resolvePipelineOptions({ dir: join(t.dir, 'audio') }))
    readerKey = await t.key('default', ['reader'])
    const { spool } = t
    // Work for the charts and the views: a steady queue, a flaky one, a flow.
    workers.push(
      spool.work(
        'emails',
        async (_job, ctx) => {
          await ctx.progress(50, 'sending')
          await ctx.log('handed to the mail server')
          return { sent: true }
        },
        { concurrency: 4, pollIntervalMs: 100 },
      ) as Worker<never, never>,
      spool.work(
        'flaky',
        async (job, ctx) => {
          await ctx.log(`attempt ${job.attempt}`)
          if (!failOnce.has(job.id)) {
            failOnce.add(job.id)
            throw Object.assign(new Error('the provider answered 503'), { status: 503 })
          }
          return { ok: true }
        },
        { concurrency: 2, pollIntervalMs: 100 },
      ) as Worker<never, never>,
      spool.work('steady', async () => ({ done: true }), { concurrency: 2, pollIntervalMs: 100 }) as Worker<
        never,
        never
      >,
    )
    for (let i = 0; i < 30; i++) await spool.enqueue('emails', { to: `user${i}@example.com` }, { tags: ['welcome'] })
    await spool.flows.add({
      queue: 'reports',
      payload: { report: 'weekly' },
      children: [
        { queue: 'emails', payload: { to: 'boss@example.com' } },
        { queue: 'emails', payload: { to: 'team@example.com' } },
      ],
    })
    await spool.breakers.define('openai', { failureThreshold: 3, cooldownMs: 30_000 })
    await spool.breakers.open('openai')
    await spool.queues.configure('notes', {
      breaker: 'openai',
      concurrency: 4,
      rateLimit: { max: 60, windowMs: 60_000 },
    })
    await spool.enqueue('notes', { session: 'a1' })
    await spool.schedules.upsert({
      name: 'nightly-report',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      queue: 'reports',
      payload: { kind: 'daily' },
    })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: 'light' })
    page = await context.newPage()
  })

  afterAll(async () => {
    await browser?.close()
    for (const worker of workers) await worker.close({ graceMs: 200 })
    await audio?.close({ graceMs: 200 })
    await t?.close()
  })

  const shot = (name: string) => page.screenshot({ path: screenshotPath(name), fullPage: false })
  const signIn = async (key: string) => {
    await page.goto(t.url)
    await page.getByLabel('API key').fill(key)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
  }

  it('signs in with an API key and shows the overview, live', async () => {
    await page.goto(t.url)
    await page.getByRole('heading', { name: 'Spool' }).waitFor()
    await shot('sign-in')
    await page.getByLabel('API key').fill('spool_not-a-key')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'SPOOL_UNAUTHENTICATED' }).waitFor()
    await signIn(t.adminKey)
    await expect(page.getByTestId('who').textContent()).resolves.toContain('default')
    await page.locator('.live-dot.on').waitFor()
    await eventually(
      async () => Number(await page.getByTestId('total-completed').textContent()) >= 30,
      'completed emails on the overview',
    )
    // A few seconds of traffic while the page watches, so the live chart has something to draw.
    for (let burst = 0; burst < 8; burst++) {
      await t.spool.enqueueMany(
        'emails',
        Array.from({ length: 6 + burst }, (_, i) => ({ payload: { to: `live${burst}-${i}@example.com` } })),
      )
      if (burst % 3 === 0) await t.spool.enqueue('flaky', { burst })
      await page.waitForTimeout(350)
    }
    await page.waitForTimeout(1500)
    await shot('overview')
  })

  it('retries a failed job and sees it complete', async () => {
    const { id } = await t.spool.enqueue('flaky', { prompt: 'summarise' }, { maxAttempts: 1 })
    await eventually(async () => (await t.spool.jobs.get(id))?.state === 'failed', 'the job to fail')
    await page.goto(`${t.url}/jobs/${id}`)
    await page.locator('h1 .badge', { hasText: 'failed' }).waitFor()
    await expect(page.getByText('the provider answered 503').count()).resolves.toBeGreaterThan(0)
    await page.locator('.stack-trace').first().waitFor()
    await shot('job-detail-failed')
    await page.getByRole('button', { name: 'Retry', exact: true }).click()
    await page.locator('h1 .badge', { hasText: 'completed' }).waitFor({ timeout: 10_000 })
    expect((await t.spool.jobs.get(id))?.state).toBe('completed')
    await page.getByRole('heading', { name: /Logs/ }).scrollIntoViewIfNeeded()
    await shot('job-detail')
  })

  it('cancels every job matching a filter, after a confirmation that says how many', async () => {
    const later = { delayMs: 3_600_000 }
    await t.spool.enqueueMany(
      'bulk',
      Array.from({ length: 120 }, (_, n) => ({ payload: { kind: 'cancel-me', n }, options: later })),
    )
    const keeping = Array.from({ length: 5 }, (_, n) => ({ payload: { kind: 'keep-me', n }, options: later }))
    const keep = (await t.spool.enqueueMany('bulk', keeping)).map((job) => job.id)
    await page.goto(`${t.url}/jobs?queue=bulk&text=cancel-me`)
    await page.locator('tr[data-job]').first().waitFor()
    expect(await page.locator('tr[data-job]').count()).toBe(50)
    await shot('jobs')
    await page.getByLabel('Select every job on this page').check()
    await page.getByRole('button', { name: 'Select all jobs matching this filter' }).click()
    await page.getByTestId('selection-count').filter({ hasText: 'All jobs matching this filter' }).waitFor()
    await page.getByRole('button', { name: 'Cancel', exact: true }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByRole('heading', { name: 'Cancel 120 jobs?' }).waitFor()
    await shot('jobs-bulk-confirm')
    await dialog.getByRole('button', { name: 'Cancel 120 jobs' }).click()
    await page.getByText('Cancelled 120 of 120 jobs').waitFor()
    const counts = await t.spool.queues.counts('bulk')
    expect(counts.cancelled).toBe(120)
    expect(counts.scheduled).toBe(5)
    for (const id of keep) expect((await t.spool.jobs.get(id))?.state).toBe('scheduled')
    // The filter lives in the URL: a reload shows the same (now cancelled) jobs.
    await page.reload()
    await page.locator('tr[data-job] .badge', { hasText: 'cancelled' }).first().waitFor()
  })

  it('pauses a queue and claims stop, then resumes it', async () => {
    await t.spool.enqueue('steady', { n: 0 })
    await eventually(async () => (await t.spool.queues.counts('steady')).completed >= 1, 'a first steady job')
    await page.goto(`${t.url}/queues`)
    const row = page.locator('tr[data-queue="steady"]')
    await row.getByRole('button', { name: /Pause/ }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Pause queue' }).click()
    await row.locator('.badge', { hasText: 'paused' }).waitFor()
    expect((await t.spool.queues.get('steady'))?.paused).toBe(true)
    await shot('queues')
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) ids.push((await t.spool.enqueue('steady', { n: i })).id)
    await page.waitForTimeout(1500)
    for (const id of ids) expect((await t.spool.jobs.get(id))?.state).toBe('waiting')
    await row.getByRole('button', { name: /Resume/ }).click()
    await row.locator('.badge', { hasText: 'running' }).waitFor()
    await eventually(async () => {
      const states = await Promise.all(ids.map(async (id) => (await t.spool.jobs.get(id))?.state))
      return states.every((state) => state === 'completed')
    }, 'the steady jobs to run after resume')
  })

  it('shows every other view', async () => {
    await page.goto(`${t.url}/queues/notes`)
    await page.getByRole('heading', { name: 'Settings' }).waitFor()
    await shot('queue-detail')
    await page.goto(`${t.url}/create`)
    await page.getByLabel('Payload (JSON)').fill('{"to": "new@example.com"')
    await page.getByText('✗').waitFor()
    await page.getByLabel('Queue').fill('emails')
    await page.getByLabel('Payload (JSON)').fill('{"to": "new@example.com"}')
    await page.getByText('✓ valid JSON').waitFor()
    await shot('create-job')
    await page.getByRole('button', { name: 'Create job' }).click()
    await page.waitForURL(/\/jobs\/\d+$/)
    await page.goto(`${t.url}/schedules`)
    await page.getByRole('rowheader', { name: 'nightly-report' }).waitFor()
    await shot('schedules')
    await page.goto(`${t.url}/breakers`)
    await page.getByRole('rowheader', { name: 'openai' }).waitFor()
    await shot('breakers')
    await page.goto(`${t.url}/workers`)
    await page.getByRole('rowheader').first().waitFor()
    await shot('workers')
    await page.goto(`${t.url}/audit`)
    await page.locator('tbody tr').first().waitFor()
    await shot('audit')
    await page.goto(`${t.url}/keys`)
    await page.getByLabel('Name').fill('ci reader')
    await page.getByRole('button', { name: 'Create key' }).click()
    await expect(page.getByTestId('new-token').textContent()).resolves.toMatch(/^spool_/)
    await shot('keys')
    await page.goto(`${t.url}/`)
    await page.getByRole('button', { name: /Switch to dark theme/ }).click()
    await page.waitForTimeout(300)
    await shot('overview-dark')
    await page.getByRole('button', { name: /Switch to light theme/ }).click()
    await page.setViewportSize({ width: 390, height: 800 })
    await page.goto(`${t.url}/jobs`)
    await page.getByRole('button', { name: /Menu/ }).waitFor()
    await shot('mobile-jobs')
    await page.setViewportSize({ width: 1280, height: 820 })
  })

  it('a reader sees everything and changes nothing', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await signIn(readerKey)
    await expect(page.getByTestId('who').textContent()).resolves.toContain('reader')
    await expect(page.getByRole('link', { name: 'Create job' }).count()).resolves.toBe(0)
    await expect(page.getByRole('link', { name: 'API keys' }).count()).resolves.toBe(0)
    await page.goto(`${t.url}/jobs?state=failed`)
    await page.getByRole('tab', { name: /failed/ }).waitFor()
    await page.goto(`${t.url}/jobs?queue=emails`)
    await page.locator('tr[data-job]').first().waitFor()
    expect(await page.locator('tr[data-job] input[type=checkbox]').count()).toBe(0)
    const id = await page.locator('tr[data-job]').first().getAttribute('data-job')
    await page.goto(`${t.url}/jobs/${id}`)
    await page.getByRole('heading', { name: `Job #${id}` }).waitFor()
    expect(await page.getByRole('button', { name: /Retry|Cancel|Delete|Set priority/ }).count()).toBe(0)
    await page.goto(`${t.url}/queues`)
    await page.locator('tr[data-queue="steady"]').waitFor()
    expect(await page.getByRole('button', { name: /Pause|Resume/ }).count()).toBe(0)
    // And the API refuses, whatever a page would send.
    const status = await page.evaluate(
      async ([key, jobId]) => {
        const pause = await fetch('/v1/queues/steady/pause', {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
        })
        const cancel = await fetch(`/v1/jobs/${jobId}/cancel`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
        })
        return [pause.status, cancel.status]
      },
      [readerKey, id],
    )
    expect(status).toEqual([403, 403])
    expect((await t.spool.queues.get('steady'))?.paused).toBe(false)
    await shot('reader-queues')
  })

  it('sessions: upload a recording, watch it finish, seek by clicking a word', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await signIn(t.adminKey)
    await page.goto(`${t.url}/sessions`)
    await page
      .getByLabel(/Audio file/)
      .setInputFiles(new URL('../../../shared/audio/jfk.flac', import.meta.url).pathname)
    await page.getByLabel('Patient name').fill('Test Patient')
    await page.getByLabel('Urgency').selectOption('same-day')
    await page.getByRole('button', { name: 'Upload and transcribe' }).click()
    await page.waitForURL(/\/sessions\/[^/]+$/)
    await page.locator('[data-testid=session-progress] [aria-valuenow="100"]').waitFor({ timeout: 90_000 })
    const word = page.locator('[data-testid=transcript] .word').nth(3)
    await word.waitFor()
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { querySelector(q: string): unknown } }).document
      const element = doc.querySelector('[data-testid=audio]') as { readyState: number } | null
      return element !== null && element.readyState >= 1
    })
    await page.locator('canvas.waveform').waitFor()
    const start = Number(await word.getAttribute('data-start'))
    await word.click()
    await page.locator('[data-testid=transcript] .word.now').first().waitFor()
    await shot('session')
    const time = await page
      .locator('[data-testid=audio]')
      .evaluate((audio) => (audio as unknown as { currentTime: number }).currentTime)
    expect(Math.abs(time - start)).toBeLessThan(0.5)
    await page.goto(`${t.url}/sessions`)
    await page.locator('tbody tr').first().waitFor()
    await shot('sessions')
  })
})
