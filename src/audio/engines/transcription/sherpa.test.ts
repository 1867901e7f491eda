import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAudioError } from '../../errors.js'
import {
  createSherpaTranscriptionEngine,
  detectSherpaAsrModel,
  sherpaRecognizerConfig,
  sherpaTranscriptionStatus,
  tokenWords,
} from './sherpa.js'

describe('sherpa transcription engine', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-sherpa-asr-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const files = async (folder: string, names: string[]) => {
    await mkdir(folder, { recursive: true })
    await Promise.all(names.map((name) => writeFile(join(folder, name), '')))
  }

  it('recognises the Whisper layout and prefers int8 files', async () => {
    const folder = join(dir, 'whisper')
    await files(folder, [
      'tiny.en-encoder.onnx',
      'tiny.en-encoder.int8.onnx',
      'tiny.en-decoder.int8.onnx',
      'tiny.en-tokens.txt',
    ])
    expect(detectSherpaAsrModel(folder)).toEqual({
      kind: 'whisper',
      dir: folder,
      encoder: join(folder, 'tiny.en-encoder.int8.onnx'),
      decoder: join(folder, 'tiny.en-decoder.int8.onnx'),
      tokens: join(folder, 'tiny.en-tokens.txt'),
    })
    const config = sherpaRecognizerConfig(detectSherpaAsrModel(folder) as never, 2, 'en') as {
      modelConfig: Record<string, unknown>
    }
    expect(config.modelConfig).toMatchObject({
      whisper: { language: 'en', task: 'transcribe' },
      numThreads: 2,
      tokens: join(folder, 'tiny.en-tokens.txt'),
    })
  })

  it('recognises the Moonshine layout and rejects an incomplete one', async () => {
    const folder = join(dir, 'moonshine')
    await files(folder, [
      'preprocess.onnx',
      'encode.int8.onnx',
      'uncached_decode.int8.onnx',
      'cached_decode.int8.onnx',
      'tokens.txt',
    ])
    expect(detectSherpaAsrModel(folder)).toMatchObject({
      kind: 'moonshine',
      preprocessor: join(folder, 'preprocess.onnx'),
    })
    const partial = join(dir, 'partial')
    await files(partial, ['preprocess.onnx', 'encode.int8.onnx', 'tokens.txt'])
    expect(detectSherpaAsrModel(partial)).toBeUndefined()
    expect(detectSherpaAsrModel(join(dir, 'absent'))).toBeUndefined()
  })

  it('is unavailable, with the folders it looked in, when no model is present (as on this machine)', () => {
    const status = sherpaTranscriptionStatus({}, { SPOOL_MODELS_DIR: join(dir, 'empty-models') })
    expect(status.available).toBe(false)
    if (!status.available) expect(status.reason).toContain(join(dir, 'empty-models', 'whisper'))
    const error = (() => {
      try {
        createSherpaTranscriptionEngine({ modelDir: join(dir, 'partial') })
      } catch (e) {
        return e
      }
    })()
    expect(isAudioError(error, 'AUDIO_ENGINE_UNAVAILABLE')).toBe(true)
  })

  it('builds words from BPE tokens with timestamps', () => {
    const words = tokenWords(
      { text: ' hello world', tokens: [' hel', 'lo', ' wor', 'ld'], timestamps: [0.1, 0.3, 0.6, 0.8] },
      10,
      12,
    )
    expect(words).toEqual([
      { text: 'hello', start: 10.1, end: 10.6 },
      { text: 'world', start: 10.6, end: 12 },
    ])
    expect(tokenWords({ text: 'x', tokens: ['x'] }, 0, 1)).toEqual([])
  })
})
