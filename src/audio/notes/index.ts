/** Notes engines by name: `extractive` (offline, heuristic) and `openai`. */
import { AudioError } from '../errors.js'
import { createExtractiveNotesEngine } from './extractive.js'
import { createOpenAINotesEngine, type OpenAINotesConfig, openaiNotesConfigFromEnv } from './openai.js'
import type { NotesEngine } from './types.js'

export const NOTES_ENGINES = ['extractive', 'openai'] as const
export type NotesEngineName = (typeof NOTES_ENGINES)[number]

/**
 * @example
 * const engine = createNotesEngine(process.env.SPOOL_OPENAI_BASE_URL ? 'openai' : 'extractive')
 */
export function createNotesEngine(
  name: string,
  config: { openai?: OpenAINotesConfig | undefined } = {},
  env: NodeJS.ProcessEnv = process.env,
): NotesEngine {
  switch (name) {
    case 'extractive':
      return createExtractiveNotesEngine()
    case 'openai': {
      const openai = config.openai ?? openaiNotesConfigFromEnv(env)
      if (!openai)
        throw new AudioError('AUDIO_ENGINE_UNAVAILABLE', 'openai notes: no base URL configured', { engine: 'openai' })
      return createOpenAINotesEngine(openai)
    }
    default:
      throw new AudioError('AUDIO_INVALID_CONFIG', `Unknown notes engine "${name}" (${NOTES_ENGINES.join(', ')})`, {
        field: 'engines.notes',
      })
  }
}
