/**
 * Resegmentation: from window posteriors to speaker turns with a Viterbi pass, as classic
 * diarization systems smooth their labels. Each window's posterior over the speakers is a
 * softmax of its cosine similarity to each speaker's centroid (`windowLogPosteriors`); every
 * 10 ms frame of speech takes the mean log posterior of the windows covering it (the nearest
 * window's when none does); an HMM with one state per speaker, a cost in nats for every change
 * of speaker (less across a pause, where turns usually change), is decoded by Viterbi over all
 * speech frames in order. The result is one speaker per frame: overlapped speech is given to
 * one of its speakers and never counted twice.
 *
 * A given speaker count is kept exactly: a speaker the decoding dropped gets back the frames of
 * the window that is most surely theirs.
 */
import type { SpeechSegment } from '../../vad.js'
import type { Embedding } from './cluster.js'
import { type SpeakerTurn, speakerName } from './types.js'

const STEP = 0.01

export interface ResegmentOptions {
  /** Cost of a change of speaker inside a speech segment, nats. Default 8. */
  switchPenalty?: number
  /** Cost of a change of speaker across a pause. Default 2. */
  pauseSwitchPenalty?: number
  /** Sharpness of the posteriors (softmax of β × cosine). Default 10. */
  beta?: number
  /** A speaker's turns less than this apart become one. Default 0.6 s. */
  bridgeGapSec?: number
}

/** Log posteriors per window over `k` speakers from unit vectors and cluster labels. */
export function windowLogPosteriors(
  points: readonly Float64Array[],
  labels: readonly number[],
  k: number,
  beta = 10,
): Float64Array[] {
  const dims = points[0]?.length ?? 0
  const centroids = Array.from({ length: k }, () => new Float64Array(dims))
  points.forEach((p, i) => {
    const c = centroids[labels[i] as number] as Float64Array
    for (let d = 0; d < dims; d++) c[d] = (c[d] as number) + (p[d] as number)
  })
  for (const c of centroids) {
    let norm = 0
    for (let d = 0; d < dims; d++) norm += (c[d] as number) ** 2
    norm = Math.sqrt(norm) || 1
    for (let d = 0; d < dims; d++) c[d] = (c[d] as number) / norm
  }
  return points.map((p) => {
    const scores = centroids.map((c) => {
      let dot = 0
      for (let d = 0; d < dims; d++) dot += (p[d] as number) * (c[d] as number)
      return beta * dot
    })
    const max = Math.max(...scores)
    const logSum = max + Math.log(scores.reduce((sum, s) => sum + Math.exp(s - max), 0))
    return Float64Array.from(scores, (s) => s - logSum)
  })
}

/**
 * Speaker turns from per-window log posteriors (windows sorted by start).
 *
 * @example
 * const turns = resegment(vad.segments, embeddings, windowLogPosteriors(points, labels, 2), { minSpeakers: 2 })
 */
export function resegment(
  speech: readonly SpeechSegment[],
  windows: readonly Pick<Embedding, 'start' | 'end'>[],
  logPosteriors: readonly Float64Array[],
  options: ResegmentOptions & { keepSpeakers?: number } = {},
): SpeakerTurn[] {
  const k = logPosteriors[0]?.length ?? 0
  if (windows.length === 0 || k === 0) return []
  const switchPenalty = options.switchPenalty ?? 8
  const pausePenalty = options.pauseSwitchPenalty ?? 2
  const segments = [...speech].sort((a, b) => a.start - b.start)

  // Frame emissions, segment by segment.
  const frameSegment: number[] = []
  const frameTime: number[] = []
  const emissions: Float64Array[] = []
  let first = 0
  segments.forEach((segment, s) => {
    const count = Math.max(1, Math.round((segment.end - segment.start) / STEP))
    while (first < windows.length && (windows[first]?.end ?? 0) <= segment.start) first++
    for (let f = 0; f < count; f++) {
      const t = segment.start + (f + 0.5) * STEP
      const sum = new Float64Array(k)
      let covering = 0
      for (let w = first; w < windows.length; w++) {
        const window = windows[w]
        if (!window || window.start > t) break
        if (window.end > t) {
          covering++
          const lp = logPosteriors[w] as Float64Array
          for (let j = 0; j < k; j++) sum[j] = (sum[j] as number) + (lp[j] as number)
        }
      }
      const emission =
        covering > 0 ? sum.map((v) => v / covering) : (logPosteriors[nearest(windows, t)] as Float64Array)
      emissions.push(emission)
      frameSegment.push(s)
      frameTime.push(segment.start + f * STEP)
    }
  })

  let labels = viterbi(emissions, frameSegment, switchPenalty, pausePenalty)
  const wanted = Math.min(options.keepSpeakers ?? 0, k)
  for (let attempt = 0; attempt < k && new Set(labels).size < wanted; attempt++) {
    labels = restoreMissing(labels, emissions, windows, logPosteriors, frameTime, wanted)
  }

  // Runs to turns, numbered by first appearance; a speaker's turns close together become one.
  const bridge = options.bridgeGapSec ?? 0.6
  const ids = new Map<number, number>()
  const turns: SpeakerTurn[] = []
  for (let f = 0; f < labels.length; ) {
    let g = f
    while (g + 1 < labels.length && labels[g + 1] === labels[f] && frameSegment[g + 1] === frameSegment[f]) g++
    const segment = segments[frameSegment[f] as number] as SpeechSegment
    const start = frameTime[f] as number
    const end =
      g + 1 < labels.length && frameSegment[g + 1] === frameSegment[f] ? (frameTime[g + 1] as number) : segment.end
    const label = labels[f] as number
    if (!ids.has(label)) ids.set(label, ids.size)
    const speaker = speakerName(ids.get(label) as number)
    const last = turns.at(-1)
    if (last && last.speaker === speaker && start - last.end < bridge) last.end = round(end)
    else turns.push({ start: round(start), end: round(end), speaker })
    f = g + 1
  }
  return turns
}

function viterbi(
  emissions: readonly Float64Array[],
  frameSegment: readonly number[],
  switchPenalty: number,
  pausePenalty: number,
): number[] {
  const n = emissions.length
  const k = emissions[0]?.length ?? 0
  if (n === 0) return []
  const back = new Uint8Array(n * k)
  let score = Float64Array.from(emissions[0] as Float64Array)
  for (let f = 1; f < n; f++) {
    const penalty = frameSegment[f] === frameSegment[f - 1] ? switchPenalty : pausePenalty
    let bestPrev = 0
    for (let j = 1; j < k; j++) if ((score[j] as number) > (score[bestPrev] as number)) bestPrev = j
    const next = new Float64Array(k)
    const emission = emissions[f] as Float64Array
    for (let j = 0; j < k; j++) {
      const stay = score[j] as number
      const move = (score[bestPrev] as number) - penalty
      const from = stay >= move ? j : bestPrev
      next[j] = Math.max(stay, move) + (emission[j] as number)
      back[f * k + j] = from
    }
    score = next
  }
  const labels = new Array<number>(n)
  let state = 0
  for (let j = 1; j < k; j++) if ((score[j] as number) > (score[state] as number)) state = j
  for (let f = n - 1; f >= 0; f--) {
    labels[f] = state
    state = back[f * k + state] as number
  }
  return labels
}

/** Gives one missing speaker the frames of the window most surely theirs (relative to the labels there). */
function restoreMissing(
  labels: number[],
  emissions: readonly Float64Array[],
  windows: readonly Pick<Embedding, 'start' | 'end'>[],
  logPosteriors: readonly Float64Array[],
  frameTime: readonly number[],
  wanted: number,
): number[] {
  const present = new Set(labels)
  const k = emissions[0]?.length ?? 0
  const missing = Array.from({ length: k }, (_, j) => j).filter((j) => !present.has(j))
  const speaker = missing[0]
  if (speaker === undefined || present.size >= wanted) return labels
  let best = -1
  let bestScore = Number.NEGATIVE_INFINITY
  logPosteriors.forEach((lp, w) => {
    const score = lp[speaker] as number
    if (score > bestScore) {
      bestScore = score
      best = w
    }
  })
  const window = windows[best]
  if (!window) return labels
  const out = labels.slice()
  let changed = false
  frameTime.forEach((t, f) => {
    if (t >= window.start && t < window.end) {
      out[f] = speaker
      changed = true
    }
  })
  // A window with no speech frames left (cannot happen with VAD-derived windows): the frame nearest its middle.
  if (!changed) {
    const middle = (window.start + window.end) / 2
    let f = 0
    for (let i = 1; i < frameTime.length; i++)
      if (Math.abs((frameTime[i] as number) - middle) < Math.abs((frameTime[f] as number) - middle)) f = i
    out[f] = speaker
  }
  return out
}

function nearest(windows: readonly Pick<Embedding, 'start' | 'end'>[], t: number): number {
  let best = 0
  let distance = Number.POSITIVE_INFINITY
  windows.forEach((w, i) => {
    const d = Math.abs((w.start + w.end) / 2 - t)
    if (d < distance) {
      distance = d
      best = i
    }
  })
  return best
}

function round(sec: number): number {
  return Math.round(sec * 1000) / 1000
}
