/**
 * A fake OpenAI-compatible upstream for tests and benchmarks: `POST /v1/audio/transcriptions`
 * (multipart, `verbose_json`) and `POST /v1/chat/completions`, on 127.0.0.1 and a free port.
 * It misbehaves the way hosted APIs do, on request:
 *
 * - `script(...)` queues behaviours for the next requests: `{ status: 429, retryAfter: '2' }`,
 *   `{ status: 503 }`, any other status, `{ delayMs }` (slow), `{ drop: true }` (the socket is
 *   destroyed before an answer);
 * - `maxConcurrent`: requests beyond it are answered 429 with `Retry-After` at once;
 * - transcription latency grows with the audio: `latency.baseMs + latency.perAudioSecondMs ×
 *   seconds of audio` (WAV length read from the upload's header).
 *
 * Close it in the test (`await fake.close()`); nothing keeps running after.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'

export type Behaviour = { status: number; retryAfter?: string; body?: unknown } | { delayMs: number } | { drop: true }

export interface TranscriptionRequest {
  bytes: Buffer
  /** From the WAV header, when the upload is a WAV. */
  durationSec: number | undefined
  fields: Record<string, string[]>
}

export interface VerboseJson {
  text: string
  language?: string
  duration?: number
  words?: { word: string; start: number; end: number }[]
  segments?: { id: number; start: number; end: number; text: string }[]
}

export interface FakeOpenAIOptions {
  /** Requests served at once; more are answered 429. Default unlimited. */
  maxConcurrent?: number
  /** `Retry-After` (seconds) on the concurrency 429. Default '1'. */
  retryAfter?: string
  latency?: { baseMs?: number; perAudioSecondMs?: number }
  /** The transcript for an upload. Default: one word `w<i>` every 0.5 s of audio. */
  transcribe?: (request: TranscriptionRequest) => VerboseJson | Promise<VerboseJson>
  /** The assistant message content for a chat request. Default: `{}`. */
  chat?: (body: Record<string, unknown>) => string | Promise<string>
}

export interface RequestRecord {
  path: string
  status: number | 'dropped'
  at: number
  /** Requests in flight when this one arrived (including itself). */
  concurrent: number
}

export interface FakeOpenAI {
  /** Base URL including `/v1`. */
  url: string
  requests: RequestRecord[]
  /** Highest number of requests served at once (those turned away with 429 not counted). */
  peakConcurrent(): number
  script(...behaviours: Behaviour[]): void
  close(): Promise<void>
}

/**
 * @example
 * const fake = await startFakeOpenAI({ maxConcurrent: 16, latency: { perAudioSecondMs: 8 } })
 * fake.script({ status: 429, retryAfter: '1' }, { status: 503 })
 * try { … } finally { await fake.close() }
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const queue: Behaviour[] = []
  const requests: RequestRecord[] = []
  let active = 0
  let serving = 0
  let peak = 0
  const timers = new Set<NodeJS.Timeout>()

  const sleep = (ms: number, req: IncomingMessage) =>
    new Promise<boolean>((resolve) => {
      if (ms <= 0) return resolve(true)
      // The socket outlives the request (keep-alive): take the listener off when the wait ends.
      const onClose = () => {
        clearTimeout(timer)
        timers.delete(timer)
        resolve(false)
      }
      const timer = setTimeout(() => {
        timers.delete(timer)
        req.socket.off('close', onClose)
        resolve(true)
      }, ms)
      timers.add(timer)
      req.socket.once('close', onClose)
    })

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, record: RequestRecord) => {
    const path = (req.url ?? '').split('?')[0] ?? ''
    if (options.maxConcurrent !== undefined && active > options.maxConcurrent) {
      record.status = 429
      send(
        res,
        429,
        { error: { message: 'Too many concurrent requests', type: 'rate_limit_exceeded' } },
        { 'retry-after': options.retryAfter ?? '1' },
      )
      return
    }
    serving++
    peak = Math.max(peak, serving)
    res.once('close', () => serving--)
    const behaviour = queue.shift()
    if (behaviour && 'drop' in behaviour) {
      record.status = 'dropped'
      req.socket.destroy()
      return
    }
    if (behaviour && 'delayMs' in behaviour && !(await sleep(behaviour.delayMs, req))) return
    if (behaviour && 'status' in behaviour) {
      record.status = behaviour.status
      send(
        res,
        behaviour.status,
        behaviour.body ?? { error: { message: `scripted ${behaviour.status}` } },
        behaviour.retryAfter ? { 'retry-after': behaviour.retryAfter } : {},
      )
      return
    }
    if (req.method === 'POST' && path === '/v1/audio/transcriptions') {
      const form = await new Request('http://fake.local/', {
        method: 'POST',
        headers: req.headers as Record<string, string>,
        body: Readable.toWeb(req) as ReadableStream,
        duplex: 'half',
      } as RequestInit).formData()
      const file = form.get('file')
      if (!(file instanceof Blob)) {
        record.status = 400
        send(res, 400, { error: { message: 'file is required' } })
        return
      }
      const bytes = Buffer.from(await file.arrayBuffer())
      const fields: Record<string, string[]> = {}
      for (const [key, value] of form.entries()) {
        if (typeof value === 'string') fields[key] = [...(fields[key] ?? []), value]
      }
      const durationSec = wavDuration(bytes)
      const latency = (options.latency?.baseMs ?? 0) + (options.latency?.perAudioSecondMs ?? 0) * (durationSec ?? 0)
      if (!(await sleep(latency, req))) return
      const answer = await (options.transcribe ?? defaultTranscript)({ bytes, durationSec, fields })
      record.status = 200
      send(res, 200, answer)
      return
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
      const content = options.chat ? await options.chat(body) : '{}'
      record.status = 200
      send(res, 200, {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        model: body.model,
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
      })
      return
    }
    record.status = 404
    send(res, 404, { error: { message: `no route ${req.method} ${path}` } })
  }

  const server = createServer((req, res) => {
    active++
    const record: RequestRecord = { path: req.url ?? '', status: 0, at: Date.now(), concurrent: active }
    requests.push(record)
    let done = false
    const finish = () => {
      if (!done) {
        done = true
        active--
      }
    }
    res.once('close', finish)
    handle(req, res, record).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) send(res, 500, { error: { message: String(error) } })
      finish()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    peakConcurrent: () => peak,
    script: (...behaviours) => queue.push(...behaviours),
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function defaultTranscript(request: TranscriptionRequest): VerboseJson {
  const duration = request.durationSec ?? 0
  const words = Array.from({ length: Math.floor(duration / 0.5) }, (_, i) => ({
    word: `w${i}`,
    start: i * 0.5,
    end: i * 0.5 + 0.4,
  }))
  return {
    text: words.map((w) => w.word).join(' '),
    language: 'english',
    duration,
    words,
    segments:
      words.length > 0
        ? [{ id: 0, start: 0, end: words.at(-1)?.end ?? 0, text: words.map((w) => w.word).join(' ') }]
        : [],
  }
}

/** Seconds of a PCM WAV, from its header; undefined for anything else. */
function wavDuration(bytes: Buffer): number | undefined {
  if (bytes.length < 44 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE')
    return undefined
  let offset = 12
  let byteRate = 0
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4)
    const length = bytes.readUInt32LE(offset + 4)
    if (id === 'fmt ') byteRate = bytes.readUInt32LE(offset + 16)
    if (id === 'data') return byteRate > 0 ? Math.min(length, bytes.length - offset - 8) / byteRate : undefined
    offset += 8 + length + (length % 2)
  }
  return undefined
}
