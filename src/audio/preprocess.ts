/**
 * The preprocess stage: any accepted upload becomes 16 kHz mono 16-bit PCM WAV, loudness
 * normalised, with leading and trailing silence trimmed, optionally denoised.
 *
 * Design, with what it trades:
 * - **One ffmpeg decode** (plus `afftdn` when denoising) to a temporary WAV, then one pass in
 *   TypeScript over that file that measures the EBU R128 integrated loudness (ITU-R BS.1770
 *   K-weighting at 16 kHz with libebur128's filter formulas, 400 ms blocks, absolute and relative
 *   gates), the sample peak and the 20 ms frame levels for trimming, on typed arrays.
 *   ffmpeg's own `loudnorm` filter was measured at 0.028 × real time on this 2-core machine
 *   (100 s for an hour) because it works at 192 kHz; its `ebur128` filter (resampling to 48 kHz)
 *   took ~5 s of an hour's preprocessing; the pass here reads 16 kHz once for all three
 *   (docs/performance.md). `measureLoudness` (ffmpeg) stays as the independent check in tests.
 * - **Linear gain** to the target loudness (default −20 LUFS), capped so the sample peak stays at
 *   or below −1 dBFS: no compression, so timing and spectra stay as recorded (the diarizer
 *   fingerprints spectra) and nothing clips.
 * - **Trim in TypeScript** on 20 ms frames: everything before the first and after the last frame
 *   louder than `silenceThresholdDb` (after gain), less `trimPaddingSec`, is cut. The result
 *   records `trimmedStartSec`, so a timestamp `t` in the output is `t + trimmedStartSec` in the
 *   original recording (`toOriginalTime`).
 */
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { runCommand } from './command.js'
import { ffmpegPath } from './tools.js'
import { readWavInfo, wavHeader } from './wav.js'

export const PIPELINE_SAMPLE_RATE = 16_000

export interface PreprocessOptions {
  /** Integrated loudness to aim for, LUFS. Default −20; `null` leaves the level alone. */
  targetLufs?: number | null
  /** Frames quieter than this (dBFS, after gain) count as silence for trimming. Default −45. */
  silenceThresholdDb?: number
  /** Silence kept before the first and after the last sound. Default 0.25 s. */
  trimPaddingSec?: number
  /** `false` keeps leading and trailing silence. Default true. */
  trim?: boolean
  /** FFT denoising (`afftdn`) before anything else. Default false. */
  denoise?: boolean
  /** The input's duration if known (validate gives it): lets progress be reported. */
  durationSec?: number
  /** Fraction done, 0–1, as ffmpeg decodes. */
  onProgress?: (fraction: number) => void
  signal?: AbortSignal | undefined
}

export interface PreprocessResult {
  path: string
  sampleRate: number
  durationSec: number
  /** Seconds cut from the start: output time + this = original time. */
  trimmedStartSec: number
  /** Seconds cut from the end. */
  trimmedEndSec: number
  /** Duration of the decoded input before trimming. */
  originalDurationSec: number
  /** Measured integrated loudness of the input (LUFS); undefined for silence. */
  inputLufs: number | undefined
  /** Gain applied, dB. */
  gainDb: number
  warnings: string[]
}

const FRAME_SEC = 0.02

/**
 * Converts `input` to the pipeline's WAV at `output`. The temporary file sits beside `output`
 * and is removed whatever happens; an aborted signal kills ffmpeg at once.
 *
 * @example
 * const pre = await preprocessAudio('upload.m4a', 'work/session-1/audio.wav', { signal, denoise: true })
 * pre.trimmedStartSec // 1.42: add to every timestamp to place it in the upload
 */
export async function preprocessAudio(
  input: string,
  output: string,
  options: PreprocessOptions = {},
): Promise<PreprocessResult> {
  const {
    targetLufs = -20,
    silenceThresholdDb = -45,
    trimPaddingSec = 0.25,
    trim = true,
    denoise = false,
    signal,
  } = options
  const decoded = join(dirname(output), `.decode-${randomUUID()}.wav`)
  const warnings: string[] = []
  try {
    const filters = [...(denoise ? ['afftdn=nf=-25'] : []), `aresample=${PIPELINE_SAMPLE_RATE}`]
    await runCommand(
      ffmpegPath(),
      [
        '-nostdin',
        '-v',
        'error',
        '-nostats',
        '-y',
        '-i',
        input,
        '-map',
        '0:a:0',
        '-af',
        filters.join(','),
        '-ac',
        '1',
        '-ar',
        String(PIPELINE_SAMPLE_RATE),
        '-c:a',
        'pcm_s16le',
        '-progress',
        'pipe:1',
        decoded,
      ],
      {
        signal,
        onStdout: (chunk) => {
          if (!options.onProgress || !options.durationSec) return
          const last = [...chunk.matchAll(/^out_time_us=(\d+)$/gm)].at(-1)
          if (last) options.onProgress(Math.min(1, Number(last[1]) / 1e6 / options.durationSec))
        },
      },
    )
    const info = await readWavInfo(decoded)
    const { frames, ...loudness } = await analyse(decoded, info.dataOffset, info.dataBytes, signal)
    let gainDb = 0
    if (targetLufs !== null && loudness.integratedLufs !== undefined) {
      gainDb = Math.min(targetLufs - loudness.integratedLufs, -1 - loudness.samplePeakDb)
    } else if (targetLufs !== null) {
      warnings.push('the recording is silent: no loudness to normalise')
    }
    const gain = 10 ** (gainDb / 20)
    let first = 0
    let last = frames.length
    if (trim) {
      const threshold = silenceThresholdDb - gainDb
      const loud = (db: number) => db > threshold
      const firstLoud = frames.findIndex(loud)
      if (firstLoud === -1) {
        warnings.push(`nothing louder than ${silenceThresholdDb} dBFS: not trimmed`)
      } else {
        const lastLoud = frames.length - 1 - [...frames].reverse().findIndex(loud)
        const pad = Math.round(trimPaddingSec / FRAME_SEC)
        first = Math.max(0, firstLoud - pad)
        last = Math.min(frames.length, lastLoud + 1 + pad)
      }
    }
    const frameSamples = Math.round(FRAME_SEC * PIPELINE_SAMPLE_RATE)
    const totalSamples = info.dataBytes >> 1
    const firstSample = first * frameSamples
    const lastSample = Math.min(totalSamples, last * frameSamples)
    await writeScaled(decoded, output, info.dataOffset, firstSample, lastSample, gain, signal)
    return {
      path: output,
      sampleRate: PIPELINE_SAMPLE_RATE,
      durationSec: (lastSample - firstSample) / PIPELINE_SAMPLE_RATE,
      trimmedStartSec: firstSample / PIPELINE_SAMPLE_RATE,
      trimmedEndSec: (totalSamples - lastSample) / PIPELINE_SAMPLE_RATE,
      originalDurationSec: totalSamples / PIPELINE_SAMPLE_RATE,
      inputLufs: loudness.integratedLufs,
      gainDb,
      warnings,
    }
  } catch (error) {
    await rm(output, { force: true })
    throw error
  } finally {
    await rm(decoded, { force: true })
  }
}

/**
 * Maps a time in the preprocessed audio back to the uploaded recording.
 *
 * @example
 * toOriginalTime(3.5, pre) // 4.92 when 1.42 s were trimmed from the start
 */
export function toOriginalTime(sec: number, pre: Pick<PreprocessResult, 'trimmedStartSec'>): number {
  return sec + pre.trimmedStartSec
}

/** EBU R128 integrated loudness and sample peak of a WAV, through ffmpeg's `ebur128` filter. */
export async function measureLoudness(
  path: string,
  signal?: AbortSignal,
): Promise<{ integratedLufs: number | undefined; samplePeakDb: number }> {
  const { stderr } = await runCommand(
    ffmpegPath(),
    [
      '-nostdin',
      '-hide_banner',
      '-nostats',
      '-i',
      path,
      '-af',
      'aresample=48000,ebur128=peak=sample',
      '-f',
      'null',
      '-',
    ],
    { signal },
  )
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'))
  const integrated = Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1])
  const peak = Number(/Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)?.[1])
  return {
    // ebur128 reports −70 LUFS (its absolute gate) for silence.
    integratedLufs: Number.isFinite(integrated) && integrated > -70 ? integrated : undefined,
    samplePeakDb: Number.isFinite(peak) ? peak : 0,
  }
}

/** The little-endian 16-bit samples of `bytes` (an even length), copied only when misaligned. */
function int16(bytes: Buffer): Int16Array {
  return bytes.byteOffset % 2 === 0
    ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1)
    : new Int16Array(Uint8Array.prototype.slice.call(bytes).buffer)
}

/** Biquad coefficients of BS.1770's K-weighting at `rate`, as libebur128 derives them. */
function kWeighting(rate: number): { b: number[]; a: number[] }[] {
  let f0 = 1681.974450955533
  const g = 3.999843853973347
  let q = 0.7071752369554196
  let k = Math.tan((Math.PI * f0) / rate)
  const vh = 10 ** (g / 20)
  const vb = vh ** 0.4996667741545416
  let a0 = 1 + k / q + k * k
  const shelf = {
    b: [(vh + (vb * k) / q + k * k) / a0, (2 * (k * k - vh)) / a0, (vh - (vb * k) / q + k * k) / a0],
    a: [1, (2 * (k * k - 1)) / a0, (1 - k / q + k * k) / a0],
  }
  f0 = 38.13547087602444
  q = 0.5003270373238773
  k = Math.tan((Math.PI * f0) / rate)
  a0 = 1 + k / q + k * k
  const highPass = { b: [1, -2, 1], a: [1, (2 * (k * k - 1)) / a0, (1 - k / q + k * k) / a0] }
  return [shelf, highPass]
}

/**
 * One pass over a 16 kHz mono WAV's samples: the peak of each 20 ms frame (dBFS), the sample
 * peak (dBFS) and the EBU R128 integrated loudness (LUFS; undefined when no 400 ms block is above
 * the −70 LUFS absolute gate, i.e. silence).
 */
async function analyse(
  path: string,
  dataOffset: number,
  dataBytes: number,
  signal?: AbortSignal,
): Promise<{ frames: Float32Array; integratedLufs: number | undefined; samplePeakDb: number }> {
  const frameSamples = Math.round(FRAME_SEC * PIPELINE_SAMPLE_RATE)
  const totalSamples = dataBytes >> 1
  const frames = new Float32Array(Math.ceil(totalSamples / frameSamples))
  // Mean square of K-weighted samples per 100 ms step; a gating block is four steps.
  const stepSamples = PIPELINE_SAMPLE_RATE / 10
  const steps = new Float64Array(Math.floor(totalSamples / stepSamples))
  const [shelf, highPass] = kWeighting(PIPELINE_SAMPLE_RATE) as [
    { b: number[]; a: number[] },
    { b: number[]; a: number[] },
  ]
  const [sb0, sb1, sb2] = shelf.b as [number, number, number]
  const [, sa1, sa2] = shelf.a as [number, number, number]
  const [, ha1, ha2] = highPass.a as [number, number, number]
  let s1 = 0
  let s2 = 0
  let h1 = 0
  let h2 = 0
  let peak = 0
  let position = 0
  let power = 0
  if (dataBytes > 0) {
    let carry: Buffer = Buffer.alloc(0)
    for await (const block of createReadStream(path, {
      start: dataOffset,
      end: dataOffset + dataBytes - 1,
      highWaterMark: 1 << 20,
    })) {
      signal?.throwIfAborted()
      const bytes = carry.length > 0 ? Buffer.concat([carry, block as Buffer]) : (block as Buffer)
      const whole = bytes.length - (bytes.length % 2)
      const samples = int16(bytes.subarray(0, whole))
      for (let i = 0; i < samples.length; i++) {
        const x = (samples[i] as number) / 32768
        const magnitude = x < 0 ? -x : x
        const frame = (position / frameSamples) | 0
        if (magnitude > (frames[frame] as number)) frames[frame] = magnitude
        if (magnitude > peak) peak = magnitude
        // Direct form II: the high shelf, then the high-pass (b = 1, −2, 1).
        const s0 = x - sa1 * s1 - sa2 * s2
        const y = sb0 * s0 + sb1 * s1 + sb2 * s2
        s2 = s1
        s1 = s0
        const h0 = y - ha1 * h1 - ha2 * h2
        const z = h0 - 2 * h1 + h2
        h2 = h1
        h1 = h0
        power += z * z
        position++
        if (position % stepSamples === 0) {
          const step = position / stepSamples - 1
          if (step < steps.length) steps[step] = power / stepSamples
          power = 0
        }
      }
      carry = bytes.subarray(whole)
    }
  }
  for (let i = 0; i < frames.length; i++) frames[i] = 20 * Math.log10(Math.max(frames[i] ?? 0, 1e-6))
  const blocks: number[] = []
  for (let i = 0; i + 4 <= steps.length; i++) {
    const mean =
      ((steps[i] as number) + (steps[i + 1] as number) + (steps[i + 2] as number) + (steps[i + 3] as number)) / 4
    if (-0.691 + 10 * Math.log10(mean) > -70) blocks.push(mean)
  }
  let integratedLufs: number | undefined
  if (blocks.length > 0) {
    const relative = -0.691 + 10 * Math.log10(blocks.reduce((sum, p) => sum + p, 0) / blocks.length) - 10
    const gated = blocks.filter((p) => -0.691 + 10 * Math.log10(p) > relative)
    integratedLufs = -0.691 + 10 * Math.log10(gated.reduce((sum, p) => sum + p, 0) / gated.length)
  }
  return { frames, integratedLufs, samplePeakDb: 20 * Math.log10(Math.max(peak, 1e-6)) }
}

/** Writes samples `[first, last)` of `source` times `gain` as a new WAV. */
async function writeScaled(
  source: string,
  target: string,
  dataOffset: number,
  first: number,
  last: number,
  gain: number,
  signal?: AbortSignal,
): Promise<void> {
  const out = createWriteStream(target)
  try {
    out.write(wavHeader(last - first, PIPELINE_SAMPLE_RATE))
    if (last > first) {
      const input = createReadStream(source, {
        start: dataOffset + first * 2,
        end: dataOffset + last * 2 - 1,
        highWaterMark: 1 << 20,
      })
      let carry: Buffer = Buffer.alloc(0)
      for await (const block of input) {
        signal?.throwIfAborted()
        const bytes = carry.length > 0 ? Buffer.concat([carry, block as Buffer]) : (block as Buffer)
        const whole = bytes.length - (bytes.length % 2)
        const samples = int16(bytes.subarray(0, whole))
        const scaled = new Int16Array(samples.length)
        for (let i = 0; i < samples.length; i++) {
          const value = Math.round((samples[i] as number) * gain)
          scaled[i] = Math.min(32767, Math.max(-32768, value))
        }
        carry = bytes.subarray(whole)
        if (!out.write(Buffer.from(scaled.buffer, scaled.byteOffset, scaled.byteLength))) await once(out, 'drain')
      }
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  }
}
