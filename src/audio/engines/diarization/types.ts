/** The interface every diarization engine implements, and the speaker turns it returns. */

export interface SpeakerTurn {
  /** Seconds. */
  start: number
  end: number
  /** `SPEAKER_1`, `SPEAKER_2`, … numbered by first appearance. */
  speaker: string
}

export interface Diarization {
  engine: string
  /** Sorted by start; a speaker's turns never overlap each other. */
  turns: SpeakerTurn[]
  speakers: string[]
  /** Why the result is degraded, if it is (e.g. the `none` engine). */
  warnings: string[]
}

export interface DiarizeOptions {
  /** The number of speakers when known (the session's "expected speaker count"). */
  numSpeakers?: number | undefined
  minSpeakers?: number | undefined
  maxSpeakers?: number | undefined
  signal?: AbortSignal | undefined
}

/**
 * A diarization engine: takes a 16 kHz mono 16-bit PCM WAV path.
 *
 * @example
 * const { turns } = await createBaselineDiarizer().diarize(pre.path, { numSpeakers: 2, signal })
 */
export interface DiarizationEngine {
  readonly name: string
  diarize(wavPath: string, options?: DiarizeOptions): Promise<Diarization>
}

/** `SPEAKER_<n>` for a 0-based cluster label. */
export function speakerName(label: number): string {
  return `SPEAKER_${label + 1}`
}
