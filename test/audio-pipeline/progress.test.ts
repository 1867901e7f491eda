/**
 * What a client following a session sees, through the API: every status of the run in order —
 * `preprocessing`, `transcribing`, `diarizing` (here diarization is the slower stage),
 * `extracting_notes` — even when a stage begins and ends between two reads (the merge, notes and
 * save of a short recording take milliseconds); every stage with its state in each frame;
 * progress that only rises, to 100.
 *
 * Real ffmpeg and VAD; a quick stand-in transcriber and a diarizer that takes 1.5 s (as a
 * whole-file diarizer does on a longer recording) are registered for the test.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Transcript } from '../../src/audio/engines/transcription/types.js'
import { registerAudioEngine, unregisterAudioEngine } from '../../src/audio/pipeline/index.js'
import { readWavInfo } from '../../src/audio/wav.js'
import { sharedAudioAvailable, sharedPath } from '../helpers/shared-audio.js'
import { type AudioServer, followSession, run, startAudioServer } from './helpers.js'

async function quickWords(path: string): Promise<Transcript> {
  const { durationSec } = await readWavInfo(path)
  const words = Array.from({ length: Math.floor(durationSec / 0.5) }, (_, i) => ({
    text: `w${i}`,
    start: i * 0.5,
    end: i * 0.5 + 0.4,
  }))
  return { text: words.map((w) => w.text).join(' '), words, segments: [], engine: 'test-quick' }
}

describe.skipIf(!sharedAudioAvailable('session progress (test/audio-pipeline/progress.test.ts)', ['jfk.flac']))(
  'sessions API: statuses, stages and progress as they happen',
  () => {
    let t: AudioServer
    let dir: string
    let wav: string
    beforeAll(async () => {
      registerAudioEngine('transcription', 'test-quick', () => ({ name: 'test-quick', transcribe: quickWords }))
      registerAudioEngine('diarization', 'test-slow', () => ({
        name: 'test-slow',
        async diarize(path, options = {}) {
          await sleep(1500, undefined, { signal: options.signal })
          const { durationSec } = await readWavInfo(path)
          return {
            engine: 'test-slow',
            turns: [{ start: 0, end: durationSec, speaker: 'SPEAKER_1' }],
            speakers: ['SPEAKER_1'],
            warnings: [],
          }
        },
      }))
      dir = await mkdtemp(join(tmpdir(), 'spool-audio-progress-'))
      wav = join(dir, 'jfk.wav')
      await run('ffmpeg', ['-v', 'error', '-i', sharedPath('jfk.flac'), '-ac', '1', '-ar', '16000', wav])
      t = await startAudioServer({ audio: { engines: { transcription: 'test-quick', diarization: 'test-slow' } } })
    })
    afterAll(async () => {
      await t?.close()
      await rm(dir, { recursive: true, force: true })
      unregisterAudioEngine('transcription', 'test-quick')
      unregisterAudioEngine('diarization', 'test-slow')
    })

    it('reports every status in order, every stage in each frame, and progress rising to 100', async () => {
      const created = await t.upload(wav, { speakers: 1 })
      expect(created.status, JSON.stringify(created.body)).toBe(202)
      // An idle queue: next in line with a worker free waits for nothing.
      expect(created.body).toMatchObject({ position: 0, estimatedWaitMs: 0 })
      const { frames } = await followSession(
        t.url,
        t.adminKey,
        created.body.id,
        (f) => f.status === 'processed' || f.status === 'failed',
      )
      const statuses = frames.map((f) => f.status).filter((s, i, all) => s !== all[i - 1])
      expect(statuses.filter((s) => s !== 'queued')).toEqual([
        'preprocessing',
        'transcribing',
        'diarizing',
        'extracting_notes',
        'processed',
      ])
      const progress = frames.map((f) => f.progress)
      for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] as number)
      expect(progress.at(-1)).toBe(100)
      // While the run is under way each frame lists every stage with its state.
      const running = frames.filter((f) => f.status !== 'processed' && f.status !== 'queued') as unknown as {
        stages: { name: string; state: string }[]
      }[]
      expect(running.length).toBeGreaterThan(0)
      for (const frame of running) {
        expect(frame.stages.map((s) => s.name)).toEqual([
          'validate',
          'preprocess',
          'transcribe',
          'diarize',
          'merge',
          'notes',
          'save',
        ])
      }
      const diarizeStates = new Set(
        running.flatMap((f) => f.stages.filter((s) => s.name === 'diarize').map((s) => s.state)),
      )
      expect(diarizeStates).toContain('running')
      // The diarizer's own turns are in the result, to score diarization apart from the merge.
      const { body } = await t.request('GET', `/v1/sessions/${created.body.id}`)
      expect(body.results.diarization).toMatchObject({ engine: 'test-slow', speakers: ['SPEAKER_1'] })
      expect(body.results.diarization.turns).toHaveLength(1)
      expect(body.results.diarization.turns[0]).toMatchObject({ speaker: 'SPEAKER_1', start: expect.any(Number) })
    })
  },
)
