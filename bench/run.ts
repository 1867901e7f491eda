/**
 * Peer benchmark: Spool on PostgreSQL and on SQLite, BullMQ on Redis and on PostgreSQL,
 * Graphile Worker (defaults and batched) and pg-boss, side by side, in one run.
 *
 *   npm run bench [-- --runs 3] [--only drain-c50,latency] [--systems spool-pg,graphile-batched] [--quick]
 *   npm run bench -- --sustained [--sustained-minutes 10] [--systems spool-pg,spool-sqlite]
 *   npm run bench -- --base ../spool-base --systems spool-pg,spool-pg-base   # A/B, interleaved
 *
 * Design:
 * - The harness only orchestrates. Every measurement is a fresh child Node process
 *   (`bench/workloads/<script>.ts <workload> '<options>'`) that warms up, runs one workload and
 *   prints one JSON line, so no two systems share a process, a heap or a JIT.
 * - Every child runs the same workload code (`workloads/scenarios.ts`) through a tiny driver
 *   per system, so the systems differ only in the queue calls.
 * - Spool-SQLite gets a fresh SQLite file in a temp folder per measurement (removed after).
 *   BullMQ-Redis gets a fresh queue name (obliterated after) on a redis-server this harness
 *   starts on 127.0.0.1 with no persistence, flushed between measurements and stopped at the
 *   end, also on error or Ctrl-C. Every PostgreSQL system gets a fresh schema in the bench
 *   database per measurement (each system creates it with its own migrations; the harness
 *   drops it after).
 * - Each short workload runs `--runs` times per system, rotating which system goes first; the
 *   table shows medians. The sustained run (`--sustained`) runs once per system. A measurement
 *   that fails is reported and the run goes on. Raw results go to `.bench/results-<timestamp>.json`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { formatMachine, loadAverage, machineInfo } from './machine.js'
import { connectPostgres, type PostgresServer } from './postgres.js'
import { type RedisServer, startRedis } from './redis.js'
import {
  type Failure,
  markdownTable,
  type Outcome,
  sizeNotes,
  sustainedRows,
  tableRows,
  type WorkloadResults,
  workloadHeader,
} from './report.js'
import { medianFields } from './stats.js'
import {
  ALL_WORKLOADS,
  type ChildOptions,
  DEFAULT_SYSTEMS,
  FULL_SIZES,
  isBase,
  QUICK_SIZES,
  type Result,
  type Sizes,
  SYSTEM_NAMES,
  SYSTEMS,
  type SystemName,
  WORKLOADS,
  type Workload,
} from './workloads/types.js'

/** A short measurement process taking longer than this is killed (and reported as failed). */
const CHILD_TIMEOUT_MS = 5 * 60_000
const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface Cli {
  runs: number
  only: Workload[]
  systems: SystemName[]
  quick: boolean
  sustainedMinutes: number
  /** The checkout the `*-base` systems run from. */
  base: string | null
}

function parseCli(): Cli {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      systems: { type: 'string' },
      quick: { type: 'boolean', default: false },
      sustained: { type: 'boolean', default: false },
      'sustained-minutes': { type: 'string' },
      base: { type: 'string' },
    },
  })
  const runs = Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer')
  const list = (text: string | undefined) => text?.split(',').map((w) => w.trim())
  const only = list(values.only) ?? (values.sustained ? ['sustained'] : [...WORKLOADS])
  for (const workload of only) {
    if (!ALL_WORKLOADS.includes(workload as Workload)) {
      throw new Error(`unknown workload "${workload}"; one of: ${ALL_WORKLOADS.join(', ')}`)
    }
  }
  const systems = list(values.systems) ?? DEFAULT_SYSTEMS
  for (const system of systems) {
    if (!SYSTEM_NAMES.includes(system as SystemName)) {
      throw new Error(`unknown system "${system}"; one of: ${SYSTEM_NAMES.join(', ')}`)
    }
  }
  const base = values.base === undefined ? null : resolve(values.base)
  if (systems.some((system) => isBase(system as SystemName))) {
    if (base === null || !existsSync(join(base, 'bench', 'workloads', 'spool.ts'))) {
      throw new Error('the *-base systems need --base <dir>: another Spool checkout, with node_modules')
    }
  }
  const minutesText = values['sustained-minutes']
  const sustainedMinutes = minutesText === undefined ? (values.quick ? 1 : 10) : Number(minutesText)
  if (!Number.isInteger(sustainedMinutes) || sustainedMinutes < 1) {
    throw new Error('--sustained-minutes must be a positive integer')
  }
  return {
    runs,
    only: only as Workload[],
    // Table order, whatever order they were given in.
    systems: SYSTEM_NAMES.filter((system) => systems.includes(system)),
    quick: values.quick,
    sustainedMinutes,
    base,
  }
}

/**
 * pg-boss 10's `work()` fetches one batch per polling interval (0.5 s at least), so it drains
 * at most `concurrency` × 2 jobs/s: the full drain sizes would take hours at concurrency 1.
 * It runs the polling-bound workloads with fewer jobs (its jobs/s stay comparable; the table
 * footnotes say which).
 */
function sizesFor(system: SystemName, sizes: Sizes): Sizes {
  if (system !== 'pgboss') return sizes
  const fewer = (n: number, cap: number) => Math.min(n, cap)
  return {
    ...sizes,
    drainJobsC1: fewer(sizes.drainJobsC1, 50),
    drainJobs: fewer(sizes.drainJobs, 1_000),
    timerJobs: fewer(sizes.timerJobs, 1_000),
    priorityLow: fewer(sizes.priorityLow, 2_000),
    priorityTriggerAt: fewer(sizes.priorityTriggerAt, 400),
  }
}

/** What has to be undone if the harness stops early. */
const live = { redis: null as RedisServer | null, child: null as ChildProcess | null, dirs: new Set<string>() }

function cleanUpNow(): void {
  live.child?.kill('SIGKILL')
  live.redis?.kill()
  for (const dir of live.dirs) rmSync(dir, { recursive: true, force: true })
}

interface Services {
  redis: RedisServer | null
  postgres: PostgresServer | null
}

/**
 * The Spool code a child is about to load: the commit, plus a hash of any uncommitted change
 * under src/ (others may edit src/ while a long run goes on; each child loads it afresh).
 */
function spoolCode(root: string): string {
  const git = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' })
  try {
    const commit = git(['rev-parse', '--short', 'HEAD']).trim()
    const diff = git(['diff', 'HEAD', '--', 'src'])
    return diff === '' ? commit : `${commit}+${createHash('sha256').update(diff).digest('hex').slice(0, 8)}`
  } catch {
    return 'unknown'
  }
}

async function measure(
  system: SystemName,
  workload: Workload,
  sizes: Sizes,
  services: Services,
  timeoutMs: number,
  root: string,
): Promise<Result> {
  // A base checkout's child knows the system by its plain name.
  const plain = system.replace(/-base$/, '') as SystemName
  const options: ChildOptions = { system: plain, sizes, maintenance: workload === 'sustained' }
  const store = SYSTEMS[system].store
  let dir: string | null = null
  let schema: string | null = null
  if (store === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'spool-bench-'))
    live.dirs.add(dir)
    options.spoolDir = dir
  } else if (store === 'redis') {
    if (!services.redis) throw new Error('redis-server is not running')
    options.redisPort = services.redis.port
  } else {
    if (!services.postgres) throw new Error('PostgreSQL is not connected')
    schema = services.postgres.freshSchema(system)
    options.pgUrl = services.postgres.url
    options.pgSchema = schema
  }
  try {
    return await runChild(root, SYSTEMS[system].script, workload, options, timeoutMs)
  } finally {
    if (dir) {
      rmSync(dir, { recursive: true, force: true })
      live.dirs.delete(dir)
    }
    if (store === 'redis') await services.redis?.flush()
    if (schema) await services.postgres?.drop(schema)
  }
}

function runChild(
  root: string,
  script: string,
  workload: Workload,
  options: ChildOptions,
  timeoutMs: number,
): Promise<Result> {
  const file = join(root, 'bench', 'workloads', `${script}.ts`)
  const child = spawn(process.execPath, ['--import', 'tsx', file, workload, JSON.stringify(options)], {
    cwd: root,
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
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      live.child = null
      const line = stdout.trim().split('\n').at(-1) ?? ''
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as Result)
      else {
        const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : (signal ?? `exit ${code}`)
        reject(new Error(`${options.system} ${workload} failed (${why}):\n${(stderr || stdout).slice(-2_000)}`))
      }
    })
  })
}

function summary(result: Outcome): string {
  switch (result.kind) {
    case 'throughput':
      return `${Math.round(result.jobsPerSec)} jobs/s`
    case 'latency':
      return `p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms`
    case 'priority':
      return `${result.violations} violations`
    case 'sustained':
      return `${Math.round(result.jobsPerSec)} jobs/s; per minute ${result.perMinute.join(', ')}; last/first ${result.lastOverFirst.toFixed(3)}`
    case 'failure':
      return `FAILED: ${result.message.split('\n').slice(0, 3).join(' | ')}`
  }
}

async function main(): Promise<void> {
  const cli = parseCli()
  const base = { ...(cli.quick ? QUICK_SIZES : FULL_SIZES), sustainedMinutes: cli.sustainedMinutes }
  const stores = new Set(cli.systems.map((system) => SYSTEMS[system].store))
  const services: Services = { redis: null, postgres: null }
  try {
    if (stores.has('redis')) {
      services.redis = await startRedis()
      live.redis = services.redis
    }
    services.postgres = await connectPostgres()
    const machine = machineInfo(services.redis?.version ?? 'not started', services.postgres)
    console.log(formatMachine(machine))
    console.log(
      `Systems: ${cli.systems.join(', ')}; ${cli.runs} run(s) per short workload, 1 sustained run per system${cli.quick ? ' (--quick sizes)' : ''}\n`,
    )
    const results: Partial<Record<Workload, WorkloadResults>> = {}
    for (const workload of cli.only) {
      const runs = workload === 'sustained' ? 1 : cli.runs
      const timeoutMs = workload === 'sustained' ? base.sustainedMinutes * 60_000 + CHILD_TIMEOUT_MS : CHILD_TIMEOUT_MS
      const result: WorkloadResults = { runs: {}, loads: {}, code: {}, median: {}, sizes: {} }
      for (const system of cli.systems) {
        result.runs[system] = []
        result.loads[system] = []
        if (SYSTEMS[system].script === 'spool') result.code[system] = []
      }
      for (let run = 0; run < runs; run++) {
        // Rotate which system goes first, so that none always runs on a machine another just warmed.
        const shift = run % cli.systems.length
        const order = [...cli.systems.slice(shift), ...cli.systems.slice(0, shift)]
        for (const system of order) {
          const sizes = sizesFor(system, base)
          result.sizes[system] = sizes
          result.loads[system]?.push(loadAverage())
          const root = isBase(system) ? (cli.base as string) : ROOT
          if (SYSTEMS[system].script === 'spool') result.code[system]?.push(spoolCode(root))
          let outcome: Outcome
          try {
            outcome = await measure(system, workload, sizes, services, timeoutMs, root)
          } catch (error) {
            outcome = { kind: 'failure', message: error instanceof Error ? error.message : String(error) } as Failure
          }
          result.runs[system]?.push(outcome)
          console.log(`${workload.padEnd(14)} run ${run + 1}/${runs} ${system.padEnd(16)} ${summary(outcome)}`)
        }
      }
      for (const system of cli.systems) {
        const ok = (result.runs[system] ?? []).filter((r): r is Result => r.kind !== 'failure')
        if (ok.length > 0) result.median[system] = medianFields(ok)
      }
      results[workload] = result
    }
    const short = cli.only.filter((workload) => workload !== 'sustained')
    if (short.length > 0) {
      const rows = short.flatMap((workload) => {
        const result = results[workload]
        return result ? tableRows(workload, base, result, cli.systems) : []
      })
      console.log(`\n${markdownTable(workloadHeader(cli.systems), rows)}\n`)
    }
    const sustained = results.sustained
    if (sustained) {
      const [header = [], ...rows] = sustainedRows(sustained, cli.systems)
      console.log(`\n${markdownTable(header, rows)}\n`)
    }
    const notes = sizeNotes(results, base)
    if (notes.length > 0) console.log(`Smaller sizes:\n${notes.map((note) => `- ${note}`).join('\n')}\n`)
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    const file = join(ROOT, '.bench', `results-${stamp}.json`)
    mkdirSync(join(ROOT, '.bench'), { recursive: true })
    const loadAtEnd = loadAverage()
    const raw = { machine, loadAtEnd, runs: cli.runs, quick: cli.quick, systems: cli.systems, sizes: base, results }
    writeFileSync(file, `${JSON.stringify(raw, null, 2)}\n`)
    console.log(`Load at end: ${loadAtEnd}. Raw results: ${file}`)
  } finally {
    await services.redis?.stop()
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
