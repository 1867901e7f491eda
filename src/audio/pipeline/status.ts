/**
 * A session's live status, read from its jobs rather than stored: the jobs are the truth (a
 * worker that crashed, a retry, a dependency that failed are all visible there), and reading
 * them costs one indexed query by the run's tag. Only the ends (`processed`, `failed`) are
 * written to the session record, so a finished session reads without touching any job.
 *
 * Progress runs by stage weight — validate 0–5, preprocess 5–25, transcription ‖ diarization
 * 25–75, merge 75–80, notes 80–95, save 95–100 — inside a stage by the job's own reported
 * percentage, and for a stage that fanned out by the share of its chunks' audio finished.
 * Transcription and diarization run together, so that band follows the one further behind.
 *
 * Status: `queued` until validation starts; `preprocessing` through validation and
 * preprocessing; `transcribing` while any transcription job is unfinished; `diarizing` while
 * only diarization is; `extracting_notes` from the merge on (the merge attributes speakers in
 * milliseconds, notes take the time). The ETA sums the stages still to run at the speeds the
 * `SpeedModel` learned, less what the running ones have done.
 */
import type { Spool } from '../../engine/spool.js'
import type { JobState } from '../../store/store.js'
import type { SessionJobs, SessionRecord, SessionStatus } from './records.js'
import type { SpeedModel } from './speed.js'

export const STAGE_BANDS = {
  validate: [0, 5],
  preprocess: [5, 25],
  parallel: [25, 75],
  merge: [75, 80],
  notes: [80, 95],
  save: [95, 100],
} as const

export interface LiveStatus {
  status: SessionStatus
  /** The stage running now: validate, preprocess, transcribe, diarize, merge, notes, save (null when finished or queued). */
  stage: string | null
  /** 0–100. */
  progress: number
  /** Expected ms until processed; null when finished or unknown. */
  etaMs: number | null
  chunks: { transcription: { done: number; total: number }; diarization: { done: number; total: number } }
  /** For a failed session: what failed and why. */
  error: string | null
  /** Every stage of the run, in pipeline order, with its state and progress (all done once processed; empty once failed). */
  stages: StageReport[]
}

/** What the status needs of one job. */
export interface JobSnapshot {
  id: string
  queue: string
  state: JobState
  /** The job's reported progress, 0–100 (running jobs only). */
  percent: number
  error: { message: string; code?: string | undefined } | null
  startedAt: number | null
  finishedAt: number | null
  createdAt: number
}

/** The jobs of one run of a session: its stages by role, and the chunks the fan-out stages added. */
export interface RunJobs {
  roles: Partial<Record<keyof SessionJobs, JobSnapshot>>
  transcribeChunks: JobSnapshot[]
  diarizeChunks: JobSnapshot[]
}

/**
 * Reads a run's jobs by id — a handful of primary-key reads plus the children of the two
 * fan-out stages — so the cost grows with the session, not with the database.
 *
 * @example
 * const live = await liveStatus(record, await loadRunJobs(spool, record), speed)
 */
export async function loadRunJobs(spool: Spool, record: SessionRecord): Promise<RunJobs> {
  const roles: RunJobs['roles'] = {}
  await Promise.all(
    (Object.entries(record.jobs) as [keyof SessionJobs, string | null][]).map(async ([role, id]) => {
      if (id === null) return
      const job = await spool.jobs.get(id)
      if (job) roles[role] = snapshot(job)
    }),
  )
  const chunks = (parent: JobSnapshot | undefined) => (parent ? chunksOf(spool, parent.id) : Promise.resolve([]))
  const [transcribeChunks, diarizeChunks] = await Promise.all([chunks(roles.transcribe), chunks(roles.diarize)])
  return { roles, transcribeChunks, diarizeChunks }
}

/**
 * The chunks a fan-out stage added, known by id once it has fanned out. Reading them through
 * `jobs.children` decodes every finished chunk's result (transcripts, speaker fingerprints:
 * megabytes for an hour), so that is done once per stage; afterwards only unfinished chunks are
 * read (one primary-key read each), and finished ones are remembered.
 */
const chunkCaches = new WeakMap<Spool, Map<string, { ids: string[]; finished: Map<string, JobSnapshot> }>>()

async function chunksOf(spool: Spool, parentId: string): Promise<JobSnapshot[]> {
  let cache = chunkCaches.get(spool)
  if (!cache) {
    cache = new Map()
    chunkCaches.set(spool, cache)
  }
  let entry = cache.get(parentId)
  if (!entry) {
    const children = (await spool.jobs.children(parentId)).filter((c) => c.queue.endsWith('-chunk'))
    if (children.length === 0) return []
    entry = { ids: children.map((c) => c.id), finished: new Map() }
    for (const child of children) {
      if (!FINISHED.has(child.state)) continue
      entry.finished.set(child.id, {
        id: child.id,
        queue: child.queue,
        state: child.state,
        percent: child.state === 'completed' ? 100 : 0,
        error: child.error ? { message: child.error.message, code: child.error.code } : null,
        startedAt: null,
        finishedAt: null,
        createdAt: 0,
      })
    }
    if (cache.size >= 500) cache.delete(cache.keys().next().value as string)
    cache.set(parentId, entry)
  }
  const known = entry
  return Promise.all(
    known.ids.map(async (id) => {
      const done = known.finished.get(id)
      if (done) return done
      const job = await spool.jobs.get(id)
      if (!job) {
        return {
          id,
          queue: '',
          state: 'cancelled' as const,
          percent: 0,
          error: null,
          startedAt: null,
          finishedAt: null,
          createdAt: 0,
        }
      }
      const snap = snapshot(job)
      if (FINISHED.has(snap.state)) known.finished.set(id, snap)
      return snap
    }),
  )
}

function snapshot(job: {
  id: string
  queue: string
  state: JobState
  progress: { percent: number } | null
  errors: { message: string; code?: string | undefined }[]
  startedAt: Date | null
  finishedAt: Date | null
  createdAt: Date
}): JobSnapshot {
  const last = job.errors.at(-1)
  return {
    id: job.id,
    queue: job.queue,
    state: job.state,
    percent: job.progress?.percent ?? 0,
    error: last ? { message: last.message, code: last.code } : null,
    startedAt: job.startedAt?.getTime() ?? null,
    finishedAt: job.finishedAt?.getTime() ?? null,
    createdAt: job.createdAt.getTime(),
  }
}

const FINISHED = new Set(['completed', 'failed', 'cancelled'])

/**
 * @example
 * const live = await liveStatus(record, await loadRunJobs(spool, record), speed)
 */
export async function liveStatus(record: SessionRecord, run: RunJobs, speed: SpeedModel): Promise<LiveStatus> {
  const ids = record.jobs
  const roles = run.roles
  const chunks = { transcription: count(run.transcribeChunks), diarization: count(run.diarizeChunks) }
  if (record.status === 'processed' || record.status === 'failed') {
    return {
      status: record.status,
      stage: null,
      progress: record.status === 'processed' ? 100 : 0,
      etaMs: null,
      chunks,
      error: record.error,
      stages: record.status === 'processed' ? doneStages(record) : [],
    }
  }
  const root = roles.root
  if (!root || root.state === 'failed' || root.state === 'cancelled') {
    return {
      status: 'failed',
      stage: null,
      progress: 0,
      etaMs: null,
      chunks,
      error: failureReason(record, run),
      stages: [],
    }
  }
  if (root.state === 'completed') {
    return {
      status: 'processed',
      stage: null,
      progress: 100,
      etaMs: null,
      chunks,
      error: null,
      stages: doneStages(record),
    }
  }

  const fraction = (j: JobSnapshot | undefined, parts?: JobSnapshot[]): number => {
    if (!j) return 0
    if (j.state === 'completed') return 1
    if (parts && parts.length > 0) return 0.02 + 0.96 * chunkFraction(parts)
    if (j.state === 'active') return Math.min(1, Math.max(0, j.percent / 100))
    return 0
  }
  const validate = fraction(roles.validate)
  const preprocess = fraction(roles.preprocess)
  const transcribe = fraction(roles.transcribe, run.transcribeChunks)
  const diarize = ids.diarize ? fraction(roles.diarize, run.diarizeChunks) : 1
  const merge = fraction(roles.merge)
  const notes = ids.notes ? fraction(roles.notes) : 1
  const save = fraction(roles.save)

  // Each stage weighs what it is expected to take on this recording at the speeds measured on
  // this installation, so the bar moves as fast as the work does; the ETA is the same figures.
  const expected = await stageExpectations(record, speed)
  const now = Date.now()
  /** What is left of a running stage: the model's figure, or — running slower than that — the pace seen so far. */
  const left = (expectedMs: number, f: number, startedAt: number | null | undefined) => {
    const modelled = (1 - f) * expectedMs
    if (f >= 1 || startedAt === null || startedAt === undefined) return modelled
    const elapsed = Math.max(0, now - startedAt)
    const projected = f >= 0.1 ? elapsed / f : Math.max(expectedMs, elapsed * 1.25)
    return Math.max(modelled, projected - elapsed)
  }
  const parallelLeft = Math.max(
    left(expected.transcription, transcribe, roles.transcribe?.startedAt),
    ids.diarize ? left(expected.diarization, diarize, roles.diarize?.startedAt) : 0,
  )
  const parallelDone = Math.min(transcribe, diarize)
  const bands = stageBands(expected)
  const band = (name: keyof StageWeights, f: number) => {
    const [from, to] = bands[name]
    return from + (to - from) * f
  }
  let progress: number
  if (save > 0) progress = band('save', save)
  else if (merge === 1) progress = band('notes', notes)
  else if (merge > 0) progress = band('merge', merge)
  else if (preprocess === 1) progress = band('parallel', parallelDone)
  else if (validate === 1) progress = band('preprocess', preprocess)
  else progress = band('validate', validate)

  const validateJob = roles.validate
  let status: SessionStatus
  let stage: string | null
  if (validateJob && validateJob.state !== 'active' && validateJob.state !== 'completed') {
    status = 'queued'
    stage = null
  } else if (validate < 1) {
    status = 'preprocessing'
    stage = 'validate'
  } else if (preprocess < 1) {
    status = 'preprocessing'
    stage = 'preprocess'
  } else if (transcribe < 1) {
    status = 'transcribing'
    stage = 'transcribe'
  } else if (diarize < 1) {
    status = 'diarizing'
    stage = 'diarize'
  } else {
    status = record.kind === 'transcription' ? 'transcribing' : 'extracting_notes'
    stage = merge < 1 ? 'merge' : notes < 1 ? 'notes' : 'save'
  }

  const remaining = [
    left(expected.validate, validate, roles.validate?.startedAt),
    left(expected.preprocess, preprocess, roles.preprocess?.startedAt),
    parallelLeft,
    (1 - merge) * expected.merge,
    (1 - notes) * expected.notes,
    (1 - save) * expected.save,
  ]
  const etaMs = Math.round(remaining.reduce((a, b) => a + b, 0))
  const stages: StageReport[] = [
    { name: 'validate', state: stageState(roles.validate, validate), progress: pct(validate) },
    { name: 'preprocess', state: stageState(roles.preprocess, preprocess), progress: pct(preprocess) },
    { name: 'transcribe', state: stageState(roles.transcribe, transcribe), progress: pct(transcribe) },
    ...(ids.diarize
      ? [{ name: 'diarize', state: stageState(roles.diarize, diarize), progress: pct(diarize) } as StageReport]
      : []),
    { name: 'merge', state: stageState(roles.merge, merge), progress: pct(merge) },
    ...(ids.notes
      ? [{ name: 'notes', state: stageState(roles.notes, notes), progress: pct(notes) } as StageReport]
      : []),
    { name: 'save', state: stageState(roles.save, save), progress: pct(save) },
  ]
  return { status, stage, progress: Math.round(progress * 10) / 10, etaMs, chunks, error: null, stages }
}

/** What the ETA and the progress weights are made of: expected wall ms per stage on this recording. */
export interface StageWeights {
  validate: number
  preprocess: number
  /** Transcription ‖ diarization: the slower of the two. */
  parallel: number
  merge: number
  notes: number
  save: number
}

async function stageExpectations(
  record: SessionRecord,
  speed: SpeedModel,
): Promise<StageWeights & { transcription: number; diarization: number }> {
  const duration = record.upload.durationSec
  const at = (key: string) => speed.expectMs(key, duration)
  const transcription = await at(`transcription:${record.engines.transcription}`)
  const diarization = record.jobs.diarize ? await at(`diarization:${record.engines.diarization}`) : 0
  return {
    validate: await at('validate'),
    preprocess: await at('preprocess'),
    parallel: Math.max(transcription, diarization),
    transcription,
    diarization,
    merge: await at('merge'),
    notes: record.jobs.notes ? await at(`notes:${record.engines.notes}`) : 0,
    save: await at('save'),
  }
}

/**
 * Each stage's band of the progress bar, in proportion to what it is expected to take (the
 * speeds measured here, `speed.ts`). With no figures at all, `STAGE_BANDS`.
 *
 * @example
 * stageBands({ validate: 200, preprocess: 400, parallel: 7000, merge: 40, notes: 60, save: 60 }).parallel // [7.8, 95.3]
 */
export function stageBands(weights: StageWeights): Record<keyof StageWeights, [number, number]> {
  const order: (keyof StageWeights)[] = ['validate', 'preprocess', 'parallel', 'merge', 'notes', 'save']
  const total = order.reduce((sum, name) => sum + Math.max(0, weights[name]), 0)
  if (!(total > 0)) return Object.fromEntries(order.map((n) => [n, [...STAGE_BANDS[n]]])) as never
  const out = {} as Record<keyof StageWeights, [number, number]>
  let from = 0
  for (const name of order) {
    const to = from + (100 * Math.max(0, weights[name])) / total
    out[name] = [from, to]
    from = to
  }
  out.save = [out.save[0], 100]
  return out
}

export interface StageReport {
  name: string
  state: 'waiting' | 'running' | 'done' | 'failed'
  /** 0–100. */
  progress: number
}

/**
 * The stages of a processed run, all done.
 *
 * @example
 * doneStages(record).map((s) => s.name) // ['validate', 'preprocess', 'transcribe', 'diarize', 'merge', 'notes', 'save']
 */
export function doneStages(record: Pick<SessionRecord, 'jobs'>): StageReport[] {
  return ['validate', 'preprocess', 'transcribe', 'diarize', 'merge', 'notes', 'save']
    .filter((name) => (name !== 'diarize' || record.jobs.diarize) && (name !== 'notes' || record.jobs.notes))
    .map((name) => ({ name, state: 'done', progress: 100 }))
}

function stageState(job: JobSnapshot | undefined, f: number): StageReport['state'] {
  if (f >= 1 || job?.state === 'completed') return 'done'
  if (!job) return 'waiting'
  if (job.state === 'failed' || job.state === 'cancelled') return 'failed'
  if (job.state === 'active' || f > 0) return 'running'
  return 'waiting'
}

function pct(f: number): number {
  return Math.round(Math.min(1, Math.max(0, f)) * 1000) / 10
}

const ORDER: (keyof SessionJobs | 'transcribeChunk' | 'diarizeChunk')[] = [
  'validate',
  'preprocess',
  'transcribeChunk',
  'transcribe',
  'diarizeChunk',
  'diarize',
  'merge',
  'notes',
  'save',
  'root',
]

const STAGE_FAILED: Record<string, string> = {
  validate: 'validation failed',
  preprocess: 'preprocessing failed',
  transcribe: 'transcription failed',
  transcribeChunk: 'transcription failed',
  diarize: 'diarization failed',
  diarizeChunk: 'diarization failed',
  merge: 'merge failed',
  notes: 'notes failed',
  save: 'saving failed',
  root: 'saving failed',
}

/**
 * The first real failure of a run, in pipeline order (a dependency failure only passes another
 * on), as `"<stage> failed: <reason>"`.
 */
export function failureReason(record: SessionRecord, run: RunJobs): string {
  const candidates: { role: string; job: JobSnapshot }[] = []
  for (const role of ORDER) {
    if (role === 'transcribeChunk') for (const job of run.transcribeChunks) candidates.push({ role, job })
    else if (role === 'diarizeChunk') for (const job of run.diarizeChunks) candidates.push({ role, job })
    else {
      const job = run.roles[role]
      if (job) candidates.push({ role, job })
    }
  }
  const real = candidates.find(
    ({ job }) => job.state === 'failed' && job.error && job.error.code !== 'SPOOL_DEPENDENCY_FAILED',
  )
  if (real) return `${STAGE_FAILED[real.role]}: ${real.job.error?.message ?? 'failed'}`
  if (candidates.some(({ job }) => job.state === 'cancelled')) return 'cancelled'
  if (!run.roles.root) return `the session's jobs are gone (run ${record.run})`
  return candidates.find(({ job }) => job.error)?.job.error?.message ?? 'failed'
}

function count(parts: JobSnapshot[]): { done: number; total: number } {
  return { done: parts.filter((p) => FINISHED.has(p.state)).length, total: parts.length }
}

/** The share of the chunks done (chunks are about equally long; a running one counts by its progress). */
function chunkFraction(parts: JobSnapshot[]): number {
  let done = 0
  for (const part of parts) done += part.state === 'completed' ? 1 : part.state === 'active' ? part.percent / 100 : 0
  return parts.length > 0 ? done / parts.length : 0
}
