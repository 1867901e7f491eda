/**
 * Quality checks recorded on every result, cheap signs that a transcript should not be trusted:
 *
 * - **words per minute** of speech: conversational English runs ~120–180; far outside
 *   (< 40 or > 250 over at least 30 s of speech) means missed speech or invented words;
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
  /** Human-readable reasons for concern; empty when none. */
  flags: string[]
}

/**
 * @example
 * assessQuality(transcript.words, { speech: vad.segments, durationSec: pre.durationSec })
 * // { wordsPerMinute: 142, repetitionRatio: 0.02, longestRepeat: 1, speechWithoutWordsRatio: 0.08, … }
 */
export function assessQuality(
  words: readonly Pick<Word, 'text' | 'start' | 'end'>[],
  context: { speech?: readonly SpeechSegment[] | undefined; durationSec: number },
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
  if (speechSec >= 30 && wordsPerMinute < 40)
    flags.push(`only ${Math.round(wordsPerMinute)} words per minute of speech`)
  if (speechSec >= 30 && wordsPerMinute > 250) flags.push(`${Math.round(wordsPerMinute)} words per minute of speech`)
  if (repetitionRatio > 0.3) flags.push(`${Math.round(repetitionRatio * 100)} % of phrases repeat`)
  if (longestRepeat >= 4) flags.push(`a phrase repeats ${longestRepeat} times in a row`)
  if (speechWithoutWordsRatio !== undefined && speechWithoutWordsRatio > 0.5) {
    flags.push(`${Math.round(speechWithoutWordsRatio * 100)} % of speech has no words`)
  }
  return {
    wordsPerMinute: round(wordsPerMinute),
    repetitionRatio: round(repetitionRatio),
    longestRepeat,
    speechWithoutWordsRatio: speechWithoutWordsRatio === undefined ? undefined : round(speechWithoutWordsRatio),
    speechSec: round(speechSec),
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
