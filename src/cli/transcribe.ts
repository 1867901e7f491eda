/**
 * `spool transcribe FILE [--follow]`: uploads a recording to a running server's sessions API
 * (`POST /v1/sessions`) with a progress bar, then — with `--follow` — follows the session's own progress
 * bar to the end and prints the reliability statement (engine, expected error, quality flags)
 * and the speaker-attributed transcript. The key comes from SPOOL_KEY.
 *
 * The upload is streamed from disk as multipart/form-data (`metadata` as JSON, then `file`),
 * never read whole into memory, so the bar shows bytes actually handed to the socket.
 */
import { createReadStream, statSync } from 'node:fs'
import { basename } from 'node:path'
import { Readable } from 'node:stream'
import { createClient } from '../client/index.js'
import type { Problem, Session, SessionMetadata, TranscriptSegment } from '../client/types.js'

export interface TranscribeOptions {
  url: string
  key: string
  file: string
  metadata: SessionMetadata
  follow: boolean
  out(text: string): void
  /** Redraws a line in place (a TTY); otherwise each update is its own line. */
  tty?: boolean
  pollMs?: number
}

export function bar(percent: number, width = 30): string {
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width)
  return `${'█'.repeat(filled)}${'·'.repeat(width - filled)} ${String(Math.round(percent)).padStart(3)}%`
}

/** Streams FILE as multipart/form-data; calls `onProgress` with the bytes of the file sent. */
export function multipart(file: string, metadata: SessionMetadata, onProgress: (sent: number, total: number) => void) {
  const boundary = `spool-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`
  const size = statSync(file).size
  const name = basename(file).replace(/["\r\n]/g, '_')
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify(metadata)}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  async function* parts() {
    yield head
    let sent = 0
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
      sent += (chunk as Buffer).length
      onProgress(sent, size)
      yield chunk as Buffer
    }
    yield tail
  }
  return {
    body: Readable.toWeb(Readable.from(parts())) as unknown as ReadableStream<Uint8Array>,
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + size + tail.length),
    },
  }
}

export function formatTranscript(segments: Omit<TranscriptSegment, 'words'>[]): string {
  return segments.map((s) => `[${s.start.toFixed(1).padStart(6)} s] ${s.speaker}: ${s.text}`).join('\n')
}

/**
 * @example
 * await runTranscribe({ url, key, file: 'visit.wav', metadata: { urgency: 'same-day' }, follow: true, out: console.log })
 */
export async function runTranscribe(options: TranscribeOptions): Promise<number> {
  const client = createClient({ baseUrl: options.url, apiKey: options.key })
  const line = (text: string) => (options.tty ? options.out(`\r\x1b[2K${text}`) : options.out(`${text}\n`))
  let lastShown = -1
  const upload = multipart(options.file, options.metadata, (sent, total) => {
    const percent = total === 0 ? 100 : (sent / total) * 100
    if (options.tty || Math.floor(percent / 25) !== Math.floor(lastShown / 25)) line(`upload   ${bar(percent)}`)
    lastShown = percent
  })
  const response = await fetch(`${options.url.replace(/\/+$/, '')}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${options.key}`, ...upload.headers },
    body: upload.body,
    duplex: 'half',
  } as RequestInit)
  const text = await response.text()
  if (options.tty) options.out('\n')
  if (!response.ok) {
    let problem: Problem
    try {
      problem = JSON.parse(text) as Problem
    } catch {
      problem = {
        type: 'about:blank',
        title: response.statusText,
        status: response.status,
        code: 'SPOOL_HTTP_ERROR',
        detail: text.slice(0, 300),
      }
    }
    // The command prints `spool: detail (CODE)`.
    throw Object.assign(new Error(problem.detail || problem.title), { code: problem.code })
  }
  const created = JSON.parse(text) as { id: string; position?: number | null; estimatedWaitMs?: number | null }
  options.out(
    `session ${created.id}${created.position !== undefined && created.position !== null ? `  position ${created.position}` : ''}${created.estimatedWaitMs ? `  about ${Math.round(created.estimatedWaitMs / 1000)} s to wait` : ''}\n`,
  )
  if (!options.follow) return 0
  let session: Session
  let shown = ''
  for (;;) {
    session = await client.sessions.get(created.id)
    const eta = session.etaMs ? `  ${Math.ceil(session.etaMs / 1000)} s left` : ''
    const status = `${session.status.padEnd(9)} ${bar(session.progress)}  ${session.stage ?? ''}${eta}`
    if (status !== shown) line(status)
    shown = status
    if (session.status === 'processed' || session.status === 'failed') break
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500))
  }
  if (options.tty) options.out('\n')
  for (const warning of session.warnings ?? []) options.out(`warning: ${warning}\n`)
  if (session.status === 'failed') {
    options.out(`failed: ${session.error ?? 'unknown reason'}\n`)
    return 1
  }
  const transcript = (await client.sessions.transcript(created.id, 'json')) as { segments?: TranscriptSegment[] } | null
  const segments = transcript?.segments ?? session.results?.transcript?.segments ?? []
  // How far to trust it comes first, as on the session page: the machine, not the speaker, may have said it.
  const reliability = session.results?.reliability ?? session.results?.transcript?.reliability
  if (reliability) options.out(`reliability: ${reliability.statement}\n`)
  options.out(`${formatTranscript(segments)}\n`)
  return 0
}
