import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../eval/devset.js'
import { eigengapCount, symmetricEigenvalues } from './cluster.js'
import { resegment, windowLogPosteriors } from './resegment.js'

function unit(values: number[]): Float64Array {
  const norm = Math.sqrt(values.reduce((s, v) => s + v * v, 0)) || 1
  return Float64Array.from(values, (v) => v / norm)
}

/** Points around `k` orthogonal directions with seeded jitter. */
function groups(k: number, each: number, dims = 8): Float64Array[] {
  const random = seededRandom(k * 100 + each)
  const points: Float64Array[] = []
  for (let g = 0; g < k; g++)
    for (let i = 0; i < each; i++)
      points.push(unit(Array.from({ length: dims }, (_, d) => (d === g ? 1 : 0.2) + 0.3 * (random() - 0.5))))
  return points
}

describe('eigengap', () => {
  it('finds the eigenvalues of a symmetric matrix', () => {
    const values = symmetricEigenvalues([
      Float64Array.from([2, 1, 0]),
      Float64Array.from([1, 2, 0]),
      Float64Array.from([0, 0, 5]),
    ])
    expect(values.sort((a, b) => a - b).map((v) => Number(v.toFixed(6)))).toEqual([1, 3, 5])
  })

  it('counts two and three groups of windows', () => {
    expect(eigengapCount(groups(2, 12), 1, 8)).toBe(2)
    expect(eigengapCount(groups(3, 12), 1, 8)).toBe(3)
    expect(eigengapCount(groups(3, 12), 1, 2)).toBe(2)
  })
})

describe('resegment', () => {
  const windows = Array.from({ length: 12 }, (_, i) => ({ start: i * 0.75, end: i * 0.75 + 1.5 }))
  const speech = [{ start: 0, end: 9.75 }]

  it('smooths a lone window of the other speaker inside a turn, and numbers speakers by first appearance', () => {
    const points = windows.map((_, i) => unit(i < 6 ? [1, 0.05] : [0.05, 1]))
    points[3] = unit([0.45, 0.55]) // an ambiguous window inside the first turn
    const labels = windows.map((_, i) => (i < 6 && i !== 3 ? 1 : 0))
    const turns = resegment(speech, windows, windowLogPosteriors(points, labels, 2))
    expect(turns.map((t) => t.speaker)).toEqual(['SPEAKER_1', 'SPEAKER_2'])
    expect(turns[0]?.start).toBe(0)
    expect(turns[1]?.end).toBe(9.75)
    expect(Math.abs((turns[0]?.end as number) - 5.1)).toBeLessThan(0.8)
  })

  it('keeps a speaker the decoding would drop when the count must be kept', () => {
    const points = windows.map((_, i) => unit(i === 5 ? [0.6, 0.4] : [1, 0.02]))
    const labels = windows.map((_, i) => (i === 5 ? 1 : 0))
    const posteriors = windowLogPosteriors(points, labels, 2)
    expect(new Set(resegment(speech, windows, posteriors).map((t) => t.speaker)).size).toBe(1)
    const kept = resegment(speech, windows, posteriors, { keepSpeakers: 2 })
    expect(new Set(kept.map((t) => t.speaker)).size).toBe(2)
    // Turns never overlap: one speaker per moment.
    for (let i = 1; i < kept.length; i++) expect(kept[i]?.start).toBeGreaterThanOrEqual(kept[i - 1]?.end as number)
  })
})
