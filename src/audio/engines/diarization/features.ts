/**
 * Spectral features for the baseline diarizer, computed in TypeScript: 25 ms Hamming frames
 * every 10 ms, a 512-point FFT, 40 mel bands (20–7,600 Hz), log energies, and a DCT to MFCCs.
 * These are the classic speaker-recognition front end (what i-vector systems were built on);
 * enough to tell voices apart by vocal-tract shape when no neural embedding model is available.
 *
 * Cost: ~100 frames per second of audio, each a 512-point FFT: about 20 ms of CPU per minute
 * of audio here, so feature extraction is never the slow part of diarization.
 */

export const FRAME_HOP_SEC = 0.01
const FRAME_SEC = 0.025
const FFT_SIZE = 512
const MEL_BANDS = 40
export const MFCC_COUNT = 20

/** An in-place iterative radix-2 FFT of length 2^k over separate real and imaginary arrays. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length
  if (n !== im.length || (n & (n - 1)) !== 0) throw new RangeError('fft length must be a power of two')
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1
    for (; j & bit; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      const tr = re[i] as number
      re[i] = re[j] as number
      re[j] = tr
      const ti = im[i] as number
      im[i] = im[j] as number
      im[j] = ti
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1
    const step = (-2 * Math.PI) / size
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const cos = Math.cos(step * k)
        const sin = Math.sin(step * k)
        const a = start + k
        const b = a + half
        const br = re[b] as number
        const bi = im[b] as number
        const tr = br * cos - bi * sin
        const ti = br * sin + bi * cos
        re[b] = (re[a] as number) - tr
        im[b] = (im[a] as number) - ti
        re[a] = (re[a] as number) + tr
        im[a] = (im[a] as number) + ti
      }
    }
  }
}

const hz2mel = (hz: number) => 2595 * Math.log10(1 + hz / 700)
const mel2hz = (mel: number) => 700 * (10 ** (mel / 2595) - 1)

/** Triangular mel filters over the FFT bins, one row per band. */
export function melFilterbank(sampleRate: number, bands = MEL_BANDS, low = 20, high = 7600): Float64Array[] {
  const top = Math.min(high, sampleRate / 2)
  const mels = Array.from(
    { length: bands + 2 },
    (_, i) => hz2mel(low) + ((hz2mel(top) - hz2mel(low)) * i) / (bands + 1),
  )
  const bins = mels.map((m) => (mel2hz(m) * FFT_SIZE) / sampleRate)
  return Array.from({ length: bands }, (_, b) => {
    const row = new Float64Array(FFT_SIZE / 2 + 1)
    const [left, centre, right] = [bins[b] as number, bins[b + 1] as number, bins[b + 2] as number]
    for (let k = 0; k < row.length; k++) {
      if (k > left && k <= centre) row[k] = (k - left) / (centre - left)
      else if (k > centre && k < right) row[k] = (right - k) / (right - centre)
    }
    return row
  })
}

const filterbanks = new Map<string, Float64Array[]>()
const windows = new Map<number, Float64Array>()

/**
 * Log mel-band energies (natural log) for every 10 ms frame of `samples`: 25 ms Hamming frames,
 * pre-emphasis 0.97, a 512-point FFT, `bands` triangular filters from 20 to 7,600 Hz. Frame i
 * starts at `i * 0.01` s.
 *
 * @example
 * const frames = logMel(samples, 16000, 80) // frames[100][0] is the lowest band at 1.00 s
 */
export function logMel(samples: Float32Array, sampleRate: number, bands = MEL_BANDS): Float32Array[] {
  const frameLength = Math.round(FRAME_SEC * sampleRate)
  const hop = Math.round(FRAME_HOP_SEC * sampleRate)
  let window = windows.get(frameLength)
  if (!window) {
    window = Float64Array.from(
      { length: frameLength },
      (_, i) => 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (frameLength - 1)),
    )
    windows.set(frameLength, window)
  }
  const key = `${sampleRate}/${bands}`
  let bank = filterbanks.get(key)
  if (!bank) {
    bank = melFilterbank(sampleRate, bands)
    filterbanks.set(key, bank)
  }
  // Each filter's non-zero bins, so a frame costs the filters' widths rather than bands × bins.
  const spans = bank.map((row) => {
    let first = row.findIndex((w) => w !== 0)
    if (first < 0) first = 0
    let last = row.length - 1
    while (last > first && row[last] === 0) last--
    return [first, last] as const
  })
  const count = samples.length < frameLength ? 0 : Math.floor((samples.length - frameLength) / hop) + 1
  const frames: Float32Array[] = []
  const re = new Float64Array(FFT_SIZE)
  const im = new Float64Array(FFT_SIZE)
  const power = new Float64Array(FFT_SIZE / 2 + 1)
  for (let f = 0; f < count; f++) {
    re.fill(0)
    im.fill(0)
    const offset = f * hop
    let previous = offset > 0 ? (samples[offset - 1] as number) : 0
    for (let i = 0; i < frameLength && i < FFT_SIZE; i++) {
      const sample = samples[offset + i] as number
      re[i] = (sample - 0.97 * previous) * (window[i] as number)
      previous = sample
    }
    fft(re, im)
    for (let k = 0; k < power.length; k++) power[k] = (re[k] as number) ** 2 + (im[k] as number) ** 2
    const out = new Float32Array(bands)
    for (let b = 0; b < bands; b++) {
      const row = bank[b] as Float64Array
      const [first, last] = spans[b] as readonly [number, number]
      let energy = 0
      for (let k = first; k <= last; k++) energy += (row[k] as number) * (power[k] as number)
      out[b] = Math.log(energy + 1e-10)
    }
    frames.push(out)
  }
  return frames
}

/**
 * MFCCs (c0…c19) for every 10 ms frame of `samples` (a DCT of 40 log mel bands); frame i
 * starts at `i * 0.01` s.
 *
 * @example
 * const frames = mfcc(samples, 16000) // frames[100] describes 1.00–1.025 s
 */
export function mfcc(samples: Float32Array, sampleRate: number): Float32Array[] {
  return logMel(samples, sampleRate, MEL_BANDS).map((logMelFrame) => {
    const coefficients = new Float32Array(MFCC_COUNT)
    for (let c = 0; c < MFCC_COUNT; c++) {
      let sum = 0
      for (let b = 0; b < MEL_BANDS; b++)
        sum += (logMelFrame[b] as number) * Math.cos((Math.PI * c * (b + 0.5)) / MEL_BANDS)
      coefficients[c] = sum * Math.sqrt((c === 0 ? 1 : 2) / MEL_BANDS)
    }
    return coefficients
  })
}
