/**
 * Speaker fingerprints of the baseline diarizer: for each window of speech (1.5 s, every
 * 0.75 s, never crossing a pause), the mean of MFCCs c1–c19 over the window's frames — the
 * voice's average spectral envelope — with the standard deviations and frame count kept beside
 * it for the likelihood-ratio count check. c0 (overall level) is left out so loudness does not
 * separate speakers. Options give the alternatives compared on the development set
 * (docs/audio.md, "Diarization quality"): 80-band log-mel (level removed), mean+std vectors,
 * other window lengths. On it, means of MFCCs over 1.5 s measured best on the real recordings;
 * mean+std helped the synthetic voices and hurt the meeting; log-mel and 3 s windows lost.
 *
 * Windows are computed per chunk (`chunkEmbeddings`), each reading only its own audio, so a long
 * recording's chunks can be fingerprinted in parallel (one job each) and clustered together
 * afterwards (`cluster.ts`). Embeddings are plain JSON (numbers), to travel as job results.
 */
import type { SpeechSegment } from '../../vad.js'
import { readWav } from '../../wav.js'
import type { Embedding } from './cluster.js'
import { FRAME_HOP_SEC, logMel, MFCC_COUNT, mfcc } from './features.js'

export interface EmbeddingOptions {
  /** `mfcc` (default): c1–c19 of 40 mel bands; `logmel`: log mel-band energies, level removed. */
  features?: 'logmel' | 'mfcc'
  /** Mel bands for `logmel`. Default 80. */
  bands?: number
  /**
   * `mean` (default): per-dimension mean over the window; `mean+std`: the standard deviation
   * appended (better on the synthetic voices, worse on the real meeting: docs/audio.md).
   */
  stats?: 'mean' | 'mean+std'
  /** Default 1.5 s. */
  windowSec?: number
  /** Default 0.75 s. */
  hopSec?: number
  /** Speech shorter than this gets no window of its own. Default 0.3 s. */
  minWindowSec?: number
  /**
   * Frames more than this many dB below the window's loudest are left out. Default 35 (30–60 all
   * gave the same results on the test recordings; 20–25 began to split one voice in two).
   */
  floorDb?: number
}

/**
 * How much c0 moves per dB of frame power: c0 = √(1/40) · Σ ln(band energy) over 40 bands, and
 * 1 dB is ln(10)/10 in each band.
 */
const C0_PER_DB = Math.sqrt(1 / 40) * 40 * (Math.log(10) / 10)
/** How much the mean log band energy moves per dB of frame power. */
const LOG_PER_DB = Math.log(10) / 10

export const DEFAULT_WINDOW_SEC = 1.5
export const DEFAULT_HOP_SEC = 0.75

/** The options of the first MFCC baseline, before the log-mel embeddings (kept for comparison). */
export const LEGACY_EMBEDDING: EmbeddingOptions = { features: 'mfcc', stats: 'mean', windowSec: 1.5, hopSec: 0.75 }

/** The windows `[start, end)` the embeddings are computed over, within speech segments. */
export function embeddingWindows(speech: readonly SpeechSegment[], options: EmbeddingOptions = {}): SpeechSegment[] {
  const windowSec = options.windowSec ?? DEFAULT_WINDOW_SEC
  const hop = options.hopSec ?? DEFAULT_HOP_SEC
  const minWindow = options.minWindowSec ?? 0.3
  const windows: SpeechSegment[] = []
  for (const s of speech) {
    const length = s.end - s.start
    if (length < minWindow) continue
    if (length <= windowSec) {
      windows.push({ start: s.start, end: s.end })
      continue
    }
    let start = s.start
    for (; start + windowSec < s.end; start += hop) windows.push({ start, end: start + windowSec })
    // The last window ends with the segment, so its tail is covered.
    if (s.end - (windows.at(-1)?.end ?? s.start) > 0.05) windows.push({ start: s.end - windowSec, end: s.end })
  }
  return windows
}

/**
 * Embeddings of the speech in `samples`, which start at `offsetSec` in the recording. `speech`
 * is in recording time; only segments inside the samples are used.
 *
 * @example
 * const embeddings = embedSpeech(samples, 16000, vad.segments)
 */
export function embedSpeech(
  samples: Float32Array,
  sampleRate: number,
  speech: readonly SpeechSegment[],
  offsetSec = 0,
  options: EmbeddingOptions = {},
): Embedding[] {
  const useMfcc = (options.features ?? 'mfcc') === 'mfcc'
  const withStd = options.stats === 'mean+std'
  // Per frame: the features (without c0 for MFCCs) and a loudness in the features' own units.
  const raw = useMfcc ? mfcc(samples, sampleRate) : logMel(samples, sampleRate, options.bands ?? 80)
  const dims = useMfcc ? MFCC_COUNT - 1 : (options.bands ?? 80)
  const loudness = (frame: Float32Array) => {
    if (useMfcc) return (frame[0] as number) / C0_PER_DB
    let sum = 0
    for (let d = 0; d < frame.length; d++) sum += frame[d] as number
    return sum / frame.length / LOG_PER_DB
  }
  const skip = useMfcc ? 1 : 0
  // Log mel bands carry the frame's level in every band: remove it (as MFCCs leave out c0), so
  // loudness does not separate speakers.
  const levelFree = (frame: Float32Array) => {
    if (useMfcc) return frame
    const level = loudness(frame) * LOG_PER_DB
    return frame.map((v) => v - level)
  }
  const span = samples.length / sampleRate
  const local = speech
    .map((s) => ({ start: Math.max(0, s.start - offsetSec), end: Math.min(span, s.end - offsetSec) }))
    .filter((s) => s.end > s.start)
  const embeddings: Embedding[] = []
  for (const w of embeddingWindows(local, options)) {
    const first = Math.max(0, Math.floor(w.start / FRAME_HOP_SEC))
    const last = Math.min(raw.length, Math.ceil(w.end / FRAME_HOP_SEC))
    if (last - first < 10) continue
    // Only frames within `floorDb` of the window's loudest count: the silence a VAD leaves at
    // segment edges and between words would otherwise pull every window toward "silence".
    let loudest = Number.NEGATIVE_INFINITY
    for (let f = first; f < last; f++) loudest = Math.max(loudest, loudness(raw[f] as Float32Array))
    const floor = loudest - (options.floorDb ?? 35)
    const mean = new Float64Array(dims)
    const sq = new Float64Array(dims)
    let count = 0
    for (let f = first; f < last; f++) {
      const original = raw[f] as Float32Array
      if (loudness(original) < floor) continue
      const frame = levelFree(original)
      count++
      for (let d = 0; d < dims; d++) {
        const value = frame[d + skip] as number
        mean[d] = (mean[d] as number) + value
        sq[d] = (sq[d] as number) + value * value
      }
    }
    if (count < 10) continue
    const means: number[] = []
    const spread: number[] = []
    for (let d = 0; d < dims; d++) means.push(round4((mean[d] as number) / count))
    for (let d = 0; d < dims; d++)
      spread.push(round4(Math.sqrt(Math.max(0, (sq[d] as number) / count - ((mean[d] as number) / count) ** 2))))
    embeddings.push({
      start: round(w.start + offsetSec),
      end: round(w.end + offsetSec),
      vector: withStd ? [...means, ...spread] : means,
      spread,
      frames: count,
    })
  }
  return embeddings
}

/**
 * Embeddings for one chunk `[start, end)` of a WAV file, reading only that chunk's audio.
 * Independent of other chunks: run one per chunk, in parallel, then cluster them all.
 *
 * @example
 * const parts = await Promise.all(chunks.map((c) => chunkEmbeddings(pre.path, c, vad.segments)))
 * const { labels } = clusterEmbeddings(parts.flat())
 */
export async function chunkEmbeddings(
  wavPath: string,
  chunk: { start: number; end: number },
  speech: readonly SpeechSegment[],
  options: EmbeddingOptions = {},
): Promise<Embedding[]> {
  const inside = speech.filter((s) => s.end > chunk.start && s.start < chunk.end)
  if (inside.length === 0) return []
  const { samples, sampleRate } = await readWav(wavPath, { startSec: chunk.start, endSec: chunk.end })
  const clipped = inside.map((s) => ({ start: Math.max(s.start, chunk.start), end: Math.min(s.end, chunk.end) }))
  return embedSpeech(samples, sampleRate, clipped, chunk.start, options)
}

function round(sec: number): number {
  return Math.round(sec * 1000) / 1000
}

function round4(value: number): number {
  return Math.round(value * 1e4) / 1e4
}
