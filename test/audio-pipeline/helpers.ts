/**
 * A real server with the audio pipeline's workers on a temporary SQLite file and audio dir, for
 * the pipeline's integration tests, plus upload and SSE helpers. Everything is closed by
 * `close()`; servers listen on 127.0.0.1, port 0.
 */
import { execFile } from 'node:child_process'
import { openAsBlob } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { type AudioPipeline, resolvePipelineOptions, startAudioPipeline } from '../../src/audio/pipeline/index.js'
import type { ServerConfigInput } from '../../src/server/config.js'
import { startServer, type TestServer } from '../server/helpers.js'

export const run = promisify(execFile)

export interface AudioServer extends TestServer {
  pipeline: AudioPipeline
  audioDir: string
  upload(
    path: string,
    metadata?: unknown,
    options?: { filename?: string; key?: string; contentType?: string },
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers of every shape
  ): Promise<{ status: number; body: any; headers: Headers }>
  /** Files under the audio dir (relative paths), to check nothing was kept. */
  storedFiles(): Promise<string[]>
}

export async function startAudioServer(
  options: { audio?: Parameters<typeof resolvePipelineOptions>[0]; config?: ServerConfigInput } = {},
): Promise<AudioServer> {
  const t = await startServer({ config: { logLevel: 'warn', ...options.config } })
  const audioDir = join(t.dir, 'audio')
  const pipeline = await startAudioPipeline(t.spool, resolvePipelineOptions({ dir: audioDir, ...options.audio }))
  return {
    ...t,
    pipeline,
    audioDir,
    async upload(path, metadata = {}, uploadOptions = {}) {
      const form = new FormData()
      if (metadata !== undefined) form.append('metadata', JSON.stringify(metadata))
      const blob = await openAsBlob(path, { type: uploadOptions.contentType ?? 'application/octet-stream' })
      form.append('file', blob, uploadOptions.filename ?? basename(path))
      const response = await fetch(`${t.url}/v1/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${uploadOptions.key ?? t.adminKey}` },
        body: form,
      })
      const text = await response.text()
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {}
      return { status: response.status, body, headers: response.headers }
    },
    async storedFiles() {
      const out: string[] = []
      const walk = async (dir: string, prefix: string) => {
        let entries: import('node:fs').Dirent[]
        try {
          entries = await readdir(dir, { withFileTypes: true })
        } catch {
          return
        }
        for (const entry of entries) {
          const relative = prefix ? `${prefix}/${entry.name}` : entry.name
          if (entry.isDirectory()) await walk(join(dir, entry.name), relative)
          else out.push(relative)
        }
      }
      await walk(audioDir, '')
      return out
    },
    async close() {
      await pipeline.close({ graceMs: 200 })
      await t.close()
    },
  }
}

/** A `session` frame of the SSE stream. */
export interface SessionFrame {
  status: string
  stage: string | null
  progress: number
  etaMs: number | null
  error: string | null
  warnings: string[]
  run: number
}

/** Reads a session's SSE stream until `until` says stop; returns the session frames. */
export async function followSession(
  url: string,
  key: string,
  id: string,
  until: (frame: SessionFrame) => boolean,
  timeoutMs = 60_000,
): Promise<{ frames: SessionFrame[]; ids: number[] }> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), timeoutMs)
  const response = await fetch(`${url}/v1/sessions/${id}/events`, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
    signal: abort.signal,
  })
  if (response.status !== 200 || !response.body) throw new Error(`SSE answered ${response.status}`)
  const frames: SessionFrame[] = []
  const ids: number[] = []
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const raw = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf('\n\n')
        let event: string | undefined
        let data: unknown
        for (const line of raw.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7)
          else if (line.startsWith('id: ')) ids.push(Number(line.slice(4)))
          else if (line.startsWith('data: ')) data = JSON.parse(line.slice(6))
        }
        if (event === 'session') {
          frames.push(data as SessionFrame)
          if (until(data as SessionFrame)) return { frames, ids }
        }
      }
    }
  } finally {
    clearTimeout(timer)
    abort.abort()
  }
  throw new Error(`the stream ended before the condition held (${frames.length} frames)`)
}

/** Concatenates `times` copies of a recording into a 16 kHz mono WAV with ffmpeg. */
export async function loopAudio(source: string, target: string, times: number): Promise<void> {
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-stream_loop',
    String(times - 1),
    '-i',
    source,
    '-ac',
    '1',
    '-ar',
    '16000',
    '-c:a',
    'pcm_s16le',
    target,
  ])
}
