import { describe, expect, it } from 'vitest'
import type { Diarization } from './engines/diarization/types.js'
import type { Transcript } from './engines/transcription/types.js'
import { mergeSpeakers, UNKNOWN_SPEAKER } from './merge.js'

const transcript = (words: [string, number, number][], segments: [number, number, string][] = []): Transcript => ({
  text: words.map((w) => w[0]).join(' '),
  words: words.map(([text, start, end]) => ({ text, start, end })),
  segments: segments.map(([start, end, text]) => ({ start, end, text })),
  engine: 'test',
})

const diarization = (turns: [number, number, string][]): Diarization => ({
  engine: 'test',
  turns: turns.map(([start, end, speaker]) => ({ start, end, speaker })),
  speakers: [...new Set(turns.map((t) => t[2]))],
  warnings: [],
})

describe('mergeSpeakers', () => {
  it('gives each word to the turn overlapping it most and splits segments at speaker changes', () => {
    const t = transcript(
      [
        ['hello', 0.1, 0.5],
        ['there', 0.6, 1.0],
        ['hi', 1.05, 1.6], // 0.05 s in A's turn, 0.5 s in B's
        ['back', 1.7, 2.0],
      ],
      [[0, 2.1, 'hello there hi back']],
    )
    const merged = mergeSpeakers(
      t,
      diarization([
        [0, 1.1, 'A'],
        [1.1, 3, 'B'],
      ]),
    )
    expect(merged.words.map((w) => w.speaker)).toEqual(['A', 'A', 'B', 'B'])
    expect(merged.segments).toEqual([
      { start: 0.1, end: 1, text: 'hello there', speaker: 'A' },
      { start: 1.05, end: 2, text: 'hi back', speaker: 'B' },
    ])
    expect(merged.attribution).toBe('word')
    expect(merged.speakers).toEqual(['A', 'B'])
  })

  it('puts a word between turns with the nearest turn within maxGapSec, else Unknown', () => {
    const t = transcript([
      ['near-a', 2.2, 2.4],
      ['near-b', 4.6, 4.8],
      ['lost', 20, 20.5],
      ['point', 6, 6],
    ])
    const merged = mergeSpeakers(
      t,
      diarization([
        [0, 2, 'A'],
        [5, 7, 'B'],
      ]),
      { maxGapSec: 1 },
    )
    expect(merged.words.map((w) => [w.text, w.speaker])).toEqual([
      ['near-a', 'A'],
      ['near-b', 'B'],
      ['point', 'B'],
      ['lost', UNKNOWN_SPEAKER],
    ])
  })

  it('never gives a word to a speaker with no turn there: by default only within 0.2 s of a turn', () => {
    const t = transcript([
      ['edge', 2.05, 2.3],
      ['silence', 3.2, 3.5],
      ['b', 5.5, 5.8],
    ])
    const merged = mergeSpeakers(
      t,
      diarization([
        [0, 2, 'A'],
        [5, 7, 'B'],
      ]),
    )
    expect(merged.words.map((w) => [w.text, w.speaker])).toEqual([
      ['edge', 'A'],
      ['silence', UNKNOWN_SPEAKER],
      ['b', 'B'],
    ])
    expect(merged.speakers).toEqual(['A', 'B'])
  })

  it('drops words outside detected speech unless the engine is very sure of them, and says so', () => {
    const t: Transcript = {
      text: 'out hello there in noise sure',
      words: [
        { text: 'out', start: 0.1, end: 0.4, confidence: 0.6 }, // before anyone speaks
        { text: 'hello', start: 1.1, end: 1.5, confidence: 0.9 },
        { text: 'there', start: 1.6, end: 2.1 },
        { text: 'noise', start: 4.0, end: 4.6 }, // no confidence, outside speech
        { text: 'sure', start: 6.0, end: 6.3, confidence: 0.99 }, // outside, but the engine is sure
        { text: 'edge', start: 2.9, end: 3.3, confidence: 0.2 }, // mostly inside speech + 0.25 s
      ],
      segments: [],
      engine: 'test',
    }
    const merged = mergeSpeakers(t, diarization([[1, 3, 'A']]), { speech: [{ start: 1, end: 3 }] })
    expect(merged.words.map((w) => w.text)).toEqual(['hello', 'there', 'edge', 'sure'])
    expect(merged.words.map((w) => w.speaker)).toEqual(['A', 'A', 'A', UNKNOWN_SPEAKER])
    expect(merged.text).toBe('hello there edge sure')
    expect(merged.gating).toEqual({ words: 6, dropped: 2, keptOutsideSpeech: 1 })
    expect(merged.warnings).toContain('2 of 6 word(s) lay outside detected speech and were dropped')
    expect(merged.speakers).toEqual(['A'])
  })

  it('handles overlapping turns: the longer overlap wins, earlier turns that ended are skipped', () => {
    const t = transcript([
      ['one', 1, 2],
      ['two', 5, 6],
      ['three', 8.5, 9.5],
    ])
    const merged = mergeSpeakers(
      t,
      diarization([
        [0, 10, 'A'],
        [4.5, 5.2, 'B'],
        [8, 12, 'B'],
      ]),
    )
    expect(merged.words.map((w) => w.speaker)).toEqual(['A', 'A', 'A'])
  })

  it('attributes whole segments when the engine gave no word times', () => {
    const t = transcript(
      [],
      [
        [0, 4, 'first'],
        [4.5, 9, 'second'],
      ],
    )
    const merged = mergeSpeakers(
      t,
      diarization([
        [0, 4.2, 'A'],
        [4.2, 9, 'B'],
      ]),
    )
    expect(merged.attribution).toBe('segment')
    expect(merged.segments.map((s) => s.speaker)).toEqual(['A', 'B'])
  })

  it('marks everything Unknown, with the reason, when diarization is missing', () => {
    const t = transcript([['hello', 0, 1]])
    const merged = mergeSpeakers(t, undefined, { diarizationError: 'diarization failed after 3 attempts: boom' })
    // Unknown is never counted as a speaker.
    expect(merged.speakers).toEqual([])
    expect(merged.attribution).toBe('none')
    expect(merged.warnings).toEqual(['diarization failed after 3 attempts: boom'])
    expect(merged.segments).toEqual([{ start: 0, end: 1, text: 'hello', speaker: UNKNOWN_SPEAKER }])
  })

  it('attributes a long recording exactly (100,000 words, 10,000 turns)', () => {
    const words: [string, number, number][] = Array.from({ length: 100_000 }, (_, i) => [
      `w${i}`,
      i * 0.3,
      i * 0.3 + 0.25,
    ])
    const turns: [number, number, string][] = Array.from({ length: 10_000 }, (_, i) => [
      i * 3,
      i * 3 + 3,
      i % 2 ? 'A' : 'B',
    ])
    const merged = mergeSpeakers(transcript(words), diarization(turns))
    const wrong = merged.words.filter((w, i) => w.speaker !== (Math.floor((i * 0.3 + 0.125) / 3) % 2 ? 'A' : 'B'))
    expect(wrong).toEqual([])
    expect(merged.segments).toHaveLength(10_000)
  })
})
