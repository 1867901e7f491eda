import { describe, expect, it } from 'vitest'
import { formatTranscript, shiftTranscript } from './formats.js'
import type { SpeakerTranscript } from './merge.js'
import { assessReliability } from './reliability.js'

const result: SpeakerTranscript = {
  text: 'Good morning. How are you? Fine <thanks> & you?',
  words: [
    { text: 'Good', start: 0.5, end: 0.8, speaker: 'SPEAKER_1' },
    { text: 'morning.', start: 0.85, end: 1.3, speaker: 'SPEAKER_1' },
    { text: 'How', start: 1.5, end: 1.7, speaker: 'SPEAKER_1' },
    { text: 'are', start: 1.75, end: 1.9, speaker: 'SPEAKER_1' },
    { text: 'you?', start: 1.95, end: 2.3, speaker: 'SPEAKER_1' },
    { text: 'Fine', start: 3661.2, end: 3661.6, speaker: 'SPEAKER_2' },
    { text: '<thanks>', start: 3661.7, end: 3662.2, speaker: 'SPEAKER_2' },
    { text: '&', start: 3662.3, end: 3662.4, speaker: 'SPEAKER_2' },
    { text: 'you?', start: 3662.5, end: 3662.9, speaker: 'SPEAKER_2' },
  ],
  segments: [
    { start: 0.5, end: 2.3, text: 'Good morning. How are you?', speaker: 'SPEAKER_1' },
    { start: 3661.2, end: 3662.9, text: 'Fine <thanks> & you?', speaker: 'SPEAKER_2' },
  ],
  speakers: ['SPEAKER_1', 'SPEAKER_2'],
  attribution: 'word',
  engine: 'test',
  warnings: [],
}

describe('formatTranscript', () => {
  it('txt: one line per segment with time and speaker', () => {
    expect(formatTranscript(result, 'txt')).toBe(
      '[00:00:00] SPEAKER_1: Good morning. How are you?\n[01:01:01] SPEAKER_2: Fine <thanks> & you?\n',
    )
  })

  it('srt: numbered cues with comma milliseconds', () => {
    expect(formatTranscript(result, 'srt')).toBe(
      '1\n00:00:00,500 --> 00:00:02,300\nSPEAKER_1: Good morning. How are you?\n\n2\n01:01:01,200 --> 01:01:02,900\nSPEAKER_2: Fine <thanks> & you?\n',
    )
  })

  it('vtt: a header, voice spans for speakers, markup escaped', () => {
    const vtt = formatTranscript(result, 'vtt')
    expect(
      vtt.startsWith('WEBVTT\n\n1\n00:00:00.500 --> 00:00:02.300\n<v SPEAKER_1>Good morning. How are you?\n'),
    ).toBe(true)
    expect(vtt).toContain('<v SPEAKER_2>Fine &lt;thanks&gt; &amp; you?')
  })

  it('splits long cues at word boundaries', () => {
    const srt = formatTranscript(result, 'srt', { maxCueSec: 1 })
    expect(srt).toContain('00:00:00,500 --> 00:00:01,300\nSPEAKER_1: Good morning.')
    expect(srt).toContain('00:00:01,500 --> 00:00:02,300\nSPEAKER_1: How are you?')
  })

  it('json round-trips, and every format can be moved to the original timeline', () => {
    expect(JSON.parse(formatTranscript(result, 'json'))).toEqual(result)
    const shifted = shiftTranscript(result, 1.25)
    expect(shifted.words[0]).toMatchObject({ start: 1.75, end: 2.05 })
    expect(formatTranscript(result, 'srt', { offsetSec: 1.25 })).toContain('00:00:01,750 --> 00:00:03,550')
  })

  it('heads txt and vtt downloads with the reliability statement; json carries it whole; srt has no room for it', () => {
    const reliability = assessReliability({
      transcription: 'pocketsphinx',
      diarization: 'baseline',
      quality: { flags: ['1040 words per minute of speech (speech runs about 100–200): words were invented'] },
    })
    const rated = { ...result, reliability }
    const txt = formatTranscript(rated, 'txt')
    expect(txt.split('\n')[0]).toBe(`# Reliability: ${reliability.statement}`)
    expect(txt).toMatch(/^# Reliability: Low reliability: transcribed by pocketsphinx — about half the words wrong/)
    expect(txt).toContain('Checks on this recording flagged: 1040 words per minute')
    expect(txt).toContain('\n\n[00:00:00] SPEAKER_1: Good morning.')
    const vtt = formatTranscript(rated, 'vtt')
    expect(vtt.startsWith(`WEBVTT\n\nNOTE Reliability: ${reliability.statement}\n\n1\n`)).toBe(true)
    expect(vtt.split('NOTE')[1]?.split('\n\n')[0]).not.toContain('-->')
    expect(JSON.parse(formatTranscript(rated, 'json')).reliability).toMatchObject({
      level: 'low',
      engine: 'pocketsphinx',
    })
    expect(formatTranscript(rated, 'srt')).toBe(formatTranscript(result, 'srt'))
  })
})
