/**
 * A two-voice therapy dialogue generated here with espeak-ng and sox (test/helpers/conversation.ts:
 * seven turns, exact reference text and turn times, 0.5–0.9 s pauses), through the whole offline
 * chain: preprocess → VAD → chunked pocketsphinx ‖ baseline diarization → merge → notes → formats.
 * Measured on this machine:
 *
 *   diarization: 2 speakers estimated, DER 0.000 (0.25 s collar; 0.020 on the raw file
 *   before preprocessing, where VAD misses the start of one turn)
 *   transcription: WER 0.854 (pocketsphinx on synthetic speech, cut into 12 s chunks)
 *   attribution after merge: 100 % of the 66 transcribed words carry the speaker of the
 *   reference turn they fall in; of the 89 reference words, the 13 pocketsphinx recognised
 *   exactly (14.6 %) all went to the right speaker (13 of 13).
 *
 * The attribution share of *all* reference words is capped by the recogniser, not by merge;
 * the time-based share isolates diarization + merge. sox runs without dither and espeak-ng is
 * deterministic, so these figures repeat exactly. Bounds: DER ≤ 0.10 (the diarization target),
 * WER ≤ 0.90, time-based attribution ≥ 0.95, exactly recognised words attributed right ≥ 0.95
 * and ≥ 10 % of all reference words.
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

  it('attributes words to the right speaker after merge', () => {
    const merged = mergeSpeakers(transcript, diarization)
    const { mapping } = diarizationErrorRate(conversation.turns, original(diarization.turns), { collar: 0.25 })
    // By time: each transcribed word against the reference turn holding its midpoint.
    const timed = original(merged.words).map((w) => {
      const mid = (w.start + w.end) / 2
      const turn = conversation.turns.find((t) => t.start - 0.25 <= mid && mid < t.end + 0.25)
      return { ok: turn !== undefined && mapping[w.speaker] === turn.speaker, inTurn: turn !== undefined }
    })
    const byTime = timed.filter((t) => t.ok).length / timed.filter((t) => t.inTurn).length
    // By text: reference words aligned to the transcript (edit distance).
    const refWords = conversation.words.flatMap((w) =>
      normaliseWords(w.text).map((text) => ({ text, speaker: w.speaker })),
    )
    const hypWords = merged.words.flatMap((w) => normaliseWords(w.text).map((text) => ({ text, speaker: w.speaker })))
    const { alignment, wer } = wordErrorRate(
      refWords.map((w) => w.text),
      hypWords.map((w) => w.text),
    )
    const matched = alignment.filter((step) => step.op === 'match')
    const right = matched.filter(
      (step) => mapping[hypWords[step.hyp ?? -1]?.speaker ?? ''] === refWords[step.ref ?? -1]?.speaker,
    )
    console.info(
      `conversation: WER ${wer.toFixed(3)}; right speaker for ${(byTime * 100).toFixed(1)} % of ${timed.length} transcribed words (by time), ` +
        `${right.length} of the ${matched.length} reference words recognised exactly (${((right.length / refWords.length) * 100).toFixed(1)} % of all ${refWords.length})`,
    )
    expect(wer).toBeLessThanOrEqual(0.9)
    expect(byTime).toBeGreaterThanOrEqual(0.95)
    expect(right.length / matched.length).toBeGreaterThanOrEqual(0.95)
    expect(right.length / refWords.length).toBeGreaterThanOrEqual(0.1)
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

describe('the same dialogue five times over (2.6 minutes), WebRTC VAD', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-conversation-long-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  // The speaker count must not grow with the length of the recording (it did, to six, while the
  // estimate carried BIC's per-recording penalty), nor with a VAD that keeps silence at the
  // edges of its segments. Measured: 2 speakers, DER 0.000.
  it('still finds two speakers, with DER ≤ 10 %', async () => {
    const conversation = await speakConversation(Array.from({ length: 5 }, () => THERAPY_DIALOGUE).flat(), dir)
    const diarization = await createBaselineDiarizer({ vad: { engine: 'webrtc' } }).diarize(conversation.path)
    const der = diarizationErrorRate(conversation.turns, diarization.turns, { collar: 0.25 })
    console.info(`conversation ×5: ${diarization.speakers.length} speakers, DER ${der.der.toFixed(3)}`)
    expect(diarization.speakers).toEqual(['SPEAKER_1', 'SPEAKER_2'])
    expect(diarization.warnings).toEqual(['WebRTC VAD in use (no Silero model file)'])
    expect(der.der).toBeLessThanOrEqual(0.1)
  })
})
