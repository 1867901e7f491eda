/**
 * Audio at rest: every file the pipeline keeps (the upload, the preprocessed WAV) is written
 * through the Spool's codec as envelope encryption, so the data dir holds no playable audio.
 *
 * The codec only encrypts text (it is what `spool.records` and job payloads go through), so each
 * file gets its own random 256-bit data key, and only that key goes through `codec.encode`
 * (with the server's keyring: AES-256-GCM under the active key, rotatable like everything else).
 * The audio itself is AES-256-GCM in 64 KiB segments, each with its own IV and tag:
 *
 *   "SPOOLAE1" ‖ u32 header length ‖ header JSON { v, key: codec.encode(base64 key), seg }
 *   ‖ segment 0 ‖ segment 1 ‖ …        segment = iv (12) ‖ ciphertext (≤ seg) ‖ tag (16)
 *
 * Each segment's additional data is its index and whether it is the last, so segments cannot be
 * reordered, dropped or the file cut at a boundary without decryption failing. Fixed segments
 * make reads by byte range cheap (a 30 s chunk of an hour-long WAV decrypts ~1 MB, not 115 MB),
 * and writing streams: nothing is held in memory but one segment.
 *
 * With a codec that does not encrypt (`PLAIN`, a Spool opened without a keyring) files are
 * stored as they are, and `isEncryptingCodec` says so; reads accept both forms.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import type { Codec } from '../../engine/codec.js'

const MAGIC = Buffer.from('SPOOLAE1', 'ascii')
const SEGMENT = 64 * 1024
const IV = 12
const TAG = 16

interface Header {
  v: 1
  /** The file's data key, base64, through `codec.encode`. */
  key: string
  /** Plaintext bytes per segment. */
  seg: number
}

interface Layout {
  encrypted: boolean
  /** Byte offset of segment 0 (or of the data, when not encrypted). */
  base: number
  key: Buffer | null
  seg: number
  /** Plaintext size. */
  size: number
}

/**
 * Whether `codec` really encrypts (the server's keyring) rather than passing text through.
 *
 * @example
 * isEncryptingCodec(spool.codec) // true under `spool start` with encryption on
 */
export function isEncryptingCodec(codec: Codec): boolean {
  return codec.encode('spool-probe') !== 'spool-probe'
}

/**
 * Writes `source` (a stream or a file path) to `target`, encrypted when the codec encrypts.
 * The file appears under its name only once complete (written beside it, then renamed).
 * Returns the plaintext byte count.
 *
 * @example
 * await writeVaultFile(spool.codec, '/tmp/upload-1', 'data/audio/sessions/…/upload.enc')
 */
export async function writeVaultFile(codec: Codec, source: Readable | string, target: string): Promise<number> {
  const input = typeof source === 'string' ? createReadStream(source, { highWaterMark: SEGMENT }) : source
  const partial = `${target}.partial-${randomBytes(4).toString('hex')}`
  const out = createWriteStream(partial, { mode: 0o600 })
  const write = async (bytes: Buffer) => {
    if (!out.write(bytes)) await once(out, 'drain')
  }
  let total = 0
  try {
    if (!isEncryptingCodec(codec)) {
      for await (const block of input) {
        total += (block as Buffer).length
        await write(block as Buffer)
      }
    } else {
      const key = randomBytes(32)
      const header = Buffer.from(
        JSON.stringify({ v: 1, key: codec.encode(key.toString('base64')), seg: SEGMENT } satisfies Header),
      )
      const length = Buffer.alloc(4)
      length.writeUInt32LE(header.length)
      await write(Buffer.concat([MAGIC, length, header]))
      // One segment is held back until the next data (or the end) says whether it is the last.
      let pending: Buffer = Buffer.alloc(0)
      let index = 0
      for await (const block of input) {
        total += (block as Buffer).length
        pending = pending.length > 0 ? Buffer.concat([pending, block as Buffer]) : (block as Buffer)
        while (pending.length > SEGMENT) {
          await write(seal(key, index++, pending.subarray(0, SEGMENT), false))
          pending = pending.subarray(SEGMENT)
        }
      }
      await write(seal(key, index, pending, true))
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
    await rename(partial, target)
    return total
  } catch (error) {
    out.destroy()
    if (typeof source !== 'string') input.destroy()
    await rm(partial, { force: true })
    throw error
  }
}

/**
 * Reads plaintext bytes `[start, end)` of a vault file (clamped to its size).
 *
 * @example
 * const head = await readVaultRange(spool.codec, 'audio.enc', 0, 64 * 1024)
 */
export async function readVaultRange(codec: Codec, path: string, start: number, end: number): Promise<Buffer> {
  const file = await open(path, 'r')
  try {
    const layout = await readLayout(codec, file)
    const from = Math.max(0, Math.min(start, layout.size))
    const to = Math.max(from, Math.min(end, layout.size))
    if (to === from) return Buffer.alloc(0)
    if (!layout.encrypted) {
      const bytes = Buffer.alloc(to - from)
      await file.read(bytes, 0, bytes.length, layout.base + from)
      return bytes
    }
    const first = Math.floor(from / layout.seg)
    const last = Math.floor((to - 1) / layout.seg)
    const parts: Buffer[] = []
    for (let i = first; i <= last; i++) parts.push(await readSegment(file, layout, i))
    const joined = Buffer.concat(parts)
    return joined.subarray(from - first * layout.seg, to - first * layout.seg)
  } finally {
    await file.close()
  }
}

/** The plaintext size of a vault file. */
export async function vaultFileSize(codec: Codec, path: string): Promise<number> {
  const file = await open(path, 'r')
  try {
    return (await readLayout(codec, file)).size
  } finally {
    await file.close()
  }
}

/**
 * Streams the plaintext of a vault file (for an HTTP answer), one segment at a time.
 *
 * @example
 * reply.type('audio/flac').send(Readable.from(readVaultStream(spool.codec, path)))
 */
export async function* readVaultStream(codec: Codec, path: string): AsyncGenerator<Buffer> {
  const file = await open(path, 'r')
  try {
    const layout = await readLayout(codec, file)
    if (!layout.encrypted) {
      for (let at = 0; at < layout.size; at += SEGMENT) {
        const bytes = Buffer.alloc(Math.min(SEGMENT, layout.size - at))
        await file.read(bytes, 0, bytes.length, layout.base + at)
        yield bytes
      }
      return
    }
    const count = Math.max(1, Math.ceil(layout.size / layout.seg))
    for (let i = 0; i < count; i++) yield await readSegment(file, layout, i)
  } finally {
    await file.close()
  }
}

/**
 * Decrypts a whole vault file to `target` (a working copy for ffmpeg or an engine; delete it
 * when done).
 *
 * @example
 * await decryptVaultFile(spool.codec, 'upload.enc', 'work/upload.flac')
 */
export async function decryptVaultFile(codec: Codec, path: string, target: string): Promise<void> {
  const out = createWriteStream(target, { mode: 0o600 })
  try {
    for await (const bytes of readVaultStream(codec, path)) {
      if (!out.write(bytes)) await once(out, 'drain')
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  } catch (error) {
    out.destroy()
    await rm(target, { force: true })
    throw error
  }
}

function seal(key: Buffer, index: number, plain: Buffer, last: boolean): Buffer {
  const iv = randomBytes(IV)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(aad(index, last))
  const body = Buffer.concat([cipher.update(plain), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()])
}

function aad(index: number, last: boolean): Buffer {
  return Buffer.from(`spool-audio:${index}:${last ? 1 : 0}`)
}

async function readLayout(codec: Codec, file: Awaited<ReturnType<typeof open>>): Promise<Layout> {
  const { size } = await file.stat()
  const head = Buffer.alloc(Math.min(size, 12))
  await file.read(head, 0, head.length, 0)
  if (head.length < 12 || !head.subarray(0, 8).equals(MAGIC)) {
    return { encrypted: false, base: 0, key: null, seg: SEGMENT, size }
  }
  const length = head.readUInt32LE(8)
  if (length > 64 * 1024) throw new Error('vault file header is too long')
  const json = Buffer.alloc(length)
  await file.read(json, 0, length, 12)
  const header = JSON.parse(json.toString('utf8')) as Header
  if (header.v !== 1 || typeof header.key !== 'string' || !(header.seg > 0)) throw new Error('unknown vault format')
  const key = Buffer.from(codec.decode(header.key), 'base64')
  if (key.length !== 32) throw new Error('vault file key does not decrypt to 32 bytes')
  const base = 12 + length
  const stride = header.seg + IV + TAG
  const body = size - base
  const full = Math.floor(body / stride)
  const rest = body % stride
  const plain = full * header.seg + Math.max(0, rest - IV - TAG)
  return { encrypted: true, base, key, seg: header.seg, size: plain }
}

async function readSegment(file: Awaited<ReturnType<typeof open>>, layout: Layout, index: number): Promise<Buffer> {
  const stride = layout.seg + IV + TAG
  const count = Math.max(1, Math.ceil(layout.size / layout.seg))
  const last = index === count - 1
  const plainLength = last ? layout.size - index * layout.seg : layout.seg
  const raw = Buffer.alloc(plainLength + IV + TAG)
  const { bytesRead } = await file.read(raw, 0, raw.length, layout.base + index * stride)
  if (bytesRead !== raw.length) throw new Error(`vault file segment ${index} is truncated`)
  const decipher = createDecipheriv('aes-256-gcm', layout.key as Buffer, raw.subarray(0, IV))
  decipher.setAAD(aad(index, last))
  decipher.setAuthTag(raw.subarray(raw.length - TAG))
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV, raw.length - TAG)), decipher.final()])
  } catch {
    throw new Error(`vault file segment ${index} does not authenticate (corrupt, or cut short)`)
  }
}
