/**
 * Loads `sherpa-onnx-node` (a native addon with onnxruntime, shipped per platform as an npm
 * package) on first use, and types the part of its API Spool calls. The package ships no type
 * declarations; the shapes below follow its `types.js`. Loading is lazy so a machine where the
 * platform package is missing still runs everything that does not need it.
 */
import { createRequire } from 'node:module'
import { AudioError } from './errors.js'

export interface SherpaWave {
  samples: Float32Array
  sampleRate: number
}

export interface SherpaVad {
  acceptWaveform(samples: Float32Array): void
  isEmpty(): boolean
  front(enableExternalBuffer?: boolean): { start: number; samples: Float32Array }
  pop(): void
  flush(): void
}

export interface SherpaOfflineStream {
  acceptWaveform(wave: SherpaWave): void
}

export interface SherpaOfflineResult {
  text: string
  tokens?: string[]
  timestamps?: number[]
  durations?: number[]
  lang?: string
}

export interface SherpaOfflineRecognizer {
  createStream(): SherpaOfflineStream
  decodeAsync(stream: SherpaOfflineStream): Promise<SherpaOfflineResult>
}

export interface SherpaSpeakerDiarization {
  sampleRate: number
  process(samples: Float32Array): { start: number; end: number; speaker: number }[]
}

export interface SherpaModule {
  version: string
  Vad: new (config: Record<string, unknown>, bufferSizeInSeconds: number) => SherpaVad
  OfflineRecognizer: {
    createAsync(config: Record<string, unknown>): Promise<SherpaOfflineRecognizer>
  }
  OfflineSpeakerDiarization: new (config: Record<string, unknown>) => SherpaSpeakerDiarization
}

let loaded: SherpaModule | undefined

/**
 * The sherpa-onnx binding, or an `AUDIO_ENGINE_UNAVAILABLE` error saying why it cannot load.
 *
 * @example
 * const sherpa = loadSherpa()
 * const vad = new sherpa.Vad({ sileroVad: { model }, sampleRate: 16000 }, 60)
 */
export function loadSherpa(): SherpaModule {
  if (loaded) return loaded
  try {
    loaded = createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule
    return loaded
  } catch (error) {
    throw new AudioError(
      'AUDIO_ENGINE_UNAVAILABLE',
      `sherpa-onnx-node cannot be loaded: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      { engine: 'sherpa' },
      { cause: error },
    )
  }
}
