/**
 * What flow control costs: Spool draining no-op jobs at concurrency 50, plain against
 *   - a global rate limit set far above the achievable rate (the limiter's bookkeeping only),
 *   - 100 groups served fairly (weighted fair queuing) against the same 100 groups without.
 * Each variant drains its own fresh queue in its own child process, in rotating order, so no
 * variant inherits another's heap or warm cache; the medians and the ratios are printed.
 *
 *   npm run bench:orchestration [-- --runs 3] [--jobs 20000] [--stores sqlite,postgres]
 *
 * PostgreSQL: SPOOL_BENCH_PG_URL (default the `spool_bench` database that `scripts/setup bench`
 * creates); each run uses a schema of its own, dropped afterwards.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { type QueueOptions, Spool } from '../src/index.js'
import { loadAverage } from './machine.js'
import { DEFAULT_BENCH_PG_URL } from './postgres.js'
import { median } from './stats.js'

const VARIANTS = {
  plain: {},
  'rate-limited': { rateLimit: { max: 1_000_000_000, windowMs: 1_000 } },
  '100-groups': {},
  '100-groups-fair': { groups: { fair: true } },
} satisfies Record<string, QueueOptions>
type Variant = keyof typeof VARIANTS
type StoreKind = 'sqlite' | 'postgres'

const CONCURRENCY = 50
const GROUPS = 100

/** One drain in this process (the child side): prints `{ jobsPerSec }` as JSON. */
async function child(store: StoreKind, variant: Variant, jobs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-bench-orch-'))
  const schema = `bench_orch_${process.pid}`
  const pgUrl = process.env.SPOOL_BENCH_PG_URL ?? DEFAULT_BENCH_PG_URL
  const address = store === 'sqlite' ? `sqlite:${join(dir, 'spool.db')}` : `${pgUrl}?schema=${schema}`
  const spool = await Spool.open({ store: address, maintenance: false })
  try {
    const queue = 'bench'
    await spool.queues.configure(queue, VARIANTS[variant])
    const grouped = variant.startsWith('100-groups')
    for (let start = 0; start < jobs; start += 1_000) {
      await spool.enqueueMany(
        queue,
        Array.from({ length: Math.min(1_000, jobs - start) }, (_, i) => ({
          payload: { i: start + i },
          ...(grouped && { options: { group: `g${(start + i) % GROUPS}` } }),
        })),
      )
    }
    let done = 0
    let finished: () => void = () => {}
    const all = new Promise<void>((resolve) => {
      finished = resolve
    })
    const t0 = performance.now()
    const worker = spool.work(
      queue,
      async () => {
        done += 1
        if (done === jobs) finished()
      },
      { concurrency: CONCURRENCY },
    )
    await all
    const ms = performance.now() - t0
    await worker.close()
    process.stdout.write(`${JSON.stringify({ jobsPerSec: (jobs / ms) * 1000 })}\n`)
  } finally {
    await spool.close()
    rmSync(dir, { recursive: true, force: true })
    if (store === 'postgres') {
      const client = new pg.Client({ connectionString: pgUrl })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
    }
  }
}

function runChild(store: StoreKind, variant: Variant, jobs: number): number {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', store, variant, String(jobs)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const line = out.trim().split('\n').at(-1) ?? '{}'
  return (JSON.parse(line) as { jobsPerSec: number }).jobsPerSec
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await child(process.argv[3] as StoreKind, process.argv[4] as Variant, Number(process.argv[5]))
    return
  }
  const { values } = parseArgs({
    options: { runs: { type: 'string' }, jobs: { type: 'string' }, stores: { type: 'string' } },
  })
  const runs = Number(values.runs ?? 3)
  const jobs = Number(values.jobs ?? 20_000)
  const stores = (values.stores ?? 'sqlite,postgres').split(',') as StoreKind[]
  const variants = Object.keys(VARIANTS) as Variant[]
  console.log(
    `Flow-control cost: ${jobs} no-op jobs drained at concurrency ${CONCURRENCY}, ${runs} run(s), load ${loadAverage()}`,
  )
  for (const store of stores) {
    const results = new Map<Variant, number[]>(variants.map((v) => [v, []]))
    for (let run = 0; run < runs; run++) {
      const order = [...variants.slice(run % variants.length), ...variants.slice(0, run % variants.length)]
      for (const variant of order) results.get(variant)?.push(runChild(store, variant, jobs))
    }
    const m = (v: Variant) => median(results.get(v) ?? [])
    const line = (v: Variant, base?: Variant) =>
      `| ${store} | ${v} | ${Math.round(m(v)).toLocaleString('en-US')} | ${base ? `${((m(v) / m(base) - 1) * 100).toFixed(1)} % vs ${base}` : ''} |`
    console.log('\n| store | variant | jobs/s (median) | cost |\n|---|---|---:|---|')
    console.log(line('plain'))
    console.log(line('rate-limited', 'plain'))
    console.log(line('100-groups', 'plain'))
    console.log(line('100-groups-fair', '100-groups'))
    console.log(`raw ${store}: ${JSON.stringify(Object.fromEntries(results))}`)
  }
  console.log(
    `\nload at end: ${loadAverage()}; commit ${execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim()}`,
  )
}

await main()
