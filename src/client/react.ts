/**
 * `spool/react`: React hooks over the typed client (`spool/client`), live through its event
 * stream, which resumes by itself after a dropped connection or a server restart.
 *
 * - `useJob(id)`: the job, read again whenever one of its events arrives (progress, log, state)
 *   and whenever the stream (re)connects, so a missed moment is caught up.
 * - `useQueueStats(queue)`: the queue's stats, read again on its events (at most once per
 *   `throttleMs`) and every `intervalMs` (throughput changes without events).
 * - `useEvents(filter)`: the newest events of the tenant, a queue or a job, live.
 * - `useGatewayRequests()`: submits AI gateway requests in async mode and tracks them all
 *   (status, position, ETA, result), the caller's remaining rate budget and the queue's stats.
 *
 * Reads that pile up while one is in flight are merged into one. React is a peer dependency:
 * this module is the only part of Spool that imports it.
 *
 * @example
 * import { createClient } from 'spool/client'
 * import { SpoolProvider, useJob } from 'spool/react'
 * const client = createClient({ baseUrl: 'http://127.0.0.1:7700', apiKey })
 * function Progress({ id }: { id: string }) {
 *   const { job } = useJob(id)
 *   return <progress max={100} value={job?.progress?.percent ?? 0} />
 * }
 * // <SpoolProvider client={client}><Progress id={id} /></SpoolProvider>
 */
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
} from 'react'
import type { SpoolClient } from './index.js'
import type { AiRateBudget, Job, JobState, SpoolEvent, Stats } from './types.js'

const SpoolContext = createContext<SpoolClient | null>(null)

/**
 * Gives the hooks below it a client.
 *
 * @example
 * createRoot(el).render(<SpoolProvider client={createClient({ baseUrl, apiKey })}><App /></SpoolProvider>)
 */
export function SpoolProvider(props: { client: SpoolClient; children?: ReactNode }): ReactNode {
  return createElement(SpoolContext.Provider, { value: props.client }, props.children)
}

/**
 * The client passed in, else the one from `SpoolProvider`.
 *
 * @example
 * const client = useSpoolClient()
 */
export function useSpoolClient(client?: SpoolClient): SpoolClient {
  const provided = useContext(SpoolContext)
  const chosen = client ?? provided
  if (!chosen) throw new Error('no Spool client: render inside <SpoolProvider client={…}> or pass { client }')
  return chosen
}

export interface LiveOptions {
  /** Instead of the provider's. */
  client?: SpoolClient
  /** First wait before the stream reconnects, in ms (doubles while the server stays away; default 1 000). */
  retryMs?: number
}

/** What every hook reports besides its data. */
export interface LiveStatus {
  /** True until the first answer (or error). */
  loading: boolean
  /**
   * The last failed read (a `SpoolApiError`), else the stream's last failed connection; null
   * after a good read.
   */
  error: unknown
  /** The event stream is open. */
  connected: boolean
}

/**
 * Runs `load` now or as soon as the read in flight ends (requests in between merge into one),
 * and no sooner than `gapMs` after the previous read started.
 */
function reloader<T>(load: () => Promise<T>, done: (value: T) => void, failed: (error: unknown) => void, gapMs = 0) {
  let running = false
  let again = false
  let stopped = false
  let last = Number.NEGATIVE_INFINITY
  let timer: ReturnType<typeof setTimeout> | null = null
  const run = (): void => {
    if (stopped) return
    if (running) {
      again = true
      return
    }
    const wait = last + gapMs - Date.now()
    if (wait > 0) {
      timer ??= setTimeout(() => {
        timer = null
        run()
      }, wait)
      return
    }
    running = true
    last = Date.now()
    load()
      .then(
        (value) => {
          if (!stopped) done(value)
        },
        (error: unknown) => {
          if (!stopped) failed(error)
        },
      )
      .finally(() => {
        running = false
        if (again) {
          again = false
          run()
        }
      })
  }
  return {
    run,
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}

const initialStatus = (loading: boolean): LiveStatus => ({ loading, error: null, connected: false })

/**
 * A job, live: re-read on each of its events. `id` null or undefined waits (nothing is read).
 *
 * @example
 * const { job, error } = useJob(id)
 * if (job) return <p>{job.state} {job.progress?.percent ?? 0}% {job.progress?.stage}</p>
 */
export function useJob<P = unknown, R = unknown>(
  id: string | null | undefined,
  options: LiveOptions = {},
): LiveStatus & { job: Job<P, R> | null } {
  const client = useSpoolClient(options.client)
  const { retryMs } = options
  const [state, setState] = useState<LiveStatus & { job: Job<P, R> | null }>(() => ({
    ...initialStatus(Boolean(id)),
    job: null,
  }))
  useEffect(() => {
    setState({ ...initialStatus(Boolean(id)), job: null })
    if (!id) return
    const reload = reloader(
      () => client.jobs.get<P, R>(id),
      (job) => setState((s) => ({ ...s, job, error: null, loading: false })),
      (error) => setState((s) => ({ ...s, error, loading: false })),
    )
    reload.run()
    const subscription = client.events.subscribe({ jobId: id }, reload.run, {
      ...(retryMs !== undefined && { retryMs }),
      onOpen: () => {
        setState((s) => ({ ...s, connected: true }))
        reload.run()
      },
      onError: (error) => setState((s) => ({ ...s, error: s.error ?? error, connected: false })),
    })
    return () => {
      reload.stop()
      subscription.close()
    }
  }, [client, id, retryMs])
  return state
}

/**
 * A queue's stats (counts by state, per-minute history, timings, success rate), live.
 *
 * @example
 * const { stats } = useQueueStats('emails')
 * return <span>{stats?.counts.emails?.waiting ?? 0} waiting</span>
 */
export function useQueueStats(
  queue: string,
  options: LiveOptions & {
    /** Read again at least this often, in ms (default 10 000). */
    intervalMs?: number
    /** At most one read per this many ms while events pour in (default 1 000). */
    throttleMs?: number
  } = {},
): LiveStatus & { stats: Stats | null } {
  const client = useSpoolClient(options.client)
  const { retryMs, intervalMs = 10_000, throttleMs = 1_000 } = options
  const [state, setState] = useState<LiveStatus & { stats: Stats | null }>(() => ({
    ...initialStatus(true),
    stats: null,
  }))
  useEffect(() => {
    setState({ ...initialStatus(true), stats: null })
    const reload = reloader(
      () => client.queues.stats(queue),
      (stats) => setState((s) => ({ ...s, stats, error: null, loading: false })),
      (error) => setState((s) => ({ ...s, error, loading: false })),
      throttleMs,
    )
    reload.run()
    const timer = setInterval(reload.run, intervalMs)
    const subscription = client.events.subscribe({ queue }, reload.run, {
      ...(retryMs !== undefined && { retryMs }),
      onOpen: () => {
        setState((s) => ({ ...s, connected: true }))
        reload.run()
      },
      onError: (error) => setState((s) => ({ ...s, error: s.error ?? error, connected: false })),
    })
    return () => {
      clearInterval(timer)
      reload.stop()
      subscription.close()
    }
  }, [client, queue, retryMs, intervalMs, throttleMs])
  return state
}

/**
 * Live events of the tenant, a queue (`{ queue }`) or a job (`{ jobId }`), oldest first, the
 * newest `limit` kept. `lastEventId` starts after that event (0: from the oldest kept).
 *
 * @example
 * const { events } = useEvents({ queue: 'emails' }, { limit: 50 })
 * return <ul>{events.map((e) => <li key={e.id}>{e.type}</li>)}</ul>
 */
export function useEvents(
  filter: { queue?: string; jobId?: string } = {},
  options: LiveOptions & { limit?: number; lastEventId?: number } = {},
): LiveStatus & { events: SpoolEvent[] } {
  const client = useSpoolClient(options.client)
  const { retryMs, limit = 200, lastEventId } = options
  const { queue, jobId } = filter
  const [state, setState] = useState<LiveStatus & { events: SpoolEvent[] }>(() => ({
    ...initialStatus(true),
    events: [],
  }))
  useEffect(() => {
    setState({ ...initialStatus(true), events: [] })
    const subscription = client.events.subscribe(
      { ...(queue !== undefined && { queue }), ...(jobId !== undefined && { jobId }) },
      (event) =>
        setState((s) => {
          const events = s.events.length >= limit ? s.events.slice(s.events.length - limit + 1) : s.events.slice()
          events.push(event)
          return { ...s, events }
        }),
      {
        ...(retryMs !== undefined && { retryMs }),
        ...(lastEventId !== undefined && { lastEventId }),
        onOpen: () => setState((s) => ({ ...s, connected: true, loading: false, error: null })),
        onError: (error) => setState((s) => ({ ...s, error, connected: false, loading: false })),
      },
    )
    return () => subscription.close()
  }, [client, queue, jobId, retryMs, limit, lastEventId])
  return state
}

/** One gateway request as `useGatewayRequests` tracks it. */
export interface GatewayRequest<R = unknown> {
  /** The job id (null while it is being submitted). */
  id: string | null
  /** `submitting` until the server accepted it, `rejected` if it refused it; then the job's state. */
  status: 'submitting' | 'rejected' | JobState
  /** Place in line while it waits (1 = next), else null. */
  position: number | null
  /** Estimated wait before it starts, while it waits. */
  estimatedWaitMs: number | null
  /** The provider's answer (the OpenAI body) once completed. */
  result: R | null
  /** Why it was refused or failed. */
  error: string | null
  /** What was sent. */
  body: Record<string, unknown>
  submittedAt: number
}

const FINAL = new Set(['completed', 'failed', 'cancelled', 'rejected'])

/**
 * Submits AI gateway requests without holding a connection open (`Prefer: respond-async`) and
 * tracks each one live, through the event stream plus a poll of positions every `intervalMs`:
 * the shape an app would otherwise write by hand.
 *
 * - `submit(body, { endpoint, priority, idempotencyKey })`: queues one; resolves with its id.
 * - `requests`: every request submitted, in order, each with status, position, ETA, result.
 * - `stats`: the stats of the queue the requests went to (`ai.<provider>`).
 * - `rateLimit`: the caller's remaining budget, when the server sent `x-ratelimit-*` headers.
 * - `isLoading`: a submission is in flight; `hasActive`: some request is not finished yet.
 *
 * @example
 * const { submit, requests, stats, isLoading, hasActive } = useGatewayRequests()
 * await submit({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
 * requests.map((r) => `${r.status} ${r.position ?? ''} ${r.result?.choices?.[0]?.message.content ?? ''}`)
 */
export function useGatewayRequests<R = unknown>(
  options: LiveOptions & {
    /** Read positions and stats again at least this often while a request is active, in ms (default 2 000). */
    intervalMs?: number
  } = {},
) {
  const client = useSpoolClient(options.client)
  const { retryMs, intervalMs = 2_000 } = options
  const [requests, setRequests] = useState<GatewayRequest<R>[]>([])
  const [stats, setStats] = useState<Stats | null>(null)
  const [rateLimit, setRateLimit] = useState<AiRateBudget | null>(null)
  const [submitting, setSubmitting] = useState(0)
  const [queue, setQueue] = useState<string | null>(null)
  const latest = useRef(requests)
  latest.current = requests

  const update = useCallback((id: string, change: Partial<GatewayRequest<R>>) => {
    setRequests((list) => list.map((request) => (request.id === id ? { ...request, ...change } : request)))
  }, [])

  /** Reads one request's job (and its place in line while it waits). */
  const refresh = useCallback(
    async (id: string) => {
      const job = await client.jobs.get<unknown, { body?: R }>(id)
      setQueue((current) => current ?? job.queue)
      const waiting = job.state === 'waiting' || job.state === 'scheduled'
      const place = waiting ? await client.jobs.position(id).catch(() => null) : null
      update(id, {
        status: job.state,
        position: waiting ? (place?.position ?? null) : null,
        estimatedWaitMs: waiting ? (place?.estimatedWaitMs ?? null) : null,
        result: job.state === 'completed' ? (job.result?.body ?? null) : null,
        error: job.state === 'failed' ? (job.errors.at(-1)?.message ?? 'failed') : null,
      })
    },
    [client, update],
  )

  const submit = useCallback(
    async (
      body: Record<string, unknown> & { model: string },
      submitOptions: { endpoint?: 'chat' | 'embeddings'; priority?: string | number; idempotencyKey?: string } = {},
    ): Promise<string | null> => {
      const draft: GatewayRequest<R> = {
        id: null,
        status: 'submitting',
        position: null,
        estimatedWaitMs: null,
        result: null,
        error: null,
        body,
        submittedAt: Date.now(),
      }
      setRequests((list) => [...list, draft])
      setSubmitting((n) => n + 1)
      const { endpoint = 'chat', ...rest } = submitOptions
      try {
        const queued = await client.ai.submit(endpoint, body, rest)
        if (queued.rateLimit) setRateLimit(queued.rateLimit)
        setRequests((list) =>
          list.map((request) =>
            request === draft
              ? {
                  ...request,
                  id: queued.id,
                  status: queued.state as JobState,
                  position: queued.position,
                  estimatedWaitMs: queued.estimatedWaitMs,
                }
              : request,
          ),
        )
        void refresh(queued.id).catch(() => {})
        return queued.id
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        setRequests((list) =>
          list.map((request) => (request === draft ? { ...request, status: 'rejected', error: message } : request)),
        )
        return null
      } finally {
        setSubmitting((n) => n - 1)
      }
    },
    [client, refresh],
  )

  const hasActive = requests.some((request) => !FINAL.has(request.status))

  // Live: every event of a tracked request re-reads it; while any is active, positions and
  // stats are read again every `intervalMs` (a place in line moves without events of its own).
  useEffect(() => {
    const subscription = client.events.subscribe(
      {},
      (event) => {
        const id = event.jobId
        if (id !== null && latest.current.some((request) => request.id === id)) void refresh(id).catch(() => {})
      },
      { ...(retryMs !== undefined && { retryMs }) },
    )
    return () => subscription.close()
  }, [client, refresh, retryMs])

  useEffect(() => {
    if (!hasActive && queue === null) return
    let stopped = false
    const tick = () => {
      for (const request of latest.current) {
        if (request.id !== null && !FINAL.has(request.status)) void refresh(request.id).catch(() => {})
      }
      if (queue !== null) {
        client.queues.stats(queue).then(
          (value) => {
            if (!stopped) setStats(value)
          },
          () => {},
        )
      }
    }
    tick()
    if (!hasActive) return
    const timer = setInterval(tick, intervalMs)
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }, [client, refresh, hasActive, queue, intervalMs])

  return { submit, requests, stats, rateLimit, isLoading: submitting > 0, hasActive }
}
