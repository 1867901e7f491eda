/**
 * The chunk planner: where to cut a long recording so its pieces can be transcribed in parallel
 * and stitched back with exact offsets.
 *
 * Chunks tile the recording: chunk i covers `[start, end)` and chunk i+1 starts where it ends,
 * so every instant belongs to exactly one chunk and a word can only come back from the chunk
 * that holds it. Cuts go in the middle of pauses found by VAD:
 *
 * - a chunk never exceeds `maxChunkSec` (default 30 s: Whisper-family engines see 30 s windows);
 * - among the pauses that would give a chunk between `minChunkSec` and `maxChunkSec`, the latest
 *   one at least `preferredPauseSec` long is used (fewer, fuller chunks), else the longest pause;
 * - only when speech runs past `maxChunkSec` without any pause is a cut made inside speech, at
 *   exactly `maxChunkSec`, and the chunk is marked `forced`.
 *
 * Chunks with no speech at all are marked `speech: false`, so callers may skip transcribing them.
 */
import type { SpeechSegment } from './vad.js'

export interface ChunkPlanOptions {
  /** Default 30. */
  maxChunkSec?: number
  /** A cut is not made earlier than this into a chunk when a later one is possible. Default 5. */
  minChunkSec?: number
  /** Pauses at least this long are preferred cut points. Default 0.3. */
  preferredPauseSec?: number
}

export interface Chunk {
  index: number
  /** Seconds, in the audio the plan was made for. */
  start: number
  end: number
  /** Whether any speech segment overlaps the chunk. */
  speech: boolean
  /** True when the cut at `end` had to go inside speech (no pause within `maxChunkSec`). */
  forced: boolean
}

/**
 * Plans chunks for `durationSec` of audio with the given speech segments (sorted or not).
 *
 * @example
 * const chunks = planChunks(vad.segments, pre.durationSec, { maxChunkSec: 30 })
 * // [{ index: 0, start: 0, end: 27.43, speech: true, forced: false }, …]
 */
export function planChunks(
  speech: readonly SpeechSegment[],
  durationSec: number,
  options: ChunkPlanOptions = {},
): Chunk[] {
  const maxChunk = options.maxChunkSec ?? 30
  const minChunk = Math.min(options.minChunkSec ?? 5, maxChunk / 2)
  const preferredPause = options.preferredPauseSec ?? 0.3
  if (!(maxChunk > 0)) throw new RangeError('maxChunkSec must be > 0')
  const segments = mergeOverlaps(speech, durationSec)

  // Pauses: the gaps between speech segments (and before the first, after the last).
  const pauses: { start: number; end: number }[] = []
  let cursor = 0
  for (const s of segments) {
    if (s.start > cursor) pauses.push({ start: cursor, end: s.start })
    cursor = Math.max(cursor, s.end)
  }
  if (cursor < durationSec) pauses.push({ start: cursor, end: durationSec })

  const chunks: Chunk[] = []
  let start = 0
  let p = 0
  while (durationSec - start > maxChunk) {
    const limit = start + maxChunk
    while (p < pauses.length && (pauses[p]?.end ?? 0) <= start) p++
    // Candidate cuts: the middle of each pause (clipped to the part after `start`) within the limit.
    let best: number | undefined
    let bestPreferred: number | undefined
    let bestLength = 0
    for (let i = p; i < pauses.length; i++) {
      const pause = pauses[i]
      if (!pause || pause.start >= limit) break
      const from = Math.max(pause.start, start)
      const to = Math.min(pause.end, limit)
      if (to <= from) continue
      const cut = (from + to) / 2
      if (cut <= start) continue
      const length = to - from
      if (cut - start >= minChunk && length >= preferredPause) bestPreferred = cut
      if (length > bestLength) {
        bestLength = length
        best = cut
      }
    }
    const cut = bestPreferred ?? best
    const rounded = cut === undefined ? undefined : round(cut)
    const end = rounded !== undefined && rounded > start ? rounded : round(limit)
    chunks.push({ index: chunks.length, start, end, speech: false, forced: rounded === undefined || rounded <= start })
    start = end
  }
  chunks.push({ index: chunks.length, start, end: round(durationSec), speech: false, forced: false })

  let s = 0
  for (const chunk of chunks) {
    while (s < segments.length && (segments[s]?.end ?? 0) <= chunk.start) s++
    const segment = segments[s]
    chunk.speech = segment !== undefined && segment.start < chunk.end
  }
  return chunks
}

function mergeOverlaps(speech: readonly SpeechSegment[], durationSec: number): SpeechSegment[] {
  const merged: SpeechSegment[] = []
  for (const s of [...speech].sort((a, b) => a.start - b.start)) {
    const start = Math.max(0, s.start)
    const end = Math.min(durationSec, s.end)
    if (end <= start) continue
    const last = merged.at(-1)
    if (last && start <= last.end) last.end = Math.max(last.end, end)
    else merged.push({ start, end })
  }
  return merged
}

function round(sec: number): number {
  return Math.round(sec * 1000) / 1000
}
