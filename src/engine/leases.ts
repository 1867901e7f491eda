/**
 * `spool.leases`: the worker protocol for processes that are not this one — a Python or Go
 * worker over HTTP claims jobs here and reports back under each job's lease token, with the same
 * rules as in-process workers (fencing, retries and backoff, dead letters, Retry-After pauses,
 * breakers). A claim may wait (long-poll) until work arrives.
 *
 * Shutdown treats these jobs like the ones running in this process: `drain(graceMs)` stops
 * granting leases (claims answer none, long polls end), keeps taking heartbeats and reports for
 * the leases this process granted until each is settled or `graceMs` is up, then hands the rest
 * back to their queue with the attempt refunded (`jobRelease`, as a worker's shutdown does). A
 * lease is "settled" once its job is no longer active under that token — completed, failed,
 * cancelled or taken over, through this process or another. Without this, a job whose worker
 * could no longer reach a stopping server lapsed later and cost an attempt.
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

/** How often a drain asks the store whether leases settled elsewhere (another node, a cancel). */
const DRAIN_CHECK_MS = 250

export class Leases {
  private readonly waiters = new Set<() => void>()
  private readonly announced = new Map<string, number>()
  /** Leases this process granted and has not seen settled: job id → token and expiry as last known here. */
  private readonly granted = new Map<string, { token: number; queue: string; expiresAt: number }>()
  private lastPrune = 0
  private draining = false
  private drained: Promise<{ handedBack: number }> | null = null
  /** Wakes a drain waiting for leases to settle. */
  private onSettled: (() => void) | null = null

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
    if (this.draining) return []
    await this.spool.ensureQueue(request.queue)
    this.announce(request.queue, workerId, limit)
    for (;;) {
      if (this.draining) return []
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
        this.remember(jobs)
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
    if (!alive) throw this.lost(String(id), leaseToken)
    const lease = this.granted.get(String(id))
    if (lease?.token === leaseToken) lease.expiresAt = Date.now() + leaseMs
  }

  async progress(id: string, leaseToken: number, percent: number, stage?: string, message?: string): Promise<void> {
    const progress: JobProgress = {
      percent: Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0)),
      ...(stage !== undefined && { stage }),
      ...(message !== undefined && { message }),
    }
    if (!(await this.store.jobProgress({ id: String(id), leaseToken, progress, now: Date.now() })))
      throw this.lost(String(id), leaseToken)
    this.spool.events.kick()
  }

  async log(id: string, leaseToken: number, level: 'debug' | 'info' | 'warn' | 'error', message: string) {
    if (!(await this.store.jobLog({ id: String(id), leaseToken, level, message, now: Date.now() })))
      throw this.lost(String(id), leaseToken)
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
    if (!done) throw this.lost(job.id, leaseToken)
    this.settle(job.id, leaseToken)
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
    if (!outcome.ok) throw this.lost(job.id, leaseToken)
    this.settle(job.id, leaseToken)
    // As for in-process workers: a Retry-After (attempt given back) does not count toward the breaker.
    if (retryable && !verdict.refundAttempt) await this.recordBreaker(job.queue, false)
    this.spool.changed([job.queue])
    return { state: outcome.job.state, retryAt: decision.retryAt }
  }

  private async leased(id: string, leaseToken: number) {
    const job = await this.store.jobGet({ id: String(id) })
    if (!job) throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${id}`, { field: 'id' })
    if (job.state !== 'active' || job.leaseToken !== leaseToken) throw this.lost(job.id, leaseToken)
    return job
  }

  /**
   * Stops granting leases, waits up to `graceMs` for the ones this process granted to be
   * settled (heartbeats and reports are still taken), then hands the rest back to their queue
   * with the attempt refunded. Idempotent: a second call gets the first one's outcome.
   *
   * @example
   * const { handedBack } = await spool.leases.drain(10_000)
   */
  drain(graceMs: number): Promise<{ handedBack: number }> {
    this.drained ??= this.runDrain(Math.max(0, Number.isFinite(graceMs) ? graceMs : 0))
    return this.drained
  }

  private async runDrain(graceMs: number): Promise<{ handedBack: number }> {
    this.draining = true
    this.wake()
    const deadline = Date.now() + graceMs
    if (this.granted.size > 0) {
      this.logger.info(
        { jobs: this.granted.size, graceMs },
        'stopping: waiting for the jobs HTTP workers hold, then handing the rest back',
      )
    }
    while (this.granted.size > 0) {
      await this.forgetSettled()
      const left = deadline - Date.now()
      if (this.granted.size === 0 || left <= 0) break
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, DRAIN_CHECK_MS))
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.onSettled = done
      })
      this.onSettled = null
    }
    const remaining = [...this.granted]
    this.granted.clear()
    let handedBack = 0
    const queues = new Set<string>()
    await Promise.all(
      remaining.map(async ([id, lease]) => {
        try {
          if (await this.store.jobRelease({ id, leaseToken: lease.token, now: Date.now() })) {
            handedBack += 1
            queues.add(lease.queue)
          }
        } catch (error) {
          this.logger.warn({ jobId: id, ...describeError(error) }, 'handing a job back failed; its lease will lapse')
        }
      }),
    )
    if (handedBack > 0) {
      this.logger.info({ jobs: handedBack }, 'handed jobs HTTP workers still held back to their queues')
      this.spool.changed([...queues])
    }
    return { handedBack }
  }

  /** Forgets the granted leases whose job is no longer active under that token. */
  private async forgetSettled(): Promise<void> {
    await Promise.all(
      [...this.granted].map(async ([id, lease]) => {
        const job = await this.store.jobGet({ id }).catch(() => undefined)
        if (job === undefined) return // the store did not answer: ask again next round
        if (job?.state !== 'active' || job.leaseToken !== lease.token) this.granted.delete(id)
      }),
    )
  }

  private remember(jobs: { id: string; queue: string; leaseToken: number; leaseExpiresAt: number }[]): void {
    const now = Date.now()
    // Leases whose last known expiry has passed were settled elsewhere or lapsed; forgetting
    // them (at most once a minute) keeps the map to the leases that are live.
    if (now - this.lastPrune > 60_000) {
      this.lastPrune = now
      for (const [id, lease] of this.granted) if (lease.expiresAt < now) this.granted.delete(id)
    }
    for (const job of jobs) {
      this.granted.set(job.id, { token: job.leaseToken, queue: job.queue, expiresAt: job.leaseExpiresAt })
    }
  }

  /** The lease under this token is over (reported, or found gone): stop waiting for it. */
  private settle(id: string, leaseToken: number): void {
    if (this.granted.get(id)?.token !== leaseToken) return
    this.granted.delete(id)
    this.onSettled?.()
  }

  /** The lease is gone: forget it if it is the one this process granted, and say so. */
  private lost(id: string, leaseToken: number): SpoolError {
    this.settle(id, leaseToken)
    return lost()
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
