import { describe, expect, it } from 'vitest'
import { assessQuality } from './quality.js'

const words = (texts: string[], step = 0.4) => texts.map((text, i) => ({ text, start: i * step, end: i * step + 0.3 }))

describe('assessQuality', () => {
  it('reports words per minute of speech and nothing to worry about for ordinary speech', () => {
    const text = 'we talked about sleep and work and how the breathing exercise went this week at home'.split(' ')
    const report = assessQuality(words(text), { speech: [{ start: 0, end: 6.3 }], durationSec: 20 })
    expect(report.wordsPerMinute).toBeCloseTo((16 / 6.3) * 60, 1)
    expect(report.repetitionRatio).toBe(0)
    expect(report.longestRepeat).toBe(1)
    expect(report.speechWithoutWordsRatio).toBe(0)
    expect(report.flags).toEqual([])
  })

  it('flags a hallucination loop', () => {
    const loop = Array.from({ length: 30 }, (_, i) => (i % 2 ? 'you.' : 'Thank'))
    const report = assessQuality(words(loop), { durationSec: 12 })
    expect(report.longestRepeat).toBe(15)
    expect(report.repetitionRatio).toBeGreaterThan(0.9)
    expect(report.flags.join(' ')).toMatch(/repeat/)
  })

  it('measures speech the transcript has no words for', () => {
    const report = assessQuality(words(['hello', 'there']), {
      speech: [
        { start: 0, end: 1 },
        { start: 10, end: 50 },
      ],
      durationSec: 60,
    })
    // Words (±0.25 s) cover 0–0.95 s of the 41 s of speech.
    expect(report.speechWithoutWordsRatio).toBeCloseTo(40.05 / 41, 2)
    expect(report.flags.join(' ')).toMatch(/no words/)
    expect(report.flags.join(' ')).toMatch(/only 3 words per minute/)
  })
})
