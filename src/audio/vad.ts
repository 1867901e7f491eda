/**
 * Voice activity detection: where the speech is, in seconds. Two engines:
 *
 * - **Silero VAD** through sherpa-onnx, when `silero-vad/silero_vad.onnx` is in the models folder
 *   (`models.ts`). A small neural model; robust to background noise, ~0.01 × real time here.
 * - **WebRTC VAD** (`@echogarden/fvad-wasm`), always available: a GMM-based classifier on 30 ms
 *   frames, weaker in noise (it marks most of a hissy recording as speech), but it needs no
 *   model file, so a fresh machine still runs the whole pipeline.
 *
 * Both are fed in blocks, so an hour-long file is never in memory whole, and both end with the
 * same clean-up: pauses shorter than `minSilenceSec` are bridged and blips shorter than
 * `minSpeechSec` dropped.
 */
import fvad, { type FvadModule } from '@echogarden/fvad-wasm'
import { findModelFile } from './models.js'
import { loadSherpa } from './sherpa.js'
import { readWav, readWavInfo } from './wav.js'

export interface SpeechSegment {
  /** Seconds. */
  start: number
  end: number
}

export type VadEngineName = 'silero' | 'webrtc'

export interface VadOptions {
  /** `auto` (default): Silero when its model file exists, else WebRTC. */
  engine?: 'auto' | VadEngineName
  /** Overrides the model lookup (`<models>/silero-vad/silero_vad.onnx`). */
  sileroModelPath?: string
  /** The models folder to look in (default `modelsDir()`: `SPOOL_MODELS_DIR`, else `../shared/models`). */
  modelsDir?: string
  /** Silero speech probability threshold. Default 0.5. */
  threshold?: number
  /** WebRTC aggressiveness 0–3. Default 3. */
  webrtcMode?: 0 | 1 | 2 | 3
  /** Pauses shorter than this are bridged. Default 0.3 s. */
  minSilenceSec?: number
  /** Speech shorter than this is dropped. Default 0.25 s. */
  minSpeechSec?: number
  signal?: AbortSignal | undefined
}

export interface VadResult {
  engine: VadEngineName
  segments: SpeechSegment[]
}

/** Which engine `auto` picks on this machine, and the Silero model it would use. */
export function vadEngineAvailable(options: Pick<VadOptions, 'engine' | 'sileroModelPath' | 'modelsDir'> = {}): {
  engine: VadEngineName
  model?: string
} {
  if (options.engine === 'webrtc') return { engine: 'webrtc' }
  const model = options.sileroModelPath ?? findModelFile('silero-vad/silero_vad.onnx', options.modelsDir)
  if (model) {
    try {
      loadSherpa()
      return { engine: 'silero', model }
    } catch (error) {
      if (options.engine === 'silero') throw error
    }
  }
  if (options.engine === 'silero') throw new Error('Silero VAD model file not found (silero-vad/silero_vad.onnx)')
  return { engine: 'webrtc' }
}

/**
 * Speech segments of in-memory samples (any rate Silero or WebRTC accepts: 8/16 kHz; 16 kHz here).
 *
 * @example
 * const { segments } = await detectSpeech(samples, 16000)
 */
export async function detectSpeech(
  samples: Float32Array,
  sampleRate: number,
  options: VadOptions = {},
): Promise<VadResult> {
  const detector = await createDetector(sampleRate, options)
  const block = sampleRate * 30
  for (let i = 0; i < samples.length; i += block) {
    options.signal?.throwIfAborted()
    detector.accept(samples.subarray(i, Math.min(samples.length, i + block)))
  }
  return { engine: detector.engine, segments: tidy(detector.finish(), options) }
}

/**
 * Speech segments of a mono 16-bit WAV, read 60 s at a time.
 *
 * @example
 * const { engine, segments } = await detectSpeechInFile(pre.path, { signal })
 */
export async function detectSpeechInFile(path: string, options: VadOptions = {}): Promise<VadResult> {
  const info = await readWavInfo(path)
  const detector = await createDetector(info.sampleRate, options)
  for (let start = 0; start < info.durationSec; start += 60) {
    options.signal?.throwIfAborted()
    const { samples } = await readWav(path, { startSec: start, endSec: start + 60 })
    detector.accept(samples)
  }
  return { engine: detector.engine, segments: tidy(detector.finish(), options) }
}

interface Detector {
  engine: VadEngineName
  accept(samples: Float32Array): void
  finish(): SpeechSegment[]
}

async function createDetector(sampleRate: number, options: VadOptions): Promise<Detector> {
  const choice = vadEngineAvailable(options)
  return choice.engine === 'silero' && choice.model
    ? sileroDetector(choice.model, sampleRate, options)
    : await webrtcDetector(sampleRate, options)
}

function sileroDetector(model: string, sampleRate: number, options: VadOptions): Detector {
  const sherpa = loadSherpa()
  const window = 512
  const vad = new sherpa.Vad(
    {
      sileroVad: {
        model,
        threshold: options.threshold ?? 0.5,
        minSilenceDuration: options.minSilenceSec ?? 0.3,
        minSpeechDuration: options.minSpeechSec ?? 0.25,
        windowSize: window,
        // Long enough never to split ordinary speech; the chunk planner does the splitting.
        maxSpeechDuration: 600,
      },
      sampleRate,
      numThreads: 1,
      debug: false,
    },
    // Its ring buffer must hold the longest segment it may return.
    620,
  )
  const segments: SpeechSegment[] = []
  let pending = new Float32Array(0)
  const drain = () => {
    while (!vad.isEmpty()) {
      const front = vad.front(false)
      segments.push({ start: front.start / sampleRate, end: (front.start + front.samples.length) / sampleRate })
      vad.pop()
    }
  }
  return {
    engine: 'silero',
    accept(samples) {
      const all = pending.length > 0 ? concat(pending, samples) : samples
      const whole = all.length - (all.length % window)
      for (let i = 0; i < whole; i += window) {
        vad.acceptWaveform(all.slice(i, i + window))
        drain()
      }
      pending = all.slice(whole)
    },
    finish() {
      if (pending.length > 0) {
        const last = new Float32Array(window)
        last.set(pending)
        vad.acceptWaveform(last)
      }
      vad.flush()
      drain()
      return segments
    },
  }
}

let fvadModule: Promise<FvadModule> | undefined

async function webrtcDetector(sampleRate: number, options: VadOptions): Promise<Detector> {
  fvadModule ??= fvad()
  const m = await fvadModule
  const handle = m._fvad_new()
  if (m._fvad_set_sample_rate(handle, sampleRate) !== 0) {
    m._fvad_free(handle)
    throw new Error(`WebRTC VAD does not support ${sampleRate} Hz`)
  }
  m._fvad_set_mode(handle, options.webrtcMode ?? 3)
  const frame = Math.round(sampleRate * 0.03)
  const pointer = m._malloc(frame * 2)
  const pcm = new Int16Array(frame)
  const flags: boolean[] = []
  let pending = new Float32Array(0)
  return {
    engine: 'webrtc',
    accept(samples) {
      const all = pending.length > 0 ? concat(pending, samples) : samples
      const whole = all.length - (all.length % frame)
      for (let i = 0; i < whole; i += frame) {
        for (let j = 0; j < frame; j++)
          pcm[j] = Math.max(-32768, Math.min(32767, Math.round((all[i + j] ?? 0) * 32768)))
        m.HEAP16.set(pcm, pointer >> 1)
        flags.push(m._fvad_process(handle, pointer, frame) === 1)
      }
      pending = all.slice(whole)
    },
    finish() {
      m._free(pointer)
      m._fvad_free(handle)
      const segments: SpeechSegment[] = []
      const step = frame / sampleRate
      let start = -1
      flags.forEach((speech, i) => {
        if (speech && start < 0) start = i
        if (!speech && start >= 0) {
          segments.push({ start: start * step, end: i * step })
          start = -1
        }
      })
      if (start >= 0) segments.push({ start: start * step, end: flags.length * step })
      return segments
    },
  }
}

/** Bridges short pauses, drops short blips, rounds to milliseconds. */
function tidy(segments: SpeechSegment[], options: VadOptions): SpeechSegment[] {
  const minSilence = options.minSilenceSec ?? 0.3
  const minSpeech = options.minSpeechSec ?? 0.25
  const merged: SpeechSegment[] = []
  for (const segment of [...segments].sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1)
    if (last && segment.start - last.end < minSilence) last.end = Math.max(last.end, segment.end)
    else merged.push({ ...segment })
  }
  return merged
    .filter((s) => s.end - s.start >= minSpeech)
    .map((s) => ({ start: Math.round(s.start * 1000) / 1000, end: Math.round(s.end * 1000) / 1000 }))
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
