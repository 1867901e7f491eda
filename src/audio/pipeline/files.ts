/**
 * Where a session's audio lives under the audio data dir, and the working copies stages make:
 *
 *   <dir>/sessions/<id>/upload.enc     the upload as received (vault file, encrypted)
 *   <dir>/sessions/<id>/audio.enc      16 kHz mono 16-bit WAV after preprocessing (vault file)
 *   <dir>/work/<id>/…                  plaintext working copies, removed when a stage ends
 *   <dir>/tmp/…                        uploads being received and checked (plaintext, 0600)
 *
 * Folders are created 0700. A stage that needs samples reads them by range from `audio.enc`
 * (`readWavRange`, `writeWavSlice`), so a chunk job decrypts only its own chunk.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Codec } from '../../engine/codec.js'
import { wavHeader } from '../wav.js'
import { readVaultRange } from './vault.js'

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export class SessionFiles {
  constructor(readonly dir: string) {}

  sessionDir(id: string): string {
    if (!SESSION_ID.test(id)) throw new Error(`not a session id: ${id}`)
    return join(this.dir, 'sessions', id)
  }

  upload(id: string): string {
    return join(this.sessionDir(id), 'upload.enc')
  }

  audio(id: string): string {
    return join(this.sessionDir(id), 'audio.enc')
  }

  /** A fresh private working folder for one stage of a session; remove it with `dropWork`. */
  async work(id: string): Promise<string> {
    this.sessionDir(id)
    const path = join(this.dir, 'work', id, randomUUID().slice(0, 8))
    await mkdir(path, { recursive: true, mode: 0o700 })
    return path
  }

  async dropWork(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true })
  }

  /** A path for an upload being received. */
  async tempFile(): Promise<string> {
    const tmp = join(this.dir, 'tmp')
    await mkdir(tmp, { recursive: true, mode: 0o700 })
    return join(tmp, `upload-${randomUUID()}`)
  }

  async ensureSessionDir(id: string): Promise<string> {
    const path = this.sessionDir(id)
    await mkdir(path, { recursive: true, mode: 0o700 })
    return path
  }

  /** Removes everything kept for a session: its audio and any working copies. */
  async purge(id: string): Promise<void> {
    await rm(this.sessionDir(id), { recursive: true, force: true })
    await rm(join(this.dir, 'work', id), { recursive: true, force: true })
  }

  /**
   * Removes plaintext a crash may have left: uploads being received over an hour ago, and the
   * working folders of sessions not running now. Returns how many it removed.
   */
  async sweepLeftovers(running: ReadonlySet<string>, now = Date.now()): Promise<number> {
    let removed = 0
    const tmp = join(this.dir, 'tmp')
    for (const name of await readdir(tmp).catch(() => [] as string[])) {
      const path = join(tmp, name)
      const info = await stat(path).catch(() => null)
      if (info && now - info.mtimeMs > 3_600_000) {
        await rm(path, { force: true, recursive: true })
        removed += 1
      }
    }
    const work = join(this.dir, 'work')
    for (const id of await readdir(work).catch(() => [] as string[])) {
      if (running.has(id)) continue
      const info = await stat(join(work, id)).catch(() => null)
      if (info && now - info.mtimeMs > 600_000) {
        await rm(join(work, id), { force: true, recursive: true })
        removed += 1
      }
    }
    return removed
  }

  /** Removes the session's audio only (retention), keeping nothing playable. */
  async dropAudio(id: string): Promise<void> {
    await rm(this.upload(id), { force: true })
    await rm(this.audio(id), { force: true })
    await rm(join(this.dir, 'work', id), { recursive: true, force: true })
  }
}

export interface WavLayout {
  sampleRate: number
  dataOffset: number
  dataBytes: number
  durationSec: number
}

/** The layout of the mono 16-bit WAV inside a vault file (its header is in the first segment). */
export async function vaultWavLayout(codec: Codec, path: string): Promise<WavLayout> {
  const head = await readVaultRange(codec, path, 0, 64 * 1024)
  if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('the stored audio is not a WAV file')
  }
  let offset = 12
  let sampleRate = 0
  let channels = 0
  let bits = 0
  while (offset + 8 <= head.length) {
    const id = head.toString('ascii', offset, offset + 4)
    const length = head.readUInt32LE(offset + 4)
    if (id === 'fmt ') {
      channels = head.readUInt16LE(offset + 10)
      sampleRate = head.readUInt32LE(offset + 12)
      bits = head.readUInt16LE(offset + 22)
    } else if (id === 'data') {
      if (channels !== 1 || bits !== 16) throw new Error('the stored audio is not mono 16-bit PCM')
      return { sampleRate, dataOffset: offset + 8, dataBytes: length, durationSec: length / 2 / sampleRate }
    }
    offset += 8 + length + (length % 2)
  }
  throw new Error('the stored audio has no data chunk')
}

/**
 * Samples `[startSec, endSec)` of the stored WAV, decrypting only that range.
 *
 * @example
 * const { samples } = await readWavRange(spool.codec, files.audio(id), 60, 120)
 */
export async function readWavRange(
  codec: Codec,
  path: string,
  startSec: number,
  endSec: number,
  layout?: WavLayout,
): Promise<{ samples: Float32Array; sampleRate: number; startSec: number }> {
  const wav = layout ?? (await vaultWavLayout(codec, path))
  const { first, bytes } = await rangeBytes(codec, path, wav, startSec, endSec)
  const samples = new Float32Array(bytes.length >> 1)
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2) / 32768
  return { samples, sampleRate: wav.sampleRate, startSec: first / wav.sampleRate }
}

/**
 * Writes `[startSec, endSec)` of the stored WAV as its own plaintext WAV (for an engine that
 * reads files). Returns the exact start and end after rounding to whole samples.
 *
 * @example
 * const cut = await writeWavSlice(spool.codec, files.audio(id), join(work, 'chunk.wav'), 30, 58.2)
 */
export async function writeWavSlice(
  codec: Codec,
  path: string,
  target: string,
  startSec: number,
  endSec: number,
  layout?: WavLayout,
): Promise<{ startSec: number; endSec: number }> {
  const wav = layout ?? (await vaultWavLayout(codec, path))
  const { first, bytes } = await rangeBytes(codec, path, wav, startSec, endSec)
  await writeFile(target, Buffer.concat([wavHeader(bytes.length >> 1, wav.sampleRate), bytes]), { mode: 0o600 })
  return { startSec: first / wav.sampleRate, endSec: (first + (bytes.length >> 1)) / wav.sampleRate }
}

async function rangeBytes(codec: Codec, path: string, wav: WavLayout, startSec: number, endSec: number) {
  const total = wav.dataBytes >> 1
  const first = Math.max(0, Math.min(total, Math.round(startSec * wav.sampleRate)))
  const last = Math.max(first, Math.min(total, Math.round(endSec * wav.sampleRate)))
  const bytes = await readVaultRange(codec, path, wav.dataOffset + first * 2, wav.dataOffset + last * 2)
  return { first, bytes }
}
