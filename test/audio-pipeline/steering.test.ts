/**
 * Steering sessions through the API: queued sessions answer their position, a re-prioritised
 * session's waiting jobs take the new priority, and retention deletes the audio of finished
 * sessions while their transcripts stay.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Transcript } from '../../src/audio/engines/transcription/types.js'
import { registerAudioEngine, unregisterAudioEngine } from '../../src/audio/pipeline/index.js'
import { readWavInfo } from '../../src/audio/wav.js'
import { sharedAudioAvailable, sharedPath } from '../helpers/shared-audio.js'
import { type AudioServer, run, startAudioServer } from './helpers.js'

async function words(path: string): Promise<Transcript> {
  const { durationSec } = await readWavInfo(path)
  const list = Array.from({ length: Math.floor(durationSec) }, (_, i) => ({ text: `w${i}`, start: i, end: i + 0.5 }))
  return { text: list.map((w) => w.text).join(' '), words: list, segments: [], engine: 'steer-words' }
}

describe.skipIf(!sharedAudioAvailable('session steering (test/audio-pipeline/steering.test.ts)', ['jfk.flac']))(
  'steering sessions',
  () => {
    let t: AudioServer
    let dir: string
    let wav: string
    beforeAll(async () => {
      registerAudioEngine('transcription', 'steer-words', () => ({ name: 'steer-words', transcribe: words }))
      dir = await mkdtemp(join(tmpdir(), 'spool-audio-steer-'))
      wav = join(dir, 'jfk.wav')
      await run('ffmpeg', ['-v', 'error', '-i', sharedPath('jfk.flac'), '-ac', '1', '-ar', '16000', wav])
      t = await startAudioServer({ audio: { engines: { transcription: 'steer-words' }, audioRetentionMs: 3_600_000 } })
    })
    afterAll(async () => {
      await t?.close()
      await rm(dir, { recursive: true, force: true })
      unregisterAudioEngine('transcription', 'steer-words')
    })

    it('queued sessions have positions; a new priority reaches their waiting jobs', async () => {
      await t.spool.queues.pause('audio.validate')
      const first = await t.upload(wav, { urgency: 'routine' })
      const second = await t.upload(wav, { urgency: 'routine' })
      expect(first.body).toMatchObject({ status: 'queued', priorityName: 'low', position: 0 })
      expect(second.body).toMatchObject({ status: 'queued', position: 1 })
      const listed = await t.request('GET', '/v1/sessions?status=queued&urgency=routine')
      expect(listed.body.sessions.map((s: { id: string }) => s.id)).toEqual([second.body.id, first.body.id])

      const changed = await t.request('PATCH', `/v1/sessions/${second.body.id}`, { body: { priority: 'urgent' } })
      expect(changed.status).toBe(200)
      expect(changed.body).toMatchObject({ priority: 0, priorityName: 'urgent', priorityReason: 'changed' })
      const record = await t.pipeline.sessions.records.get(second.body.id)
      for (const id of Object.values(record?.jobs ?? {})) if (id) expect((await t.spool.jobs.get(id))?.priority).toBe(0)
      const view = await t.request('GET', `/v1/sessions/${second.body.id}`)
      expect(view.body.position).toBe(0) // now ahead of the first

      await t.spool.queues.resume('audio.validate')
      for (const id of [first.body.id, second.body.id]) {
        expect((await t.pipeline.sessions.waitUntilFinished(id, 'default', 60_000)).status).toBe('processed')
      }
    })

    it('retention deletes the audio of finished sessions; the transcript stays', async () => {
      const created = await t.upload(wav, {})
      await t.pipeline.sessions.waitUntilFinished(created.body.id, 'default', 60_000)
      const id = created.body.id as string
      expect(await t.storedFiles()).toContain(`sessions/${id}/upload.enc`)
      expect(await t.pipeline.sessions.sweepRetention(Date.now())).toMatchObject({ audioDeleted: 0 })
      const swept = await t.pipeline.sessions.sweepRetention(Date.now() + 2 * 3_600_000)
      expect(swept.audioDeleted).toBeGreaterThanOrEqual(1)
      expect((await t.storedFiles()).filter((f) => f.includes(id))).toEqual([])
      const audio = await t.request('GET', `/v1/sessions/${id}/audio`)
      expect(audio.status).toBe(410)
      expect(audio.body.code).toBe('SESSION_AUDIO_GONE')
      const session = await t.request('GET', `/v1/sessions/${id}`)
      expect(session.body.audio.deletedAt).not.toBeNull()
      // The session knows how long its engines ran, and how long nothing did.
      const { busy, idle } = session.body.results.engineMs
      expect(busy).toBeGreaterThan(0)
      expect(busy + idle).toBe(session.body.timings.total)
      expect((await t.request('GET', `/v1/sessions/${id}/transcript?format=txt`)).text).toMatch(/w0 w1/)
      // The sweep is an ordinary schedule on an ordinary queue.
      expect(await t.spool.schedules.get('audio.retention')).toMatchObject({ queue: 'audio.retention' })
    })
  },
)
