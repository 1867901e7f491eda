/**
 * `spool/client`: a typed HTTP client for the Spool API, for browsers and Node (anything with
 * `fetch`). It imports nothing server-side.
 *
 * @example
 * import { createClient } from 'spool/client'
 * const spool = createClient({ baseUrl: 'http://127.0.0.1:7700', apiKey: process.env.SPOOL_KEY })
 * const { id } = await spool.jobs.create('transcribe', { file: 'a.wav' }, { priority: 'urgent' })
 * const sub = spool.events.subscribe({ jobId: id }, (event) => console.log(event.type, event.data))
 */
import { type EventSubscription, subscribeSse } from './sse.js'
import type {
  AiProviderView,
  AiSubmitted,
  Alert,
  ApiKey,
  AttemptError,
  AuditEntry,
  Breaker,
  BreakerChange,
  BulkResult,
  ChildJob,
  ClaimedJob,
  EnqueueOptions,
  EnqueueResult,
  FlowJob,
  FlowNode,
  Job,
  JobCounts,
  JobFilter,
  JobOrder,
  JobPage,
  JobState,
  JobStatus,
  ParentJob,
  Priority,
  Problem,
  Queue,
  QueueLimits,
  RetryFailedResult,
  Schedule,
  ScheduleRun,
  Scope,
  Session,
  SessionCreated,
  SessionMetadata,
  SessionStatus,
  SessionSummary,
  SpoolEvent,
  Stats,
  Webhook,
  WorkerInfo,
  WorkflowDefinition,
  WorkflowRun,
  WorkflowRunHistory,
  WorkflowTemplate,
} from './types.js'

export type { EventSubscription } from './sse.js'
export type * from './types.js'

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:7700` */
  baseUrl: string
  /** An API key (`spool_…`). */
  apiKey?: string
  /** Or a JWT, or a function returning a fresh one. */
  token?: string | (() => string | Promise<string>)
  /** Act in this tenant (admins only). */
  tenant?: string
  /** Defaults to the global fetch. */
  fetch?: typeof fetch
}

/** An error answer from the API, with its problem details. */
export class SpoolApiError extends Error {
  override readonly name = 'SpoolApiError'
  readonly status: number
  readonly code: string
  readonly field: string | undefined
  /** Seconds, from Retry-After, when the server said when to try again. */
  readonly retryAfter: number | undefined

  constructor(
    readonly problem: Problem,
    retryAfter: string | null,
  ) {
    super(`${problem.detail} (${problem.code})`)
    this.status = problem.status
    this.code = problem.code
    this.field = problem.field
    this.retryAfter = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined
  }
}

type Query = Record<string, string | number | boolean | undefined>

/** The part of XMLHttpRequest the upload uses (this package compiles without the DOM library). */
interface MinimalXhr {
  open(method: string, url: string): void
  setRequestHeader(name: string, value: string): void
  upload: { onprogress: ((event: { loaded: number; total: number; lengthComputable: boolean }) => void) | null }
  onerror: (() => void) | null
  onabort: (() => void) | null
  onload: (() => void) | null
  status: number
  statusText: string
  responseText: string
  getResponseHeader(name: string): string | null
  abort(): void
  send(body: FormData): void
}

function asProblem(body: unknown, status: number, statusText: string, text: string): Problem {
  if (body && typeof body === 'object' && 'code' in body) return body as Problem
  return { type: 'about:blank', title: statusText, status, code: 'SPOOL_HTTP_ERROR', detail: text.slice(0, 500) }
}

async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return asProblem(body, response.status, response.statusText, text)
}

/**
 * @example
 * const client = createClient({ baseUrl: 'http://127.0.0.1:7700', apiKey })
 * const page = await client.jobs.list({ state: 'failed', limit: 50 })
 */
export function createClient(options: ClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)

  async function headers(): Promise<Record<string, string>> {
    const out: Record<string, string> = {}
    const credential = options.apiKey ?? (typeof options.token === 'function' ? await options.token() : options.token)
    if (credential) out.authorization = `Bearer ${credential}`
    if (options.tenant) out['spool-tenant'] = options.tenant
    return out
  }

  function url(path: string, query?: Query): string {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value))
    const text = params.toString()
    return `${baseUrl}${path}${text ? `?${text}` : ''}`
  }

  async function call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const init: RequestInit = { method, headers: await headers() }
    if (body !== undefined) {
      init.body = JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] = 'application/json'
    }
    const response = await doFetch(url(path, query), init)
    if (response.status === 204) return undefined as T
    const text = await response.text()
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
          detail: text.slice(0, 500),
        }
      }
      throw new SpoolApiError(problem, response.headers.get('retry-after'))
    }
    const type = response.headers.get('content-type') ?? ''
    return (type.includes('json') ? JSON.parse(text) : text) as T
  }

  const enc = encodeURIComponent

  return {
    queues: {
      list: () => call<{ queues: Queue[] }>('GET', '/v1/queues').then((r) => r.queues),
      get: (name: string) => call<Queue>('GET', `/v1/queues/${enc(name)}`),
      configure: (name: string, config: Record<string, unknown>) =>
        call<Queue>('PUT', `/v1/queues/${enc(name)}`, config),
      pause: (name: string) => call<Queue>('POST', `/v1/queues/${enc(name)}/pause`),
      resume: (name: string) => call<Queue>('POST', `/v1/queues/${enc(name)}/resume`),
      stats: (name: string) => call<Stats>('GET', `/v1/queues/${enc(name)}/stats`),
      limits: (name: string) => call<QueueLimits>('GET', `/v1/queues/${enc(name)}/limits`),
      resetLimits: (name: string) => call<QueueLimits>('POST', `/v1/queues/${enc(name)}/limits/reset`),
      cleanup: (name: string, cleanupOptions: { dryRun?: boolean } = {}) =>
        call<{
          dryRun: boolean
          removed: { completed: number; failed: number; cancelled: number }
          sampleIds: string[]
        }>('POST', `/v1/queues/${enc(name)}/cleanup`, cleanupOptions),
      /** Retries every failed job of this tenant on the queue (at most `max`, default 10 000); `dryRun` only counts. */
      retryFailed: (name: string, retryOptions: { dryRun?: boolean; max?: number } = {}) =>
        call<RetryFailedResult>('POST', `/v1/queues/${enc(name)}/retry-failed`, retryOptions),
    },
    jobs: {
      create: <P>(queue: string, payload: P, jobOptions?: EnqueueOptions) =>
        call<EnqueueResult>('POST', `/v1/queues/${enc(queue)}/jobs`, {
          payload,
          ...(jobOptions && { options: jobOptions }),
        }),
      createMany: <P>(queue: string, jobs: { payload: P; options?: EnqueueOptions }[]) =>
        call<{ jobs: EnqueueResult[] }>('POST', `/v1/queues/${enc(queue)}/jobs/bulk`, { jobs }).then((r) => r.jobs),
      get: <P = unknown, R = unknown>(id: string) => call<Job<P, R>>('GET', `/v1/jobs/${enc(id)}`),
      status: (id: string) => call<JobStatus>('GET', `/v1/jobs/${enc(id)}/status`),
      position: (id: string) =>
        call<{ position: number | null; estimatedWaitMs: number | null }>('GET', `/v1/jobs/${enc(id)}/position`),
      history: (id: string, query: { afterId?: number; limit?: number } = {}) =>
        call<{ events: SpoolEvent[] }>('GET', `/v1/jobs/${enc(id)}/events`, undefined, query).then((r) => r.events),
      list: (filter: JobFilter & JobOrder & { cursor?: string; limit?: number } = {}) =>
        call<JobPage>('GET', '/v1/jobs', undefined, filter as Query),
      /** Jobs by state matching the filter (with `state`, only that state), each counted up to a cap. */
      counts: (filter: JobFilter = {}) => call<JobCounts>('GET', '/v1/jobs/counts', undefined, filter as Query),
      /** The address of the export of the jobs matching the filter (fetch it with this client's credential: `export`). */
      exportUrl: (format: 'jsonl' | 'csv', filter: JobFilter & JobOrder = {}) =>
        url('/v1/jobs/export', { format, ...(filter as Query) }),
      /**
       * The jobs matching the filter as JSON Lines or CSV: the answer, to read as it streams
       * (`response.body`) or whole (`response.blob()`).
       *
       * @example
       * const response = await client.jobs.export('csv', { state: 'failed' })
       * for await (const chunk of response.body) process.stdout.write(chunk)
       */
      export: async (format: 'jsonl' | 'csv', filter: JobFilter & JobOrder = {}): Promise<Response> => {
        const response = await doFetch(url('/v1/jobs/export', { format, ...(filter as Query) }), {
          headers: await headers(),
        })
        if (!response.ok) throw new SpoolApiError(await problemOf(response), response.headers.get('retry-after'))
        return response
      },
      setPriority: (id: string, priority: Priority) => call<Job>('PATCH', `/v1/jobs/${enc(id)}`, { priority }),
      retry: (id: string) => call<Job>('POST', `/v1/jobs/${enc(id)}/retry`),
      cancel: (id: string) => call<Job>('POST', `/v1/jobs/${enc(id)}/cancel`),
      promote: (id: string) => call<Job>('POST', `/v1/jobs/${enc(id)}/promote`),
      remove: (id: string) => call<void>('DELETE', `/v1/jobs/${enc(id)}`),
      /** Every failed attempt with its stack (needs the manage permission). */
      errors: (id: string) =>
        call<{ errors: AttemptError[] }>('GET', `/v1/jobs/${enc(id)}/errors`).then((r) => r.errors),
      /** The jobs this one waits for (its flow children or dependsOn). */
      children: (id: string) =>
        call<{ children: ChildJob[] }>('GET', `/v1/jobs/${enc(id)}/children`).then((r) => r.children),
      /** The jobs that wait for this one (its flow parents, or jobs that named it in dependsOn). */
      parents: (id: string) =>
        call<{ parents: ParentJob[] }>('GET', `/v1/jobs/${enc(id)}/parents`).then((r) => r.parents),
      bulk: (
        action: BulkResult['action'],
        selection: { ids: string[] } | { filter: JobFilter },
        extra: { priority?: Priority; dryRun?: boolean; max?: number } = {},
      ) => call<BulkResult>('POST', '/v1/jobs/actions', { action, ...selection, ...extra }),
    },
    flows: {
      /** Enqueues a tree of jobs at once, all or nothing: children run first, the parent waits blocked. */
      create: <P>(flow: FlowNode<P>) => call<FlowJob>('POST', '/v1/flows', flow),
    },
    events: {
      /**
       * Live events of the tenant, a queue or a job; resumes by itself after a dropped
       * connection or a server restart.
       */
      subscribe(
        filter: { queue?: string; jobId?: string },
        onEvent: (event: SpoolEvent) => void,
        streamOptions: {
          lastEventId?: number
          onError?: (error: unknown) => void
          onOpen?: () => void
          retryMs?: number
        } = {},
      ): EventSubscription {
        return subscribeSse({
          url: url('/v1/events/stream', filter),
          headers,
          fetch: doFetch,
          onEvent,
          ...streamOptions,
        })
      },
    },
    workers: {
      list: () => call<{ workers: WorkerInfo[] }>('GET', '/v1/workers').then((r) => r.workers),
      claim: <P = unknown>(
        queue: string,
        claim: { workerId: string; limit?: number; leaseMs?: number; waitMs?: number },
      ) => call<{ jobs: ClaimedJob<P>[] }>('POST', `/v1/queues/${enc(queue)}/claim`, claim).then((r) => r.jobs),
      heartbeat: (id: string, leaseToken: number) =>
        call<{ ok: true; leaseExpiresAt?: string | null }>('POST', `/v1/jobs/${enc(id)}/heartbeat`, { leaseToken }),
      progress: (id: string, leaseToken: number, percent: number, stage?: string) =>
        call<{ ok: true }>('POST', `/v1/jobs/${enc(id)}/progress`, {
          leaseToken,
          percent,
          ...(stage !== undefined && { stage }),
        }),
      log: (id: string, leaseToken: number, message: string, level: 'debug' | 'info' | 'warn' | 'error' = 'info') =>
        call<{ ok: true }>('POST', `/v1/jobs/${enc(id)}/log`, { leaseToken, level, message }),
      complete: (id: string, leaseToken: number, result?: unknown) =>
        call<{ ok: true }>('POST', `/v1/jobs/${enc(id)}/complete`, {
          leaseToken,
          ...(result !== undefined && { result }),
        }),
      fail: (
        id: string,
        leaseToken: number,
        failure: { message: string; code?: string; retryable?: boolean; retryAfterMs?: number },
      ) => call<{ ok: true; state?: JobState }>('POST', `/v1/jobs/${enc(id)}/fail`, { leaseToken, ...failure }),
    },
    schedules: {
      list: () => call<{ schedules: Schedule[] }>('GET', '/v1/schedules').then((r) => r.schedules),
      get: (name: string) => call<Schedule>('GET', `/v1/schedules/${enc(name)}`),
      /** The schedule's next `count` (1–1000, default 5) run times, ISO strings, earliest first. */
      preview: (name: string, count?: number) =>
        call<{ name: string; cron: string; timezone: string; paused: boolean; runs: string[] }>(
          'GET',
          `/v1/schedules/${enc(name)}/preview`,
          undefined,
          count === undefined ? {} : { count },
        ),
      upsert: (
        name: string,
        schedule: {
          cron: string
          queue: string
          timezone?: string
          payload?: unknown
          options?: EnqueueOptions
          catchUp?: Schedule['catchUp']
          paused?: boolean
        },
      ) => call<Schedule>('PUT', `/v1/schedules/${enc(name)}`, schedule),
      pause: (name: string) => call<Schedule>('POST', `/v1/schedules/${enc(name)}/pause`),
      resume: (name: string) => call<Schedule>('POST', `/v1/schedules/${enc(name)}/resume`),
      /** Enqueues one job of the schedule now; its next and last run stay as they are. */
      run: (name: string) => call<ScheduleRun>('POST', `/v1/schedules/${enc(name)}/run`),
      remove: (name: string) => call<void>('DELETE', `/v1/schedules/${enc(name)}`),
    },
    workflows: {
      list: () => call<{ workflows: WorkflowTemplate[] }>('GET', '/v1/workflows').then((r) => r.workflows),
      get: (name: string, version?: number) =>
        call<WorkflowTemplate>(
          'GET',
          `/v1/workflows/${enc(name)}${version === undefined ? '' : `?version=${version}`}`,
        ),
      /** Saves a template; a changed definition becomes a new version (`created: false` when unchanged). */
      define: (name: string, definition: WorkflowDefinition) =>
        call<WorkflowTemplate & { created: boolean }>('PUT', `/v1/workflows/${enc(name)}`, definition),
      remove: (name: string) => call<void>('DELETE', `/v1/workflows/${enc(name)}`),
      /** Starts a run with these params (of the latest version, or `version`). */
      start: (name: string, params: unknown = {}, options: { version?: number } = {}) =>
        call<{ id: string; name: string; version: number }>('POST', `/v1/workflows/${enc(name)}/runs`, {
          params,
          ...options,
        }),
      /** A template's runs, newest first, with success rate and duration percentiles. */
      runs: (name: string, query: { limit?: number } = {}) =>
        call<WorkflowRunHistory>(
          'GET',
          `/v1/workflows/${enc(name)}/runs${query.limit === undefined ? '' : `?limit=${query.limit}`}`,
        ),
      run: (id: string) => call<WorkflowRun>('GET', `/v1/workflow-runs/${enc(id)}`),
      cancel: (id: string) => call<WorkflowRun>('POST', `/v1/workflow-runs/${enc(id)}/cancel`),
      /** Retries a failed or cancelled run from its failed steps only. */
      retry: (id: string) => call<WorkflowRun>('POST', `/v1/workflow-runs/${enc(id)}/retry`),
    },
    breakers: {
      list: () => call<{ breakers: Breaker[] }>('GET', '/v1/breakers').then((r) => r.breakers),
      open: (name: string) => call<Breaker>('POST', `/v1/breakers/${enc(name)}/open`),
      close: (name: string) => call<Breaker>('POST', `/v1/breakers/${enc(name)}/close`),
      reset: (name: string) => call<Breaker>('POST', `/v1/breakers/${enc(name)}/reset`),
      /** Its state changes, newest first; page with `beforeId` (the last id of a page). */
      history: (name: string, query: { beforeId?: number; limit?: number } = {}) =>
        call<{ changes: BreakerChange[] }>('GET', `/v1/breakers/${enc(name)}/history`, undefined, query).then(
          (r) => r.changes,
        ),
    },
    sessions: {
      /** Whether this server has the audio sessions API (a 404 from its list means it has not). */
      available: () =>
        call<unknown>('GET', '/v1/sessions', undefined, { limit: 1 }).then(
          () => true,
          (error: unknown) => {
            if (error instanceof SpoolApiError && error.status === 404 && error.code === 'SPOOL_NOT_FOUND') return false
            throw error
          },
        ),
      list: (query: { status?: SessionStatus; cursor?: string; limit?: number } = {}) =>
        call<{ sessions: SessionSummary[]; nextCursor: string | null }>('GET', '/v1/sessions', undefined, query),
      get: (id: string) => call<Session>('GET', `/v1/sessions/${enc(id)}`),
      transcript: (id: string, format: 'json' | 'txt' | 'srt' | 'vtt' = 'json') =>
        call<unknown>('GET', `/v1/sessions/${enc(id)}/transcript`, undefined, { format }),
      /** An address to fetch a file of the session with this client's credential (see `download`). */
      url: (id: string, part: string, query?: Query) => url(`/v1/sessions/${enc(id)}/${part}`, query),
      /** A file of the session (audio, a transcript format) as a Blob, fetched with the credential. */
      download: async (id: string, part: string, query?: Query): Promise<Blob> => {
        const response = await doFetch(url(`/v1/sessions/${enc(id)}/${part}`, query), { headers: await headers() })
        if (!response.ok) throw new SpoolApiError(await problemOf(response), response.headers.get('retry-after'))
        return response.blob()
      },
      setPriority: (id: string, priority: Priority) =>
        call<SessionSummary>('PATCH', `/v1/sessions/${enc(id)}`, { priority }),
      retry: (id: string) => call<SessionSummary>('POST', `/v1/sessions/${enc(id)}/retry`),
      remove: (id: string) => call<void>('DELETE', `/v1/sessions/${enc(id)}`),
      /**
       * Uploads a recording (multipart: `file` and `metadata` as JSON). In a browser,
       * `onProgress` is told the bytes sent as they go (XMLHttpRequest; fetch cannot report upload progress).
       */
      upload: async (
        file: Blob & { name?: string },
        metadata: SessionMetadata,
        uploadOptions: { onProgress?: (sent: number, total: number) => void; signal?: AbortSignal } = {},
      ): Promise<SessionCreated> => {
        const form = new FormData()
        form.append('metadata', JSON.stringify(metadata))
        form.append('file', file, file.name ?? 'recording')
        const auth = await headers()
        const target = url('/v1/sessions')
        const { onProgress, signal } = uploadOptions
        const Xhr = (globalThis as { XMLHttpRequest?: new () => MinimalXhr }).XMLHttpRequest
        if (onProgress && Xhr) {
          return new Promise((resolve, reject) => {
            const xhr = new Xhr()
            xhr.open('POST', target)
            for (const [name, value] of Object.entries(auth)) xhr.setRequestHeader(name, value)
            xhr.upload.onprogress = (event: { loaded: number; total: number; lengthComputable: boolean }) =>
              onProgress(event.loaded, event.lengthComputable ? event.total : file.size)
            xhr.onerror = () => reject(new Error('the upload failed (network)'))
            xhr.onabort = () => reject(new DOMException('the upload was cancelled', 'AbortError'))
            xhr.onload = () => {
              let body: unknown
              try {
                body = JSON.parse(xhr.responseText)
              } catch {
                body = undefined
              }
              if (xhr.status >= 200 && xhr.status < 300) resolve(body as SessionCreated)
              else
                reject(
                  new SpoolApiError(
                    asProblem(body, xhr.status, xhr.statusText, xhr.responseText),
                    xhr.getResponseHeader('retry-after'),
                  ),
                )
            }
            signal?.addEventListener('abort', () => xhr.abort())
            xhr.send(form)
          })
        }
        const response = await doFetch(target, { method: 'POST', headers: auth, body: form, ...(signal && { signal }) })
        if (!response.ok) throw new SpoolApiError(await problemOf(response), response.headers.get('retry-after'))
        return (await response.json()) as SessionCreated
      },
      /** Live events of one session (its progress, stage and status). */
      subscribe(
        id: string,
        onEvent: (event: SpoolEvent) => void,
        streamOptions: { onError?: (error: unknown) => void; onOpen?: () => void; retryMs?: number } = {},
      ): EventSubscription {
        return subscribeSse({
          url: url(`/v1/sessions/${enc(id)}/events`),
          headers,
          fetch: doFetch,
          onEvent,
          ...streamOptions,
        })
      },
    },
    keys: {
      create: (name: string, scopes: Scope[]) => call<ApiKey & { token: string }>('POST', '/v1/keys', { name, scopes }),
      list: () => call<{ keys: ApiKey[] }>('GET', '/v1/keys').then((r) => r.keys),
      revoke: (id: string) => call<ApiKey>('DELETE', `/v1/keys/${enc(id)}`),
    },
    audit: {
      /** Oldest first, or newest first with `order: 'desc'` (page back with `beforeSeq: nextBeforeSeq`). */
      list: (
        query: {
          order?: 'asc' | 'desc'
          afterSeq?: number
          beforeSeq?: number
          limit?: number
          action?: string
          actor?: string
        } = {},
      ) =>
        call<{ entries: AuditEntry[]; nextAfterSeq: number; nextBeforeSeq: number | null }>(
          'GET',
          '/v1/audit',
          undefined,
          query,
        ),
    },
    webhooks: {
      create: (hook: { url: string; events: string[]; description?: string }) =>
        call<Webhook & { secret: string }>('POST', '/v1/webhooks', hook),
      list: () => call<{ webhooks: Webhook[] }>('GET', '/v1/webhooks').then((r) => r.webhooks),
      remove: (id: string) => call<void>('DELETE', `/v1/webhooks/${enc(id)}`),
    },
    alerts: {
      create: (alert: {
        kind: Alert['kind']
        queue?: string
        breaker?: string
        threshold: number
        cooldownMs?: number
      }) => call<Alert>('POST', '/v1/alerts', alert),
      list: () => call<{ alerts: Alert[] }>('GET', '/v1/alerts').then((r) => r.alerts),
      remove: (id: string) => call<void>('DELETE', `/v1/alerts/${enc(id)}`),
    },
    stats: () => call<Stats>('GET', '/v1/stats'),
    /** The caller: tenant and scopes (to show only what it may do). */
    me: () =>
      call<{
        kind: 'key' | 'jwt'
        id: string
        user: string | null
        tenant: string
        scopes: Scope[]
        /** An admin of this tenant may change what every tenant shares (queues, breakers). */
        operator: boolean
      }>('GET', '/v1/me'),
    ai: {
      /**
       * Queues a gateway request without waiting for it (`Prefer: respond-async`): its job id,
       * place in line and ETA, and the caller's remaining rate budget when the server sends
       * OpenAI's `x-ratelimit-*` headers. Errors (OpenAI-shaped on these routes) throw `SpoolApiError`.
       *
       * @example
       * const { id, position } = await client.ai.submit('chat', { model: 'gpt-4o-mini', messages })
       */
      submit: async (
        endpoint: 'chat' | 'embeddings',
        body: Record<string, unknown> & { model: string },
        submitOptions: { priority?: string | number; idempotencyKey?: string } = {},
      ): Promise<AiSubmitted> => {
        const init: RequestInit = {
          method: 'POST',
          headers: {
            ...(await headers()),
            'content-type': 'application/json',
            prefer: 'respond-async',
            ...(submitOptions.priority !== undefined && { 'spool-priority': String(submitOptions.priority) }),
            ...(submitOptions.idempotencyKey !== undefined && { 'idempotency-key': submitOptions.idempotencyKey }),
          },
          body: JSON.stringify(body),
        }
        const path = endpoint === 'chat' ? '/v1/chat/completions' : '/v1/embeddings'
        const response = await doFetch(url(path), init)
        const text = await response.text()
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = undefined
        }
        if (response.status !== 202) {
          const error = (parsed as { error?: { message?: string; code?: string | null; param?: string | null } })?.error
          const problem: Problem = error
            ? {
                type: 'about:blank',
                title: response.statusText,
                status: response.status,
                code: error.code ?? 'SPOOL_HTTP_ERROR',
                detail: error.message ?? text.slice(0, 500),
                ...(error.param ? { field: error.param } : {}),
              }
            : asProblem(parsed, response.status, response.statusText, text)
          throw new SpoolApiError(problem, response.headers.get('retry-after'))
        }
        const answer = parsed as { id: string; status: string; position: number | null; estimatedWaitMs: number | null }
        const number = (name: string) => {
          const value = response.headers.get(name)
          return value === null || value.trim() === '' || !Number.isFinite(Number(value)) ? null : Number(value)
        }
        const remainingRequests = number('x-ratelimit-remaining-requests')
        const remainingTokens = number('x-ratelimit-remaining-tokens')
        return {
          id: answer.id,
          state: answer.status,
          position: answer.position ?? null,
          estimatedWaitMs: answer.estimatedWaitMs ?? null,
          rateLimit:
            remainingRequests === null && remainingTokens === null
              ? null
              : {
                  remainingRequests,
                  remainingTokens,
                  resetRequests: response.headers.get('x-ratelimit-reset-requests'),
                  resetTokens: response.headers.get('x-ratelimit-reset-tokens'),
                },
        }
      },
      /** The gateway's providers: limits, traffic, 429s/5xx, breaker, quota, queue, latency, cost (operators only). */
      providers: () => call<{ scope: 'process'; providers: AiProviderView[] }>('GET', '/v1/ai/providers'),
    },
    health: {
      live: () => call<{ status: 'ok' }>('GET', '/livez'),
      ready: () => call<{ status: 'ready'; checks: Record<string, string> }>('GET', '/readyz'),
    },
  }
}

export type SpoolClient = ReturnType<typeof createClient>
