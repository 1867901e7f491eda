/** Turns the per-workload medians into the markdown table the bench prints. */
import type { Latency, PriorityCheck, Result, Sizes, SystemName, Throughput, Workload } from './workloads/types.js'

export interface WorkloadResults {
  /** Every run, in order. */
  runs: Record<SystemName, Result[]>
  /** 1-minute load average just before each run started, in the same order. */
  loads: Record<SystemName, number[]>
  /** Numeric fields' medians across the runs. */
  median: Record<SystemName, Result>
}

type Row = [label: string, spool: string, bullmq: string, ratio: string]

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number) => `${n.toFixed(2)} ms`
const ratio = (spool: number, bullmq: number) => `${(spool / bullmq).toFixed(2)}×`

function label(workload: Workload, sizes: Sizes): string {
  const k = (n: number) => `${n / 1000}k`
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
  }
}

export function tableRows(workload: Workload, sizes: Sizes, results: WorkloadResults): Row[] {
  const name = label(workload, sizes)
  const { spool, bullmq } = results.median
  if (spool.kind === 'latency' && bullmq.kind === 'latency') {
    const pick = (r: Latency, p: 'p50' | 'p95' | 'p99') => r[p]
    return (['p50', 'p95', 'p99'] as const).map((p) => [
      `${name} ${p} ↓`,
      ms(pick(spool, p)),
      ms(pick(bullmq, p)),
      ratio(pick(spool, p), pick(bullmq, p)),
    ])
  }
  if (spool.kind === 'priority' && bullmq.kind === 'priority') {
    const runs = (system: SystemName) => {
      const all = results.runs[system] as PriorityCheck[]
      const waiting = (results.median[system] as PriorityCheck).lowWaitingAtEnqueue
      return `${all.map((r) => r.violations).join(', ')} (of ~${int(waiting)} waiting)`
    }
    return [[name, runs('spool'), runs('bullmq'), '–']]
  }
  const a = spool as Throughput
  const b = bullmq as Throughput
  const show = (r: Throughput) =>
    r.pctOfIdeal === undefined ? int(r.jobsPerSec) : `${int(r.jobsPerSec)} (${r.pctOfIdeal.toFixed(1)} % of ideal)`
  return [[name, show(a), show(b), ratio(a.jobsPerSec, b.jobsPerSec)]]
}

export function markdownTable(rows: Row[]): string {
  const header: Row = ['workload', 'Spool-SQLite', 'BullMQ', 'Spool/BullMQ']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}
