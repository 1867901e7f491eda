/**
 * `openai`: any OpenAI-compatible `POST /v1/audio/transcriptions` — OpenAI, Groq, a whisper.cpp
 * server, speaches, vLLM. Asks for `verbose_json` with word and segment timestamps; servers
 * that ignore the granularities still return segments, and merge falls back to them.
 * Failures map to the engine's retry semantics in `provider-http.ts` (429 + Retry-After →
 * `RateLimitedError`, 5xx and network → retryable, other 4xx → non-retryable).
 */
import { openAsBlob } from 'node:fs'
import { basename } from 'node:path'
import { AudioError } from '../../errors.js'
import { providerFetch, readJson } from '../../provider-http.js'
import type { TranscribeOptions, Transcript, TranscriptionEngine, TranscriptSegment, Word } from './types.js'
import { wordsToText } from './types.js'

export interface OpenAITranscriptionConfig {
  /** Base URL including the version path, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string
  apiKey?: string | undefined
  /** Default `whisper-1`. */
  model?: string | undefined
  /** Per request. Default 120,000 ms. */
  timeoutMs?: number | undefined
}

interface VerboseJson {
  text?: string
  language?: string
  duration?: number
  words?: { word: string; start: number; end: number; probability?: number }[]
  segments?: { start: number; end: number; text: string }[]
}

/**
 * Reads the engine's settings from the environment: `SPOOL_OPENAI_BASE_URL` (or
 * `OPENAI_BASE_URL`), `SPOOL_OPENAI_API_KEY` (or `OPENAI_API_KEY`), `SPOOL_OPENAI_TRANSCRIBE_MODEL`,
 * `SPOOL_OPENAI_TIMEOUT_MS`. Undefined when no base URL is set.
 *
 * @example
 * const config = openaiTranscriptionConfigFromEnv(process.env)
 * if (config) engines.push(createOpenAITranscriptionEngine(config))
 */
export function openaiTranscriptionConfigFromEnv(env: NodeJS.ProcessEnv): OpenAITranscriptionConfig | undefined {
  const baseUrl = env.SPOOL_OPENAI_BASE_URL ?? env.OPENAI_BASE_URL
  if (!baseUrl) return undefined
  const timeout = env.SPOOL_OPENAI_TIMEOUT_MS === undefined ? undefined : Number(env.SPOOL_OPENAI_TIMEOUT_MS)
  if (timeout !== undefined && !(timeout > 0)) {
    throw new AudioError(
      'AUDIO_INVALID_CONFIG',
      `SPOOL_OPENAI_TIMEOUT_MS must be a positive number, got "${env.SPOOL_OPENAI_TIMEOUT_MS}"`,
    )
  }
  return {
    baseUrl,
    apiKey: env.SPOOL_OPENAI_API_KEY ?? env.OPENAI_API_KEY,
    model: env.SPOOL_OPENAI_TRANSCRIBE_MODEL,
    timeoutMs: timeout,
  }
}

/**
 * @example
 * const engine = createOpenAITranscriptionEngine({ baseUrl: 'http://127.0.0.1:8000/v1', model: 'whisper-1' })
 * const { words } = await engine.transcribe('chunk-0.wav', { language: 'en', signal })
 */
export function createOpenAITranscriptionEngine(config: OpenAITranscriptionConfig): TranscriptionEngine {
  let url: string
  try {
    url = new URL(`${config.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`).toString()
  } catch {
    throw new AudioError('AUDIO_INVALID_CONFIG', `Not a URL: "${config.baseUrl}"`, { field: 'baseUrl' })
  }
  const model = config.model ?? 'whisper-1'
  return {
    name: 'openai',
    async transcribe(wavPath: string, options: TranscribeOptions = {}): Promise<Transcript> {
      const form = new FormData()
      form.append('file', await openAsBlob(wavPath, { type: 'audio/wav' }), basename(wavPath))
      form.append('model', model)
      form.append('response_format', 'verbose_json')
      form.append('timestamp_granularities[]', 'word')
      form.append('timestamp_granularities[]', 'segment')
      if (options.language) form.append('language', options.language)
      if (options.prompt) form.append('prompt', options.prompt)
      const request = {
        provider: 'openai transcription',
        signal: options.signal,
        timeoutMs: config.timeoutMs ?? 120_000,
      }
      const response = await providerFetch(
        url,
        { method: 'POST', body: form, headers: config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {} },
        request,
      )
      return toTranscript(await readJson<VerboseJson>(response, request), options.language)
    },
  }
}

/** Maps a `verbose_json` answer to Spool's transcript. */
export function toTranscript(json: VerboseJson, language?: string): Transcript {
  const words: Word[] = (json.words ?? [])
    .map((w) => ({
      text: w.word.trim(),
      start: w.start,
      end: Math.max(w.end, w.start),
      ...(w.probability !== undefined && { confidence: w.probability }),
    }))
    .filter((w) => w.text !== '')
  const segments: TranscriptSegment[] = (json.segments ?? []).map((s) => ({
    start: s.start,
    end: s.end,
    text: s.text.trim(),
  }))
  const lang = language ?? json.language
  return {
    text: json.text?.trim() ?? wordsToText(words),
    words,
    segments,
    ...(lang !== undefined && { language: lang }),
    engine: 'openai',
  }
}
