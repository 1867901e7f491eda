/**
 * `openai`: notes from any OpenAI-compatible `POST /v1/chat/completions`, asking for the notes
 * schema as strict JSON-schema structured output. The answer is validated with zod; an answer
 * that is not valid JSON or not the schema is treated as a transient model failure (retried),
 * a refusal as final. Transport failures map as in `provider-http.ts`. Every flag the model
 * raises is marked `source: 'model'`; the lexicon's are added by `extractNotes`.
 */
import { AudioError } from '../errors.js'
import type { SpeakerTranscript } from '../merge.js'
import { ProviderError, providerFetch, readJson } from '../provider-http.js'
import { type NotesResult, SessionNotesSchema, sessionNotesJsonSchema } from './schema.js'
import type { NotesContext, NotesEngine } from './types.js'

export interface OpenAINotesConfig {
  /** Base URL including the version path, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string
  apiKey?: string | undefined
  /** Default `gpt-4o-mini`. */
  model?: string | undefined
  /** Per request. Default 120,000 ms. */
  timeoutMs?: number | undefined
  /** Transcript characters sent at most (the rest is cut, with a warning). Default 200,000. */
  maxTranscriptChars?: number | undefined
}

const SYSTEM_PROMPT = `You write structured clinical notes from a transcript of a therapy or consultation session.
Use only what the transcript says; never invent facts. Speakers are labelled (e.g. SPEAKER_1); infer who is the clinician and who is the patient from the conversation.
key_topics: short noun phrases. patient_mood: overall tone with descriptor words and short quotes as evidence.
strategies: therapeutic strategies discussed, with a category and whether suggested, practising, effective, ineffective or just discussed.
action_items: concrete tasks agreed for after the session. risk_flags: any sign of self-harm, suicidal ideation or harm to others, with the quote as evidence, the speaker, the start time in seconds, and source "model"; an empty list if none.
therapist_notes: a concise clinical note. patient_summary: a plain-language summary addressed to the patient.`

/**
 * Reads `SPOOL_OPENAI_BASE_URL` (or `OPENAI_BASE_URL`), `SPOOL_OPENAI_API_KEY` (or
 * `OPENAI_API_KEY`) and `SPOOL_OPENAI_NOTES_MODEL`; undefined without a base URL.
 *
 * @example
 * const config = openaiNotesConfigFromEnv(process.env)
 */
export function openaiNotesConfigFromEnv(env: NodeJS.ProcessEnv): OpenAINotesConfig | undefined {
  const baseUrl = env.SPOOL_OPENAI_BASE_URL ?? env.OPENAI_BASE_URL
  if (!baseUrl) return undefined
  return { baseUrl, apiKey: env.SPOOL_OPENAI_API_KEY ?? env.OPENAI_API_KEY, model: env.SPOOL_OPENAI_NOTES_MODEL }
}

/**
 * @example
 * const engine = createOpenAINotesEngine({ baseUrl: 'http://127.0.0.1:8000/v1', model: 'gpt-4o-mini' })
 * const { notes } = await engine.extract(speakerTranscript, { signal })
 */
export function createOpenAINotesEngine(config: OpenAINotesConfig): NotesEngine {
  let url: string
  try {
    url = new URL(`${config.baseUrl.replace(/\/+$/, '')}/chat/completions`).toString()
  } catch {
    throw new AudioError('AUDIO_INVALID_CONFIG', `Not a URL: "${config.baseUrl}"`, { field: 'baseUrl' })
  }
  return {
    name: 'openai',
    async extract(transcript: SpeakerTranscript, context: NotesContext = {}): Promise<NotesResult> {
      const warnings: string[] = []
      let lines = transcript.segments.map((s) => `[${s.start.toFixed(1)}s] ${s.speaker}: ${s.text}`).join('\n')
      const limit = config.maxTranscriptChars ?? 200_000
      if (lines.length > limit) {
        lines = lines.slice(0, limit)
        warnings.push(`transcript cut to ${limit} characters for the notes model`)
      }
      const roles = context.roles
        ? `\nKnown roles: therapist ${context.roles.therapist ?? 'unknown'}, patient ${context.roles.patient ?? 'unknown'}.`
        : ''
      const body = {
        model: config.model ?? 'gpt-4o-mini',
        temperature: 0,
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          {
            role: 'user',
            content: `Visit type: ${context.visitType ?? 'unknown'}. Language: ${context.language ?? transcript.language ?? 'unknown'}.${roles}\n\nTranscript:\n${lines}`,
          },
        ],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'session_notes', strict: true, schema: sessionNotesJsonSchema() },
        },
      }
      const request = { provider: 'openai notes', signal: context.signal, timeoutMs: config.timeoutMs ?? 120_000 }
      const response = await providerFetch(
        url,
        {
          method: 'POST',
          body: JSON.stringify(body),
          headers: {
            'content-type': 'application/json',
            ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
          },
        },
        request,
      )
      const json = await readJson<{ choices?: { message?: { content?: string | null; refusal?: string | null } }[] }>(
        response,
        request,
      )
      const message = json.choices?.[0]?.message
      if (message?.refusal) {
        throw new AudioError('AUDIO_ENGINE_REJECTED', `openai notes: the model refused: ${message.refusal}`, {
          provider: 'openai notes',
        })
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(message?.content ?? '')
      } catch (error) {
        throw new ProviderError(
          `openai notes: the model's answer is not JSON: ${(message?.content ?? '').slice(0, 120)}`,
          {
            retryable: true,
            cause: error,
          },
        )
      }
      const result = SessionNotesSchema.safeParse(parsed)
      if (!result.success) {
        throw new ProviderError(
          `openai notes: the model's answer does not match the schema: ${result.error.message.slice(0, 300)}`,
          {
            retryable: true,
          },
        )
      }
      const notes = result.data
      notes.risk_flags = notes.risk_flags.map((f) => ({ ...f, source: 'model' as const }))
      return { notes, engine: 'openai', heuristic: false, warnings }
    },
  }
}
