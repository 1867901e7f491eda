import { describe, expect, it } from 'vitest'
import { diarizationErrorRate, maxAssignment } from './der.js'
import { parseRttm, toRttm } from './rttm.js'

describe('diarizationErrorRate', () => {
  const reference = [
    { start: 0, end: 10, speaker: 'alice' },
    { start: 10, end: 20, speaker: 'bob' },
  ]

  it('is 0 for a perfect hypothesis whatever the labels are called', () => {
    const hyp = [
      { start: 0, end: 10, speaker: 'S2' },
      { start: 10, end: 20, speaker: 'S1' },
    ]
    const result = diarizationErrorRate(reference, hyp)
    expect(result.der).toBe(0)
    expect(result.mapping).toEqual({ S2: 'alice', S1: 'bob' })
  })

  it('does not score the collar around reference boundaries', () => {
    const late = [
      { start: 0.2, end: 10.2, speaker: 'A' },
      { start: 10.2, end: 20, speaker: 'B' },
    ]
    expect(diarizationErrorRate(reference, late, { collar: 0.25 }).der).toBe(0)
    expect(diarizationErrorRate(reference, late, { collar: 0 }).der).toBeCloseTo(0.4 / 20, 3)
  })

  it('separates missed speech, false alarm and confusion', () => {
    const hyp = [
      { start: 0, end: 5, speaker: 'A' }, // 5 s of alice missed
      { start: 10, end: 15, speaker: 'A' }, // 5 s of bob confused with alice
      { start: 15, end: 25, speaker: 'B' }, // 5 s false alarm after the end
    ]
    const result = diarizationErrorRate(reference, hyp, { collar: 0 })
    expect(result.missed).toBeCloseTo(5)
    expect(result.confusion).toBeCloseTo(5)
    expect(result.falseAlarm).toBeCloseTo(5)
    expect(result.der).toBeCloseTo(15 / 20)
  })

  it('counts overlapped speech per speaker', () => {
    const overlapped = [
      { start: 0, end: 10, speaker: 'alice' },
      { start: 5, end: 10, speaker: 'bob' },
    ]
    const result = diarizationErrorRate(overlapped, [{ start: 0, end: 10, speaker: 'X' }], { collar: 0 })
    expect(result.scored).toBeCloseTo(15)
    expect(result.missed).toBeCloseTo(5)
    expect(result.der).toBeCloseTo(5 / 15)
  })

  it('finds the best one-to-one mapping (Hungarian)', () => {
    expect(
      maxAssignment([
        [1, 5, 0],
        [4, 6, 0],
        [0, 0, 2],
      ]),
    ).toEqual([1, 0, 2])
    expect(maxAssignment([[3], [7]])).toEqual([-1, 0])
  })
})

describe('RTTM', () => {
  it('parses the shared AMI reference format and writes it back', () => {
    const text =
      'SPEAKER dev00 1 1.440 11.872 <NA> <NA> MEE009 <NA> <NA>\nSPEAKER other 1 0.000 1.000 <NA> <NA> X <NA> <NA>\n'
    const turns = parseRttm(text, 'dev00')
    expect(turns).toEqual([{ start: 1.44, end: 13.312, speaker: 'MEE009' }])
    expect(parseRttm(toRttm(turns, 'dev00'))).toEqual(turns)
    expect(() => parseRttm('SPEAKER f 1 abc 1 <NA> <NA> A <NA> <NA>')).toThrow(/malformed/)
  })
})
