/**
 * Spool between apps and OpenAI-compatible providers:
 *
 * - the official `openai` SDK, pointed at Spool's base URL with a Spool API key, transcribes
 *   through `POST /v1/audio/transcriptions` in every response format;
 * - against a fake upstream that answers 429 with Retry-After and 503 the way hosted APIs do,
 *   chunk jobs are retried (the 429 without spending an attempt, holding the queue back for the
 *   Retry-After), the `audio.transcription` breaker opens after consecutive failures and closes
 *   after its probe, and the queue's concurrency cap keeps requests within the provider's limit.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SpoolEvent } from '../../src/store/store.js'
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.js'
import { sharedAudioAvailable, sharedPath } from '../helpers/shared-audio.js'
import { type AudioServer, loopAudio, run, startAudioServer } from './helpers.js'

describe.skipIf(!sharedAudioAvailable('OpenAI-compatible paths (test/audio-pipeline/providers.test.ts)', ['jfk.flac']))(
  'OpenAI-compatible providers and clients',
  () => {
    let fake: FakeOpenAI
    let t: AudioServer
    let dir: string
    let short: string
    let long: string
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'spool-audio-providers-'))
      short = join(dir, 'jfk.wav')
      long = join(dir, 'jfk-x6.wav')
      await run('ffmpeg', ['-v', 'error', '-i', sharedPath('jfk.flac'), '-ac', '1', '-ar', '16000', short])
      await loopAudio(sharedPath('jfk.flac'), long, 6)
      fake = await startFakeOpenAI({ maxConcurrent: 2, retryAfter: '1', latency: { baseMs: 60 } })
      t = await startAudioServer({
        audio: {
          engines: { transcription: 'openai' },
          engineConfig: { transcription: { openai: { baseUrl: fake.url, apiKey: 'upstream-key', timeoutMs: 10_000 } } },
          chunkSec: 10,
          limits: { transcription: { concurrency: 2 } },
          breakers: { transcription: { failureThreshold: 2, cooldownMs: 700, successThreshold: 1, halfOpenProbes: 1 } },
          stageRetry: { transcribeChunk: { maxAttempts: 6, backoffMs: 30, maxBackoffMs: 100 } },
        },
      })
    })
    afterAll(async () => {
      await t?.close()
      await fake?.close()
      await rm(dir, { recursive: true, force: true })
    })

    it('the official openai SDK transcribes through Spool in every response format', async () => {
      const client = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.url}/v1`, maxRetries: 0 })
      const verbose = await client.audio.transcriptions.create({
        file: createReadStream(short),
        model: 'whisper-1',
        language: 'en',
        response_format: 'verbose_json',
        timestamp_granularities: ['word', 'segment'],
      })
      expect(verbose.text).toMatch(/^w0 w1 w2/)
      expect(verbose.language).toBe('english')
      expect(verbose.duration).toBeCloseTo(11, 0)
      expect(verbose.words?.length).toBeGreaterThan(10)
      expect(verbose.segments?.length).toBeGreaterThan(0)
      const starts = verbose.words?.map((w) => w.start) ?? []
      expect([...starts].sort((a, b) => a - b)).toEqual(starts)
      const json = await client.audio.transcriptions.create({ file: createReadStream(short), model: 'whisper-1' })
      expect(json.text).toMatch(/^w0 /)
      const text = await client.audio.transcriptions.create({
        file: createReadStream(short),
        model: 'whisper-1',
        response_format: 'text',
      })
      expect(String(text)).toMatch(/^w0 w1/)
      const srt = await client.audio.transcriptions.create({
        file: createReadStream(short),
        model: 'whisper-1',
        response_format: 'srt',
      })
      expect(String(srt)).toMatch(/^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\nw0 /)
      const vtt = await client.audio.transcriptions.create({
        file: createReadStream(short),
        model: 'whisper-1',
        response_format: 'vtt',
      })
      expect(String(vtt)).toMatch(/^WEBVTT\n\n00:00:/)
      // Errors arrive as the SDK's errors, with the status.
      await expect(
        client.audio.transcriptions.create({
          file: new File(['not audio at all'], 'notes.mp3'),
          model: 'whisper-1',
        }),
      ).rejects.toMatchObject({ status: 415 })
      const reader = await t.key('default', ['reader'])
      await expect(
        new OpenAI({ apiKey: reader, baseURL: `${t.url}/v1`, maxRetries: 0 }).audio.transcriptions.create({
          file: createReadStream(short),
          model: 'whisper-1',
        }),
      ).rejects.toMatchObject({ status: 403 })
      // The upstream got Spool's key, not the caller's; nothing of the transcriptions is kept.
      expect((await t.request('GET', '/v1/sessions')).body.sessions).toEqual([])
      expect(await t.storedFiles()).toEqual([])
    })

    it('429 with Retry-After and 503 are retried; the Retry-After holds the queue back', async () => {
      const events: SpoolEvent[] = []
      const sub = t.spool.events.subscribe({}, (event) => events.push(event))
      const before = fake.requests.length
      fake.script({ status: 429, retryAfter: '1' }, { status: 503 })
      const created = await t.upload(long, { engines: { transcription: 'openai' } })
      expect(created.status).toBe(202)
      const done = await t.pipeline.sessions.waitUntilFinished(created.body.id, 'default', 60_000)
      sub.close()
      expect(done.status, done.error ?? '').toBe('processed')
      const requests = fake.requests.slice(before).filter((r) => r.path.includes('transcriptions'))
      expect(requests.map((r) => r.status)).toEqual(expect.arrayContaining([429, 503, 200]))
      const limited = requests.find((r) => r.status === 429)
      const throttled = events.find((e) => e.type === 'queue.throttled' && e.queue === 'audio.transcribe-chunk')
      expect(throttled).toBeDefined()
      // Within the Retry-After (less the clock's granularity) no chunk started, and what reached
      // the provider came from chunks already running when the hold began.
      const holdEnds = (limited?.at ?? 0) + 900
      expect(chunkStarts(events, throttled?.at ?? 0, holdEnds)).toEqual([])
      const during = requests.filter((r) => r.at > (limited?.at ?? 0) + 50 && r.at < holdEnds)
      expect(during.length).toBeLessThanOrEqual(chunksRunningAt(events, throttled?.at ?? 0))
      // The 503 spent an attempt and is in the chunk's history; the 429 gave its attempt back.
      const chunkErrors = events.filter((e) => e.type === 'job.retrying' && e.queue === 'audio.transcribe-chunk')
      expect(chunkErrors.length).toBeGreaterThanOrEqual(2)
      const { body } = await t.request('GET', `/v1/sessions/${created.body.id}`)
      expect(body.results.transcript.text).toMatch(/^w0 /)
      expect(body.chunks.transcription.total).toBeGreaterThan(4)
      expect(fake.peakConcurrent()).toBeLessThanOrEqual(2)
    })

    it('consecutive 503s open the breaker; jobs wait, a probe closes it, the session finishes', async () => {
      const events: SpoolEvent[] = []
      const sub = t.spool.events.subscribe({}, (event) => events.push(event))
      const before = fake.requests.length
      fake.script({ status: 503 }, { status: 503 })
      const created = await t.upload(long, {})
      const done = await t.pipeline.sessions.waitUntilFinished(created.body.id, 'default', 60_000)
      sub.close()
      expect(done.status, done.error ?? '').toBe('processed')
      const breaker = events.filter((e) => e.type.startsWith('breaker.') && e.data.breaker === 'audio.transcription')
      expect(breaker.map((e) => e.type)).toEqual(['breaker.opened', 'breaker.half_open', 'breaker.closed'])
      const opened = breaker[0]?.at ?? 0
      const halfOpen = breaker[1]?.at ?? 0
      expect(halfOpen - opened).toBeGreaterThanOrEqual(650)
      // While open, no chunk job started: the queue bound to the breaker claims nothing. A chunk
      // claimed before it opened may still reach the provider a little later (the breaker stops
      // claims, not jobs already running), so requests meanwhile come only from those.
      expect(chunkStarts(events, opened, halfOpen)).toEqual([])
      const requests = fake.requests.slice(before).filter((r) => r.path.includes('transcriptions'))
      const sentWhileOpen = requests.filter((r) => r.at > opened && r.at < halfOpen)
      expect(sentWhileOpen.length).toBeLessThanOrEqual(chunksRunningAt(events, opened))
      // Jobs waited instead of burning attempts: no chunk failed.
      expect(events.some((e) => e.type === 'job.failed')).toBe(false)
    })

    it('the concurrency cap keeps requests within what the provider accepts', async () => {
      const before = fake.requests.length
      const created = await Promise.all([t.upload(long, {}), t.upload(long, {})])
      const results = await Promise.all(
        created.map((c) => t.pipeline.sessions.waitUntilFinished(c.body.id, 'default', 60_000)),
      )
      expect(results.map((r) => r.status)).toEqual(['processed', 'processed'])
      const requests = fake.requests.slice(before).filter((r) => r.path.includes('transcriptions'))
      expect(requests.length).toBeGreaterThan(8)
      expect(requests.filter((r) => r.status === 429)).toEqual([])
      expect(Math.max(...requests.map((r) => r.concurrent))).toBeLessThanOrEqual(2)
    })
  },
)

const CHUNKS = 'audio.transcribe-chunk'

/** Transcription chunks that started strictly between two times. */
function chunkStarts(events: SpoolEvent[], from: number, to: number): SpoolEvent[] {
  return events.filter((e) => e.type === 'job.active' && e.queue === CHUNKS && e.at > from && e.at < to)
}

/** How many transcription chunks were running at a time (started, not yet finished or retried). */
function chunksRunningAt(events: SpoolEvent[], at: number): number {
  const running = new Set<string | null>()
  for (const e of events) {
    if (e.queue !== CHUNKS || e.at > at) continue
    if (e.type === 'job.active') running.add(e.jobId)
    else if (['job.completed', 'job.retrying', 'job.failed'].includes(e.type)) running.delete(e.jobId)
  }
  return running.size
}
