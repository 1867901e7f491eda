/**
 * The preprocess stage: any accepted upload becomes 16 kHz mono 16-bit PCM WAV, loudness
 * normalised, with leading and trailing silence trimmed, optionally denoised.
 *
 * Design, with what it trades:
 * - **One ffmpeg decode** (plus `afftdn` when denoising) to a temporary WAV, then a loudness
 *   measurement with ffmpeg's `ebur128` (EBU R128 integrated loudness, LUFS) on that file.
 *   ffmpeg's own `loudnorm` filter was measured at 0.028 × real time on this 2-core machine
 *   (100 s for an hour) because it works at 192 kHz; decode plus `ebur128` is ~0.002 × real time.
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
    const loudness = await measureLoudness(decoded, signal)
    let gainDb = 0
    if (targetLufs !== null && loudness.integratedLufs !== undefined) {
      gainDb = Math.min(targetLufs - loudness.integratedLufs, -1 - loudness.samplePeakDb)
    } else if (targetLufs !== null) {
      warnings.push('the recording is silent: no loudness to normalise')
    }
    const info = await readWavInfo(decoded)
    const frames = await frameLevels(decoded, info.dataOffset, info.dataBytes)
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

/** Peak level of each 20 ms frame, dBFS, reading the file in blocks. */
async function frameLevels(path: string, dataOffset: number, dataBytes: number): Promise<Float32Array> {
  const frameBytes = Math.round(FRAME_SEC * PIPELINE_SAMPLE_RATE) * 2
  const levels = new Float32Array(Math.ceil(dataBytes / frameBytes))
  if (dataBytes === 0) return levels
  let position = 0
  let carry: Buffer = Buffer.alloc(0)
  for await (const block of createReadStream(path, {
    start: dataOffset,
    end: dataOffset + dataBytes - 1,
    highWaterMark: 1 << 20,
  })) {
    const bytes = carry.length > 0 ? Buffer.concat([carry, block as Buffer]) : (block as Buffer)
    const whole = bytes.length - (bytes.length % 2)
    for (let i = 0; i < whole; i += 2) {
      const frame = Math.floor((position + i) / frameBytes)
      const value = Math.abs(bytes.readInt16LE(i)) / 32768
      if (value > (levels[frame] ?? 0)) levels[frame] = value
    }
    position += whole
    carry = bytes.subarray(whole)
  }
  for (let i = 0; i < levels.length; i++) levels[i] = 20 * Math.log10(Math.max(levels[i] ?? 0, 1e-6))
  return levels
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
        const scaled = Buffer.alloc(whole)
        for (let i = 0; i < whole; i += 2) {
          const value = Math.round(bytes.readInt16LE(i) * gain)
          scaled.writeInt16LE(Math.min(32767, Math.max(-32768, value)), i)
        }
        carry = bytes.subarray(whole)
        if (!out.write(scaled)) await once(out, 'drain')
      }
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  }
}
