/**
 * The diarization development set: real recordings from the shared audio folder (the AMI
 * excerpt split into two parts, the 4-speaker broadcast clip, the 3-speaker sanity clip) and
 * two-person conversations generated here with espeak-ng (different voices, pitches and speeds;
 * turns exact to the sample), mixed with overlaps and backchannels and degraded with noise,
 * reverberation or a telephone band. Everything is deterministic (a seeded generator, sox
 * without dither) and written to a cache folder, never to the project: the same call gives the
 * same bytes and the same scores.
 *
 * Each recording is marked `tuning` or `held-out`. Settings were chosen on `tuning` only; the
 * `held-out` two-person recordings (the second AMI part and four generated calls with voices,
 * texts and degradations not in the tuning part) are what the targets are reported on.
 *
 * Needs `espeak-ng` and `sox` for the generated part, `ffmpeg` for the real part (as the
 * pipeline's preprocessing does: 16 kHz mono 16-bit, loudness to −20 LUFS, nothing trimmed).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { SpeakerTurn } from '../engines/diarization/types.js'
import { preprocessAudio } from '../preprocess.js'
import { readWav, readWavInfo, writeWav } from '../wav.js'
import { parseRttm } from './rttm.js'

const run = promisify(execFile)

/** Bumped whenever generation changes, so a stale cache is never scored. */
export const DEVSET_VERSION = 4

export type DevSplit = 'tuning' | 'held-out'

export interface DevRecording {
  id: string
  /** 16 kHz mono 16-bit PCM WAV in the cache folder. */
  path: string
  durationSec: number
  reference: SpeakerTurn[]
  speakers: number
  split: DevSplit
  kind: 'real' | 'generated'
  /** What it is, for reports: `AMI meeting 17–30 s`, `2 voices, telephone, 2 overlaps`. */
  description: string
}

export interface DevSetOptions {
  /** The shared audio folder (`../shared/audio`); real recordings are left out when it lacks them. */
  sharedDir?: string | undefined
  /** Default `<tmp>/spool-diarization-devset-v<version>`. */
  cacheDir?: string
  /** Only these ids (default all). */
  only?: readonly string[]
}

/** A generated conversation: voices, the script's seed, and the degradation applied. */
export interface GeneratedSpec {
  id: string
  split: DevSplit
  seed: number
  /** espeak-ng arguments per speaker (two or three). */
  voices: string[][]
  turns: number
  /** Share of speaker changes that overlap the previous turn by 0.3–0.9 s. */
  overlapRate: number
  /** Share of turns that are a short backchannel ("yes", "mm hmm"). */
  backchannelRate: number
  effects: ('noise' | 'reverb' | 'telephone')[]
  /** Signal-to-noise ratio for `noise`, dB. */
  snrDb?: number
}

/**
 * The generated part. Tuning and held-out use different voice pairs; both include same-gender
 * pairs, which are the hard ones for spectral fingerprints.
 */
export const GENERATED: readonly GeneratedSpec[] = [
  {
    id: 'gen-t1-clean',
    split: 'tuning',
    seed: 11,
    voices: [
      ['-v', 'en-us+m3', '-p', '40', '-s', '160'],
      ['-v', 'en-gb+f3', '-p', '65', '-s', '170'],
    ],
    turns: 14,
    overlapRate: 0,
    backchannelRate: 0.1,
    effects: [],
  },
  {
    id: 'gen-t2-male-pair-noise',
    split: 'tuning',
    seed: 12,
    voices: [
      ['-v', 'en-us+m1', '-p', '35', '-s', '150'],
      ['-v', 'en-gb+m4', '-p', '55', '-s', '175'],
    ],
    turns: 14,
    overlapRate: 0.2,
    backchannelRate: 0.15,
    effects: ['noise'],
    snrDb: 15,
  },
  {
    id: 'gen-t3-female-pair-reverb',
    split: 'tuning',
    seed: 13,
    voices: [
      ['-v', 'en-us+f2', '-p', '60', '-s', '165'],
      ['-v', 'en-gb-scotland+f5', '-p', '75', '-s', '150'],
    ],
    turns: 14,
    overlapRate: 0.2,
    backchannelRate: 0.15,
    effects: ['reverb'],
  },
  {
    id: 'gen-t4-telephone',
    split: 'tuning',
    seed: 14,
    voices: [
      ['-v', 'en-us+m2', '-p', '45', '-s', '155'],
      ['-v', 'en-029+f1', '-p', '62', '-s', '160'],
    ],
    turns: 14,
    overlapRate: 0.15,
    backchannelRate: 0.15,
    effects: ['telephone', 'noise'],
    snrDb: 20,
  },
  {
    id: 'gen-h1-clean',
    split: 'held-out',
    seed: 21,
    voices: [
      ['-v', 'en-gb-x-rp+m5', '-p', '42', '-s', '165'],
      ['-v', 'en-us+f4', '-p', '68', '-s', '158'],
    ],
    turns: 14,
    overlapRate: 0.1,
    backchannelRate: 0.1,
    effects: [],
  },
  {
    id: 'gen-h2-male-pair-noise',
    split: 'held-out',
    seed: 22,
    voices: [
      ['-v', 'en-us-nyc+m6', '-p', '38', '-s', '170'],
      ['-v', 'en-gb-x-gbclan+m2', '-p', '52', '-s', '150'],
    ],
    turns: 14,
    overlapRate: 0.2,
    backchannelRate: 0.15,
    effects: ['noise'],
    snrDb: 12,
  },
  {
    id: 'gen-h3-female-pair-reverb-noise',
    split: 'held-out',
    seed: 23,
    voices: [
      ['-v', 'en-gb+f1', '-p', '58', '-s', '162'],
      ['-v', 'en-us+f5', '-p', '72', '-s', '172'],
    ],
    turns: 14,
    overlapRate: 0.2,
    backchannelRate: 0.15,
    effects: ['reverb', 'noise'],
    snrDb: 18,
  },
  {
    id: 'gen-h4-telephone',
    split: 'held-out',
    seed: 24,
    voices: [
      ['-v', 'en-gb-x-gbcwmd+m3', '-p', '48', '-s', '160'],
      ['-v', 'en-us+f3', '-p', '66', '-s', '168'],
    ],
    turns: 14,
    overlapRate: 0.15,
    backchannelRate: 0.15,
    effects: ['telephone', 'noise'],
    snrDb: 20,
  },
  {
    // Not used for tuning: the three-voice case of the count estimate (tests compare it with gen-h1).
    id: 'gen-c3-three-voices',
    split: 'held-out',
    seed: 31,
    voices: [
      ['-v', 'en-us+m4', '-p', '40', '-s', '160'],
      ['-v', 'en-gb+f2', '-p', '70', '-s', '165'],
      ['-v', 'en-gb-scotland+m7', '-p', '55', '-s', '150'],
    ],
    turns: 15,
    overlapRate: 0.1,
    backchannelRate: 0.1,
    effects: ['noise'],
    snrDb: 20,
  },
  {
    // Not used for tuning either: three clearly different voices, clean.
    id: 'gen-c3-clean',
    split: 'held-out',
    seed: 32,
    voices: [
      ['-v', 'en-us+m3', '-p', '30', '-s', '150'],
      ['-v', 'en-gb+f4', '-p', '75', '-s', '170'],
      ['-v', 'en-gb-scotland+m1', '-p', '60', '-s', '140'],
    ],
    turns: 12,
    overlapRate: 0.1,
    backchannelRate: 0.1,
    effects: [],
  },
]

/** Lines of a routine clinic call, picked by the seeded generator. */
const LINES = [
  'Good morning, thank you for calling back so quickly.',
  'How have you been sleeping since we last spoke?',
  'Not very well, I wake up at three and cannot get back to sleep.',
  'Did the new timetable for your medication make any difference?',
  'A little, the mornings are easier but the evenings are still hard.',
  'Tell me more about what happens in the evenings.',
  'I start thinking about work and my heart begins to race.',
  'That sounds exhausting. What have you tried so far?',
  'I went for a walk after dinner on most days this week.',
  'That is a good step, and it is worth keeping up.',
  'My sister came to stay on Saturday, which helped a lot.',
  'Shall we write down a plan for the next two weeks?',
  'Yes, I would like that, it helps to have it on paper.',
  'Let us start with the time you go to bed each night.',
  'Usually around eleven, sometimes later if I am worried.',
  'Could you try to keep it to half past ten for a while?',
  'I can try, although the children are often up late.',
  'We can also look at the breathing exercise again next time.',
  'I practised it twice, but I forgot about it on Thursday.',
  'That is fine, nobody remembers everything in the first week.',
  'Is there anything else you wanted to talk about today?',
  'Only that the appointment letter had the wrong address on it.',
  'I will ask the office to correct it this afternoon.',
  'Thank you, that is all from me, see you next month.',
] as const

const BACKCHANNELS = ['yes', 'mm hmm', 'right', 'okay', 'I see', 'sure'] as const

/** Mulberry32: a small seeded generator, the same numbers on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Builds (or reads from the cache) the development set.
 *
 * @example
 * const set = await buildDevSet({ sharedDir: '../shared/audio' })
 * for (const r of set.filter((r) => r.split === 'held-out')) …
 */
export async function buildDevSet(options: DevSetOptions = {}): Promise<DevRecording[]> {
  const cacheDir = options.cacheDir ?? join(tmpdir(), `spool-diarization-devset-v${DEVSET_VERSION}`)
  await mkdir(cacheDir, { recursive: true })
  const wanted = (id: string) => !options.only || options.only.includes(id)
  const recordings: DevRecording[] = []
  if (options.sharedDir) {
    for (const real of realSpecs(options.sharedDir)) {
      if (!wanted(real.id) || !existsSync(real.source) || !existsSync(real.rttm)) continue
      recordings.push(await cached(cacheDir, real.id, () => buildReal(real, cacheDir)))
    }
  }
  for (const spec of GENERATED) {
    if (!wanted(spec.id)) continue
    recordings.push(await cached(cacheDir, spec.id, () => buildGenerated(spec, cacheDir)))
  }
  return recordings
}

interface RealSpec {
  id: string
  source: string
  rttm: string
  fileId: string
  /** The part of the recording used, seconds. */
  from: number
  to: number | undefined
  split: DevSplit
  description: string
}

function realSpecs(shared: string): RealSpec[] {
  const ami = { source: join(shared, 'ami-dev00.wav'), rttm: join(shared, 'ami-dev00.rttm'), fileId: 'dev00' }
  return [
    // The excerpt's first speaker holds the floor for 12 s, so the cut at 17 s gives both parts
    // both voices: 0–17 s (MEE009 12 s, MEE012 4 s) and 17–30 s (five changes).
    { id: 'ami-part1', ...ami, from: 0, to: 17, split: 'tuning', description: 'AMI meeting 0–17 s' },
    { id: 'ami-part2', ...ami, from: 17, to: 30, split: 'held-out', description: 'AMI meeting 17–30 s' },
    {
      id: 'broadcast-4spk',
      source: join(shared, 'dev', 'pyaa-diarization-example.wav'),
      rttm: join(shared, 'dev', 'pyaa-diarization-example.rttm'),
      fileId: 'pyaa-diarization-example',
      from: 0,
      to: undefined,
      split: 'tuning',
      description: 'broadcast, 4 speakers, no pauses',
    },
    {
      id: 'sanity-3spk',
      source: join(shared, 'dev', 'falcon-test.wav'),
      rttm: join(shared, 'dev', 'falcon-test.rttm'),
      fileId: 'falcon-test',
      from: 0,
      to: undefined,
      split: 'tuning',
      description: '3 speakers, one utterance each',
    },
  ]
}

async function cached(cacheDir: string, id: string, build: () => Promise<DevRecording>): Promise<DevRecording> {
  const manifest = join(cacheDir, `${id}.json`)
  if (existsSync(manifest)) {
    const recording = JSON.parse(await readFile(manifest, 'utf8')) as DevRecording
    if (existsSync(recording.path)) return recording
  }
  const recording = await build()
  await writeFile(`${manifest}.tmp`, JSON.stringify(recording))
  await rename(`${manifest}.tmp`, manifest)
  return recording
}

async function buildReal(spec: RealSpec, cacheDir: string): Promise<DevRecording> {
  const full = join(cacheDir, `${spec.id}.full.wav`)
  const pre = await preprocessAudio(spec.source, full, { trim: false })
  const to = spec.to ?? pre.durationSec
  const { samples, sampleRate } = await readWav(full, { startSec: spec.from, endSec: to })
  const path = join(cacheDir, `${spec.id}.wav`)
  await writeWav(path, samples, sampleRate)
  await rm(full, { force: true })
  const reference = clipTurns(parseRttm(await readFile(spec.rttm, 'utf8'), spec.fileId), spec.from, to)
  return {
    id: spec.id,
    path,
    durationSec: samples.length / sampleRate,
    reference,
    speakers: new Set(reference.map((t) => t.speaker)).size,
    split: spec.split,
    kind: 'real',
    description: spec.description,
  }
}

/** Turns inside `[from, to)`, cut at its edges and shifted to start at 0. */
export function clipTurns(turns: readonly SpeakerTurn[], from: number, to: number): SpeakerTurn[] {
  return turns
    .map((t) => ({ start: Math.max(t.start, from) - from, end: Math.min(t.end, to) - from, speaker: t.speaker }))
    .filter((t) => t.end - t.start > 0.01)
    .map((t) => ({ ...t, start: round(t.start), end: round(t.end) }))
}

const RATE = 16_000

async function buildGenerated(spec: GeneratedSpec, cacheDir: string): Promise<DevRecording> {
  const random = seededRandom(spec.seed)
  const work = join(cacheDir, `${spec.id}.parts`)
  await mkdir(work, { recursive: true })
  try {
    // The script: speakers alternate; some turns are backchannels; some changes overlap.
    const pieces: { speaker: number; samples: Float32Array; gapSec: number }[] = []
    let speaker = 0
    let overlaps = 0
    for (let i = 0; i < spec.turns; i++) {
      const backchannel = i > 0 && random() < spec.backchannelRate
      const text = backchannel
        ? (BACKCHANNELS[Math.floor(random() * BACKCHANNELS.length)] as string)
        : (LINES[Math.floor(random() * LINES.length)] as string)
      const overlap = i > 0 && random() < spec.overlapRate
      const gapSec = i === 0 ? 0.6 : overlap ? -(0.3 + 0.6 * random()) : 0.15 + 0.85 * random()
      if (overlap) overlaps++
      const samples = await speak(spec.voices[speaker] ?? [], text, join(work, `turn-${i}`))
      pieces.push({ speaker, samples, gapSec })
      // Two voices alternate; with three, the next speaker is either of the other two.
      const n = spec.voices.length
      speaker = n === 2 ? 1 - speaker : (speaker + 1 + (random() < 0.5 ? 0 : 1)) % n
    }
    // Place the turns; an overlap starts before the previous turn ends (never before its start).
    const placed: { start: number; samples: Float32Array; speaker: number }[] = []
    let cursor = 0
    for (const piece of pieces) {
      const previous = placed.at(-1)
      let start = Math.max(0, cursor + Math.round(piece.gapSec * RATE))
      if (previous) start = Math.max(start, previous.start + Math.round(0.5 * (cursor - previous.start)))
      placed.push({ start, samples: piece.samples, speaker: piece.speaker })
      cursor = Math.max(cursor, start + piece.samples.length)
    }
    const total = cursor + Math.round(0.6 * RATE)
    const mix = new Float32Array(total)
    for (const p of placed)
      for (let i = 0; i < p.samples.length; i++)
        mix[p.start + i] = (mix[p.start + i] as number) + (p.samples[i] as number)
    const reference = placed.map((p) => ({
      start: round(p.start / RATE),
      end: round((p.start + p.samples.length) / RATE),
      speaker: `S${p.speaker + 1}`,
    }))

    let current = join(work, 'mix.wav')
    await writeWav(current, scale(mix, 0.5), RATE)
    for (const effect of spec.effects) {
      const next = join(work, `${effect}.wav`)
      if (effect === 'noise') {
        const { samples } = await readWav(current)
        await writeWav(next, addNoise(samples, spec.snrDb ?? 15, seededRandom(spec.seed * 7919)), RATE)
      } else if (effect === 'reverb') {
        // A small room: 50 % reverberance, 50 % HF damping, 60 % room scale.
        await run('sox', ['--no-dither', current, '-b', '16', next, 'reverb', '50', '50', '60'])
      } else {
        // Telephone: 300–3,400 Hz band, through 8 kHz and back.
        await run('sox', [
          '--no-dither',
          current,
          '-b',
          '16',
          next,
          'sinc',
          '300-3400',
          'rate',
          '8000',
          'rate',
          '16000',
        ])
      }
      current = next
    }
    const path = join(cacheDir, `${spec.id}.wav`)
    await preprocessAudio(current, path, { trim: false })
    const info = await readWavInfo(path)
    const effects = spec.effects.length > 0 ? spec.effects.join(' + ') : 'clean'
    return {
      id: spec.id,
      path,
      durationSec: info.durationSec,
      reference,
      speakers: spec.voices.length,
      split: spec.split,
      kind: 'generated',
      description: `${spec.voices.length} voices, ${effects}${spec.snrDb !== undefined && spec.effects.includes('noise') ? ` (${spec.snrDb} dB SNR)` : ''}, ${overlaps} overlaps`,
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** One utterance by espeak-ng, 16 kHz mono, leading and trailing silence trimmed. */
async function speak(voice: readonly string[], text: string, base: string): Promise<Float32Array> {
  await run('espeak-ng', [...voice, '-w', `${base}-raw.wav`, text])
  await run('sox', [
    '--no-dither',
    `${base}-raw.wav`,
    '-r',
    String(RATE),
    '-c',
    '1',
    '-b',
    '16',
    `${base}.wav`,
    'silence',
    '1',
    '0.02',
    '0.5%',
    'reverse',
    'silence',
    '1',
    '0.02',
    '0.5%',
    'reverse',
  ])
  return (await readWav(`${base}.wav`)).samples
}

function scale(samples: Float32Array, factor: number): Float32Array {
  return samples.map((s) => s * factor)
}

/** Gaussian noise (Box–Muller from the seeded generator) at `snrDb` below the speech's RMS. */
function addNoise(samples: Float32Array, snrDb: number, random: () => number): Float32Array {
  let energy = 0
  let active = 0
  for (const s of samples) {
    if (Math.abs(s) > 1e-3) {
      energy += s * s
      active++
    }
  }
  const speechRms = Math.sqrt(energy / Math.max(1, active))
  const noiseRms = speechRms / 10 ** (snrDb / 20)
  const out = new Float32Array(samples.length)
  for (let i = 0; i < samples.length; i++) {
    const u = Math.max(1e-12, random())
    const v = random()
    out[i] = (samples[i] as number) + noiseRms * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
  return out
}

function round(sec: number): number {
  return Math.round(sec * 1000) / 1000
}
