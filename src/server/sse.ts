/**
 * Server-sent events: one engine subscription per open stream, written as
 *
 *   id: 1234
 *   event: job.progress
 *   data: {"id":1234,"type":"job.progress","jobId":"42",…}
 *
 * The id is the event's own (it grows with every event), so a client that reconnects with
 * `Last-Event-ID` (EventSource does so by itself) gets exactly what it missed, from the
 * database, then live: the engine reads history and live through the same cursor, so there is
 * no gap between them — also across a server restart, since the events are rows. A comment line
 * every `heartbeatMs` keeps proxies from closing an idle stream.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SpoolEvent } from '../store/store.js'
import type { ServerContext } from './context.js'

export interface StreamFilter {
  tenant: string
  queue?: string | undefined
  jobId?: string | undefined
  afterId?: number | undefined
}

/** Formats one event as an SSE frame. */
export function sseFrame(event: SpoolEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`
}

/** An open SSE response: `write` sends text while it lasts, `end` closes it (once). */
export interface SseStream {
  write(text: string): void
  end(): void
}

/**
 * Takes over `reply` as an event stream: headers, a `: ping` comment every `heartbeatMs`, the
 * open-streams gauge, and one teardown (`close` of what feeds it, then the response) when the
 * client goes, the server closes, or `end` is called. `feed` starts what writes to it and
 * returns how to stop that.
 */
export function openSse(
  app: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  feed: (stream: SseStream) => { close(): void },
): void {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  })
  res.write('retry: 2000\n: connected\n\n')
  app.metrics.streamsOpen.inc({ kind: 'sse' })
  let ended = false
  let source: { close(): void } | undefined
  const stream: SseStream = {
    write: (text) => {
      if (!res.writableEnded) res.write(text)
    },
    end: () => {
      if (ended) return
      ended = true
      clearInterval(heartbeat)
      source?.close()
      app.closingSignal.removeEventListener('abort', stream.end)
      app.metrics.streamsOpen.dec({ kind: 'sse' })
      if (!res.writableEnded) res.end()
    },
  }
  const heartbeat = setInterval(() => stream.write(': ping\n\n'), app.config.streams.heartbeatMs)
  heartbeat.unref()
  request.raw.once('close', stream.end)
  res.once('close', stream.end)
  app.closingSignal.addEventListener('abort', stream.end)
  source = feed(stream)
  // The feed may have ended the stream while starting (a failed first read).
  if (ended) source.close()
}

/** The engine's events for `filter` as an SSE stream, resuming after `filter.afterId`. */
export function openEventStream(
  app: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  filter: StreamFilter,
): void {
  openSse(app, request, reply, (stream) =>
    app.spool.events.subscribe(
      {
        tenant: filter.tenant,
        ...(filter.queue !== undefined && { queue: filter.queue }),
        ...(filter.jobId !== undefined && { jobId: filter.jobId }),
        ...(filter.afterId !== undefined && { afterId: filter.afterId }),
      },
      (event) => stream.write(sseFrame(event)),
    ),
  )
}

/** The resume point: `Last-Event-ID` header, else `lastEventId` / `afterId` in the query. */
export function resumeFrom(header: string | string[] | undefined, query: number | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value !== undefined && /^\d{1,16}$/.test(value.trim())) return Number(value.trim())
  return query
}
