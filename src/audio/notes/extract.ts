/**
 * The notes stage: run the chosen engine, then always the local risk lexicon, and merge the
 * lexicon's flags into the engine's. The lexicon runs first and its flags survive even when the
 * engine throws — the caller gets them on the error (`notesRiskFlags`) — because a risk phrase
 * must reach the clinician whatever happened to the model.
 */
import type { SpeakerTranscript } from '../merge.js'
import { mergeRiskFlags, scanRisk } from './risk-lexicon.js'
import type { NotesResult, RiskFlag } from './schema.js'
import type { NotesContext, NotesEngine } from './types.js'

/**
 * @example
 * const { notes, heuristic } = await extractNotes(createExtractiveNotesEngine(), speakerTranscript, { visitType: 'follow-up' })
 */
export async function extractNotes(
  engine: NotesEngine,
  transcript: SpeakerTranscript,
  context: NotesContext = {},
): Promise<NotesResult> {
  const lexiconFlags = scanRisk(transcript.segments)
  let result: NotesResult
  try {
    result = await engine.extract(transcript, context)
  } catch (error) {
    if (error && typeof error === 'object') Object.assign(error, { riskFlags: lexiconFlags })
    throw error
  }
  return { ...result, notes: { ...result.notes, risk_flags: mergeRiskFlags(result.notes.risk_flags, lexiconFlags) } }
}

/**
 * The lexicon's flags carried by an error `extractNotes` threw, so a failed notes job can still
 * report them.
 *
 * @example
 * catch (error) { warnings.push(...notesRiskFlags(error).map((f) => `risk: ${f.type}`)) }
 */
export function notesRiskFlags(error: unknown): RiskFlag[] {
  const flags = (error as { riskFlags?: unknown } | null)?.riskFlags
  return Array.isArray(flags) ? (flags as RiskFlag[]) : []
}
