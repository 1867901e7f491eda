/**
 * `GET /v1/ai/providers`: the gateway's providers as the dashboard's Providers view shows them
 * (docs/ai-gateway.md, "Watching the providers"). Operators only: it spans every tenant's
 * requests. Never an API key, nor the name of the variable holding it, nor the base URL's
 * credentials or path: the host alone.
 *
 * Store-wide figures (every node): the queue's counts, waiting requests by priority, queue wait
 * percentiles, the breaker. Per process (the node that answered): calls in the last minute and
 * hour, 429s and 5xx, tokens, cost, upstream latency (src/ai/stats.ts).
 */
import { z } from 'zod'
import { Gateway } from '../../ai/gateway.js'
import { aiStatsOf } from '../../ai/stats.js'
import { route } from '../route.js'
import { gatewayOf } from './ai.js'

const percentiles = z.object({ p50: z.number(), p95: z.number() }).nullable()
/** Waiting requests read per provider to count them by priority. */
const PRIORITY_SCAN = 1_000

const minute = z.object({
  minute: z.number().describe('the minute’s start, ms since the epoch'),
  requests: z.number(),
  succeeded: z.number(),
  rateLimited: z.number(),
  serverErrors: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  costUsd: z.number(),
})

const providerView = z.object({
  name: z.string(),
  kind: z.string(),
  host: z.string().describe('the base URL’s host (never its credentials or path)'),
  models: z.array(z.string()),
  limits: z.object({ rpm: z.number().nullable(), tpm: z.number().nullable(), concurrency: z.number().nullable() }),
  queue: z.object({
    name: z.string(),
    counts: z.record(z.string(), z.number()),
    waitingByPriority: z.array(z.object({ priority: z.number(), count: z.number() })),
    waitingByPriorityTruncated: z
      .boolean()
      .describe(`true when over ${PRIORITY_SCAN} wait: only the first were counted`),
    waitMs: percentiles.describe('queue wait (ready → started) over the most recent finished requests, every node'),
  }),
  breaker: z.object({
    state: z.enum(['closed', 'open', 'half_open']),
    failures: z.number(),
    openedAt: z.number().nullable(),
  }),
  quota: z.object({
    exhausted: z.boolean().describe('`insufficient_quota` since the last success (this process)'),
    since: z.number().nullable(),
  }),
  lastMinute: z.object({ requests: z.number(), tokens: z.number() }).describe('upstream calls this process made'),
  lastHour: z.object({
    requests: z.number(),
    succeeded: z.number(),
    rateLimited: z.number(),
    serverErrors: z.number(),
    promptTokens: z.number(),
    completionTokens: z.number(),
    costUsd: z.number(),
  }),
  upstreamLatencyMs: percentiles,
  priced: z.boolean().describe('whether `prices` are configured (else costUsd stays 0)'),
  perMinute: z.array(minute).describe('the last hour, oldest first; minutes without calls left out'),
})

export const aiProviderRoutes = [
  route({
    id: 'ai.providers',
    method: 'GET',
    url: '/v1/ai/providers',
    tag: 'ai',
    summary:
      'The AI gateway’s providers: limits, traffic, 429s and 5xx, breaker and quota, queue, latency, tokens, cost',
    description:
      'For the dashboard’s Providers view; operators only (it spans every tenant). Queue counts, waiting requests by priority, queue wait and the breaker are read from the store (every node); calls, tokens, 429s, 5xx, cost and upstream latency are what this process sent upstream. No API key or key variable is ever returned.',
    permission: 'operate',
    response: z.object({
      scope: z
        .literal('process')
        .describe('calls, tokens and latency are this node’s; the queue and breaker are every node’s'),
      providers: z.array(providerView),
    }),
    async handler({ app }) {
      const gateway = gatewayOf(app)
      const stats = aiStatsOf(app.spool)
      const now = Date.now()
      const breakers = new Map((await app.spool.breakers.list()).map((breaker) => [breaker.name, breaker]))
      const providers = await Promise.all(
        Object.entries(gateway.providers).map(async ([name, provider]) => {
          const queue = Gateway.queueOf(name)
          const [queueStats, waiting] = await Promise.all([
            app.spool.stats(queue),
            app.spool.jobs.list({ queue, state: 'waiting', limit: PRIORITY_SCAN }),
          ])
          const byPriority = new Map<number, number>()
          for (const job of waiting.jobs) byPriority.set(job.priority, (byPriority.get(job.priority) ?? 0) + 1)
          const figures = stats.figures(name, now)
          const breaker = breakers.get(Gateway.breakerOf(name))
          return {
            name,
            kind: provider.kind,
            host: new URL(provider.baseUrl).host,
            models: provider.models,
            limits: {
              rpm: provider.rpm ?? null,
              tpm: provider.tpm ?? null,
              concurrency: provider.concurrency ?? null,
            },
            queue: {
              name: queue,
              counts: { ...(queueStats.counts[queue] ?? {}) },
              waitingByPriority: [...byPriority]
                .sort(([a], [b]) => a - b)
                .map(([priority, count]) => ({ priority, count })),
              waitingByPriorityTruncated: waiting.jobs.length >= PRIORITY_SCAN,
              waitMs: queueStats.waitMs,
            },
            breaker: {
              state: breaker?.state ?? ('closed' as const),
              failures: breaker?.failures ?? 0,
              openedAt: breaker?.openedAt ?? null,
            },
            quota: { exhausted: figures.quotaExhaustedAt !== null, since: figures.quotaExhaustedAt },
            lastMinute: { requests: figures.requestsLastMinute, tokens: figures.tokensLastMinute },
            lastHour: figures.lastHour,
            upstreamLatencyMs: figures.upstreamLatencyMs,
            priced: provider.prices !== undefined && Object.keys(provider.prices).length > 0,
            perMinute: figures.perMinute.map((bucket) => ({ ...bucket })),
          }
        }),
      )
      return { scope: 'process' as const, providers }
    },
  }),
]
