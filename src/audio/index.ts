/**
 * Spool's audio pipeline, as plain functions the flow handlers call stage by stage
 * (docs/audio.md): validate → preprocess → VAD and chunk plan → transcription ‖ diarization →
 * merge → notes, with quality checks and transcript formats.
 *
 * @example
 * import { validateAudio, preprocessAudio, detectSpeechInFile, planChunks, transcribeChunked,
 *   createTranscriptionEngine, createDiarizationEngine, mergeSpeakers, extractNotes, createNotesEngine } from './audio/index.js'
 * const info = await validateAudio(upload, { filename: 'visit.m4a' })
 * const pre = await preprocessAudio(upload, 'work/audio.wav', { durationSec: info.durationSec })
 * const vad = await detectSpeechInFile(pre.path)
 * const transcript = await transcribeChunked(createTranscriptionEngine('pocketsphinx'), pre.path, planChunks(vad.segments, pre.durationSec))
 * const diarization = await createDiarizationEngine('baseline').diarize(pre.path, { numSpeakers: 2 })
 * const merged = mergeSpeakers(transcript, diarization)
 * const { notes } = await extractNotes(createNotesEngine('extractive'), merged)
 */
export { type Chunk, type ChunkPlanOptions, planChunks } from './chunks.js'
export { CommandError, type CommandOptions, type CommandResult, runCommand } from './command.js'
export { type ContainerCheck, checkContainer } from './container.js'
export {
  type BaselineDiarizerOptions,
  createBaselineDiarizer,
  diarizeFromEmbeddings,
} from './engines/diarization/baseline.js'
export {
  type Clustering,
  type ClusterOptions,
  clusterEmbeddings,
  type Embedding,
} from './engines/diarization/cluster.js'
export {
  chunkEmbeddings,
  type EmbeddingOptions,
  embeddingWindows,
  embedSpeech,
} from './engines/diarization/embeddings.js'
export {
  createDiarizationEngine,
  DIARIZATION_ENGINES,
  type DiarizationEngineConfig,
  type DiarizationEngineName,
  diarizationEngineStatus,
} from './engines/diarization/index.js'
export { createNoDiarizer } from './engines/diarization/none.js'
export {
  createSherpaDiarizer,
  detectSherpaDiarizationModels,
  type SherpaDiarizationModels,
  sherpaDiarizationStatus,
} from './engines/diarization/sherpa.js'
export type { Diarization, DiarizationEngine, DiarizeOptions, SpeakerTurn } from './engines/diarization/types.js'
export {
  createTranscriptionEngine,
  TRANSCRIPTION_ENGINES,
  type TranscriptionEngineConfig,
  type TranscriptionEngineName,
  transcriptionEngineStatus,
} from './engines/transcription/index.js'
export {
  createOpenAITranscriptionEngine,
  type OpenAITranscriptionConfig,
  openaiTranscriptionConfigFromEnv,
} from './engines/transcription/openai.js'
export {
  createPocketsphinxEngine,
  findPocketsphinx,
  type PocketsphinxOptions,
} from './engines/transcription/pocketsphinx.js'
export {
  createSherpaTranscriptionEngine,
  detectSherpaAsrModel,
  type SherpaAsrModel,
  type SherpaTranscriptionOptions,
  sherpaTranscriptionStatus,
} from './engines/transcription/sherpa.js'
export {
  type ChunkedTranscribeOptions,
  type ChunkTranscript,
  stitchTranscripts,
  transcribeChunked,
} from './engines/transcription/stitch.js'
export type {
  TranscribeOptions,
  Transcript,
  TranscriptionEngine,
  TranscriptSegment,
  Word,
} from './engines/transcription/types.js'
export { AUDIO_ERROR_CODES, AudioError, type AudioErrorCode, isAudioError } from './errors.js'
export { type DerOptions, type DerResult, diarizationErrorRate } from './eval/der.js'
export { parseRttm, toRttm } from './eval/rttm.js'
export { normaliseWords, type WerResult, wordErrorRate } from './eval/wer.js'
export {
  formatTranscript,
  shiftTranscript,
  TRANSCRIPT_CONTENT_TYPES,
  TRANSCRIPT_FORMATS,
  type TranscriptFormat,
} from './formats.js'
export {
  type AttributedSegment,
  type AttributedWord,
  type MergeOptions,
  mergeSpeakers,
  type SpeakerTranscript,
  type SpeechGating,
  UNKNOWN_SPEAKER,
} from './merge.js'
export { findModelFile, modelsDir } from './models.js'
export { extractNotes, notesRiskFlags } from './notes/extract.js'
export { createExtractiveNotesEngine } from './notes/extractive.js'
export { createNotesEngine, NOTES_ENGINES, type NotesEngineName } from './notes/index.js'
export { createOpenAINotesEngine, type OpenAINotesConfig, openaiNotesConfigFromEnv } from './notes/openai.js'
export { mergeRiskFlags, scanRisk } from './notes/risk-lexicon.js'
export {
  type NotesResult,
  type RiskFlag,
  type SessionNotes,
  SessionNotesSchema,
  sessionNotesJsonSchema,
} from './notes/schema.js'
export type { NotesContext, NotesEngine } from './notes/types.js'
export { type PreprocessOptions, type PreprocessResult, preprocessAudio, toOriginalTime } from './preprocess.js'
export { decodeAudio, probeAudio } from './probe.js'
export { ProviderError, providerFetch } from './provider-http.js'
export { assessQuality, type QualityReport } from './quality.js'
export {
  assessReliability,
  notesReliability,
  type Reliability,
  type ReliabilityLevel,
} from './reliability.js'
export { ffmpegPath, ffprobePath } from './tools.js'
export {
  detectSpeech,
  detectSpeechInFile,
  type SpeechSegment,
  type VadOptions,
  type VadResult,
  vadEngineAvailable,
} from './vad.js'
export {
  AUDIO_EXTENSIONS,
  type AudioInfo,
  DEFAULT_MAX_AUDIO_BYTES,
  DEFAULT_MAX_AUDIO_SECONDS,
  type ValidateOptions,
  validateAudio,
} from './validate.js'
export { readWav, readWavInfo, sliceWav, writeWav } from './wav.js'
