import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLAIN } from '../../engine/codec.js'
import { AesGcmCodec } from '../../security/codec.js'
import { writeWav } from '../wav.js'
import { readWavRange, vaultWavLayout, writeWavSlice } from './files.js'
import {
  decryptVaultFile,
  isEncryptingCodec,
  readVaultRange,
  readVaultStream,
  vaultFileSize,
  writeVaultFile,
} from './vault.js'

const codec = new AesGcmCodec([{ id: 'k1', key: randomBytes(32) }])
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spool-vault-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('vault files', () => {
  it('round-trips sizes around the segment boundaries, by stream and by range', async () => {
    for (const size of [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 200_001]) {
      const plain = randomBytes(size)
      const path = join(dir, `f-${size}.enc`)
      expect(await writeVaultFile(codec, Readable.from([plain.subarray(0, 10), plain.subarray(10)]), path)).toBe(size)
      const stored = await readFile(path)
      expect(stored.subarray(0, 8).toString()).toBe('SPOOLAE1')
      if (size > 32) expect(stored.includes(plain.subarray(0, 32))).toBe(false)
      expect(await vaultFileSize(codec, path)).toBe(size)
      const chunks: Buffer[] = []
      for await (const chunk of readVaultStream(codec, path)) chunks.push(chunk)
      expect(Buffer.concat(chunks).equals(plain)).toBe(true)
      for (const [from, to] of [
        [0, size],
        [5, 70_000],
        [65_530, 65_540],
        [size - 3, size + 10],
      ] as const) {
        const range = await readVaultRange(codec, path, from, to)
        expect(range.equals(plain.subarray(Math.max(0, from), Math.min(size, to)))).toBe(true)
      }
    }
  })

  it('refuses a file that was tampered with, cut at a segment boundary, or read under another key', async () => {
    const plain = randomBytes(3 * 65_536 + 100)
    const path = join(dir, 'tamper.enc')
    await writeVaultFile(codec, Readable.from([plain]), path)
    const stored = await readFile(path)
    const flipped = Buffer.from(stored)
    flipped[stored.length - 200] = (flipped[stored.length - 200] as number) ^ 1
    await writeFile(join(dir, 'flipped.enc'), flipped)
    await expect(readVaultRange(codec, join(dir, 'flipped.enc'), 0, plain.length)).rejects.toThrow(/authenticate/)
    // Cut after the first full segment: it was not the last, so it does not authenticate as last.
    const headerLength = 12 + stored.readUInt32LE(8)
    await writeFile(join(dir, 'cut.enc'), stored.subarray(0, headerLength + 65_536 + 28))
    await expect(readVaultRange(codec, join(dir, 'cut.enc'), 0, 10)).rejects.toThrow(/authenticate/)
    const other = new AesGcmCodec([{ id: 'k2', key: randomBytes(32) }])
    await expect(readVaultRange(other, path, 0, 10)).rejects.toThrow()
  })

  it('stores plainly with a codec that does not encrypt, and reads both forms', async () => {
    expect(isEncryptingCodec(PLAIN)).toBe(false)
    expect(isEncryptingCodec(codec)).toBe(true)
    const plain = randomBytes(1000)
    const path = join(dir, 'plain.bin')
    await writeVaultFile(PLAIN, Readable.from([plain]), path)
    expect((await readFile(path)).equals(plain)).toBe(true)
    expect((await readVaultRange(codec, path, 10, 20)).equals(plain.subarray(10, 20))).toBe(true)
    await decryptVaultFile(PLAIN, path, join(dir, 'plain.out'))
    expect((await readFile(join(dir, 'plain.out'))).equals(plain)).toBe(true)
  })

  it('reads sample ranges of a stored WAV without decrypting the rest', async () => {
    const samples = new Float32Array(16_000 * 5).map((_, i) => Math.sin(i / 10) * 0.5)
    await writeWav(join(dir, 'tone.wav'), samples, 16_000)
    const path = join(dir, 'tone.enc')
    await writeVaultFile(codec, join(dir, 'tone.wav'), path)
    const layout = await vaultWavLayout(codec, path)
    expect(layout).toMatchObject({ sampleRate: 16_000, durationSec: 5 })
    const range = await readWavRange(codec, path, 1.5, 2.5, layout)
    expect(range.samples.length).toBe(16_000)
    expect(range.startSec).toBe(1.5)
    expect(range.samples[0]).toBeCloseTo(samples[24_000] as number, 3)
    const cut = await writeWavSlice(codec, path, join(dir, 'slice.wav'), 4.5, 9)
    expect(cut).toEqual({ startSec: 4.5, endSec: 5 })
    expect((await readFile(join(dir, 'slice.wav'))).length).toBe(44 + 8000 * 2)
  })
})
