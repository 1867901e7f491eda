/**
 * The validate stage: decide, before anything is queued or kept, whether an upload is audio we
 * can process. Checks run cheapest first so a bad upload costs as little as possible:
 *
 * | check                | error code               | status |
 * |----------------------|--------------------------|--------|
 * | size 0               | `AUDIO_EMPTY`            | 422    |
 * | size > `maxBytes`    | `AUDIO_TOO_LARGE`        | 413    |
 * | extension allowlist  | `AUDIO_UNSUPPORTED_TYPE` | 415    |
 * | magic bytes          | `AUDIO_TYPE_MISMATCH`    | 415    |
 * | container sizes      | `AUDIO_TRUNCATED`        | 422    |
 * | ffprobe, audio stream| `AUDIO_UNDECODABLE`      | 422    |
 * | declared duration    | `AUDIO_TOO_LONG`         | 422    |
 * | full decode          | `AUDIO_TRUNCATED`        | 422    |
 *
 * The content must be an accepted audio format whatever the name says; a file that is audio of
 * another accepted kind (a WAV named `.mp3`) is accepted with a warning, because ffmpeg reads it
 * by content and rejecting it would only punish a renamed file.
 */
import { stat } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { fileTypeFromFile } from 'file-type'
import { checkContainer } from './container.js'
import { AudioError } from './errors.js'
import { decodeAudio, probeAudio } from './probe.js'

export const DEFAULT_MAX_AUDIO_BYTES = 500 * 1024 * 1024
export const DEFAULT_MAX_AUDIO_SECONDS = 4 * 60 * 60
export const AUDIO_EXTENSIONS = ['mp3', 'wav', 'm4a', 'ogg', 'flac', 'webm'] as const

/** What the magic bytes may say for each accepted extension (file-type's `ext`). */
const CONTENT_FAMILIES: Record<string, readonly string[]> = {
  mp3: ['mp3'],
  wav: ['wav'],
  m4a: ['m4a', 'mp4', 'aac'],
  ogg: ['ogg', 'oga', 'opus'],
  flac: ['flac'],
  webm: ['webm', 'mkv'],
}

export interface ValidateOptions {
  /** The name the client gave the file (its extension is checked); default: the path's name. */
  filename?: string
  /** Default `DEFAULT_MAX_AUDIO_BYTES` (500 MiB). */
  maxBytes?: number
  /** Default `DEFAULT_MAX_AUDIO_SECONDS` (4 h). */
  maxDurationSec?: number
  /** Default `AUDIO_EXTENSIONS`. */
  allowedExtensions?: readonly string[]
  /** `full` (default) decodes everything to catch truncation; `probe` trusts the headers. */
  decode?: 'full' | 'probe'
  signal?: AbortSignal | undefined
}

export interface AudioInfo {
  bytes: number
  /** The extension of the client's filename, lower case, no dot. */
  extension: string
  /** What the magic bytes say. */
  content: { ext: string; mime: string }
  /** ffprobe's container name. */
  formatName: string
  codec: string
  sampleRate: number
  channels: number
  /** Decoded seconds with `decode: 'full'`, declared seconds with `decode: 'probe'`. */
  durationSec: number
  warnings: string[]
}

/**
 * Checks an uploaded file and describes it, or throws an `AudioError` (non-retryable).
 *
 * @example
 * const info = await validateAudio('/tmp/upload-1', { filename: 'visit.m4a', maxBytes: 200 * 1024 * 1024 })
 * info.durationSec // 1834.2
 */
export async function validateAudio(path: string, options: ValidateOptions = {}): Promise<AudioInfo> {
  const {
    filename = basename(path),
    maxBytes = DEFAULT_MAX_AUDIO_BYTES,
    maxDurationSec = DEFAULT_MAX_AUDIO_SECONDS,
    allowedExtensions = AUDIO_EXTENSIONS,
    decode = 'full',
    signal,
  } = options
  const warnings: string[] = []

  const { size } = await stat(path)
  if (size === 0) throw new AudioError('AUDIO_EMPTY', 'The file is empty', { field: 'file' })
  if (size > maxBytes) {
    throw new AudioError('AUDIO_TOO_LARGE', `The file is ${size} bytes; the limit is ${maxBytes}`, {
      field: 'file',
      bytes: size,
      limit: maxBytes,
    })
  }

  const extension = extname(filename).slice(1).toLowerCase()
  if (!allowedExtensions.includes(extension)) {
    throw new AudioError(
      'AUDIO_UNSUPPORTED_TYPE',
      `"${extension || '(none)'}" is not an accepted audio type (${allowedExtensions.join(', ')})`,
      { field: 'file', extension },
    )
  }

  const content = await fileTypeFromFile(path)
  const family = Object.entries(CONTENT_FAMILIES).find(
    ([ext, kinds]) => allowedExtensions.includes(ext) && content !== undefined && kinds.includes(content.ext),
  )
  if (!content || !family) {
    throw new AudioError(
      'AUDIO_TYPE_MISMATCH',
      `The file is named .${extension} but its content is ${content ? content.mime : 'not a recognised audio format'}`,
      { field: 'file', extension, detected: content?.mime ?? null },
    )
  }
  if (family[0] !== extension) warnings.push(`named .${extension} but the content is ${content.mime}`)

  // What the container declares against the bytes present: ffprobe derives a WAV's length from
  // the file size, so a cut WAV would otherwise pass as a shorter, complete recording.
  const container = await checkContainer(path, content.ext)
  if (container.truncated) {
    const { reason, ...sizes } = container.truncated
    throw new AudioError('AUDIO_TRUNCATED', `The file is cut short: ${reason}`, { field: 'file', ...sizes })
  }

  const probe = await probeAudio(path, { signal }).catch((error: unknown) => {
    throw new AudioError(
      'AUDIO_UNDECODABLE',
      `ffprobe cannot read the file: ${message(error)}`,
      { field: 'file' },
      { cause: error },
    )
  })
  if (!probe.audio) throw new AudioError('AUDIO_UNDECODABLE', 'The file has no audio stream', { field: 'file' })
  if (probe.durationSec !== undefined && probe.durationSec > maxDurationSec)
    throw tooLong(probe.durationSec, maxDurationSec)

  let durationSec = container.declaredSec ?? probe.durationSec
  if (decode === 'full') {
    const decoded = await decodeAudio(path, { signal }).catch((error: unknown) => {
      throw new AudioError(
        'AUDIO_UNDECODABLE',
        `The audio does not decode: ${message(error)}`,
        { field: 'file' },
        { cause: error },
      )
    })
    if (decoded.decodedSec <= 0)
      throw new AudioError('AUDIO_UNDECODABLE', 'No audio decodes from the file', { field: 'file' })
    // A file whose decoded audio falls well short of what its header declares was cut off in
    // transfer; a small shortfall is ordinary (encoder padding, estimated MP3 durations).
    if (durationSec !== undefined && decoded.decodedSec < durationSec * 0.95 - 0.5) {
      throw new AudioError(
        'AUDIO_TRUNCATED',
        `The file declares ${durationSec.toFixed(1)} s of audio but only ${decoded.decodedSec.toFixed(1)} s decode`,
        { field: 'file', declaredSec: durationSec, decodedSec: decoded.decodedSec },
      )
    }
    if (decoded.errors.length > 0)
      warnings.push(`decoder reported ${decoded.errors.length} error line(s): ${decoded.errors[0]}`)
    durationSec = decoded.decodedSec
    if (durationSec > maxDurationSec) throw tooLong(durationSec, maxDurationSec)
  }
  if (durationSec === undefined)
    throw new AudioError('AUDIO_UNDECODABLE', 'The file declares no duration', { field: 'file' })

  return {
    bytes: size,
    extension,
    content: { ext: content.ext, mime: content.mime },
    formatName: probe.formatName,
    codec: probe.audio.codec,
    sampleRate: probe.audio.sampleRate,
    channels: probe.audio.channels,
    durationSec,
    warnings,
  }
}

function tooLong(durationSec: number, limit: number): AudioError {
  return new AudioError(
    'AUDIO_TOO_LONG',
    `The recording is ${Math.round(durationSec)} s long; the limit is ${limit} s`,
    {
      field: 'file',
      durationSec,
      limit,
    },
  )
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
