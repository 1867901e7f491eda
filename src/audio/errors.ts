/**
 * The audio pipeline's errors. Everything here extends the engine's `UnrecoverableError`, so a
 * job that throws one fails at once instead of spending retries on input that will never get
 * better (a 600 MB upload, a text file named `.mp3`, a truncated FLAC). Each carries a stable
 * `code`, the HTTP `status` the server answers with (problem+json, RFC 9457) and the request
 * `field` at fault, like the engine's `SpoolError` catalogue.
 *
 * Transient failures (an engine's HTTP 503, a dropped connection) are not in this file: they are
 * plain errors with `retryable: true` or the engine's `RateLimitedError` (see `provider-http.ts`).
 */
import { type ErrorEntry, UnrecoverableError } from '../engine/errors.js'

export const AUDIO_ERROR_CODES = {
  AUDIO_TOO_LARGE: {
    status: 413,
    title: 'The audio file is too large',
    when: 'The upload is larger than `audio.maxUploadBytes` (500 MB by default; refused early from `Content-Length`).',
    fix: 'Split or compress the recording.',
  },
  AUDIO_EMPTY: {
    status: 422,
    title: 'The audio file is empty',
    when: 'The file holds no bytes or no audio.',
    fix: 'Send the recording itself.',
  },
  AUDIO_UNSUPPORTED_TYPE: {
    status: 415,
    title: 'The file type is not an accepted audio format',
    when: 'The extension is not mp3, wav, m4a, ogg, flac or webm.',
    fix: 'Convert the file to an accepted format.',
  },
  AUDIO_TYPE_MISMATCH: {
    status: 415,
    title: 'The file content is not the audio its name says',
    when: 'The magic bytes say something else than the extension (a text file named `.mp3`).',
    fix: 'Send the real recording, named for its format.',
  },
  AUDIO_UNDECODABLE: {
    status: 422,
    title: 'The audio cannot be decoded',
    when: 'ffprobe cannot read the file.',
    fix: 'Re-export the recording with a standard encoder.',
  },
  AUDIO_TRUNCATED: {
    status: 422,
    title: 'The audio file is truncated or corrupt',
    when: 'The container declares more than the bytes present, or a full decode ends short of the declared duration (details `declaredBytes`, `presentBytes`, `declaredSec`, `decodedSec`).',
    fix: 'Upload the complete file again.',
  },
  AUDIO_TOO_LONG: {
    status: 422,
    title: 'The recording is longer than allowed',
    when: 'The recording is longer than `audio.maxDurationSeconds`.',
    fix: 'Split the recording.',
  },
  AUDIO_LANGUAGE_UNSUPPORTED: {
    status: 422,
    title: 'The engine has no model for this language',
    when: 'The chosen engine has no model for `metadata.language`.',
    fix: 'Pick another engine or language, or install its model.',
  },
  AUDIO_ENGINE_UNAVAILABLE: {
    status: 503,
    title: 'The engine is not installed or has no model files',
    when: 'The engine named (or the default) is not installed or has no model files.',
    fix: 'Install it (`spool models pull`) or pick another engine.',
  },
  AUDIO_ENGINE_REJECTED: {
    status: 422,
    title: 'The engine refused the request',
    when: 'A provider engine refused this input with a 4xx.',
    fix: 'Read the detail; the input or the engine settings must change.',
  },
  AUDIO_ENGINE_FAILED: {
    status: 502,
    title: 'The engine failed on this input',
    when: 'The engine failed on this input after its retries (`sessionId` names the session).',
    fix: 'Retry the session, or try another engine.',
  },
  AUDIO_INVALID_CONFIG: {
    status: 400,
    title: 'The audio configuration is invalid',
    when: 'An engine name or audio setting is unknown or invalid (`field` names it).',
    fix: 'Use an engine or value listed by `GET /v1/audio/engines`.',
  },
} as const satisfies Record<string, ErrorEntry>

export type AudioErrorCode = keyof typeof AUDIO_ERROR_CODES

/**
 * A non-retryable audio error with a stable code. Nothing should be kept when validation throws
 * one; the server maps it to problem+json with `status`, `code`, `title` and `field`.
 *
 * @example
 * try { await validateAudio(path, { filename: 'visit.mp3' }) }
 * catch (error) {
 *   if (error instanceof AudioError) reply.code(error.status).send({ code: error.code, detail: error.message })
 * }
 */
export class AudioError extends UnrecoverableError {
  readonly status: number
  readonly title: string

  constructor(
    readonly code: AudioErrorCode,
    message: string,
    readonly details: { field?: string; [key: string]: unknown } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.status = AUDIO_ERROR_CODES[code].status
    this.title = AUDIO_ERROR_CODES[code].title
  }

  get field(): string | undefined {
    return this.details.field
  }
}

/** True for an `AudioError`, optionally with a given code. */
export function isAudioError(error: unknown, code?: AudioErrorCode): error is AudioError {
  return error instanceof AudioError && (code === undefined || error.code === code)
}

/** What the sessions service refuses (`audio/pipeline/sessions.ts`). */
export const SESSION_ERROR_CODES = {
  SESSION_NOT_FOUND: {
    status: 404,
    title: 'No such session',
    when: 'No session with this id in this tenant (also over the WebSocket).',
    fix: 'Check the id; sessions may have been removed.',
  },
  SESSION_CONFLICT: {
    status: 409,
    title: 'The session is not in a state that allows this',
    when: "The session's status does not allow the action (`state` says what it is), e.g. retrying one still running.",
    fix: 'Read the session and act on its current status.',
  },
  SESSION_AUDIO_GONE: {
    status: 410,
    title: 'The audio of this session was deleted by retention',
    when: 'The recording is past `audio.audioRetentionHours` and was deleted; results remain.',
    fix: 'Keep your own copy if you need the audio longer.',
  },
  SPOOL_TRANSCRIPTION_PENDING: {
    status: 504,
    title: 'The transcription is still queued or running',
    when: '`POST /v1/audio/transcriptions` waited `audio.transcriptionWaitSeconds` and the session is not done (`sessionId`, header `Spool-Session-Id`).',
    fix: 'Follow the session with `GET /v1/sessions/:id`.',
  },
} as const satisfies Record<string, ErrorEntry>

export type SessionErrorCode = keyof typeof SESSION_ERROR_CODES

/**
 * What the sessions service refuses, with a stable code and the HTTP status to answer with.
 *
 * @example
 * try { await sessions.retry(id, tenant) } catch (error) { if (error instanceof SessionError) reply.code(error.status) }
 */
export class SessionError extends Error {
  override readonly name = 'SessionError'
  readonly status: number
  readonly title: string
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    readonly details: { field?: string; [key: string]: unknown } = {},
  ) {
    super(message)
    this.status = SESSION_ERROR_CODES[code].status
    this.title = SESSION_ERROR_CODES[code].title
  }
}
