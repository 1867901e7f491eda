/** Diarization engines by name: `baseline` (offline default), `sherpa` (model files), `none`. */
import { AudioError } from '../../errors.js'
import { type BaselineDiarizerOptions, createBaselineDiarizer } from './baseline.js'
import { createNoDiarizer } from './none.js'
import { createSherpaDiarizer, sherpaDiarizationStatus } from './sherpa.js'
import type { DiarizationEngine } from './types.js'

export const DIARIZATION_ENGINES = ['baseline', 'sherpa', 'none'] as const
export type DiarizationEngineName = (typeof DIARIZATION_ENGINES)[number]

export interface DiarizationEngineConfig {
  baseline?: BaselineDiarizerOptions
  sherpa?: { modelDir?: string; threshold?: number; numThreads?: number }
}

/**
 * @example
 * diarizationEngineStatus().sherpa // { available: false, reason: 'no pyannote segmentation…' }
 */
export function diarizationEngineStatus(
  config: DiarizationEngineConfig = {},
  env: NodeJS.ProcessEnv = process.env,
): Record<DiarizationEngineName, { available: boolean; reason?: string }> {
  const sherpa = sherpaDiarizationStatus(config.sherpa, env)
  return {
    baseline: { available: true },
    sherpa: sherpa.available ? { available: true } : { available: false, reason: sherpa.reason },
    none: { available: true },
  }
}

/**
 * @example
 * const diarizer = createDiarizationEngine('baseline')
 */
export function createDiarizationEngine(name: string, config: DiarizationEngineConfig = {}): DiarizationEngine {
  switch (name) {
    case 'baseline':
      return createBaselineDiarizer(config.baseline)
    case 'sherpa':
      return createSherpaDiarizer(config.sherpa)
    case 'none':
      return createNoDiarizer()
    default:
      throw new AudioError(
        'AUDIO_INVALID_CONFIG',
        `Unknown diarization engine "${name}" (${DIARIZATION_ENGINES.join(', ')})`,
        {
          field: 'engines.diarization',
        },
      )
  }
}
