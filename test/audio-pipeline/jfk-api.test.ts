/**
 * `jfk.flac` end to end through the HTTP API with the real offline engines (ffmpeg, Silero VAD,
 * pocketsphinx, the baseline diarizer, extractive notes): upload → 202 → SSE progress rising to
 * 100 → processed, with the transcript's word error rate against `jfk.txt` recorded and held to
 * the measured level (0.636, test/audio/jfk.test.ts) plus two words; transcript formats, the
 * stored audio encrypted, audit entries for reads, tenancy, re-prioritising and a purge on delete.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wordErrorRate } from '../../src/audio/eval/wer.js'
import { sharedAudioAvailable, sharedPath, sharedText } from '../helpers/shared-audio.js'
import { eventually } from '../server/helpers.js'
import { type AudioServer, followSession, run, startAudioServer } from './helpers.js'

const MEASURED_WER = 14 / 22
const MARGIN = 2 / 22

describe.skipIf(
  !sharedAudioAvailable('JFK through the sessions API (test/audio-pipeline/jfk-api.test.ts)', ['jfk.flac', 'jfk.txt']),
)('jfk.flac through the sessions API', () => {
  let t: AudioServer
  beforeAll(async () => {
    t = await startAudioServer()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('upload → 202 → SSE progress up to 100 → processed, WER within the measured level', async () => {
    const started = Date.now()
    const created = await t.upload(sharedPath('jfk.flac'), {
      patient: { name: 'Test Patient', age: 42, gender: 'f', id: 'p-1' },
      visitType: 'consultation',
      urgency: 'same-day',
      language: 'en',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(202)
    // An idle queue: next in line with a worker free waits for nothing.
    expect(created.body).toMatchObject({ status: 'queued', priorityName: 'high', position: 0, estimatedWaitMs: 0 })
    const id = created.body.id as string
    const { frames, ids } = await followSession(
      t.url,
      t.adminKey,
      id,
      (f) => f.status === 'processed' || f.status === 'failed',
    )
    const wall = Date.now() - started
    // The stream never sends less than it sent (documented; `AudioSessions.watch` clamps), so this
    // checks the clamp end to end. The computation behind it is walked unclamped over random
    // interleavings of a run's jobs in src/audio/pipeline/status.test.ts.
    const progress = frames.map((f) => f.progress as number)
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] as number)
    expect(progress.at(-1)).toBe(100)
    expect(frames.at(-1)?.status).toBe('processed')
    // Every status of the run is reported, in order (diarization is faster than pocketsphinx
    // here, so it finishes inside `transcribing`; each frame's `stages` shows it).
    const statuses = frames.map((f) => f.status).filter((s, i, all) => s !== all[i - 1] && s !== 'queued')
    expect(statuses).toEqual(['preprocessing', 'transcribing', 'extracting_notes', 'processed'])
    const diarize = frames.flatMap((f) =>
      ((f as unknown as { stages: { name: string; state: string }[] }).stages ?? []).filter(
        (s) => s.name === 'diarize',
      ),
    )
    expect(diarize.map((s) => s.state)).toContain('done')
    expect(ids.length).toBeGreaterThan(0)

    const { body: session } = await t.request('GET', `/v1/sessions/${id}`)
    expect(session).toMatchObject({ status: 'processed', progress: 100, etaMs: null, filename: 'jfk.flac' })
    expect(session.metadata.patient.name).toBe('Test Patient')
    const text = session.results.transcript.text as string
    const { wer } = wordErrorRate(sharedText('jfk.txt'), text)
    console.info(
      `JFK via API: WER ${wer.toFixed(3)} (measured ${MEASURED_WER.toFixed(3)}), wall ${wall} ms, timings ${JSON.stringify(session.timings)}: "${text}"`,
    )
    expect(wer).toBeLessThanOrEqual(MEASURED_WER + MARGIN + 1e-9)
    expect(session.results.transcript.speakers).toEqual(['SPEAKER_1'])
    expect(session.results.transcript.segments[0].words.length).toBeGreaterThan(0)
    expect(session.results.quality.wordsPerMinute).toBeGreaterThan(60)
    expect(session.results.notes.heuristic).toBe(true)
    // The result says how far to trust it: the engine, its expected error, this recording's flags.
    expect(session.results.reliability).toMatchObject({
      level: 'low',
      engine: 'pocketsphinx',
      diarization: { engine: 'baseline' },
      flags: session.results.quality.flags,
    })
    expect(session.results.reliability.statement).toMatch(
      /^Low reliability: transcribed by pocketsphinx — about half the words wrong on clean speech/,
    )
    expect(session.results.transcript.reliability).toEqual(session.results.reliability)
    expect(session.results.notes.reliability).toContain(session.results.reliability.statement)
    expect(session.results.notes.reliability).toMatch(/rule-based draft/)
    expect(session.timings).toMatchObject({ validate: expect.any(Number), transcription: expect.any(Number) })

    // Formats, with times in the uploaded recording.
    const srt = await t.request('GET', `/v1/sessions/${id}/transcript?format=srt`)
    expect(srt.status).toBe(200)
    expect(srt.headers.get('content-type')).toMatch(/subrip/)
    expect(srt.text).toMatch(/^1\n00:00:0\d,\d{3} --> /)
    const vtt = await t.request('GET', `/v1/sessions/${id}/transcript?format=vtt`)
    expect(vtt.text).toMatch(/^WEBVTT\n\nNOTE Reliability: Low reliability: transcribed by pocketsphinx/)
    const txt = await t.request('GET', `/v1/sessions/${id}/transcript?format=txt`)
    expect(txt.text.split('\n')[0]).toBe(`# Reliability: ${session.results.reliability.statement}`)
    expect(txt.text).toMatch(/SPEAKER_1: /)
    const json = await t.request('GET', `/v1/sessions/${id}/transcript`)
    expect(json.body.words.length).toBeGreaterThan(10)

    // The audio is encrypted at rest and comes back whole.
    const stored = await t.storedFiles()
    expect(stored).toContain(`sessions/${id}/upload.enc`)
    const raw = await readFile(join(t.audioDir, 'sessions', id, 'upload.enc'))
    expect(raw.subarray(0, 8).toString()).toBe('SPOOLAE1')
    expect(raw.includes(Buffer.from('fLaC'))).toBe(false)
    const audio = await fetch(`${t.url}/v1/sessions/${id}/audio`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    })
    expect(audio.status).toBe(200)
    expect(Buffer.from(await audio.arrayBuffer()).equals(await readFile(sharedPath('jfk.flac')))).toBe(true)

    // Patient details never reach the database in plain text.
    const db = await readFile(join(t.dir, 'spool.db'))
    expect(db.includes(Buffer.from('Test Patient'))).toBe(false)

    // Reads of patient data are audited (the transcript as part of viewing the session).
    const wanted = ['sessions.create', 'sessions.get', 'sessions.audio']
    await eventually(async () => {
      const audit = await t.request('GET', '/v1/audit?limit=1000')
      const actions = (audit.body.entries as { action: string; target: string }[])
        .filter((e) => e.target === id)
        .map((e) => e.action)
      return wanted.every((action) => actions.includes(action))
    }, 'audit entries for the session')

    // Another tenant sees nothing of it.
    const other = await t.key('clinic-b', ['admin'])
    expect((await t.request('GET', `/v1/sessions/${id}`, { key: other })).status).toBe(404)
    expect((await t.request('GET', `/v1/sessions/${id}/transcript`, { key: other })).status).toBe(404)
    expect((await t.request('DELETE', `/v1/sessions/${id}`, { key: other })).status).toBe(404)
    expect((await t.request('GET', '/v1/sessions', { key: other })).body.sessions).toEqual([])
    const list = await t.request('GET', '/v1/sessions?status=processed')
    expect(list.body.sessions.map((s: { id: string }) => s.id)).toEqual([id])

    // A finished session cannot be re-prioritised or retried.
    expect((await t.request('PATCH', `/v1/sessions/${id}`, { body: { priority: 'urgent' } })).status).toBe(409)
    expect((await t.request('POST', `/v1/sessions/${id}/retry`)).status).toBe(409)

    // DELETE purges audio, transcript, notes, patient details and jobs.
    const jobIds = Object.values((await t.pipeline.sessions.records.get(id))?.jobs ?? {}).filter(Boolean)
    expect((await t.request('DELETE', `/v1/sessions/${id}`)).status).toBe(204)
    expect((await t.request('GET', `/v1/sessions/${id}`)).status).toBe(404)
    expect(await t.storedFiles()).toEqual([])
    expect(await t.pipeline.sessions.records.results(id)).toBeNull()
    for (const jobId of jobIds) expect(await t.spool.jobs.get(jobId as string)).toBeNull()
  })

  it('on an idle queue, the ETA of a 6 s clip is within 2× of the time it takes (speeds learned from the run before)', async () => {
    // The run above taught this installation its speeds (on this machine, under its load now).
    const dir = await mkdtemp(join(tmpdir(), 'spool-jfk-eta-'))
    try {
      const clip = join(dir, 'jfk-6s.flac')
      await run('ffmpeg', ['-v', 'error', '-i', sharedPath('jfk.flac'), '-t', '6', '-c:a', 'flac', clip])
      const started = Date.now()
      const created = await t.upload(clip, { language: 'en' })
      expect(created.status, JSON.stringify(created.body)).toBe(202)
      // Before: the queue's recent throughput (one session in six minutes) made this minutes.
      expect(created.body.estimatedWaitMs).toBe(0)
      const eta = created.body.etaMs as number
      const done = await t.pipeline.sessions.waitUntilFinished(created.body.id, 'default', 120_000)
      const actual = Date.now() - started
      console.info(`JFK 6 s: ETA ${eta} ms at upload, processed in ${actual} ms (${(eta / actual).toFixed(2)}×)`)
      expect(done.status).toBe('processed')
      expect(eta).toBeLessThanOrEqual(2 * actual)
      expect(eta).toBeGreaterThanOrEqual(actual / 2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
