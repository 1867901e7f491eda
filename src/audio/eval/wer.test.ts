import { describe, expect, it } from 'vitest'
import { normaliseWords, wordErrorRate } from './wer.js'

describe('wordErrorRate', () => {
  it('normalises case and punctuation but keeps apostrophes inside words', () => {
    expect(normaliseWords("And so, my fellow Americans: don't — ask!")).toEqual([
      'and',
      'so',
      'my',
      'fellow',
      'americans',
      "don't",
      'ask',
    ])
  })

  it('counts substitutions, deletions and insertions on the JFK reference', () => {
    const ref =
      'And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.'
    expect(wordErrorRate(ref, ref).wer).toBe(0)
    const result = wordErrorRate(
      ref,
      'and so my fellow americans ask what your country can do for you ask what you can do for our country today',
    )
    expect(result).toMatchObject({ deletions: 1, substitutions: 1, insertions: 1, referenceWords: 22 })
    expect(result.wer).toBeCloseTo(3 / 22)
  })

  it('aligns every reference word once', () => {
    const { alignment } = wordErrorRate('a b c d', 'a x c d e')
    expect(alignment.filter((s) => s.ref !== undefined).map((s) => s.ref)).toEqual([0, 1, 2, 3])
    expect(alignment.map((s) => s.op)).toEqual(['match', 'substitution', 'match', 'match', 'insertion'])
  })

  it('handles empty sides', () => {
    expect(wordErrorRate('', '').wer).toBe(0)
    expect(wordErrorRate('', 'hello').wer).toBe(1)
    expect(wordErrorRate('hello there', '').wer).toBe(1)
  })
})
