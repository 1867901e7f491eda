/**
 * A two-voice therapy dialogue generated here with espeak-ng and sox (test/helpers/conversation.ts:
 * seven turns, exact reference text and turn times, 0.5–0.9 s pauses), through the whole offline
 * chain: preprocess → VAD → chunked pocketsphinx ‖ baseline diarization → merge → notes → formats.
 * Measured on this machine:
 *
 *   diarization: 2 speakers estimated, DER 0.000 (0.25 s collar; 0.020 on the raw file
 *   before preprocessing, where VAD misses the start of one turn)
 *   transcription: WER 0.798 (pocketsphinx on synthetic speech, cut into 12 s chunks)
 *   attribution: 97.2 % of the 71 reference words pocketsphinx recognised (matched or
 *   substituted in the alignment) went to the right speaker; 77.5 % of all 89 reference words
 *   (the rest were not recognised at all).
 *
 * Bounds: DER ≤ 0.10 (the target), attribution of recognised words ≥ 0.90, of all
 * reference words ≥ 0.65, WER ≤ 0.85.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createBaselineDiarizer,
  createExtractiveNotesEngine,
  createPocketsphinxEngine,
  type Diarization,
  detectSpeechInFile,
  diarizationErrorRate,
  extractNotes,
  formatTranscript,
  mergeSpeakers,
  normaliseWords,
  type PreprocessResult,
  planChunks,
  preprocessAudio,
  type Transcript,
  transcribeChunked,
  wordErrorRate,
} from '../../src/audio/index.js'
import { type Conversation, speakConversation, THERAPY_DIALOGUE } from '../helpers/conversation.js'

describe('a generated two-voice conversation through the offline chain', () => {
  let dir: string
  let conversation: Conversation
  let pre: PreprocessResult
  let transcript: Transcript
  let diarization: Diarization
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-conversation-'))
    conversation = await speakConversation(THERAPY_DIALOGUE, dir)
    pre = await preprocessAudio(conversation.path, join(dir, 'pre.wav'))
    const vad = await detectSpeechInFile(pre.path)
    // Short chunks, so the dialogue is really cut, fanned out and stitched.
    const chunks = planChunks(vad.segments, pre.durationSec, { maxChunkSec: 12 })
    expect(chunks.length).toBeGreaterThan(2)
    ;[transcript, diarization] = await Promise.all([
      transcribeChunked(createPocketsphinxEngine(), pre.path, chunks, { concurrency: 2, workDir: dir }),
      createBaselineDiarizer().diarize(pre.path),
    ])
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  /** Hypothesis times moved back to the generated recording's timeline. */
  const original = <T extends { start: number; end: number }>(items: T[]) =>
    items.map((x) => ({ ...x, start: x.start + pre.trimmedStartSec, end: x.end + pre.trimmedStartSec }))

  it('diarizes the two voices with DER ≤ 10 %', () => {
    const der = diarizationErrorRate(conversation.turns, original(diarization.turns), { collar: 0.25 })
    console.info(
      `conversation: ${diarization.speakers.length} speakers, DER ${der.der.toFixed(3)} (missed ${der.missed.toFixed(2)} s, false alarm ${der.falseAlarm.toFixed(2)} s, confusion ${der.confusion.toFixed(2)} s of ${der.scored.toFixed(2)} s)`,
    )
    expect(diarization.speakers).toEqual(['SPEAKER_1', 'SPEAKER_2'])
    expect(der.der).toBeLessThanOrEqual(0.1)
  })

  it('attributes the recognised reference words to the right speaker after merge', () => {
    const merged = mergeSpeakers(transcript, diarization)
    const { mapping } = diarizationErrorRate(conversation.turns, original(diarization.turns), { collar: 0.25 })
    const refWords = conversation.words.flatMap((w) =>
      normaliseWords(w.text).map((text) => ({ text, speaker: w.speaker })),
    )
    const hypWords = merged.words.flatMap((w) => normaliseWords(w.text).map((text) => ({ text, speaker: w.speaker })))
    const { alignment, wer } = wordErrorRate(
      refWords.map((w) => w.text),
      hypWords.map((w) => w.text),
    )
    let aligned = 0
    let right = 0
    for (const step of alignment) {
      if (step.ref === undefined || step.hyp === undefined) continue
      aligned++
      if (mapping[hypWords[step.hyp]?.speaker ?? ''] === refWords[step.ref]?.speaker) right++
    }
    const ofRecognised = right / aligned
    const ofAll = right / refWords.length
    console.info(
      `conversation: WER ${wer.toFixed(3)}; right speaker for ${(ofRecognised * 100).toFixed(1)} % of the ${aligned} recognised reference words, ${(ofAll * 100).toFixed(1)} % of all ${refWords.length}`,
    )
    expect(wer).toBeLessThanOrEqual(0.85)
    expect(ofRecognised).toBeGreaterThanOrEqual(0.9)
    expect(ofAll).toBeGreaterThanOrEqual(0.65)
  })

  it('ends in notes and subtitles that carry both speakers', async () => {
    const merged = mergeSpeakers(transcript, diarization)
    const { notes, heuristic } = await extractNotes(createExtractiveNotesEngine(), merged)
    expect(heuristic).toBe(true)
    expect(notes.therapist_notes).toMatch(/^Heuristic draft/)
    expect(notes.risk_flags).toEqual([])
    const vtt = formatTranscript(merged, 'vtt', { offsetSec: pre.trimmedStartSec })
    expect(vtt).toContain('<v SPEAKER_1>')
    expect(vtt).toContain('<v SPEAKER_2>')
    const firstCue = /(\d\d):(\d\d):(\d\d)\.(\d{3}) -->/.exec(vtt)
    const firstStart = firstCue ? Number(firstCue[3]) + Number(firstCue[4]) / 1000 : -1
    // On the original timeline the first words start where the first turn does.
    expect(Math.abs(firstStart - (conversation.turns[0]?.start ?? 0))).toBeLessThan(0.5)
  })
})
