/**
 * Transcript formats for `GET /v1/sessions/:id/transcript?format=…` and the OpenAI-compatible
 * endpoint: `json` (the whole speaker transcript), `txt` (one line per segment with time and
 * speaker), `srt` and `vtt` (subtitles; VTT carries speakers as voice spans, `<v SPEAKER_1>`).
 * Cues longer than `maxCueSec` are split at word boundaries when word times exist, since
 * players show a cue as one block.
 *
 * The transcript's reliability statement heads the downloads whose format has room for it:
 * `txt` opens with a `# Reliability: …` line, `vtt` with a `NOTE` block (which players do not
 * show), `json` carries the whole `reliability` object. SRT has no comment syntax — any text
 * would be shown as a subtitle — so an SRT file carries none.
 */

import { wordsToText } from './engines/transcription/types.js'
import type { AttributedSegment, SpeakerTranscript } from './merge.js'

export const TRANSCRIPT_FORMATS = ['json', 'txt', 'srt', 'vtt'] as const
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number]

export const TRANSCRIPT_CONTENT_TYPES: Record<TranscriptFormat, string> = {
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
}

export interface FormatOptions {
  /** Added to every time (e.g. the preprocess stage's `trimmedStartSec`). Default 0. */
  offsetSec?: number
  /** Subtitle cues are split to at most this long when word times allow. Default 7 s. */
  maxCueSec?: number
}

/**
 * @example
 * formatTranscript(result, 'vtt')
 * // WEBVTT\n\n1\n00:00:00.478 --> 00:00:04.500\n<v SPEAKER_1>Good morning. How have you been sleeping…
 */
export function formatTranscript(
  transcript: SpeakerTranscript,
  format: TranscriptFormat,
  options: FormatOptions = {},
): string {
  const shifted = shiftTranscript(transcript, options.offsetSec ?? 0)
  switch (format) {
    case 'json':
      return `${JSON.stringify(shifted, null, 2)}\n`
    case 'txt':
      return (shifted.reliability ? `# Reliability: ${shifted.reliability.statement}\n\n` : '').concat(
        shifted.segments
          .map((s) => `[${clock(s.start, '.', false)}] ${s.speaker}: ${s.text}`)
          .join('\n')
          .concat('\n'),
      )
    case 'srt':
      return cues(shifted, options.maxCueSec ?? 7)
        .map((c, i) => `${i + 1}\n${clock(c.start, ',')} --> ${clock(c.end, ',')}\n${c.speaker}: ${c.text}\n`)
        .join('\n')
    case 'vtt':
      return `WEBVTT\n\n${vttNote(shifted)}${cues(shifted, options.maxCueSec ?? 7)
        .map(
          (c, i) =>
            `${i + 1}\n${clock(c.start, '.')} --> ${clock(c.end, '.')}\n<v ${escapeVtt(c.speaker)}>${escapeVtt(c.text)}\n`,
        )
        .join('\n')}`
  }
}

/**
 * Every time in the transcript plus `offsetSec` (to place it in the original upload).
 *
 * @example
 * shiftTranscript(result, pre.trimmedStartSec)
 */
export function shiftTranscript(transcript: SpeakerTranscript, offsetSec: number): SpeakerTranscript {
  if (offsetSec === 0) return transcript
  const shift = (t: number) => Math.round((t + offsetSec) * 1000) / 1000
  return {
    ...transcript,
    words: transcript.words.map((w) => ({ ...w, start: shift(w.start), end: shift(w.end) })),
    segments: transcript.segments.map((s) => ({ ...s, start: shift(s.start), end: shift(s.end) })),
  }
}

function cues(transcript: SpeakerTranscript, maxCueSec: number): AttributedSegment[] {
  const out: AttributedSegment[] = []
  let w = 0
  for (const segment of transcript.segments) {
    if (segment.end - segment.start <= maxCueSec || transcript.words.length === 0) {
      out.push(segment)
      continue
    }
    while (w < transcript.words.length && (transcript.words[w]?.end ?? 0) <= segment.start) w++
    let cue: typeof transcript.words = []
    const flush = () => {
      if (cue.length === 0) return
      out.push({
        start: cue[0]?.start ?? 0,
        end: cue.at(-1)?.end ?? 0,
        text: wordsToText(cue),
        speaker: segment.speaker,
      })
      cue = []
    }
    while (w < transcript.words.length && (transcript.words[w]?.start ?? 0) < segment.end) {
      const word = transcript.words[w++]
      if (!word) break
      if (cue.length > 0 && word.end - (cue[0]?.start ?? 0) > maxCueSec) flush()
      cue.push(word)
    }
    flush()
  }
  return out
}

/** `HH:MM:SS.mmm` (or without milliseconds). */
function clock(sec: number, separator: '.' | ',', millis = true): string {
  const total = Math.max(0, Math.round(sec * 1000))
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  const hms = `${pad(Math.floor(total / 3_600_000))}:${pad(Math.floor(total / 60_000) % 60)}:${pad(Math.floor(total / 1000) % 60)}`
  return millis ? `${hms}${separator}${pad(total % 1000, 3)}` : hms
}

/** A VTT comment may not contain `-->`, nor a blank line. */
function vttNote(transcript: SpeakerTranscript): string {
  const statement = transcript.reliability?.statement
  if (!statement) return ''
  return `NOTE Reliability: ${statement.replace(/-->/g, '->').replace(/\s*\n\s*/g, ' ')}\n\n`
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
