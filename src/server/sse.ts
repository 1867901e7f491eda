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

export function openEventStream(
  app: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  filter: StreamFilter,
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
  const subscription = app.spool.events.subscribe(
    {
      tenant: filter.tenant,
      ...(filter.queue !== undefined && { queue: filter.queue }),
      ...(filter.jobId !== undefined && { jobId: filter.jobId }),
      ...(filter.afterId !== undefined && { afterId: filter.afterId }),
    },
    (event) => {
      if (!res.writableEnded) res.write(sseFrame(event))
    },
  )
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(': ping\n\n')
  }, app.config.streams.heartbeatMs)
  heartbeat.unref()
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    clearInterval(heartbeat)
    subscription.close()
    app.closingSignal.removeEventListener('abort', end)
    app.metrics.streamsOpen.dec({ kind: 'sse' })
    if (!res.writableEnded) res.end()
  }
  request.raw.once('close', end)
  res.once('close', end)
  app.closingSignal.addEventListener('abort', end)
}

/** The resume point: `Last-Event-ID` header, else `lastEventId` / `afterId` in the query. */
export function resumeFrom(header: string | string[] | undefined, query: number | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value !== undefined && /^\d{1,16}$/.test(value.trim())) return Number(value.trim())
  return query
}
