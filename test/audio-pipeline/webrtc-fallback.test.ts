/**
 * A machine without model files: the pipeline's models folder (`SPOOL_MODELS_DIR` in its
 * environment) points at a folder that does not exist, so there is no Silero VAD and the whole
 * pipeline runs on the fallbacks — WebRTC VAD (`@echogarden/fvad-wasm`) for chunking and
 * diarization, pocketsphinx, the baseline diarizer, extractive notes — through the HTTP API.
 * The recording is a two-voice dialogue generated here with espeak-ng and sox (the first four
 * turns of test/helpers/conversation.ts, ~18 s), cut into 8 s chunks so fan-out and stitching
 * run too. Checked: processed, the WebRTC warning, two speakers, diarization error rate of the
 * merged segments against the exact reference turns (≤ 0.10), and the share of transcribed words
 * carrying the right speaker (≥ 95 %). Measured: 4 chunks, DER 0.000, 33 of 33 words right; about
 * 40 s wall at load average 9 on 2 cores, nearly all of it pocketsphinx.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { diarizationErrorRate } from '../../src/audio/eval/der.js'
import { vadEngineAvailable } from '../../src/audio/vad.js'
import { type Conversation, speakConversation, THERAPY_DIALOGUE } from '../helpers/conversation.js'
import { type AudioServer, followSession, startAudioServer } from './helpers.js'

describe('the whole pipeline with no model files (WebRTC VAD fallback)', () => {
  let t: AudioServer
  let dir: string
  let conversation: Conversation
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-webrtc-fallback-'))
    const missing = join(dir, 'no-models-here')
    expect(vadEngineAvailable({ modelsDir: missing }).engine).toBe('webrtc')
    conversation = await speakConversation(THERAPY_DIALOGUE.slice(0, 4), join(dir, 'dialogue'))
    t = await startAudioServer({
      audio: {
        chunkSec: 8,
        engines: { transcription: 'pocketsphinx', diarization: 'baseline', notes: 'extractive' },
        env: { ...process.env, SPOOL_MODELS_DIR: missing },
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('processes a two-voice dialogue end to end, with both speakers found and words attributed', async () => {
    const created = await t.upload(conversation.path, { language: 'en', visitType: 'follow-up' })
    expect(created.status, JSON.stringify(created.body)).toBe(202)
    const id = created.body.id as string
    const { frames } = await followSession(
      t.url,
      t.adminKey,
      id,
      (f) => f.status === 'processed' || f.status === 'failed',
      120_000,
    )
    expect(frames.at(-1), JSON.stringify(frames.at(-1))).toMatchObject({ status: 'processed', progress: 100 })

    const { body: session } = await t.request('GET', `/v1/sessions/${id}`)
    const results = session.results
    expect((await t.pipeline.sessions.records.results(id))?.vadEngine).toBe('webrtc')
    expect(session.warnings).toContain('WebRTC VAD in use (no Silero model file): weaker in noise')
    expect(session.chunks.transcription.total).toBeGreaterThanOrEqual(2)

    const transcript = results.transcript as {
      speakers: string[]
      segments: { start: number; end: number; speaker: string; words: { word: string; start: number; end: number }[] }[]
    }
    expect(transcript.speakers).toEqual(['SPEAKER_1', 'SPEAKER_2'])
    const words = transcript.segments.flatMap((s) => s.words.map((w) => ({ ...w, speaker: s.speaker })))
    // Times are in the uploaded recording, which is the reference's timeline.
    const der = diarizationErrorRate(
      conversation.turns,
      transcript.segments.map((s) => ({ speaker: s.speaker, start: s.start, end: s.end })),
      { collar: 0.25 },
    )
    const timed = words.map((w) => {
      const mid = (w.start + w.end) / 2
      const turn = conversation.turns.find((turn) => turn.start - 0.25 <= mid && mid < turn.end + 0.25)
      return { inTurn: turn !== undefined, right: turn !== undefined && der.mapping[w.speaker] === turn.speaker }
    })
    const inTurns = timed.filter((w) => w.inTurn).length
    const right = timed.filter((w) => w.right).length / Math.max(1, inTurns)
    console.info(
      `WebRTC fallback: ${conversation.durationSec.toFixed(1)} s, ${session.chunks.transcription.total} chunks, ` +
        `segment DER ${der.der.toFixed(3)} (missed ${der.missed.toFixed(2)} s, false alarm ${der.falseAlarm.toFixed(2)} s, ` +
        `confusion ${der.confusion.toFixed(2)} s), right speaker for ${(right * 100).toFixed(1)} % of ${inTurns} words, ` +
        `timings ${JSON.stringify(session.timings)}`,
    )
    expect(inTurns).toBeGreaterThan(10)
    expect(right).toBeGreaterThanOrEqual(0.95)
    expect(der.der).toBeLessThanOrEqual(0.1)
    expect(results.notes.heuristic).toBe(true)
  })
})
