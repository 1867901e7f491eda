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

  it('flags junk at any length: 26 words on 1.5 s of speech (1,040 words a minute), most without a speaker', () => {
    const junk = Array.from({ length: 26 }, (_, i) => ({ text: `w${i % 7}`, start: i * 0.3, end: i * 0.3 + 0.2 }))
    const report = assessQuality(junk, {
      speech: [{ start: 2, end: 3.5 }],
      durationSec: 8,
      gating: { words: 30, dropped: 4, keptOutsideSpeech: 21 },
      unknownWords: 21,
    })
    expect(report.speechSec).toBe(1.5)
    expect(report.wordsPerMinute).toBe(1040)
    expect(report.flags).toEqual(
      expect.arrayContaining([
        '1040 words per minute of speech (speech runs about 100–200): words were invented',
        "83 % of the transcriber's words lay outside detected speech",
        '81 % of words have no speaker',
      ]),
    )
    expect(report).toMatchObject({ words: 26, outsideSpeechRatio: 0.833, unknownRatio: 0.808 })
  })

  it('does not flag a short, ordinary burst: 4 words in 1 s of speech', () => {
    const report = assessQuality(words(['yes', 'that', 'is', 'right'], 0.25), {
      speech: [{ start: 0, end: 1 }],
      durationSec: 1,
      unknownWords: 0,
    })
    expect(report.flags).toEqual([])
  })

  it('flags words when no speech was detected at all, and an engine unsure of most words', () => {
    const unsure = words(['a', 'b', 'c', 'd', 'e', 'f']).map((w) => ({ ...w, confidence: 0.2 }))
    const report = assessQuality(unsure, { speech: [], durationSec: 5 })
    expect(report.flags).toEqual(
      expect.arrayContaining(['6 word(s) but no detected speech', 'the engine is unsure of 100 % of words']),
    )
  })
})
