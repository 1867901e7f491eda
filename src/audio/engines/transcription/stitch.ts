/**
 * Chunked transcription: cut the preprocessed WAV at the planner's chunks, transcribe the pieces
 * in parallel, and stitch the results back with exact offsets.
 *
 * Exactness comes from ownership, not from matching words across boundaries: chunk i owns
 * `[start, end)` and the chunks tile the recording. A piece may be cut with `contextSec` of
 * audio either side (so an engine hears a word's onset), but only words whose midpoint lies in
 * the owned interval are kept. Every word is therefore kept exactly once, whichever side of a
 * boundary the engines heard it from; with cuts in pauses (the planner's default) no word
 * straddles a boundary at all.
 *
 * Times are shifted by the piece's true start (after rounding to whole samples, as `sliceWav`
 * reports it), then made monotonic: an engine that returns a word starting before its
 * predecessor has it moved to the predecessor's start, never reordered across chunks.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Chunk } from '../../chunks.js'
import { mapConcurrent } from '../../pool.js'
import { sliceWav } from '../../wav.js'
import type { TranscribeOptions, Transcript, TranscriptionEngine, TranscriptSegment, Word } from './types.js'
import { wordsToText } from './types.js'

export interface ChunkTranscript {
  /** The interval this chunk owns, seconds in the whole recording. */
  chunk: Pick<Chunk, 'start' | 'end'>
  /** Where the audio the engine heard starts, in the whole recording (≤ `chunk.start`). */
  offset: number
  transcript: Transcript
}

/**
 * Joins per-chunk transcripts into one, keeping each word in the chunk that owns its midpoint.
 *
 * @example
 * const whole = stitchTranscripts([{ chunk: { start: 0, end: 28.4 }, offset: 0, transcript: a },
 *                                  { chunk: { start: 28.4, end: 55 }, offset: 27.4, transcript: b }])
 */
export function stitchTranscripts(parts: readonly ChunkTranscript[], engine?: string): Transcript {
  const ordered = [...parts].sort((a, b) => a.chunk.start - b.chunk.start)
  const words: Word[] = []
  const segments: TranscriptSegment[] = []
  const owns = (part: ChunkTranscript, start: number, end: number) => {
    const mid = (start + end) / 2
    const last = part === ordered.at(-1)
    return mid >= part.chunk.start && (mid < part.chunk.end || (last && mid <= part.chunk.end))
  }
  for (const part of ordered) {
    const local = [...part.transcript.words].sort((a, b) => a.start - b.start)
    for (const word of local) {
      const start = round(word.start + part.offset)
      const end = round(Math.max(word.end, word.start) + part.offset)
      if (!owns(part, start, end)) continue
      const previous = words.at(-1)
      const monotonicStart = previous ? Math.max(start, previous.start) : start
      words.push({
        text: word.text,
        start: monotonicStart,
        end: Math.max(end, monotonicStart),
        ...(word.confidence !== undefined && { confidence: word.confidence }),
      })
    }
    for (const segment of part.transcript.segments) {
      const start = round(segment.start + part.offset)
      const end = round(Math.max(segment.end, segment.start) + part.offset)
      if (!owns(part, start, end)) continue
      // A segment heard partly in another chunk's context keeps only its owned span.
      segments.push({
        start: Math.max(start, part.chunk.start),
        end: Math.min(end, part.chunk.end),
        text: segment.text,
      })
    }
  }
  const language = ordered.find((p) => p.transcript.language)?.transcript.language
  return {
    text: words.length > 0 ? wordsToText(words) : segments.map((s) => s.text).join(' '),
    words,
    segments,
    ...(language !== undefined && { language }),
    engine: engine ?? ordered[0]?.transcript.engine ?? 'unknown',
  }
}

export interface ChunkedTranscribeOptions extends TranscribeOptions {
  /** Pieces transcribed at once. Default 2. */
  concurrency?: number
  /** Audio added either side of each piece for the engine's context; words there are dropped. Default 0. */
  contextSec?: number
  /** Skip chunks the planner found no speech in. Default true. */
  skipSilent?: boolean
  /** Where chunk files are written (a fresh folder inside, removed afterwards). Default: the OS temp folder. */
  workDir?: string
  /** Called as each chunk finishes. */
  onChunk?: (done: number, total: number) => void
}

/**
 * Transcribes `wavPath` chunk by chunk with `engine` and stitches the result.
 *
 * @example
 * const chunks = planChunks(vad.segments, pre.durationSec, { maxChunkSec: 30 })
 * const transcript = await transcribeChunked(engine, pre.path, chunks, { concurrency: 2, signal })
 */
export async function transcribeChunked(
  engine: TranscriptionEngine,
  wavPath: string,
  chunks: readonly Chunk[],
  options: ChunkedTranscribeOptions = {},
): Promise<Transcript> {
  const { concurrency = 2, contextSec = 0, skipSilent = true, signal } = options
  const folder = join(options.workDir ?? tmpdir(), `spool-chunks-${randomUUID()}`)
  await mkdir(folder, { recursive: true })
  const work = chunks.filter((c) => !skipSilent || c.speech)
  let done = 0
  try {
    const parts = await mapConcurrent(work, concurrency, async (chunk) => {
      signal?.throwIfAborted()
      const path = join(folder, `chunk-${chunk.index}.wav`)
      const cut = await sliceWav(wavPath, path, Math.max(0, chunk.start - contextSec), chunk.end + contextSec)
      try {
        const transcript = await engine.transcribe(path, {
          language: options.language,
          prompt: options.prompt,
          signal,
        })
        options.onChunk?.(++done, work.length)
        return { chunk, offset: cut.startSec, transcript }
      } finally {
        await rm(path, { force: true })
      }
    })
    return stitchTranscripts(parts, engine.name)
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
}

function round(sec: number): number {
  return Math.round(sec * 1000) / 1000
}
