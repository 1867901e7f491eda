/**
 * What ffprobe and a decoding pass say about a file. `probeAudio` reads headers only (fast, but
 * a truncated FLAC still declares its full length); `decodeAudio` decodes the first audio stream
 * to nowhere and reports how much audio really came out, which is what exposes truncation.
 * Decoding an hour of MP3 takes a few seconds, against minutes for transcription.
 */
import { runCommand } from './command.js'
import { ffmpegPath, ffprobePath } from './tools.js'

export interface ProbeResult {
  /** ffprobe's `format_name`, e.g. `mp3`, `wav`, `flac`, `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`. */
  formatName: string
  /** Declared duration in seconds; undefined when neither container nor stream says. */
  durationSec: number | undefined
  /** The first audio stream; undefined when there is none. */
  audio: { codec: string; sampleRate: number; channels: number } | undefined
}

interface FfprobeJson {
  format?: { format_name?: string; duration?: string }
  streams?: { codec_type?: string; codec_name?: string; sample_rate?: string; channels?: number; duration?: string }[]
}

/**
 * @example
 * const { durationSec, audio } = await probeAudio('visit.m4a', { signal })
 */
export async function probeAudio(
  path: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<ProbeResult> {
  const { stdout } = await runCommand(
    ffprobePath(),
    [
      '-v',
      'error',
      '-show_entries',
      'format=format_name,duration:stream=codec_type,codec_name,sample_rate,channels,duration',
      '-of',
      'json',
      path,
    ],
    { signal: options.signal },
  )
  const json = JSON.parse(stdout) as FfprobeJson
  const stream = json.streams?.find((s) => s.codec_type === 'audio')
  const duration = positive(json.format?.duration) ?? positive(stream?.duration)
  return {
    formatName: json.format?.format_name ?? 'unknown',
    durationSec: duration,
    audio: stream
      ? {
          codec: stream.codec_name ?? 'unknown',
          sampleRate: Number(stream.sample_rate ?? 0),
          channels: stream.channels ?? 0,
        }
      : undefined,
  }
}

export interface DecodeResult {
  /** Seconds of audio that decoded. */
  decodedSec: number
  /** ffmpeg's error lines (corrupt frames), at most 20. */
  errors: string[]
}

/**
 * Decodes the first audio stream completely, discarding the samples.
 *
 * @example
 * const { decodedSec, errors } = await decodeAudio('visit.flac', { signal })
 */
export async function decodeAudio(
  path: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<DecodeResult> {
  let decodedUs = 0
  const { stderr } = await runCommand(
    ffmpegPath(),
    ['-nostdin', '-v', 'error', '-nostats', '-i', path, '-map', '0:a:0', '-progress', 'pipe:1', '-f', 'null', '-'],
    {
      signal: options.signal,
      onStdout: (chunk) => {
        for (const match of chunk.matchAll(/^out_time_us=(\d+)$/gm)) decodedUs = Math.max(decodedUs, Number(match[1]))
      },
    },
  )
  const errors = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(0, 20)
  return { decodedSec: decodedUs / 1e6, errors }
}

function positive(text: string | undefined): number | undefined {
  const value = Number(text)
  return text !== undefined && Number.isFinite(value) && value > 0 ? value : undefined
}
