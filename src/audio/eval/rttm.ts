/**
 * RTTM (Rich Transcription Time Marked), the NIST format diarization references come in:
 * `SPEAKER <file> <channel> <onset> <duration> <NA> <NA> <speaker> <NA> <NA>`.
 */
import type { SpeakerTurn } from '../engines/diarization/types.js'

/**
 * Reads the `SPEAKER` lines (of one file when `fileId` is given), sorted by start.
 *
 * @example
 * parseRttm('SPEAKER dev00 1 1.440 11.872 <NA> <NA> MEE009 <NA> <NA>')
 * // [{ start: 1.44, end: 13.312, speaker: 'MEE009' }]
 */
export function parseRttm(text: string, fileId?: string): SpeakerTurn[] {
  const turns: SpeakerTurn[] = []
  text.split('\n').forEach((line, index) => {
    const fields = line.trim().split(/\s+/)
    if (fields[0] !== 'SPEAKER') return
    if (fileId !== undefined && fields[1] !== fileId) return
    const onset = Number(fields[3])
    const duration = Number(fields[4])
    const speaker = fields[7]
    if (!Number.isFinite(onset) || !Number.isFinite(duration) || duration < 0 || !speaker) {
      throw new Error(`RTTM line ${index + 1} is malformed: ${line}`)
    }
    turns.push({ start: onset, end: round(onset + duration), speaker })
  })
  return turns.sort((a, b) => a.start - b.start)
}

/**
 * Writes turns as RTTM lines.
 *
 * @example
 * toRttm(diarization.turns, 'session-42')
 */
export function toRttm(turns: readonly SpeakerTurn[], fileId: string): string {
  return turns
    .map(
      (t) =>
        `SPEAKER ${fileId} 1 ${t.start.toFixed(3)} ${(t.end - t.start).toFixed(3)} <NA> <NA> ${t.speaker} <NA> <NA>`,
    )
    .join('\n')
    .concat(turns.length > 0 ? '\n' : '')
}

function round(sec: number): number {
  return Math.round(sec * 1000) / 1000
}
