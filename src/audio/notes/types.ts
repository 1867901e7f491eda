/** The interface every notes engine implements. */
import type { SpeakerTranscript } from '../merge.js'
import type { NotesResult } from './schema.js'

export interface NotesContext {
  /** Which diarized speaker is who, when the caller knows (e.g. `{ therapist: 'SPEAKER_1' }`). */
  roles?: { therapist?: string | undefined; patient?: string | undefined } | undefined
  /** e.g. `consultation`, `follow-up`; given to the model as context. */
  visitType?: string | undefined
  language?: string | undefined
  signal?: AbortSignal | undefined
}

/**
 * A notes engine. The result's `risk_flags` are the engine's own; `extractNotes` adds the
 * local lexicon's on top.
 *
 * @example
 * const { notes } = await createExtractiveNotesEngine().extract(speakerTranscript, { visitType: 'follow-up' })
 */
export interface NotesEngine {
  readonly name: string
  extract(transcript: SpeakerTranscript, context?: NotesContext): Promise<NotesResult>
}
