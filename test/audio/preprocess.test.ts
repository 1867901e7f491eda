/**
 * Preprocessing real, generated audio: a quiet spoken phrase (espeak-ng) with known silence
 * before and after, stereo at 44.1 kHz in an MP3, becomes 16 kHz mono PCM at the target
 * loudness with the silence trimmed and the trim recorded; an aborted run leaves no ffmpeg
 * behind and no output.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectSpeechInFile, preprocessAudio, readWavInfo, toOriginalTime } from '../../src/audio/index.js'
import { measureLoudness } from '../../src/audio/preprocess.js'

const run = promisify(execFile)

describe('preprocessAudio', () => {
  let dir: string
  let input: string
  const LEAD = 2
  const TAIL = 1.5
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-preprocess-'))
    const spoken = join(dir, 'spoken.wav')
    await run('espeak-ng', [
      '-v',
      'en-us',
      '-w',
      spoken,
      'The patient slept better this week and tried the breathing exercise twice.',
    ])
    // Trim espeak's own edges, then add exactly LEAD and TAIL seconds, at −30 dB, stereo 44.1 kHz.
    const padded = join(dir, 'padded.wav')
    await run('sox', [
      '--no-dither',
      spoken,
      '-r',
      '44100',
      '-c',
      '2',
      padded,
      'silence',
      '1',
      '0.02',
      '0.5%',
      'reverse',
      'silence',
      '1',
      '0.02',
      '0.5%',
      'reverse',
      'pad',
      String(LEAD),
      String(TAIL),
      'vol',
      '-30dB',
    ])
    input = join(dir, 'visit.mp3')
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', padded, '-c:a', 'libmp3lame', '-b:a', '96k', input])
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('converts to 16 kHz mono 16-bit PCM at the target loudness, trimming leading and trailing silence', async () => {
    const output = join(dir, 'out.wav')
    const result = await preprocessAudio(input, output, { targetLufs: -20 })
    const info = await readWavInfo(output)
    expect(info).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16 })
    expect(info.durationSec).toBeCloseTo(result.durationSec, 3)
    // Silence trimmed to within the padding (0.25 s) plus a frame or two; MP3 adds ~50 ms of delay.
    expect(result.trimmedStartSec).toBeGreaterThan(LEAD - 0.25 - 0.1)
    expect(result.trimmedStartSec).toBeLessThan(LEAD - 0.25 + 0.15)
    expect(result.trimmedEndSec).toBeGreaterThan(TAIL - 0.25 - 0.15)
    expect(result.originalDurationSec).toBeCloseTo(
      result.trimmedStartSec + result.durationSec + result.trimmedEndSec,
      3,
    )
    // The quiet input (≈ −45 LUFS) is brought up, by the gain it reports, to about −20 LUFS.
    expect(result.inputLufs).toBeLessThan(-40)
    expect(result.gainDb).toBeGreaterThan(15)
    const measured = await measureLoudness(output)
    expect(measured.integratedLufs).toBeGreaterThan(-21.5)
    expect(measured.integratedLufs).toBeLessThan(-18.5)
    expect(measured.samplePeakDb).toBeLessThanOrEqual(-0.9)
    // The input's loudness (measured in TypeScript at 16 kHz) agrees with ffmpeg's ebur128 at 48 kHz.
    expect(Math.abs((measured.integratedLufs ?? 0) - result.gainDb - (result.inputLufs ?? 0))).toBeLessThan(0.3)
    // Speech in the output starts right after the kept padding; mapped back, it is where it was.
    const { segments } = await detectSpeechInFile(output)
    expect(toOriginalTime(segments[0]?.start ?? 0, result)).toBeGreaterThan(LEAD - 0.1)
    expect(toOriginalTime(segments[0]?.start ?? 0, result)).toBeLessThan(LEAD + 0.3)
  })

  it('keeps everything with trim off, and denoises on request', async () => {
    const output = join(dir, 'untrimmed.wav')
    const result = await preprocessAudio(input, output, { trim: false, denoise: true })
    expect(result.trimmedStartSec).toBe(0)
    expect(result.trimmedEndSec).toBe(0)
    expect(result.durationSec).toBeCloseTo(result.originalDurationSec, 3)
  })

  it('kills ffmpeg when the signal fires, and leaves no output or temporary file', async () => {
    const long = join(dir, 'long.flac')
    await run('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'anoisesrc=d=120:c=pink:r=44100:a=0.1',
      '-ac',
      '2',
      '-c:a',
      'flac',
      '-compression_level',
      '0',
      long,
    ])
    const folder = join(dir, 'aborted')
    await import('node:fs/promises').then((fs) => fs.mkdir(folder))
    const controller = new AbortController()
    const reason = Object.assign(new Error('job timed out'), { code: 'SPOOL_JOB_TIMEOUT' })
    const progress: number[] = []
    const pending = preprocessAudio(long, join(folder, 'out.wav'), {
      denoise: true,
      durationSec: 120,
      signal: controller.signal,
      onProgress: (fraction) => {
        progress.push(fraction)
        controller.abort(reason)
      },
    })
    await expect(pending).rejects.toBe(reason)
    expect(progress.length).toBeGreaterThan(0)
    expect(await readdir(folder)).toEqual([])
    const { stdout } = await run('ps', ['-eo', 'args']).catch(() => ({ stdout: '' }))
    expect(stdout.split('\n').filter((line) => line.includes(folder))).toEqual([])
    expect(existsSync(join(folder, 'out.wav'))).toBe(false)
  })
})
