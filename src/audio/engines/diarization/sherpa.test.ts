import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAudioError } from '../../errors.js'
import { createNoDiarizer } from './none.js'
import {
  createSherpaDiarizer,
  detectSherpaDiarizationModels,
  namedTurns,
  sherpaDiarizationConfig,
  sherpaDiarizationStatus,
} from './sherpa.js'

describe('sherpa diarization engine', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-sherpa-diar-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('finds pyannote segmentation and a speaker-embedding model as sherpa-onnx publishes them', async () => {
    const folder = join(dir, 'speaker-diarization')
    await mkdir(join(folder, 'sherpa-onnx-pyannote-segmentation-3-0'), { recursive: true })
    expect(detectSherpaDiarizationModels(folder)).toBeUndefined()
    await writeFile(join(folder, 'sherpa-onnx-pyannote-segmentation-3-0', 'model.onnx'), '')
    await writeFile(join(folder, 'notes.onnx'), '')
    expect(detectSherpaDiarizationModels(folder)).toBeUndefined()
    await writeFile(join(folder, 'nemo_en_titanet_small.onnx'), '')
    const models = detectSherpaDiarizationModels(folder)
    expect(models).toEqual({
      segmentation: join(folder, 'sherpa-onnx-pyannote-segmentation-3-0', 'model.onnx'),
      embedding: join(folder, 'nemo_en_titanet_small.onnx'),
    })
    expect(sherpaDiarizationConfig(models as never, { numSpeakers: 2 })).toMatchObject({
      segmentation: { pyannote: { model: models?.segmentation } },
      embedding: { model: models?.embedding },
      clustering: { numClusters: 2 },
    })
    expect(sherpaDiarizationConfig(models as never)).toMatchObject({ clustering: { numClusters: -1, threshold: 0.5 } })
  })

  it('is unavailable without the files (as on this machine) and says where it looked', () => {
    const status = sherpaDiarizationStatus({}, { SPOOL_MODELS_DIR: join(dir, 'no-models') })
    expect(status).toEqual({
      available: false,
      reason: expect.stringContaining(join(dir, 'no-models', 'speaker-diarization')),
    })
    let error: unknown
    try {
      createSherpaDiarizer({ modelDir: join(dir, 'no-models') })
    } catch (e) {
      error = e
    }
    expect(isAudioError(error, 'AUDIO_ENGINE_UNAVAILABLE')).toBe(true)
  })

  it('names integer speakers by first appearance', () => {
    expect(
      namedTurns([
        { start: 3, end: 4, speaker: 0 },
        { start: 0, end: 2, speaker: 4 },
      ]),
    ).toEqual({
      turns: [
        { start: 0, end: 2, speaker: 'SPEAKER_1' },
        { start: 3, end: 4, speaker: 'SPEAKER_2' },
      ],
      speakers: ['SPEAKER_1', 'SPEAKER_2'],
    })
  })

  it('the none engine returns no turns and says why', async () => {
    expect(await createNoDiarizer().diarize('unused.wav')).toEqual({
      engine: 'none',
      turns: [],
      speakers: [],
      warnings: [expect.stringContaining('off')],
    })
  })
})
