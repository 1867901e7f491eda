/**
 * A worker serves one queue: it leases jobs, runs the handler, and reports the outcome under the
 * lease's fencing token.
 *
 * Design, and what it trades:
 * - **Claim only free slots.** A round leases at most `concurrency - running` jobs, so no job
 *   sits leased-but-not-started in a local buffer. Prefetching further would save claims, but a
 *   prefetched low-priority job would then start after an urgent one arrived — the bench checks
 *   that an urgent job enqueued mid-drain starts before every waiting low one.
 * - **One round per tick.** Handlers that finish in the same macrotask share one round: their
 *   completions are written and the freed slots refilled in one transaction (the claim carries
 *   the `Completer`'s batch). Draining no-op jobs at concurrency 50 is one commit per 50 jobs.
 * - **Heartbeats in batches.** Every `heartbeatMs` one statement extends all held leases; a lease
 *   found gone aborts its handler (`LeaseLostError`, or `JobCancelledError` when it was cancelled
 *   from another process) and nothing the handler does afterwards is written.
 * - **Wake-ups**: an enqueue in this process wakes the worker at once; the store's hint covers
 *   other processes; an idle timer (the next scheduled run, or `pollIntervalMs`) is the safety net.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Span } from '@opentelemetry/api'
import type { ClaimConstraints, ClaimedJob, Store } from '../store/store.js'
import { classifyError } from './classify.js'
import type { Codec } from './codec.js'
import { Completer } from './completer.js'
import type { EngineContext } from './context.js'
import { JobCancelledError, JobTimeoutError, LeaseLostError, ShutdownError, SpoolError } from './errors.js'
import {
  type ChildJob,
  type Handler,
  type Job,
  type JobContext,
  toChildResult,
  type WaitingForChildren,
} from './job.js'
import { describeError, type Logger } from './logger.js'
import { assertQueueName, MAX_TIMER_MS } from './options.js'
import { decideFailure, toAttemptError } from './retry.js'
import { WORKER_BEAT_MS } from './worker-registry.js'

export interface WorkOptions {
  /** Jobs run at once by this worker (default 10). */
  concurrency?: number
  /** How long a lease lasts without a heartbeat, in ms (default 30 000). */
  leaseMs?: number
  /** How often held leases are extended (default a third of `leaseMs`, at most 2 000 ms). */
  heartbeatMs?: number
  /** The longest an idle worker waits before looking again (default 1 000 ms). */
  pollIntervalMs?: number
  /** The most jobs leased in one claim (default `concurrency`, at most 200). */
  batchSize?: number
}

/**
 * One job this worker runs. Its AbortController is made only when the handler reads
 * `ctx.signal` (a quarter of the per-job cost of a no-op handler otherwise goes to it).
 */
class Running {
  /** Set once the outcome is decided: later results from the handler are ignored. */
  settled = false
  timer: NodeJS.Timeout | null = null
  /** The attempt's tracing span, while it is open (tracing on). */
  span: Span | null = null
  private controller: AbortController | null = null
  private reason: Error | null = null

  constructor(readonly claimed: ClaimedJob) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController()
      if (this.reason) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  abort(reason: Error): void {
    this.reason ??= reason
    this.controller?.abort(reason)
  }
}

/** What a worker needs from the Spool that made it. */
export interface WorkerContext {
  store: Store
  logger: Logger
  spool: EngineContext
  onStateChange(): void
}

/**
 * Created by `spool.work()`.
 *
 * @example
 * const worker = spool.work('emails', async (job, { signal }) => send(job.payload, { signal }), { concurrency: 20 })
 * await worker.close()
 */
export class Worker<P = unknown, R = unknown> {
  readonly id = `${process.pid}:${randomUUID().slice(0, 8)}`
  private readonly running = new Map<string, Running>()
  private readonly completer: Completer
  private readonly concurrency: number
  private readonly leaseMs: number
  private readonly heartbeatMs: number
  private readonly pollIntervalMs: number
  private readonly batchSize: number
  private claiming = false
  private claimFailures = 0
  /** No claims before this time (the store was failing); the idle timer ends the wait. */
  private backoffUntil = 0
  private lastFailureLog = 0
  private pumpQueued = false
  private stopping = false
  private idleTimer: NodeJS.Timeout | null = null
  private heartbeatTimer: NodeJS.Timeout | null = null
  private unwatch: (() => void) | null = null
  private drained: (() => void) | null = null
  private closed: Promise<void> | null = null
  private beatTimer: NodeJS.Timeout | null = null
  private readonly store: Store
  private readonly logger: Logger
  private readonly spool: EngineContext
  private readonly codec: Codec
  private readonly hooks: { onStateChange(): void }

  constructor(
    readonly queue: string,
    private readonly handler: Handler<P, R>,
    options: WorkOptions,
    context: WorkerContext,
  ) {
    this.store = context.store
    this.logger = context.logger
    this.spool = context.spool
    this.codec = context.spool.codec
    this.hooks = context
    this.concurrency = positive(options.concurrency ?? 10, 'concurrency', 10_000)
    this.leaseMs = positive(options.leaseMs ?? 30_000, 'leaseMs')
    const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.min(2_000, Math.floor(this.leaseMs / 3)))
    this.heartbeatMs = positive(heartbeatMs, 'heartbeatMs', this.leaseMs - 1)
    this.pollIntervalMs = positive(options.pollIntervalMs ?? 1_000, 'pollIntervalMs')
    this.batchSize = positive(options.batchSize ?? Math.min(this.concurrency, 200), 'batchSize', 10_000)
    this.completer = new Completer(this.store, this.logger, this.hooks.onStateChange)
  }

  /** Jobs this worker is running now. */
  get activeCount(): number {
    return this.running.size
  }

  start(): this {
    this.unwatch = this.store.onWake((hint) => {
      if (hint.jobs) this.pump()
    })
    // Not unref'd: a running worker keeps its process alive, as a server's socket would, even
    // when its handlers wait on nothing else; `close()` lets it go.
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs)
    this.beatTimer = setInterval(() => void this.announce(), WORKER_BEAT_MS)
    this.beatTimer.unref()
    void this.announce()
    this.pump()
    return this
  }

  /** The queue's settings changed in this process: read them before the next claim. */
  reconfigure(): void {
    this.pump()
  }

  private announceTimer: NodeJS.Timeout | null = null

  /** What this worker runs changed: tell the registry within a second (at most once a second). */
  private announceSoon(): void {
    if (this.announceTimer || this.stopping) return
    this.announceTimer = setTimeout(() => {
      this.announceTimer = null
      void this.announce()
    }, 1_000)
    this.announceTimer.unref()
  }

  /** Tells every node this worker exists and what it runs (`spool.workers.list()`). */
  private async announce(): Promise<void> {
    if (this.stopping) return
    await this.store
      .workerBeat({
        id: this.id,
        nodeId: this.spool.nodeId,
        queue: this.queue,
        concurrency: this.concurrency,
        running: [...this.running.keys()],
        info: { kind: 'node', pid: process.pid, host: hostname() },
        now: Date.now(),
      })
      .catch((error) =>
        this.logger.warn({ queue: this.queue, ...describeError(error) }, 'announcing the worker failed'),
      )
  }

  /**
   * Look for work soon, writing finished jobs with the claim (coalesced: many calls in one tick
   * make one round). A stopping worker only writes.
   */
  pump(): void {
    if (this.pumpQueued) return
    this.pumpQueued = true
    setImmediate(() => {
      this.pumpQueued = false
      if (this.stopping) void this.completer.flush()
      else void this.fill()
    })
  }

  /** Abort a job this worker runs, when it was cancelled here. True if it was running here. */
  abort(jobId: string, reason: Error): boolean {
    const running = this.running.get(jobId)
    if (!running || running.settled) return false
    this.settle(running)
    running.abort(reason)
    return true
  }

  private async fill(): Promise<void> {
    if (this.claiming || this.stopping) return
    // Backing off after store failures. A timer can fire a millisecond before the wall clock
    // says it is due: look again then, or the worker would wait for a pump that never comes.
    const backoff = this.backoffUntil - Date.now()
    if (backoff > 0) return this.waitIdle(backoff)
    const free = this.concurrency - this.running.size
    if (free <= 0) {
      if (this.completer.size > 0) void this.completer.flush()
      return
    }
    this.claiming = true
    // A failure being written may hold the queue back (Retry-After) or open its breaker: the
    // next claim waits for it rather than start a job the write would have stopped.
    if (this.failing.size > 0) await Promise.all(this.failing)
    let failed = false
    const completions = this.completer.take()
    try {
      const limit = Math.min(free, this.batchSize)
      const constraints = await this.spool.configs.constraints(this.queue)
      const now = Date.now()
      const { jobs, completed, retryAt, woke } = await this.store.jobClaim({
        queue: this.queue,
        workerId: this.id,
        limit,
        leaseMs: this.leaseMs,
        now,
        completions: completions.map((entry) => entry.item),
        constraints,
      })
      this.completer.written(completions, completed)
      if (woke) this.spool.changed(woke)
      if (constraints?.breaker) this.recordSuccesses(constraints, completed.filter(Boolean).length)
      if (jobs.length > 0) this.hooks.onStateChange()
      for (const job of jobs) this.run(job)
      if (jobs.length === limit) {
        if (this.running.size < this.concurrency) this.pump()
      } else {
        await this.idle(now, retryAt ?? null)
      }
      this.claimFailures = 0
    } catch (error) {
      failed = true
      this.completer.failed(completions)
      if (this.stopping) return
      this.claimFailed(error)
    } finally {
      this.claiming = false
      // Completions that arrived while this claim was in flight ride on the next one (after a
      // failure, on the round the back-off starts).
      if (!failed && this.completer.size > 0) this.pump()
    }
  }

  /**
   * The store is failing (unreachable, restarting): wait `pollIntervalMs`, doubling with each
   * failure in a row up to ten times that, and log the first failure and then one line a
   * minute, not one per attempt.
   */
  private claimFailed(error: unknown): void {
    this.claimFailures += 1
    const now = Date.now()
    if (this.claimFailures === 1 || now - this.lastFailureLog >= 60_000) {
      this.lastFailureLog = now
      this.logger.error(
        { queue: this.queue, failuresInARow: this.claimFailures, ...describeError(error) },
        'claiming jobs failed; retrying with back-off',
      )
    }
    const delay = Math.min(this.pollIntervalMs * 2 ** Math.min(this.claimFailures - 1, 10), this.pollIntervalMs * 10)
    this.backoffUntil = now + delay
    this.waitIdle(Math.min(delay, MAX_TIMER_MS))
  }

  /**
   * Nothing more to claim now: sleep until the next scheduled job is due, until the limits let
   * claims through again (`retryAt`), or for the poll interval. A finishing job wakes it sooner.
   */
  private async idle(now: number, retryAt: number | null): Promise<void> {
    const next = await this.store.jobNextRunAt({ queue: this.queue, now })
    let due = next === null ? this.pollIntervalMs : Math.max(1, next - now)
    if (retryAt !== null) due = Math.min(due, Math.max(1, retryAt - now))
    this.waitIdle(Math.min(due, this.pollIntervalMs))
  }

  /** Counts successes against the queue's breaker (in the background; failures are counted before the next claim). */
  private recordSuccesses(constraints: ClaimConstraints, successes: number): void {
    const name = constraints.breaker?.name
    if (name === undefined || successes === 0) return
    const record = async () => {
      for (let i = 0; i < successes; i++) await this.store.breakerRecord({ name, success: true, now: Date.now() })
    }
    record().then(
      () => this.hooks.onStateChange(),
      (error) => this.logger.warn({ breaker: name, ...describeError(error) }, 'recording a breaker outcome failed'),
    )
  }

  private waitIdle(ms: number): void {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    if (this.stopping) return
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null
      this.pump()
    }, ms)
  }

  private run(claimed: ClaimedJob): void {
    const running = new Running(claimed)
    this.running.set(claimed.id, running)
    this.announceSoon()
    if (claimed.timeoutMs !== null) {
      running.timer = setTimeout(() => {
        const error = new JobTimeoutError(`job ran longer than its timeout of ${claimed.timeoutMs} ms`)
        if (this.settle(running)) {
          running.abort(error)
          this.endSpan(running, error)
          void this.fail(running, error)
        }
      }, claimed.timeoutMs)
    }
    let job: Job<P>
    try {
      job = toJob<P>(claimed, this.codec)
    } catch (error) {
      if (this.settle(running)) void this.fail(running, error)
      return
    }
    const ctx = this.context(running)
    let result: Promise<R>
    try {
      const traced = this.spool.tracing?.processSpan(claimed)
      if (traced) running.span = traced.span
      result = Promise.resolve(traced ? traced.run(() => this.handler(job, ctx)) : this.handler(job, ctx))
    } catch (error) {
      result = Promise.reject(error)
    }
    result.then(
      (value) => {
        this.endSpan(running)
        if (!this.settle(running)) return
        let json: string
        try {
          json = this.codec.encode(JSON.stringify(value ?? null))
        } catch (error) {
          void this.fail(
            running,
            new SpoolError('SPOOL_INVALID_PAYLOAD', `the result is not JSON: ${(error as Error).message}`),
          )
          return
        }
        this.completer.add({ id: claimed.id, queue: claimed.queue, leaseToken: claimed.leaseToken, result: json })
        this.pump()
      },
      (error: unknown) => {
        this.endSpan(running, error)
        if (this.settle(running)) void this.fail(running, error)
      },
    )
  }

  /** Ends the attempt's span once (the handler settled, or the attempt failed without it). */
  private endSpan(running: Running, error?: unknown): void {
    if (running.span === null) return
    this.spool.tracing?.endProcess(running.span, error)
    running.span = null
  }

  private context(running: Running): JobContext {
    const { id, leaseToken } = running.claimed
    const lost = () => {
      void this.leaseGone(running)
      return false
    }
    return {
      get signal() {
        return running.signal
      },
      progress: async (percent, stage, message) => {
        if (running.settled) return false
        const clamped = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0))
        try {
          const ok = await this.store.jobProgress({
            id,
            leaseToken,
            progress: {
              percent: clamped,
              ...(stage !== undefined && { stage }),
              ...(message !== undefined && { message }),
            },
            now: Date.now(),
          })
          if (ok) this.hooks.onStateChange()
          return ok || lost()
        } catch (error) {
          this.logger.warn({ jobId: id, ...describeError(error) }, 'recording progress failed')
          return false
        }
      },
      log: async (message, level = 'info') => {
        if (running.settled) return false
        try {
          const ok = await this.store.jobLog({ id, leaseToken, level, message: String(message), now: Date.now() })
          if (ok) this.hooks.onStateChange()
          return ok || lost()
        } catch (error) {
          this.logger.warn({ jobId: id, ...describeError(error) }, 'recording a log line failed')
          return false
        }
      },
      children: async <C>() => {
        const rows = await this.store.jobDependencies({ id })
        return rows
          .filter((row) => row.onFailure !== 'ignore' || row.state === 'completed')
          .map((row) => toChildResult<C>(row, this.codec))
      },
      waitForChildren: (children) => this.waitForChildren(running, children),
    }
  }

  /** Fan-out: the children are written and this job parked in one transaction; its slot frees. */
  private async waitForChildren(running: Running, children: ChildJob[]): Promise<WaitingForChildren> {
    const { claimed } = running
    if (running.settled) throw new LeaseLostError('the job is no longer running here')
    if (!Array.isArray(children)) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'children must be an array of { queue, payload }', {
        field: 'children',
      })
    }
    const now = Date.now()
    const prepared = []
    for (const [i, child] of children.entries()) {
      assertQueueName(child?.queue)
      const { config } = await this.spool.configs.get(child.queue)
      const options = { tenant: claimed.tenant, ...child.options }
      const job = this.spool.prepare(child.queue, child.payload, options, config, now, `children.${i}`)
      prepared.push({ job, onFailure: child.onFailure ?? 'fail' })
    }
    const outcome = await this.store.jobWaitForChildren({
      id: claimed.id,
      leaseToken: claimed.leaseToken,
      children: prepared,
      now,
    })
    if (!outcome.ok) {
      void this.leaseGone(running)
      throw new LeaseLostError('the lease on this job was lost')
    }
    this.settle(running)
    this.hooks.onStateChange()
    this.spool.changed([...new Set([this.queue, ...prepared.map((p) => p.job.queue)])])
    return { waitingFor: outcome.job.childIds }
  }

  /** Marks the outcome decided and frees the slot; false when it already was. */
  private settle(running: Running): boolean {
    if (running.settled) return false
    running.settled = true
    if (running.timer) clearTimeout(running.timer)
    this.running.delete(running.claimed.id)
    if (this.running.size === 0) this.drained?.()
    return true
  }

  /** Failures being written; shutdown waits for them. */
  private readonly failing = new Set<Promise<void>>()

  private fail(running: Running, error: unknown): Promise<void> {
    const write = this.writeFailure(running, error).finally(() => this.failing.delete(write))
    this.failing.add(write)
    return write
  }

  private async writeFailure(running: Running, error: unknown): Promise<void> {
    const { claimed } = running
    const now = Date.now()
    const verdict = classifyError(error, now)
    const attemptError = toAttemptError(error, claimed.attempt, verdict.retryable, now)
    const decision = decideFailure(claimed, verdict, now)
    const constraints = await this.spool.configs.constraints(this.queue).catch(() => null)
    try {
      const outcome = await this.store.jobFail({
        id: claimed.id,
        leaseToken: claimed.leaseToken,
        error: attemptError,
        retryAt: decision.retryAt,
        refundAttempt: decision.refundAttempt,
        now,
        ...(decision.throttled &&
          decision.retryAt !== null && {
            pause: this.spool.configs.pauseKey(this.queue, claimed.group, decision.retryAt),
          }),
      })
      if (outcome.ok) this.hooks.onStateChange()
      const breaker = constraints?.breaker?.name
      // A provider that asked to wait (429 + Retry-After) or a limit that turned the job away is
      // not failing: only failures that spend an attempt count toward the breaker.
      if (outcome.ok && verdict.retryable && !verdict.refundAttempt && breaker !== undefined) {
        await this.store.breakerRecord({ name: breaker, success: false, now: Date.now() })
        this.hooks.onStateChange()
      }
    } catch (storeError) {
      this.logger.error(
        { jobId: claimed.id, ...describeError(storeError) },
        'recording a failure failed; the lease will lapse and the job run again',
      )
    }
    this.pump()
  }

  private async heartbeat(): Promise<void> {
    const held = [...this.running.values()].filter((r) => !r.settled)
    if (held.length === 0) return
    try {
      const alive = await this.store.jobHeartbeat({
        items: held.map((r) => ({ id: r.claimed.id, leaseToken: r.claimed.leaseToken })),
        leaseMs: this.leaseMs,
        now: Date.now(),
      })
      for (const [i, ok] of alive.entries()) if (!ok) await this.leaseGone(held[i] as Running)
    } catch (error) {
      this.logger.warn({ queue: this.queue, ...describeError(error) }, 'heartbeat failed; will retry')
    }
  }

  /** The lease is gone: stop the handler, telling it whether the job was cancelled. */
  private async leaseGone(running: Running): Promise<void> {
    if (!this.settle(running)) return
    const job = await this.store.jobGet({ id: running.claimed.id }).catch(() => null)
    running.abort(
      job?.state === 'cancelled'
        ? new JobCancelledError('the job was cancelled')
        : new LeaseLostError('the lease on this job was lost'),
    )
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs`, then aborts the rest
   * (`ShutdownError`) and hands them back to the queue without spending their attempt.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    const graceMs = Math.min(Math.max(0, options.graceMs ?? 10_000), MAX_TIMER_MS)
    this.closed ??= this.shutdown(Number.isFinite(graceMs) ? graceMs : 10_000)
    return this.closed
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping = true
    this.unwatch?.()
    if (this.idleTimer) clearTimeout(this.idleTimer)
    while (this.claiming) await new Promise((resolve) => setImmediate(resolve))
    if (this.idleTimer) clearTimeout(this.idleTimer)
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        new Promise<void>((resolve) => {
          this.drained = resolve
        }),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs)
        }),
      ])
      clearTimeout(timer)
    }
    const left = [...this.running.values()]
    for (const running of left) {
      this.settle(running)
      running.abort(new ShutdownError('Spool is shutting down; the job goes back to the queue'))
    }
    await Promise.all(
      left.map((running) =>
        this.store
          .jobRelease({ id: running.claimed.id, leaseToken: running.claimed.leaseToken, now: Date.now() })
          .catch((error) =>
            this.logger.warn(
              { jobId: running.claimed.id, ...describeError(error) },
              'handing a job back failed; its lease will lapse',
            ),
          ),
      ),
    )
    await Promise.all(this.failing)
    await this.completer.flush()
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    if (this.beatTimer) clearInterval(this.beatTimer)
    if (this.announceTimer) clearTimeout(this.announceTimer)
    await this.store.workerRemove({ id: this.id }).catch(() => undefined)
    this.hooks.onStateChange()
  }
}

function positive(value: number, field: string, max = MAX_TIMER_MS): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new SpoolError('SPOOL_INVALID_OPTION', `${field} must be an integer from 1 to ${max}`, { field })
  }
  return value
}

function toJob<P>(claimed: ClaimedJob, codec: Codec): Job<P> {
  return {
    id: claimed.id,
    queue: claimed.queue,
    payload: JSON.parse(codec.decode(claimed.payload)) as P,
    attempt: claimed.attempt,
    maxAttempts: claimed.maxAttempts,
    priority: claimed.priority,
    group: claimed.group,
    tags: claimed.tags,
    metadata: claimed.metadata,
    idempotencyKey: claimed.idempotencyKey,
    tenant: claimed.tenant,
    createdAt: new Date(claimed.createdAt),
  }
}
