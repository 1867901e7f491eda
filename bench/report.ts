/** Turns the per-workload medians into the markdown tables the bench prints. */
import type {
  Latency,
  PriorityCheck,
  Result,
  Sizes,
  Sustained,
  SystemName,
  Throughput,
  Workload,
} from './workloads/types.js'
import { SYSTEMS } from './workloads/types.js'

/** A measurement that did not produce a result (its child failed or timed out). */
export interface Failure {
  kind: 'failure'
  message: string
}
export type Outcome = Result | Failure

export interface WorkloadResults {
  /** Every run of every system measured, in order. */
  runs: Partial<Record<SystemName, Outcome[]>>
  /** 1-minute load average just before each run started, in the same order. */
  loads: Partial<Record<SystemName, number[]>>
  /** Spool's code for each run, in the same order: commit, and `+hash` of uncommitted src/ changes. */
  code: Partial<Record<SystemName, string[]>>
  /** Numeric fields' medians across the successful runs. */
  median: Partial<Record<SystemName, Result>>
  /** Sizes a system ran with where they differ from the table's (see `sizesFor` in run.ts). */
  sizes: Partial<Record<SystemName, Sizes>>
}

type Row = string[]

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number) => `${n < 100 ? n.toFixed(2) : int(n)} ms`
const k = (n: number) => `${n / 1000}k`

function label(workload: Workload, sizes: Sizes): string {
  switch (workload) {
    case 'bulk-enqueue':
      return `bulk enqueue ${k(sizes.bulkJobs)} (chunks of ${int(sizes.chunk)}), jobs/s ↑`
    case 'single-enqueue':
      return `one-by-one enqueue ${k(sizes.singleJobs)}, jobs/s ↑`
    case 'drain-c1':
      return `drain ${k(sizes.drainJobsC1)} no-op, concurrency 1, jobs/s ↑`
    case 'drain-c10':
      return `drain ${k(sizes.drainJobs)} no-op, concurrency 10, jobs/s ↑`
    case 'drain-c50':
      return `drain ${k(sizes.drainJobs)} no-op, concurrency 50, jobs/s ↑`
    case 'latency':
      return `enqueue→start latency (${sizes.latencyPerSec}/s, idle worker c=${sizes.latencyConcurrency})`
    case 'timer-50ms':
      return `${k(sizes.timerJobs)} × ${sizes.timerMs} ms jobs, concurrency ${sizes.timerConcurrency}, jobs/s ↑`
    case 'priority':
      return `priority: low jobs started ahead of a waiting high job (per run) ↓`
    case 'sustained':
      return `sustained ${sizes.sustainedMinutes} min at concurrency ${sizes.sustainedConcurrency}, jobs/s ↑`
  }
}

/** A cell for a system with no successful run: why. */
function missing(results: WorkloadResults, system: SystemName): string {
  const runs = results.runs[system]
  if (!runs || runs.length === 0) return '–'
  return 'failed'
}

export function tableRows(workload: Workload, sizes: Sizes, results: WorkloadResults, systems: SystemName[]): Row[] {
  const name = label(workload, sizes)
  const med = (system: SystemName) => results.median[system]
  if (workload === 'latency') {
    return (['p50', 'p95', 'p99'] as const).map((p) => [
      `${name} ${p} ↓`,
      ...systems.map((system) => {
        const r = med(system) as Latency | undefined
        return r ? ms(r[p]) : missing(results, system)
      }),
    ])
  }
  if (workload === 'priority') {
    return [
      [
        name,
        ...systems.map((system) => {
          const all = (results.runs[system] ?? []).filter((r): r is PriorityCheck => r.kind === 'priority')
          const r = med(system) as PriorityCheck | undefined
          if (!r) return missing(results, system)
          return `${all.map((run) => run.violations).join(', ')} (of ~${int(r.lowWaitingAtEnqueue)} waiting)`
        }),
      ],
    ]
  }
  if (workload === 'sustained') {
    return [
      [
        name,
        ...systems.map((system) => {
          const r = med(system) as Sustained | undefined
          return r ? int(r.jobsPerSec) : missing(results, system)
        }),
      ],
    ]
  }
  const rows: Row[] = [
    [
      name,
      ...systems.map((system) => {
        const r = med(system) as Throughput | undefined
        if (!r) return missing(results, system)
        return r.pctOfIdeal === undefined ? int(r.jobsPerSec) : `${int(r.jobsPerSec)} (${r.pctOfIdeal.toFixed(1)} %)`
      }),
    ],
  ]
  const throughputs = systems.map((system) => med(system) as Throughput | undefined)
  if (throughputs.some((r) => r?.nodeCpuMs !== undefined)) {
    // Worker and server CPU per job: near the wall time per job when they take turns.
    const perJob = (ms: number, jobs: number) => `${Math.round((ms * 1000) / jobs)}`
    rows.push([
      `${workload}: CPU µs a job, worker + server ↓`,
      ...throughputs.map((r) =>
        r?.nodeCpuMs === undefined
          ? '–'
          : `${perJob(r.nodeCpuMs, r.jobs)}${r.serverCpuMs === undefined ? '' : ` + ${perJob(r.serverCpuMs, r.jobs)}`}`,
      ),
    ])
  }
  if (throughputs.some((r) => r?.updates !== undefined)) {
    // A HOT update writes no index entry: what step 2 of issue 14 aims at for the job row.
    rows.push([
      `${workload}: jobs-table updates, HOT share ↑`,
      ...throughputs.map((r) =>
        r?.updates === undefined || r.hotUpdates === undefined
          ? '–'
          : `${int(r.updates)}, ${r.updates === 0 ? '–' : `${((100 * r.hotUpdates) / r.updates).toFixed(0)} %`}`,
      ),
    ])
  }
  if (throughputs.some((r) => r?.walRecords !== undefined)) {
    // The whole cluster's WAL: the system's own write work only when nothing else uses it.
    rows.push([
      `${workload}: WAL records, bytes a job (cluster-wide) ↓`,
      ...throughputs.map((r) =>
        r?.walRecords === undefined || r.walBytes === undefined
          ? '–'
          : `${(r.walRecords / r.jobs).toFixed(1)}, ${int(r.walBytes / r.jobs)}`,
      ),
    ])
  }
  return rows
}

/** The sustained run, one row per system: per-minute throughput, last/first, storage at the end. */
export function sustainedRows(results: WorkloadResults, systems: SystemName[]): Row[] {
  const rows: Row[] = [['system', 'jobs/s overall', 'jobs per minute', 'last/first', 'rows at end', 'size at end']]
  for (const system of systems) {
    const r = results.median[system] as Sustained | undefined
    if (!r) {
      if (results.runs[system]) rows.push([SYSTEMS[system].label, missing(results, system), '', '', '', ''])
      continue
    }
    rows.push([
      SYSTEMS[system].label,
      int(r.jobsPerSec),
      r.perMinute.map(int).join(', '),
      `${r.lastOverFirst.toFixed(3)}`,
      r.size ? int(r.size.rows) : '–',
      r.size ? `${(r.size.bytes / 2 ** 20).toFixed(1)} MiB (${r.size.table})` : '–',
    ])
  }
  return rows
}

/** The sizes each workload reads (for the footnotes on smaller sizes). */
const SIZES_USED: Record<Workload, (keyof Sizes)[]> = {
  'bulk-enqueue': ['bulkJobs', 'chunk'],
  'single-enqueue': ['singleJobs'],
  'drain-c1': ['drainJobsC1'],
  'drain-c10': ['drainJobs'],
  'drain-c50': ['drainJobs'],
  latency: ['latencyJobs', 'latencyPerSec', 'latencyConcurrency'],
  'timer-50ms': ['timerJobs', 'timerMs', 'timerConcurrency'],
  priority: ['priorityLow', 'priorityHigh', 'priorityTriggerAt', 'priorityConcurrency', 'priorityHandlerMs'],
  sustained: ['sustainedMinutes', 'sustainedBacklog', 'sustainedConcurrency', 'chunk'],
}

/** The workloads where a system ran smaller sizes than the table's, as footnotes. */
export function sizeNotes(results: Partial<Record<Workload, WorkloadResults>>, base: Sizes): string[] {
  const notes: string[] = []
  for (const [workload, result] of Object.entries(results) as [Workload, WorkloadResults][]) {
    for (const [system, sizes] of Object.entries(result.sizes) as [SystemName, Sizes][]) {
      const changed = SIZES_USED[workload].filter((key) => sizes[key] !== base[key])
      if (changed.length > 0) {
        notes.push(
          `${SYSTEMS[system].label}, ${workload}: ${changed.map((key) => `${key} ${int(sizes[key])}`).join(', ')}`,
        )
      }
    }
  }
  return notes
}

export function markdownTable(header: Row, rows: Row[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function workloadHeader(systems: SystemName[]): Row {
  return ['workload', ...systems.map((system) => SYSTEMS[system].label)]
}
