import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { planChunks } from '../../chunks.js'
import { readWav, writeWav } from '../../wav.js'
import { stitchTranscripts, transcribeChunked } from './stitch.js'
import type { Transcript, TranscriptionEngine, Word } from './types.js'

/**
 * A recording whose "words" are tone bursts: word i is a sine at 300 + 40·i Hz, so an engine
 * can tell from the audio alone which word it hears and exactly when — the known ground truth
 * the stitcher must reproduce.
 */
const RATE = 16000
const WORDS: Word[] = []
for (let i = 0, t = 0.3; i < 40; i++) {
  const length = 0.25 + (i % 4) * 0.1
  WORDS.push({ text: `word${i}`, start: round(t), end: round(t + length) })
  t += length + (i % 5 === 4 ? 0.6 : 0.15)
}
const DURATION = Math.ceil(((WORDS.at(-1)?.end ?? 0) + 0.5) * 10) / 10

function round(sec: number) {
  return Math.round(sec * 1000) / 1000
}

/** Hears tone bursts in a chunk file and names them by frequency. */
const toneEngine: TranscriptionEngine = {
  name: 'tones',
  async transcribe(path: string): Promise<Transcript> {
    const { samples } = await readWav(path)
    const frame = RATE / 100
    const loud: boolean[] = []
    for (let f = 0; f * frame < samples.length; f++) {
      let peak = 0
      for (let i = f * frame; i < Math.min(samples.length, (f + 1) * frame); i++)
        peak = Math.max(peak, Math.abs(samples[i] as number))
      loud.push(peak > 0.1)
    }
    const words: Word[] = []
    for (let f = 0; f < loud.length; ) {
      if (!loud[f]) {
        f++
        continue
      }
      let g = f
      while (g < loud.length && loud[g]) g++
      // Frequency from the zero crossings between the first and the last one.
      const crossings: number[] = []
      for (let i = f * frame + 1; i < Math.min(samples.length, g * frame); i++) {
        if ((samples[i - 1] as number) < 0 !== (samples[i] as number) < 0) crossings.push(i)
      }
      const span = ((crossings.at(-1) ?? 0) - (crossings[0] ?? 0)) / RATE
      const hz = (crossings.length - 1) / 2 / span
      words.push({ text: `word${Math.round((hz - 300) / 40)}`, start: f / 100, end: g / 100 })
      f = g
    }
    return { text: words.map((w) => w.text).join(' '), words, segments: [], engine: 'tones' }
  },
}

describe('chunked transcription', () => {
  let dir: string
  let wav: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-stitch-'))
    wav = join(dir, 'tones.wav')
    const samples = new Float32Array(Math.round(DURATION * RATE))
    WORDS.forEach((w, i) => {
      const hz = 300 + 40 * i
      for (let n = Math.round(w.start * RATE); n < Math.round(w.end * RATE); n++)
        samples[n] = 0.5 * Math.sin((2 * Math.PI * hz * n) / RATE)
    })
    await writeWav(wav, samples, RATE)
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const expectExact = (words: Word[]) => {
    expect(words.map((w) => w.text)).toEqual(WORDS.map((w) => w.text))
    words.forEach((w, i) => {
      expect(Math.abs(w.start - (WORDS[i] as Word).start)).toBeLessThanOrEqual(0.011)
      expect(Math.abs(w.end - (WORDS[i] as Word).end)).toBeLessThanOrEqual(0.011)
      if (i > 0) expect(w.start).toBeGreaterThanOrEqual((words[i - 1] as Word).start)
    })
  }

  it('cut at pauses: every word once, at its true time', async () => {
    const chunks = planChunks(WORDS, DURATION, { maxChunkSec: 3, minChunkSec: 1 })
    expect(chunks.length).toBeGreaterThan(5)
    expect(chunks.every((c) => !c.forced)).toBe(true)
    const transcript = await transcribeChunked(toneEngine, wav, chunks, { concurrency: 3, workDir: dir })
    expectExact(transcript.words)
    expect(transcript.engine).toBe('tones')
  })

  it('cut inside words with context either side: the owner of each midpoint keeps it, once', async () => {
    // One speech segment over everything forces cuts every 2 s, through words.
    const chunks = planChunks([{ start: 0, end: DURATION }], DURATION, { maxChunkSec: 2 })
    expect(chunks.some((c) => c.forced)).toBe(true)
    const straddled = WORDS.filter((w) => chunks.some((c) => w.start < c.end && c.end < w.end))
    expect(straddled.length).toBeGreaterThan(0)
    const transcript = await transcribeChunked(toneEngine, wav, chunks, { contextSec: 0.8, workDir: dir })
    expectExact(transcript.words)
  })

  it('reports progress per chunk, skips silent chunks and removes its files', async () => {
    const chunks = planChunks(WORDS, DURATION + 0, { maxChunkSec: 4, minChunkSec: 1 })
    const silent = { index: chunks.length, start: DURATION, end: DURATION, speech: false, forced: false }
    const seen: number[] = []
    await transcribeChunked(toneEngine, wav, [...chunks, silent], { workDir: dir, onChunk: (done) => seen.push(done) })
    expect(seen.sort((a, b) => a - b)).toEqual(chunks.map((_, i) => i + 1))
    const { readdir } = await import('node:fs/promises')
    expect(await readdir(dir)).toEqual(['tones.wav'])
  })

  it('stops at the first failing chunk and passes the error on', async () => {
    const failing: TranscriptionEngine = {
      name: 'failing',
      transcribe: async () => {
        throw Object.assign(new Error('upstream 503'), { status: 503 })
      },
    }
    const chunks = planChunks(WORDS, DURATION, { maxChunkSec: 3, minChunkSec: 1 })
    await expect(transcribeChunked(failing, wav, chunks, { workDir: dir })).rejects.toThrow('upstream 503')
  })
})

describe('stitchTranscripts', () => {
  const part = (words: Word[], segments: { start: number; end: number; text: string }[] = []): Transcript => ({
    text: '',
    words,
    segments,
    engine: 'fake',
  })

  it('shifts by each piece offset, keeps owned words only, and keeps starts monotonic', () => {
    const whole = stitchTranscripts([
      // Owns [0, 10); heard [0, 11): "late" (midpoint 10.5) belongs to the next chunk.
      {
        chunk: { start: 0, end: 10 },
        offset: 0,
        transcript: part([w('a', 1, 2), w('b', 9, 9.8), w('late', 10.2, 10.8)]),
      },
      // Owns [10, 20); heard from 9: "b" again (midpoint 9.4) is not its own.
      {
        chunk: { start: 10, end: 20 },
        offset: 9,
        transcript: part(
          [w('b', 0, 0.8), w('late', 1.2, 1.8), w('early', 1.5, 1.6), w('c', 5, 6)],
          [{ start: 0, end: 7, text: 'b late c' }],
        ),
      },
    ])
    expect(whole.words.map((x) => [x.text, x.start, x.end])).toEqual([
      ['a', 1, 2],
      ['b', 9, 9.8],
      ['late', 10.2, 10.8],
      ['early', 10.5, 10.6],
      ['c', 14, 15],
    ])
    // A segment heard partly in context keeps only the owned span.
    expect(whole.segments).toEqual([{ start: 10, end: 16, text: 'b late c' }])
    expect(whole.text).toBe('a b late early c')
  })

  it('keeps segment-only transcripts (no word times)', () => {
    const whole = stitchTranscripts([
      { chunk: { start: 0, end: 30 }, offset: 0, transcript: part([], [{ start: 0.5, end: 12, text: 'hello there' }]) },
      {
        chunk: { start: 30, end: 45 },
        offset: 30,
        transcript: part([], [{ start: 1, end: 9, text: 'general kenobi' }]),
      },
    ])
    expect(whole.words).toEqual([])
    expect(whole.segments.map((s) => [s.start, s.end])).toEqual([
      [0.5, 12],
      [31, 39],
    ])
    expect(whole.text).toBe('hello there general kenobi')
  })
})

function w(text: string, start: number, end: number): Word {
  return { text, start, end }
}
