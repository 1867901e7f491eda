import { describe, expect, it } from 'vitest'
import { isAudioError } from '../../errors.js'
import { createPocketsphinxEngine, parseContinuousOutput, parseJsonOutput } from './pocketsphinx.js'

describe('pocketsphinx output', () => {
  it('reads 5prealpha `-time yes` output (Debian 12), dropping fillers and pronunciation marks', () => {
    const stdout = [
      'and not',
      '<s> 3.170 3.280 1.000200',
      'and(2) 3.290 3.730 0.985603',
      '<sil> 3.740 3.980 0.828348',
      'not 3.990 4.300 0.817403',
      '</s> 4.310 4.760 1.000000',
      'what your',
      '<s> 5.300 5.340 0.999200',
      '[NOISE] 5.340 5.349 0.5',
      'what 5.350 5.600 0.287209',
      'your 5.610 5.850 0.698345',
      '</s> 7.680 7.950 1.000000',
    ].join('\n')
    expect(parseContinuousOutput(stdout)).toEqual([
      [
        { text: 'and', start: 3.29, end: 3.73, confidence: 0.985603 },
        { text: 'not', start: 3.99, end: 4.3, confidence: 0.817403 },
      ],
      [
        { text: 'what', start: 5.35, end: 5.6, confidence: 0.287209 },
        { text: 'your', start: 5.61, end: 5.85, confidence: 0.698345 },
      ],
    ])
  })

  it('reads 5.x `live` JSON lines', () => {
    const stdout =
      '{"b":0.240,"d":1.000,"p":0.9,"t":"mr john","w":[{"b":0.240,"d":0.070,"p":1.000,"t":"<s>"},{"b":0.310,"d":0.320,"p":0.997,"t":"mr"},{"b":0.630,"d":0.400,"p":0.897,"t":"john(2)"}]}\n' +
      '{"b":7.320,"d":0.5,"p":0.5,"t":"","w":[]}\n'
    expect(parseJsonOutput(stdout)).toEqual([
      [
        { text: 'mr', start: 0.31, end: 0.63, confidence: 0.997 },
        { text: 'john', start: 0.63, end: 1.03, confidence: 0.897 },
      ],
      [],
    ])
  })

  it('refuses a language its model does not cover, before running anything', async () => {
    const engine = createPocketsphinxEngine({ binary: '/nonexistent/pocketsphinx_continuous' })
    const error = await engine.transcribe('/nonexistent.wav', { language: 'de' }).catch((e: unknown) => e)
    expect(isAudioError(error, 'AUDIO_LANGUAGE_UNSUPPORTED')).toBe(true)
  })

  it('says when it is not installed', async () => {
    const engine = createPocketsphinxEngine({ binary: '/nonexistent/pocketsphinx_continuous' })
    const error = await engine.transcribe('/nonexistent.wav', { language: 'en-US' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'CommandError', message: expect.stringContaining('could not be started') })
  })
})
