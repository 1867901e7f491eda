/**
 * Calls to OpenAI-compatible HTTP APIs (transcription, chat completions) and what their
 * failures mean for the job, in the engine's terms (`src/engine/classify.ts`):
 *
 * | what happened                          | thrown                                  | job        |
 * |----------------------------------------|-----------------------------------------|------------|
 * | 429 with `Retry-After`                 | `RateLimitedError(ms)`                  | waits, attempt refunded |
 * | 429 without it, 408, 5xx               | `ProviderError` with `status`, `headers`| retried (a 503's `Retry-After` obeyed) |
 * | connection refused/reset, DNS, timeout | `ProviderError` with `code`, `retryable`| retried    |
 * | other 4xx (bad key, bad request)       | `AudioError('AUDIO_ENGINE_REJECTED')`   | fails now  |
 * | the caller's signal fired              | the signal's reason                     | as the reason says |
 *
 * A per-request timeout (default 120 s) is a second signal combined with the caller's, so a
 * provider that never answers costs one timeout, not the job's whole budget.
 */

import { parseRetryAfter } from '../engine/classify.js'
import { RateLimitedError } from '../engine/errors.js'
import { AudioError } from './errors.js'

/** A retryable provider failure; `classifyError` reads `status`, `headers` and `code`. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  readonly status: number | undefined
  readonly headers: Headers | undefined
  readonly code: string | undefined
  readonly retryable: boolean | undefined

  constructor(
    message: string,
    details: { status?: number; headers?: Headers; code?: string; retryable?: boolean; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.status = details.status
    this.headers = details.headers
    this.code = details.code
    // Left undefined for HTTP answers so the classifier reads status and Retry-After itself.
    this.retryable = details.retryable
  }
}

export interface ProviderRequestOptions {
  signal?: AbortSignal | undefined
  /** Default 120,000. */
  timeoutMs?: number
  /** Names the provider in messages, e.g. `openai transcription`. */
  provider: string
}

/**
 * `fetch` with the failure mapping above; resolves only with a 2xx response.
 *
 * @example
 * const res = await providerFetch(`${base}/chat/completions`, { method: 'POST', body }, { provider: 'openai notes', signal })
 */
export async function providerFetch(
  url: string,
  init: RequestInit,
  options: ProviderRequestOptions,
): Promise<Response> {
  const { signal, timeoutMs = 120_000, provider } = options
  signal?.throwIfAborted()
  const timeout = AbortSignal.timeout(timeoutMs)
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
  let response: Response
  try {
    response = await fetch(url, { ...init, signal: combined })
  } catch (error) {
    throw transportError(error, signal, timeout, provider, timeoutMs)
  }
  if (response.ok) return response
  const body = await response.text().catch(() => '')
  const detail = body.slice(0, 300)
  const status = response.status
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after') ?? undefined)
    if (retryAfterMs !== undefined) {
      throw new RateLimitedError(retryAfterMs, `${provider}: rate limited (429); retry in ${retryAfterMs} ms`)
    }
  }
  if (status === 429 || status === 408 || status >= 500) {
    throw new ProviderError(`${provider}: HTTP ${status} ${detail}`.trim(), { status, headers: response.headers })
  }
  throw new AudioError('AUDIO_ENGINE_REJECTED', `${provider}: HTTP ${status} ${detail}`.trim(), {
    provider,
    upstreamStatus: status,
  })
}

/**
 * Reads a 2xx response's JSON body, mapping a connection dropped mid-body to a retryable error.
 *
 * @example
 * const json = await readJson<{ text: string }>(res, { provider: 'openai transcription', signal })
 */
export async function readJson<T>(response: Response, options: ProviderRequestOptions): Promise<T> {
  let text: string
  try {
    text = await response.text()
  } catch (error) {
    throw transportError(error, options.signal, undefined, options.provider, options.timeoutMs ?? 120_000)
  }
  try {
    return JSON.parse(text) as T
  } catch (error) {
    throw new ProviderError(`${options.provider}: the answer is not JSON: ${text.slice(0, 120)}`, {
      retryable: true,
      cause: error,
    })
  }
}

function transportError(
  error: unknown,
  signal: AbortSignal | undefined,
  timeout: AbortSignal | undefined,
  provider: string,
  timeoutMs: number,
): unknown {
  if (signal?.aborted) return signal.reason
  if (timeout?.aborted) {
    return new ProviderError(`${provider}: no answer within ${timeoutMs} ms`, {
      code: 'ETIMEDOUT',
      retryable: true,
      cause: error,
    })
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
  const code = typeof cause?.code === 'string' ? cause.code : 'ECONNRESET'
  const reason =
    typeof cause?.message === 'string' ? cause.message : error instanceof Error ? error.message : String(error)
  return new ProviderError(`${provider}: ${reason} (${code})`, { code, retryable: true, cause: error })
}
