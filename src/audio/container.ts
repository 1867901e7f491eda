/**
 * What a recording's container says about its own length, checked against the bytes that are
 * there. ffprobe cannot be trusted for this: for a WAV it derives the duration from the file
 * size (the first 300,000 bytes of a 960,000-byte WAV "last" 9.4 s and decode cleanly), for an
 * Ogg file it reads the last granule position it finds (a cut file "lasts" up to the cut). The
 * containers themselves do declare sizes:
 *
 * | container | what is checked |
 * |---|---|
 * | WAV (RIFF) | the RIFF size and the `data` chunk's size against the file size (0 and 0xFFFFFFFF, which streaming writers leave, declare nothing) |
 * | Ogg | the pages at the end: the last one must be complete and carry the end-of-stream flag |
 * | MP4 / M4A | every top-level box must fit in the file (a cut file loses the end of `mdat`, or its `moov`) |
 * | Matroska / WebM | the Segment's size, unless it is "unknown" (live recorders such as MediaRecorder write that) |
 *
 * FLAC (STREAMINFO's sample count) and MP3 (a Xing/Info frame count) declare a duration that
 * ffprobe reports, and the full decode in `validateAudio` compares it with what decodes; formats
 * that declare nothing at all are decoded to the end there.
 */
import { open } from 'node:fs/promises'

export interface ContainerCheck {
  /** Why the file is cut short, or undefined when its declared sizes fit. */
  truncated?: { reason: string; declaredBytes?: number; presentBytes: number; declaredSec?: number }
  /** A duration the container declares exactly (WAV), when it declares one. */
  declaredSec?: number
}

const WINDOW = 64 * 1024
const UNSET32 = 0xffffffff

/**
 * @example
 * const { truncated } = await checkContainer('visit.wav', 'wav')
 * truncated?.reason // 'the data chunk declares 960000 bytes but 299922 are present'
 */
export async function checkContainer(path: string, kind: string): Promise<ContainerCheck> {
  const file = await open(path, 'r')
  try {
    const { size } = await file.stat()
    const read = async (position: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)))
      if (buffer.length > 0) await file.read(buffer, 0, buffer.length, position)
      return buffer
    }
    if (kind === 'wav') return checkWav(await read(0, WINDOW), size)
    if (kind === 'ogg' || kind === 'oga' || kind === 'opus') {
      const start = Math.max(0, size - WINDOW)
      return checkOgg(await read(start, WINDOW), start, size)
    }
    if (kind === 'm4a' || kind === 'mp4' || kind === 'aac') return await checkMp4(read, size)
    if (kind === 'webm' || kind === 'mkv') return checkMatroska(await read(0, WINDOW), size)
    return {}
  } finally {
    await file.close()
  }
}

function checkWav(head: Buffer, size: number): ContainerCheck {
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF') return {}
  const riff = head.readUInt32LE(4)
  let byteRate = 0
  let offset = 12
  while (offset + 8 <= head.length) {
    const id = head.toString('ascii', offset, offset + 4)
    const length = head.readUInt32LE(offset + 4)
    if (id === 'fmt ' && offset + 20 <= head.length) byteRate = head.readUInt32LE(offset + 16)
    if (id === 'data') {
      const dataOffset = offset + 8
      const present = Math.max(0, size - dataOffset)
      if (length === 0 || length === UNSET32) return {}
      const declaredSec = byteRate > 0 ? length / byteRate : undefined
      // A shortfall under a millisecond (a writer that counted a pad byte or a last partial
      // frame) is not a cut recording.
      if (length > present + Math.max(1, byteRate / 1000)) {
        return {
          truncated: {
            reason: `the data chunk declares ${length} bytes but ${present} are present`,
            declaredBytes: length,
            presentBytes: present,
            ...(declaredSec !== undefined && { declaredSec }),
          },
          ...(declaredSec !== undefined && { declaredSec }),
        }
      }
      return declaredSec !== undefined ? { declaredSec } : {}
    }
    offset += 8 + length + (length % 2)
  }
  // No data chunk in the first 64 KiB: the RIFF size is all there is to go by.
  if (riff !== 0 && riff !== UNSET32 && riff + 8 > size + 1) {
    return {
      truncated: {
        reason: `the RIFF header declares ${riff + 8} bytes but the file has ${size}`,
        declaredBytes: riff + 8,
        presentBytes: size,
      },
    }
  }
  return {}
}

/**
 * Walks Ogg pages from the first page found in the tail window to the end of the file. A page
 * whose length runs past the end, or a last page without the end-of-stream flag, is a cut file.
 */
function checkOgg(tail: Buffer, start: number, size: number): ContainerCheck {
  let from = 0
  for (;;) {
    const first = tail.indexOf('OggS', from, 'ascii')
    if (first < 0) return {}
    let p = first
    let consistent = true
    for (;;) {
      if (p + 27 > tail.length) {
        return cutOgg(`the last Ogg page header is cut at byte ${size}`, size)
      }
      if (tail.toString('ascii', p, p + 4) !== 'OggS' || tail[p + 4] !== 0) {
        consistent = false
        break
      }
      const segments = tail[p + 26] as number
      if (p + 27 + segments > tail.length) {
        return cutOgg(`the last Ogg page's segment table is cut at byte ${size}`, size)
      }
      let body = 0
      for (let i = 0; i < segments; i++) body += tail[p + 27 + i] as number
      const end = p + 27 + segments + body
      if (end > tail.length) {
        return cutOgg(
          `the last Ogg page declares ${end - p} bytes but ${tail.length - p} are present`,
          size,
          start + end,
        )
      }
      if (end === tail.length) {
        const headerType = tail[p + 5] as number
        if ((headerType & 0x04) === 0) {
          return cutOgg('the last Ogg page does not end the stream (no end-of-stream flag)', size)
        }
        return {}
      }
      p = end
    }
    if (!consistent) from = first + 1
  }
}

function cutOgg(reason: string, size: number, declaredBytes?: number): ContainerCheck {
  return { truncated: { reason, presentBytes: size, ...(declaredBytes !== undefined && { declaredBytes }) } }
}

async function checkMp4(read: (position: number, length: number) => Promise<Buffer>, size: number) {
  let offset = 0
  let boxes = 0
  while (offset + 8 <= size && boxes < 10_000) {
    const header = await read(offset, 16)
    let length = header.readUInt32BE(0)
    const type = header.toString('latin1', 4, 8)
    if (length === 1) {
      if (header.length < 16) break
      length = Number(header.readBigUInt64BE(8))
    } else if (length === 0) {
      return {} // the last box runs to the end of the file
    }
    if (length < 8) return {} // not a box structure this check understands; ffprobe decides
    if (offset + length > size) {
      return {
        truncated: {
          reason: `the MP4 "${type}" box declares ${length} bytes but ${size - offset} are present`,
          declaredBytes: offset + length,
          presentBytes: size,
        },
      } satisfies ContainerCheck
    }
    offset += length
    boxes++
  }
  return {}
}

/** Reads an EBML variable-length integer; `unknown` when all its value bits are set. */
function vint(buffer: Buffer, at: number): { value: number; length: number; unknown: boolean } | undefined {
  const first = buffer[at]
  if (first === undefined || first === 0) return undefined
  let length = 1
  while (length <= 8 && (first & (0x80 >> (length - 1))) === 0) length++
  if (at + length > buffer.length) return undefined
  let value = first & (0xff >> length)
  let allOnes = value === 0xff >> length
  for (let i = 1; i < length; i++) {
    const byte = buffer[at + i] as number
    value = value * 256 + byte
    if (byte !== 0xff) allOnes = false
  }
  return { value, length, unknown: allOnes }
}

function checkMatroska(head: Buffer, size: number): ContainerCheck {
  if (head.length < 4 || head.readUInt32BE(0) !== 0x1a45dfa3) return {}
  const ebml = vint(head, 4)
  if (!ebml) return {}
  const segmentAt = 4 + ebml.length + ebml.value
  if (segmentAt + 4 > head.length || head.readUInt32BE(segmentAt) !== 0x18538067) return {}
  const segment = vint(head, segmentAt + 4)
  if (!segment || segment.unknown) return {}
  const declared = segmentAt + 4 + segment.length + segment.value
  if (declared > size) {
    return {
      truncated: {
        reason: `the Matroska segment declares ${declared} bytes but the file has ${size}`,
        declaredBytes: declared,
        presentBytes: size,
      },
    }
  }
  return {}
}
