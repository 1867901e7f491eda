/**
 * What this process saw of its upstream calls, per provider: one observation per call (its
 * outcome, HTTP status, latency, tokens, the job's queue wait), kept as per-minute buckets for
 * the last hour and the latest samples for percentiles. `/metrics` turns the observations into
 * `spool_ai_*` counters and histograms (src/server/metrics.ts); `GET /v1/ai/providers` reads the
 * buckets (src/server/routes/ai-providers.ts).
 *
 * These figures are per process: with several nodes serving one store, each node counts the
 * calls it made (Prometheus sums them; the providers API shows the node that answered).
 */
import type { Spool } from '../engine/spool.js'

/** How one upstream call ended. */
export type CallOutcome = 'success' | 'rate_limited' | 'error' | 'rejected'

export interface CallObservation {
  provider: string
  model: string
  outcome: CallOutcome
  /** The upstream HTTP status; null when no answer came (refused, reset, timed out). */
  status: number | null
  /** From sending the request to the whole answer (a stream: its last event). */
  latencyMs: number
  /** From the job becoming runnable (created) to this call starting. */
  queueWaitMs: number
  promptTokens: number
  completionTokens: number
  /** `insufficient_quota`: the provider's quota ran out. */
  quotaExhausted?: boolean
  at: number
}

/** One minute of one provider's calls. */
export interface MinuteBucket {
  /** The minute's start (ms since the epoch). */
  minute: number
  requests: number
  succeeded: number
  rateLimited: number
  serverErrors: number
  promptTokens: number
  completionTokens: number
  /** Estimated cost in USD from the provider's configured `prices` (0 without prices). */
  costUsd: number
}

export type Prices = Record<string, { input: number; output: number }>

const MINUTE = 60_000
const HOUR_BUCKETS = 60
const SAMPLES = 2_000

class ProviderStats {
  buckets: MinuteBucket[] = []
  latencies: { at: number; ms: number }[] = []
  /** When the last `insufficient_quota` came (null: none since the last success). */
  quotaExhaustedAt: number | null = null
  /** Estimated cost per model since this process started. */
  costByModel = new Map<string, number>()

  bucket(at: number): MinuteBucket {
    const minute = at - (at % MINUTE)
    let last = this.buckets.at(-1)
    if (last?.minute !== minute) {
      last = {
        minute,
        requests: 0,
        succeeded: 0,
        rateLimited: 0,
        serverErrors: 0,
        promptTokens: 0,
        completionTokens: 0,
        costUsd: 0,
      }
      this.buckets.push(last)
      while (this.buckets.length > 0 && (this.buckets[0] as MinuteBucket).minute <= minute - HOUR_BUCKETS * MINUTE) {
        this.buckets.shift()
      }
    }
    return last
  }
}

/**
 * @example
 * const stats = aiStatsOf(spool)
 * const stop = stats.subscribe((call) => console.log(call.provider, call.outcome))
 * stats.figures('openai', Date.now()) // { requestsLastMinute, tokensLastMinute, … }
 */
export class AiStats {
  private readonly providers = new Map<string, ProviderStats>()
  private readonly listeners = new Set<(call: CallObservation) => void>()
  private prices = new Map<string, Prices>()

  /** The per-model prices (USD per 1M tokens) each provider's cost estimate uses. */
  setPrices(provider: string, prices: Prices | undefined): void {
    if (prices) this.prices.set(provider, prices)
    else this.prices.delete(provider)
  }

  /** Tells the listener of every call from now on; returns its unsubscribe. */
  subscribe(listener: (call: CallObservation) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  record(call: CallObservation): void {
    const stats = this.of(call.provider)
    const bucket = stats.bucket(call.at)
    bucket.requests += 1
    if (call.outcome === 'success') {
      bucket.succeeded += 1
      stats.quotaExhaustedAt = null
    }
    if (call.status === 429) bucket.rateLimited += 1
    if (call.status !== null && call.status >= 500) bucket.serverErrors += 1
    if (call.quotaExhausted) stats.quotaExhaustedAt = call.at
    bucket.promptTokens += call.promptTokens
    bucket.completionTokens += call.completionTokens
    const price = this.prices.get(call.provider)?.[call.model]
    if (price) {
      const cost = (call.promptTokens * price.input + call.completionTokens * price.output) / 1_000_000
      bucket.costUsd += cost
      stats.costByModel.set(call.model, (stats.costByModel.get(call.model) ?? 0) + cost)
    }
    stats.latencies.push({ at: call.at, ms: call.latencyMs })
    if (stats.latencies.length > SAMPLES) stats.latencies.splice(0, stats.latencies.length - SAMPLES)
    for (const listener of this.listeners) listener(call)
  }

  /** A provider's figures as of `now`: the last minute, the last hour by minute, latency percentiles. */
  figures(provider: string, now = Date.now()) {
    const stats = this.of(provider)
    const since = now - MINUTE
    const hourAgo = now - HOUR_BUCKETS * MINUTE
    const perMinute = stats.buckets.filter((bucket) => bucket.minute > hourAgo)
    // The last minute: the current bucket plus the previous one's share still inside the window.
    let requestsLastMinute = 0
    let tokensLastMinute = 0
    for (const bucket of perMinute) {
      if (bucket.minute + MINUTE <= since) continue
      const share = bucket.minute >= since ? 1 : (bucket.minute + MINUTE - since) / MINUTE
      requestsLastMinute += bucket.requests * share
      tokensLastMinute += (bucket.promptTokens + bucket.completionTokens) * share
    }
    const total = (pick: (bucket: MinuteBucket) => number) => perMinute.reduce((sum, b) => sum + pick(b), 0)
    const recent = stats.latencies.filter((sample) => sample.at > hourAgo).map((sample) => sample.ms)
    return {
      requestsLastMinute: Math.round(requestsLastMinute),
      tokensLastMinute: Math.round(tokensLastMinute),
      lastHour: {
        requests: total((b) => b.requests),
        succeeded: total((b) => b.succeeded),
        rateLimited: total((b) => b.rateLimited),
        serverErrors: total((b) => b.serverErrors),
        promptTokens: total((b) => b.promptTokens),
        completionTokens: total((b) => b.completionTokens),
        costUsd: total((b) => b.costUsd),
      },
      upstreamLatencyMs: percentiles(recent),
      quotaExhaustedAt: stats.quotaExhaustedAt,
      perMinute,
    }
  }

  private of(provider: string): ProviderStats {
    let stats = this.providers.get(provider)
    if (!stats) {
      stats = new ProviderStats()
      this.providers.set(provider, stats)
    }
    return stats
  }
}

/** p50 and p95 of the samples (nearest rank); null without any. */
export function percentiles(samples: number[]): { p50: number; p95: number } | null {
  if (samples.length === 0) return null
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
  return { p50: at(0.5), p95: at(0.95) }
}

const all = new WeakMap<Spool, AiStats>()

/** The gateway figures of this Spool in this process (shared by the workers, `/metrics` and the API). */
export function aiStatsOf(spool: Spool): AiStats {
  let stats = all.get(spool)
  if (!stats) {
    stats = new AiStats()
    all.set(spool, stats)
  }
  return stats
}
