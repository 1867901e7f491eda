/**
 * `spool top`: a live terminal view of a running Spool server through its HTTP API — jobs by
 * state per queue, completions and failures per second (from the event stream), throughput,
 * open breakers, and what each worker runs. The key comes from SPOOL_KEY (never a flag: other
 * users can read flags in the process list). `q` or Ctrl-C quits; `--once` prints one frame.
 */
import { createClient, SpoolApiError, type SpoolClient } from '../client/index.js'
import type { Breaker, Queue, Stats, WorkerInfo } from '../client/types.js'

export interface TopOptions {
  url: string
  key: string
  /** Redraw every this many ms (default 1000). */
  intervalMs?: number
  /** Print one frame and stop. */
  once?: boolean
  out?: (text: string) => void
  /** Terminal width (default: stdout's, else 100). */
  columns?: number
}

interface Frame {
  at: number
  tenant: string
  stats: Stats
  queues: Queue[]
  workers: WorkerInfo[] | null
  breakers: Breaker[]
  live: boolean
  perSecond: { completed: number[]; failed: number[] }
  queueRate: Map<string, number>
}

const SPARK = '▁▂▃▄▅▆▇█'
const STATES = ['waiting', 'active', 'scheduled', 'blocked', 'failed', 'completed'] as const

export function sparkline(values: number[]): string {
  const max = Math.max(1, ...values)
  return values.map((v) => (v === 0 ? ' ' : (SPARK[Math.min(7, Math.floor((v / max) * 7.999))] ?? '█'))).join('')
}

const pad = (text: string | number, width: number) => String(text).slice(0, width).padStart(width)
const padEnd = (text: string | number, width: number) => String(text).slice(0, width).padEnd(width)

/** One screen of text for a frame (no escape codes but bold/dim, which `plain` drops). */
export function render(frame: Frame, columns: number, plain = false): string {
  const bold = (s: string) => (plain ? s : `\x1b[1m${s}\x1b[0m`)
  const dim = (s: string) => (plain ? s : `\x1b[2m${s}\x1b[0m`)
  const red = (s: string) => (plain ? s : `\x1b[31m${s}\x1b[0m`)
  const lines: string[] = []
  const totals = Object.fromEntries(
    STATES.map((s) => [s, Object.values(frame.stats.counts).reduce((sum, c) => sum + (c[s] ?? 0), 0)]),
  )
  lines.push(
    `${bold('spool top')}  tenant ${frame.tenant}  ${new Date(frame.at).toLocaleTimeString()}  ${frame.live ? 'live' : red('stream reconnecting')}`,
  )
  lines.push(STATES.map((s) => `${s} ${bold(String(totals[s]))}`).join('   '))
  const rate = frame.stats.successRate === null ? '—' : `${Math.round(frame.stats.successRate * 100)}%`
  const wait = frame.stats.waitMs
    ? `${Math.round(frame.stats.waitMs.p50)} ms / ${Math.round(frame.stats.waitMs.p95)} ms`
    : '—'
  lines.push(`throughput ${frame.stats.throughputPerMinute.toFixed(1)}/min   success ${rate}   wait p50/p95 ${wait}`)
  const width = Math.max(10, Math.min(60, columns - 24))
  const done = frame.perSecond.completed.slice(-width)
  const failed = frame.perSecond.failed.slice(-width)
  lines.push(`completed/s ${dim('│')}${sparkline(done)}${dim('│')} ${done.at(-1) ?? 0}`)
  lines.push(`failed/s    ${dim('│')}${sparkline(failed)}${dim('│')} ${failed.at(-1) ?? 0}`)
  const open = frame.breakers.filter((b) => b.state !== 'closed')
  if (open.length) lines.push(red(`breakers open: ${open.map((b) => `${b.name} (${b.state})`).join(', ')}`))
  lines.push('')
  lines.push(
    bold(
      `${padEnd('QUEUE', 24)} ${padEnd('STATUS', 7)} ${STATES.map((s) => pad(s.toUpperCase(), 9)).join(' ')} ${pad('DONE/S', 7)}`,
    ),
  )
  const byName = new Map(frame.queues.map((q) => [q.name, q]))
  const names = [...new Set([...byName.keys(), ...Object.keys(frame.stats.counts)])].sort()
  if (names.length === 0) lines.push(dim('no queues yet'))
  for (const name of names) {
    const counts = byName.get(name)?.counts ?? frame.stats.counts[name]
    const status = byName.get(name)?.paused ? red(padEnd('paused', 7)) : padEnd('running', 7)
    lines.push(
      `${padEnd(name, 24)} ${status} ${STATES.map((s) => pad(counts?.[s] ?? 0, 9)).join(' ')} ${pad((frame.queueRate.get(name) ?? 0).toFixed(1), 7)}`,
    )
  }
  lines.push('')
  if (frame.workers === null) lines.push(dim('workers: this key may not list them (needs the manage permission)'))
  else {
    lines.push(bold(`${padEnd('WORKER', 28)} ${padEnd('QUEUE', 20)} ${pad('BUSY', 7)}  RUNNING`))
    if (frame.workers.length === 0) lines.push(dim('no workers connected'))
    for (const w of frame.workers) {
      lines.push(
        `${padEnd(w.id, 28)} ${padEnd(w.queue, 20)} ${pad(`${w.running.length}/${w.concurrency}`, 7)}  ${w.running.slice(0, 6).join(' ')}${w.running.length > 6 ? ' …' : ''}`,
      )
    }
  }
  return lines.map((line) => line.slice(0, columns + 40)).join('\n')
}

/**
 * @example
 * await runTop({ url: 'http://127.0.0.1:7700', key: process.env.SPOOL_KEY ?? '' })
 */
export async function runTop(options: TopOptions): Promise<number> {
  const out = options.out ?? ((text: string) => process.stdout.write(text))
  const client: SpoolClient = createClient({ baseUrl: options.url, apiKey: options.key })
  const me = await client.me()
  const seconds = new Map<number, { completed: number; failed: number }>()
  const perQueue = new Map<string, number[]>()
  let live = false
  const subscription = options.once
    ? null
    : client.events.subscribe(
        {},
        (event) => {
          if (event.type !== 'job.completed' && event.type !== 'job.failed' && event.type !== 'job.retrying') return
          const second = Math.floor(event.at / 1000)
          const bucket = seconds.get(second) ?? { completed: 0, failed: 0 }
          if (event.type === 'job.completed') {
            bucket.completed += 1
            const list = perQueue.get(event.queue ?? '') ?? []
            list.push(event.at)
            perQueue.set(event.queue ?? '', list)
          } else bucket.failed += 1
          seconds.set(second, bucket)
        },
        { onOpen: () => (live = true), onError: () => (live = false) },
      )
  let canListWorkers = me.scopes.includes('admin')
  const frame = async (): Promise<Frame> => {
    const [stats, queues, breakers] = await Promise.all([client.stats(), client.queues.list(), client.breakers.list()])
    let workers: WorkerInfo[] | null = null
    if (canListWorkers) {
      workers = await client.workers.list().catch((error: unknown) => {
        if (error instanceof SpoolApiError && error.status === 403) canListWorkers = false
        return null
      })
    }
    const now = Math.floor(Date.now() / 1000)
    const completed: number[] = []
    const failed: number[] = []
    for (let s = now - 59; s <= now; s++) {
      completed.push(seconds.get(s)?.completed ?? 0)
      failed.push(seconds.get(s)?.failed ?? 0)
    }
    for (const key of seconds.keys()) if (key < now - 120) seconds.delete(key)
    const queueRate = new Map<string, number>()
    for (const [name, times] of perQueue) {
      const recent = times.filter((at) => at > Date.now() - 10_000)
      perQueue.set(name, recent)
      queueRate.set(name, recent.length / 10)
    }
    return {
      at: Date.now(),
      tenant: me.tenant,
      stats,
      queues,
      workers,
      breakers,
      live: live || options.once === true,
      perSecond: { completed, failed },
      queueRate,
    }
  }
  const columns = () => options.columns ?? process.stdout.columns ?? 100
  if (options.once) {
    out(`${render(await frame(), columns(), true)}\n`)
    return 0
  }
  const tty = process.stdin.isTTY === true
  let stop = () => {}
  const stopped = new Promise<void>((resolve) => {
    stop = resolve
  })
  const onKey = (data: Buffer) => {
    const key = data.toString()
    if (key === 'q' || key === '\u0003') stop()
  }
  if (tty) {
    process.stdin.setRawMode(true)
    process.stdin.resume()
    process.stdin.on('data', onKey)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  out('\x1b[?25l')
  try {
    while (true) {
      try {
        out(`\x1b[H\x1b[2J${render(await frame(), columns())}\n\npress q to quit`)
      } catch (error) {
        out(`\x1b[H\x1b[2Jspool top: ${(error as Error).message} — retrying…`)
      }
      const next = await Promise.race([
        stopped.then(() => 'stop'),
        new Promise((r) => setTimeout(r, options.intervalMs ?? 1000)),
      ])
      if (next === 'stop') break
    }
  } finally {
    out('\x1b[?25h\n')
    subscription?.close()
    if (tty) {
      process.stdin.off('data', onKey)
      process.stdin.setRawMode(false)
      process.stdin.pause()
    }
  }
  return 0
}
