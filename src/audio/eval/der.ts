/**
 * Diarization error rate, as NIST md-eval scores it: on 10 ms frames of the scored region,
 * with a no-score collar (default 0.25 s) either side of every reference boundary, and the
 * one-to-one speaker mapping that maximises agreement (Hungarian algorithm).
 *
 * DER = (missed speech + false alarm + speaker confusion) / reference speech, where in each
 * frame missed = max(0, |ref| − |hyp|), false alarm = max(0, |hyp| − |ref|) and
 * confusion = min(|ref|, |hyp|) − correctly mapped speakers (overlapped speech counts per speaker).
 */
import type { SpeakerTurn } from '../engines/diarization/types.js'

export interface DerOptions {
  /** Seconds not scored either side of each reference boundary. Default 0.25. */
  collar?: number
  /** Scored region; default from 0 to the last reference or hypothesis end. */
  uem?: { start: number; end: number }
}

export interface DerResult {
  der: number
  missed: number
  falseAlarm: number
  confusion: number
  /** Seconds of scored reference speech (per speaker). */
  scored: number
  /** Hypothesis speaker → reference speaker. */
  mapping: Record<string, string>
}

const STEP = 0.01

/**
 * @example
 * diarizationErrorRate(parseRttm(referenceText), diarization.turns, { collar: 0.25 }).der // 0.043
 */
export function diarizationErrorRate(
  reference: readonly SpeakerTurn[],
  hypothesis: readonly SpeakerTurn[],
  options: DerOptions = {},
): DerResult {
  const collar = options.collar ?? 0.25
  const end = options.uem?.end ?? Math.max(0, ...reference.map((t) => t.end), ...hypothesis.map((t) => t.end))
  const start = options.uem?.start ?? 0
  const frames = Math.max(0, Math.round((end - start) / STEP))
  const refNames = [...new Set(reference.map((t) => t.speaker))]
  const hypNames = [...new Set(hypothesis.map((t) => t.speaker))]
  const refActive = activity(reference, refNames, start, frames)
  const hypActive = activity(hypothesis, hypNames, start, frames)

  const scored = new Uint8Array(frames).fill(1)
  for (const t of reference) {
    for (const boundary of [t.start, t.end]) {
      const from = Math.max(0, Math.floor((boundary - collar - start) / STEP))
      const to = Math.min(frames, Math.ceil((boundary + collar - start) / STEP))
      scored.fill(0, from, to)
    }
  }

  // Co-occurrence of every hypothesis and reference speaker over scored frames.
  const overlap = hypNames.map(() => new Float64Array(refNames.length))
  for (let f = 0; f < frames; f++) {
    if (!scored[f]) continue
    for (let h = 0; h < hypNames.length; h++) {
      if (!(hypActive[h] as Uint8Array)[f]) continue
      for (let r = 0; r < refNames.length; r++) {
        if ((refActive[r] as Uint8Array)[f])
          (overlap[h] as Float64Array)[r] = ((overlap[h] as Float64Array)[r] as number) + 1
      }
    }
  }
  const assignment = maxAssignment(overlap)
  const mapping: Record<string, string> = {}
  assignment.forEach((r, h) => {
    if (r >= 0) mapping[hypNames[h] as string] = refNames[r] as string
  })

  let missed = 0
  let falseAlarm = 0
  let confusion = 0
  let total = 0
  for (let f = 0; f < frames; f++) {
    if (!scored[f]) continue
    let nRef = 0
    let nHyp = 0
    let correct = 0
    for (let r = 0; r < refNames.length; r++) nRef += (refActive[r] as Uint8Array)[f] as number
    for (let h = 0; h < hypNames.length; h++) {
      if (!(hypActive[h] as Uint8Array)[f]) continue
      nHyp++
      const r = assignment[h] as number
      if (r >= 0 && (refActive[r] as Uint8Array)[f]) correct++
    }
    total += nRef
    missed += Math.max(0, nRef - nHyp)
    falseAlarm += Math.max(0, nHyp - nRef)
    confusion += Math.min(nRef, nHyp) - correct
  }
  return {
    der: total === 0 ? 0 : (missed + falseAlarm + confusion) / total,
    missed: missed * STEP,
    falseAlarm: falseAlarm * STEP,
    confusion: confusion * STEP,
    scored: total * STEP,
    mapping,
  }
}

function activity(
  turns: readonly SpeakerTurn[],
  names: readonly string[],
  start: number,
  frames: number,
): Uint8Array[] {
  const rows = names.map(() => new Uint8Array(frames))
  for (const t of turns) {
    const row = rows[names.indexOf(t.speaker)] as Uint8Array
    row.fill(1, Math.max(0, Math.round((t.start - start) / STEP)), Math.min(frames, Math.round((t.end - start) / STEP)))
  }
  return rows
}

/**
 * The assignment of rows to columns maximising the summed weight (Hungarian algorithm on the
 * negated, square-padded matrix). Returns each row's column, or −1.
 */
export function maxAssignment(weights: readonly Float64Array[] | readonly number[][]): number[] {
  const rows = weights.length
  const cols = Math.max(0, ...weights.map((w) => w.length))
  const n = Math.max(rows, cols)
  if (n === 0) return []
  const max = Math.max(0, ...weights.flatMap((w) => Array.from(w)))
  const cost = (i: number, j: number) => max - ((weights[i]?.[j] as number | undefined) ?? 0)
  // e-maxx formulation, 1-based potentials.
  const u = new Float64Array(n + 1)
  const v = new Float64Array(n + 1)
  const p = new Int32Array(n + 1)
  const way = new Int32Array(n + 1)
  for (let i = 1; i <= n; i++) {
    p[0] = i
    let j0 = 0
    const minv = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY)
    const used = new Uint8Array(n + 1)
    do {
      used[j0] = 1
      const i0 = p[j0] as number
      let delta = Number.POSITIVE_INFINITY
      let j1 = 0
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue
        const current = cost(i0 - 1, j - 1) - (u[i0] as number) - (v[j] as number)
        if (current < (minv[j] as number)) {
          minv[j] = current
          way[j] = j0
        }
        if ((minv[j] as number) < delta) {
          delta = minv[j] as number
          j1 = j
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j] as number] = (u[p[j] as number] as number) + delta
          v[j] = (v[j] as number) - delta
        } else {
          minv[j] = (minv[j] as number) - delta
        }
      }
      j0 = j1
    } while (p[j0] !== 0)
    do {
      const j1 = way[j0] as number
      p[j0] = p[j1] as number
      j0 = j1
    } while (j0 !== 0)
  }
  const result = new Array<number>(rows).fill(-1)
  for (let j = 1; j <= n; j++) {
    const i = (p[j] as number) - 1
    if (i >= 0 && i < rows && j - 1 < cols && ((weights[i]?.[j - 1] as number | undefined) ?? 0) > 0) result[i] = j - 1
  }
  return result
}
