import { describe, expect, it } from 'vitest'
import { fft, MFCC_COUNT, mfcc } from './features.js'

describe('fft', () => {
  it('matches a direct DFT', () => {
    const n = 64
    const signal = Float64Array.from(
      { length: n },
      (_, i) => Math.sin(i * 0.7) + 0.3 * Math.cos(i * 2.1) + (i % 5) * 0.1,
    )
    const re = Float64Array.from(signal)
    const im = new Float64Array(n)
    fft(re, im)
    for (let k = 0; k < n; k++) {
      let sr = 0
      let si = 0
      for (let t = 0; t < n; t++) {
        sr += (signal[t] as number) * Math.cos((-2 * Math.PI * k * t) / n)
        si += (signal[t] as number) * Math.sin((-2 * Math.PI * k * t) / n)
      }
      expect(re[k]).toBeCloseTo(sr, 9)
      expect(im[k]).toBeCloseTo(si, 9)
    }
    expect(() => fft(new Float64Array(6), new Float64Array(6))).toThrow(RangeError)
  })
})

describe('mfcc', () => {
  it('gives one frame per 10 ms and tells a low tone from a high one, whatever the level', () => {
    const tone = (hz: number, gain: number) =>
      Float32Array.from({ length: 16000 }, (_, i) => gain * Math.sin((2 * Math.PI * hz * i) / 16000))
    const low = mfcc(tone(200, 0.5), 16000)
    const lowQuiet = mfcc(tone(200, 0.05), 16000)
    const high = mfcc(tone(3000, 0.5), 16000)
    expect(low.length).toBe(98)
    expect(low[0]?.length).toBe(MFCC_COUNT)
    const distance = (a: Float32Array, b: Float32Array) =>
      Math.hypot(...Array.from(a.slice(1), (v, i) => v - (b[i + 1] as number)))
    // c1… ignore level (c0 carries it); a different spectrum moves them a lot.
    expect(distance(low[50] as Float32Array, lowQuiet[50] as Float32Array)).toBeLessThan(0.5)
    expect(distance(low[50] as Float32Array, high[50] as Float32Array)).toBeGreaterThan(5)
  })
})
