import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isAudioError } from './errors.js'
import { ffmpegPath, ffprobePath, resetToolCache, whichSync } from './tools.js'

describe('locating ffmpeg and ffprobe', () => {
  let dir: string
  const saved = { FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH, PATH: process.env.PATH }
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-tools-'))
    resetToolCache()
  })
  afterEach(async () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
    resetToolCache()
    await rm(dir, { recursive: true, force: true })
  })

  it('uses FFMPEG_PATH / FFPROBE_PATH when set, and refuses one that is not executable', async () => {
    const fake = join(dir, 'my-ffmpeg')
    await writeFile(fake, '#!/bin/sh\n')
    await chmod(fake, 0o755)
    process.env.FFMPEG_PATH = fake
    expect(ffmpegPath()).toBe(fake)
    process.env.FFPROBE_PATH = join(dir, 'missing-ffprobe')
    let error: unknown
    try {
      ffprobePath()
    } catch (e) {
      error = e
    }
    expect(isAudioError(error, 'AUDIO_ENGINE_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toContain('FFPROBE_PATH')
  })

  it('finds the system binary on PATH, else the npm installer package', async () => {
    delete process.env.FFMPEG_PATH
    const bin = join(dir, 'bin')
    await import('node:fs/promises').then((fs) => fs.mkdir(bin))
    await writeFile(join(bin, 'ffmpeg'), '#!/bin/sh\n')
    await chmod(join(bin, 'ffmpeg'), 0o755)
    process.env.PATH = bin
    expect(ffmpegPath()).toBe(join(bin, 'ffmpeg'))
    resetToolCache()
    process.env.PATH = join(dir, 'empty')
    // Nothing on PATH: the optional @ffmpeg-installer/ffmpeg package's static build.
    expect(ffmpegPath()).toMatch(/@ffmpeg-installer/)
    expect(whichSync('ffmpeg', join(dir, 'empty'))).toBeUndefined()
  })
})
