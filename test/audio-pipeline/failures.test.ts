/**
 * What goes wrong, through the API: corrupt, truncated, mislabelled, oversized and otherwise
 * bad uploads answer 4xx problem+json and leave nothing behind (no session, no file, no job);
 * a diarization engine that keeps failing leaves speakers `Unknown` with a warning and the
 * session `processed`; a transcription engine that fails makes the session `failed` with the
 * reason, and a retry runs it again from the stored recording. Real ffmpeg and VAD; the engines
 * that fail on purpose are registered for the test (`registerAudioEngine`).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Transcript } from '../../src/audio/engines/transcription/types.js'
import { AudioError } from '../../src/audio/errors.js'
import { registerAudioEngine, unregisterAudioEngine } from '../../src/audio/pipeline/index.js'
import { readWavInfo } from '../../src/audio/wav.js'
import { sharedAudioAvailable, sharedPath } from '../helpers/shared-audio.js'
import { type AudioServer, run, startAudioServer } from './helpers.js'

/** One word every half second, as a fast stand-in for a real transcriber. */
async function wordsEveryHalfSecond(path: string): Promise<Transcript> {
  const { durationSec } = await readWavInfo(path)
  const words = Array.from({ length: Math.floor(durationSec / 0.5) }, (_, i) => ({
    text: `w${i}`,
    start: i * 0.5,
    end: i * 0.5 + 0.4,
  }))
  return { text: words.map((w) => w.text).join(' '), words, segments: [], engine: 'test-words' }
}

let transcriptionBroken = true

describe.skipIf(
  !sharedAudioAvailable('sessions API failure paths (test/audio-pipeline/failures.test.ts)', ['jfk.flac']),
)('sessions API: bad uploads and failing engines', () => {
  let t: AudioServer
  let dir: string
  let wav: string
  beforeAll(async () => {
    registerAudioEngine('transcription', 'test-words', () => ({ name: 'test-words', transcribe: wordsEveryHalfSecond }))
    registerAudioEngine('transcription', 'test-broken', () => ({
      name: 'test-broken',
      async transcribe(path) {
        if (transcriptionBroken) throw new AudioError('AUDIO_ENGINE_FAILED', 'the test transcriber is broken')
        return wordsEveryHalfSecond(path)
      },
    }))
    registerAudioEngine('diarization', 'test-broken', () => ({
      name: 'test-broken',
      async diarize() {
        throw Object.assign(new Error('the test diarizer crashed'), { retryable: true })
      },
    }))
    dir = await mkdtemp(join(tmpdir(), 'spool-audio-failures-'))
    wav = join(dir, 'jfk.wav')
    await run('ffmpeg', ['-v', 'error', '-i', sharedPath('jfk.flac'), '-ac', '1', '-ar', '16000', wav])
    t = await startAudioServer({
      audio: {
        maxUploadBytes: 1_000_000,
        engines: { transcription: 'test-words' },
        stageRetry: { diarize: { maxAttempts: 2, backoffMs: 20 }, transcribeChunk: { maxAttempts: 1 } },
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    await rm(dir, { recursive: true, force: true })
    for (const family of ['transcription', 'diarization'] as const) unregisterAudioEngine(family, 'test-broken')
    unregisterAudioEngine('transcription', 'test-words')
  })

  async function expectNothingKept() {
    expect((await t.request('GET', '/v1/sessions')).body.sessions).toEqual([])
    expect(await t.storedFiles()).toEqual([])
    const counts = await t.spool.queues.counts('audio.validate')
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0)
  }

  it('refuses corrupt, truncated, mislabelled, oversized, empty and unknown files with 4xx, keeping nothing', async () => {
    const corrupt = join(dir, 'corrupt.wav')
    const header = Buffer.alloc(44)
    header.write('RIFF', 0)
    header.writeUInt32LE(100_036, 4)
    header.write('WAVEfmt ', 8)
    await writeFile(corrupt, Buffer.concat([header, randomBytes(100_000)]))
    const flac = await readFile(sharedPath('jfk.flac'))
    const truncated = join(dir, 'truncated.flac')
    await writeFile(truncated, flac.subarray(0, Math.floor(flac.length * 0.4)))
    // The reported case: the first 300,000 bytes of a 30 s WAV (960,000 bytes of samples), whose
    // header still says 30 s; ffprobe and a decode both accept it as 9.4 s of audio.
    const thirty = join(dir, 'thirty.wav')
    await run('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:duration=30:sample_rate=16000',
      thirty,
    ])
    const cutWav = join(dir, 'cut.wav')
    await writeFile(cutWav, (await readFile(thirty)).subarray(0, 300_000))
    const ogg = join(dir, 'tone.ogg')
    await run('ffmpeg', ['-v', 'error', '-i', thirty, '-t', '12', '-c:a', 'libvorbis', ogg])
    const cutOgg = join(dir, 'cut.ogg')
    const oggBytes = await readFile(ogg)
    await writeFile(cutOgg, oggBytes.subarray(0, Math.floor(oggBytes.length * 0.4)))
    const text = join(dir, 'notes.mp3')
    await writeFile(text, 'This is a text file, not a recording.\n'.repeat(200))
    const big = join(dir, 'big.wav')
    await writeFile(big, Buffer.concat([header, randomBytes(3_000_000)]))
    const empty = join(dir, 'empty.wav')
    await writeFile(empty, '')
    const cases: [string, string, number, string][] = [
      ['corrupt', corrupt, 422, 'AUDIO_UNDECODABLE'],
      ['truncated', truncated, 422, 'AUDIO_TRUNCATED'],
      ['truncated WAV', cutWav, 422, 'AUDIO_TRUNCATED'],
      ['truncated Ogg', cutOgg, 422, 'AUDIO_TRUNCATED'],
      ['mislabelled', text, 415, 'AUDIO_TYPE_MISMATCH'],
      ['oversized', sharedPath('jfk.flac'), 413, 'AUDIO_TOO_LARGE'],
      ['oversized, refused from its Content-Length', big, 413, 'AUDIO_TOO_LARGE'],
      ['empty', empty, 422, 'AUDIO_EMPTY'],
    ]
    for (const [what, path, status, code] of cases) {
      const answer = await t.upload(path, { urgency: 'routine' })
      expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(status)
      expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/)
      expect(answer.body).toMatchObject({ code, status, field: 'file' })
    }
    const named = await t.upload(wav, {}, { filename: 'recording.txt' })
    expect(named.status).toBe(415)
    expect(named.body.code).toBe('AUDIO_UNSUPPORTED_TYPE')
    await expectNothingKept()
  })

  it('refuses bad metadata and bad requests with 400, keeping nothing', async () => {
    const bad = async (metadata: unknown) => {
      const form = new FormData()
      form.append('metadata', typeof metadata === 'string' ? metadata : JSON.stringify(metadata))
      form.append('file', new Blob([await readFile(wav)]), 'jfk.wav')
      const response = await fetch(`${t.url}/v1/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminKey}` },
        body: form,
      })
      return { status: response.status, body: (await response.json()) as { code: string; field?: string } }
    }
    expect(await bad('{not json')).toMatchObject({
      status: 400,
      body: { code: 'SPOOL_INVALID_JSON', field: 'metadata' },
    })
    expect(await bad({ urgency: 'whenever' })).toMatchObject({ status: 400, body: { field: 'metadata.urgency' } })
    expect(await bad({ patient: { shoeSize: 9 } })).toMatchObject({
      status: 400,
      body: { code: 'SPOOL_UNKNOWN_FIELD', field: 'metadata.patient.shoeSize' },
    })
    expect(await bad({ engines: { transcription: 'nope' } })).toMatchObject({
      status: 400,
      body: { code: 'AUDIO_INVALID_CONFIG', field: 'metadata.engines.transcription' },
    })
    const json = await t.request('POST', '/v1/sessions', { body: { file: 'x' } })
    expect(json.status).toBe(400) // this route takes no JSON body
    const noFile = new FormData()
    noFile.append('metadata', '{}')
    const missing = await fetch(`${t.url}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}` },
      body: noFile,
    })
    expect(missing.status).toBe(400)
    const reader = await t.key('default', ['reader'])
    expect((await t.upload(wav, {}, { key: reader })).status).toBe(403)
    await expectNothingKept()
  })

  it('a diarizer that keeps failing leaves speakers Unknown, with a warning, and the session processed', async () => {
    const created = await t.upload(wav, { engines: { diarization: 'test-broken' }, speakers: 2 })
    expect(created.status, JSON.stringify(created.body)).toBe(202)
    const done = await t.pipeline.sessions.waitUntilFinished(created.body.id, 'default', 60_000)
    expect(done.status).toBe('processed')
    const { body } = await t.request('GET', `/v1/sessions/${created.body.id}`)
    // Every word is Unknown, and Unknown is never counted as a speaker.
    expect(body.results.transcript.speakers).toEqual([])
    expect(body.results.transcript.segments.every((s: { speaker: string }) => s.speaker === 'Unknown')).toBe(true)
    expect(body.results.reliability.diarization).toEqual({
      engine: 'test-broken',
      expectedError: 'diarization failed: no speaker labels',
    })
    expect(body.results.transcript.words ?? body.results.transcript.segments[0].words.length).toBeTruthy()
    expect(body.warnings.join(' ')).toMatch(/diarization failed \(the test diarizer crashed\); speakers are Unknown/)
    const record = await t.pipeline.sessions.records.get(created.body.id)
    const diarize = await t.spool.jobs.get(record?.jobs.diarize as string)
    expect(diarize?.state).toBe('failed')
    expect(diarize?.errors).toHaveLength(2)
  })

  it('words a transcriber puts in silence are dropped, flagged and never given a speaker', async () => {
    // JFK, 6 s of silence, JFK again: the test transcriber puts a word every half second
    // throughout, silence included, as weak engines do with noise.
    const gapped = join(dir, 'gapped.wav')
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      wav,
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=16000:cl=mono:d=6',
      '-i',
      wav,
      '-filter_complex',
      '[0:a][1:a][2:a]concat=n=3:v=0:a=1',
      gapped,
    ])
    const created = await t.upload(gapped, { speakers: 1 })
    expect(created.status, JSON.stringify(created.body)).toBe(202)
    const done = await t.pipeline.sessions.waitUntilFinished(created.body.id, 'default', 60_000)
    expect(done.status).toBe('processed')
    const { body } = await t.request('GET', `/v1/sessions/${created.body.id}`)
    const { transcript, quality, reliability } = body.results
    const words = transcript.segments.flatMap((s: { words: { start: number; end: number }[] }) => s.words)
    const jfk = (await readWavInfo(wav)).durationSec
    // Nothing is left inside the silence (a margin for the VAD's edges and the gating tolerance).
    const inGap = words.filter((w: { start: number; end: number }) => w.start > jfk + 1 && w.end < jfk + 5)
    expect(inGap).toEqual([])
    expect(transcript.gating.dropped).toBeGreaterThanOrEqual(8)
    expect(transcript.speakers).toEqual(['SPEAKER_1'])
    expect(quality.outsideSpeechRatio).toBeGreaterThan(0.1)
    expect(quality.flags.join(' ')).toMatch(/% of the transcriber's words lay outside detected speech/)
    expect(body.warnings.join(' ')).toMatch(/word\(s\) lay outside detected speech and were dropped/)
    expect(reliability).toMatchObject({ level: 'low', engine: 'test-words', flags: quality.flags })
    expect(reliability.statement).toMatch(/transcribed by test-words — not measured/)
  })

  it('a failing transcriber fails the session with the reason; a retry runs it again', async () => {
    transcriptionBroken = true
    const created = await t.upload(wav, { engines: { transcription: 'test-broken' } })
    expect(created.status).toBe(202)
    const id = created.body.id as string
    const failed = await t.pipeline.sessions.waitUntilFinished(id, 'default', 60_000)
    expect(failed.status).toBe('failed')
    expect(failed.error).toBe('transcription failed: the test transcriber is broken')
    const { body } = await t.request('GET', `/v1/sessions/${id}`)
    expect(body).toMatchObject({ status: 'failed', error: 'transcription failed: the test transcriber is broken' })
    expect(body.results).toBeNull()
    expect((await t.request('GET', `/v1/sessions/${id}/transcript`)).status).toBe(409)

    transcriptionBroken = false
    const retried = await t.request('POST', `/v1/sessions/${id}/retry`)
    expect(retried.status, JSON.stringify(retried.body)).toBe(200)
    expect(retried.body).toMatchObject({ status: 'queued', run: 2, error: null })
    const done = await t.pipeline.sessions.waitUntilFinished(id, 'default', 60_000)
    expect(done.status).toBe('processed')
    expect((await t.request('GET', `/v1/sessions/${id}/transcript?format=txt`)).text).toMatch(/w0 w1/)
    // Deleting removes both runs' jobs.
    const record = await t.pipeline.sessions.records.get(id)
    expect((await t.request('DELETE', `/v1/sessions/${id}`)).status).toBe(204)
    for (const run of [...(record?.previousRuns ?? []), record?.jobs]) {
      for (const jobId of Object.values(run ?? {})) if (jobId) expect(await t.spool.jobs.get(jobId)).toBeNull()
    }
  })
})
