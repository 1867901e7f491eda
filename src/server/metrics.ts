/**
 * Prometheus metrics (prom-client, one registry per server), named after the conventions:
 *
 * - `spool_jobs_enqueued_total{queue}`, `spool_jobs_finished_total{queue,outcome}` (completed,
 *   failed, cancelled) and `spool_job_attempts_failed_total{queue}` (retried attempts): counted
 *   from the event stream, so they include jobs enqueued and run by other processes;
 * - `spool_job_wait_seconds{queue}` (ready → started) and `spool_job_run_seconds{queue}`
 *   (started → finished) histograms, from the same events (jobs this server saw become ready);
 * - `spool_jobs{queue,state}` and `spool_queue_oldest_waiting_age_seconds{queue}` (0 when nothing
 *   waits), read from the store at scrape time; `spool_workers_busy{queue}`
 *   and `spool_workers{queue}` from the workers registry; `spool_breaker_open{breaker}` (1 open,
 *   0.5 half-open, 0 closed) for every circuit breaker;
 * - `spool_http_requests_total{method,route,status}`, `spool_http_request_duration_seconds`,
 *   `spool_streams_open{kind}`, and the metrics prom-client collects by default, under `spool_`:
 *   `spool_process_*` (CPU, memory, file descriptors, start time) and `spool_nodejs_*` (event-loop
 *   lag, heap, GC, active handles/requests/resources by type) — without its three
 *   `nodejs_active_*_total` gauges, whose `_total` Prometheus keeps for counters (sum the
 *   per-type gauge instead).
 *
 * - the AI gateway's `spool_ai_*` (src/ai/stats.ts; upstream calls this process made):
 *   `spool_ai_requests_total{provider,model,outcome}` (success, rate_limited, error, rejected),
 *   `spool_ai_upstream_responses_total{provider,status_class}` (2xx, 429, 4xx, 5xx, none),
 *   `spool_ai_tokens_total{provider,model,kind}` (prompt, completion),
 *   `spool_ai_queue_wait_seconds{provider}` (request created → the call that answered it) and
 *   `spool_ai_upstream_duration_seconds{provider}` histograms; read at scrape time
 *   `spool_ai_breaker_open{provider}` (1 open, 0.5 half-open, 0 closed) and
 *   `spool_ai_quota_exhausted{provider}` (1 after `insufficient_quota` until a call succeeds).
 *
 * Every family passes promtool's lint (test/server/metrics.test.ts).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { Gateway } from '../ai/gateway.js'
import { aiStatsOf, type CallObservation } from '../ai/stats.js'
import type { Spool } from '../engine/spool.js'
import type { SpoolEvent } from '../store/store.js'

const TIME_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]
const TRACKED = 200_000

export class ServerMetrics {
  readonly registry = new Registry()
  readonly httpRequests = new Counter({
    name: 'spool_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  })
  readonly httpDuration = new Histogram({
    name: 'spool_http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    registers: [this.registry],
  })
  readonly enqueueBatch = new Histogram({
    name: 'spool_http_enqueue_batch_size',
    help: 'Enqueue requests written together in one transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 500],
    registers: [this.registry],
  })
  readonly streamsOpen = new Gauge({
    name: 'spool_streams_open',
    help: 'Open live streams',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })
  private readonly enqueued = new Counter({
    name: 'spool_jobs_enqueued_total',
    help: 'Jobs created',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  })
  private readonly finished = new Counter({
    name: 'spool_jobs_finished_total',
    help: 'Jobs that reached a final state, by outcome',
    labelNames: ['queue', 'outcome'] as const,
    registers: [this.registry],
  })
  private readonly retried = new Counter({
    name: 'spool_job_attempts_failed_total',
    help: 'Attempts that failed and were scheduled for a retry',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  })
  private readonly wait = new Histogram({
    name: 'spool_job_wait_seconds',
    help: 'From ready to started',
    labelNames: ['queue'] as const,
    buckets: TIME_BUCKETS,
    registers: [this.registry],
  })
  private readonly run = new Histogram({
    name: 'spool_job_run_seconds',
    help: 'From started to finished (or failed attempt)',
    labelNames: ['queue'] as const,
    buckets: TIME_BUCKETS,
    registers: [this.registry],
  })
  private readonly aiRequests = new Counter({
    name: 'spool_ai_requests_total',
    help: 'Upstream AI provider calls, by provider, model and outcome (success, rate_limited, error, rejected)',
    labelNames: ['provider', 'model', 'outcome'] as const,
    registers: [this.registry],
  })
  private readonly aiResponses = new Counter({
    name: 'spool_ai_upstream_responses_total',
    help: 'Upstream AI provider answers by status class (2xx, 429, 4xx, 5xx; none for no answer)',
    labelNames: ['provider', 'status_class'] as const,
    registers: [this.registry],
  })
  private readonly aiTokens = new Counter({
    name: 'spool_ai_tokens_total',
    help: 'Tokens the AI providers reported using, by kind (prompt, completion)',
    labelNames: ['provider', 'model', 'kind'] as const,
    registers: [this.registry],
  })
  private readonly aiQueueWait = new Histogram({
    name: 'spool_ai_queue_wait_seconds',
    help: 'From a gateway request being queued to the upstream call that answered it',
    labelNames: ['provider'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  })
  private readonly aiLatency = new Histogram({
    name: 'spool_ai_upstream_duration_seconds',
    help: 'Duration of one upstream AI provider call (a stream: to its last event)',
    labelNames: ['provider'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  })
  private readonly readyAt = new Map<string, number>()
  private readonly activeAt = new Map<string, number>()
  private subscription: { close(): void } | null = null
  private aiSubscription: (() => void) | null = null

  constructor(
    private readonly spool: Spool,
    aiProviders: string[] = [],
  ) {
    // prom-client's own names already start with `process_` or `nodejs_`, so the prefix is
    // `spool_` alone (`spool_process_cpu_seconds_total`, not `spool_process_process_…`).
    collectDefaultMetrics({ register: this.registry, prefix: 'spool_' })
    // Three of its gauges end in `_total`, which Prometheus keeps for counters (promtool refuses
    // them); each is the sum of the per-type gauge beside it (`spool_nodejs_active_handles{type}`).
    for (const kind of ['resources', 'handles', 'requests']) {
      this.registry.removeSingleMetric(`spool_nodejs_active_${kind}_total`)
    }
    const spoolRef = this.spool
    new Gauge({
      name: 'spool_jobs',
      help: 'Jobs by queue and state',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset()
        const counts = await spoolRef.queues.countsAll()
        for (const [queue, byState] of Object.entries(counts)) {
          for (const [state, n] of Object.entries(byState)) this.set({ queue, state }, n)
        }
      },
    })
    new Gauge({
      name: 'spool_queue_oldest_waiting_age_seconds',
      help: 'Age of the oldest waiting job (since it was created), per queue; 0 when none waits',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        this.reset()
        const now = Date.now()
        for (const [queue, createdAt] of Object.entries(await spoolRef.queues.oldestWaiting())) {
          this.set({ queue }, createdAt === null ? 0 : Math.max(0, now - createdAt) / 1000)
        }
      },
    })
    new Gauge({
      name: 'spool_breaker_open',
      help: 'Circuit breaker state: 1 open, 0.5 half-open, 0 closed',
      labelNames: ['breaker'] as const,
      registers: [this.registry],
      async collect() {
        this.reset()
        for (const breaker of await spoolRef.breakers.list()) {
          this.set({ breaker: breaker.name }, breaker.state === 'open' ? 1 : breaker.state === 'half_open' ? 0.5 : 0)
        }
      },
    })
    const aiStats = aiStatsOf(spool)
    new Gauge({
      name: 'spool_ai_breaker_open',
      help: 'An AI provider breaker state: 1 open, 0.5 half-open, 0 closed',
      labelNames: ['provider'] as const,
      registers: [this.registry],
      async collect() {
        this.reset()
        if (aiProviders.length === 0) return
        const byName = new Map((await spoolRef.breakers.list()).map((breaker) => [breaker.name, breaker.state]))
        for (const provider of aiProviders) {
          const state = byName.get(Gateway.breakerOf(provider))
          this.set({ provider }, state === 'open' ? 1 : state === 'half_open' ? 0.5 : 0)
        }
      },
    })
    new Gauge({
      name: 'spool_ai_quota_exhausted',
      help: 'Whether an AI provider answered insufficient_quota since its last success (1) or not (0)',
      labelNames: ['provider'] as const,
      registers: [this.registry],
      collect() {
        this.reset()
        for (const provider of aiProviders) {
          this.set({ provider }, aiStats.figures(provider).quotaExhaustedAt === null ? 0 : 1)
        }
      },
    })
    const busy = new Gauge({
      name: 'spool_workers_busy',
      help: 'Jobs running in connected workers, per queue',
      labelNames: ['queue'] as const,
      registers: [this.registry],
    })
    new Gauge({
      name: 'spool_workers',
      help: 'Connected workers, per queue',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        this.reset()
        busy.reset()
        const workers = await spoolRef.workers.list()
        const perQueue = new Map<string, { n: number; running: number }>()
        for (const worker of workers) {
          const entry = perQueue.get(worker.queue) ?? { n: 0, running: 0 }
          entry.n += 1
          entry.running += worker.running.length
          perQueue.set(worker.queue, entry)
        }
        for (const [queue, { n, running }] of perQueue) {
          this.set({ queue }, n)
          busy.set({ queue }, running)
        }
      },
    })
  }

  /** Start counting from the event stream. */
  start(): void {
    this.subscription = this.spool.events.subscribe({}, (event) => this.observe(event))
    this.aiSubscription = aiStatsOf(this.spool).subscribe((call) => this.observeCall(call))
  }

  stop(): void {
    this.subscription?.close()
    this.subscription = null
    this.aiSubscription?.()
    this.aiSubscription = null
  }

  private observeCall(call: CallObservation): void {
    const { provider, model } = call
    this.aiRequests.inc({ provider, model, outcome: call.outcome })
    const status = call.status
    const statusClass = status === null ? 'none' : status === 429 ? '429' : `${Math.floor(status / 100)}xx`
    this.aiResponses.inc({ provider, status_class: statusClass })
    if (call.promptTokens > 0) this.aiTokens.inc({ provider, model, kind: 'prompt' }, call.promptTokens)
    if (call.completionTokens > 0) this.aiTokens.inc({ provider, model, kind: 'completion' }, call.completionTokens)
    this.aiLatency.observe({ provider }, call.latencyMs / 1000)
    if (call.outcome === 'success') this.aiQueueWait.observe({ provider }, call.queueWaitMs / 1000)
  }

  async text(): Promise<string> {
    return this.registry.metrics()
  }

  private observe(event: SpoolEvent): void {
    const queue = event.queue ?? ''
    const id = event.jobId
    if (id === null) return
    switch (event.type) {
      case 'job.created':
        this.enqueued.inc({ queue })
        if (event.state === 'waiting') this.remember(this.readyAt, id, event.at)
        break
      case 'job.waiting':
        this.remember(this.readyAt, id, event.at)
        break
      case 'job.active': {
        const ready = this.readyAt.get(id)
        if (ready !== undefined) this.wait.observe({ queue }, Math.max(0, event.at - ready) / 1000)
        this.readyAt.delete(id)
        this.remember(this.activeAt, id, event.at)
        break
      }
      case 'job.completed':
      case 'job.failed':
      case 'job.cancelled':
      case 'job.retrying': {
        const started = this.activeAt.get(id)
        if (started !== undefined) this.run.observe({ queue }, Math.max(0, event.at - started) / 1000)
        this.activeAt.delete(id)
        if (event.type === 'job.retrying') {
          this.retried.inc({ queue })
          if (event.state === 'waiting') this.remember(this.readyAt, id, event.at)
        } else {
          this.readyAt.delete(id)
          this.finished.inc({ queue, outcome: event.type.slice(4) })
        }
        break
      }
      case 'job.removed':
        this.readyAt.delete(id)
        this.activeAt.delete(id)
        break
      default:
        break
    }
  }

  private remember(map: Map<string, number>, id: string, at: number): void {
    if (map.size >= TRACKED) {
      const first = map.keys().next().value
      if (first !== undefined) map.delete(first)
    }
    map.set(id, at)
  }
}
