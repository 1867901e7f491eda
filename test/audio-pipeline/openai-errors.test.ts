/**
 * The OpenAI-compatible endpoint's refusals, as the official `openai` SDK shows them: its
 * exceptions read only the OpenAI API's `{ "error": { message, type, code, param } }`, so each
 * refusal carries that beside the problem+json fields. Before, the SDK raised "415 status code
 * (no body)" and an app could not tell its user why the upload was refused.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AudioServer, run, startAudioServer } from './helpers.js'

describe('OpenAI-compatible transcription: errors the openai SDK can show', () => {
  let t: AudioServer
  let dir: string
  let client: OpenAI
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-openai-errors-'))
    t = await startAudioServer()
    client = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.url}/v1`, maxRetries: 0 })
  })
  afterAll(async () => {
    await t?.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** The SDK's exception for a request that must fail. */
  async function refusal(request: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
    const error = await request.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(OpenAI.APIError)
    return error as InstanceType<typeof OpenAI.APIError>
  }

  it('an unsupported file: 415 with the reason and the code in the SDK error, problem fields beside', async () => {
    const text = join(dir, 'notes.txt')
    await writeFile(text, 'Not a recording.\n'.repeat(20))
    const error = await refusal(
      client.audio.transcriptions.create({ file: createReadStream(text), model: 'whisper-1' }),
    )
    expect(error.status).toBe(415)
    expect(error.message).toMatch(/"txt" is not an accepted audio type/)
    expect(error.message).not.toMatch(/no body/)
    expect(error.code).toBe('audio_unsupported_type')
    expect(error.type).toBe('invalid_request_error')
    expect(error.param).toBe('file')
    // The same answer is still problem+json for clients that read that.
    const form = new FormData()
    form.append('model', 'whisper-1')
    form.append('file', new Blob([await readFile(text)]), 'notes.txt')
    const raw = await fetch(`${t.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}` },
      body: form,
    })
    expect(raw.headers.get('content-type')).toMatch(/application\/problem\+json/)
    expect(await raw.json()).toMatchObject({
      status: 415,
      code: 'AUDIO_UNSUPPORTED_TYPE',
      field: 'file',
      error: { type: 'invalid_request_error', code: 'audio_unsupported_type', param: 'file' },
    })
  })

  it('a recording cut short: 422 AUDIO_TRUNCATED with what the header declared', async () => {
    const full = join(dir, 'full.wav')
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=30:sample_rate=16000', full])
    const cut = join(dir, 'cut.wav')
    await writeFile(cut, (await readFile(full)).subarray(0, 300_000))
    const error = await refusal(client.audio.transcriptions.create({ file: createReadStream(cut), model: 'whisper-1' }))
    expect(error).toBeInstanceOf(OpenAI.UnprocessableEntityError)
    expect(error.code).toBe('audio_truncated')
    expect(error.message).toMatch(/cut short: the data chunk declares 960000 bytes/)
  })

  it('bad request fields, a bad key: the SDK error names the field or the cause', async () => {
    const wav = join(dir, 'tone.wav')
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=1:sample_rate=16000', wav])
    const badFormat = await refusal(
      client.audio.transcriptions.create({
        file: createReadStream(wav),
        model: 'whisper-1',
        response_format: 'xml' as 'json',
      }),
    )
    expect(badFormat).toBeInstanceOf(OpenAI.BadRequestError)
    expect(badFormat.message).toMatch(/response_format must be one of/)
    expect(badFormat.param).toBe('response_format')
    expect(badFormat.code).toBe('spool_invalid_request')

    const stranger = new OpenAI({ apiKey: 'not-a-key', baseURL: `${t.url}/v1`, maxRetries: 0 })
    const denied = await refusal(
      stranger.audio.transcriptions.create({ file: createReadStream(wav), model: 'whisper-1' }),
    )
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(denied.type).toBe('authentication_error')
    expect(denied.code).toBe('spool_unauthenticated')
    expect(denied.message).not.toMatch(/no body/)
  })
})
