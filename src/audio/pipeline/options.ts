/**
 * The audio pipeline's settings, with their defaults in one place. The server reads them from
 * its `audio` configuration section (flags, `SPOOL_AUDIO_*` variables, a file); the library
 * takes them as `Partial<AudioPipelineOptions>`.
 *
 * | setting | default | meaning |
 * |---|---|---|
 * | `dir` | `./data/audio` | where encrypted audio and working copies live |
 * | `maxUploadBytes` | 500 MiB | larger uploads are refused (413) without being read further |
 * | `maxDurationSec` | 4 h | longer recordings are refused (422) |
 * | `uploadValidation` | `full` | `full` decodes the whole upload before answering (catches truncation); `probe` trusts the headers |
 * | `audioRetentionMs` | 7 days | audio is deleted this long after a session finished (transcripts stay until DELETE) |
 * | `engines` | pocketsphinx, baseline, extractive (openai notes when `SPOOL_OPENAI_BASE_URL` is set) | defaults; a session may pick others |
 * | `chunkSec` | 30 | transcription chunks are at most this long, cut at pauses |
 * | `diarizationChunkSec` | 60 | pieces fingerprinted in parallel by the baseline diarizer |
 * | `concurrency` | see `DEFAULT_CONCURRENCY` | jobs per stage this process runs at once |
 * | `limits` | none | cross-node caps per engine family: `{ concurrency?, rateLimit? }` |
 * | `breakers` | 5 failures, 30 s cool-down | circuit breaker settings per engine family |
 * | `retry` | 3 attempts, 2 s exponential backoff | per stage overrides in `stageRetry` |
 */
import { cpus } from 'node:os'
import type { BreakerPolicy, RateLimit } from '../../store/store.js'
import type { DiarizationEngineConfig } from '../engines/diarization/index.js'
import type { TranscriptionEngineConfig } from '../engines/transcription/index.js'
import type { OpenAINotesConfig } from '../notes/openai.js'
import { openaiNotesConfigFromEnv } from '../notes/openai.js'
import { DEFAULT_MAX_AUDIO_BYTES, DEFAULT_MAX_AUDIO_SECONDS } from '../validate.js'

export const STAGES = [
  'validate',
  'preprocess',
  'transcribe',
  'transcribeChunk',
  'diarize',
  'diarizeChunk',
  'merge',
  'notes',
  'save',
] as const
export type Stage = (typeof STAGES)[number]

/** The queue each stage's jobs go to. */
export const QUEUES: Record<Stage | 'retention', string> = {
  validate: 'audio.validate',
  preprocess: 'audio.preprocess',
  transcribe: 'audio.transcribe',
  transcribeChunk: 'audio.transcribe-chunk',
  diarize: 'audio.diarize',
  diarizeChunk: 'audio.diarize-chunk',
  merge: 'audio.merge',
  notes: 'audio.notes',
  save: 'audio.save',
  retention: 'audio.retention',
}

export type EngineFamily = 'transcription' | 'diarization' | 'notes'

export interface StageRetry {
  maxAttempts?: number
  /** First retry delay; doubles per attempt up to `maxBackoffMs`. */
  backoffMs?: number
  maxBackoffMs?: number
  /** One attempt's time limit. */
  timeoutMs?: number
}

export interface AudioPipelineOptions {
  dir: string
  maxUploadBytes: number
  maxDurationSec: number
  uploadValidation: 'full' | 'probe'
  audioRetentionMs: number
  engines: { transcription: string; diarization: string; notes: string }
  chunkSec: number
  diarizationChunkSec: number
  /** Audio either side of a transcription chunk the engine hears (words there are dropped). */
  chunkContextSec: number
  concurrency: Record<Stage, number>
  limits: Partial<Record<EngineFamily, { concurrency?: number; rateLimit?: RateLimit }>>
  breakers: Record<EngineFamily, Partial<BreakerPolicy>>
  retry: Required<Omit<StageRetry, 'timeoutMs'>>
  stageRetry: Partial<Record<Stage, StageRetry>>
  preprocess: { denoise: boolean; targetLufs: number | null }
  /** Settings handed to the engines (model folders, OpenAI-compatible endpoints…). */
  engineConfig: {
    transcription?: TranscriptionEngineConfig
    diarization?: DiarizationEngineConfig
    notes?: { openai?: OpenAINotesConfig | undefined }
  }
  /** `POST /v1/audio/transcriptions`: how long it waits for the job, and whether the session stays. */
  compat: { waitMs: number; keep: boolean }
  env: NodeJS.ProcessEnv
}

const cores = Math.max(1, cpus().length)

export const DEFAULT_CONCURRENCY: Record<Stage, number> = {
  validate: 2,
  preprocess: 2,
  transcribe: 4,
  transcribeChunk: cores,
  diarize: 4,
  diarizeChunk: cores,
  merge: 4,
  notes: 2,
  save: 4,
}

/** Default stage limits: engines that call out get longer budgets. */
const STAGE_TIMEOUT_MS: Record<Stage, number> = {
  validate: 30 * 60_000,
  preprocess: 30 * 60_000,
  transcribe: 10 * 60_000,
  transcribeChunk: 10 * 60_000,
  diarize: 30 * 60_000,
  diarizeChunk: 10 * 60_000,
  merge: 10 * 60_000,
  notes: 10 * 60_000,
  save: 5 * 60_000,
}

/**
 * Every setting, defaults filled in.
 *
 * @example
 * const options = resolvePipelineOptions({ dir: './data/audio', engines: { transcription: 'openai' } })
 */
export function resolvePipelineOptions(
  input: Partial<
    Omit<AudioPipelineOptions, 'engines' | 'concurrency' | 'retry' | 'preprocess' | 'compat' | 'breakers'>
  > & {
    breakers?: Partial<AudioPipelineOptions['breakers']>
    engines?: Partial<AudioPipelineOptions['engines']>
    concurrency?: Partial<Record<Stage, number>>
    retry?: Partial<AudioPipelineOptions['retry']>
    preprocess?: Partial<AudioPipelineOptions['preprocess']>
    compat?: Partial<AudioPipelineOptions['compat']>
  } = {},
): AudioPipelineOptions {
  const env = input.env ?? process.env
  const notesDefault = input.engineConfig?.notes?.openai || openaiNotesConfigFromEnv(env) ? 'openai' : 'extractive'
  return {
    dir: input.dir ?? './data/audio',
    maxUploadBytes: input.maxUploadBytes ?? DEFAULT_MAX_AUDIO_BYTES,
    maxDurationSec: input.maxDurationSec ?? DEFAULT_MAX_AUDIO_SECONDS,
    uploadValidation: input.uploadValidation ?? 'full',
    audioRetentionMs: input.audioRetentionMs ?? 7 * 86_400_000,
    engines: {
      transcription: input.engines?.transcription ?? 'pocketsphinx',
      diarization: input.engines?.diarization ?? 'baseline',
      notes: input.engines?.notes ?? notesDefault,
    },
    chunkSec: input.chunkSec ?? 30,
    diarizationChunkSec: input.diarizationChunkSec ?? 60,
    chunkContextSec: input.chunkContextSec ?? 0,
    concurrency: { ...DEFAULT_CONCURRENCY, ...input.concurrency },
    limits: input.limits ?? {},
    breakers: {
      transcription: input.breakers?.transcription ?? {},
      diarization: input.breakers?.diarization ?? {},
      notes: input.breakers?.notes ?? {},
    },
    retry: { maxAttempts: 3, backoffMs: 2_000, maxBackoffMs: 60_000, ...input.retry },
    stageRetry: input.stageRetry ?? {},
    preprocess: { denoise: false, targetLufs: -20, ...input.preprocess },
    engineConfig: input.engineConfig ?? {},
    compat: { waitMs: 10 * 60_000, keep: false, ...input.compat },
    env,
  }
}

/** The enqueue options of one stage's jobs. */
export function stageJobOptions(options: AudioPipelineOptions, stage: Stage) {
  const own = options.stageRetry[stage] ?? {}
  return {
    maxAttempts: own.maxAttempts ?? options.retry.maxAttempts,
    backoff: {
      type: 'exponential' as const,
      delayMs: own.backoffMs ?? options.retry.backoffMs,
      maxDelayMs: own.maxBackoffMs ?? options.retry.maxBackoffMs,
      jitter: 0.2,
    },
    timeoutMs: own.timeoutMs ?? STAGE_TIMEOUT_MS[stage],
  }
}
