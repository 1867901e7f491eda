import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readWav, readWavInfo, sliceWav, writeWav } from './wav.js'

describe('wav', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-wav-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('writes and reads 16-bit mono, clipping out-of-range samples', async () => {
    const path = join(dir, 'a.wav')
    await writeWav(path, Float32Array.from([0, 0.5, -0.5, 1.5, -2]), 16000)
    const info = await readWavInfo(path)
    expect(info).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16, dataOffset: 44, dataBytes: 10 })
    const { samples } = await readWav(path)
    expect(Array.from(samples)).toEqual([0, 0.5, -0.5, 32767 / 32768, -1])
  })

  it('slices a byte range exactly and reports the sample-rounded bounds', async () => {
    const path = join(dir, 'ramp.wav')
    const ramp = Float32Array.from({ length: 16000 }, (_, i) => (i % 1000) / 1000)
    await writeWav(path, ramp, 16000)
    const cut = await sliceWav(path, join(dir, 'cut.wav'), 0.25, 0.50003)
    expect(cut).toEqual({ startSec: 0.25, endSec: 0.5 })
    const { samples } = await readWav(join(dir, 'cut.wav'))
    expect(samples.length).toBe(4000)
    expect(samples[0]).toBeCloseTo(ramp[4000] as number, 4)
    expect((await stat(join(dir, 'cut.wav'))).size).toBe(44 + 8000)
    const part = await readWav(path, { startSec: 0.5, endSec: 0.75 })
    expect(part.samples[0]).toBeCloseTo(ramp[8000] as number, 4)
  })

  it('rejects files that are not WAV', async () => {
    const path = join(dir, 'x.wav')
    await import('node:fs/promises').then((fs) => fs.writeFile(path, 'not a wav file at all, just text'))
    await expect(readWavInfo(path)).rejects.toThrow(/RIFF/)
  })
})
