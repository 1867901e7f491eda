/**
 * `spool transcribe FILE --follow` against a real server running the audio pipeline: the
 * recording streams up with a progress bar, the session's bar is followed to 100, and the
 * reliability statement and the speaker-attributed transcript are printed.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AudioPipeline, resolvePipelineOptions, startAudioPipeline } from '../../src/audio/pipeline/index.js'
import { main } from '../../src/cli/commands.js'
import { startServer, type TestServer } from './helpers.js'

const JFK = new URL('../../../shared/audio/jfk.flac', import.meta.url).pathname

describe('spool transcribe', () => {
  let t: TestServer
  let audio: AudioPipeline
  beforeAll(async () => {
    t = await startServer({ config: { logLevel: 'warn' } })
    audio = await startAudioPipeline(t.spool, resolvePipelineOptions({ dir: join(t.dir, 'audio') }))
  })
  afterAll(async () => {
    await audio?.close({ graceMs: 200 })
    await t?.close()
  })

  it('uploads, follows the session to the end and prints the transcript', async () => {
    const lines: string[] = []
    const io = { out: (text: string) => lines.push(text), err: (text: string) => lines.push(`ERR ${text}`) }
    const code = await main(['transcribe', JFK, '--follow', '--url', t.url, '--urgency', 'same-day'], io, {
      SPOOL_KEY: t.adminKey,
    })
    const text = lines.join('\n')
    expect(code, text).toBe(0)
    expect(text).toMatch(/upload +█{30} 100%/)
    expect(text).toMatch(/session [0-9a-f-]{36}/)
    expect(text).toMatch(/processed +█{30} 100%/)
    expect(text).toMatch(/\[ +\d+\.\d s\] SPEAKER_1: \S+/)
    // The reliability statement comes before the transcript, as on the session page.
    expect(text).toMatch(/reliability: Low reliability: transcribed by pocketsphinx/)
    expect(text.indexOf('reliability:')).toBeLessThan(text.search(/SPEAKER_1:/))
    const bad = await main(['transcribe', '/nonexistent.wav', '--url', t.url], io, { SPOOL_KEY: t.adminKey })
    expect(bad).toBe(1)
  })
})
