/**
 * The audio pipeline as Spool queues (docs/audio.md): start it on a Spool, then create and
 * follow sessions.
 *
 * @example
 * import { resolvePipelineOptions, startAudioPipeline } from './audio/pipeline/index.js'
 * const pipeline = await startAudioPipeline(spool, resolvePipelineOptions({ dir: './data/audio' }))
 * const { session } = await pipeline.sessions.createFromFile('visit.flac', { metadata: { urgency: 'same-day', speakers: 2 } })
 * const done = await pipeline.sessions.waitUntilFinished(session.id, 'default', 600_000)
 */
export { type OpenAiResponseFormat, openAiTranscription } from './compat.js'
export { assertEngine, engineNames, engineStatus, registerAudioEngine, unregisterAudioEngine } from './engines.js'
export { SessionFiles } from './files.js'
export { enqueueRun, type StagePayload } from './flow.js'
export {
  type AudioPipelineOptions,
  DEFAULT_CONCURRENCY,
  type EngineFamily,
  QUEUES,
  resolvePipelineOptions,
  type Stage,
} from './options.js'
export { type AudioPipeline, RETENTION_SCHEDULE, startAudioPipeline } from './pipeline.js'
export { sessionPriority, URGENCIES, VISIT_TYPES } from './priority.js'
export {
  SESSION_STATUSES,
  type SessionMetadata,
  type SessionRecord,
  type SessionResults,
  type SessionStatus,
} from './records.js'
export {
  type ApiSegment,
  AudioSessions,
  type CreateSessionInput,
  type ListFilter,
  SESSION_ERROR_CODES,
  SessionError,
  type SessionView,
  sessionsFor,
} from './sessions.js'
export { SpeedModel } from './speed.js'
export { STAGE_BANDS } from './status.js'
export { receiveFile, sha256File } from './upload.js'
export { isEncryptingCodec, readVaultRange, readVaultStream, writeVaultFile } from './vault.js'
