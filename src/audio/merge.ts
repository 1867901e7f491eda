/**
 * The merge stage: who said each word. Each word goes to the speaker whose turn overlaps it
 * most; a word in a gap between turns goes to the nearest turn within `maxGapSec`, else to
 * `Unknown`. When the transcript has no word times, whole segments are attributed the same way.
 *
 * One linear sweep: words and turns are both sorted by start, and a pointer skips the turns
 * that ended before the current word began — those can overlap no later word either — so the
 * cost is O(words + turns) for ordinary, non-overlapping turns.
 *
 * Output segments follow the transcript's segments, split wherever the speaker changes inside
 * one; without transcript segments, runs of one speaker split at pauses longer than
 * `segmentGapSec`. Without a diarization (engine `none`, or diarization failed after its
 * retries) every speaker is `Unknown` and `warnings` says why.
 *
 * **Words are gated by speech first.** Given the VAD's speech segments, a word whose time lies
 * mostly outside speech (± `speechToleranceSec`) is dropped — transcribers invent words in
 * silence and noise (`Unknown: out` before anyone speaks) — unless the engine is very sure of it
 * (confidence ≥ `keepConfidence`: the VAD can miss quiet speech), in which case it is kept and
 * counted. A word is given to a speaker only where that speaker has a turn (± `maxGapSec`, a
 * boundary tolerance, default 0.2 s); elsewhere it is `Unknown`, and `Unknown` is never listed
 * among the speakers.
 */
import type { Diarization, SpeakerTurn } from './engines/diarization/types.js'
import type { Transcript, TranscriptSegment, Word } from './engines/transcription/types.js'
import { wordsToText } from './engines/transcription/types.js'
import type { Reliability } from './reliability.js'
import type { SpeechSegment } from './vad.js'

export const UNKNOWN_SPEAKER = 'Unknown'

export interface AttributedWord extends Word {
  speaker: string
}

export interface AttributedSegment {
  start: number
  end: number
  text: string
  speaker: string
}

export interface SpeakerTranscript {
  text: string
  words: AttributedWord[]
  segments: AttributedSegment[]
  speakers: string[]
  /** `word` when words carried times, `segment` when only segments did, `none` without diarization. */
  attribution: 'word' | 'segment' | 'none'
  language?: string | undefined
  engine: string
  warnings: string[]
  /** What gating by speech did (present when speech segments were given). */
  gating?: SpeechGating | undefined
  /** How far to trust this transcript (set by the pipeline's merge stage, `reliability.ts`). */
  reliability?: Reliability | undefined
}

export interface SpeechGating {
  /** Words the transcriber returned. */
  words: number
  /** Dropped: mostly outside detected speech and not confidently recognised. */
  dropped: number
  /** Kept although outside detected speech, for the engine's high confidence in them. */
  keptOutsideSpeech: number
}

export interface MergeOptions {
  /** A word this close to a turn, but in none, goes to it (a boundary tolerance). Default 0.2 s. */
  maxGapSec?: number
  /** The VAD's speech segments: words outside them are dropped (see the module comment). */
  speech?: readonly SpeechSegment[] | undefined
  /** Speech segments are widened by this much either side before gating. Default 0.25 s. */
  speechToleranceSec?: number
  /** A word outside speech the engine is at least this sure of is kept. Default 0.95. */
  keepConfidence?: number
  /** Without transcript segments, a pause this long starts a new segment. Default 1.5 s. */
  segmentGapSec?: number
  /** Why diarization is missing, when it is (e.g. the last attempt's error). */
  diarizationError?: string | undefined
}

/**
 * @example
 * const result = mergeSpeakers(transcript, diarization)
 * result.segments // [{ start: 0.48, end: 4.5, speaker: 'SPEAKER_1', text: 'Good morning. How have you been…' }, …]
 * mergeSpeakers(transcript, undefined, { diarizationError: 'diarization failed: …' }).speakers // [] (every word Unknown)
 */
export function mergeSpeakers(
  transcript: Transcript,
  diarization: Diarization | undefined | null,
  options: MergeOptions = {},
): SpeakerTranscript {
  const maxGap = options.maxGapSec ?? 0.2
  const warnings: string[] = [...(diarization?.warnings ?? [])]
  const turns = [...(diarization?.turns ?? [])].sort((a, b) => a.start - b.start || a.end - b.end)
  if (!diarization) warnings.push(options.diarizationError ?? 'no diarization: speakers are Unknown')
  else if (turns.length === 0 && diarization.engine !== 'none')
    warnings.push('the diarizer found no speech turns: speakers are Unknown')

  const attribute = sweeper(turns, maxGap)
  let heard = [...transcript.words].sort((a, b) => a.start - b.start)
  let gating: SpeechGating | undefined
  if (options.speech) {
    const gate = gateBySpeech(heard, options.speech, options.speechToleranceSec ?? 0.25, options.keepConfidence ?? 0.95)
    gating = { words: heard.length, dropped: heard.length - gate.kept.length, keptOutsideSpeech: gate.keptOutside }
    heard = gate.kept
    if (gating.dropped > 0) {
      warnings.push(`${gating.dropped} of ${gating.words} word(s) lay outside detected speech and were dropped`)
    }
  }
  const words: AttributedWord[] = heard.map((w) => ({ ...w, speaker: attribute(w.start, w.end) }))

  let segments: AttributedSegment[]
  let attribution: SpeakerTranscript['attribution']
  if (words.length > 0) {
    attribution = turns.length > 0 ? 'word' : 'none'
    segments =
      transcript.segments.length > 0
        ? splitSegments(transcript.segments, words)
        : groupWords(words, options.segmentGapSec ?? 1.5)
  } else {
    attribution = turns.length > 0 ? 'segment' : 'none'
    const attributeSegment = sweeper(turns, maxGap)
    segments = [...transcript.segments]
      .sort((a, b) => a.start - b.start)
      .map((s) => ({ ...s, speaker: attributeSegment(s.start, s.end) }))
  }
  const speakers = [...new Set((words.length > 0 ? words : segments).map((x) => x.speaker))].filter(
    (speaker) => speaker !== UNKNOWN_SPEAKER,
  )
  return {
    text: gating ? wordsToText(words) : transcript.text,
    words,
    segments,
    speakers,
    attribution,
    ...(transcript.language !== undefined && { language: transcript.language }),
    engine: transcript.engine,
    warnings,
    ...(gating !== undefined && { gating }),
  }
}

/**
 * Keeps the words whose time lies at least half inside speech (widened by `toleranceSec`), and
 * those outside that the engine is at least `keepConfidence` sure of. Both lists sorted by start.
 */
function gateBySpeech(
  words: readonly Word[],
  speech: readonly SpeechSegment[],
  toleranceSec: number,
  keepConfidence: number,
): { kept: Word[]; keptOutside: number } {
  const spans: [number, number][] = [...speech]
    .sort((a, b) => a.start - b.start)
    .map((s) => [s.start - toleranceSec, s.end + toleranceSec])
  const kept: Word[] = []
  let keptOutside = 0
  let first = 0
  for (const word of words) {
    while (first < spans.length && (spans[first] as [number, number])[1] <= word.start) first++
    const length = Math.max(word.end - word.start, 1e-3)
    let inside = 0
    for (let i = first; i < spans.length && (spans[i] as [number, number])[0] < word.start + length; i++) {
      const [from, to] = spans[i] as [number, number]
      inside += Math.max(0, Math.min(to, word.start + length) - Math.max(from, word.start))
    }
    if (inside >= length / 2) kept.push(word)
    else if (word.confidence !== undefined && word.confidence >= keepConfidence) {
      kept.push(word)
      keptOutside++
    }
  }
  return { kept, keptOutside }
}

/**
 * A stateful attributor for intervals given in order of start: returns the speaker of the turn
 * overlapping `[start, end)` most, else the nearest within `maxGap`, else `Unknown`.
 */
function sweeper(turns: readonly SpeakerTurn[], maxGap: number): (start: number, end: number) => string {
  let first = 0
  let lastEnded: SpeakerTurn | undefined
  return (start, end) => {
    while (first < turns.length && (turns[first] as SpeakerTurn).end <= start) {
      const turn = turns[first] as SpeakerTurn
      if (!lastEnded || turn.end > lastEnded.end) lastEnded = turn
      first++
    }
    // A zero-length word still sits inside a turn: give it a microsecond.
    const until = Math.max(end, start + 1e-6)
    let best: SpeakerTurn | undefined
    let bestOverlap = 0
    let next: SpeakerTurn | undefined
    for (let i = first; i < turns.length; i++) {
      const turn = turns[i] as SpeakerTurn
      if (turn.start >= until) {
        next = turn
        break
      }
      const overlap = Math.min(until, turn.end) - Math.max(start, turn.start)
      if (overlap > bestOverlap) {
        best = turn
        bestOverlap = overlap
      }
    }
    if (best) return best.speaker
    const before = lastEnded && start - lastEnded.end <= maxGap ? start - lastEnded.end : Number.POSITIVE_INFINITY
    const after = next && next.start - until <= maxGap ? next.start - until : Number.POSITIVE_INFINITY
    if (before === Number.POSITIVE_INFINITY && after === Number.POSITIVE_INFINITY) return UNKNOWN_SPEAKER
    return before <= after ? (lastEnded as SpeakerTurn).speaker : (next as SpeakerTurn).speaker
  }
}

/** The transcript's segments, each split where the speaker of its words changes. */
function splitSegments(segments: readonly TranscriptSegment[], words: readonly AttributedWord[]): AttributedSegment[] {
  const out: AttributedSegment[] = []
  const ordered = [...segments].sort((a, b) => a.start - b.start)
  let w = 0
  ordered.forEach((_, index) => {
    const nextStart = ordered[index + 1]?.start ?? Number.POSITIVE_INFINITY
    const mine: AttributedWord[] = []
    // A word belongs to the last segment that starts at or before its midpoint.
    while (
      w < words.length &&
      ((words[w] as AttributedWord).start + (words[w] as AttributedWord).end) / 2 < nextStart
    ) {
      mine.push(words[w] as AttributedWord)
      w++
    }
    if (mine.length === 0) return
    out.push(...groupWords(mine, Number.POSITIVE_INFINITY))
  })
  if (w < words.length) out.push(...groupWords(words.slice(w), Number.POSITIVE_INFINITY))
  return out
}

/** Runs of one speaker, split also at pauses of `gapSec` or more. */
function groupWords(words: readonly AttributedWord[], gapSec: number): AttributedSegment[] {
  const out: { speaker: string; words: AttributedWord[] }[] = []
  for (const word of words) {
    const last = out.at(-1)
    const previous = last?.words.at(-1)
    if (last && previous && last.speaker === word.speaker && word.start - previous.end < gapSec) last.words.push(word)
    else out.push({ speaker: word.speaker, words: [word] })
  }
  return out.map((g) => ({
    start: g.words[0]?.start ?? 0,
    end: Math.max(...g.words.map((w) => w.end)),
    text: wordsToText(g.words),
    speaker: g.speaker,
  }))
}
