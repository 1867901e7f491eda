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
import { UnrecoverableError } from '../engine/errors.js'

export const AUDIO_ERROR_CODES = {
  AUDIO_TOO_LARGE: { status: 413, title: 'The audio file is too large' },
  AUDIO_EMPTY: { status: 422, title: 'The audio file is empty' },
  AUDIO_UNSUPPORTED_TYPE: { status: 415, title: 'The file type is not an accepted audio format' },
  AUDIO_TYPE_MISMATCH: { status: 415, title: 'The file content is not the audio its name says' },
  AUDIO_UNDECODABLE: { status: 422, title: 'The audio cannot be decoded' },
  AUDIO_TRUNCATED: { status: 422, title: 'The audio file is truncated or corrupt' },
  AUDIO_TOO_LONG: { status: 422, title: 'The recording is longer than allowed' },
  AUDIO_LANGUAGE_UNSUPPORTED: { status: 422, title: 'The engine has no model for this language' },
  AUDIO_ENGINE_UNAVAILABLE: { status: 503, title: 'The engine is not installed or has no model files' },
  AUDIO_ENGINE_REJECTED: { status: 422, title: 'The engine refused the request' },
  AUDIO_ENGINE_FAILED: { status: 502, title: 'The engine failed on this input' },
  AUDIO_INVALID_CONFIG: { status: 400, title: 'The audio configuration is invalid' },
} as const

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
