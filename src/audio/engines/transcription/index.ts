/**
 * Transcription engines by name, with what each needs and whether this machine has it.
 * `pocketsphinx` is the offline default; `sherpa` needs model files; `openai` needs a base URL.
 */
import { AudioError } from '../../errors.js'
import {
  createOpenAITranscriptionEngine,
  type OpenAITranscriptionConfig,
  openaiTranscriptionConfigFromEnv,
} from './openai.js'
import { createPocketsphinxEngine, findPocketsphinx, type PocketsphinxOptions } from './pocketsphinx.js'
import {
  createSherpaTranscriptionEngine,
  type SherpaTranscriptionOptions,
  sherpaTranscriptionStatus,
} from './sherpa.js'
import type { TranscriptionEngine } from './types.js'

export const TRANSCRIPTION_ENGINES = ['pocketsphinx', 'sherpa', 'openai'] as const
export type TranscriptionEngineName = (typeof TRANSCRIPTION_ENGINES)[number]

export interface TranscriptionEngineConfig {
  pocketsphinx?: PocketsphinxOptions
  sherpa?: SherpaTranscriptionOptions
  /** Default: from the environment (`openaiTranscriptionConfigFromEnv`). */
  openai?: OpenAITranscriptionConfig | undefined
}

/**
 * Which engines can run here, and why the others cannot.
 *
 * @example
 * transcriptionEngineStatus() // { pocketsphinx: { available: true }, sherpa: { available: false, reason: 'no Whisper…' }, … }
 */
export function transcriptionEngineStatus(
  config: TranscriptionEngineConfig = {},
  env: NodeJS.ProcessEnv = process.env,
): Record<TranscriptionEngineName, { available: boolean; reason?: string }> {
  const sherpa = sherpaTranscriptionStatus(config.sherpa, env)
  const openai = config.openai ?? openaiTranscriptionConfigFromEnv(env)
  return {
    pocketsphinx: findPocketsphinx(config.pocketsphinx?.binary)
      ? { available: true }
      : { available: false, reason: 'pocketsphinx is not installed' },
    sherpa: sherpa.available ? { available: true } : { available: false, reason: sherpa.reason },
    openai: openai ? { available: true } : { available: false, reason: 'no SPOOL_OPENAI_BASE_URL / OPENAI_BASE_URL' },
  }
}

/**
 * @example
 * const engine = createTranscriptionEngine('pocketsphinx')
 * const engine2 = createTranscriptionEngine('openai', { openai: { baseUrl: 'http://127.0.0.1:9000/v1' } })
 */
export function createTranscriptionEngine(
  name: string,
  config: TranscriptionEngineConfig = {},
  env: NodeJS.ProcessEnv = process.env,
): TranscriptionEngine {
  switch (name) {
    case 'pocketsphinx':
      return createPocketsphinxEngine(config.pocketsphinx)
    case 'sherpa':
      return createSherpaTranscriptionEngine(config.sherpa)
    case 'openai': {
      const openai = config.openai ?? openaiTranscriptionConfigFromEnv(env)
      if (!openai)
        throw new AudioError('AUDIO_ENGINE_UNAVAILABLE', 'openai transcription: no base URL configured', {
          engine: 'openai',
        })
      return createOpenAITranscriptionEngine(openai)
    }
    default:
      throw new AudioError(
        'AUDIO_INVALID_CONFIG',
        `Unknown transcription engine "${name}" (${TRANSCRIPTION_ENGINES.join(', ')})`,
        {
          field: 'engines.transcription',
        },
      )
  }
}
