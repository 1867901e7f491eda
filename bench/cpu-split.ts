/**
 * Where a PostgreSQL drain's CPU goes: Spool-PG and Graphile Worker batched each drain the same
 * no-op jobs at concurrency 50, and the run reports the wall time, the CPU time of the Node
 * process, and the CPU time of every PostgreSQL server process on this machine (read from
 * `/proc`, so run it on an otherwise idle machine, with the server local). A system whose two
 * halves take turns has a wall time near their sum; one whose halves overlap, near the larger.
 *
 *   npm run bench:cpu [-- --runs 3] [--jobs 20000]
 *
 * PostgreSQL: SPOOL_BENCH_PG_URL (default the `spool_bench` database that `scripts/setup bench`
 * creates); each run uses a schema of its own, dropped afterwards. Linux only.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Logger, makeWorkerUtils, run } from 'graphile-worker'
import pg from 'pg'
import { Spool } from '../src/index.js'
import { loadAverage } from './machine.js'
import { DEFAULT_BENCH_PG_URL } from './postgres.js'
import { median } from './stats.js'

const SYSTEMS = ['spool-pg', 'graphile-batched'] as const
type System = (typeof SYSTEMS)[number]
const CONCURRENCY = 50
const CHUNK = 1_000

interface Split {
  wallMs: number
  nodeMs: number
  serverMs: number
}

/** CPU time (user + system, ms) of every PostgreSQL process; processes gone meanwhile are missed. */
function serverCpuMs(): number {
  const tick = 10 // USER_HZ is 100 on Linux
  let ticks = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue
      const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks * tick
}

/** Times `drain` (which resolves once every handler has returned) in wall, Node and server CPU. */
async function measure(drain: () => Promise<void>): Promise<Split> {
  const node = process.cpuUsage()
  const server = serverCpuMs()
  const t0 = performance.now()
  await drain()
  const wallMs = performance.now() - t0
  const used = process.cpuUsage(node)
  return { wallMs, nodeMs: (used.user + used.system) / 1000, serverMs: serverCpuMs() - server }
}

function countdown(jobs: number): { handler: () => void; done: Promise<void> } {
  let left = jobs
  let finish: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    finish = resolve
  })
  return {
    handler: () => {
      left -= 1
      if (left === 0) finish()
    },
    done,
  }
}

async function spoolDrain(url: string, schema: string, jobs: number): Promise<Split> {
  const address = new URL(url)
  address.searchParams.set('schema', schema)
  const spool = await Spool.open({ store: address.toString(), maintenance: false })
  try {
    for (let start = 0; start < jobs; start += CHUNK) {
      const n = Math.min(CHUNK, jobs - start)
      await spool.enqueueMany(
        'bench',
        Array.from({ length: n }, (_, i) => ({ payload: { i: start + i } })),
      )
    }
    const { handler, done } = countdown(jobs)
    let worker: ReturnType<typeof spool.work> | undefined
    const split = await measure(async () => {
      worker = spool.work('bench', async () => handler(), { concurrency: CONCURRENCY })
      await done
    })
    await worker?.close()
    return split
  } finally {
    await spool.close()
  }
}

/** As `bench/workloads/graphile.ts` runs it: local queue of 500, completions batched. */
async function graphileDrain(url: string, schema: string, jobs: number): Promise<Split> {
  const logger = new Logger(() => () => {})
  const utils = await makeWorkerUtils({ connectionString: url, schema, logger })
  const pool = new pg.Pool({ connectionString: url, max: CONCURRENCY + 2 })
  pool.on('error', () => {})
  try {
    await utils.migrate()
    for (let start = 0; start < jobs; start += CHUNK) {
      const n = Math.min(CHUNK, jobs - start)
      await utils.addJobs(Array.from({ length: n }, (_, i) => ({ identifier: 'bench', payload: { i: start + i } })))
    }
    const { handler, done } = countdown(jobs)
    let runner: Awaited<ReturnType<typeof run>> | undefined
    const split = await measure(async () => {
      runner = await run({
        pgPool: pool,
        schema,
        concurrency: CONCURRENCY,
        logger,
        noHandleSignals: true,
        taskList: { bench: async () => handler() },
        preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      } as Parameters<typeof run>[0])
      await done
    })
    await runner?.stop()
    return split
  } finally {
    await utils.release()
    await pool.end()
  }
}

/** One drain in this process (the child side): prints the split as JSON. */
async function child(system: System, jobs: number): Promise<void> {
  const url = process.env.SPOOL_BENCH_PG_URL ?? DEFAULT_BENCH_PG_URL
  const schema = `bench_cpu_${process.pid}`
  try {
    const split = system === 'spool-pg' ? await spoolDrain(url, schema, jobs) : await graphileDrain(url, schema, jobs)
    process.stdout.write(`${JSON.stringify(split)}\n`)
  } finally {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  }
}

function runChild(system: System, jobs: number): Split {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', system, String(jobs)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  )
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Split
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await child(process.argv[3] as System, Number(process.argv[4]))
    return
  }
  const { values } = parseArgs({ options: { runs: { type: 'string' }, jobs: { type: 'string' } } })
  const runs = Number(values.runs ?? 3)
  const jobs = Number(values.jobs ?? 20_000)
  console.log(
    `CPU split: ${jobs} no-op jobs drained at concurrency ${CONCURRENCY}, ${runs} run(s), load ${loadAverage()}`,
  )
  const results = new Map<System, Split[]>(SYSTEMS.map((system) => [system, []]))
  for (let i = 0; i < runs; i++) {
    for (const system of i % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse())
      results.get(system)?.push(runChild(system, jobs))
  }
  const perJob = (ms: number) => `${((ms * 1000) / jobs).toFixed(0)} µs`
  console.log(
    '\n| system | jobs/s | wall | Node CPU | server CPU | Node / job | server / job |\n|---|---:|---:|---:|---:|---:|---:|',
  )
  for (const [system, splits] of results) {
    const wall = median(splits.map((s) => s.wallMs))
    const node = median(splits.map((s) => s.nodeMs))
    const server = median(splits.map((s) => s.serverMs))
    const rate = Math.round((jobs / wall) * 1000).toLocaleString('en-US')
    console.log(
      `| ${system} | ${rate} | ${Math.round(wall)} ms | ${Math.round(node)} ms | ${Math.round(server)} ms | ${perJob(node)} | ${perJob(server)} |`,
    )
  }
  console.log(`\nraw: ${JSON.stringify(Object.fromEntries(results))}`)
  console.log(
    `load at end: ${loadAverage()}; commit ${execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim()}`,
  )
}

await main()
