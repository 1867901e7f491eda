/**
 * The demo the quick start shows: a `demo` queue fed a job every half second, served by a
 * worker that reports progress and sometimes fails, so retries and backoff are visible too.
 *
 * What it prints stays compact, so the lines above it (the dashboard's address and the admin
 * key) stay on screen: on a terminal one status line redrawn in place; elsewhere (a pipe, a log
 * file) a one-line summary every few seconds. `--verbose` (or `SPOOL_DEMO_VERBOSE=1`) prints a
 * line for every job's every step instead.
 */
import type { Spool } from '../engine/spool.js'

const STEPS = ['fetching', 'transcoding', 'transcribing', 'summarising']

/** How often the demo's summary line is printed when stdout is not a terminal. */
export const DEMO_SUMMARY_MS = 5_000

export function startDemo(spool: Spool, print: (line: string) => void): () => void {
  let n = 0
  const feeder = setInterval(() => {
    n += 1
    const priority = n % 7 === 0 ? 'urgent' : n % 3 === 0 ? 'low' : 'normal'
    spool
      .enqueue(
        'demo',
        { n, note: `demo job ${n}` },
        { priority, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 1_000 } },
      )
      .catch((error) => print(`enqueue failed: ${(error as Error).message}`))
  }, 500)
  spool.work(
    'demo',
    async (_job, ctx) => {
      for (const [i, stage] of STEPS.entries()) {
        await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 250))
        ctx.signal.throwIfAborted()
        await ctx.progress(Math.round(((i + 1) / STEPS.length) * 100), stage)
      }
      if (Math.random() < 0.1) throw new Error('the demo provider is overloaded (a made-up 503)')
      return { words: Math.round(Math.random() * 500) }
    },
    { concurrency: 4 },
  )
  return () => clearInterval(feeder)
}

/** Where the demo's report goes: timestamped lines, and (on a terminal) one status line kept last. */
export interface DemoOutput {
  say(line: string): void
  /** Shows `text` as the live status line; absent when stdout is not a terminal. */
  status?: ((text: string) => void) | undefined
}

/** What the demo did so far. */
export interface DemoTally {
  created: number
  completed: number
  failed: number
  retried: number
  running: number
}

export function formatTally(tally: DemoTally): string {
  return `demo: ${tally.created} created, ${tally.completed} completed, ${tally.retried} retried, ${tally.failed} failed, ${tally.running} running`
}

/**
 * Reports the demo queue's events: every step (`verbose`), a live status line (`output.status`),
 * or a summary line every `summaryMs`. Returns a function that stops reporting.
 */
export function reportDemo(
  spool: Spool,
  output: DemoOutput,
  options: { verbose: boolean; summaryMs?: number },
): () => void {
  const tally: DemoTally = { created: 0, completed: 0, failed: 0, retried: 0, running: 0 }
  const running = new Set<string>()
  const bar = (percent: number) =>
    `${'█'.repeat(Math.round(percent / 10)).padEnd(10, '·')} ${String(percent).padStart(3)}%`
  const subscription = spool.events.subscribe({ queue: 'demo' }, (event) => {
    const id = event.jobId ?? ''
    if (event.type === 'job.created') tally.created += 1
    else if (event.type === 'job.active') running.add(id)
    else if (event.type === 'job.completed') {
      tally.completed += 1
      running.delete(id)
    } else if (event.type === 'job.failed') {
      tally.failed += 1
      running.delete(id)
    } else if (event.type === 'job.retrying') {
      tally.retried += 1
      running.delete(id)
    }
    tally.running = running.size
    if (!options.verbose) return
    const tag = `job ${id.padStart(4)}`
    if (event.type === 'job.progress')
      output.say(`${tag}  ${bar(Number(event.data.percent))}  ${event.data.stage ?? ''}`)
    else if (event.type === 'job.retrying') output.say(`${tag}  retrying after: ${event.data.error}`)
    else if (event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.created') {
      output.say(`${tag}  ${event.type.slice(4)}`)
    }
  })
  let timer: NodeJS.Timeout | null = null
  if (!options.verbose) {
    const { status } = output
    let shown = ''
    const redraw = (status: (text: string) => void) => {
      const text = `${formatTally(tally)}  (--verbose: every step)`
      if (text !== shown) status(text)
      shown = text
    }
    timer = status
      ? setInterval(() => redraw(status), 250)
      : setInterval(() => output.say(formatTally(tally)), options.summaryMs ?? DEMO_SUMMARY_MS)
    timer.unref()
  }
  return () => {
    if (timer) clearInterval(timer)
    subscription.close()
  }
}
