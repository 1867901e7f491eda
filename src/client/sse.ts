/**
 * Server-sent events over `fetch`, so it works in browsers and in Node alike and can send an
 * `Authorization` header (EventSource cannot). It reconnects by itself after a dropped
 * connection or a server restart, sending `Last-Event-ID`, so no event is missed or repeated.
 */
import type { SpoolEvent } from './types.js'

export interface SseOptions {
  url: string
  headers: () => Promise<Record<string, string>> | Record<string, string>
  fetch: typeof fetch
  /** Resume after this event id. */
  lastEventId?: number
  /** Wait before reconnecting, in ms (doubles up to 30 s while the server stays away; default 1 000). */
  retryMs?: number
  onEvent(event: SpoolEvent): void
  /** Told about each failed connection (the subscription keeps trying unless it is closed). */
  onError?(error: unknown): void
  /** Told each time a connection opens. */
  onOpen?(): void
}

export interface EventSubscription {
  /** The id of the last event delivered. */
  readonly lastEventId: number | undefined
  close(): void
  /** Resolves when the subscription is closed. */
  readonly done: Promise<void>
}

/** A 4xx other than 408/429 will not get better by trying again. */
class Fatal extends Error {}

export function subscribeSse(options: SseOptions): EventSubscription {
  const controller = new AbortController()
  let lastEventId = options.lastEventId
  const base = options.retryMs ?? 1_000
  let delay = base

  const connect = async (): Promise<void> => {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...(await options.headers()) }
    if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId)
    const response = await options.fetch(options.url, { headers, signal: controller.signal })
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => '')
      const error = Object.assign(new Error(`event stream answered HTTP ${response.status}: ${text.slice(0, 200)}`), {
        status: response.status,
      })
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        throw Object.assign(new Fatal(error.message), { status: response.status })
      }
      throw error
    }
    options.onOpen?.()
    delay = base
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf('\n\n')
        let data = ''
        let id: string | undefined
        for (const line of frame.split('\n')) {
          if (line.startsWith('data:')) data += line.slice(line[5] === ' ' ? 6 : 5)
          else if (line.startsWith('id:')) id = line.slice(3).trim()
          else if (line.startsWith('retry:')) delay = Number(line.slice(6)) || delay
        }
        if (!data) continue
        const event = JSON.parse(data) as SpoolEvent
        if (id !== undefined) lastEventId = Number(id)
        options.onEvent(event)
      }
    }
  }

  const done = (async () => {
    while (!controller.signal.aborted) {
      try {
        await connect()
      } catch (error) {
        if (controller.signal.aborted) break
        options.onError?.(error)
        if (error instanceof Fatal) break
      }
      if (controller.signal.aborted) break
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(30_000, delay * 2)
    }
  })()

  return {
    get lastEventId() {
      return lastEventId
    },
    close: () => controller.abort(),
    done,
  }
}
