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
  it('maps jobs to statuses and stage-weighted progress', async () => {
    const queued = await liveStatus(record, run({ validate: job('1', 'waiting') }), speed)
    expect(queued).toMatchObject({ status: 'queued', stage: null, progress: 0 })
    expect(queued.etaMs).toBe(6 * 1000) // six stages of 100 s × 10 ms

    const validating = await liveStatus(record, run({ validate: job('1', 'active', 50) }), speed)
    expect(validating).toMatchObject({ status: 'preprocessing', stage: 'validate', progress: 2.5 })

    const preprocessing = await liveStatus(
      record,
      run({ validate: job('1', 'completed'), preprocess: job('2', 'active', 50) }),
      speed,
    )
    expect(preprocessing).toMatchObject({ status: 'preprocessing', stage: 'preprocess', progress: 15 })

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
    // 25 + 50 × (0.02 + 0.96 × 1.5 / 4)
    expect(transcribing).toMatchObject({ status: 'transcribing', stage: 'transcribe', progress: 44 })
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
    expect(diarizing).toMatchObject({ status: 'diarizing', stage: 'diarize', progress: 45 })

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
    expect(notes).toMatchObject({ status: 'extracting_notes', stage: 'notes', progress: 87.5 })
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
