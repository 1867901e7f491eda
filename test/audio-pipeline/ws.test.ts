/**
 * Session progress over the WebSocket (`/v1/ws`, `{ type: 'subscribe', session }`): the same
 * frames as the SSE stream — status, stage, progress up to 100, no results or patient details —
 * and the same tenancy: another tenant's subscription is `SESSION_NOT_FOUND` and receives
 * nothing. Real ffmpeg and VAD; a fast transcriber registered for the test, no diarization.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { Transcript } from '../../src/audio/engines/transcription/types.js'
import { registerAudioEngine, unregisterAudioEngine } from '../../src/audio/pipeline/index.js'
import { readWavInfo } from '../../src/audio/wav.js'
import { sharedAudioAvailable, sharedPath } from '../helpers/shared-audio.js'
import { eventually } from '../server/helpers.js'
import { type AudioServer, followSession, type SessionFrame, startAudioServer } from './helpers.js'

type Message = { type: string; id?: string; [key: string]: unknown }

async function open(url: string, key: string): Promise<{ ws: WebSocket; messages: Message[] }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${key}` } })
  const messages: Message[] = []
  ws.on('message', (data) => messages.push(JSON.parse(String(data))))
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  return { ws, messages }
}

describe.skipIf(
  !sharedAudioAvailable('session events over the WebSocket (test/audio-pipeline/ws.test.ts)', ['jfk.flac']),
)('session events over the WebSocket', () => {
  let t: AudioServer
  beforeAll(async () => {
    registerAudioEngine('transcription', 'test-ws-words', () => ({
      name: 'test-ws-words',
      async transcribe(path): Promise<Transcript> {
        const { durationSec } = await readWavInfo(path)
        const words = Array.from({ length: Math.floor(durationSec) }, (_, i) => ({
          text: `w${i}`,
          start: i,
          end: i + 0.5,
        }))
        return { text: words.map((w) => w.text).join(' '), words, segments: [], engine: 'test-ws-words' }
      },
    }))
    t = await startAudioServer({ audio: { engines: { transcription: 'test-ws-words', diarization: 'none' } } })
  })
  afterAll(async () => {
    await t?.close()
    unregisterAudioEngine('transcription', 'test-ws-words')
  })

  it('streams the session as SSE does, up to processed at 100, and only to its tenant', async () => {
    const created = await t.upload(sharedPath('jfk.flac'), { patient: { name: 'Wanda Socket' }, urgency: 'routine' })
    expect(created.status, JSON.stringify(created.body)).toBe(202)
    const id = created.body.id as string

    const mine = await open(t.url, t.adminKey)
    const other = await open(t.url, await t.key('clinic-b', ['admin']))
    other.ws.send(JSON.stringify({ type: 'subscribe', id: 'theirs', session: id }))
    mine.ws.send(JSON.stringify({ type: 'subscribe', id: 's', session: id }))
    const sse = followSession(t.url, t.adminKey, id, (f) => f.status === 'processed' || f.status === 'failed')

    const refused = await eventually(() => other.messages.find((m) => m.type === 'error'), 'an error for clinic-b')
    expect(refused).toMatchObject({ id: 'theirs', code: 'SESSION_NOT_FOUND', field: 'id' })

    await eventually(
      () => mine.messages.some((m) => m.type === 'session' && (m.session as SessionFrame).status === 'processed'),
      'the processed frame over the WebSocket',
      60_000,
    )
    expect(mine.messages[0]).toEqual({ type: 'subscribed', id: 's' })
    const frames = mine.messages.filter((m) => m.type === 'session')
    expect(frames.every((m) => m.id === 's')).toBe(true)
    const sessions = frames.map((m) => m.session as SessionFrame & Record<string, unknown>)
    const progress = sessions.map((f) => f.progress)
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] as number)
    expect(progress.at(-1)).toBe(100)
    expect(sessions.length).toBeGreaterThan(1)
    expect(sessions.every((f) => !('results' in f) && !('metadata' in f))).toBe(true)
    expect(JSON.stringify(frames)).not.toContain('Wanda')
    // Frames after the first name the engine event that caused them, for `afterId` to resume from.
    expect(frames.slice(1).every((m) => typeof m.eventId === 'number')).toBe(true)

    // The SSE stream ends in the same state.
    const { frames: sseFrames } = await sse
    expect(sseFrames.at(-1)).toMatchObject({ status: 'processed', progress: 100 })
    expect(sessions.at(-1)).toMatchObject({ status: 'processed', progress: 100, stage: sseFrames.at(-1)?.stage })

    // clinic-b never got a frame; bad subscriptions are refused with a field.
    expect(other.messages.filter((m) => m.type === 'session')).toEqual([])
    mine.ws.send(JSON.stringify({ type: 'subscribe', id: 'bad', session: 'not-a-uuid' }))
    mine.ws.send(JSON.stringify({ type: 'subscribe', id: 'both', session: id, queue: 'audio.validate' }))
    mine.ws.send(JSON.stringify({ type: 'subscribe', id: 's', session: id }))
    const errors = await eventually(() => {
      const found = mine.messages.filter((m) => m.type === 'error')
      return found.length >= 3 && found
    }, 'three errors')
    expect(errors.map((m) => [m.code, m.field])).toEqual([
      ['SPOOL_INVALID_REQUEST', 'session'],
      ['SPOOL_INVALID_REQUEST', 'session'],
      ['SPOOL_INVALID_REQUEST', 'id'],
    ])

    // A new subscription gets the session as it is at once.
    mine.ws.send(JSON.stringify({ type: 'unsubscribe', id: 's' }))
    await eventually(() => mine.messages.some((m) => m.type === 'unsubscribed'), 'unsubscribed')
    mine.ws.send(JSON.stringify({ type: 'subscribe', id: 'again', session: id }))
    const again = await eventually(
      () => mine.messages.find((m) => m.type === 'session' && m.id === 'again'),
      'a frame for the new subscription',
    )
    expect(again.session).toMatchObject({ status: 'processed', progress: 100 })
    mine.ws.close()
    other.ws.close()
  })
})
