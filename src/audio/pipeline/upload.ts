/**
 * Receiving an upload: the bytes go straight from the request stream to a private temporary
 * file, counted and hashed on the way, and the write stops at the size limit — a 600 MB upload
 * never occupies more than a stream buffer of memory, nor more than the limit of disk.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AudioError } from '../errors.js'

export interface ReceivedFile {
  path: string
  bytes: number
  sha256: string
}

/**
 * Streams `source` to `target` (mode 0600), refusing more than `maxBytes` with
 * `AUDIO_TOO_LARGE` (the partial file is removed). The source is always read to its end — past
 * the limit its bytes are dropped — so a multipart parser upstream keeps consuming the request
 * and the client receives the 413 instead of a connection reset.
 *
 * @example
 * const received = await receiveFile(part.file, await files.tempFile(), options.maxUploadBytes)
 */
export async function receiveFile(
  source: NodeJS.ReadableStream,
  target: string,
  maxBytes: number,
): Promise<ReceivedFile> {
  const hash = createHash('sha256')
  let bytes = 0
  const meter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length
      if (bytes > maxBytes) return done()
      hash.update(chunk)
      done(null, chunk)
    },
  })
  try {
    await pipeline(source, meter, createWriteStream(target, { mode: 0o600 }))
  } catch (error) {
    await rm(target, { force: true })
    throw error
  }
  if (bytes > maxBytes) {
    await rm(target, { force: true })
    throw new AudioError('AUDIO_TOO_LARGE', `The file is larger than the limit of ${maxBytes} bytes`, {
      field: 'file',
      limit: maxBytes,
    })
  }
  return { path: target, bytes, sha256: hash.digest('hex') }
}

/** The sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const block of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(block as Buffer)
  return hash.digest('hex')
}
