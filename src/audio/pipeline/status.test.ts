import { describe, expect, it } from 'vitest'
import type { JobState } from '../../store/store.js'
import type { SessionRecord } from './records.js'
import type { SpeedModel } from './speed.js'
import { unionMs } from './stages.js'
import { failureReason, type JobSnapshot, liveStatus, type RunJobs } from './status.js'

const record = {
  id: 's',
  kind: 'session',
  run: 1,
  status: 'queued',
  error: null,
  upload: { durationSec: 100 },
  engines: { transcription: 'pocketsphinx', diarization: 'baseline', notes: 'extractive' },
  jobs: { root: '8', validate: '1', preprocess: '2', transcribe: '3', diarize: '4', merge: '5', notes: '6', save: '8' },
} as unknown as SessionRecord
const speed = { expectMs: async (_key: string, seconds: number) => seconds * 10 } as unknown as SpeedModel

const job = (id: string, state: JobState, percent = 0, error: JobSnapshot['error'] = null): JobSnapshot => ({
  id,
  queue: '',
  state,
  percent,
  error,
  startedAt: null,
  finishedAt: null,
  createdAt: 0,
})

function run(states: Partial<Record<keyof SessionRecord['jobs'], JobSnapshot>>, chunks: JobSnapshot[] = []): RunJobs {
  return {
    roles: { root: job('8', 'blocked'), save: job('8', 'blocked'), ...states },
    transcribeChunks: chunks,
    diarizeChunks: [],
  }
}

describe('live session status', () => {
  it('maps jobs to statuses and stage-weighted progress (equal expected times: six bands of 16.7)', async () => {
    const queued = await liveStatus(record, run({ validate: job('1', 'waiting') }), speed)
    expect(queued).toMatchObject({ status: 'queued', stage: null, progress: 0 })
    expect(queued.etaMs).toBe(6 * 1000) // six stages of 100 s × 10 ms

    const validating = await liveStatus(record, run({ validate: job('1', 'active', 50) }), speed)
    expect(validating).toMatchObject({ status: 'preprocessing', stage: 'validate', progress: 8.3 })

    const preprocessing = await liveStatus(
      record,
      run({ validate: job('1', 'completed'), preprocess: job('2', 'active', 50) }),
      speed,
    )
    expect(preprocessing).toMatchObject({ status: 'preprocessing', stage: 'preprocess', progress: 25 })

    const chunks = [job('10', 'completed'), job('11', 'active', 50), job('12', 'waiting'), job('13', 'waiting')]
    const transcribing = await liveStatus(
      record,
      run(
        {
          validate: job('1', 'completed'),
          preprocess: job('2', 'completed'),
          transcribe: job('3', 'blocked'),
          diarize: job('4', 'completed'),
        },
        chunks,
      ),
      speed,
    )
    // 33.3 + 16.7 × (0.02 + 0.96 × 1.5 / 4)
    expect(transcribing).toMatchObject({ status: 'transcribing', stage: 'transcribe', progress: 39.7 })
    // Every stage is reported with its state, diarization included while transcription runs.
    expect(transcribing.stages.map((st) => [st.name, st.state])).toEqual([
      ['validate', 'done'],
      ['preprocess', 'done'],
      ['transcribe', 'running'],
      ['diarize', 'done'],
      ['merge', 'waiting'],
      ['notes', 'waiting'],
      ['save', 'waiting'],
    ])
    expect(transcribing.chunks.transcription).toEqual({ done: 1, total: 4 })

    const diarizing = await liveStatus(
      record,
      run({
        validate: job('1', 'completed'),
        preprocess: job('2', 'completed'),
        transcribe: job('3', 'completed'),
        diarize: job('4', 'active', 40),
      }),
      speed,
    )
    expect(diarizing).toMatchObject({ status: 'diarizing', stage: 'diarize', progress: 40 })

    const notes = await liveStatus(
      record,
      run({
        validate: job('1', 'completed'),
        preprocess: job('2', 'completed'),
        transcribe: job('3', 'completed'),
        diarize: job('4', 'completed'),
        merge: job('5', 'completed'),
        notes: job('6', 'active', 50),
      }),
      speed,
    )
    expect(notes).toMatchObject({ status: 'extracting_notes', stage: 'notes', progress: 75 })
  })

  it('weighs stages by their measured speed, and projects a stage running slower than expected from its pace', async () => {
    // Transcription measured at 500 ms per audio second, the rest at 10: on 100 s, 50 s of 100 s.
    const measured = {
      expectMs: async (key: string, seconds: number) => seconds * (key.startsWith('transcription:') ? 500 : 10),
    } as unknown as SpeedModel
    const transcribeStarted = Date.now() - 100_000 // twice the 50 s expected, and only 30 % through
    const late = await liveStatus(
      record,
      run(
        {
          validate: job('1', 'completed'),
          preprocess: job('2', 'completed'),
          transcribe: { ...job('3', 'blocked'), startedAt: transcribeStarted },
          diarize: job('4', 'completed'),
        },
        [job('10', 'completed'), job('11', 'waiting'), job('12', 'waiting'), { ...job('13', 'active', 20) }],
      ),
      measured,
    )
    // Bands: validate 1 s, preprocess 1 s, parallel 50 s, merge, notes, save 1 s each → of 55 s.
    const f = 0.02 + 0.96 * (1.2 / 4)
    expect(late.progress).toBeCloseTo(((2 + 50 * f) / 55) * 100, 0)
    // The model alone would say (1 − f) × 50 s ≈ 35 s left; at the pace seen it is 100 s / f − 100 s.
    const projected = 100_000 / f - 100_000 + 3_000
    expect(late.etaMs).toBeGreaterThan(projected - 1_000)
    expect(late.etaMs).toBeLessThan(projected + 1_000)
  })

  it('names the first real failure, not the dependency failures it caused', async () => {
    const failed = run(
      {
        root: job('8', 'failed', 0, { message: 'dependency 6 failed', code: 'SPOOL_DEPENDENCY_FAILED' }),
        validate: job('1', 'completed'),
        preprocess: job('2', 'completed'),
        transcribe: job('3', 'failed', 0, { message: 'dependency 10 failed', code: 'SPOOL_DEPENDENCY_FAILED' }),
        merge: job('5', 'failed', 0, { message: 'transcription failed: engine down' }),
      },
      [job('10', 'failed', 0, { message: 'engine down', code: 'AUDIO_ENGINE_FAILED' })],
    )
    expect(failureReason(record, failed)).toBe('transcription failed: engine down')
    expect(await liveStatus(record, failed, speed)).toMatchObject({
      status: 'failed',
      error: 'transcription failed: engine down',
    })
  })

  // The SSE stream and the WebSocket never send a lower progress than they sent before in the
  // same run (`AudioSessions.watch` clamps, as documented), so the end-to-end tests' "monotonic"
  // checks hold by construction. What they cannot see is whether the computation feeding the
  // clamp is right: walk it, unclamped, over many random interleavings of a real run's jobs.
  it('never lowers progress or status over a run, in any interleaving of its jobs (unclamped)', async () => {
    const RANK = ['queued', 'preprocessing', 'transcribing', 'diarizing', 'extracting_notes', 'processed']
    for (let seed = 1; seed <= 300; seed++) {
      const random = mulberry32(seed)
      // The OpenAI-compatible endpoint's runs (kind `transcription`) have neither diarization nor
      // notes; a session may lack either (engine `none`).
      const transcriptionOnly = seed % 9 === 0
      const withDiarize = !transcriptionOnly && seed % 5 !== 0
      const withNotes = !transcriptionOnly && seed % 7 !== 0
      const diarizeChunks = withDiarize && seed % 2 === 0 ? 1 + Math.floor(random() * 4) : 0
      const sim = simulateRun(random, {
        transcribeChunks: 1 + Math.floor(random() * 6),
        diarizeChunks,
        withDiarize,
        withNotes,
      })
      const rec = {
        ...record,
        kind: transcriptionOnly ? 'transcription' : 'session',
        jobs: { ...record.jobs, diarize: withDiarize ? '4' : null, notes: withNotes ? '6' : null },
      } as SessionRecord
      let last = await liveStatus(rec, sim.snapshot(), speed)
      expect(last).toMatchObject({ status: 'queued', progress: 0 })
      const trail: string[] = []
      while (sim.step()) {
        const now = await liveStatus(rec, sim.snapshot(), speed)
        trail.push(`${sim.lastAction} → ${now.status} ${now.progress}`)
        const context = `seed ${seed}:\n${trail.slice(-6).join('\n')}`
        expect(now.progress, context).toBeGreaterThanOrEqual(last.progress)
        expect(RANK.indexOf(now.status), context).toBeGreaterThanOrEqual(RANK.indexOf(last.status))
        last = now
      }
      expect(last).toMatchObject({ status: 'processed', progress: 100, etaMs: null })
    }
  })

  it('lowers the unclamped progress when a chunk is retried (which is why the stream clamps)', async () => {
    const before = run(
      {
        validate: job('1', 'completed'),
        preprocess: job('2', 'completed'),
        transcribe: job('3', 'blocked'),
        diarize: job('4', 'completed'),
      },
      [job('10', 'active', 60), job('11', 'completed')],
    )
    const retried = { ...before, transcribeChunks: [job('10', 'scheduled'), job('11', 'completed')] }
    const a = await liveStatus(record, before, speed)
    const b = await liveStatus(record, retried, speed)
    expect(b.progress).toBeLessThan(a.progress)
  })

  it('adds up engine time without counting overlaps twice', () => {
    expect(unionMs([])).toBe(0)
    expect(
      unionMs([
        [0, 10],
        [5, 15],
        [20, 30],
        [21, 22],
      ]),
    ).toBe(25)
  })
})

/** A seeded PRNG, so a failing interleaving can be replayed by its seed. */
function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * One run of the pipeline's jobs as the store would show them, advanced one event at a time in
 * a random order that respects the flow: validate → preprocess → transcription ‖ diarization
 * (each a parent that reports 2 %, fans out into chunks and waits for them, or — diarization
 * without chunks — reports 5 % and finishes) → merge → notes → save (the root). Running jobs
 * report rising progress the way the handlers do (`stages.ts`).
 */
function simulateRun(
  random: () => number,
  shape: { transcribeChunks: number; diarizeChunks: number; withDiarize: boolean; withNotes: boolean },
) {
  type Sim = { state: JobState; percent: number }
  const jobs: Record<string, Sim> = {}
  const roles = ['validate', 'preprocess', 'transcribe', 'diarize', 'merge', 'notes', 'save'] as const
  const ids: Record<(typeof roles)[number], string> = {
    validate: '1',
    preprocess: '2',
    transcribe: '3',
    diarize: '4',
    merge: '5',
    notes: '6',
    save: '8',
  }
  const present = roles.filter((r) => (r !== 'diarize' || shape.withDiarize) && (r !== 'notes' || shape.withNotes))
  for (const role of present) jobs[role] = { state: role === 'validate' ? 'waiting' : 'blocked', percent: 0 }
  const chunks: Record<'transcribe' | 'diarize', Sim[]> = { transcribe: [], diarize: [] }
  const fanOut = { transcribe: shape.transcribeChunks, diarize: shape.diarizeChunks }
  const deps: Record<string, string[]> = {
    preprocess: ['validate'],
    transcribe: ['preprocess'],
    diarize: ['preprocess'],
    merge: ['transcribe', ...(shape.withDiarize ? ['diarize'] : [])],
    notes: ['merge'],
    save: [shape.withNotes ? 'notes' : 'merge'],
  }
  const done = (role: string) => jobs[role]?.state === 'completed'
  let lastAction = ''

  /** Every event that could happen next. */
  const actions = (): [string, () => void][] => {
    const out: [string, () => void][] = []
    for (const role of present) {
      const j = jobs[role] as Sim
      const parent = role === 'transcribe' || role === 'diarize' ? role : null
      const kids = parent ? chunks[parent] : []
      if (j.state === 'blocked' && kids.length === 0 && (deps[role] ?? []).every(done)) {
        out.push([`${role} ready`, () => Object.assign(j, { state: 'waiting' })])
      } else if (j.state === 'waiting')
        out.push([`${role} starts`, () => Object.assign(j, { state: 'active', percent: 0 })])
      else if (j.state === 'active') {
        if (parent && fanOut[parent] > 0 && kids.length === 0) {
          if (j.percent < 2) out.push([`${role} plans chunks`, () => Object.assign(j, { percent: 2 })])
          else {
            out.push([
              `${role} fans out`,
              () => {
                for (let i = 0; i < fanOut[parent]; i++) kids.push({ state: 'waiting', percent: 0 })
                Object.assign(j, { state: 'blocked' })
              },
            ])
          }
        } else if (j.percent < 100 && !(parent && kids.length > 0)) {
          out.push([
            `${role} reports`,
            () => Object.assign(j, { percent: Math.min(100, j.percent + 1 + random() * 60) }),
          ])
        } else out.push([`${role} completes`, () => Object.assign(j, { state: 'completed', percent: 100 })])
      } else if (j.state === 'blocked' && kids.length > 0 && kids.every((k) => k.state === 'completed')) {
        out.push([`${role} resumes`, () => Object.assign(j, { state: 'active' })])
      }
      kids.forEach((k, i) => {
        if (k.state === 'waiting')
          out.push([`${role} chunk ${i} starts`, () => Object.assign(k, { state: 'active', percent: 5 })])
        else if (k.state === 'active' && k.percent < 95)
          out.push([
            `${role} chunk ${i} ticks`,
            () => Object.assign(k, { percent: Math.min(95, k.percent + random() * 40) }),
          ])
        else if (k.state === 'active')
          out.push([`${role} chunk ${i} completes`, () => Object.assign(k, { state: 'completed', percent: 100 })])
      })
    }
    return out
  }
  const snap = (id: string, s: Sim): JobSnapshot => ({ ...job(id, s.state, s.percent) })
  return {
    get lastAction() {
      return lastAction
    },
    step(): boolean {
      const next = actions()
      if (next.length === 0) return false
      const [name, apply] = next[Math.floor(random() * next.length)] as [string, () => void]
      lastAction = name
      apply()
      return true
    },
    snapshot(): RunJobs {
      const out: RunJobs['roles'] = {}
      for (const role of present) out[role] = snap(ids[role], jobs[role] as Sim)
      if (out.save) out.root = out.save
      return {
        roles: out,
        transcribeChunks: chunks.transcribe.map((k, i) => snap(`t${i}`, k)),
        diarizeChunks: chunks.diarize.map((k, i) => snap(`d${i}`, k)),
      }
    },
  }
}
