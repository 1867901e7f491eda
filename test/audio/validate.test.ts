/**
 * Validation against real files made on the spot with ffmpeg: every accepted format passes with
 * its true duration; corrupt, truncated, mislabelled, oversized, overlong and unsupported inputs
 * fail with the right code and status, as non-retryable errors.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AudioError, type AudioErrorCode, validateAudio } from '../../src/audio/index.js'
import { classifyError } from '../../src/engine/classify.js'
import { UnrecoverableError } from '../../src/engine/errors.js'

const run = promisify(execFile)

describe('validateAudio', () => {
  let dir: string
  const file = (name: string) => join(dir, name)
  const ffmpeg = (...args: string[]) => run('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args])

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-validate-'))
    // Three seconds of a voice-like tone, in every accepted format.
    const source = ['-f', 'lavfi', '-i', 'sine=frequency=220:duration=3:sample_rate=44100', '-ac', '2']
    await Promise.all([
      ffmpeg(...source, file('tone.wav')),
      ffmpeg(...source, '-c:a', 'libmp3lame', '-b:a', '64k', file('tone.mp3')),
      ffmpeg(...source, '-c:a', 'aac', '-b:a', '64k', file('tone.m4a')),
      ffmpeg(...source, '-c:a', 'libvorbis', file('tone.ogg')),
      ffmpeg(...source, '-c:a', 'flac', file('tone.flac')),
      ffmpeg(...source, '-c:a', 'libopus', file('tone.webm')),
      ffmpeg(
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=220:duration=12:sample_rate=16000',
        '-c:a',
        'flac',
        file('long.flac'),
      ),
      ffmpeg(
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=220:duration=12:sample_rate=16000',
        '-c:a',
        'libmp3lame',
        file('long.mp3'),
      ),
      ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=220:duration=30:sample_rate=16000', file('thirty.wav')),
      ffmpeg(
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=220:duration=12:sample_rate=16000',
        '-c:a',
        'libvorbis',
        file('long.ogg'),
      ),
      ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=220:duration=12:sample_rate=16000', '-c:a', 'aac', file('long.m4a')),
      ffmpeg(
        '-f',
        'lavfi',
        '-i',
        'color=c=black:s=32x32:d=1',
        '-c:v',
        'ffv1',
        '-f',
        'matroska',
        file('video-only.webm'),
      ),
    ])
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const rejection = async (path: string, options: Parameters<typeof validateAudio>[1] = {}) => {
    const error = await validateAudio(path, options).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(AudioError)
    expect(error).toBeInstanceOf(UnrecoverableError)
    expect(classifyError(error).retryable).toBe(false)
    return error as AudioError
  }
  const expectCode = (error: AudioError, code: AudioErrorCode, status: number) => {
    expect({ code: error.code, status: error.status, field: error.field }).toEqual({ code, status, field: 'file' })
  }

  it.each(['wav', 'mp3', 'm4a', 'ogg', 'flac', 'webm'])('accepts %s with its duration', async (ext) => {
    const info = await validateAudio(file(`tone.${ext}`))
    expect(info.extension).toBe(ext)
    expect(info.durationSec).toBeGreaterThan(2.9)
    expect(info.durationSec).toBeLessThan(3.1)
    expect(info.warnings).toEqual([])
  })

  it('uses the client filename for the extension, and accepts other audio under a wrong name with a warning', async () => {
    const info = await validateAudio(file('tone.wav'), { filename: 'visit.MP3' })
    expect(info).toMatchObject({ extension: 'mp3', content: { ext: 'wav' }, channels: 2, sampleRate: 44100 })
    expect(info.warnings).toEqual(['named .mp3 but the content is audio/wav'])
  })

  it('rejects a text file named .mp3 (415 AUDIO_TYPE_MISMATCH)', async () => {
    await writeFile(file('notes.mp3'), 'Patient reports improved sleep.\n'.repeat(50))
    expectCode(await rejection(file('notes.mp3')), 'AUDIO_TYPE_MISMATCH', 415)
  })

  it('rejects an extension outside the allowlist (415 AUDIO_UNSUPPORTED_TYPE), before reading the content', async () => {
    expectCode(await rejection(file('tone.wav'), { filename: 'tone.aiff' }), 'AUDIO_UNSUPPORTED_TYPE', 415)
    expectCode(await rejection(file('tone.wav'), { filename: 'recording' }), 'AUDIO_UNSUPPORTED_TYPE', 415)
  })

  it('rejects an oversized file (413 AUDIO_TOO_LARGE) by size alone, at the default 500 MiB and at a configured limit', async () => {
    const huge = file('huge.wav')
    await copyFile(file('tone.wav'), huge)
    await truncate(huge, 500 * 1024 * 1024 + 1) // sparse: nothing is written
    const error = await rejection(huge)
    expectCode(error, 'AUDIO_TOO_LARGE', 413)
    expect(error.details).toMatchObject({ bytes: 500 * 1024 * 1024 + 1, limit: 500 * 1024 * 1024 })
    expectCode(await rejection(file('tone.mp3'), { maxBytes: 1000 }), 'AUDIO_TOO_LARGE', 413)
    await rm(huge)
  })

  it('rejects an empty file (422 AUDIO_EMPTY)', async () => {
    await writeFile(file('empty.wav'), '')
    const error = await rejection(file('empty.wav'))
    expect([error.code, error.status]).toEqual(['AUDIO_EMPTY', 422])
  })

  it('rejects a recording over the duration limit (422 AUDIO_TOO_LONG)', async () => {
    const error = await rejection(file('tone.flac'), { maxDurationSec: 2 })
    expectCode(error, 'AUDIO_TOO_LONG', 422)
    expect(error.details.limit).toBe(2)
  })

  it('rejects truncated FLAC and MP3 (422 AUDIO_TRUNCATED): the header promises more than decodes', async () => {
    for (const name of ['long.flac', 'long.mp3']) {
      const bytes = await readFile(file(name))
      await writeFile(file(`cut-${name}`), bytes.subarray(0, Math.floor(bytes.length * 0.4)))
      const error = await rejection(file(`cut-${name}`))
      expectCode(error, 'AUDIO_TRUNCATED', 422)
      expect(error.details.declaredSec as number).toBeGreaterThan(11)
      expect(error.details.decodedSec as number).toBeLessThan(6)
    }
  })

  it('rejects a WAV cut short although ffprobe and a decode accept it: the data chunk declares more than is there', async () => {
    // The reported case: 30 s at 16 kHz mono 16-bit is 960,000 bytes of samples; keep 300,000 bytes.
    const bytes = await readFile(file('thirty.wav'))
    expect(bytes.length).toBeGreaterThan(960_000)
    await writeFile(file('cut-thirty.wav'), bytes.subarray(0, 300_000))
    const error = await rejection(file('cut-thirty.wav'))
    expectCode(error, 'AUDIO_TRUNCATED', 422)
    expect(error.details).toMatchObject({ declaredBytes: 960_000, declaredSec: 30 })
    expect(error.details.presentBytes as number).toBeLessThan(300_000)
    // The headers-only mode catches it too: the check reads sizes, not samples.
    expectCode(await rejection(file('cut-thirty.wav'), { decode: 'probe' }), 'AUDIO_TRUNCATED', 422)
  })

  it('accepts a streamed WAV whose sizes were never filled in (0xFFFFFFFF), with the duration that decodes', async () => {
    const bytes = Buffer.from(await readFile(file('thirty.wav')))
    bytes.writeUInt32LE(0xffffffff, 4)
    const data = bytes.indexOf('data', 12, 'ascii')
    bytes.writeUInt32LE(0xffffffff, data + 4)
    await writeFile(file('streamed.wav'), bytes)
    const info = await validateAudio(file('streamed.wav'))
    expect(info.durationSec).toBeCloseTo(30, 0)
  })

  it('rejects a cut Ogg (its last page is incomplete: ffprobe reports the shorter length and nothing else complains), M4A and WebM', async () => {
    for (const name of ['long.ogg', 'long.m4a', 'tone.webm']) {
      const bytes = await readFile(file(name))
      await writeFile(file(`cut-${name}`), bytes.subarray(0, Math.floor(bytes.length * 0.4)))
      const error = await rejection(file(`cut-${name}`))
      expectCode(error, 'AUDIO_TRUNCATED', 422)
      expect(error.message).toMatch(
        name.endsWith('ogg') ? /Ogg page/ : name.endsWith('m4a') ? /MP4 ".{4}" box/ : /Matroska segment/,
      )
    }
  })

  it('rejects corrupt audio whose magic bytes are right (422 AUDIO_UNDECODABLE)', async () => {
    const garbage = Buffer.alloc(64 * 1024)
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 251
    const flac = await readFile(file('tone.flac'))
    // A real FLAC signature and stream header, then noise instead of frames and metadata.
    await writeFile(file('corrupt.flac'), Buffer.concat([flac.subarray(0, 4), garbage]))
    expectCode(await rejection(file('corrupt.flac')), 'AUDIO_UNDECODABLE', 422)
  })

  it('rejects a container with no audio stream (422 AUDIO_UNDECODABLE)', async () => {
    const error = await rejection(file('video-only.webm'))
    expectCode(error, 'AUDIO_UNDECODABLE', 422)
    expect(error.message).toMatch(/no audio stream/)
  })

  it('trusts the headers with decode: probe (no truncation check), for callers that decode later anyway', async () => {
    const bytes = await readFile(file('long.flac'))
    const handle = await open(file('cut-probe.flac'), 'w')
    await handle.write(bytes.subarray(0, Math.floor(bytes.length * 0.4)))
    await handle.close()
    const info = await validateAudio(file('cut-probe.flac'), { decode: 'probe' })
    expect(info.durationSec).toBeCloseTo(12, 0)
  })
})
