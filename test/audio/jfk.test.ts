/**
 * The JFK clip (`../shared/audio/jfk.flac`, 11 s, 44.1 kHz stereo FLAC) through the offline
 * chain: validate → preprocess → VAD → chunk plan → pocketsphinx → merge with the baseline
 * diarizer. Word error rate against `jfk.txt` (22 words, normalised), measured on this machine:
 *
 *   pocketsphinx 0.8+5prealpha (Debian 12), US English model, through the pipeline: 0.636
 *   (14 errors in 22 words: "and i got my our and not like your brain and you are you
 *   and when you can you buy your country").
 *
 * The test asserts no worse than that plus two words (0.727). PocketSphinx is deterministic on
 * identical input, so a change in the figure means the preprocessing or the engine changed.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  assessQuality,
  createBaselineDiarizer,
  createPocketsphinxEngine,
  detectSpeechInFile,
  mergeSpeakers,
  type PreprocessResult,
  planChunks,
  preprocessAudio,
  transcribeChunked,
  validateAudio,
  wordErrorRate,
} from '../../src/audio/index.js'
import { sharedAudioAvailable, sharedPath, sharedText } from '../helpers/shared-audio.js'

const MEASURED_WER = 14 / 22
const MARGIN = 2 / 22

describe.skipIf(!sharedAudioAvailable('JFK word error rate (test/audio/jfk.test.ts)', ['jfk.flac', 'jfk.txt']))(
  'JFK through the offline chain',
  () => {
    let dir: string
    let pre: PreprocessResult
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'spool-jfk-'))
    })
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('validates and preprocesses the FLAC', async () => {
      const info = await validateAudio(sharedPath('jfk.flac'))
      expect(info).toMatchObject({ extension: 'flac', codec: 'flac', channels: 2, sampleRate: 44100 })
      expect(info.durationSec).toBeCloseTo(11, 1)
      pre = await preprocessAudio(sharedPath('jfk.flac'), join(dir, 'jfk.wav'), { durationSec: info.durationSec })
      expect(pre.sampleRate).toBe(16000)
      expect(pre.durationSec).toBeCloseTo(11, 1)
    })

    it(`transcribes with pocketsphinx at WER ≤ ${(MEASURED_WER + MARGIN).toFixed(3)} (measured ${MEASURED_WER.toFixed(3)})`, async () => {
      const vad = await detectSpeechInFile(pre.path)
      expect(vad.engine).toBe('silero') // the model file is in ../shared/models
      const chunks = planChunks(vad.segments, pre.durationSec, { maxChunkSec: 30 })
      const transcript = await transcribeChunked(createPocketsphinxEngine(), pre.path, chunks, {
        language: 'en',
        workDir: dir,
      })
      const { wer } = wordErrorRate(sharedText('jfk.txt'), transcript.text)
      console.info(`JFK: WER ${wer.toFixed(3)} (measured ${MEASURED_WER.toFixed(3)}): "${transcript.text}"`)
      expect(wer).toBeLessThanOrEqual(MEASURED_WER + MARGIN + 1e-9)
      // Word times are inside the audio and in order.
      expect(transcript.words.length).toBeGreaterThan(10)
      transcript.words.forEach((w, i) => {
        expect(w.end).toBeGreaterThanOrEqual(w.start)
        expect(w.end).toBeLessThanOrEqual(pre.durationSec + 0.05)
        if (i > 0) expect(w.start).toBeGreaterThanOrEqual(transcript.words[i - 1]?.start ?? 0)
      })

      const diarization = await createBaselineDiarizer().diarize(pre.path)
      expect(diarization.speakers).toEqual(['SPEAKER_1']) // one speaker, estimated
      const merged = mergeSpeakers(transcript, diarization)
      expect(merged.speakers).toEqual(['SPEAKER_1'])
      const quality = assessQuality(transcript.words, { speech: vad.segments, durationSec: pre.durationSec })
      expect(quality.wordsPerMinute).toBeGreaterThan(60)
      expect(quality.wordsPerMinute).toBeLessThan(250)
    })
  },
)
