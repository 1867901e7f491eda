/**
 * Peer benchmark: Spool on SQLite against BullMQ on Redis, side by side, in one run.
 *
 *   npm run bench [-- --runs 3] [--only drain-c50,latency] [--quick]
 *
 * Design:
 * - The harness only orchestrates. Every measurement is a fresh child Node process
 *   (`bench/workloads/<system>.ts <workload> '<options>'`) that warms up, runs one workload and
 *   prints one JSON line, so the two systems never share a process, a heap or a JIT.
 * - Both children run the same workload code (`workloads/scenarios.ts`) through a tiny driver
 *   per system, so the two sides differ only in the queue calls.
 * - Spool gets a fresh SQLite file in a temp folder per measurement (removed after). BullMQ
 *   gets a fresh queue name (obliterated after) on a redis-server this harness starts on
 *   127.0.0.1 with no persistence, flushed between measurements and stopped at the end, also
 *   on error or Ctrl-C.
 * - Each workload runs `--runs` times per system, alternating which system goes first; the
 *   table shows medians. Raw results go to `.bench/results-<timestamp>.json`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { formatMachine, loadAverage, machineInfo } from './machine.js'
import { type RedisServer, startRedis } from './redis.js'
import { markdownTable, tableRows, type WorkloadResults } from './report.js'
import { medianFields } from './stats.js'
import {
  type ChildOptions,
  FULL_SIZES,
  QUICK_SIZES,
  type Result,
  type Sizes,
  SYSTEMS,
  type SystemName,
  WORKLOADS,
  type Workload,
} from './workloads/types.js'

/** A measurement process taking longer than this is killed and the bench fails. */
const CHILD_TIMEOUT_MS = 5 * 60_000
const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface Cli {
  runs: number
  only: Workload[]
  quick: boolean
}

function parseCli(): Cli {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  })
  const runs = Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer')
  const only = values.only === undefined ? [...WORKLOADS] : values.only.split(',').map((w) => w.trim())
  for (const workload of only) {
    if (!WORKLOADS.includes(workload as Workload)) {
      throw new Error(`unknown workload "${workload}"; one of: ${WORKLOADS.join(', ')}`)
    }
  }
  return { runs, only: only as Workload[], quick: values.quick }
}

/** What has to be undone if the harness stops early. */
const live = { redis: null as RedisServer | null, child: null as ChildProcess | null, dirs: new Set<string>() }

function cleanUpNow(): void {
  live.child?.kill('SIGKILL')
  live.redis?.kill()
  for (const dir of live.dirs) rmSync(dir, { recursive: true, force: true })
}

async function measure(system: SystemName, workload: Workload, sizes: Sizes, redis: RedisServer): Promise<Result> {
  const options: ChildOptions = { sizes }
  let dir: string | null = null
  if (system === 'spool') {
    dir = mkdtempSync(join(tmpdir(), 'spool-bench-'))
    live.dirs.add(dir)
    options.spoolDir = dir
  } else {
    options.redisPort = redis.port
  }
  try {
    return await runChild(system, workload, options)
  } finally {
    if (dir) {
      rmSync(dir, { recursive: true, force: true })
      live.dirs.delete(dir)
    }
    if (system === 'bullmq') await redis.flush()
  }
}

function runChild(system: SystemName, workload: Workload, options: ChildOptions): Promise<Result> {
  const script = join(ROOT, 'bench', 'workloads', `${system}.ts`)
  const child = spawn(process.execPath, ['--import', 'tsx', script, workload, JSON.stringify(options)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.child = child
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      live.child = null
      const line = stdout.trim().split('\n').at(-1) ?? ''
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as Result)
      else reject(new Error(`${system} ${workload} failed (${signal ?? `exit ${code}`}):\n${stderr || stdout}`))
    })
  })
}

function summary(result: Result): string {
  switch (result.kind) {
    case 'throughput':
      return `${Math.round(result.jobsPerSec)} jobs/s`
    case 'latency':
      return `p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms`
    case 'priority':
      return `${result.violations} violations`
  }
}

async function main(): Promise<void> {
  const cli = parseCli()
  const sizes = cli.quick ? QUICK_SIZES : FULL_SIZES
  const redis = await startRedis()
  live.redis = redis
  try {
    const machine = machineInfo(redis.version)
    console.log(formatMachine(machine))
    console.log(`Runs: ${cli.runs} per workload per system${cli.quick ? ' (--quick sizes)' : ''}\n`)
    const results = {} as Record<Workload, WorkloadResults>
    for (const workload of cli.only) {
      const runs: Record<SystemName, Result[]> = { spool: [], bullmq: [] }
      const loads: Record<SystemName, number[]> = { spool: [], bullmq: [] }
      for (let run = 0; run < cli.runs; run++) {
        const order = run % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse()
        for (const system of order) {
          loads[system].push(loadAverage())
          const result = await measure(system, workload, sizes, redis)
          runs[system].push(result)
          console.log(`${workload.padEnd(14)} run ${run + 1}/${cli.runs} ${system.padEnd(6)} ${summary(result)}`)
        }
      }
      results[workload] = {
        runs,
        loads,
        median: { spool: medianFields(runs.spool), bullmq: medianFields(runs.bullmq) },
      }
    }
    const table = markdownTable(cli.only.flatMap((workload) => tableRows(workload, sizes, results[workload])))
    console.log(`\n${table}\n`)
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    const file = join(ROOT, '.bench', `results-${stamp}.json`)
    mkdirSync(join(ROOT, '.bench'), { recursive: true })
    const loadAtEnd = loadAverage()
    const raw = { machine, loadAtEnd, runs: cli.runs, quick: cli.quick, sizes, results }
    writeFileSync(file, `${JSON.stringify(raw, null, 2)}\n`)
    console.log(`Load at end: ${loadAtEnd}. Raw results: ${file}`)
  } finally {
    await redis.stop()
    live.redis = null
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUpNow()
    process.exit(130)
  })
}
process.once('exit', cleanUpNow)

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
