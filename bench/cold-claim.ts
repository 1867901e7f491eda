/**
 * The claim-to-handler lag of a freshly started worker process: how long after the start a
 * claim records (the job's `startedAt`, the time a rate limit counts) its handler really starts.
 * Rate limits, group caps and breakers act on the recorded starts, so this lag is how far handler
 * starts can drift from what the limit counted (docs/concepts.md, "What limits and breakers
 * count").
 *
 * Each run: a fresh store with a queue limited to 20 starts a second and 60 waiting jobs; then a
 * new process opens Spool on it and works the queue at concurrency 20 (a handler that returns at
 * once) until all 60 ran. Printed per store: how long the first claim call took (the cold one)
 * and the later ones; the lag from lease to handler of the first claim's jobs and of all jobs
 * (p50 and max); the most leases (recorded starts) and the most handler starts in any 1 s.
 *
 *   node --import tsx bench/cold-claim.ts [--runs 5] [--stores sqlite,postgres] [--raw FILE]
 *
 * `--raw FILE` appends each store's figures (ms) to FILE as a JSON line, to pool several runs.
 *
 * PostgreSQL: SPOOL_BENCH_PG_URL (default the `spool_bench` database that `scripts/setup bench`
 * creates); each run uses a schema of its own, dropped afterwards.
 */
import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { Spool } from '../src/index.js'
import { maxInWindow } from '../src/store/conformance/windows.js'
import { loadAverage } from './machine.js'
import { DEFAULT_BENCH_PG_URL } from './postgres.js'
import { percentile } from './stats.js'

type StoreKind = 'sqlite' | 'postgres'
const QUEUE = 'cold'
const RATE = { max: 20, windowMs: 1_000 }
const JOBS = 60
const CONCURRENCY = 20

/** One job as the cold process saw it: the start its claim recorded, and its handler's start. */
interface Start {
  recorded: number
  handler: number
}

/**
 * The child: a fresh process that opens Spool on `address` and works the queue until `jobs` ran;
 * prints when each job's handler started, by job id, and how long each claim call took.
 */
async function child(address: string, jobs: number): Promise<void> {
  const store = await Spool.openStore(address)
  const claim = store.jobClaim.bind(store)
  const claimMs: number[] = []
  store.jobClaim = async (params) => {
    const t0 = performance.now()
    try {
      return await claim(params)
    } finally {
      claimMs.push(performance.now() - t0)
    }
  }
  const spool = await Spool.open({ store })
  const handlerStarts: Record<string, number> = {}
  let n = 0
  let finished: () => void = () => {}
  const all = new Promise<void>((resolve) => {
    finished = resolve
  })
  const worker = spool.work(
    QUEUE,
    async (job) => {
      handlerStarts[job.id] = Date.now()
      n += 1
      if (n === jobs) finished()
    },
    { concurrency: CONCURRENCY },
  )
  await all
  await worker.close()
  await spool.close()
  await store.close()
  process.stdout.write(`${JSON.stringify({ handlerStarts, claimMs })}\n`)
}

/** Sets up a fresh store for one run; returns its address and how to remove it. */
async function freshStore(store: StoreKind, run: number): Promise<{ address: string; drop: () => Promise<void> }> {
  if (store === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'spool-bench-cold-'))
    return {
      address: `sqlite:${join(dir, 'spool.db')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  const url = process.env.SPOOL_BENCH_PG_URL ?? DEFAULT_BENCH_PG_URL
  const schema = `bench_cold_${process.pid}_${run}`
  return {
    address: `${url}?schema=${schema}`,
    drop: async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
    },
  }
}

async function measure(store: StoreKind, run: number): Promise<{ starts: Start[]; claimMs: number[] }> {
  const { address, drop } = await freshStore(store, run)
  try {
    const spool = await Spool.open({ store: address, maintenance: false })
    await spool.queues.configure(QUEUE, { rateLimit: RATE })
    await spool.enqueueMany(
      QUEUE,
      Array.from({ length: JOBS }, (_, i) => ({ payload: { i } })),
    )
    await spool.close()
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', address, String(JOBS)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const { handlerStarts, claimMs } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
      handlerStarts: Record<string, number>
      claimMs: number[]
    }
    // The recorded starts, as the store kept them.
    const reader = await Spool.open({ store: address, maintenance: false })
    try {
      const { jobs } = await reader.jobs.list({ queue: QUEUE, limit: JOBS })
      const starts = jobs.map((job) => ({
        recorded: job.startedAt?.getTime() ?? Number.NaN,
        handler: handlerStarts[job.id] ?? Number.NaN,
      }))
      return { starts, claimMs }
    } finally {
      await reader.close()
    }
  } finally {
    await drop()
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3] as string, Number(process.argv[4]))
  const { values } = parseArgs({
    options: { runs: { type: 'string' }, stores: { type: 'string' }, raw: { type: 'string' } },
  })
  const runs = Number(values.runs ?? 5)
  const stores = (values.stores ?? 'sqlite,postgres').split(',') as StoreKind[]
  console.log(
    `Cold claim: ${runs} fresh worker process(es) per store, each working ${JOBS} waiting jobs at concurrency ${CONCURRENCY} on a queue limited to ${RATE.max} starts per ${RATE.windowMs} ms; load ${loadAverage()}`,
  )
  console.log(
    [
      '',
      '| store | first claim call: p50 | max | later calls: p50 | first claim’s jobs, lease to handler: p50 | max | all jobs: p50 | max | most leases in 1 s | most handler starts in 1 s |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ].join('\n'),
  )
  const ms = (value: number) => `${value.toFixed(1)} ms`
  for (const store of stores) {
    const first: number[] = []
    const all: number[] = []
    let recordedMost = 0
    let handlerMost = 0
    const firstCall: number[] = []
    const laterCalls: number[] = []
    for (let run = 0; run < runs; run++) {
      const { starts, claimMs } = await measure(store, run)
      firstCall.push(claimMs[0] ?? Number.NaN)
      laterCalls.push(...claimMs.slice(1))
      const firstAt = Math.min(...starts.map((s) => s.recorded))
      for (const s of starts) {
        all.push(s.handler - s.recorded)
        if (s.recorded === firstAt) first.push(s.handler - s.recorded)
      }
      recordedMost = Math.max(
        recordedMost,
        maxInWindow(
          starts.map((s) => s.recorded),
          RATE.windowMs,
        ),
      )
      handlerMost = Math.max(
        handlerMost,
        maxInWindow(
          starts.map((s) => s.handler),
          RATE.windowMs,
        ),
      )
    }
    if (values.raw) {
      const raw = { store, firstCall, laterCalls, first, all, recordedMost, handlerMost }
      appendFileSync(values.raw, `${JSON.stringify(raw)}\n`)
    }
    const cells = [
      ms(percentile(firstCall, 50)),
      ms(Math.max(...firstCall)),
      ms(percentile(laterCalls, 50)),
      ms(percentile(first, 50)),
      ms(Math.max(...first)),
      ms(percentile(all, 50)),
      ms(Math.max(...all)),
      recordedMost,
      handlerMost,
    ]
    console.log(`| ${store} | ${cells.join(' | ')} |`)
  }
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()
  } catch {}
  console.log(`\nload at end: ${loadAverage()}; commit ${commit}`)
}

await main()
