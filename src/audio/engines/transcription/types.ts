/**
 * The one interface every transcription engine implements, and the transcript it returns.
 * Times are seconds from the start of the audio the engine was given; the stitcher moves them
 * to the whole recording (`stitch.ts`), and `toOriginalTime` to the upload.
 */

export interface Word {
  text: string
  start: number
  end: number
  /** 0–1 when the engine reports one. */
  confidence?: number | undefined
}

export interface TranscriptSegment {
  start: number
  end: number
  text: string
}

export interface Transcript {
  /** The whole text, words joined with spaces (or the engine's own text). */
  text: string
  /** Empty when the engine gives no word times; merge then works per segment. */
  words: Word[]
  segments: TranscriptSegment[]
  /** The language transcribed (ISO 639-1), when known. */
  language?: string | undefined
  /** The engine's name. */
  engine: string
}

export interface TranscribeOptions {
  /** ISO 639-1 (`en`, `de`, …); engines reject languages they have no model for. */
  language?: string | undefined
  /** Words the engine should expect (names, terms); engines that cannot use it ignore it. */
  prompt?: string | undefined
  signal?: AbortSignal | undefined
}

/**
 * A transcription engine. `transcribe` takes a 16 kHz mono 16-bit PCM WAV path (what
 * `preprocessAudio` writes and `sliceWav` cuts chunks into).
 *
 * Errors follow the engine's classification: `AudioError` / `UnrecoverableError` for input or
 * configuration that will not get better, `RateLimitedError` for a provider's 429 with
 * `Retry-After`, anything else (with `retryable: true` where known) to be retried.
 *
 * @example
 * const engine: TranscriptionEngine = createPocketsphinxEngine()
 * const { words } = await engine.transcribe('chunk-0.wav', { language: 'en', signal })
 */
export interface TranscriptionEngine {
  readonly name: string
  transcribe(wavPath: string, options?: TranscribeOptions): Promise<Transcript>
}

/** Joins word texts into display text. */
export function wordsToText(words: readonly Pick<Word, 'text'>[]): string {
  return words
    .map((w) => w.text)
    .join(' ')
    .replace(/\s+([,.;:!?])/g, '$1')
    .trim()
}
