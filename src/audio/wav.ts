/**
 * 16-bit PCM WAV files, the one format the pipeline passes between stages after preprocessing.
 * Reading is by byte range, so a chunk of an hour-long recording is read (or copied into its own
 * file for a transcriber) without loading the rest: 16 kHz mono is 32,000 bytes a second.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { open, writeFile } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'

export interface WavInfo {
  sampleRate: number
  channels: number
  bitsPerSample: number
  /** Byte offset of the first sample. */
  dataOffset: number
  dataBytes: number
  durationSec: number
}

/**
 * Reads a WAV header (walking the RIFF chunks, since ffmpeg writes a LIST chunk before `data`).
 *
 * @example
 * const { durationSec, sampleRate } = await readWavInfo('speech.wav')
 */
export async function readWavInfo(path: string): Promise<WavInfo> {
  const file = await open(path, 'r')
  try {
    const { size } = await file.stat()
    const head = Buffer.alloc(Math.min(size, 64 * 1024))
    await file.read(head, 0, head.length, 0)
    if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') {
      throw new Error(`${path} is not a RIFF/WAVE file`)
    }
    let offset = 12
    let format: { channels: number; sampleRate: number; bitsPerSample: number; tag: number } | undefined
    while (offset + 8 <= head.length) {
      const id = head.toString('ascii', offset, offset + 4)
      const length = head.readUInt32LE(offset + 4)
      if (id === 'fmt ') {
        format = {
          tag: head.readUInt16LE(offset + 8),
          channels: head.readUInt16LE(offset + 10),
          sampleRate: head.readUInt32LE(offset + 12),
          bitsPerSample: head.readUInt16LE(offset + 22),
        }
      } else if (id === 'data') {
        if (!format) throw new Error(`${path}: data chunk before fmt chunk`)
        const dataOffset = offset + 8
        // A streamed WAV may carry 0 or 0xFFFFFFFF as its data length: trust the file size then.
        const dataBytes = length === 0 || dataOffset + length > size ? size - dataOffset : length
        const frameBytes = (format.bitsPerSample / 8) * format.channels
        return {
          sampleRate: format.sampleRate,
          channels: format.channels,
          bitsPerSample: format.bitsPerSample,
          dataOffset,
          dataBytes,
          durationSec: dataBytes / frameBytes / format.sampleRate,
        }
      }
      offset += 8 + length + (length % 2)
    }
    throw new Error(`${path}: no data chunk in the first 64 KiB`)
  } finally {
    await file.close()
  }
}

/**
 * Reads mono 16-bit PCM samples as floats in [-1, 1), optionally only `[startSec, endSec)`.
 *
 * @example
 * const { samples, sampleRate } = await readWav('speech.wav', { startSec: 30, endSec: 60 })
 */
export async function readWav(
  path: string,
  range: { startSec?: number; endSec?: number } = {},
): Promise<{ samples: Float32Array; sampleRate: number }> {
  const info = await readWavInfo(path)
  if (info.bitsPerSample !== 16 || info.channels !== 1) {
    throw new Error(
      `${path}: expected mono 16-bit PCM, found ${info.channels} channel(s) of ${info.bitsPerSample} bits`,
    )
  }
  const total = info.dataBytes >> 1
  const first = Math.max(0, Math.min(total, Math.round((range.startSec ?? 0) * info.sampleRate)))
  const last = Math.max(
    first,
    Math.min(total, Math.round((range.endSec ?? Number.POSITIVE_INFINITY) * info.sampleRate)),
  )
  const bytes = Buffer.alloc((last - first) * 2)
  const file = await open(path, 'r')
  try {
    await file.read(bytes, 0, bytes.length, info.dataOffset + first * 2)
  } finally {
    await file.close()
  }
  const samples = new Float32Array(last - first)
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2) / 32768
  return { samples, sampleRate: info.sampleRate }
}

/** A 44-byte canonical header for mono 16-bit PCM. */
export function wavHeader(sampleCount: number, sampleRate: number): Buffer {
  const header = Buffer.alloc(44)
  const dataBytes = sampleCount * 2
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + dataBytes, 4)
  header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20) // PCM
  header.writeUInt16LE(1, 22) // mono
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(sampleRate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(dataBytes, 40)
  return header
}

/**
 * Writes float samples as mono 16-bit PCM (clipped to the 16-bit range).
 *
 * @example
 * await writeWav('tone.wav', new Float32Array(16000), 16000)
 */
export async function writeWav(path: string, samples: Float32Array, sampleRate: number): Promise<void> {
  const body = Buffer.alloc(samples.length * 2)
  for (let i = 0; i < samples.length; i++) {
    const value = Math.round((samples[i] ?? 0) * 32768)
    body.writeInt16LE(Math.max(-32768, Math.min(32767, value)), i * 2)
  }
  await writeFile(path, Buffer.concat([wavHeader(samples.length, sampleRate), body]))
}

/**
 * Copies `[startSec, endSec)` of a mono 16-bit WAV into its own file, streaming the bytes.
 * Returns the exact start and end in seconds after rounding to whole samples.
 *
 * @example
 * await sliceWav('speech.wav', 'chunk-3.wav', 90.25, 118.5)
 */
export async function sliceWav(
  source: string,
  target: string,
  startSec: number,
  endSec: number,
): Promise<{ startSec: number; endSec: number }> {
  const info = await readWavInfo(source)
  if (info.bitsPerSample !== 16 || info.channels !== 1) throw new Error(`${source}: expected mono 16-bit PCM`)
  const total = info.dataBytes >> 1
  const first = Math.max(0, Math.min(total, Math.round(startSec * info.sampleRate)))
  const last = Math.max(first, Math.min(total, Math.round(endSec * info.sampleRate)))
  const out = createWriteStream(target)
  out.write(wavHeader(last - first, info.sampleRate))
  if (last > first) {
    await pipeline(
      createReadStream(source, { start: info.dataOffset + first * 2, end: info.dataOffset + last * 2 - 1 }),
      out,
    )
  } else {
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  }
  return { startSec: first / info.sampleRate, endSec: last / info.sampleRate }
}
