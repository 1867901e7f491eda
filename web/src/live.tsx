/**
 * One event stream per signed-in tab (`/v1/events/stream`, resumed by itself after a drop):
 * each event marks the queries it makes stale (refetched at most once a second), and job
 * completions and failures are counted per second — for all queues and per queue — for the
 * live charts, keeping the last ten minutes.
 */
import { type QueryClient, useQueryClient } from '@tanstack/react-query'
import { createContext, type ReactNode, useContext, useEffect, useRef, useSyncExternalStore } from 'react'
import type { SpoolClient, SpoolEvent } from 'spool/client'

const WINDOW_S = 600

export interface Series {
  /** Seconds (epoch), oldest first. */
  t: number[]
  completed: number[]
  failed: number[]
}

export class LiveStore {
  connected = false
  lastEventAt = 0
  private readonly buckets = new Map<string, Map<number, { completed: number; failed: number }>>()
  private readonly listeners = new Set<() => void>()
  private version = 0
  private readonly jobListeners = new Set<(event: SpoolEvent) => void>()

  subscribe = (listener: () => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getVersion = () => this.version

  onEvent(listener: (event: SpoolEvent) => void): () => void {
    this.jobListeners.add(listener)
    return () => this.jobListeners.delete(listener)
  }

  emit(event: SpoolEvent): void {
    this.lastEventAt = Date.now()
    if (event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.retrying') {
      const second = Math.floor(event.at / 1000)
      const field = event.type === 'job.completed' ? 'completed' : 'failed'
      for (const key of ['*', event.queue ?? '']) {
        let map = this.buckets.get(key)
        if (!map) {
          map = new Map()
          this.buckets.set(key, map)
        }
        const bucket = map.get(second) ?? { completed: 0, failed: 0 }
        bucket[field] += 1
        map.set(second, bucket)
      }
    }
    for (const listener of this.jobListeners) listener(event)
    this.changed()
  }

  setConnected(connected: boolean): void {
    if (this.connected === connected) return
    this.connected = connected
    this.changed()
  }

  /** Completions and failures per second over the last `seconds`, for one queue or all ('*'). */
  series(queue = '*', seconds = 300): Series {
    const now = Math.floor(Date.now() / 1000)
    const map = this.buckets.get(queue)
    const out: Series = { t: [], completed: [], failed: [] }
    for (let s = now - seconds + 1; s <= now; s++) {
      const bucket = map?.get(s)
      out.t.push(s)
      out.completed.push(bucket?.completed ?? 0)
      out.failed.push(bucket?.failed ?? 0)
    }
    if (map) for (const key of map.keys()) if (key < now - WINDOW_S) map.delete(key)
    return out
  }

  /** Ticks once a second so the charts scroll even without events. */
  tick(): void {
    this.changed()
  }

  private changed() {
    this.version += 1
    for (const listener of this.listeners) listener()
  }
}

const LiveContext = createContext<LiveStore | null>(null)

/**
 * Whether the tab's event stream is connected, re-rendering only when that changes: views that
 * the stream keeps fresh poll only while it is down.
 */
export function useLiveConnected(): boolean {
  const live = useContext(LiveContext)
  if (!live) throw new Error('useLiveConnected outside LiveProvider')
  return useSyncExternalStore(live.subscribe, () => live.connected)
}

export function useLive(): LiveStore {
  const live = useContext(LiveContext)
  if (!live) throw new Error('useLive outside LiveProvider')
  useSyncExternalStore(live.subscribe, live.getVersion)
  return live
}

/** The queries each kind of event makes stale. */
function staleKeys(event: SpoolEvent): string[][] {
  if (event.type.startsWith('breaker.')) return [['breakers'], ['stats']]
  if (event.type.startsWith('queue.')) return [['queues'], ['queue'], ['limits']]
  const keys = [['stats'], ['queues'], ['jobs'], ['workers']]
  if (event.jobId) keys.push(['job', event.jobId])
  // A session is a tree of jobs in the audio.* queues: their events move its status and progress.
  if (event.queue?.startsWith('audio.')) keys.push(['sessions'])
  return keys
}

/** Job lists can be costly to read (text search decodes payloads): refresh them less often. */
const SLOW_KEYS = new Set(['jobs'])

function throttledInvalidator(queryClient: QueryClient) {
  const make = (delayMs: number) => {
    const pending = new Map<string, string[]>()
    let timer: ReturnType<typeof setTimeout> | null = null
    return (key: string[]) => {
      pending.set(key.join('\u0000'), key)
      if (timer) return
      timer = setTimeout(() => {
        timer = null
        const all = [...pending.values()]
        pending.clear()
        for (const queryKey of all) void queryClient.invalidateQueries({ queryKey })
      }, delayMs)
    }
  }
  const fast = make(1000)
  const slow = make(3000)
  return (keys: string[][]) => {
    for (const key of keys) (SLOW_KEYS.has(key[0] ?? '') && key.length === 1 ? slow : fast)(key)
  }
}

export function LiveProvider({ client, children }: { client: SpoolClient; children: ReactNode }) {
  const queryClient = useQueryClient()
  const store = useRef<LiveStore>(null)
  if (!store.current) store.current = new LiveStore()
  useEffect(() => {
    const live = store.current as LiveStore
    const invalidate = throttledInvalidator(queryClient)
    const subscription = client.events.subscribe(
      {},
      (event) => {
        live.emit(event)
        invalidate(staleKeys(event))
      },
      { onOpen: () => live.setConnected(true), onError: () => live.setConnected(false), retryMs: 1000 },
    )
    const ticker = setInterval(() => live.tick(), 1000)
    return () => {
      clearInterval(ticker)
      subscription.close()
    }
  }, [client, queryClient])
  return <LiveContext.Provider value={store.current}>{children}</LiveContext.Provider>
}
