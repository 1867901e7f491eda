/**
 * `sherpa`: neural diarization through sherpa-onnx — pyannote's segmentation model finds who
 * speaks when within 10 s windows (overlaps included), a speaker-embedding model (3D-Speaker,
 * NeMo TitaNet, WeSpeaker…) fingerprints each piece, and sherpa-onnx clusters them. Enabled
 * only when both model files are present:
 *
 * - folder: `SPOOL_SHERPA_DIARIZATION_DIR`, else `<models>/speaker-diarization` (`models.ts`);
 * - segmentation: `segmentation.onnx`, or `model[.int8].onnx` inside a sub-folder whose name
 *   contains `segmentation` (as sherpa-onnx publishes `sherpa-onnx-pyannote-segmentation-3-0`);
 * - embedding: `embedding.onnx`, or a `.onnx` file whose name names a speaker model
 *   (`speaker`, `titanet`, `eres2net`, `campplus`, `wespeaker`, `ecapa`).
 *
 * sherpa-onnx's `process` is synchronous and holds the thread (~0.05–0.1 × real time on two
 * cores), so run this engine in its own worker process or accept that the event loop pauses.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { AudioError } from '../../errors.js'
import { modelsDir } from '../../models.js'
import { loadSherpa } from '../../sherpa.js'
import { readWav } from '../../wav.js'
import {
  type Diarization,
  type DiarizationEngine,
  type DiarizeOptions,
  type SpeakerTurn,
  speakerName,
} from './types.js'

export interface SherpaDiarizationModels {
  segmentation: string
  embedding: string
}

/**
 * Finds the two model files in `dir`; undefined when either is missing.
 *
 * @example
 * detectSherpaDiarizationModels('/models/speaker-diarization')
 * // { segmentation: '…/sherpa-onnx-pyannote-segmentation-3-0/model.onnx', embedding: '…/nemo_en_titanet_small.onnx' }
 */
export function detectSherpaDiarizationModels(dir: string): SherpaDiarizationModels | undefined {
  if (!existsSync(dir)) return undefined
  const entries = readdirSync(dir, { withFileTypes: true })
  let segmentation = existsSync(join(dir, 'segmentation.onnx')) ? join(dir, 'segmentation.onnx') : undefined
  for (const entry of entries) {
    if (segmentation || !entry.isDirectory() || !/segmentation/i.test(entry.name)) continue
    for (const name of ['model.int8.onnx', 'model.onnx']) {
      const candidate = join(dir, entry.name, name)
      if (existsSync(candidate)) {
        segmentation = candidate
        break
      }
    }
  }
  const embeddingFile = existsSync(join(dir, 'embedding.onnx'))
    ? 'embedding.onnx'
    : entries.find(
        (e) =>
          e.isFile() && /\.onnx$/.test(e.name) && /speaker|titanet|eres2net|campplus|wespeaker|ecapa/i.test(e.name),
      )?.name
  return segmentation && embeddingFile ? { segmentation, embedding: join(dir, embeddingFile) } : undefined
}

/**
 * Where the models are, or why the engine is unavailable.
 *
 * @example
 * const status = sherpaDiarizationStatus()
 * if (!status.available) warnings.push(status.reason)
 */
export function sherpaDiarizationStatus(
  options: { modelDir?: string | undefined } = {},
  env: NodeJS.ProcessEnv = process.env,
): { available: true; models: SherpaDiarizationModels } | { available: false; reason: string } {
  const dir = options.modelDir ?? env.SPOOL_SHERPA_DIARIZATION_DIR ?? join(modelsDir(env), 'speaker-diarization')
  const models = detectSherpaDiarizationModels(dir)
  if (!models)
    return { available: false, reason: `no pyannote segmentation and speaker-embedding model files in ${dir}` }
  try {
    loadSherpa()
  } catch (error) {
    return { available: false, reason: (error as Error).message }
  }
  return { available: true, models }
}

/** The configuration sherpa-onnx's `OfflineSpeakerDiarization` expects. */
export function sherpaDiarizationConfig(
  models: SherpaDiarizationModels,
  options: { numSpeakers?: number | undefined; threshold?: number; numThreads?: number } = {},
): Record<string, unknown> {
  return {
    segmentation: { pyannote: { model: models.segmentation }, numThreads: options.numThreads ?? 2, debug: 0 },
    embedding: { model: models.embedding, numThreads: options.numThreads ?? 2, debug: 0 },
    // numClusters −1: estimate with the distance threshold.
    clustering: { numClusters: options.numSpeakers ?? -1, threshold: options.threshold ?? 0.5 },
    minDurationOn: 0.2,
    minDurationOff: 0.5,
  }
}

/**
 * @example
 * const diarizer = createSherpaDiarizer() // throws AUDIO_ENGINE_UNAVAILABLE without model files
 * const { turns } = await diarizer.diarize(pre.path, { numSpeakers: 2 })
 */
export function createSherpaDiarizer(
  options: { modelDir?: string; threshold?: number; numThreads?: number } = {},
): DiarizationEngine {
  const status = sherpaDiarizationStatus(options)
  if (!status.available)
    throw new AudioError('AUDIO_ENGINE_UNAVAILABLE', `sherpa diarization: ${status.reason}`, { engine: 'sherpa' })
  const { models } = status
  return {
    name: 'sherpa',
    async diarize(wavPath: string, diarizeOptions: DiarizeOptions = {}): Promise<Diarization> {
      const { samples } = await readWav(wavPath)
      diarizeOptions.signal?.throwIfAborted()
      const sherpa = loadSherpa()
      const engine = new sherpa.OfflineSpeakerDiarization(
        sherpaDiarizationConfig(models, {
          numSpeakers: diarizeOptions.numSpeakers,
          ...(options.threshold !== undefined && { threshold: options.threshold }),
          ...(options.numThreads !== undefined && { numThreads: options.numThreads }),
        }),
      )
      const segments = engine.process(samples)
      return { engine: 'sherpa', ...namedTurns(segments), warnings: [] }
    },
  }
}

/** Numbers sherpa's integer speakers by first appearance: `SPEAKER_1`, `SPEAKER_2`, … */
export function namedTurns(segments: readonly { start: number; end: number; speaker: number }[]): {
  turns: SpeakerTurn[]
  speakers: string[]
} {
  const ids = new Map<number, number>()
  const turns = [...segments]
    .sort((a, b) => a.start - b.start)
    .map((s) => {
      if (!ids.has(s.speaker)) ids.set(s.speaker, ids.size)
      return { start: s.start, end: s.end, speaker: speakerName(ids.get(s.speaker) as number) }
    })
  return { turns, speakers: [...ids.values()].map(speakerName) }
}
