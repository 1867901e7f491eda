/**
 * The dashboard's Providers view in Chromium against a real server whose gateway calls a fake
 * OpenAI upstream on loopback (configured through the settings): requests sent with the `openai`
 * SDK show up in the view's figures, new ones appear without a reload, and the view fits a
 * 390 px phone without sideways scroll.
 */
import OpenAI from 'openai'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import { type Gateway, gatewayFor } from '../../src/ai/gateway.js'
import { startServer, type TestServer } from '../server/helpers.js'
import { ensureDashboardBuilt, launchChromium, probeServer, recordPageTrouble } from './browser.js'

const PHONE = { width: 390, height: 800 }
const DESKTOP = { width: 1280, height: 820 }
const SECRET = 'sk-dashboard-upstream-secret-0c2f'

describe('Providers view in Chromium', { retry: 1 }, () => {
  let t: TestServer
  let fake: FakeUpstream
  let gateway: Gateway
  let browser: Browser
  let page: Page
  let producer: string
  let trouble: () => string[] = () => []
  const pageErrors: string[] = []

  beforeAll(async () => {
    ensureDashboardBuilt()
    fake = await startFakeUpstream()
    t = await startServer({
      config: {
        providers: {
          'fake-openai': {
            kind: 'openai',
            baseUrl: fake.url,
            apiKeyEnv: 'DASHBOARD_FAKE_KEY',
            models: ['gpt-dashboard'],
            rpm: 600,
            tpm: 200_000,
            prices: { 'gpt-dashboard': { input: 150, output: 600 } },
          },
        },
      },
    })
    gateway = gatewayFor(t.spool, {
      providers: t.server.config.providers,
      gateway: t.server.config.gateway,
      env: { DASHBOARD_FAKE_KEY: SECRET },
    })
    await gateway.start()
    producer = await t.key('acme', ['producer'])
    browser = await launchChromium()
    page = await (await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' })).newPage()
    trouble = recordPageTrouble(page, pageErrors)
    await page.goto(t.url)
    await page.getByLabel('API key').fill(t.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
  })

  beforeEach(async ({ onTestFailed, task }) => {
    onTestFailed(async () => {
      const report = [...trouble(), await probeServer(t.url)]
      console.error(`[providers-view] "${task.name}" failed; the page reported:\n  ${report.join('\n  ')}`)
    })
    await page.setViewportSize(DESKTOP)
  })

  afterAll(async () => {
    await browser?.close()
    await gateway?.close({ graceMs: 100 })
    await t?.close()
    await fake?.close()
  })

  const chat = (content: string) =>
    new OpenAI({ apiKey: producer, baseURL: `${t.url}/v1`, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-dashboard',
      messages: [{ role: 'user', content }],
    })
  const tile = (name: string) => page.getByTestId('provider-fake-openai').getByTestId(`tile-${name}`)

  it('shows the requests sent through the SDK, and new ones live', async () => {
    fake.script({ rateLimit: true, retryAfter: '0' }, { status: 503 })
    for (const content of ['first', 'second', 'third']) await chat(content)
    await page.getByRole('link', { name: 'Providers' }).click()
    await page.getByRole('heading', { name: 'Providers' }).waitFor()
    // Three answered, one 429 and one 503 before them: five upstream calls against 600 RPM.
    await expect.poll(() => tile('rpm').textContent()).toBe('5 / 600')
    expect(await tile('429').textContent()).toBe('1')
    expect(await tile('5xx').textContent()).toBe('1')
    expect(await tile('breaker').textContent()).toBe('closed')
    expect(await tile('quota').textContent()).toBe('ok')
    expect(await tile('cost').textContent()).toMatch(/^\$\d/)
    expect(await tile('latency').textContent()).not.toBe('—')
    expect(Number((await tile('tokens').textContent())?.replace(/\D/g, ''))).toBeGreaterThan(0)
    expect(await page.getByRole('region', { name: 'provider fake-openai' }).textContent()).not.toContain(SECRET)
    // A new request shows up without a reload.
    await chat('fourth')
    await expect.poll(() => tile('rpm').textContent(), { timeout: 8_000 }).toBe('6 / 600')
    expect(pageErrors).toEqual([])
  })

  it('fits a 390 px phone without sideways scroll', async () => {
    await page.setViewportSize(PHONE)
    await page.goto(`${t.url}/providers`)
    await page.getByTestId('provider-fake-openai').waitFor()
    await page.getByRole('region', { name: 'provider fake-openai' }).locator('canvas').first().waitFor()
    const width = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
          .scrollWidth,
    )
    expect(width).toBeLessThanOrEqual(PHONE.width)
  })
})
