/**
 * `POST /v1/audio/transcriptions` answers when the transcription is done, so a client may leave
 * while it waits. The route used to listen for the request's 'close', which fires as soon as the
 * body has been read, so a client leaving mid-wait went unnoticed: its session kept running and
 * stayed stored until the wait ran out. Now the response's close cancels and removes the session
 * (docs/audio.md, "OpenAI-compatible transcription"), as nobody will read the answer.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.js'
import { sharedAudioAvailable, sharedPath } from '../helpers/shared-audio.js'
import { type AudioServer, run, startAudioServer } from './helpers.js'

describe.skipIf(
  !sharedAudioAvailable('compat disconnect (test/audio-pipeline/compat-disconnect.test.ts)', ['jfk.flac']),
)('OpenAI-compatible transcription: a client that leaves mid-wait', () => {
  let fake: FakeOpenAI
  let t: AudioServer
  let dir: string
  let wav: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-compat-disconnect-'))
    wav = join(dir, 'jfk.wav')
    await run('ffmpeg', ['-v', 'error', '-i', sharedPath('jfk.flac'), '-ac', '1', '-ar', '16000', wav])
    // An upstream slow enough that the answer is still pending when the client leaves.
    fake = await startFakeOpenAI({ latency: { baseMs: 60_000 } })
    t = await startAudioServer({
      audio: {
        engines: { transcription: 'openai' },
        engineConfig: { transcription: { openai: { baseUrl: fake.url, apiKey: 'upstream-key', timeoutMs: 120_000 } } },
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    await fake?.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function sessionIds(): Promise<string[]> {
    const res = await fetch(`${t.url}/v1/sessions`, { headers: { authorization: `Bearer ${t.adminKey}` } })
    const body = (await res.json()) as { sessions: { id: string }[] }
    return body.sessions.map((s) => s.id)
  }

  async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await check()) return true
      await new Promise((r) => setTimeout(r, 100))
    }
    return check()
  }

  it('cancels and removes the session once the client disconnects', async () => {
    const form = new FormData()
    form.append('model', 'whisper-1')
    form.append('file', new Blob([await readFile(wav)]), 'jfk.wav')
    const leave = new AbortController()
    const pending = fetch(`${t.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}` },
      body: form,
      signal: leave.signal,
    }).catch((error: unknown) => error)
    // The upload is in and the transcription is waiting on the upstream.
    expect(await until(async () => fake.requests.length > 0, 20_000)).toBe(true)
    expect(await sessionIds()).toHaveLength(1)
    leave.abort()
    expect(await pending).toBeInstanceOf(Error)
    expect(await until(async () => (await sessionIds()).length === 0, 10_000)).toBe(true)
    // The running chunk job is cancelled and cleans up after itself: nothing of the recording stays.
    expect(await until(async () => (await t.storedFiles()).length === 0, 10_000)).toBe(true)
  })
})
