/**
 * The store conformance suite: what every `Store` must do, checked through the engine a user
 * would run on it. A new database gets a folder under `src/store/` and a test file that calls
 * `describeStoreConformance` with a factory; nothing here knows which database it talks to.
 *
 * Each test gets a fresh store from the factory and random queue names, and fails if it leaves
 * workers running (`spool.close()` is awaited in `afterEach`).
 */
import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RateLimitedError, UnrecoverableError } from '../../engine/errors.js'
import type { Job, JobContext } from '../../engine/job.js'
import { Spool } from '../../engine/spool.js'
import type { ClaimedJob, JobState, Store } from '../store.js'

export interface StoreFixture {
  store: Store
  /** Called after the test; `failed` tells whether to keep the data for inspection. */
  cleanup(failed: boolean): Promise<void>
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

export function describeStoreConformance(name: string, createFixture: () => Promise<StoreFixture>): void {
  describe(`store conformance: ${name}`, () => {
    let fixture: StoreFixture
    let spool: Spool
    let queue: string
    let failed = false

    beforeEach(async (context) => {
      fixture = await createFixture()
      spool = await Spool.open({ store: fixture.store, maintenance: false })
      queue = `q-${randomUUID().slice(0, 8)}`
      failed = false
      context.onTestFailed(() => {
        failed = true
      })
    })

    afterEach(async () => {
      await spool.close({ graceMs: 100 })
      await fixture.cleanup(failed)
    })

    const stateOf = async (id: string) => (await spool.jobs.get(id))?.state
    const until = (id: string, state: JobState, timeoutMs = 5_000) =>
      waitFor(async () => (await stateOf(id)) === state, timeoutMs, `job ${id} to be ${state}`)

    describe('migrations', () => {
      it('are recorded and safe to run again', async () => {
        expect(await fixture.store.migrate()).toEqual({ applied: [] })
      })
    })

    describe('enqueue and complete', () => {
      it('runs a job once and keeps its result, progress, logs and events in order', async () => {
        const { id, created, state } = await spool.enqueue(
          queue,
          { to: 'a@b.c' },
          { tags: ['mail'], group: 'tenant-1' },
        )
        expect(created).toBe(true)
        expect(state).toBe('waiting')
        const runs: Job[] = []
        spool.work(queue, async (job, ctx) => {
          runs.push(job)
          await ctx.progress(40, 'sending', 'half way')
          await ctx.log('sent')
          return { ok: true }
        })
        await until(id, 'completed')
        const job = await spool.jobs.get(id)
        expect(runs).toHaveLength(1)
        expect(runs[0]?.payload).toEqual({ to: 'a@b.c' })
        expect(runs[0]?.attempt).toBe(1)
        expect(job).toMatchObject({
          state: 'completed',
          result: { ok: true },
          attempt: 1,
          progress: { percent: 40, stage: 'sending', message: 'half way' },
          tags: ['mail'],
          group: 'tenant-1',
        })
        expect(job?.finishedAt).toBeInstanceOf(Date)
        const history = await spool.jobs.history(id)
        expect(history.map((e) => e.type)).toEqual([
          'job.created',
          'job.active',
          'job.progress',
          'job.log',
          'job.completed',
        ])
        expect(history.map((e) => e.id)).toEqual([...history.map((e) => e.id)].sort((a, b) => a - b))
        expect(history[3]?.data).toMatchObject({ level: 'info', message: 'sent' })
      })

      it('enqueues many atomically: one bad item writes none', async () => {
        await expect(
          spool.enqueueMany(queue, [{ payload: 1 }, { payload: 2, options: { priority: 'later' as never } }]),
        ).rejects.toMatchObject({ code: 'SPOOL_INVALID_OPTION', details: { field: 'items.1.options.priority' } })
        expect((await spool.queues.counts(queue)).waiting).toBe(0)
        const results = await spool.enqueueMany(queue, [{ payload: 1 }, { payload: 2 }, { payload: 3 }])
        expect(results.map((r) => r.created)).toEqual([true, true, true])
        expect((await spool.queues.counts(queue)).waiting).toBe(3)
      })

      it('rejects payloads that are not JSON or too large, writing nothing', async () => {
        const circular: Record<string, unknown> = {}
        circular.self = circular
        await expect(spool.enqueue(queue, circular)).rejects.toMatchObject({ code: 'SPOOL_INVALID_PAYLOAD' })
        await expect(spool.enqueue(queue, { big: 'x'.repeat(1024 * 1024) })).rejects.toMatchObject({
          code: 'SPOOL_PAYLOAD_TOO_LARGE',
          details: { field: 'payload' },
        })
        await expect(spool.enqueue(queue, 1, { maxAttempts: 0 })).rejects.toMatchObject({
          code: 'SPOOL_INVALID_OPTION',
          details: { field: 'maxAttempts' },
        })
        await expect(spool.enqueue(queue, 1, { unknown: true } as never)).rejects.toMatchObject({
          code: 'SPOOL_INVALID_OPTION',
        })
        await expect(spool.enqueue('bad name!', 1)).rejects.toMatchObject({ code: 'SPOOL_INVALID_QUEUE_NAME' })
        await expect(spool.enqueue(queue, 1, { metadata: { n: 1n } })).rejects.toMatchObject({
          code: 'SPOOL_INVALID_PAYLOAD',
          details: { field: 'metadata' },
        })
        await expect(spool.enqueue(queue, 1, { timeoutMs: 2 ** 31 })).rejects.toMatchObject({
          details: { field: 'timeoutMs' },
        })
        const counts = await spool.queues.counts(queue)
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0)
      })

      it('enqueues inside the application transaction only where the store supports it', async () => {
        if (fixture.store.capabilities.supportsTransactionalEnqueue) return
        await expect(spool.enqueue(queue, 1, { transaction: {} })).rejects.toMatchObject({
          code: 'SPOOL_INVALID_OPTION',
          details: { field: 'transaction' },
        })
      })

      it('returns the existing job for a repeated idempotency key', async () => {
        const first = await spool.enqueue(queue, { n: 1 }, { idempotencyKey: 'order-42' })
        const again = await spool.enqueue(queue, { n: 2 }, { idempotencyKey: 'order-42' })
        expect(again).toMatchObject({ id: first.id, created: false, state: 'waiting' })
        const [inBatch] = await spool.enqueueMany(queue, [{ payload: 3, options: { idempotencyKey: 'order-42' } }])
        expect(inBatch?.id).toBe(first.id)
        expect((await spool.jobs.get(first.id))?.payload).toEqual({ n: 1 })
        expect((await spool.queues.counts(queue)).waiting).toBe(1)
      })

      it('scopes an idempotency key to its tenant: the same key in another tenant is another job', async () => {
        const a = await spool.enqueue(queue, { t: 'a' }, { idempotencyKey: 'visit-42', tenant: 'acme' })
        const b = await spool.enqueue(queue, { t: 'b' }, { idempotencyKey: 'visit-42', tenant: 'globex' })
        expect(b.created).toBe(true)
        expect(b.id).not.toBe(a.id)
        // Without a tenant a job is the default tenant's: a third scope.
        const plain = await spool.enqueue(queue, { t: 'default' }, { idempotencyKey: 'visit-42' })
        expect(plain.created).toBe(true)
        expect(new Set([a.id, b.id, plain.id]).size).toBe(3)
        // Within a tenant the key still dedupes, one at a time, in a batch and in a flow.
        expect(await spool.enqueue(queue, { t: 'b2' }, { idempotencyKey: 'visit-42', tenant: 'globex' })).toMatchObject(
          { id: b.id, created: false },
        )
        const batch = await spool.enqueueMany(queue, [
          { payload: 1, options: { idempotencyKey: 'visit-42', tenant: 'acme' } },
          { payload: 2, options: { idempotencyKey: 'visit-42', tenant: 'initech' } },
          { payload: 3, options: { idempotencyKey: 'visit-42', tenant: 'initech' } },
        ])
        expect(batch[0]).toMatchObject({ id: a.id, created: false })
        expect(batch[1]?.created).toBe(true)
        expect(batch[2]).toMatchObject({ id: batch[1]?.id, created: false })
        const flow = await spool.flows.add({
          queue,
          payload: 'parent',
          options: { idempotencyKey: 'flow-1', tenant: 'acme' },
          children: [{ queue, payload: 'child', options: { idempotencyKey: 'visit-42', tenant: 'hooli' } }],
        })
        const child = flow.children[0]?.id as string
        expect([a.id, b.id, plain.id, batch[1]?.id]).not.toContain(child)
        expect((await spool.jobs.get(child))?.tenant).toBe('hooli')
        const again = await spool.flows.add({
          queue,
          payload: 'parent again',
          options: { idempotencyKey: 'flow-1', tenant: 'acme' },
          children: [{ queue, payload: 'child again', options: { idempotencyKey: 'visit-42', tenant: 'hooli' } }],
        })
        expect(again.id).toBe(flow.id)
        expect(again.children[0]?.id).toBe(child)
        expect((await spool.jobs.get(a.id))?.payload).toEqual({ t: 'a' })
        expect((await spool.jobs.get(b.id))?.payload).toEqual({ t: 'b' })
      })
    })

    describe('who ran a job', () => {
      it('a finished job keeps the worker of its last attempt; a job waiting again names none', async () => {
        const claim = async (workerId: string) => {
          const [job] = await spool.leases.claim({ queue, workerId, leaseMs: 60_000 })
          return job as { id: string; leaseToken: number }
        }
        await spool.enqueue(queue, 'done', { maxAttempts: 3 })
        const done = await claim('w-done')
        expect((await spool.jobs.get(done.id))?.workerId).toBe('http:w-done')
        await spool.leases.complete(done.id, done.leaseToken, { ok: true })
        expect(await spool.jobs.get(done.id)).toMatchObject({ state: 'completed', workerId: 'http:w-done' })

        await spool.enqueue(queue, 'retried', { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 0 } })
        const first = await claim('w-first')
        await spool.leases.fail(first.id, first.leaseToken, { message: 'again' })
        expect((await spool.jobs.get(first.id))?.workerId).toBeNull()
        const second = await waitFor(() => claim('w-second'), 5_000, 'the retry')
        await spool.leases.fail(second.id, second.leaseToken, { message: 'for good', retryable: false })
        expect(await spool.jobs.get(second.id)).toMatchObject({ state: 'failed', workerId: 'http:w-second' })
        // A manual retry sends it back to waiting: no worker has it now.
        await spool.jobs.retry(second.id)
        expect(await spool.jobs.get(second.id)).toMatchObject({ state: 'waiting', workerId: null })

        // The in-process worker's batched completion keeps it too.
        const { id } = await spool.enqueue(queue, 'in-process')
        spool.work(queue, async () => 'ok')
        await until(id, 'completed')
        expect((await spool.jobs.get(id))?.workerId).toEqual(expect.any(String))
      })
    })

    describe('order', () => {
      it('runs lower priority values first and FIFO within a priority', async () => {
        const plan: [string, Parameters<Spool['enqueue']>[2]][] = [
          ['low-1', { priority: 'low' }],
          ['normal-1', {}],
          ['high-1', { priority: 'high' }],
          ['low-2', { priority: 'low' }],
          ['urgent-1', { priority: 'urgent' }],
          ['n15', { priority: 15 }],
          ['high-2', { priority: 'high' }],
          ['normal-2', { priority: 'normal' }],
        ]
        for (const [name, options] of plan) await spool.enqueue(queue, name, options)
        const order: string[] = []
        spool.work(
          queue,
          (job: Job<string>) => {
            order.push(job.payload)
          },
          { concurrency: 1 },
        )
        await waitFor(() => order.length === plan.length)
        expect(order).toEqual(['urgent-1', 'high-1', 'high-2', 'n15', 'normal-1', 'normal-2', 'low-1', 'low-2'])
      })

      it('changes the priority of a waiting job', async () => {
        const a = await spool.enqueue(queue, 'a', { priority: 'low' })
        await spool.enqueue(queue, 'b')
        const changed = await spool.jobs.reprioritize(a.id, 'urgent')
        expect(changed.priority).toBe(0)
        const order: string[] = []
        spool.work(queue, (job: Job<string>) => void order.push(job.payload), { concurrency: 1 })
        await waitFor(() => order.length === 2)
        expect(order).toEqual(['a', 'b'])
      })

      it('holds delayed jobs as scheduled until due, and promotes on demand', async () => {
        const later = await spool.enqueue(queue, 'later', { delayMs: 60_000 })
        const soon = await spool.enqueue(queue, 'soon', { delayMs: 150 })
        expect(later.state).toBe('scheduled')
        const started: Record<string, number> = {}
        const enqueuedAt = Date.now()
        spool.work(queue, (job: Job<string>) => {
          started[job.payload] = Date.now()
        })
        await until(soon.id, 'completed')
        expect((started.soon as number) - enqueuedAt).toBeGreaterThanOrEqual(140)
        expect(await stateOf(later.id)).toBe('scheduled')
        expect((await spool.jobs.promote(later.id)).state).toBe('waiting')
        await until(later.id, 'completed')
      })

      it('reports position and an estimated wait', async () => {
        const ids = []
        for (let i = 0; i < 5; i++) ids.push((await spool.enqueue(queue, i)).id)
        const urgent = await spool.enqueue(queue, 'u', { priority: 'urgent' })
        expect(await spool.jobs.position(ids[0] as string)).toMatchObject({ position: 1 })
        expect(await spool.jobs.position(ids[4] as string)).toMatchObject({ position: 5 })
        expect(await spool.jobs.position(urgent.id)).toMatchObject({ position: 0 })
      })
    })

    describe('failures', () => {
      it('retries with backoff, keeps every attempt error, then completes', async () => {
        const { id } = await spool.enqueue(queue, null, {
          maxAttempts: 3,
          backoff: { type: 'fixed', delayMs: 100 },
        })
        const times: number[] = []
        spool.work(queue, (job) => {
          times.push(Date.now())
          if (job.attempt < 3) throw new Error(`boom ${job.attempt}`)
          return 'ok'
        })
        await until(id, 'completed')
        const job = await spool.jobs.get(id)
        expect(job?.attempt).toBe(3)
        expect(job?.errors.map((e) => [e.attempt, e.message, e.retryable])).toEqual([
          [1, 'boom 1', true],
          [2, 'boom 2', true],
        ])
        expect(job?.errors[0]?.stack).toContain('boom 1')
        expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(95)
        const history = await spool.jobs.history(id)
        expect(history.filter((e) => e.type === 'job.retrying').map((e) => e.state)).toEqual(['scheduled', 'scheduled'])
      })

      it('sends exhausted jobs to failed (the dead-letter set) and retries them by hand', async () => {
        const { id } = await spool.enqueue(queue, null, { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 0 } })
        let healthy = false
        spool.work(queue, async (_job, ctx) => {
          await ctx.progress(30, 'trying')
          if (!healthy) throw new Error('down')
          return 'fixed'
        })
        await until(id, 'failed')
        const dead = await spool.jobs.get(id)
        expect(dead?.attempt).toBe(2)
        expect(dead?.errors).toHaveLength(2)
        expect((await spool.jobs.list({ queue, state: 'failed' })).jobs.map((j) => j.id)).toEqual([id])
        healthy = true
        const retried = await spool.jobs.retry(id)
        expect(retried).toMatchObject({ state: 'waiting', attempt: 0, progress: null })
        await until(id, 'completed')
        expect((await spool.jobs.get(id))?.result).toBe('fixed')
      })

      it('does not retry unrecoverable errors or client HTTP errors, but retries 5xx and timeouts', async () => {
        const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status })
        const cases: [string, unknown, JobState][] = [
          ['unrecoverable', new UnrecoverableError('corrupt input'), 'failed'],
          ['404', httpError(404), 'failed'],
          ['422', httpError(422), 'failed'],
          ['401', Object.assign(new Error('no'), { response: { status: 401 } }), 'failed'],
          ['503', httpError(503), 'completed'],
          ['408', httpError(408), 'completed'],
          ['network', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'completed'],
        ]
        const ids = new Map<string, string>()
        for (const [name] of cases) {
          ids.set(name, (await spool.enqueue(queue, name, { backoff: { type: 'fixed', delayMs: 0 } })).id)
        }
        spool.work(queue, (job: Job<string>) => {
          if (job.attempt === 1) throw cases.find(([name]) => name === job.payload)?.[1]
          return 'second try'
        })
        for (const [name, , expected] of cases) await until(ids.get(name) as string, expected)
        const unrecoverable = await spool.jobs.get(ids.get('unrecoverable') as string)
        expect(unrecoverable?.attempt).toBe(1)
        expect(unrecoverable?.errors[0]).toMatchObject({ name: 'UnrecoverableError', retryable: false })
      })

      it('reschedules on RateLimitedError and on 429 + Retry-After without spending an attempt', async () => {
        // Two queues: a Retry-After holds back its whole queue (see the orchestration suite).
        const limited = await spool.enqueue(queue, 'limited', { maxAttempts: 1 })
        const http429 = await spool.enqueue(`${queue}-429`, '429', { maxAttempts: 1 })
        const starts: Record<string, number[]> = { limited: [], '429': [] }
        const handler = (job: Job<string>) => {
          const runs = starts[job.payload] as number[]
          runs.push(Date.now())
          if (runs.length > 1) return 'ok'
          if (job.payload === 'limited') throw new RateLimitedError(200)
          throw Object.assign(new Error('Too Many Requests'), { status: 429, headers: { 'retry-after': '1' } })
        }
        spool.work(queue, handler)
        spool.work(`${queue}-429`, handler)
        await until(limited.id, 'completed')
        await until(http429.id, 'completed', 5_000)
        for (const [name, runs] of Object.entries(starts)) {
          const gap = (runs[1] as number) - (runs[0] as number)
          const expected = name === 'limited' ? 200 : 1_000
          expect(gap).toBeGreaterThanOrEqual(expected * 0.9)
          expect(gap).toBeLessThanOrEqual(expected * 1.1 + 100)
        }
        expect((await spool.jobs.get(limited.id))?.attempt).toBe(1)
        expect((await spool.jobs.get(http429.id))?.attempt).toBe(1)
      })

      it('falls back to the backoff when a RateLimitedError carries no usable delay', async () => {
        const { id } = await spool.enqueue(queue, null, { maxAttempts: 1, backoff: { type: 'fixed', delayMs: 20 } })
        spool.work(queue, (job) => {
          if ((job as Job).attempt === 1 && !seen.has(id)) {
            seen.add(id)
            throw new RateLimitedError(Number.NaN)
          }
          return 'ok'
        })
        const seen = new Set<string>()
        await until(id, 'completed')
        expect((await spool.jobs.get(id))?.attempt).toBe(1)
      })

      it('times out a long attempt through its AbortSignal and retries it', async () => {
        const { id } = await spool.enqueue(queue, null, { timeoutMs: 100, backoff: { type: 'fixed', delayMs: 0 } })
        const reasons: unknown[] = []
        spool.work(queue, async (job, { signal }) => {
          if (job.attempt > 1) return 'quick'
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
          reasons.push(signal.reason)
          return 'too late'
        })
        await until(id, 'completed')
        const job = await spool.jobs.get(id)
        expect(reasons[0]).toMatchObject({ code: 'SPOOL_JOB_TIMEOUT' })
        expect(job).toMatchObject({ attempt: 2, result: 'quick' })
        expect(job?.errors[0]).toMatchObject({ code: 'SPOOL_JOB_TIMEOUT', retryable: true })
      })
    })

    describe('cancellation and transitions', () => {
      it('cancels waiting and scheduled jobs at once', async () => {
        const waiting = await spool.enqueue(queue, 1)
        const scheduled = await spool.enqueue(queue, 2, { delayMs: 60_000 })
        expect((await spool.jobs.cancel(waiting.id)).state).toBe('cancelled')
        expect((await spool.jobs.cancel(scheduled.id)).state).toBe('cancelled')
        expect((await spool.jobs.history(waiting.id)).at(-1)).toMatchObject({
          type: 'job.cancelled',
          state: 'cancelled',
        })
      })

      it('cancels an active job through its signal and ignores what the handler returns after', async () => {
        const { id } = await spool.enqueue(queue, null)
        const started = deferred()
        const aborted = deferred<unknown>()
        spool.work(queue, async (_job, { signal }) => {
          started.resolve()
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
          aborted.resolve(signal.reason)
          return 'finished anyway'
        })
        await started.promise
        await spool.jobs.cancel(id)
        expect(await aborted.promise).toMatchObject({ code: 'SPOOL_JOB_CANCELLED' })
        await new Promise((resolve) => setTimeout(resolve, 50))
        const job = await spool.jobs.get(id)
        expect(job).toMatchObject({ state: 'cancelled', result: null })
      })

      it('aborts a job cancelled from another process at its next heartbeat', async () => {
        const { id } = await spool.enqueue(queue, null)
        const started = deferred()
        const aborted = deferred<unknown>()
        spool.work(
          queue,
          async (_job, { signal }) => {
            started.resolve()
            await new Promise((resolve) => signal.addEventListener('abort', resolve))
            aborted.resolve(signal.reason)
          },
          { heartbeatMs: 30 },
        )
        await started.promise
        // Straight to the store: this process's engine does not hear of it, as with another process.
        expect(await fixture.store.jobCancel({ id, now: Date.now() })).toMatchObject({ ok: true })
        expect(await aborted.promise).toMatchObject({ code: 'SPOOL_JOB_CANCELLED' })
        expect(await stateOf(id)).toBe('cancelled')
      })

      it('ends live subscriptions when Spool closes', async () => {
        const sub = spool.events.subscribe({ queue })
        const drained = (async () => {
          for await (const _ of sub) {
            // nothing arrives
          }
          return 'ended'
        })()
        await spool.close()
        expect(await drained).toBe('ended')
      })

      it('refuses transitions the state machine does not have, changing nothing', async () => {
        const waiting = await spool.enqueue(queue, 1)
        const refuse = (p: Promise<unknown>, code = 'SPOOL_INVALID_TRANSITION') =>
          expect(p).rejects.toMatchObject({ code })
        await refuse(spool.jobs.retry(waiting.id))
        await refuse(spool.jobs.promote(waiting.id))
        await spool.jobs.cancel(waiting.id)
        await refuse(spool.jobs.cancel(waiting.id))
        await refuse(spool.jobs.reprioritize(waiting.id, 'high'))
        await refuse(spool.jobs.retry('999999999'), 'SPOOL_JOB_NOT_FOUND')
        await refuse(spool.jobs.cancel('not-an-id'), 'SPOOL_JOB_NOT_FOUND')

        const active = await spool.enqueue(queue, 2)
        const release = deferred()
        const started = deferred()
        spool.work(queue, async () => {
          started.resolve()
          await release.promise
        })
        await started.promise
        await refuse(spool.jobs.remove(active.id))
        await refuse(spool.jobs.reprioritize(active.id, 'low'))
        await refuse(spool.jobs.retry(active.id))
        release.resolve()
        await until(active.id, 'completed')
        await refuse(spool.jobs.cancel(active.id))
        await spool.jobs.remove(active.id)
        expect(await spool.jobs.get(active.id)).toBeNull()
        expect((await spool.jobs.history(active.id)).map((e) => e.type)).toEqual(['job.removed'])
      })

      it('does not busy-poll a paused queue that has waiting jobs', async () => {
        await spool.queues.pause(queue)
        await spool.enqueue(queue, null)
        let claims = 0
        const counting = new Proxy(fixture.store, {
          get(target, key, receiver) {
            if (key === 'jobClaim') claims += 1
            const value = Reflect.get(target, key, receiver)
            return typeof value === 'function' ? value.bind(target) : value
          },
        })
        const watcher = await Spool.open({ store: counting, maintenance: false })
        watcher.work(queue, () => 'ran', { pollIntervalMs: 100 })
        await new Promise((resolve) => setTimeout(resolve, 350))
        await watcher.close()
        expect(claims).toBeGreaterThanOrEqual(1)
        expect(claims).toBeLessThanOrEqual(6)
      })

      it('pauses and resumes a queue: no claims while paused', async () => {
        await spool.queues.pause(queue)
        const { id } = await spool.enqueue(queue, null)
        spool.work(queue, () => 'ran', { pollIntervalMs: 20 })
        await new Promise((resolve) => setTimeout(resolve, 150))
        expect(await stateOf(id)).toBe('waiting')
        expect((await spool.queues.get(queue))?.paused).toBe(true)
        await spool.queues.resume(queue)
        await until(id, 'completed')
      })
    })

    describe('leases', () => {
      it('recovers a lapsed lease and fences out the old holder', async () => {
        const { id } = await spool.enqueue(queue, null)
        const store = fixture.store
        const now = Date.now()
        const {
          jobs: [first],
        } = await store.jobClaim({ queue, workerId: 'crashed', limit: 1, leaseMs: 50, now })
        expect(first?.id).toBe(id)
        const token = first?.leaseToken as number
        await new Promise((resolve) => setTimeout(resolve, 70))
        await spool.maintain()
        const recovered = await spool.jobs.get(id)
        expect(recovered?.state).toBe('waiting')
        expect(recovered?.errors[0]).toMatchObject({ code: 'SPOOL_LEASE_EXPIRED', attempt: 1 })

        const {
          jobs: [second],
        } = await store.jobClaim({ queue, workerId: 'new', limit: 1, leaseMs: 30_000, now: Date.now() })
        expect(second?.leaseToken).toBeGreaterThan(token)
        const stale = { id, leaseToken: token }
        const t = Date.now()
        expect(await store.jobComplete({ items: [{ ...stale, queue, result: '"stale"' }], now: t })).toEqual([false])
        expect(await store.jobHeartbeat({ items: [stale], leaseMs: 1_000, now: t })).toEqual([false])
        expect(await store.jobProgress({ ...stale, progress: { percent: 99 }, now: t })).toBe(false)
        expect(
          await store.jobFail({ ...stale, error: null, retryAt: null, refundAttempt: false, now: t }),
        ).toMatchObject({ ok: false, reason: 'lease_lost' })
        expect(await store.jobRelease({ ...stale, now: t })).toBe(false)
        const current = { id, queue, leaseToken: second?.leaseToken as number, result: '"fresh"' }
        expect(await store.jobComplete({ items: [current], now: t })).toEqual([true])
        expect(await spool.jobs.get(id)).toMatchObject({ state: 'completed', result: 'fresh', attempt: 2 })
      })

      it('records completions carried by a claim in the same call, guarded by their tokens', async () => {
        const store = fixture.store
        for (let i = 0; i < 3; i++) await spool.enqueue(queue, i)
        const claim = (completions: { id: string; queue: string; leaseToken: number; result: string }[] = []) =>
          store.jobClaim({ queue, workerId: 'w', limit: 2, leaseMs: 30_000, now: Date.now(), completions })
        const first = await claim()
        expect(first.jobs).toHaveLength(2)
        const [a, b] = first.jobs as [ClaimedJob, ClaimedJob]
        const second = await claim([
          { id: a.id, queue, leaseToken: a.leaseToken, result: '"a"' },
          { id: b.id, queue, leaseToken: b.leaseToken + 1, result: '"stale"' },
        ])
        expect(second.completed).toEqual([true, false])
        expect(second.jobs).toHaveLength(1)
        expect(await spool.jobs.get(a.id)).toMatchObject({ state: 'completed', result: 'a' })
        expect(await spool.jobs.get(b.id)).toMatchObject({ state: 'active', result: null })
      })

      it('sends a job whose lease lapsed on its last attempt to failed', async () => {
        const { id } = await spool.enqueue(queue, null, { maxAttempts: 1 })
        await fixture.store.jobClaim({ queue, workerId: 'crashed', limit: 1, leaseMs: 10, now: Date.now() })
        await new Promise((resolve) => setTimeout(resolve, 30))
        await spool.maintain()
        expect(await stateOf(id)).toBe('failed')
      })

      it('keeps leases alive with heartbeats while a handler runs', async () => {
        const { id } = await spool.enqueue(queue, null)
        spool.work(
          queue,
          async () => {
            await new Promise((resolve) => setTimeout(resolve, 400))
            return 'done'
          },
          { leaseMs: 150, heartbeatMs: 30 },
        )
        await until(id, 'active')
        for (let i = 0; i < 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 60))
          await spool.maintain()
        }
        await until(id, 'completed')
        expect((await spool.jobs.get(id))?.attempt).toBe(1)
      })

      it('hands running jobs back on graceful shutdown without spending the attempt', async () => {
        const { id } = await spool.enqueue(queue, null)
        const started = deferred()
        let reason: unknown
        spool.work(queue, async (_job, { signal }) => {
          started.resolve()
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
          reason = signal.reason
          throw signal.reason
        })
        await started.promise
        await spool.close({ graceMs: 50 })
        expect(reason).toMatchObject({ code: 'SPOOL_SHUTDOWN' })
        const reopened = await Spool.open({ store: fixture.store, maintenance: false })
        const job = await reopened.jobs.get(id)
        expect(job).toMatchObject({ state: 'waiting', attempt: 0, errors: [] })
        spool = reopened
      })

      it('lets running jobs finish within the grace period on shutdown', async () => {
        const { id } = await spool.enqueue(queue, null)
        const started = deferred()
        spool.work(queue, async () => {
          started.resolve()
          await new Promise((resolve) => setTimeout(resolve, 100))
          return 'finished'
        })
        await started.promise
        await spool.close({ graceMs: 2_000 })
        spool = await Spool.open({ store: fixture.store, maintenance: false })
        expect(await spool.jobs.get(id)).toMatchObject({ state: 'completed', result: 'finished' })
      })
    })

    describe('queues, retention and stats', () => {
      it('lists jobs newest first with cursor pages, and counts by state', async () => {
        const ids: string[] = []
        for (let i = 0; i < 7; i++) ids.push((await spool.enqueue(queue, i)).id)
        const first = await spool.jobs.list({ queue, state: 'waiting', limit: 3 })
        const second = await spool.jobs.list({ queue, state: 'waiting', limit: 3, cursor: first.nextCursor as string })
        const third = await spool.jobs.list({ queue, state: 'waiting', limit: 3, cursor: second.nextCursor as string })
        expect([...first.jobs, ...second.jobs, ...third.jobs].map((j) => j.id)).toEqual([...ids].reverse())
        expect(third.nextCursor).toBeNull()
        await expect(spool.jobs.list({ cursor: 'garbage' })).rejects.toMatchObject({ details: { field: 'cursor' } })
        expect(await spool.queues.counts(queue)).toMatchObject({ waiting: 7, completed: 0 })
        expect((await spool.queues.list()).find((q) => q.name === queue)?.counts.waiting).toBe(7)
      })

      it('tells when each queue’s oldest waiting job was created', async () => {
        const other = `${queue}-b`
        await spool.ensureQueue(other)
        const first = await spool.enqueue(queue, 1)
        await new Promise((resolve) => setTimeout(resolve, 5))
        const second = await spool.enqueue(queue, 2)
        await spool.enqueue(queue, 3, { delayMs: 60_000 })
        const createdAt = async (id: string) => (await spool.jobs.get(id))?.createdAt.getTime()
        const oldest = await spool.queues.oldestWaiting()
        expect(oldest[other]).toBeNull()
        expect(oldest[queue]).toBe(await createdAt(first.id))
        // The first job leaves the waiting state: the second is now the oldest (the third is scheduled).
        await spool.jobs.cancel(first.id)
        expect((await spool.queues.oldestWaiting())[queue]).toBe(await createdAt(second.id))
        await spool.jobs.cancel(second.id)
        expect((await spool.queues.oldestWaiting())[queue]).toBeNull()
      })

      it('applies retention by count and age, with a dry run that deletes nothing', async () => {
        for (let i = 0; i < 5; i++) await spool.enqueue(queue, i)
        spool.work(queue, () => 'ok')
        await waitFor(async () => (await spool.queues.counts(queue)).completed === 5)
        await spool.queues.configure(queue, { retention: { completed: { maxCount: 2 } } })
        const dry = await spool.queues.cleanup(queue, { dryRun: true })
        expect(dry).toMatchObject({ dryRun: true, removed: { completed: 3, failed: 0, cancelled: 0 } })
        expect(dry.sampleIds).toHaveLength(3)
        expect((await spool.queues.counts(queue)).completed).toBe(5)
        const real = await spool.queues.cleanup(queue)
        expect(real.removed.completed).toBe(3)
        expect((await spool.queues.counts(queue)).completed).toBe(2)
        await spool.queues.configure(queue, { retention: { completed: { maxAgeMs: 0 } } })
        await new Promise((resolve) => setTimeout(resolve, 5))
        expect((await spool.queues.cleanup(queue)).removed.completed).toBe(2)
        await expect(
          spool.queues.configure(queue, { retention: { completed: { maxAgeMs: -1 } } }),
        ).rejects.toMatchObject({
          code: 'SPOOL_INVALID_OPTION',
          details: { field: 'retention.completed.maxAgeMs' },
        })
      })

      it('keeps per-minute buckets, timings and the success rate', async () => {
        await spool.enqueue(queue, 'ok')
        await spool.enqueue(queue, 'bad', { maxAttempts: 1 })
        spool.work(queue, (job: Job<string>) => {
          if (job.payload === 'bad') throw new Error('bad')
          return 'ok'
        })
        await waitFor(async () => {
          const c = await spool.queues.counts(queue)
          return c.completed === 1 && c.failed === 1
        })
        const stats = await spool.stats(queue)
        expect(stats.counts[queue]).toMatchObject({ completed: 1, failed: 1 })
        expect(stats.perMinute.reduce((n, b) => n + b.completed, 0)).toBe(1)
        expect(stats.perMinute.reduce((n, b) => n + b.failed, 0)).toBe(1)
        expect(stats.successRate).toBe(0.5)
        expect(stats.waitMs?.p50).toBeGreaterThanOrEqual(0)
        expect(stats.runMs?.p95).toBeGreaterThanOrEqual(0)
        expect(stats.throughputPerMinute).toBeGreaterThan(0)
      })
    })

    describe('events', () => {
      it('streams live events and resumes from an id without gaps', async () => {
        const seen: string[] = []
        const live = spool.events.subscribe({ queue }, (event) => seen.push(`${event.type}:${event.jobId}`))
        const { id } = await spool.enqueue(queue, null)
        await waitFor(() => seen.length === 1)
        const resumeFrom = live.lastId
        live.close()
        spool.work(queue, async (_job: Job, ctx: JobContext) => {
          await ctx.progress(50)
        })
        await until(id, 'completed')
        const resumed = spool.events.subscribe({ queue, afterId: resumeFrom })
        const types: string[] = []
        for await (const event of resumed) {
          types.push(event.type)
          if (event.type === 'job.completed') break
        }
        expect(seen).toEqual([`job.created:${id}`])
        expect(types).toEqual(['job.active', 'job.progress', 'job.completed'])
      })

      it('filters a stream to one job', async () => {
        const a = await spool.enqueue(queue, 'a')
        await spool.enqueue(queue, 'b')
        const events = []
        const sub = spool.events.subscribe({ jobId: a.id, afterId: 0 })
        for await (const event of sub) {
          events.push(event)
          break
        }
        expect(events.map((e) => e.jobId)).toEqual([a.id])
      })
    })
  })
}
