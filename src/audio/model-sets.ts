/**
 * The model sets `spool models pull` knows: the files sherpa-onnx publishes in its GitHub
 * releases, and where each goes under the models folder so that the engines' own detection
 * (`detectSherpaAsrModel`, `detectSherpaDiarizationModels`, the Silero VAD lookup in `vad.ts`)
 * finds it. Sizes and SHA-256 digests are given where they are known; a download is checked
 * against them, and always against its own `Content-Length`.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { detectSherpaDiarizationModels } from './engines/diarization/sherpa.js'
import { detectSherpaAsrModel } from './engines/transcription/sherpa.js'

/** Where sherpa-onnx publishes its models; a mirror keeps the `<release>/<file>` layout under its own base. */
export const SHERPA_RELEASES_URL = 'https://github.com/k2-fsa/sherpa-onnx/releases/download'

export interface ModelDownload {
  /** The release (a folder of the releases URL), e.g. `asr-models`. */
  release: string
  /** The published file name. */
  file: string
  /** Its size in bytes, when known. */
  bytes?: number
  /** Its SHA-256 (hex), when known. */
  sha256?: string
  /**
   * For a `.tar.bz2`: the folder inside the archive whose contents become `target`.
   * Without it the file itself is written to `target`.
   */
  archiveRoot?: string
  /** Where it goes, relative to the models folder. */
  target: string
}

export interface ModelSet {
  name: string
  description: string
  downloads: ModelDownload[]
  /** True when the engine that uses this set would find it complete in `modelsDir`. */
  installed(modelsDir: string): boolean
}

/**
 * Every model set, by name.
 *
 * @example
 * MODEL_SETS.find((set) => set.name === 'whisper-tiny.en')?.downloads[0]?.target // 'whisper'
 */
export const MODEL_SETS: readonly ModelSet[] = [
  {
    name: 'silero-vad',
    description: 'Silero VAD (voice activity detection for chunking and diarization)',
    downloads: [
      {
        release: 'asr-models',
        file: 'silero_vad.onnx',
        sha256: '9e2449e1087496d8d4caba907f23e0bd3f78d91fa552479bb9c23ac09cbb1fd6',
        target: 'silero-vad/silero_vad.onnx',
      },
    ],
    installed: (dir) => existsSync(join(dir, 'silero-vad', 'silero_vad.onnx')),
  },
  {
    name: 'whisper-tiny.en',
    description: 'Whisper tiny.en for the sherpa transcription engine (English, ~40 MB)',
    downloads: [
      {
        release: 'asr-models',
        file: 'sherpa-onnx-whisper-tiny.en.tar.bz2',
        archiveRoot: 'sherpa-onnx-whisper-tiny.en',
        target: 'whisper',
      },
    ],
    installed: (dir) => detectSherpaAsrModel(join(dir, 'whisper'))?.kind === 'whisper',
  },
  {
    name: 'moonshine-tiny-en',
    description: 'Moonshine tiny (int8) for the sherpa transcription engine (English, ~108 MB)',
    downloads: [
      {
        release: 'asr-models',
        file: 'sherpa-onnx-moonshine-tiny-en-int8.tar.bz2',
        bytes: 107_600_538,
        archiveRoot: 'sherpa-onnx-moonshine-tiny-en-int8',
        target: 'moonshine',
      },
    ],
    installed: (dir) => detectSherpaAsrModel(join(dir, 'moonshine'))?.kind === 'moonshine',
  },
  {
    name: 'speaker-diarization',
    description: 'pyannote segmentation 3.0 + NeMo TitaNet small embeddings for the sherpa diarization engine',
    downloads: [
      {
        release: 'speaker-segmentation-models',
        file: 'sherpa-onnx-pyannote-segmentation-3-0.tar.bz2',
        archiveRoot: 'sherpa-onnx-pyannote-segmentation-3-0',
        target: 'speaker-diarization/sherpa-onnx-pyannote-segmentation-3-0',
      },
      {
        // sic: sherpa-onnx's release is spelt "recongition".
        release: 'speaker-recongition-models',
        file: 'nemo_en_titanet_small.onnx',
        bytes: 40_257_283,
        sha256: 'ad4a1802485d8b34c722d2a9d04249662f2ece5d28a7a039063ca22f515a789e',
        target: 'speaker-diarization/nemo_en_titanet_small.onnx',
      },
    ],
    installed: (dir) => detectSherpaDiarizationModels(join(dir, 'speaker-diarization')) !== undefined,
  },
]
