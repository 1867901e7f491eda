/**
 * Both VAD engines on the generated two-voice dialogue: every reference turn is found as
 * speech, the pauses between turns are not, and a chunk plan over the result never cuts inside
 * a turn. Also where the Silero model is looked for.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  detectSpeech,
  detectSpeechInFile,
  modelsDir,
  planChunks,
  readWav,
  vadEngineAvailable,
} from '../../src/audio/index.js'
import { type Conversation, speakConversation, THERAPY_DIALOGUE } from '../helpers/conversation.js'

describe('voice activity detection', () => {
  let dir: string
  let conversation: Conversation
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-vad-'))
    conversation = await speakConversation(THERAPY_DIALOGUE, dir)
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('resolves the models folder from SPOOL_MODELS_DIR, else ../shared/models beside the project', () => {
    expect(modelsDir({ SPOOL_MODELS_DIR: '/opt/models' })).toBe('/opt/models')
    expect(modelsDir({})).toMatch(/\/shared\/models$/)
    expect(vadEngineAvailable({ engine: 'webrtc' })).toEqual({ engine: 'webrtc' })
  })

  it.each(['silero', 'webrtc'] as const)('%s finds every turn and no pause between turns', async (engine) => {
    const { engine: used, segments } = await detectSpeechInFile(conversation.path, { engine })
    expect(used).toBe(engine)
    for (const turn of conversation.turns) {
      const covered = segments.reduce(
        (sum, s) => sum + Math.max(0, Math.min(s.end, turn.end) - Math.max(s.start, turn.start)),
        0,
      )
      expect(covered / (turn.end - turn.start)).toBeGreaterThan(0.75)
    }
    for (let i = 1; i < conversation.turns.length; i++) {
      const gap = {
        start: (conversation.turns[i - 1]?.end ?? 0) + 0.15,
        end: (conversation.turns[i]?.start ?? 0) - 0.15,
      }
      expect(segments.some((s) => s.start < gap.start && s.end > gap.end)).toBe(false)
    }
    const chunks = planChunks(segments, conversation.durationSec, { maxChunkSec: 8, minChunkSec: 2 })
    for (const chunk of chunks.slice(0, -1)) {
      expect(conversation.turns.some((t) => t.start + 0.1 < chunk.end && chunk.end < t.end - 0.1)).toBe(false)
    }
  })

  it('gives the same segments in memory as from the file', async () => {
    const { samples, sampleRate } = await readWav(conversation.path)
    const fromMemory = await detectSpeech(samples, sampleRate, { engine: 'webrtc' })
    const fromFile = await detectSpeechInFile(conversation.path, { engine: 'webrtc' })
    expect(fromMemory.segments).toEqual(fromFile.segments)
  })
})
