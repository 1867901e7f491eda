import { describe, expect, it } from 'vitest'
import { turnsFromLabels } from './turns.js'

const window = (start: number, end = start + 1.5) => ({ start, end, vector: [] })

describe('turnsFromLabels', () => {
  it('follows the labels of overlapping windows and keeps turns inside speech', () => {
    const speech = [{ start: 0, end: 6 }]
    const windows = [window(0), window(0.75), window(1.5), window(2.25), window(3), window(3.75), window(4.5)]
    const labels = [0, 0, 0, 1, 1, 1, 1]
    const turns = turnsFromLabels(speech, windows, labels)
    expect(turns.map((t) => t.speaker)).toEqual(['SPEAKER_1', 'SPEAKER_2'])
    expect(turns[0]?.start).toBe(0)
    expect(turns[1]?.end).toBe(6)
    // The change lies where the votes flip, between the last window of 0 and the first of 1.
    expect(turns[0]?.end).toBeGreaterThan(2.2)
    expect(turns[0]?.end).toBeLessThan(3.1)
  })

  it('gives a run shorter than minTurnSec to its longer neighbour', () => {
    const speech = [{ start: 0, end: 9 }]
    const windows = [window(0, 4), window(4, 4.3), window(4.3, 9)]
    const turns = turnsFromLabels(speech, windows, [0, 1, 0], { minTurnSec: 0.5 })
    expect(turns).toEqual([{ start: 0, end: 9, speaker: 'SPEAKER_1' }])
  })

  it('labels speech too short for a window from the nearest one, and bridges short gaps of one speaker', () => {
    const speech = [
      { start: 0, end: 2 },
      { start: 2.3, end: 2.5 }, // no window covers it
      { start: 5, end: 7 },
    ]
    const windows = [window(0, 2), window(5, 7)]
    const turns = turnsFromLabels(speech, windows, [0, 1], { bridgeGapSec: 0.6 })
    expect(turns).toEqual([
      { start: 0, end: 2.5, speaker: 'SPEAKER_1' },
      { start: 5, end: 7, speaker: 'SPEAKER_2' },
    ])
  })
})
