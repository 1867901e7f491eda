/**
 * From labelled windows to speaker turns. Windows overlap (1.5 s every 0.75 s), so each 10 ms
 * frame of speech takes the label most of the windows covering it carry; frames no window
 * covers (speech too short for one) take the nearest window's label. Runs of one label become
 * turns, and a run shorter than `minTurnSec` inside a speech segment is given to its longer
 * neighbour: speakers rarely change for 0.3 s in the middle of a breath group, and such runs are
 * mostly a window straddling a change. Finally a speaker's turns less than `bridgeGapSec` apart
 * become one (pyannote's `min_duration_off`): a breath inside a sentence is not the end of a turn.
 */
import type { SpeechSegment } from '../../vad.js'
import type { Embedding } from './cluster.js'
import { type SpeakerTurn, speakerName } from './types.js'

const STEP = 0.01

/**
 * @example
 * const turns = turnsFromLabels(vad.segments, embeddings, clustering.labels)
 */
export function turnsFromLabels(
  speech: readonly SpeechSegment[],
  windows: readonly Embedding[],
  labels: readonly number[],
  options: { minTurnSec?: number; bridgeGapSec?: number } = {},
): SpeakerTurn[] {
  const minTurn = options.minTurnSec ?? 0.5
  const bridge = options.bridgeGapSec ?? 0.6
  if (windows.length === 0) return []
  const order = windows
    .map((w, i) => ({ start: w.start, end: w.end, label: labels[i] ?? 0 }))
    .sort((a, b) => a.start - b.start)
  const k = Math.max(...order.map((w) => w.label)) + 1
  const turns: SpeakerTurn[] = []
  let first = 0
  for (const segment of [...speech].sort((a, b) => a.start - b.start)) {
    const frames = Math.max(1, Math.round((segment.end - segment.start) / STEP))
    const frameLabels = new Array<number>(frames)
    while (first < order.length && (order[first]?.end ?? 0) <= segment.start) first++
    for (let f = 0; f < frames; f++) {
      const t = segment.start + (f + 0.5) * STEP
      const votes = new Array<number>(k).fill(0)
      let any = false
      for (let w = first; w < order.length; w++) {
        const window = order[w]
        if (!window || window.start > t) break
        if (window.end > t) {
          votes[window.label] = (votes[window.label] as number) + 1
          any = true
        }
      }
      frameLabels[f] = any ? votes.indexOf(Math.max(...votes)) : nearestLabel(order, t)
    }
    const runs = toRuns(frameLabels)
    smooth(runs, Math.round(minTurn / STEP))
    let at = 0
    for (const run of runs) {
      const start = segment.start + at * STEP
      at += run.length
      const end = run === runs.at(-1) ? segment.end : segment.start + at * STEP
      const last = turns.at(-1)
      const speaker = speakerName(run.label)
      if (last && last.speaker === speaker && start - last.end < bridge) last.end = round(end)
      else turns.push({ start: round(start), end: round(end), speaker })
    }
  }
  return turns
}

function nearestLabel(windows: readonly { start: number; end: number; label: number }[], t: number): number {
  let best = windows[0]?.label ?? 0
  let distance = Number.POSITIVE_INFINITY
  for (const w of windows) {
    const d = Math.abs((w.start + w.end) / 2 - t)
    if (d < distance) {
      distance = d
      best = w.label
    }
  }
  return best
}

function toRuns(labels: readonly number[]): { label: number; length: number }[] {
  const runs: { label: number; length: number }[] = []
  for (const label of labels) {
    const last = runs.at(-1)
    if (last && last.label === label) last.length++
    else runs.push({ label, length: 1 })
  }
  return runs
}

function smooth(runs: { label: number; length: number }[], minFrames: number): void {
  for (;;) {
    if (runs.length < 2) return
    let shortest = -1
    for (let i = 0; i < runs.length; i++) {
      if (
        (runs[i]?.length ?? 0) < minFrames &&
        (shortest < 0 || (runs[i]?.length ?? 0) < (runs[shortest]?.length ?? 0))
      )
        shortest = i
    }
    if (shortest < 0) return
    const before = runs[shortest - 1]
    const after = runs[shortest + 1]
    const run = runs[shortest] as { label: number; length: number }
    const into =
      !after || (before && before.length >= after.length) ? (before as { label: number; length: number }) : after
    into.length += run.length
    runs.splice(shortest, 1)
    // Neighbours that now carry the same label become one run.
    for (let i = runs.length - 1; i > 0; i--) {
      const a = runs[i - 1] as { label: number; length: number }
      const b = runs[i] as { label: number; length: number }
      if (a.label === b.label) {
        a.length += b.length
        runs.splice(i, 1)
      }
    }
  }
}

function round(sec: number): number {
  return Math.round(sec * 1000) / 1000
}
