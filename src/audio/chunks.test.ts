import { describe, expect, it } from 'vitest'
import { planChunks } from './chunks.js'

/** Speech segments of `length` seconds separated by `pause` seconds, from `start`. */
function talk(count: number, length: number, pause: number, start = 0.5) {
  return Array.from({ length: count }, (_, i) => ({
    start: start + i * (length + pause),
    end: start + i * (length + pause) + length,
  }))
}

describe('planChunks', () => {
  it('returns one chunk when the audio fits', () => {
    expect(planChunks(talk(2, 3, 1), 10, { maxChunkSec: 30 })).toEqual([
      { index: 0, start: 0, end: 10, speech: true, forced: false },
    ])
  })

  it('tiles the recording, keeps every chunk within the limit and cuts only in pauses', () => {
    const speech = talk(40, 4, 0.8)
    const duration = 200
    const chunks = planChunks(speech, duration, { maxChunkSec: 30 })
    expect(chunks[0]?.start).toBe(0)
    expect(chunks.at(-1)?.end).toBe(duration)
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.end - chunk.start).toBeLessThanOrEqual(30)
      expect(chunk.forced).toBe(false)
      if (i > 0) expect(chunk.start).toBe(chunks[i - 1]?.end)
      // No cut lands inside speech.
      expect(speech.some((s) => s.start < chunk.end && chunk.end < s.end)).toBe(false)
    }
    // Fuller chunks are preferred: the latest pause before the limit is used.
    expect(chunks[0]?.end).toBeGreaterThan(25)
  })

  it('prefers a real pause over a short gap, and the middle of the pause', () => {
    const speech = [
      { start: 0, end: 10 },
      { start: 10.05, end: 20 }, // a 50 ms gap
      { start: 21, end: 28 }, // a 1 s pause ending at 21
      { start: 28.1, end: 40 },
    ]
    const [first] = planChunks(speech, 40, { maxChunkSec: 30, preferredPauseSec: 0.3 })
    expect(first?.end).toBe(20.5)
  })

  it('cuts inside speech only when there is no pause, and says so', () => {
    const chunks = planChunks([{ start: 0, end: 70 }], 70, { maxChunkSec: 30 })
    expect(chunks.map((c) => [c.start, c.end, c.forced])).toEqual([
      [0, 30, true],
      [30, 60, true],
      [60, 70, false],
    ])
  })

  it('marks chunks without speech so they can be skipped', () => {
    const speech = [
      { start: 1, end: 5 },
      { start: 70, end: 75 },
    ]
    const chunks = planChunks(speech, 80, { maxChunkSec: 30 })
    expect(chunks.filter((c) => !c.speech).length).toBeGreaterThanOrEqual(2)
    for (const chunk of chunks)
      expect(chunk.speech).toBe(speech.some((s) => s.start < chunk.end && s.end > chunk.start))
  })

  it('rejects a limit that is not positive', () => {
    expect(() => planChunks([], 10, { maxChunkSec: 0 })).toThrow(RangeError)
  })
})
