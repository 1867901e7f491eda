/**
 * `none`: no diarization. Every word is attributed to `Unknown` by the merge, and the result
 * says so in its warnings, exactly as when a real diarizer fails after its retries.
 */
import type { Diarization, DiarizationEngine } from './types.js'

/**
 * @example
 * const { turns, warnings } = await createNoDiarizer().diarize(pre.path) // [], ['diarization is off (engine "none")']
 */
export function createNoDiarizer(): DiarizationEngine {
  return {
    name: 'none',
    async diarize(): Promise<Diarization> {
      return { engine: 'none', turns: [], speakers: [], warnings: ['diarization is off (engine "none")'] }
    },
  }
}
