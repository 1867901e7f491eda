/**
 * The AMI meeting excerpt (`../shared/audio/ami-dev00.wav`, 30 s, two speakers, real meeting
 * speech with overlaps) against its RTTM reference, DER with a 0.25 s collar over 0–30 s (the
 * upstream UEM). Measured on this machine with the baseline diarizer (log-mel statistics,
 * average linkage, Viterbi resegmentation) and Silero VAD, 2026-12-08:
 *
 *   speakers estimated: 2 · DER 0.305 (missed 4.42 s, false alarm 0, confusion 2.26 s of 21.91 s)
 *   two speakers given:  DER 0.305 (the same clustering)
 *
 * (The earlier MFCC diarizer measured 0.275 here, with 1.61 s of confusion; the new one is better
 * on the two-person development set, docs/audio.md "Diarization quality", and 0.6 s worse on
 * this one excerpt.)
 *
 * Most of the error is missed speech (VAD finds no speech in 1.4–2.1 s and 3.9–6.7 s, which the
 * reference counts as one long turn) — the baseline's known weakness on meeting audio. The test
 * bounds DER at the measured value plus 0.05.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createBaselineDiarizer,
  diarizationErrorRate,
  type PreprocessResult,
  parseRttm,
  preprocessAudio,
} from '../../src/audio/index.js'
import { sharedAudioAvailable, sharedPath, sharedText } from '../helpers/shared-audio.js'

const MEASURED_DER = 0.305
const MARGIN = 0.05

describe.skipIf(
  !sharedAudioAvailable('AMI diarization error rate (test/audio/ami.test.ts)', ['ami-dev00.wav', 'ami-dev00.rttm']),
)('AMI excerpt, baseline diarization', () => {
  let dir: string
  let pre: PreprocessResult
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-ami-'))
    pre = await preprocessAudio(sharedPath('ami-dev00.wav'), join(dir, 'ami.wav'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it(`DER ≤ ${MEASURED_DER + MARGIN} with the speaker count estimated and given (measured ${MEASURED_DER})`, async () => {
    const reference = parseRttm(sharedText('ami-dev00.rttm'), 'dev00')
    expect(new Set(reference.map((t) => t.speaker)).size).toBe(2)
    // Times stay in the recording's frame: nothing is trimmed from this file, or it is added back.
    const shift = (turns: { start: number; end: number; speaker: string }[]) =>
      turns.map((t) => ({ ...t, start: t.start + pre.trimmedStartSec, end: t.end + pre.trimmedStartSec }))
    const diarizer = createBaselineDiarizer()
    const estimated = await diarizer.diarize(pre.path)
    const given = await diarizer.diarize(pre.path, { numSpeakers: 2 })
    for (const [label, result] of [
      ['estimated', estimated],
      ['given', given],
    ] as const) {
      const der = diarizationErrorRate(reference, shift(result.turns), { collar: 0.25, uem: { start: 0, end: 30 } })
      console.info(
        `AMI (${label}): ${result.speakers.length} speakers, DER ${der.der.toFixed(3)} (missed ${der.missed.toFixed(2)} s, false alarm ${der.falseAlarm.toFixed(2)} s, confusion ${der.confusion.toFixed(2)} s of ${der.scored.toFixed(2)} s)`,
      )
      expect(result.speakers).toHaveLength(2)
      expect(der.der).toBeLessThanOrEqual(MEASURED_DER + MARGIN)
    }
  })
})
