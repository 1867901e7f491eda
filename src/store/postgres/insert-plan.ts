/**
 * What an insert into the PostgreSQL store writes besides the jobs' own columns, worked out in
 * memory before the statement that writes it all (postgres-store.ts does the I/O): the size
 * limits to check, the state each job of a flow starts in, and weighted fair queuing's virtual
 * times. They follow the SQLite store's job-by-job rules over a whole batch.
 */
import { type Row, toId } from '../rows.js'
import {
  type AdmissionLimits,
  type DependencyFailurePolicy,
  FINISHED_STATES,
  type JobState,
  type NewJob,
} from '../store.js'

/** What an insert reports for each job. */
export type Inserted = { id: string; created: boolean; state: JobState }

/**
 * A dependency edge of an insert: the waiting job's position (1-based) and the job it waits for,
 * by id or by position in the same insert.
 */
export interface Edge {
  parent: number
  childId: number | null
  childOrd: number | null
  onFailure: DependencyFailurePolicy
  resolved: boolean
}

/** What an insert writes besides the jobs themselves (see the jobInsert statement). */
export interface InsertExtras {
  states?: JobState[]
  depsPending?: number[]
  vtimes?: (number | null)[]
  edges?: Edge[]
  clocks?: { queue: string; group: string; vtime: number }[]
}

/** A size limit an insert must respect: the queue's, or one group's of it. */
export interface AdmissionCheck {
  queue: string
  group: string | null
  adding: number
  limit: number
}

/** What the batch adds to each limited queue and group, in the order SQLite checks them. */
export function admissionChecks(
  jobs: NewJob[],
  admission: Record<string, AdmissionLimits> | undefined,
): AdmissionCheck[] {
  if (!admission) return []
  const checks = new Map<string, AdmissionCheck>()
  const add = (queue: string, group: string | null, limit: number | undefined) => {
    if (limit === undefined) return
    const key = group === null ? queue : `${queue}\u0000${group}`
    const check = checks.get(key) ?? { queue, group, adding: 0, limit }
    check.adding += 1
    checks.set(key, check)
  }
  for (const job of jobs) {
    const limits = admission[job.queue]
    if (!limits) continue
    add(job.queue, null, limits.maxSize)
    if (job.group !== null) add(job.queue, job.group, limits.maxGroupSize)
  }
  return [...checks.values()]
}

/** A job's dependencies, each job waited for once (a repeat would be counted twice but resolve once). */
export function dependenciesOf(job: NewJob): NonNullable<NewJob['dependsOn']> {
  const seen = new Set<string>()
  return (job.dependsOn ?? []).filter((dep) => {
    const key = dep.index !== undefined ? `#${dep.index}` : `${toId(dep.id ?? '')}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * A new job's state given what it waits for: blocked while any is unfinished, or when one it
 * may not do without failed for good (`failedBy`: it is then failed at once); else as due.
 */
export function blockedState<T extends { state: JobState; onFailure: DependencyFailurePolicy }>(
  job: NewJob,
  deps: T[],
  now: number,
): { state: JobState; pending: number; failedBy: T | undefined } {
  const pending = deps.filter((dep) => !FINISHED_STATES.includes(dep.state)).length
  const failedBy = deps.find((dep) => dep.onFailure === 'fail' && (dep.state === 'failed' || dep.state === 'cancelled'))
  const state: JobState = pending > 0 || failedBy ? 'blocked' : job.runAt > now ? 'scheduled' : 'waiting'
  return { state, pending, failedBy }
}

/** The error SQLite throws for a dependency that does not exist (the engine maps its code). */
export function dependencyNotFound(id: string): Error {
  return Object.assign(new Error(`dependency ${id} does not exist`), { code: 'SPOOL_DEPENDENCY_NOT_FOUND', id })
}

/** The fair-queuing clocks a batch needs, for the fairClocks statement: groups sorted (lock order). */
export interface FairRequest {
  groups: [queue: string, group: string][]
  levels: [queue: string, priority: number][]
  queues: string[]
}

const SEP = '\u0000'

export function fairRequest(jobs: NewJob[]): FairRequest {
  const groups = new Map<string, [string, string]>()
  const levels = new Map<string, [string, number]>()
  const queues = new Set<string>()
  for (const job of jobs) {
    if (!job.fairWeight) continue
    groups.set(`${job.queue}${SEP}${job.group ?? ''}`, [job.queue, job.group ?? ''])
    levels.set(`${job.queue}${SEP}${job.priority}`, [job.queue, job.priority])
    queues.add(job.queue)
  }
  const sorted = [...groups.values()].sort(([q1, g1], [q2, g2]) => (q1 < q2 ? -1 : q1 > q2 ? 1 : g1 < g2 ? -1 : 1))
  return { groups: sorted, levels: [...levels.values()], queues: [...queues] }
}

/**
 * Weighted fair queuing over a batch, as SQLite computes it job by job: a job's virtual time is
 * one step (1 / weight) after its group's previous job, but never behind the head of its
 * priority level (the least virtual time waiting there; for an empty level, the queue's latest
 * clock), so a group that was idle joins the rotation now instead of jumping ahead with its old
 * clock. `rows` are fairClocks' (the locked clocks, the heads, the latest clocks); the result
 * gives each job its time and the clocks to store.
 */
export function fairPlan(jobs: NewJob[], request: FairRequest, rows: Row[]): InsertExtras {
  const clock = new Map<string, number>()
  const head = new Map<string, number>()
  const latest = new Map<string, number>()
  for (const row of rows) {
    if (row.vtime === null) continue
    const vtime = Number(row.vtime)
    if (row.kind === 'group') clock.set(`${row.queue}${SEP}${row.grp}`, vtime)
    else if (row.kind === 'head') head.set(`${row.queue}${SEP}${row.priority}`, vtime)
    else latest.set(row.queue as string, vtime)
  }
  const vtimes = jobs.map((job) => {
    if (!job.fairWeight) return null
    const level = `${job.queue}${SEP}${job.priority}`
    const key = `${job.queue}${SEP}${job.group ?? ''}`
    const base = head.get(level) ?? latest.get(job.queue) ?? 0
    const vtime = Math.max(base, clock.get(key) ?? 0) + 1 / job.fairWeight
    clock.set(key, vtime)
    latest.set(job.queue, Math.max(latest.get(job.queue) ?? 0, vtime))
    if (!head.has(level)) head.set(level, vtime)
    return vtime
  })
  const clocks = request.groups.map(([queue, group]) => ({
    queue,
    group,
    vtime: clock.get(`${queue}${SEP}${group}`) ?? 0,
  }))
  return { vtimes, clocks }
}
