/**
 * `spool.leases`: the worker protocol for processes that are not this one — a Python or Go
 * worker over HTTP claims jobs here and reports back under each job's lease token, with the same
 * rules as in-process workers (fencing, retries and backoff, dead letters, Retry-After pauses,
 * breakers). A claim may wait (long-poll) until work arrives.
 */
import { hostname } from 'node:os'
import type { JobProgress, Store } from '../store/store.js'
import type { EngineContext } from './context.js'
import { SpoolError } from './errors.js'
import type { Logger } from './logger.js'
import { describeError } from './logger.js'
import { assertQueueName, MAX_TIMER_MS } from './options.js'
import { decideFailure } from './retry.js'
import { WORKER_BEAT_MS } from './worker-registry.js'

export interface LeasedJob<P = unknown> {
  id: string
  queue: string
  leaseToken: number
  leaseExpiresAt: number
  attempt: number
  maxAttempts: number
  priority: number
  payload: P
  group: string | null
  tenant: string
  tags: string[]
  metadata: Record<string, unknown>
  timeoutMs: number | null
  createdAt: number
}

export interface ClaimRequest {
  queue: string
  /** The remote worker's name (shown in `spool.workers.list()`). */
  workerId: string
  /** Jobs to lease at most (default 1, at most 100). */
  limit?: number
  /** Lease length in ms (default 30 000): heartbeat before it lapses. */
  leaseMs?: number
  /** Wait up to this long for work when there is none (default 0, at most 60 000). */
  waitMs?: number
}

export interface FailureReport {
  message: string
  code?: string
  /** Default true: the attempt is retried while attempts remain. */
  retryable?: boolean
  /** The provider asked to wait this long: the attempt is given back and its key held back. */
  retryAfterMs?: number
}

export class Leases {
  private readonly waiters = new Set<() => void>()
  private readonly announced = new Map<string, number>()

  constructor(
    private readonly spool: EngineContext,
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  /** @internal Work may have arrived: wake long-polling claims. */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  /**
   * @example
   * const [job] = await spool.leases.claim({ queue: 'diarize', workerId: 'gpu-1', waitMs: 20_000 })
   * await spool.leases.complete(job.id, job.leaseToken, { speakers: 2 })
   */
  async claim<P = unknown>(request: ClaimRequest): Promise<LeasedJob<P>[]> {
    this.spool.assertOpen()
    assertQueueName(request.queue)
    const workerId = checkedString(request.workerId, 'workerId', 128)
    const limit = bounded(request.limit ?? 1, 'limit', 1, 100)
    const leaseMs = bounded(request.leaseMs ?? 30_000, 'leaseMs', 1_000, MAX_TIMER_MS)
    const waitMs = bounded(request.waitMs ?? 0, 'waitMs', 0, 60_000)
    const deadline = Date.now() + waitMs
    await this.spool.ensureQueue(request.queue)
    this.announce(request.queue, workerId, limit)
    for (;;) {
      const constraints = await this.spool.configs.constraints(request.queue)
      const now = Date.now()
      const { jobs, retryAt } = await this.store.jobClaim({
        queue: request.queue,
        workerId: `http:${workerId}`,
        limit,
        leaseMs,
        now,
        constraints,
      })
      if (jobs.length > 0) {
        this.spool.events.kick()
        return jobs.map((job) => ({
          id: job.id,
          queue: job.queue,
          leaseToken: job.leaseToken,
          leaseExpiresAt: job.leaseExpiresAt,
          attempt: job.attempt,
          maxAttempts: job.maxAttempts,
          priority: job.priority,
          payload: JSON.parse(this.spool.codec.decode(job.payload)) as P,
          group: job.group,
          tenant: job.tenant,
          tags: job.tags,
          metadata: job.metadata,
          timeoutMs: job.timeoutMs,
          createdAt: job.createdAt,
        }))
      }
      const left = deadline - Date.now()
      if (left <= 0) return []
      await this.waitForWork(
        Math.min(left, retryAt === null || retryAt === undefined ? left : retryAt - Date.now(), 1_000),
      )
    }
  }

  /** Extends the lease; throws `SPOOL_LEASE_LOST` when it is gone (cancelled, expired, taken over). */
  async heartbeat(id: string, leaseToken: number, leaseMs = 30_000): Promise<void> {
    const [alive] = await this.store.jobHeartbeat({
      items: [{ id: String(id), leaseToken }],
      leaseMs: bounded(leaseMs, 'leaseMs', 1_000, MAX_TIMER_MS),
      now: Date.now(),
    })
    if (!alive) throw lost()
  }

  async progress(id: string, leaseToken: number, percent: number, stage?: string, message?: string): Promise<void> {
    const progress: JobProgress = {
      percent: Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0)),
      ...(stage !== undefined && { stage }),
      ...(message !== undefined && { message }),
    }
    if (!(await this.store.jobProgress({ id: String(id), leaseToken, progress, now: Date.now() }))) throw lost()
    this.spool.events.kick()
  }

  async log(id: string, leaseToken: number, level: 'debug' | 'info' | 'warn' | 'error', message: string) {
    if (!(await this.store.jobLog({ id: String(id), leaseToken, level, message, now: Date.now() }))) throw lost()
    this.spool.events.kick()
  }

  async complete(id: string, leaseToken: number, result: unknown): Promise<void> {
    const job = await this.leased(id, leaseToken)
    let json: string
    try {
      json = JSON.stringify(result ?? null)
    } catch (error) {
      throw new SpoolError('SPOOL_INVALID_PAYLOAD', `the result is not JSON: ${(error as Error).message}`, {
        field: 'result',
      })
    }
    const [done] = await this.store.jobComplete({
      items: [{ id: job.id, queue: job.queue, leaseToken, result: this.spool.codec.encode(json) }],
      now: Date.now(),
    })
    if (!done) throw lost()
    await this.recordBreaker(job.queue, true)
    this.spool.changed([job.queue])
  }

  async fail(
    id: string,
    leaseToken: number,
    report: FailureReport,
  ): Promise<{ state: string; retryAt: number | null }> {
    const job = await this.leased(id, leaseToken)
    const now = Date.now()
    const retryable = report.retryable ?? true
    const verdict =
      report.retryAfterMs !== undefined && retryable
        ? {
            retryable: true,
            refundAttempt: true,
            retryAfterMs: bounded(report.retryAfterMs, 'retryAfterMs', 0, MAX_TIMER_MS),
          }
        : { retryable, refundAttempt: false }
    const decision = decideFailure(job, verdict, now)
    const outcome = await this.store.jobFail({
      id: job.id,
      leaseToken,
      error: {
        at: now,
        attempt: job.attempt,
        message: checkedString(report.message, 'message', 10_000),
        ...(report.code !== undefined && { code: checkedString(report.code, 'code', 128) }),
        retryable,
      },
      retryAt: decision.retryAt,
      refundAttempt: decision.refundAttempt,
      now,
      ...(decision.throttled &&
        decision.retryAt !== null && { pause: this.spool.configs.pauseKey(job.queue, job.group, decision.retryAt) }),
    })
    if (!outcome.ok) throw lost()
    // As for in-process workers: a Retry-After (attempt given back) does not count toward the breaker.
    if (retryable && !verdict.refundAttempt) await this.recordBreaker(job.queue, false)
    this.spool.changed([job.queue])
    return { state: outcome.job.state, retryAt: decision.retryAt }
  }

  private async leased(id: string, leaseToken: number) {
    const job = await this.store.jobGet({ id: String(id) })
    if (!job) throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${id}`, { field: 'id' })
    if (job.state !== 'active' || job.leaseToken !== leaseToken) throw lost()
    return job
  }

  private async recordBreaker(queue: string, success: boolean): Promise<void> {
    const name = (await this.spool.configs.get(queue)).config.breaker
    if (name === undefined) return
    await this.store
      .breakerRecord({ name, success, now: Date.now() })
      .catch((error) =>
        this.logger.warn({ breaker: name, ...describeError(error) }, 'recording a breaker outcome failed'),
      )
  }

  /** Remote workers appear in the registry while they claim. */
  private announce(queue: string, workerId: string, concurrency: number): void {
    const key = `${queue}\u0000${workerId}`
    const now = Date.now()
    if (now - (this.announced.get(key) ?? 0) < WORKER_BEAT_MS) return
    this.announced.set(key, now)
    void this.store
      .workerBeat({
        id: `http:${workerId}:${queue}`,
        nodeId: this.spool.nodeId,
        queue,
        concurrency,
        running: [],
        info: { kind: 'http', via: hostname() },
        now,
      })
      .catch(() => undefined)
  }

  private waitForWork(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const unwatch = this.store.onWake((hint) => {
        if (hint.jobs) done()
      })
      const timer = setTimeout(() => done(), Math.max(1, ms))
      const done = () => {
        clearTimeout(timer)
        unwatch()
        this.waiters.delete(done)
        resolve()
      }
      this.waiters.add(done)
    })
  }
}

function lost(): SpoolError {
  return new SpoolError(
    'SPOOL_LEASE_LOST',
    'the lease on this job is no longer held (cancelled, expired or taken over)',
    {
      field: 'leaseToken',
    },
  )
}

function bounded(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SpoolError('SPOOL_INVALID_OPTION', `${field} must be an integer from ${min} to ${max}`, { field })
  }
  return value
}

function checkedString(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new SpoolError('SPOOL_INVALID_OPTION', `${field} must be a string of 1 to ${max} characters`, { field })
  }
  return value
}
