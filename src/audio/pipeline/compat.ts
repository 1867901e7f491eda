/**
 * Answers of Spool's OpenAI-compatible `POST /v1/audio/transcriptions`, in each
 * `response_format` the OpenAI API has: `json` (`{ text }`), `text`, `srt`, `vtt` and
 * `verbose_json` (`task`, `language`, `duration`, `text`, `segments`, and `words` when word
 * timestamps were asked for). Subtitles here carry no speaker labels, as OpenAI's do not.
 * (Its error bodies are written by `openAiError` in `ai/errors.ts`, as the gateway's are.)
 */
import type { SpeakerTranscript } from '../merge.js'

export const OPENAI_RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'] as const
export type OpenAiResponseFormat = (typeof OPENAI_RESPONSE_FORMATS)[number]

/**
 * @example
 * const { body, contentType } = openAiTranscription(results.transcript, 'verbose_json', { words: true, segments: true, durationSec: 11 })
 */
export function openAiTranscription(
  transcript: SpeakerTranscript,
  format: OpenAiResponseFormat,
  options: { words: boolean; segments: boolean; durationSec: number; language?: string | undefined },
): { body: string | Record<string, unknown>; contentType: string } {
  const text = transcript.text
  switch (format) {
    case 'json':
      return { body: { text }, contentType: 'application/json; charset=utf-8' }
    case 'text':
      return { body: `${text}\n`, contentType: 'text/plain; charset=utf-8' }
    case 'srt':
      return {
        body: transcript.segments
          .map((s, i) => `${i + 1}\n${clock(s.start, ',')} --> ${clock(s.end, ',')}\n${s.text}\n`)
          .join('\n'),
        contentType: 'text/plain; charset=utf-8',
      }
    case 'vtt':
      return {
        body: `WEBVTT\n\n${transcript.segments.map((s) => `${clock(s.start, '.')} --> ${clock(s.end, '.')}\n${s.text}\n`).join('\n')}`,
        contentType: 'text/plain; charset=utf-8',
      }
    case 'verbose_json':
      return {
        body: {
          task: 'transcribe',
          language: languageName(options.language ?? transcript.language),
          duration: Math.round(options.durationSec * 1000) / 1000,
          text,
          ...(options.segments && {
            segments: transcript.segments.map((s, id) => ({
              id,
              seek: 0,
              start: s.start,
              end: s.end,
              text: ` ${s.text}`,
              tokens: [],
              temperature: 0,
              avg_logprob: 0,
              compression_ratio: 1,
              no_speech_prob: 0,
            })),
          }),
          ...(options.words && {
            words: transcript.words.map((w) => ({ word: w.text, start: w.start, end: w.end })),
          }),
        },
        contentType: 'application/json; charset=utf-8',
      }
  }
}

const LANGUAGES: Record<string, string> = {
  en: 'english',
  de: 'german',
  fr: 'french',
  es: 'spanish',
  it: 'italian',
  nl: 'dutch',
  pt: 'portuguese',
}

/** OpenAI's verbose_json names the language in English words. */
function languageName(code: string | undefined): string {
  if (!code) return 'english'
  return LANGUAGES[code.toLowerCase().split(/[-_]/)[0] ?? ''] ?? code
}

function clock(sec: number, separator: '.' | ','): string {
  const total = Math.max(0, Math.round(sec * 1000))
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${pad(Math.floor(total / 3_600_000))}:${pad(Math.floor(total / 60_000) % 60)}:${pad(Math.floor(total / 1000) % 60)}${separator}${pad(total % 1000, 3)}`
}
