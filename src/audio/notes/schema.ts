/**
 * The structured notes a session ends with, as a zod schema: the one definition both engines
 * are checked against, and (as JSON Schema) what the `openai` engine asks the model to produce.
 * Every field is required and nullable instead of optional, because OpenAI's strict structured
 * outputs accept no optional properties.
 */
import { z } from 'zod'

export const RISK_TYPES = ['self_harm', 'suicidal_ideation', 'harm_to_others'] as const

export const RiskFlagSchema = z.object({
  type: z.enum(RISK_TYPES),
  severity: z.enum(['low', 'medium', 'high']),
  /** The words that raised the flag. */
  evidence: z.string(),
  speaker: z.string().nullable(),
  /** Seconds into the recording, when known. */
  start: z.number().nullable(),
  /** `lexicon`: the local safety net; `model`: the notes engine. */
  source: z.enum(['lexicon', 'model']),
})

export const SessionNotesSchema = z.object({
  key_topics: z.array(z.string()),
  patient_mood: z.object({
    overall: z.enum(['positive', 'neutral', 'negative', 'mixed', 'unknown']),
    descriptors: z.array(z.string()),
    evidence: z.array(z.string()),
  }),
  strategies: z.array(
    z.object({
      name: z.string(),
      category: z.string(),
      status: z.enum(['suggested', 'practising', 'effective', 'ineffective', 'discussed']),
      context: z.string(),
    }),
  ),
  action_items: z.array(z.object({ task: z.string(), category: z.string(), details: z.string() })),
  risk_flags: z.array(RiskFlagSchema),
  therapist_notes: z.string(),
  patient_summary: z.string(),
})

export type RiskFlag = z.infer<typeof RiskFlagSchema>
export type SessionNotes = z.infer<typeof SessionNotesSchema>

/** What a notes engine returns: the notes and how far to trust them. */
export interface NotesResult {
  notes: SessionNotes
  engine: string
  /** True for rule-based output (`extractive`): a draft for a clinician to check, not a summary. */
  heuristic: boolean
  warnings: string[]
  /** How far to trust these notes: the transcript's reliability statement and the notes engine's caveat. */
  reliability?: string | undefined
}

/**
 * The JSON Schema for structured-output requests.
 *
 * @example
 * body.response_format = { type: 'json_schema', json_schema: { name: 'session_notes', strict: true, schema: sessionNotesJsonSchema() } }
 */
export function sessionNotesJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(SessionNotesSchema) as Record<string, unknown>
  delete schema.$schema
  return schema
}
