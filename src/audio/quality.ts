/**
 * Quality checks recorded on every result, cheap signs that a transcript should not be trusted.
 * They run at any length (a junk transcript of 1.5 s of speech is as wrong as one of an hour):
 *
 * - **words per minute** of speech: conversational English runs ~120–180; more words than
 *   250 a minute allows (plus 3, so a short burst is not flagged for one word), or under 40 a
 *   minute over 10 s of speech or more, means invented or missed words; words with no detected
 *   speech at all are flagged too;
 * - **words outside speech**: the share of the transcriber's words that lay outside detected
 *   speech (the merge drops them; many of them means the transcriber was hearing noise);
 * - **Unknown words**: the share of words no speaker turn covers;
 * - **repetition ratio**: the share of word trigrams that repeat an earlier one, and the longest
 *   run of one phrase repeated back to back — Whisper-family models hallucinate loops
 *   ("thank you. thank you. thank you.") on silence and noise;
 * - **speech without words**: the share of VAD speech time no word (± 0.25 s) covers — speech
 *   the transcriber dropped.
 */
import type { Word } from './engines/transcription/types.js'
import type { SpeechSegment } from './vad.js'

export interface QualityReport {
  /** Words per minute of speech (of the whole duration when no VAD segments are given). */
  wordsPerMinute: number
  /** 0–1: repeated trigrams / all trigrams. */
  repetitionRatio: number
  /** Longest number of back-to-back repeats of one 1–4 word phrase (1 = no repeat). */
  longestRepeat: number
  /** 0–1, undefined without VAD segments. */
  speechWithoutWordsRatio: number | undefined
  speechSec: number
  /** Words kept (after gating by speech). */
  words: number
  /** 0–1: of the transcriber's words, those outside detected speech (undefined when not gated). */
  outsideSpeechRatio?: number | undefined
  /** 0–1: words without a speaker (undefined when speakers were not attributed). */
  unknownRatio?: number | undefined
  /** 0–1: words the engine gave a confidence under 0.5 (undefined when it gives none). */
  lowConfidenceRatio?: number | undefined
  /** Human-readable reasons for concern; empty when none. */
  flags: string[]
}

/**
 * @example
 * assessQuality(transcript.words, { speech: vad.segments, durationSec: pre.durationSec })
 * // { wordsPerMinute: 142, repetitionRatio: 0.02, longestRepeat: 1, speechWithoutWordsRatio: 0.08, … }
 */
export function assessQuality(
  words: readonly Pick<Word, 'text' | 'start' | 'end' | 'confidence'>[],
  context: {
    speech?: readonly SpeechSegment[] | undefined
    durationSec: number
    /** What gating by speech did (`mergeSpeakers(…).gating`). */
    gating?: { words: number; dropped: number; keptOutsideSpeech: number } | undefined
    /** Words attributed to no speaker, when speakers were attributed. */
    unknownWords?: number | undefined
  },
): QualityReport {
  const speech = context.speech
  const speechSec = speech ? speech.reduce((sum, s) => sum + Math.max(0, s.end - s.start), 0) : context.durationSec
  const tokens = words.map((w) => w.text.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '')).filter((t) => t !== '')
  const wordsPerMinute = speechSec > 0 ? (tokens.length / speechSec) * 60 : 0

  const trigrams = tokens.slice(2).map((_, i) => `${tokens[i]} ${tokens[i + 1]} ${tokens[i + 2]}`)
  const repetitionRatio = trigrams.length === 0 ? 0 : 1 - new Set(trigrams).size / trigrams.length
  let longestRepeat = tokens.length > 0 ? 1 : 0
  for (let n = 1; n <= 4; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      let count = 1
      while (i + (count + 1) * n <= tokens.length && samePhrase(tokens, i, i + count * n, n)) count++
      longestRepeat = Math.max(longestRepeat, count)
    }
  }

  let speechWithoutWordsRatio: number | undefined
  if (speech && speechSec > 0) {
    const covered = words.map((w) => ({ start: w.start - 0.25, end: w.end + 0.25 })).sort((a, b) => a.start - b.start)
    let uncovered = 0
    let c = 0
    for (const s of [...speech].sort((a, b) => a.start - b.start)) {
      let cursor = s.start
      while (c < covered.length && (covered[c]?.end ?? 0) <= s.start) c++
      for (let i = c; i < covered.length && (covered[i]?.start ?? 0) < s.end; i++) {
        const w = covered[i] as { start: number; end: number }
        if (w.start > cursor) uncovered += Math.min(w.start, s.end) - cursor
        cursor = Math.max(cursor, Math.min(w.end, s.end))
      }
      if (cursor < s.end) uncovered += s.end - cursor
    }
    speechWithoutWordsRatio = uncovered / speechSec
  }

  const flags: string[] = []
  const rate = Math.round(wordsPerMinute)
  if (speechSec === 0 && tokens.length > 0) flags.push(`${tokens.length} word(s) but no detected speech`)
  if (speechSec > 0 && tokens.length > (speechSec / 60) * 250 + 3) {
    flags.push(`${rate} words per minute of speech (speech runs about 100–200): words were invented`)
  }
  if (speechSec >= 10 && wordsPerMinute < 40) flags.push(`only ${rate} words per minute of speech: words were missed`)
  if (repetitionRatio > 0.3) flags.push(`${Math.round(repetitionRatio * 100)} % of phrases repeat`)
  if (longestRepeat >= 4) flags.push(`a phrase repeats ${longestRepeat} times in a row`)
  if (speechWithoutWordsRatio !== undefined && speechWithoutWordsRatio > 0.5) {
    flags.push(`${Math.round(speechWithoutWordsRatio * 100)} % of speech has no words`)
  }
  const gating = context.gating
  const outside = gating ? gating.dropped + gating.keptOutsideSpeech : 0
  const outsideSpeechRatio = gating && gating.words > 0 ? outside / gating.words : undefined
  if (outsideSpeechRatio !== undefined && outside >= 2 && outsideSpeechRatio > 0.1) {
    flags.push(`${Math.round(outsideSpeechRatio * 100)} % of the transcriber's words lay outside detected speech`)
  }
  const unknownRatio =
    context.unknownWords !== undefined && words.length > 0 ? context.unknownWords / words.length : undefined
  if (unknownRatio !== undefined && (context.unknownWords ?? 0) >= 3 && unknownRatio > 0.2) {
    flags.push(`${Math.round(unknownRatio * 100)} % of words have no speaker`)
  }
  const rated = words.filter((w) => w.confidence !== undefined)
  const lowConfidenceRatio =
    rated.length > 0 ? rated.filter((w) => (w.confidence as number) < 0.5).length / rated.length : undefined
  if (lowConfidenceRatio !== undefined && rated.length >= 5 && lowConfidenceRatio > 0.5) {
    flags.push(`the engine is unsure of ${Math.round(lowConfidenceRatio * 100)} % of words`)
  }
  return {
    wordsPerMinute: round(wordsPerMinute),
    repetitionRatio: round(repetitionRatio),
    longestRepeat,
    speechWithoutWordsRatio: speechWithoutWordsRatio === undefined ? undefined : round(speechWithoutWordsRatio),
    speechSec: round(speechSec),
    words: words.length,
    ...(outsideSpeechRatio !== undefined && { outsideSpeechRatio: round(outsideSpeechRatio) }),
    ...(unknownRatio !== undefined && { unknownRatio: round(unknownRatio) }),
    ...(lowConfidenceRatio !== undefined && { lowConfidenceRatio: round(lowConfidenceRatio) }),
    flags,
  }
}

function samePhrase(tokens: readonly string[], a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (tokens[a + k] !== tokens[b + k]) return false
  return true
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}
