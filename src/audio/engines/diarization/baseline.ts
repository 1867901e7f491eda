/**
 * `baseline`: the offline default diarizer, built from parts that need no model download —
 * VAD (Silero when its file is present, else WebRTC) for where speech is, MFCC statistics per
 * 1.5 s window (hop 0.75 s) as voice fingerprints (`embeddings.ts`), each dimension
 * z-normalised across the recording's windows, cosine similarity and average-linkage
 * agglomerative clustering with the speaker count given or estimated (eigengap, then the
 * likelihood-ratio check: `cluster.ts`), and a Viterbi resegmentation over the windows'
 * posteriors into turns (`resegment.ts`). A given count is honoured exactly whenever there are
 * at least that many windows.
 *
 * Measured on the development set (`bench/diarization.ts`, docs/audio.md "Diarization
 * quality"): clearly different voices 0–2 % DER, the real meeting excerpt ≈ 30 %. The pyannote
 * + neural-embedding engine (`sherpa`) is the one to enable where accuracy matters.
 *
 * For long recordings the work splits the way a flow fans out: `chunkEmbeddings` per chunk
 * (independent, parallel), then `diarizeFromEmbeddings` once over all of them.
 */
import { planChunks } from '../../chunks.js'
import { mapConcurrent } from '../../pool.js'
import { detectSpeechInFile, type SpeechSegment, type VadOptions } from '../../vad.js'
import { readWavInfo } from '../../wav.js'
import { type ClusterOptions, clusterEmbeddings, type Embedding, normaliseVectors } from './cluster.js'
import { chunkEmbeddings, type EmbeddingOptions, LEGACY_EMBEDDING } from './embeddings.js'
import { type ResegmentOptions, resegment, windowLogPosteriors } from './resegment.js'
import { turnsFromLabels } from './turns.js'
import type { Diarization, DiarizationEngine, DiarizeOptions } from './types.js'

export interface BaselineDiarizerOptions {
  vad?: Omit<VadOptions, 'signal'>
  embedding?: EmbeddingOptions
  /** Length of the pieces fingerprinted independently. Default 60 s. */
  chunkSec?: number
  /** Pieces fingerprinted at once. Default 2. */
  concurrency?: number
  /** Shorter runs inside a speech segment join a neighbour. Default 0.5 s. */
  minTurnSec?: number
  /** Passed to the clustering (e.g. `minSilhouette`). */
  cluster?: Omit<ClusterOptions, 'numSpeakers' | 'minSpeakers' | 'maxSpeakers'>
  /** Viterbi resegmentation over window posteriors (default on); `false`: majority votes per frame. */
  resegment?: ResegmentOptions | false
}

/** The settings the development-set comparisons vary (`bench/diarization.ts`). */
export type DiarizerSettings = Pick<BaselineDiarizerOptions, 'embedding' | 'minTurnSec' | 'cluster' | 'resegment'>

/**
 * The first diarizer, before the log-mel embeddings and resegmentation: MFCC means over 1.5 s windows, the likelihood-ratio walk for the
 * count, majority votes per frame.
 */
export const LEGACY_SETTINGS: DiarizerSettings = {
  embedding: LEGACY_EMBEDDING,
  cluster: { count: 'glr' },
  resegment: false,
}

/**
 * Clusters embeddings from any number of chunks and turns them into speaker turns.
 *
 * @example
 * const diarization = diarizeFromEmbeddings(vad.segments, embeddingsOfAllChunks, { numSpeakers: 2 })
 */
export function diarizeFromEmbeddings(
  speech: readonly SpeechSegment[],
  embeddings: readonly Embedding[],
  options: DiarizeOptions & DiarizerSettings = {},
): Diarization {
  const ordered = [...embeddings].sort((a, b) => a.start - b.start)
  const clustering = clusterEmbeddings(ordered, {
    numSpeakers: options.numSpeakers,
    minSpeakers: options.minSpeakers,
    maxSpeakers: options.maxSpeakers,
    ...options.cluster,
  })
  const turns =
    options.resegment === false || clustering.numSpeakers < 2
      ? turnsFromLabels(
          speech,
          ordered,
          clustering.labels,
          options.minTurnSec === undefined ? {} : { minTurnSec: options.minTurnSec },
        )
      : resegment(
          speech,
          ordered,
          windowLogPosteriors(
            normaliseVectors(
              ordered.map((e) => e.vector),
              options.cluster?.normalise ?? 'z',
            ),
            clustering.labels,
            clustering.numSpeakers,
            options.resegment?.beta,
          ),
          { ...options.resegment, keepSpeakers: options.numSpeakers ?? clustering.numSpeakers },
        )
  const speakers = [...new Set(turns.map((t) => t.speaker))].sort()
  const warnings = speech.length > 0 && ordered.length === 0 ? ['speech segments too short to fingerprint'] : []
  if (options.numSpeakers !== undefined && ordered.length > 0 && speakers.length !== options.numSpeakers) {
    warnings.push(
      `${options.numSpeakers} speakers asked for, only ${speakers.length} could be told apart in ${ordered.length} windows`,
    )
  }
  return { engine: 'baseline', turns, speakers, warnings }
}

/**
 * @example
 * const diarizer = createBaselineDiarizer()
 * const { turns, speakers } = await diarizer.diarize(pre.path, { numSpeakers: 2, signal })
 */
export function createBaselineDiarizer(config: BaselineDiarizerOptions = {}): DiarizationEngine {
  return {
    name: 'baseline',
    async diarize(wavPath: string, options: DiarizeOptions = {}): Promise<Diarization> {
      const { durationSec } = await readWavInfo(wavPath)
      const vad = await detectSpeechInFile(wavPath, { ...config.vad, signal: options.signal })
      const chunks = planChunks(vad.segments, durationSec, { maxChunkSec: config.chunkSec ?? 60 })
      const parts = await mapConcurrent(chunks, config.concurrency ?? 2, async (chunk) => {
        options.signal?.throwIfAborted()
        return chunkEmbeddings(wavPath, chunk, vad.segments, config.embedding)
      })
      const result = diarizeFromEmbeddings(vad.segments, parts.flat(), {
        ...options,
        ...(config.minTurnSec !== undefined && { minTurnSec: config.minTurnSec }),
        ...(config.cluster !== undefined && { cluster: config.cluster }),
        ...(config.resegment !== undefined && { resegment: config.resegment }),
      })
      return {
        ...result,
        warnings: [
          ...result.warnings,
          ...(vad.engine === 'webrtc' ? ['WebRTC VAD in use (no Silero model file)'] : []),
        ],
      }
    },
  }
}
