import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type FakeOpenAI, startFakeOpenAI } from '../../../../test/helpers/fake-openai.js'
import { classifyError } from '../../../engine/classify.js'
import { RateLimitedError, UnrecoverableError } from '../../../engine/errors.js'
import { isAudioError } from '../../errors.js'
import { ProviderError } from '../../provider-http.js'
import { writeWav } from '../../wav.js'
import { createOpenAITranscriptionEngine, openaiTranscriptionConfigFromEnv } from './openai.js'

describe('openai transcription engine', () => {
  let dir: string
  let wav: string
  let fake: FakeOpenAI | undefined
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-openai-'))
    wav = join(dir, 'two-seconds.wav')
    await writeWav(wav, new Float32Array(32000), 16000)
  })
  afterEach(async () => {
    await fake?.close()
    fake = undefined
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('sends verbose_json with word and segment granularities, and maps the answer', async () => {
    let fields: Record<string, string[]> = {}
    fake = await startFakeOpenAI({
      transcribe: (request) => {
        fields = request.fields
        expect(request.durationSec).toBeCloseTo(2)
        return {
          text: ' Hello there. ',
          language: 'english',
          words: [
            { word: ' Hello', start: 0.1, end: 0.5 },
            { word: 'there.', start: 0.6, end: 0.55 },
          ],
          segments: [{ id: 0, start: 0.1, end: 1.0, text: ' Hello there.' }],
        }
      },
    })
    const engine = createOpenAITranscriptionEngine({ baseUrl: fake.url, apiKey: 'sk-test', model: 'whisper-large' })
    const transcript = await engine.transcribe(wav, { language: 'en', prompt: 'names: Kenobi' })
    expect(fields).toMatchObject({
      model: ['whisper-large'],
      response_format: ['verbose_json'],
      'timestamp_granularities[]': ['word', 'segment'],
      language: ['en'],
      prompt: ['names: Kenobi'],
    })
    expect(transcript).toEqual({
      text: 'Hello there.',
      words: [
        { text: 'Hello', start: 0.1, end: 0.5 },
        { text: 'there.', start: 0.6, end: 0.6 },
      ],
      segments: [{ start: 0.1, end: 1, text: 'Hello there.' }],
      language: 'en',
      engine: 'openai',
    })
  })

  it('429 with Retry-After becomes RateLimitedError; 503 and a dropped connection are retryable; 400 is final', async () => {
    fake = await startFakeOpenAI()
    const engine = createOpenAITranscriptionEngine({ baseUrl: fake.url })
    fake.script({ status: 429, retryAfter: '3' }, { status: 503, retryAfter: '1' }, { drop: true }, { status: 401 })

    const limited = await engine.transcribe(wav).catch((e: unknown) => e)
    expect(limited).toBeInstanceOf(RateLimitedError)
    expect((limited as RateLimitedError).retryAfterMs).toBe(3000)
    expect(classifyError(limited)).toEqual({ retryable: true, retryAfterMs: 3000, refundAttempt: true })

    const unavailable = await engine.transcribe(wav).catch((e: unknown) => e)
    expect(unavailable).toBeInstanceOf(ProviderError)
    expect(classifyError(unavailable)).toEqual({ retryable: true, retryAfterMs: 1000, refundAttempt: false })

    const dropped = await engine.transcribe(wav).catch((e: unknown) => e)
    expect(dropped).toBeInstanceOf(ProviderError)
    expect(classifyError(dropped).retryable).toBe(true)

    const unauthorised = await engine.transcribe(wav).catch((e: unknown) => e)
    expect(unauthorised).toBeInstanceOf(UnrecoverableError)
    expect(isAudioError(unauthorised, 'AUDIO_ENGINE_REJECTED')).toBe(true)
    expect(classifyError(unauthorised).retryable).toBe(false)

    expect((await engine.transcribe(wav)).words.length).toBe(4)
    expect(fake.requests.map((r) => r.status)).toEqual([429, 503, 'dropped', 401, 200])
  })

  it('times out a slow answer as a retryable error, and honours the caller aborting', async () => {
    fake = await startFakeOpenAI()
    const engine = createOpenAITranscriptionEngine({ baseUrl: fake.url, timeoutMs: 150 })
    fake.script({ delayMs: 5000 })
    const slow = await engine.transcribe(wav).catch((e: unknown) => e)
    expect(slow).toMatchObject({ name: 'ProviderError', code: 'ETIMEDOUT', retryable: true })

    fake.script({ delayMs: 5000 })
    const controller = new AbortController()
    const reason = Object.assign(new Error('cancelled'), { code: 'SPOOL_JOB_CANCELLED' })
    setTimeout(() => controller.abort(reason), 50)
    await expect(engine.transcribe(wav, { signal: controller.signal })).rejects.toBe(reason)
  })

  it('reads its configuration from the environment', () => {
    expect(openaiTranscriptionConfigFromEnv({})).toBeUndefined()
    expect(
      openaiTranscriptionConfigFromEnv({
        OPENAI_BASE_URL: 'http://127.0.0.1:1/v1',
        OPENAI_API_KEY: 'k',
        SPOOL_OPENAI_TIMEOUT_MS: '5000',
      }),
    ).toEqual({ baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'k', model: undefined, timeoutMs: 5000 })
    expect(() =>
      openaiTranscriptionConfigFromEnv({ OPENAI_BASE_URL: 'http://x/v1', SPOOL_OPENAI_TIMEOUT_MS: 'soon' }),
    ).toThrow(/positive/)
    expect(() => createOpenAITranscriptionEngine({ baseUrl: 'not a url' })).toThrow(/Not a URL/)
  })
})

describe('fake OpenAI upstream', () => {
  it('turns away requests beyond its concurrency cap with 429 and Retry-After, and slows with audio length', async () => {
    const fake = await startFakeOpenAI({
      maxConcurrent: 2,
      retryAfter: '2',
      latency: { baseMs: 20, perAudioSecondMs: 100 },
    })
    const dir = await mkdtemp(join(tmpdir(), 'spool-fake-'))
    try {
      const wav = join(dir, 'one-second.wav')
      await writeWav(wav, new Float32Array(16000), 16000)
      const engine = createOpenAITranscriptionEngine({ baseUrl: fake.url })
      const started = Date.now()
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => engine.transcribe(wav)))
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2)
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason)
      expect(rejected).toHaveLength(3)
      for (const error of rejected) expect(error).toMatchObject({ name: 'RateLimitedError', retryAfterMs: 2000 })
      expect(fake.peakConcurrent()).toBe(2)
      expect(Date.now() - started).toBeGreaterThanOrEqual(115)
    } finally {
      await fake.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
