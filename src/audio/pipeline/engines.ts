/**
 * Which engine a session's stage runs: the built-in ones (`engines/…`, `notes/…`) by name, plus
 * any an application registers (`registerAudioEngine`) — an in-house ASR service, or, in the
 * tests, engines that fail on purpose. Names are checked when a session is created, so a
 * session never waits in a queue for an engine this server cannot run.
 */
import { createDiarizationEngine, diarizationEngineStatus } from '../engines/diarization/index.js'
import type { DiarizationEngine } from '../engines/diarization/types.js'
import { createTranscriptionEngine, transcriptionEngineStatus } from '../engines/transcription/index.js'
import type { TranscriptionEngine } from '../engines/transcription/types.js'
import { AudioError } from '../errors.js'
import { createNotesEngine } from '../notes/index.js'
import { openaiNotesConfigFromEnv } from '../notes/openai.js'
import type { NotesEngine } from '../notes/types.js'
import type { AudioPipelineOptions, EngineFamily } from './options.js'

interface EngineTypes {
  transcription: TranscriptionEngine
  diarization: DiarizationEngine
  notes: NotesEngine
}

type Factory<F extends EngineFamily> = (options: AudioPipelineOptions) => EngineTypes[F]

const BUILT_IN: Record<EngineFamily, readonly string[]> = {
  transcription: ['pocketsphinx', 'sherpa', 'openai'],
  diarization: ['baseline', 'sherpa', 'none'],
  notes: ['extractive', 'openai'],
}

const custom: { [F in EngineFamily]: Map<string, Factory<F>> } = {
  transcription: new Map(),
  diarization: new Map(),
  notes: new Map(),
}

/**
 * Adds an engine sessions may name in `metadata.engines` (in this process: register it where
 * both the server and the workers run, or in both).
 *
 * @example
 * registerAudioEngine('transcription', 'in-house', () => ({
 *   name: 'in-house',
 *   transcribe: async (wavPath, { language, signal } = {}) => callMyAsr(wavPath, language, signal),
 * }))
 */
export function registerAudioEngine<F extends EngineFamily>(family: F, name: string, factory: Factory<F>): void {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) throw new Error(`engine name "${name}" is not allowed`)
  ;(custom[family] as Map<string, Factory<F>>).set(name, factory)
}

/** Removes an engine added with `registerAudioEngine`. */
export function unregisterAudioEngine(family: EngineFamily, name: string): void {
  custom[family].delete(name)
}

/** Every engine name of a family this process knows. */
export function engineNames(family: EngineFamily): string[] {
  return [...BUILT_IN[family], ...custom[family].keys()]
}

/**
 * Whether each engine of each family can run here, and why not.
 *
 * @example
 * engineStatus(options).transcription.pocketsphinx // { available: true }
 */
export function engineStatus(
  options: AudioPipelineOptions,
): Record<EngineFamily, Record<string, { available: boolean; reason?: string }>> {
  const transcription: Record<string, { available: boolean; reason?: string }> = transcriptionEngineStatus(
    options.engineConfig.transcription,
    options.env,
  )
  const diarization: Record<string, { available: boolean; reason?: string }> = diarizationEngineStatus(
    options.engineConfig.diarization,
    options.env,
  )
  const openaiNotes = options.engineConfig.notes?.openai ?? openaiNotesConfigFromEnv(options.env)
  const notes: Record<string, { available: boolean; reason?: string }> = {
    extractive: { available: true },
    openai: openaiNotes ? { available: true } : { available: false, reason: 'no SPOOL_OPENAI_BASE_URL' },
  }
  for (const name of custom.transcription.keys()) transcription[name] = { available: true }
  for (const name of custom.diarization.keys()) diarization[name] = { available: true }
  for (const name of custom.notes.keys()) notes[name] = { available: true }
  return { transcription, diarization, notes }
}

/**
 * Throws an `AudioError` when `name` is no engine of `family`, or one this machine cannot run.
 *
 * @example
 * assertEngine(options, 'transcription', metadata.engines?.transcription ?? options.engines.transcription)
 */
export function assertEngine(options: AudioPipelineOptions, family: EngineFamily, name: string): void {
  const status = engineStatus(options)[family][name]
  if (!status) {
    throw new AudioError(
      'AUDIO_INVALID_CONFIG',
      `Unknown ${family} engine "${name}" (${engineNames(family).join(', ')})`,
      { field: `metadata.engines.${family}` },
    )
  }
  if (!status.available) {
    throw new AudioError(
      'AUDIO_ENGINE_UNAVAILABLE',
      `The ${family} engine "${name}" cannot run on this server: ${status.reason}`,
      { field: `metadata.engines.${family}`, engine: name },
    )
  }
}

export function transcriptionEngine(options: AudioPipelineOptions, name: string): TranscriptionEngine {
  const factory = custom.transcription.get(name)
  return factory ? factory(options) : createTranscriptionEngine(name, options.engineConfig.transcription, options.env)
}

export function diarizationEngine(options: AudioPipelineOptions, name: string): DiarizationEngine {
  const factory = custom.diarization.get(name)
  return factory ? factory(options) : createDiarizationEngine(name, options.engineConfig.diarization)
}

export function notesEngine(options: AudioPipelineOptions, name: string): NotesEngine {
  const factory = custom.notes.get(name)
  return factory ? factory(options) : createNotesEngine(name, options.engineConfig.notes, options.env)
}

/** Whether the baseline diarizer's per-chunk fan-out applies (a registered engine overrides the name). */
export function isBaselineDiarizer(name: string): boolean {
  return name === 'baseline' && !custom.diarization.has(name)
}
