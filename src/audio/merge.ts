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
 */
import type { Diarization, SpeakerTurn } from './engines/diarization/types.js'
import type { Transcript, TranscriptSegment, Word } from './engines/transcription/types.js'
import { wordsToText } from './engines/transcription/types.js'

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
}

export interface MergeOptions {
  /** A word this close to a turn, but in none, goes to it. Default 1 s. */
  maxGapSec?: number
  /** Without transcript segments, a pause this long starts a new segment. Default 1.5 s. */
  segmentGapSec?: number
  /** Why diarization is missing, when it is (e.g. the last attempt's error). */
  diarizationError?: string | undefined
}

/**
 * @example
 * const result = mergeSpeakers(transcript, diarization)
 * result.segments // [{ start: 0.48, end: 4.5, speaker: 'SPEAKER_1', text: 'Good morning. How have you been…' }, …]
 * mergeSpeakers(transcript, undefined, { diarizationError: 'diarization failed: …' }).speakers // ['Unknown']
 */
export function mergeSpeakers(
  transcript: Transcript,
  diarization: Diarization | undefined | null,
  options: MergeOptions = {},
): SpeakerTranscript {
  const maxGap = options.maxGapSec ?? 1
  const warnings: string[] = [...(diarization?.warnings ?? [])]
  const turns = [...(diarization?.turns ?? [])].sort((a, b) => a.start - b.start || a.end - b.end)
  if (!diarization) warnings.push(options.diarizationError ?? 'no diarization: speakers are Unknown')
  else if (turns.length === 0 && diarization.engine !== 'none')
    warnings.push('the diarizer found no speech turns: speakers are Unknown')

  const attribute = sweeper(turns, maxGap)
  const words: AttributedWord[] = [...transcript.words]
    .sort((a, b) => a.start - b.start)
    .map((w) => ({ ...w, speaker: attribute(w.start, w.end) }))

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
  const speakers = [...new Set((words.length > 0 ? words : segments).map((x) => x.speaker))]
  return {
    text: transcript.text,
    words,
    segments,
    speakers,
    attribution,
    ...(transcript.language !== undefined && { language: transcript.language }),
    engine: transcript.engine,
    warnings,
  }
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
