/**
 * A two-voice conversation with an exact reference, generated on the spot: each turn spoken by
 * espeak-ng (two clearly different voices), trimmed of its leading and trailing silence with sox,
 * resampled to 16 kHz mono, and joined with known pauses. Reference turn times are exact to the
 * sample because every piece's length is measured from its file. sox runs without dither, so
 * the same dialogue always gives the same bytes (and the same measurements).
 */
import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { SpeakerTurn } from '../../src/audio/engines/diarization/types.js'
import { readWavInfo } from '../../src/audio/wav.js'

const run = promisify(execFile)

export interface ConversationTurn {
  speaker: string
  text: string
  /** Pause before this turn. */
  pauseSec: number
}

export interface Conversation {
  path: string
  durationSec: number
  turns: SpeakerTurn[]
  /** Reference words in order, each with its speaker. */
  words: { text: string; speaker: string }[]
}

/** espeak-ng voices: a low male US voice and a high female British variant. */
export const VOICES: Record<string, string[]> = {
  A: ['-v', 'en-us+m3', '-p', '35', '-s', '155'],
  B: ['-v', 'en-gb+f4', '-p', '70', '-s', '170'],
}

export const THERAPY_DIALOGUE: ConversationTurn[] = [
  { speaker: 'A', pauseSec: 0.5, text: 'Good morning. How have you been sleeping since our last session?' },
  { speaker: 'B', pauseSec: 0.8, text: 'Not very well. I wake up at night and I feel anxious about work.' },
  { speaker: 'A', pauseSec: 0.7, text: 'Did you try the breathing exercise we practised last week?' },
  { speaker: 'B', pauseSec: 0.9, text: 'Yes, I tried it three times, and it helped a little before bed.' },
  { speaker: 'A', pauseSec: 0.6, text: 'That is good progress. Let us keep a sleep diary this week.' },
  { speaker: 'B', pauseSec: 0.8, text: 'I can do that. I will write down when I go to bed and when I wake up.' },
  { speaker: 'A', pauseSec: 0.7, text: 'Great. We will review the diary together at the next appointment.' },
]

/**
 * Speaks `turns` into `<dir>/conversation.wav` (16 kHz mono 16-bit).
 *
 * @example
 * const conv = await speakConversation(THERAPY_DIALOGUE, tmp)
 */
export async function speakConversation(
  turns: readonly ConversationTurn[],
  dir: string,
  tailSec = 0.5,
): Promise<Conversation> {
  await mkdir(dir, { recursive: true })
  const pieces: string[] = []
  const reference: SpeakerTurn[] = []
  const words: { text: string; speaker: string }[] = []
  let at = 0
  for (const [i, turn] of turns.entries()) {
    const raw = join(dir, `turn-${i}-raw.wav`)
    const speech = join(dir, `turn-${i}.wav`)
    const pause = join(dir, `pause-${i}.wav`)
    await run('espeak-ng', [...(VOICES[turn.speaker] ?? []), '-w', raw, turn.text])
    // Trim silence at both ends (sox's idiom: trim the start, reverse, trim again, reverse).
    await run('sox', [
      '--no-dither',
      raw,
      '-r',
      '16000',
      '-c',
      '1',
      '-b',
      '16',
      speech,
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
    await run('sox', [
      '--no-dither',
      '-n',
      '-r',
      '16000',
      '-c',
      '1',
      '-b',
      '16',
      pause,
      'trim',
      '0',
      turn.pauseSec.toFixed(3),
    ])
    const pauseInfo = await readWavInfo(pause)
    const speechInfo = await readWavInfo(speech)
    at += pauseInfo.durationSec
    reference.push({ start: round(at), end: round(at + speechInfo.durationSec), speaker: turn.speaker })
    at += speechInfo.durationSec
    pieces.push(pause, speech)
    for (const word of turn.text.split(/\s+/)) words.push({ text: word, speaker: turn.speaker })
  }
  const tail = join(dir, 'tail.wav')
  await run('sox', ['--no-dither', '-n', '-r', '16000', '-c', '1', '-b', '16', tail, 'trim', '0', tailSec.toFixed(3)])
  pieces.push(tail)
  const path = join(dir, 'conversation.wav')
  await run('sox', ['--no-dither', ...pieces, path])
  await Promise.all(pieces.map((p) => rm(p, { force: true })))
  await Promise.all(turns.map((_, i) => rm(join(dir, `turn-${i}-raw.wav`), { force: true })))
  await writeFile(join(dir, 'conversation.txt'), turns.map((t) => `${t.speaker}: ${t.text}`).join('\n'))
  return { path, durationSec: (await readWavInfo(path)).durationSec, turns: reference, words }
}

function round(sec: number): number {
  return Math.round(sec * 10000) / 10000
}
