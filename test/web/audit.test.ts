/**
 * The audit log page in Chromium against a real server: it opens at the newest entry and pages
 * back, every row has its own number although entries written together share a record, viewing
 * a job page is one row (not one per request the page makes), and the Target cell sits in its
 * row like the others.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../server/helpers.js'
import { ensureDashboardBuilt, launchChromium, recordPageTrouble } from './browser.js'

/** The little of the DOM these checks use (the tests compile without the DOM's types). */
interface Cell {
  textContent: string | null
  querySelectorAll(selector: string): ArrayLike<Cell>
  getBoundingClientRect(): { top: number; bottom: number }
}
interface Dom {
  document: { querySelectorAll(selector: string): ArrayLike<Cell>; querySelector(selector: string): Cell | null }
  getComputedStyle(cell: Cell): { display: string }
}

describe('audit log page in Chromium', () => {
  let t: TestServer
  let browser: Browser
  let page: Page
  let admin: string
  const errors: string[] = []

  beforeAll(async () => {
    ensureDashboardBuilt()
    t = await startServer()
    admin = await t.key('clinic', ['admin'])
    // 260 writes, 20 at a time (answered together, so written together: seqs repeat), then one
    // last write that the page must show first.
    for (let round = 0; round < 13; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.request('POST', '/v1/queues/audited/jobs', { key: admin, body: { payload: { round, i } } }),
        ),
      )
    }
    browser = await launchChromium()
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } })
    page = await context.newPage()
    recordPageTrouble(page, errors)
    await page.goto(t.url)
    await page.getByLabel('API key').fill(admin)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
  })

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  /** The rows on the page: their number, action and target. */
  const rows = () =>
    page.locator('tbody tr').evaluateAll((trs) =>
      (trs as unknown as Cell[]).map((tr) => {
        const cells = Array.from(tr.querySelectorAll('td')).map((td) => td.textContent?.trim() ?? '')
        return { id: cells[0] as string, action: cells[3] as string, target: cells[4] as string }
      }),
    )
  const place = (id: string) => id.split('.').map(Number) as [number, number]
  const descending = (ids: string[]) =>
    ids.every((id, i) => {
      if (i === 0) return true
      const [s, n] = place(id)
      const [ps, pn] = place(ids[i - 1] as string)
      return s < ps || (s === ps && n < pn)
    })

  it('opens at the newest entry, 200 a page, with a unique number on every row, and pages back', async () => {
    // The newest write, after everything the sign-in and the overview read.
    await t.request('POST', '/v1/queues/newest-write/pause', { key: admin })
    await page.goto(`${t.url}/audit`)
    await page.locator('tbody tr').first().waitFor()
    const first = await rows()
    expect(first[0]).toMatchObject({ action: 'queues.pause', target: 'newest-write' })
    expect(first.length).toBeGreaterThanOrEqual(200)
    expect(first.length).toBeLessThan(262)
    const ids = first.map((row) => row.id)
    expect(ids.every((id) => /^\d+\.\d+$/.test(id))).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    expect(descending(ids)).toBe(true)
    // The older entries are one click away, after the newer ones.
    await page.getByRole('button', { name: 'Load more' }).click()
    await page.waitForFunction(
      (n) => (globalThis as unknown as Dom).document.querySelectorAll('tbody tr').length > n,
      first.length,
    )
    const all = (await rows()).map((row) => row.id)
    expect(new Set(all).size).toBe(all.length)
    expect(descending(all)).toBe(true)
    expect(all.length).toBeGreaterThanOrEqual(261)
    // Oldest first is a choice of the filter form.
    await page.getByLabel('Order').selectOption('asc')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.waitForURL(/order=asc/)
    await expect.poll(async () => (await rows())[0]?.action).toBe('jobs.create')
  })

  it('the Target cell sits in its row: its bottom border lines up with the other cells', async () => {
    await page.goto(`${t.url}/audit`)
    await page.locator('tbody tr').first().waitFor()
    const cells = await page
      .locator('tbody tr')
      .first()
      .locator('td')
      .evaluateAll((tds) =>
        (tds as unknown as Cell[]).map((td) => {
          const box = td.getBoundingClientRect()
          const display = (globalThis as unknown as Dom).getComputedStyle(td).display
          return { display, top: box.top, bottom: box.bottom }
        }),
      )
    expect(cells.map((cell) => cell.display)).toEqual(cells.map(() => 'table-cell'))
    const target = cells[4] as { top: number; bottom: number }
    for (const cell of cells)
      expect({ top: cell.top, bottom: cell.bottom }).toEqual({ top: target.top, bottom: target.bottom })
  })

  it('viewing a job page is one audit row, however many requests it makes and however long it stays open', async () => {
    const created = await t.request('POST', '/v1/queues/viewed/jobs', { key: admin, body: { payload: { p: 1 } } })
    const id = created.body.id as string
    await page.goto(`${t.url}/jobs/${id}`)
    await page.getByRole('heading', { name: new RegExp(`Job #${id}\\b`) }).waitFor()
    await page.waitForTimeout(2_500)
    await page.reload()
    await page.getByRole('heading', { name: new RegExp(`Job #${id}\\b`) }).waitFor()
    await page.waitForTimeout(1_000)
    const log = await t.request('GET', '/v1/audit?limit=1000', { key: admin })
    const reads = (log.body.entries as { action: string; target: string }[]).filter(
      (e) => e.target === id && e.action !== 'jobs.create',
    )
    expect(reads.map((e) => e.action)).toEqual(['jobs.get'])
    expect(errors).toEqual([])
  })
})
