/**
 * The AI gateway's OpenAI-compatible routes (docs/ai-gateway.md): `POST /v1/chat/completions`,
 * `POST /v1/embeddings`, `GET /v1/models`. An app keeps its `openai` SDK and points `baseURL`
 * at Spool with a Spool API key; each request becomes a job on its provider's queue
 * (src/ai/gateway.ts) and the answer waits for it:
 *
 * - sync (default): up to min(`Prefer: wait=N`, `X-Stainless-Timeout` − 2 s,
 *   gateway.maxWaitSeconds); past it 504 with `Spool-Job-Id` and `x-should-retry: false` (the job
 *   goes on; its result is at /v1/jobs/:id);
 * - async: `Prefer: respond-async` → 202 `{ id, position, estimatedWaitMs }`;
 * - stream (`stream: true`): SSE, the upstream's events passed on as they come; headers wait up
 *   to gateway.streamHoldMs for the first event (so an early refusal is still an HTTP error),
 *   then `: spool queued position=N eta_ms=M` comments flow while the job waits.
 *
 * Every answer carries `Spool-Job-Id` and `Spool-Queue-Wait-Ms`; errors are OpenAI-shaped
 * (`{"error":{message,type,code,param}}`); Spool's own refusals are problem+json with that `error`
 * beside the problem fields (the route option `errorShape: 'openai'`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { type AiJob, type Answer, answerFor, jobHeaders, waitForJob } from '../../ai/answer.js'
import { cacheGet, cacheKey, MAX_CACHE_TTL_SECONDS, parseCacheHeader } from '../../ai/cache.js'
import { AiError, openAiError, openAiErrorBody } from '../../ai/errors.js'
import { type Endpoint, Gateway, gatewayFor, type Submission } from '../../ai/gateway.js'
import { toGeminiError } from '../../ai/gemini.js'
import type { ServerContext } from '../context.js'
import { Reply, route, STREAMING } from '../route.js'
import * as s from '../schemas.js'
import { jobInTenant } from './common.js'
import { callerTrace, userOf } from './jobs.js'

/** The gateway of this server's Spool, from its settings (`providers`, `gateway`). */
export function gatewayOf(app: ServerContext): Gateway {
  return gatewayFor(app.spool, { providers: app.config.providers, gateway: app.config.gateway })
}

const model = z.string().min(1).max(256)
const spoolFields = { priority: s.priority.optional().describe('Spool: the request’s priority (or `Spool-Priority`)') }

const chatBody = z.looseObject({
  model,
  messages: z.array(z.looseObject({ role: z.string().min(1).max(64) })).min(1),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  n: z.number().int().min(1).max(128).optional(),
  ...spoolFields,
})

const embeddingsBody = z.looseObject({
  model,
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
  ...spoolFields,
})

const SHAPE = { errorShape: 'openai' as const }

export const aiRoutes = [
  route({
    id: 'ai.chatCompletions',
    method: 'POST',
    url: '/v1/chat/completions',
    tag: 'ai',
    summary: 'OpenAI-compatible chat completion, queued on its provider',
    description:
      'The OpenAI request as it is (any field passes through to the provider), plus Spool’s `priority`. Routed by `model` to the provider serving it. Sync by default (see `Prefer`), `Prefer: respond-async` answers 202 with the job, `stream: true` answers SSE. Headers: `Prefer: wait=N` / `respond-async`, `Spool-Priority`, `Idempotency-Key` (a retry re-attaches to its job, never a second upstream call), `Spool-Cache: ttl=<seconds>` (an identical request of the tenant within the TTL is answered from the cache, `Spool-Cache: hit`; identical requests in flight share one upstream call).',
    permission: 'produce',
    body: chatBody,
    errors: [202, 404, 409, 429, 502, 504],
    bodyLimit: 16 * 1024 * 1024,
    ...SHAPE,
    handler: (ctx) => serve(ctx, 'chat'),
  }),
  route({
    id: 'ai.embeddings',
    method: 'POST',
    url: '/v1/embeddings',
    tag: 'ai',
    summary: 'OpenAI-compatible embeddings, queued on their provider',
    description: 'As /v1/chat/completions, without streaming.',
    permission: 'produce',
    body: embeddingsBody,
    errors: [202, 404, 409, 429, 502, 504],
    bodyLimit: 16 * 1024 * 1024,
    ...SHAPE,
    handler: (ctx) => serve(ctx, 'embeddings'),
  }),
  route({
    id: 'ai.jobStream',
    method: 'GET',
    url: '/v1/jobs/:id/stream',
    tag: 'ai',
    summary: 'Re-attach to a streamed gateway request',
    description:
      'The request’s SSE stream again, for a client that lost it: every event so far, then live, then `data: [DONE]` (or an in-band error). Each event’s `id` is its number; with `Last-Event-ID` the stream resumes after that event. 404 for a job that is not a streamed request of this tenant.',
    permission: 'read',
    params: z.strictObject({ id: s.jobId }),
    query: z.strictObject({ access_token: z.string().max(4096).optional(), tenant: s.tenantName.optional() }),
    stream: true,
    errors: [404],
    ...SHAPE,
    async handler({ app, request, reply, params, tenant }) {
      const job = await jobInTenant(app, params.id, tenant)
      if (job.metadata.stream !== true || !job.queue.startsWith('ai.')) {
        throw new AiError('SPOOL_NOT_A_STREAM', `request ${params.id} is not a streamed request`, { field: 'id' })
      }
      const header = request.headers['last-event-id']
      const last = typeof header === 'string' && /^\d{1,9}$/.test(header.trim()) ? Number(header.trim()) : 0
      const gateway = gatewayOf(app)
      const waitMs = waitBudget(undefined, request.headers['x-stainless-timeout'], gateway.settings.maxWaitSeconds)
      streamAnswer({ app, request, reply }, gateway, params.id, waitMs, last)
      return STREAMING
    },
  }),
  route({
    id: 'ai.models',
    method: 'GET',
    url: '/v1/models',
    tag: 'ai',
    summary: 'The models this gateway serves (OpenAI’s list shape)',
    permission: 'read',
    response: z.object({
      object: z.literal('list'),
      data: z.array(
        z.object({ id: z.string(), object: z.literal('model'), created: z.number(), owned_by: z.string() }),
      ),
    }),
    ...SHAPE,
    async handler({ app }) {
      const data = gatewayOf(app)
        .models()
        .map((m) => ({ id: m.id, object: 'model' as const, created: 0, owned_by: m.provider }))
      return { object: 'list' as const, data }
    },
  }),
]

interface StreamContext {
  app: ServerContext
  request: FastifyRequest
  reply: FastifyReply
}

export interface ServeContext {
  body: Record<string, unknown> & {
    model: string
    stream?: boolean | undefined
    priority?: s.PriorityInput | undefined
  }
  app: ServerContext
  request: FastifyRequest
  reply: FastifyReply
  tenant: string
  principal: Parameters<typeof userOf>[0]
  audit: { target?: string | null }
}

/** The shape of a route's answers: OpenAI's, or Gemini's (errors, stream framing). */
export type Format = 'openai' | 'gemini'

/**
 * Serves one gateway request: enqueues it on its provider's queue and answers sync, async or as
 * a stream. With `format: 'gemini'` the errors are Gemini-shaped (`{error:{code,message,status}}`).
 */
export async function serve(ctx: ServeContext, endpoint: Endpoint, format: Format = 'openai'): Promise<unknown> {
  const result = await serveRequest(ctx, endpoint, format)
  if (format === 'gemini' && result instanceof Reply && result.status >= 400) {
    return new Reply(result.status, toGeminiError(result.status, result.body), result.headers)
  }
  return result
}

async function serveRequest(ctx: ServeContext, endpoint: Endpoint, format: Format): Promise<unknown> {
  const { app, request, tenant, body } = ctx
  const gateway = gatewayOf(app)
  const { priority: bodyPriority, ...upstreamBody } = body
  const headers = request.headers
  // `??` would let a malformed header (null) fall through to the body's priority: refuse it first.
  const fromHeader = headerPriority(headers['spool-priority'])
  if (fromHeader === null) {
    throw new AiError(
      'SPOOL_INVALID_PRIORITY',
      'Spool-Priority must be urgent, high, normal, low or an integer from -1000 to 1000',
      { field: 'spool-priority' },
    )
  }
  const priority = fromHeader ?? bodyPriority
  const provider = await gateway.route(body.model)
  // Gemini's native routes reach `gemini` providers only, the OpenAI-compatible ones the others.
  if (provider === null || (endpoint === 'gemini') !== (gateway.providers[provider]?.kind === 'gemini')) {
    throw new AiError(
      'AI_MODEL_NOT_FOUND',
      `The model \`${body.model}\` does not exist or is not served by this gateway`,
      { field: 'model' },
    )
  }
  const idempotency = headers['idempotency-key']
  if (
    idempotency !== undefined &&
    (typeof idempotency !== 'string' || idempotency.length < 1 || idempotency.length > 255)
  ) {
    throw new AiError('SPOOL_INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 255 characters, given once', {
      field: 'idempotency-key',
    })
  }
  const prefer = parsePrefer(headers.prefer)
  const stream = endpoint !== 'embeddings' && body.stream === true
  const ttl = parseCacheHeader(headers['spool-cache'])
  if (ttl === null) {
    throw new AiError('SPOOL_INVALID_CACHE', `Spool-Cache must be ttl=<seconds>, 1 to ${MAX_CACHE_TTL_SECONDS}`, {
      field: 'spool-cache',
    })
  }
  // A stream is not cached: it answers as it goes.
  const cache = ttl !== undefined && !stream ? { key: cacheKey(tenant, endpoint, upstreamBody), ttl } : undefined
  if (cache) {
    const hit = await cacheGet(app.spool, tenant, cache.key)
    if (hit) {
      return new Reply(hit.status, hit.body, {
        'spool-job-id': hit.jobId,
        'spool-queue-wait-ms': '0',
        'spool-cache': 'hit',
      })
    }
  }
  await app.admission.admit(tenant, Gateway.queueOf(provider))
  const trace = callerTrace(app, request)
  const submission: Submission = {
    endpoint,
    provider,
    body: upstreamBody as Submission['body'],
    stream,
    tenant,
    user: userOf(ctx.principal),
    ...(priority !== undefined && { priority }),
    ...(idempotency !== undefined && { idempotencyKey: idempotency }),
    ...(trace && { metadata: trace }),
    ...(cache && { cache }),
  }
  let enqueued = await gateway.submit(submission)
  if (cache && !enqueued.created && idempotency === undefined && ['failed', 'cancelled'].includes(enqueued.state)) {
    // Coalescing joins requests in flight, not a failure: this one gets its own attempt.
    enqueued = await gateway.submit({ ...submission, idempotencyKey: `cache-retry:${cache.key}:${Date.now()}` })
  }
  ctx.audit.target = enqueued.id
  const base = {
    'spool-job-id': enqueued.id,
    ...(cache && { 'spool-cache': enqueued.created || idempotency !== undefined ? 'miss' : 'coalesced' }),
  }
  if (prefer.respondAsync && !stream) {
    return new Reply(
      202,
      {
        id: enqueued.id,
        object: 'spool.job',
        status: enqueued.state,
        position: enqueued.position,
        estimatedWaitMs: enqueued.estimatedWaitMs,
        url: `/v1/jobs/${enqueued.id}`,
      },
      {
        ...base,
        'spool-queue-wait-ms': '0',
        'preference-applied': 'respond-async',
        location: `/v1/jobs/${enqueued.id}`,
      },
    )
  }
  const waitMs = waitBudget(prefer.waitSeconds, headers['x-stainless-timeout'], gateway.settings.maxWaitSeconds)
  if (stream) {
    streamAnswer(ctx, gateway, enqueued.id, waitMs, 0, format)
    return STREAMING
  }
  // The response's close, not the request's: a request emits 'close' once its body is read.
  const closed = new AbortController()
  const onClose = () => closed.abort()
  ctx.reply.raw.once('close', onClose)
  let job: AiJob | null
  try {
    job = await waitForJob(app.spool, enqueued.id, waitMs, closed.signal)
  } finally {
    ctx.reply.raw.off('close', onClose)
  }
  if (!job) {
    throw new AiError('SPOOL_JOB_GONE', `request ${enqueued.id} is gone`, {}, base)
  }
  const answer = answerFor(job) ?? pending(job, waitMs)
  return new Reply(answer.status, answer.body, {
    ...answer.headers,
    ...('spool-cache' in base && { 'spool-cache': base['spool-cache'] }),
  })
}

/** 504 for a request still queued or running when the wait ends: follow it by its job id. */
function pending(job: AiJob, waitMs: number): Answer {
  return {
    status: 504,
    body: {
      ...openAiErrorBody(
        'SPOOL_WAIT_TIMEOUT',
        `not answered within ${Math.round(waitMs / 1000)} s (${job.state}); the request goes on: GET /v1/jobs/${job.id} for its result`,
      ),
      jobId: job.id,
    },
    headers: { ...jobHeaders(job), 'x-should-retry': 'false' },
  }
}

/**
 * A stream: the worker's events (StreamHub) as they come, or, from a worker on another node,
 * the saved events once the job completes. See the module comment for headers and notices.
 */
function streamAnswer(
  ctx: StreamContext,
  gateway: Gateway,
  jobId: string,
  waitMs: number,
  after = 0,
  format: Format = 'openai',
): void {
  // Gemini's framing: bare `data:` lines (its SDK skips an event with an `id:` line first), no
  // [DONE] (the stream ends with the connection), errors as `{error:{code,message,status}}`.
  const gemini = format === 'gemini'
  const { app, request, reply } = ctx
  const { spool } = app
  reply.hijack()
  const res = reply.raw
  let headersSent = false
  let finished = false
  let events = 0
  const startedAt = Date.now()
  const closed = new AbortController()
  const head = (extra: Record<string, string> = {}) => {
    if (headersSent || res.writableEnded) return
    headersSent = true
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
      'spool-job-id': jobId,
      'spool-queue-wait-ms': String(Date.now() - startedAt),
      ...extra,
    })
    // Out now, not with the first event: the client learns its job id while it waits.
    res.flushHeaders()
  }
  const write = (text: string) => {
    if (!res.writableEnded) res.write(text)
  }
  /** Each event has its number as its SSE id: a client that lost the stream resumes after it. */
  const emit = (data: string) => {
    events += 1
    if (gemini) write(`data: ${data}\n\n`)
    else if (events > after) write(`id: ${events}\ndata: ${data}\n\n`)
  }
  const onServerClose = () => finish()
  let stop: (() => void) | null = null
  let hold: NodeJS.Timeout | undefined
  let notices: NodeJS.Timeout | undefined
  const finish = (answer?: Answer) => {
    if (finished) return
    finished = true
    stop?.()
    clearTimeout(hold)
    clearInterval(notices)
    closed.abort()
    app.closingSignal.removeEventListener('abort', onServerClose)
    if (answer && !headersSent && !res.writableEnded) {
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        'x-request-id': String(request.id),
        ...answer.headers,
      })
      res.end(JSON.stringify(gemini && answer.status >= 400 ? toGeminiError(answer.status, answer.body) : answer.body))
      return
    }
    if (answer) {
      const body = gemini ? toGeminiError(answer.status, answer.body) : answer.body
      const error = (body as { error?: unknown } | null)?.error ?? body
      write(`data: ${JSON.stringify({ error })}\n\n`)
    }
    if (!res.writableEnded) res.end()
  }
  // A finished stream's events are handed over inside `watch`: `stop` is set after it returns.
  const unwatch = gateway.streams.watch(jobId, (signal) => {
    if (finished) return
    head()
    if (signal.type === 'event') emit(signal.data)
    else if (signal.type === 'done') {
      if (!gemini) write('data: [DONE]\n\n')
      finish()
    } else {
      const error = gemini ? toGeminiError(502, { error: signal.error }) : { error: signal.error }
      write(`data: ${JSON.stringify(error)}\n\n`)
      finish()
    }
  })
  if (finished) {
    unwatch()
    return
  }
  stop = unwatch
  hold = setTimeout(() => head(), gateway.settings.streamHoldMs)
  notices = setInterval(() => {
    if (!headersSent || events > 0 || finished) return
    void spool.jobs.position(jobId).then(
      (place) => {
        if (place && !finished && events === 0) {
          write(`: spool queued position=${place.position} eta_ms=${place.estimatedWaitMs ?? ''}\n\n`)
        }
      },
      () => {},
    )
  }, gateway.settings.queuedNoticeMs)
  app.closingSignal.addEventListener('abort', onServerClose)
  res.once('close', () => finish())
  void waitForJob(spool, jobId, waitMs, closed.signal).then(
    (job) => {
      if (finished) return
      if (!job)
        return finish({
          status: 410,
          body: openAiErrorBody('SPOOL_JOB_GONE', 'the request is gone'),
          headers: {},
        })
      if (job.state === 'completed' && job.result?.events) {
        // Served on another node: replay what it saved.
        if (events === 0) {
          head(jobHeaders(job))
          for (const data of job.result.events) {
            if (data === '[DONE]') write('data: [DONE]\n\n')
            else emit(data)
          }
          return finish()
        }
        return
      }
      const answer = answerFor(job)
      if (answer) return finish(answer)
      finish(pending(job, waitMs))
    },
    () =>
      finish({
        status: 500,
        body: {
          error: openAiError({
            status: 500,
            code: 'SPOOL_INTERNAL',
            detail: 'the server failed to follow the request',
          }),
        },
        headers: {},
      }),
  )
}

/** `Spool-Priority: high` or `-5`; undefined when absent, null when malformed. */
function headerPriority(value: string | string[] | undefined): s.PriorityInput | undefined | null {
  if (value === undefined) return undefined
  const parsed = s.priority.safeParse(
    typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value,
  )
  return parsed.success ? parsed.data : null
}

/** RFC 7240 `Prefer`: `respond-async`, `wait=N` (seconds). */
export function parsePrefer(value: string | string[] | undefined): { respondAsync: boolean; waitSeconds?: number } {
  const tokens = (Array.isArray(value) ? value.join(',') : (value ?? ''))
    .split(/[,;]/)
    .map((t) => t.trim().toLowerCase())
  const wait = tokens.map((t) => /^wait\s*=\s*"?(\d{1,6})"?$/.exec(t)?.[1]).find((v) => v !== undefined)
  return { respondAsync: tokens.includes('respond-async'), ...(wait !== undefined && { waitSeconds: Number(wait) }) }
}

/** How long a sync answer waits, in ms: min(Prefer wait, the SDK's timeout − 2 s, the cap). */
export function waitBudget(
  preferSeconds: number | undefined,
  stainless: string | string[] | undefined,
  capSeconds: number,
): number {
  let ms = capSeconds * 1000
  if (preferSeconds !== undefined) ms = Math.min(ms, preferSeconds * 1000)
  const sdk = Number(Array.isArray(stainless) ? stainless[0] : stainless)
  if (stainless !== undefined && Number.isFinite(sdk) && sdk > 0) ms = Math.min(ms, sdk * 1000 - 2_000)
  return Math.max(0, ms)
}
