/**
 * The AI gateway on the engine: each provider is one ordinary Spool queue (`ai.<provider>`)
 * whose rate limit is the provider's requests per minute, whose concurrency is its in-flight
 * cap, bound to an ordinary breaker (`ai.<provider>`); tokens per minute are a weighted limit
 * (`spool.limits.take`) the handler charges before each call. A request is a job on its
 * provider's queue; its handler makes the upstream call. Nothing here reaches past the engine's
 * public API, so queues, limits and breakers show and steer in the dashboard as any other.
 *
 * What a failure does to the job is in upstream.ts. Two more rules live here:
 * - `insufficient_quota` opens the provider's breaker (queued requests wait instead of each
 *   spending a call on the same answer; after the cool-down one probe goes, not a loop);
 * - a request older than `requestTtlSeconds` fails (`spool_request_expired`) rather than waiting
 *   on for a provider that keeps answering 429.
 */

import { createHash } from 'node:crypto'
import type { EnqueueResult } from '../engine/context.js'
import { RateLimitedError, UnrecoverableError } from '../engine/errors.js'
import type { Job, JobContext } from '../engine/job.js'
import type { Priority } from '../engine/priority.js'
import type { Spool } from '../engine/spool.js'
import type { Worker } from '../engine/worker.js'
import { BATCH_QUEUE, finalizeBatch } from './batches.js'
import { cachePut, coalescingKey } from './cache.js'
import type { GatewayConfig, ProviderConfig, ProvidersConfig } from './config.js'
import { GeminiQuotaExhausted, geminiPath } from './gemini.js'
import { startCall } from './instrument.js'
import { aiStatsOf } from './stats.js'
import { StreamHub } from './streams.js'
import { estimateTokens } from './tokens.js'
import { UpstreamFailure, UpstreamRejected, type UpstreamTarget, upstreamPost } from './upstream.js'

/** `gemini`: Gemini's native `generateContent` (`stream`: `streamGenerateContent`). */
export type Endpoint = 'chat' | 'embeddings' | 'gemini'

const PATHS: Record<Exclude<Endpoint, 'gemini'>, string> = { chat: '/chat/completions', embeddings: '/embeddings' }

/** The upstream path, and the body sent there (Gemini's model is in the path, not the body). */
function upstreamCall(payload: AiPayload): { path: string; body: Record<string, unknown> } {
  if (payload.endpoint !== 'gemini') return { path: PATHS[payload.endpoint], body: payload.body }
  const { model, stream: _stream, ...body } = payload.body
  return { path: geminiPath(String(model), payload.stream), body }
}

/** A request's job payload (stored encrypted at rest, like every payload, when encryption is on). */
export interface AiPayload {
  endpoint: Endpoint
  provider: string
  /** The body sent upstream: the client's, less Spool's own fields. */
  body: Record<string, unknown>
  stream: boolean
  /** Tokens reserved against the provider's TPM. */
  reserved: number
  /** A batch line's completion window (epoch ms): not started by then, it fails as expired. */
  deadline?: number
  /** `Spool-Cache: ttl=…`: the worker keeps a 2xx answer under this key (cache.ts). */
  cache?: { key: string; ttl: number }
}

/** A request's job result. */
export interface AiResult {
  status: number
  /** The upstream JSON answer (not for streams). */
  body?: unknown
  /** A stream's `data:` payloads, in order, `[DONE]` last. */
  events?: string[]
  usage?: { total_tokens?: number } | null
}

/** One client request, as `submit` takes it. */
export interface Submission {
  endpoint: Endpoint
  /** The provider (from `route`). */
  provider: string
  /** The body for the provider: the client's, less Spool's own fields. */
  body: Record<string, unknown> & { model: string }
  stream?: boolean
  tenant: string
  user?: string
  priority?: Priority
  /** The client's `Idempotency-Key`: scoped here by tenant and endpoint. */
  idempotencyKey?: string
  /** Extra metadata for the job (a caller's trace context). */
  metadata?: Record<string, string>
  /** Keep the answer in the cache (cache.ts); identical requests in flight share the job. */
  cache?: { key: string; ttl: number }
}

export interface GatewayOptions {
  providers: ProvidersConfig
  gateway: GatewayConfig
  env?: NodeJS.ProcessEnv
}

/**
 * @example
 * const gateway = gatewayFor(spool, { providers: config.providers, gateway: config.gateway })
 * await gateway.start() // serve the providers' queues in this process
 * const provider = await gateway.route('gpt-4o-mini')
 * if (provider) await gateway.submit({ endpoint: 'chat', provider, body, tenant: 'acme' })
 */
export class Gateway {
  readonly streams = new StreamHub()
  readonly providers: ProvidersConfig
  readonly settings: GatewayConfig
  private readonly env: NodeJS.ProcessEnv
  private workers: Worker<never, unknown>[] = []
  private ready: Promise<void> | null = null

  constructor(
    readonly spool: Spool,
    options: GatewayOptions,
  ) {
    this.providers = options.providers
    this.settings = options.gateway
    this.env = options.env ?? process.env
    const stats = aiStatsOf(spool)
    for (const [name, provider] of Object.entries(this.providers)) stats.setPrices(name, provider.prices)
  }

  static queueOf(provider: string): string {
    return `ai.${provider}`
  }

  static breakerOf(provider: string): string {
    return `ai.${provider}`
  }

  /** Every model served, with the provider it routes to first (declaration order). */
  models(): { id: string; provider: string }[] {
    const seen = new Map<string, string>()
    for (const [name, provider] of Object.entries(this.providers)) {
      for (const model of provider.models) if (!seen.has(model)) seen.set(model, name)
    }
    return [...seen].map(([id, provider]) => ({ id, provider }))
  }

  /**
   * The provider a model's request goes to: the first that serves it; while that one's breaker
   * is open, the first of its fallbacks that serves the model and whose breaker is not open.
   * Null for a model nobody serves.
   */
  async route(model: string): Promise<string | null> {
    const primary = this.models().find((m) => m.id === model)?.provider
    if (primary === undefined) return null
    const fallbacks = (this.providers[primary]?.fallbacks ?? []).filter((name) =>
      this.providers[name]?.models.includes(model),
    )
    if (fallbacks.length === 0 || !(await this.isOpen(primary))) return primary
    for (const name of fallbacks) if (!(await this.isOpen(name))) return name
    return primary
  }

  private async isOpen(provider: string): Promise<boolean> {
    const breaker = await this.spool.breakers.get(Gateway.breakerOf(provider))
    if (breaker?.state !== 'open') return false
    return breaker.openedAt === null || Date.now() - breaker.openedAt < breaker.config.cooldownMs
  }

  /** Tokens a request reserves against its provider's TPM. */
  async reserve(provider: string, endpoint: Endpoint, body: Record<string, unknown>): Promise<number> {
    const config = this.providers[provider] as ProviderConfig
    if (config.tpm === undefined) return 0
    return estimateTokens(endpoint, body, config.defaultMaxTokens)
  }

  /**
   * Enqueues a request on its provider's queue. A repeated `idempotencyKey` (same tenant and
   * endpoint) returns the job the first one made: one upstream call, however often a client retries.
   *
   * @example
   * const { id, position } = await gateway.submit({ endpoint: 'chat', provider: 'openai', body, tenant: 'acme' })
   */
  async submit(request: Submission): Promise<EnqueueResult> {
    const provider = this.providers[request.provider] as ProviderConfig
    const stream = request.endpoint !== 'embeddings' && request.stream === true
    const payload: AiPayload = {
      endpoint: request.endpoint,
      provider: request.provider,
      body: request.body,
      stream,
      reserved: await this.reserve(request.provider, request.endpoint, request.body),
      ...(request.cache && !stream && { cache: request.cache }),
    }
    const key =
      request.idempotencyKey ??
      (request.cache && !stream ? coalescingKey(request.cache.key, request.cache.ttl) : undefined)
    return this.spool.enqueue(Gateway.queueOf(request.provider), payload, {
      tenant: request.tenant,
      ...(request.user !== undefined && { user: request.user }),
      ...(request.priority !== undefined && { priority: request.priority }),
      // Scoped by tenant and endpoint: one tenant's key can never name another's job.
      ...(key !== undefined && {
        idempotencyKey: `ai:${createHash('sha256').update(`${request.tenant}\u0000${request.endpoint}\u0000${key}`).digest('hex')}`,
      }),
      maxAttempts: provider.maxAttempts,
      backoff: { type: 'exponential', delayMs: 500, maxDelayMs: 30_000, jitter: 0.5 },
      tags: [`model:${request.body.model}`.slice(0, 64)],
      metadata: {
        model: request.body.model,
        endpoint: request.endpoint,
        ...(stream && { stream: true }),
        ...request.metadata,
      },
    })
  }

  /**
   * Defines each provider's breaker and configures its queue (idempotent: run at every start).
   *
   * @example
   * await gateway.setup()
   */
  setup(): Promise<void> {
    this.ready ??= (async () => {
      for (const [name, provider] of Object.entries(this.providers)) {
        await this.spool.breakers.define(Gateway.breakerOf(name), compact(provider.breaker ?? {}))
        await this.spool.queues.configure(Gateway.queueOf(name), {
          breaker: Gateway.breakerOf(name),
          ...(provider.rpm !== undefined && { rateLimit: { max: provider.rpm, windowMs: 60_000 } }),
          ...(provider.concurrency !== undefined && { concurrency: provider.concurrency }),
          // Tenants take turns within a priority level, so one tenant's burst cannot starve another's.
          groupBy: 'tenant',
          groups: { fair: true },
          retention: { completed: { maxAgeMs: 86_400_000 }, failed: { maxAgeMs: 7 * 86_400_000 } },
        })
      }
    })()
    return this.ready
  }

  /**
   * Configures the queues and serves them in this process. Fails when a provider's API key
   * variable is not set (its name is said; never its value).
   */
  async start(): Promise<void> {
    const targets = new Map<string, UpstreamTarget>()
    for (const [name, provider] of Object.entries(this.providers)) {
      const apiKey = provider.apiKeyEnv === undefined ? undefined : this.env[provider.apiKeyEnv]
      if (provider.apiKeyEnv !== undefined && !apiKey) {
        throw new Error(`provider ${name}: the environment variable ${provider.apiKeyEnv} (its API key) is not set`)
      }
      targets.set(name, {
        name,
        baseUrl: provider.baseUrl,
        apiKey,
        timeoutMs: provider.timeoutMs,
        kind: provider.kind,
      })
    }
    await this.setup()
    for (const [name, target] of targets) {
      this.workers.push(
        this.spool.work<AiPayload, AiResult>(Gateway.queueOf(name), (job, ctx) => this.handle(target, job, ctx), {
          concurrency: this.settings.workerConcurrency,
        }),
      )
    }
    // Batches (batches.ts): the job that writes a batch's output once its lines have finished.
    this.workers.push(
      this.spool.work<{ batch: string }, unknown>(BATCH_QUEUE, (job) => finalizeBatch(this, job), {
        concurrency: 2,
      }) as Worker<never, unknown>,
    )
  }

  async close(options: { graceMs?: number } = {}): Promise<void> {
    const workers = this.workers
    this.workers = []
    await Promise.all(workers.map((worker) => worker.close(options)))
    this.streams.close()
  }

  private async handle(target: UpstreamTarget, job: Job<AiPayload>, ctx: JobContext): Promise<AiResult> {
    const { payload } = job
    const provider = this.providers[target.name] as ProviderConfig
    if (Date.now() - job.createdAt.getTime() > this.settings.requestTtlSeconds * 1000) {
      throw Object.assign(
        new UnrecoverableError(`spool_request_expired: not answered within ${this.settings.requestTtlSeconds} s`),
        { code: 'AI_REQUEST_EXPIRED' },
      )
    }
    if (payload.deadline !== undefined && Date.now() > payload.deadline) {
      throw Object.assign(new UnrecoverableError('batch_expired: the batch’s completion window ended first'), {
        code: 'AI_BATCH_EXPIRED',
      })
    }
    const tpmKey = `ai.${target.name}.tpm`
    if (provider.tpm !== undefined && payload.reserved > 0) {
      const taken = await this.spool.limits.take(tpmKey, { perMinute: provider.tpm }, payload.reserved)
      if (!taken.ok) {
        throw new RateLimitedError(
          taken.retryAfterMs,
          `${target.name}: ${payload.reserved} tokens exceed what is left of ${provider.tpm} TPM; retry in ${taken.retryAfterMs} ms`,
        )
      }
    }
    const call = startCall(this.spool, target.name, job)
    try {
      const request = upstreamCall(payload)
      const response = await upstreamPost(target, request.path, request.body, ctx.signal, { stream: payload.stream })
      const result: AiResult = payload.stream
        ? await this.relay(target, job.id, response, ctx.signal)
        : { status: response.status, body: await readBody(target, response) }
      const usage = result.usage ?? (result.body as { usage?: { total_tokens?: number } } | undefined)?.usage
      // Gemini counts in usageMetadata: read as OpenAI's usage for the limits and the metrics.
      const gemini = (
        result.body as
          | {
              usageMetadata?: { promptTokenCount?: unknown; candidatesTokenCount?: unknown; totalTokenCount?: unknown }
            }
          | undefined
      )?.usageMetadata
      const counted = usage ?? {
        prompt_tokens: gemini?.promptTokenCount,
        completion_tokens: gemini?.candidatesTokenCount,
        total_tokens: gemini?.totalTokenCount,
      }
      const used = counted.total_tokens
      call.end(result.status, counted)
      if (provider.tpm !== undefined && typeof used === 'number') {
        await this.spool.limits.giveBack(tpmKey, { perMinute: provider.tpm }, payload.reserved - used)
      }
      if (payload.cache && result.status >= 200 && result.status < 300) {
        await cachePut(
          this.spool,
          job.tenant,
          payload.cache.key,
          { status: result.status, body: result.body, jobId: job.id },
          payload.cache.ttl,
        )
      }
      return result
    } catch (error) {
      // A quota that will not come back soon: the breaker opens, so queued requests wait (or go
      // to a fallback) instead of each spending a call on the same answer. A Gemini daily quota
      // also holds the queue until its reset (the RateLimitedError's pause): no probe before it.
      const quota =
        (error instanceof UpstreamRejected && isQuotaExhausted(error)) || error instanceof GeminiQuotaExhausted
      call.fail(error, quota)
      if (quota) {
        await this.spool.breakers.open(Gateway.breakerOf(target.name))
      }
      throw error
    }
  }

  /**
   * Passes an upstream SSE stream on, event by event, to the request's watcher (StreamHub),
   * and keeps every event for the job's result. A stream that ends without `[DONE]` before its
   * first event is a retryable failure (the client saw nothing); after it, the client gets an
   * in-band error and the job fails for good (a second call could not continue the first).
   */
  private async relay(
    target: UpstreamTarget,
    jobId: string,
    response: Response,
    signal: AbortSignal,
  ): Promise<AiResult> {
    const events: string[] = []
    let usage: AiResult['usage'] = null
    let done = false
    let cutShort = false
    const decoder = new TextDecoder()
    let buffer = ''
    const idle = new AbortController()
    let idleTimer = setTimeout(() => idle.abort(), target.timeoutMs)
    const onEvent = (block: string) => {
      const data = block
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n')
      if (data === '') return
      if (data === '[DONE]') {
        done = true
        return
      }
      events.push(data)
      if (data.includes('"usage"')) {
        try {
          usage = (JSON.parse(data) as { usage?: AiResult['usage'] }).usage ?? usage
        } catch {}
      } else if (data.includes('"usageMetadata"')) {
        // Gemini's stream: the last chunk's usageMetadata counts the whole answer.
        try {
          const total = (JSON.parse(data) as { usageMetadata?: { totalTokenCount?: unknown } }).usageMetadata
            ?.totalTokenCount
          if (typeof total === 'number') usage = { total_tokens: total }
        } catch {}
      }
      this.streams.push(jobId, { type: 'event', data })
    }
    try {
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const stop = () => void reader.cancel().catch(() => {})
      signal.addEventListener('abort', stop, { once: true })
      idle.signal.addEventListener('abort', stop, { once: true })
      try {
        for (;;) {
          const { value, done: ended } = await reader.read()
          if (ended) break
          clearTimeout(idleTimer)
          idleTimer = setTimeout(() => idle.abort(), target.timeoutMs)
          buffer += decoder.decode(value, { stream: true })
          let cut = buffer.search(/\r?\n\r?\n/)
          while (cut !== -1) {
            onEvent(buffer.slice(0, cut))
            buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '')
            cut = buffer.search(/\r?\n\r?\n/)
          }
        }
      } finally {
        signal.removeEventListener('abort', stop)
      }
      if (buffer.trim() !== '') onEvent(buffer)
    } catch {
      // A dropped connection reads as an early end: handled below.
      cutShort = true
    } finally {
      clearTimeout(idleTimer)
    }
    signal.throwIfAborted()
    // Gemini's stream has no [DONE]: it ends with the connection, its last chunk naming a finishReason.
    if (target.kind === 'gemini' && !idle.signal.aborted && !cutShort && /"finishReason"/.test(events.at(-1) ?? '')) {
      done = true
    }
    if (!done) {
      const why = idle.signal.aborted ? `no data for ${target.timeoutMs} ms` : 'the connection closed before [DONE]'
      if (events.length === 0) {
        this.streams.reset(jobId)
        throw new UpstreamFailure(`upstream ${target.name}: stream ended before its first event (${why})`, {
          code: 'ECONNRESET',
        })
      }
      const message = `upstream ${target.name}: the stream broke after ${events.length} events (${why})`
      this.streams.push(jobId, {
        type: 'error',
        error: { message, type: 'upstream_error', code: 'spool_stream_broken' },
      })
      throw Object.assign(new UnrecoverableError(message), { code: 'AI_STREAM_BROKEN' })
    }
    this.streams.push(jobId, { type: 'done' })
    return { status: 200, events: target.kind === 'gemini' ? events : [...events, '[DONE]'], usage }
  }
}

/** Drops keys whose value is undefined. */
function compact<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never
}

function isQuotaExhausted(error: UpstreamRejected): boolean {
  const body = error.body as { error?: { code?: unknown; type?: unknown } } | null
  return (
    error.status === 429 && (body?.error?.code === 'insufficient_quota' || body?.error?.type === 'insufficient_quota')
  )
}

async function readBody(target: UpstreamTarget, response: Response): Promise<unknown> {
  let text: string
  try {
    text = await response.text()
  } catch (error) {
    throw new UpstreamFailure(`upstream ${target.name}: the answer broke off (${(error as Error).message})`, {
      code: 'ECONNRESET',
    })
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new UpstreamFailure(`upstream ${target.name}: the answer is not JSON: ${text.slice(0, 120)}`, {
      code: 'EBADANSWER',
    })
  }
}

const gateways = new WeakMap<Spool, Gateway>()

/**
 * The gateway of this Spool (one per process, shared by the routes and the workers, so a
 * stream's events reach the request that waits for them).
 *
 * @example
 * const gateway = gatewayFor(spool, { providers: config.providers, gateway: config.gateway })
 * await gateway.start()
 */
export function gatewayFor(spool: Spool, options: GatewayOptions): Gateway {
  let gateway = gateways.get(spool)
  if (!gateway) {
    gateway = new Gateway(spool, options)
    gateways.set(spool, gateway)
  }
  return gateway
}
