/**
 * The dashboard under a real browser: Debian's Chromium driven by playwright-core, against a
 * real Spool server (test/server/helpers.ts: temp SQLite file, 127.0.0.1, port 0). The
 * dashboard is built first when web/ or the client changed since the last build.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'

const root = fileURLToPath(new URL('../../', import.meta.url))

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
]

function newest(dir: string): number {
  let time = 0
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const stat = statSync(path)
    time = Math.max(time, stat.isDirectory() ? newest(path) : stat.mtimeMs)
  }
  return time
}

/** Builds dist/web when it is missing or older than its sources. */
export function ensureDashboardBuilt(): void {
  const index = join(root, 'dist/web/index.html')
  const built = existsSync(index) ? statSync(index).mtimeMs : 0
  const sources = Math.max(newest(join(root, 'web')), newest(join(root, 'src/client')))
  if (built >= sources) return
  execFileSync(
    join(root, 'node_modules/.bin/vite'),
    ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
    // React's production build, as `npm run build` makes it: the test runner sets NODE_ENV=test,
    // which would otherwise put the slower development build into dist/web.
    { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } },
  )
}

/**
 * What a page reported that a failing test should show: uncaught errors, console errors, a
 * crashed renderer, failed requests. Kept in memory; the function returned takes what was
 * kept since its last call. Uncaught errors and console errors other than failed loads (a
 * refused request is often what a test expects) are also appended to `errors`, for a test that
 * wants none at all.
 */
export function recordPageTrouble(page: Page, errors: string[] = []): () => string[] {
  const lines: string[] = []
  const at = () => new Date().toISOString().slice(11, 23)
  page.on('pageerror', (error) => {
    lines.push(`${at()} page error: ${error.message}`)
    errors.push(`${page.url()}: ${error.message}`)
  })
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    lines.push(`${at()} console error on ${new URL(page.url()).pathname}: ${message.text()}`)
    if (!message.text().startsWith('Failed to load resource')) errors.push(`${page.url()}: ${message.text()}`)
  })
  page.on('crash', () => lines.push(`${at()} the renderer crashed`))
  page.on('requestfailed', (request) => {
    // Requests a navigation cuts short (event streams, polls) are not trouble.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return
    lines.push(
      `${at()} request failed: ${request.method()} ${new URL(request.url()).pathname} ${request.failure()?.errorText}`,
    )
  })
  return () => lines.splice(0)
}

/** Whether the server still answers (a hung page and a hung server look alike from a test). */
export async function probeServer(url: string): Promise<string> {
  const started = Date.now()
  try {
    const response = await fetch(`${url}/livez`, { signal: AbortSignal.timeout(5_000) })
    return `GET /livez answered ${response.status} in ${Date.now() - started} ms`
  } catch (error) {
    return `GET /livez failed after ${Date.now() - started} ms: ${(error as Error).message}`
  }
}

/** Resolves with `promise`, or with `fallback` after `ms` (for closing a page that may hang). */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return Promise.race([promise, new Promise<T>((resolve) => setTimeout(() => resolve(fallback), ms).unref())])
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true })
}

/**
 * Where a view's screenshot goes: docs/screenshots/ when SPOOL_SCREENSHOTS=1 (to refresh the
 * README's pictures), else a temporary folder, so a test run leaves the checkout as it was.
 */
export const screenshotPath = (name: string) =>
  process.env.SPOOL_SCREENSHOTS === '1'
    ? join(root, 'docs/screenshots', `${name}.png`)
    : join(tmpdir(), `spool-screenshot-${name}.png`)
