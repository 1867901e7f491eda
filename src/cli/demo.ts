/**
 * The demo the quick start shows: a `demo` queue fed a job every half second, served by a
 * worker that reports progress and sometimes fails, so retries and backoff are visible too.
 */
import type { Spool } from '../engine/spool.js'

const STEPS = ['fetching', 'transcoding', 'transcribing', 'summarising']

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
