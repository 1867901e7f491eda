/**
 * Diarization on the development set (src/audio/eval/devset.ts): DER of the raw turns with a
 * 0.25 s collar, per recording, with the speaker count given and estimated, for one or more
 * diarizer settings side by side (`before` = the MFCC baseline as it was, `after` = the
 * defaults). The VAD runs once per recording and is shared by every setting.
 *
 *   node --import tsx bench/diarization.ts                       # before and after
 *   node --import tsx bench/diarization.ts --variants after --json
 *   node --import tsx bench/diarization.ts --sweep               # the comparisons docs/audio.md cites
 *
 * `--cache DIR` keeps the generated audio elsewhere (default in the system temp folder);
 * `--shared DIR` points at the shared recordings (default ../shared/audio beside the checkout).
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  type DiarizerSettings,
  diarizeFromEmbeddings,
  LEGACY_SETTINGS,
} from '../src/audio/engines/diarization/baseline.js'
import { embedSpeech, LEGACY_EMBEDDING } from '../src/audio/engines/diarization/embeddings.js'
import { diarizationErrorRate } from '../src/audio/eval/der.js'
import { buildDevSet, type DevRecording } from '../src/audio/eval/devset.js'
import { detectSpeechInFile, type SpeechSegment } from '../src/audio/vad.js'
import { readWav } from '../src/audio/wav.js'

export interface Score {
  id: string
  split: string
  speakers: number
  given: { der: number; speakers: number; missed: number; falseAlarm: number; confusion: number; scored: number }
  estimated: { der: number; speakers: number; missed: number; falseAlarm: number; confusion: number; scored: number }
}

/** Scores one setting on one recording whose VAD and samples are already at hand. */
export function scoreRecording(
  recording: DevRecording,
  samples: Float32Array,
  sampleRate: number,
  speech: readonly SpeechSegment[],
  settings: DiarizerSettings,
): Score {
  const embeddings = embedSpeech(samples, sampleRate, speech, 0, settings.embedding)
  const uem = { start: 0, end: recording.durationSec }
  const one = (numSpeakers: number | undefined) => {
    const result = diarizeFromEmbeddings(speech, embeddings, { numSpeakers, ...settings })
    const der = diarizationErrorRate(recording.reference, result.turns, { collar: 0.25, uem })
    return {
      der: der.der,
      speakers: result.speakers.length,
      missed: der.missed,
      falseAlarm: der.falseAlarm,
      confusion: der.confusion,
      scored: der.scored,
    }
  }
  return {
    id: recording.id,
    split: recording.split,
    speakers: recording.speakers,
    given: one(recording.speakers),
    estimated: one(undefined),
  }
}

/** Pooled DER (errors over scored speech) of a group of scores. */
export function pooled(scores: readonly Score[], which: 'given' | 'estimated'): number {
  const errors = scores.reduce((s, x) => s + x[which].missed + x[which].falseAlarm + x[which].confusion, 0)
  const scored = scores.reduce((s, x) => s + x[which].scored, 0)
  return scored === 0 ? 0 : errors / scored
}

async function main() {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
  const { values } = parseArgs({
    options: {
      shared: { type: 'string', default: resolve(root, '..', 'shared', 'audio') },
      cache: { type: 'string' },
      variants: { type: 'string', default: 'before,after' },
      sweep: { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const set = await buildDevSet({
    sharedDir: values.shared,
    ...(values.cache && { cacheDir: values.cache }),
    ...(values.only && { only: values.only.split(',') }),
  })
  if (!set.some((r) => r.kind === 'real')) console.warn(`!! ${values.shared} is missing: real recordings left out`)
  const variants: Record<string, DiarizerSettings> = { before: LEGACY_SETTINGS, after: {} }
  if (values.sweep) Object.assign(variants, SWEEP)
  const names = values.sweep ? Object.keys(variants) : (values.variants ?? '').split(',')
  const prepared = []
  for (const recording of set) {
    const { samples, sampleRate } = await readWav(recording.path)
    const vad = await detectSpeechInFile(recording.path)
    prepared.push({ recording, samples, sampleRate, speech: vad.segments, vad: vad.engine })
  }
  const results: Record<string, Score[]> = {}
  for (const name of names) {
    const settings = variants[name]
    if (!settings) throw new Error(`unknown variant ${name} (${Object.keys(variants).join(', ')})`)
    results[name] = prepared.map((p) => scoreRecording(p.recording, p.samples, p.sampleRate, p.speech, settings))
  }
  if (values.json) {
    console.log(JSON.stringify({ vad: prepared[0]?.vad, results }, null, 2))
    return
  }
  if (values.sweep) {
    console.log(
      '| setting | tuning 2p given | tuning 2p est | tuning all given | tuning all est | count right (tuning) |',
    )
    for (const name of names) {
      const t = (results[name] as Score[]).filter((s) => s.split === 'tuning')
      const two = t.filter((s) => s.speakers === 2)
      console.log(
        `| ${name} | ${pct(pooled(two, 'given'))} | ${pct(pooled(two, 'estimated'))} | ${pct(pooled(t, 'given'))} | ${pct(pooled(t, 'estimated'))} | ${t.filter((s) => s.estimated.speakers === s.speakers).length}/${t.length} | ${t.map((s) => `${s.id.slice(0, 8)}:${(s.given.der * 100).toFixed(0)}/${(s.estimated.der * 100).toFixed(0)}(${s.estimated.speakers})`).join(' ')}`,
      )
    }
    return
  }
  console.log(`VAD: ${prepared[0]?.vad}; DER of the raw turns, 0.25 s collar; given / estimated (speakers found)`)
  for (const name of names) {
    const scores = results[name] as Score[]
    console.log(`\n== ${name}`)
    console.log('| recording | split | what | speakers | DER given | DER estimated (found) |')
    console.log('|---|---|---|---|---|---|')
    for (const s of scores) {
      const r = set.find((x) => x.id === s.id) as DevRecording
      console.log(
        `| ${s.id} | ${s.split} | ${r.description} | ${s.speakers} | ${pct(s.given.der)} | ${pct(s.estimated.der)} (${s.estimated.speakers}) |`,
      )
    }
    for (const split of ['tuning', 'held-out']) {
      const two = scores.filter((s) => s.split === split && s.speakers === 2)
      const all = scores.filter((s) => s.split === split)
      console.log(
        `| **${split}, two-person (pooled)** | | ${two.length} recordings | 2 | **${pct(pooled(two, 'given'))}** | **${pct(pooled(two, 'estimated'))}** (right count ${two.filter((s) => s.estimated.speakers === s.speakers).length}/${two.length}) |`,
      )
      console.log(
        `| ${split}, all (pooled) | | ${all.length} recordings | | ${pct(pooled(all, 'given'))} | ${pct(pooled(all, 'estimated'))} (right count ${all.filter((s) => s.estimated.speakers === s.speakers).length}/${all.length}) |`,
      )
    }
  }
}

/** Settings compared by `--sweep` on the tuning part (docs/audio.md, "Diarization quality"). */
const STD = { ...LEGACY_EMBEDDING, stats: 'mean+std' } as const
const MEL80 = { features: 'logmel', bands: 80 } as const
const SWEEP: Record<string, DiarizerSettings> = {
  // Features and windows (clustering as before: likelihood-ratio walk, majority votes).
  'mfcc mean 1.0 s': { ...LEGACY_SETTINGS, embedding: { ...LEGACY_EMBEDDING, windowSec: 1, hopSec: 0.5 } },
  'mfcc mean 2.0 s': { ...LEGACY_SETTINGS, embedding: { ...LEGACY_EMBEDDING, windowSec: 2, hopSec: 1 } },
  'mfcc mean 3.0 s': { ...LEGACY_SETTINGS, embedding: { ...LEGACY_EMBEDDING, windowSec: 3, hopSec: 1.5 } },
  'mfcc mean+std 1.5 s': { ...LEGACY_SETTINGS, embedding: STD },
  'log-mel 80 mean 1.5 s': { ...LEGACY_SETTINGS, embedding: { ...MEL80, stats: 'mean', windowSec: 1.5, hopSec: 0.75 } },
  'log-mel 80 mean+std 3 s (the issue)': {
    ...LEGACY_SETTINGS,
    embedding: { ...MEL80, stats: 'mean+std', windowSec: 3, hopSec: 1.5 },
  },
  // Normalisation and linkage.
  'mfcc, centred only': { ...LEGACY_SETTINGS, cluster: { count: 'glr', normalise: 'centre' } },
  'mfcc, complete linkage': { ...LEGACY_SETTINGS, cluster: { count: 'glr', linkage: 'complete' } },
  // Count estimate and resegmentation.
  'mfcc, eigengap only + votes': { ...LEGACY_SETTINGS, cluster: { count: 'eigengap', glrThreshold: 0 } },
  'mfcc, glr + resegmentation': { ...LEGACY_SETTINGS, resegment: {} },
  'after, switch penalty 4': { resegment: { switchPenalty: 4 } },
  'after, switch penalty 16': { resegment: { switchPenalty: 16 } },
  'after, complete linkage': { cluster: { linkage: 'complete' } },
  'after, neighbour share 0.2': { cluster: { pruneKeep: 0.2 } },
  'after, neighbour share 0.5': { cluster: { pruneKeep: 0.5 } },
  'after, sharpness 5': { resegment: { beta: 5 } },
  'after, sharpness 20': { resegment: { beta: 20 } },
  'after + std': { embedding: STD },
  'after + std, log-mel 80 3 s': { embedding: { ...MEL80, stats: 'mean+std', windowSec: 3, hopSec: 1.5 } },
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
