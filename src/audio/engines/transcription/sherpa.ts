/**
 * `sherpa`: offline neural recognition through sherpa-onnx (`sherpa-onnx-node`) with Whisper or
 * Moonshine model files from a folder. Enabled only when the folder holds a complete model;
 * otherwise it reports why and the pipeline uses another engine.
 *
 * Model folder: `SPOOL_SHERPA_ASR_DIR`, else the first of `<models>/sherpa-asr`,
 * `<models>/whisper`, `<models>/moonshine` with a recognisable layout (`models.ts` says where
 * `<models>` is). Recognised layouts, as sherpa-onnx publishes them (int8 files preferred):
 * - Whisper: `*-encoder[.int8].onnx`, `*-decoder[.int8].onnx`, `*-tokens.txt`
 * - Moonshine: `preprocess.onnx`, `encode[.int8].onnx`, `uncached_decode[.int8].onnx`,
 *   `cached_decode[.int8].onnx`, `tokens.txt`
 *
 * Whisper and Moonshine decode at most ~30 s at a time, so the file is cut at VAD speech
 * segments first and each is decoded on its own; segment times are exact, and word times come
 * from token timestamps when the model reports them (neither family does today, so their
 * transcripts are segment-level and merge works per segment).
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { AudioError } from '../../errors.js'
import { modelsDir } from '../../models.js'
import { loadSherpa, type SherpaOfflineRecognizer, type SherpaOfflineResult } from '../../sherpa.js'
import { detectSpeech } from '../../vad.js'
import { readWav } from '../../wav.js'
import type { TranscribeOptions, Transcript, TranscriptionEngine, TranscriptSegment, Word } from './types.js'
import { wordsToText } from './types.js'

export type SherpaAsrModel =
  | { kind: 'whisper'; dir: string; encoder: string; decoder: string; tokens: string }
  | {
      kind: 'moonshine'
      dir: string
      preprocessor: string
      encoder: string
      uncachedDecoder: string
      cachedDecoder: string
      tokens: string
    }

/**
 * Recognises a Whisper or Moonshine layout in `dir`; undefined when incomplete or absent.
 *
 * @example
 * detectSherpaAsrModel('/models/whisper') // { kind: 'whisper', encoder: '…/tiny.en-encoder.int8.onnx', … }
 */
export function detectSherpaAsrModel(dir: string): SherpaAsrModel | undefined {
  if (!existsSync(dir)) return undefined
  const files = readdirSync(dir)
  const pick = (pattern: RegExp) => {
    const matches = files
      .filter((f) => pattern.test(f))
      .sort((a, b) => Number(b.includes('.int8.')) - Number(a.includes('.int8.')))
    return matches[0] === undefined ? undefined : join(dir, matches[0])
  }
  const preprocessor = pick(/^preprocess\.onnx$/)
  if (preprocessor) {
    const encoder = pick(/^encode(\.int8)?\.onnx$/)
    const uncachedDecoder = pick(/^uncached_decode(\.int8)?\.onnx$/)
    const cachedDecoder = pick(/^cached_decode(\.int8)?\.onnx$/)
    const tokens = pick(/^tokens\.txt$/)
    return encoder && uncachedDecoder && cachedDecoder && tokens
      ? { kind: 'moonshine', dir, preprocessor, encoder, uncachedDecoder, cachedDecoder, tokens }
      : undefined
  }
  const encoder = pick(/-encoder(\.int8)?\.onnx$/)
  const decoder = pick(/-decoder(\.int8)?\.onnx$/)
  const tokens = pick(/tokens\.txt$/)
  return encoder && decoder && tokens ? { kind: 'whisper', dir, encoder, decoder, tokens } : undefined
}

export interface SherpaTranscriptionOptions {
  /** The model folder; default: see the module comment. */
  modelDir?: string | undefined
  /** Default 2. */
  numThreads?: number
}

/**
 * Where the model is, or why the engine is unavailable.
 *
 * @example
 * const status = sherpaTranscriptionStatus()
 * if (!status.available) console.log(status.reason)
 */
export function sherpaTranscriptionStatus(
  options: SherpaTranscriptionOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): { available: true; model: SherpaAsrModel } | { available: false; reason: string } {
  const candidates = options.modelDir
    ? [options.modelDir]
    : env.SPOOL_SHERPA_ASR_DIR
      ? [env.SPOOL_SHERPA_ASR_DIR]
      : ['sherpa-asr', 'whisper', 'moonshine'].map((name) => join(modelsDir(env), name))
  for (const dir of candidates) {
    const model = detectSherpaAsrModel(dir)
    if (model) {
      try {
        loadSherpa()
      } catch (error) {
        return { available: false, reason: (error as Error).message }
      }
      return { available: true, model }
    }
  }
  return { available: false, reason: `no Whisper or Moonshine model files in ${candidates.join(', ')}` }
}

/** The recognizer configuration sherpa-onnx expects for a detected model. */
export function sherpaRecognizerConfig(
  model: SherpaAsrModel,
  numThreads: number,
  language?: string,
): Record<string, unknown> {
  const modelConfig =
    model.kind === 'whisper'
      ? { whisper: { encoder: model.encoder, decoder: model.decoder, language: language ?? '', task: 'transcribe' } }
      : {
          moonshine: {
            preprocessor: model.preprocessor,
            encoder: model.encoder,
            uncachedDecoder: model.uncachedDecoder,
            cachedDecoder: model.cachedDecoder,
          },
        }
  return {
    featConfig: { sampleRate: 16000, featureDim: 80 },
    modelConfig: { ...modelConfig, tokens: model.tokens, numThreads, provider: 'cpu', debug: 0 },
  }
}

/**
 * @example
 * const engine = createSherpaTranscriptionEngine() // throws AUDIO_ENGINE_UNAVAILABLE without model files
 */
export function createSherpaTranscriptionEngine(options: SherpaTranscriptionOptions = {}): TranscriptionEngine {
  const status = sherpaTranscriptionStatus(options)
  if (!status.available)
    throw new AudioError('AUDIO_ENGINE_UNAVAILABLE', `sherpa: ${status.reason}`, { engine: 'sherpa' })
  const model = status.model
  const recognizers = new Map<string, Promise<SherpaOfflineRecognizer>>()
  const recognizer = (language: string) => {
    let found = recognizers.get(language)
    if (!found) {
      found = loadSherpa().OfflineRecognizer.createAsync(
        sherpaRecognizerConfig(model, options.numThreads ?? 2, model.kind === 'whisper' ? language : undefined),
      )
      recognizers.set(language, found)
    }
    return found
  }
  return {
    name: 'sherpa',
    async transcribe(wavPath: string, transcribeOptions: TranscribeOptions = {}): Promise<Transcript> {
      const { samples, sampleRate } = await readWav(wavPath)
      const { segments: speech } = await detectSpeech(samples, sampleRate, { signal: transcribeOptions.signal })
      const asr = await recognizer(transcribeOptions.language ?? '')
      const words: Word[] = []
      const segments: TranscriptSegment[] = []
      for (const region of splitLong(speech, 28)) {
        transcribeOptions.signal?.throwIfAborted()
        const stream = asr.createStream()
        stream.acceptWaveform({
          samples: samples.subarray(Math.floor(region.start * sampleRate), Math.ceil(region.end * sampleRate)),
          sampleRate,
        })
        const result = await asr.decodeAsync(stream)
        const text = result.text.trim()
        if (text === '') continue
        segments.push({ start: region.start, end: region.end, text })
        words.push(...tokenWords(result, region.start, region.end))
      }
      return {
        text: words.length > 0 ? wordsToText(words) : segments.map((s) => s.text).join(' '),
        words,
        segments,
        ...(transcribeOptions.language !== undefined && { language: transcribeOptions.language }),
        engine: 'sherpa',
      }
    },
  }
}

/** Words from BPE tokens with timestamps (a token starting with a space or `▁` starts a word). */
export function tokenWords(result: SherpaOfflineResult, offset: number, end: number): Word[] {
  const tokens = result.tokens ?? []
  const times = result.timestamps ?? []
  if (tokens.length === 0 || times.length !== tokens.length) return []
  const words: Word[] = []
  tokens.forEach((token, i) => {
    const startsWord = /^[\s▁]/.test(token) || i === 0
    const piece = token.replace(/^[\s▁]+/, '')
    const at = offset + (times[i] ?? 0)
    const last = words.at(-1)
    if (startsWord || !last) words.push({ text: piece, start: at, end: at })
    else last.text += piece
  })
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as Word
    word.end = Math.max(word.start, Math.min(end, words[i + 1]?.start ?? end))
  }
  return words.filter((w) => w.text !== '')
}

function splitLong(
  speech: readonly { start: number; end: number }[],
  maxSec: number,
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = []
  for (const s of speech) {
    for (let t = s.start; t < s.end; t += maxSec) out.push({ start: t, end: Math.min(s.end, t + maxSec) })
  }
  return out
}
