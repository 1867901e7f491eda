/**
 * The conformance suite's second half: flows, breakers, rate limits and concurrency caps,
 * fairness, admission, tenants, records, the worker registry and the lease protocol — each
 * checked through the engine, on every store. Two `Spool` instances on one store stand for two
 * nodes where it matters (caps and limits are counted in the database, not in a process).
 */
import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Codec } from '../../engine/codec.js'
import { RateLimitedError, UnrecoverableError } from '../../engine/errors.js'
import type { Job, JobContext } from '../../engine/job.js'
import { Spool } from '../../engine/spool.js'
import type { JobState } from '../store.js'
import { type StoreFixture, waitFor } from './conformance.js'
import { maxInWindow } from './windows.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function describeOrchestrationConformance(name: string, createFixture: () => Promise<StoreFixture>): void {
  describe(`orchestration conformance: ${name}`, () => {
    let fixture: StoreFixture
    let spool: Spool
    const others: Spool[] = []
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
      await Promise.all(others.splice(0).map((other) => other.close({ graceMs: 100 })))
      await spool.close({ graceMs: 100 })
      await fixture.cleanup(failed)
    })

    /** A second node on the same store. */
    const node = async () => {
      const other = await Spool.open({ store: fixture.store, maintenance: false })
      others.push(other)
      return other
    }
    const stateOf = async (id: string) => (await spool.jobs.get(id))?.state
    const until = (id: string, state: JobState, timeoutMs = 5_000) =>
      waitFor(async () => (await stateOf(id)) === state, timeoutMs, `job ${id} to be ${state}`)

    describe('flows', () => {
      it('runs children first; the parent waits blocked, then sees their results', async () => {
        const order: string[] = []
        const flow = await spool.flows.add({
          queue: `${queue}-parent`,
          payload: 'parent',
          children: [
            { queue, payload: 'a' },
            { queue, payload: 'b' },
          ],
        })
        expect(await stateOf(flow.id)).toBe('blocked')
        expect(flow.children).toHaveLength(2)
        spool.work(queue, (job: Job<string>) => {
          order.push(job.payload)
          return job.payload.toUpperCase()
        })
        const seen: unknown[] = []
        spool.work(`${queue}-parent`, async (_job: Job, ctx: JobContext) => {
          order.push('parent')
          const children = await ctx.children<string>()
          seen.push(...children.map((child) => [child.id, child.state, child.result]))
          return 'done'
        })
        await until(flow.id, 'completed')
        expect(order.at(-1)).toBe('parent')
        expect(seen).toEqual([
          [flow.children[0]?.id, 'completed', 'A'],
          [flow.children[1]?.id, 'completed', 'B'],
        ])
        const history = (await spool.jobs.history(flow.id)).map((event) => event.type)
        expect(history).toEqual(['job.created', 'job.waiting', 'job.active', 'job.completed'])
      })

      it('follows each child’s failure policy: fail, continue, ignore', async () => {
        const make = (policy: 'fail' | 'continue' | 'ignore') =>
          spool.flows.add({
            queue: `${queue}-parent`,
            payload: policy,
            children: [
              { queue, payload: 'ok' },
              { queue, payload: 'bad', onFailure: policy, options: { maxAttempts: 1 } },
            ],
          })
        const [failFlow, continueFlow, ignoreFlow] = [await make('fail'), await make('continue'), await make('ignore')]
        spool.work(queue, (job: Job<string>) => {
          if (job.payload === 'bad') throw new UnrecoverableError('corrupt input')
          return job.payload
        })
        const seen = new Map<string, string[]>()
        spool.work(`${queue}-parent`, async (job: Job<string>, ctx: JobContext) => {
          seen.set(
            job.payload,
            (await ctx.children()).map((child) => `${child.state}:${child.error?.message ?? ''}`),
          )
          return 'ran'
        })
        await until(failFlow.id, 'failed')
        await until(continueFlow.id, 'completed')
        await until(ignoreFlow.id, 'completed')
        expect((await spool.jobs.get(failFlow.id))?.errors.at(-1)).toMatchObject({ code: 'SPOOL_DEPENDENCY_FAILED' })
        expect(seen.has('fail')).toBe(false)
        expect(seen.get('continue')).toEqual(['completed:', 'failed:corrupt input'])
        expect(seen.get('ignore')).toEqual(['completed:'])
      })

      it('waits for existing jobs named in dependsOn, and refuses ones that do not exist', async () => {
        const first = await spool.enqueue(queue, 'first', { delayMs: 200 })
        const second = await spool.enqueue(`${queue}-next`, 'second', { dependsOn: [first.id] })
        expect(second.state).toBe('blocked')
        await expect(spool.enqueue(queue, 'x', { dependsOn: ['999999999'] })).rejects.toMatchObject({
          code: 'SPOOL_DEPENDENCY_NOT_FOUND',
        })
        expect((await spool.queues.counts(queue)).waiting + (await spool.queues.counts(queue)).scheduled).toBe(1)
        spool.work(queue, () => 'one')
        spool.work(`${queue}-next`, async (_job, ctx) => (await ctx.children()).map((child) => child.result))
        await until(second.id, 'completed')
        expect((await spool.jobs.get(second.id))?.result).toEqual(['one'])
      })

      it('fans out at run time: the handler parks, its children run, it resumes with their results', async () => {
        const { id } = await spool.enqueue(queue, 3, { maxAttempts: 1 })
        let runs = 0
        spool.work(queue, async (job: Job<number>, ctx: JobContext) => {
          runs += 1
          const done = await ctx.children<number>()
          if (done.length === 0) {
            return ctx.waitForChildren(
              Array.from({ length: job.payload }, (_, i) => ({ queue: `${queue}-chunk`, payload: i })),
            )
          }
          return done.map((child) => child.result)
        })
        spool.work(`${queue}-chunk`, (job: Job<number>) => job.payload * 10)
        await until(id, 'completed')
        const job = await spool.jobs.get(id)
        expect(job?.result).toEqual([0, 10, 20])
        expect(runs).toBe(2)
        // Parking gave the attempt back: a job allowed one attempt ran twice without failing.
        expect(job?.attempt).toBe(1)
      })

      it('cancelling a parent cancels its unfinished children', async () => {
        const flow = await spool.flows.add({
          queue: `${queue}-parent`,
          children: [{ queue, payload: 1, children: [{ queue, payload: 2 }] }],
        })
        await spool.jobs.cancel(flow.id)
        const child = flow.children[0]
        const grandchild = child?.children[0]
        expect(await stateOf(child?.id as string)).toBe('cancelled')
        expect(await stateOf(grandchild?.id as string)).toBe('cancelled')
      })

      it('lists a job’s parents: flow parents and jobs that named it in dependsOn', async () => {
        const flow = await spool.flows.add({
          queue: `${queue}-parent`,
          children: [{ queue, payload: 1, children: [{ queue, payload: 2, options: { delayMs: 60_000 } }] }],
        })
        const child = flow.children[0]?.id as string
        const grandchild = flow.children[0]?.children[0]?.id as string
        const other = await spool.enqueue(`${queue}-other`, 'x', {
          dependsOn: [{ id: grandchild, onFailure: 'ignore' }],
        })
        expect(await spool.jobs.parents(grandchild)).toMatchObject([
          { id: child, queue, state: 'blocked', onFailure: 'fail', tenant: expect.any(String) },
          { id: other.id, queue: `${queue}-other`, state: 'blocked', onFailure: 'ignore' },
        ])
        expect(await spool.jobs.parents(child)).toMatchObject([{ id: flow.id, queue: `${queue}-parent` }])
        expect(await spool.jobs.parents(flow.id)).toEqual([])
        expect(await spool.jobs.parents('999999999')).toEqual([])
      })
    })

    describe('circuit breakers', () => {
      it('keeps each breaker’s state changes, newest first, by page', async () => {
        const name = `b-${queue}`
        await spool.breakers.define(name)
        await spool.breakers.define(`${name}-other`)
        await spool.breakers.open(name)
        await spool.breakers.open(`${name}-other`)
        await spool.breakers.close(name)
        await spool.breakers.close(name) // already closed: no change, no event
        await spool.breakers.open(name)
        const history = await spool.breakers.history(name)
        expect(history.map((event) => [event.type, event.data.from, event.data.breaker])).toEqual([
          ['breaker.opened', 'closed', name],
          ['breaker.closed', 'open', name],
          ['breaker.opened', 'closed', name],
        ])
        const first = await spool.breakers.history(name, { limit: 2 })
        expect(first.map((event) => event.id)).toEqual(history.slice(0, 2).map((event) => event.id))
        const rest = await spool.breakers.history(name, { limit: 2, beforeId: first.at(-1)?.id as number })
        expect(rest.map((event) => event.id)).toEqual([history[2]?.id])
        await expect(spool.breakers.history(`${name}-none`)).rejects.toMatchObject({ code: 'SPOOL_BREAKER_NOT_FOUND' })
        await expect(spool.breakers.history(name, { limit: 0 })).rejects.toMatchObject({ code: 'SPOOL_INVALID_OPTION' })
      })

      it('opens after N failures, claims nothing while open, probes and closes again', async () => {
        await spool.breakers.define('provider', {
          failureThreshold: 3,
          cooldownMs: 400,
          halfOpenProbes: 1,
          successThreshold: 2,
        })
        await spool.queues.configure(queue, { breaker: 'provider' })
        let healthy = false
        const starts: number[] = []
        // Every job is in before the worker starts: else a failed one, due again at once, could be
        // claimed a second time before the rest arrive (an attempt spent before the breaker opens).
        const ids = []
        for (let i = 0; i < 6; i++) {
          ids.push((await spool.enqueue(queue, i, { maxAttempts: 10, backoff: { type: 'fixed', delayMs: 0 } })).id)
        }
        spool.work(
          queue,
          () => {
            starts.push(Date.now())
            if (!healthy) throw Object.assign(new Error('overloaded'), { status: 503 })
            return 'ok'
          },
          { concurrency: 1, pollIntervalMs: 50 },
        )
        await waitFor(async () => (await spool.breakers.get('provider'))?.state === 'open', 5_000, 'breaker open')
        expect((await spool.stats(queue)).breakers).toMatchObject([{ name: 'provider', state: 'open' }])
        const openedAt = Date.now()
        const startsWhenOpened = starts.length
        expect(startsWhenOpened).toBe(3)
        await sleep(250)
        expect(starts.length).toBe(startsWhenOpened)
        const waiting = await Promise.all(ids.map((id) => spool.jobs.get(id)))
        expect(Math.max(...waiting.map((job) => job?.attempt ?? 0))).toBe(1)
        healthy = true
        await waitFor(async () => (await spool.breakers.get('provider'))?.state === 'closed', 5_000, 'breaker closed')
        expect(Date.now() - openedAt).toBeGreaterThanOrEqual(350)
        for (const id of ids) await until(id, 'completed')
        expect((await spool.stats(queue)).breakers).toMatchObject([{ name: 'provider', state: 'closed' }])
        const types = (await fixture.store.eventList({ afterId: 0, limit: 10_000 })).map((event) => event.type)
        expect(types.filter((type) => type.startsWith('breaker.'))).toEqual([
          'breaker.opened',
          'breaker.half_open',
          'breaker.closed',
        ])
      })

      it('opens on a failure rate within a sliding window, once enough calls were counted', async () => {
        const store = fixture.store
        await spool.breakers.define('rate', {
          failureThreshold: 1_000,
          failureRate: 0.5,
          windowMs: 1_000,
          minimumCalls: 4,
        })
        // A multiple of the window, so the buckets (a tenth of it) start on round times.
        const t0 = 1_700_000_000_000
        const record = (at: number, success: boolean) => store.breakerRecord({ name: 'rate', success, now: t0 + at })
        for (const at of [0, 10, 120, 130, 250, 260]) await record(at, true)
        await record(900, false)
        expect(await record(950, false)).toMatchObject({ state: 'closed', windowTotal: 8, windowFailures: 2 })
        // 150 ms later the two oldest buckets have left the window: 3 failures in 5 calls. A
        // window that restarted every second would hold 1 call here, one that never slid 9.
        expect(await record(1_150, false)).toMatchObject({ state: 'open', windowTotal: 5, windowFailures: 3 })

        await spool.breakers.define('few', {
          failureThreshold: 1_000,
          failureRate: 0.5,
          windowMs: 1_000,
          minimumCalls: 4,
        })
        for (const at of [0, 1, 2]) {
          expect(await store.breakerRecord({ name: 'few', success: false, now: t0 + at })).toMatchObject({
            state: 'closed',
          })
        }
        expect(await store.breakerRecord({ name: 'few', success: false, now: t0 + 3 })).toMatchObject({ state: 'open' })
        // Closing by hand starts a fresh window: the failures before it no longer count.
        await store.breakerSet({ name: 'few', state: 'closed', now: t0 + 10 })
        expect(await store.breakerRecord({ name: 'few', success: false, now: t0 + 20 })).toMatchObject({
          state: 'closed',
          windowTotal: 1,
          windowFailures: 1,
        })
      })

      it('opens on a failure rate through the workers: jobs wait without spending attempts', async () => {
        await spool.breakers.define('flaky', {
          failureThreshold: 1_000,
          failureRate: 0.5,
          windowMs: 60_000,
          minimumCalls: 6,
          cooldownMs: 60_000,
        })
        await spool.queues.configure(queue, { breaker: 'flaky' })
        const runs: number[] = []
        spool.work(
          queue,
          (job: Job<number>) => {
            runs.push(job.payload)
            if (job.payload % 2 === 1) throw Object.assign(new Error('overloaded'), { status: 503 })
          },
          { concurrency: 1, pollIntervalMs: 20 },
        )
        const retry = { maxAttempts: 5, backoff: { type: 'fixed' as const, delayMs: 60_000 } }
        for (let i = 0; i < 10; i++) await spool.enqueue(queue, i, retry)
        await waitFor(async () => (await spool.breakers.get('flaky'))?.state === 'open', 5_000, 'breaker open')
        // Alternating outcomes: the sixth call is the third failure, 50 % of six calls.
        expect(runs).toEqual([0, 1, 2, 3, 4, 5])
        await sleep(200)
        expect(runs).toHaveLength(6)
        expect((await spool.queues.counts(queue)).waiting).toBe(4)
      })

      it('is shared by every node: opened on one, the other stops claiming until it closes', async () => {
        await spool.breakers.define('shared', { failureThreshold: 2, cooldownMs: 60_000 })
        await spool.queues.configure(queue, { breaker: 'shared' })
        const other = await node()
        const failing = spool.work(
          queue,
          () => {
            throw Object.assign(new Error('unavailable'), { status: 503 })
          },
          { concurrency: 1, pollIntervalMs: 20 },
        )
        const retry = { maxAttempts: 5, backoff: { type: 'fixed' as const, delayMs: 60_000 } }
        await spool.enqueue(queue, 'a', retry)
        await spool.enqueue(queue, 'b', retry)
        await waitFor(async () => (await other.breakers.get('shared'))?.state === 'open', 5_000, 'breaker open')
        await failing.close()
        const { id } = await spool.enqueue(queue, 'c')
        const ran: string[] = []
        other.work(
          queue,
          (job: Job<string>) => {
            ran.push(job.payload)
          },
          { concurrency: 1, pollIntervalMs: 20 },
        )
        await sleep(300)
        expect(ran).toEqual([])
        expect(await stateOf(id)).toBe('waiting')
        await spool.breakers.close('shared')
        await until(id, 'completed')
        expect(ran).toEqual(['c'])
      })

      it('can be opened and closed by hand', async () => {
        await spool.breakers.define('manual')
        await spool.queues.configure(queue, { breaker: 'manual' })
        await spool.breakers.open('manual')
        const { id } = await spool.enqueue(queue, 1)
        spool.work(queue, () => 'ok', { pollIntervalMs: 50 })
        await sleep(200)
        expect(await stateOf(id)).toBe('waiting')
        await spool.breakers.close('manual')
        await until(id, 'completed')
        await expect(spool.breakers.open('nope')).rejects.toMatchObject({ code: 'SPOOL_BREAKER_NOT_FOUND' })
      })
    })

    describe('rate limits and concurrency', () => {
      it('never starts more than N jobs in any window, across two nodes', async () => {
        await spool.queues.configure(queue, { rateLimit: { max: 4, windowMs: 300 } })
        const other = await node()
        const starts: number[] = []
        const handler = () => {
          starts.push(Date.now())
        }
        await spool.enqueueMany(
          queue,
          Array.from({ length: 16 }, (_, i) => ({ payload: i })),
        )
        spool.work(queue, handler, { concurrency: 10, pollIntervalMs: 20 })
        other.work(queue, handler, { concurrency: 10, pollIntervalMs: 20 })
        await waitFor(() => starts.length === 16, 10_000, 'all 16 started')
        // The limit is on starts as the store records them (the clock read under the claim's
        // lock); a handler may begin a little later than that on a busy machine.
        const { jobs } = await spool.jobs.list({ queue, limit: 100 })
        const recorded = jobs.map((job) => job.startedAt?.getTime() as number)
        expect(maxInWindow(recorded, 300)).toBeLessThanOrEqual(4)
        // and it is not far below the limit either: 16 jobs at 4 per 300 ms take about 900 ms.
        const span = Math.max(...recorded) - Math.min(...recorded)
        expect(span).toBeLessThan(2_500)
      })

      it('limits the starts of each group, across two nodes, and not of the queue', async () => {
        await spool.queues.configure(queue, { groups: { rateLimit: { max: 2, windowMs: 400 } } })
        const other = await node()
        const started: string[] = []
        const handler = (job: Job) => {
          started.push(job.id)
        }
        const items = Array.from({ length: 12 }, (_, i) => ({ payload: i, options: { group: `g${i % 2}` } }))
        await spool.enqueueMany(queue, items)
        spool.work(queue, handler, { concurrency: 10, pollIntervalMs: 20 })
        other.work(queue, handler, { concurrency: 10, pollIntervalMs: 20 })
        await waitFor(() => started.length === 12, 10_000, 'all 12 started')
        const { jobs } = await spool.jobs.list({ queue, limit: 100 })
        const startsOf = (group: string) =>
          jobs.filter((job) => job.group === group).map((job) => job.startedAt?.getTime() as number)
        expect(maxInWindow(startsOf('g0'), 400)).toBeLessThanOrEqual(2)
        expect(maxInWindow(startsOf('g1'), 400)).toBeLessThanOrEqual(2)
        // The groups do not share a budget: both start their first two at once.
        const all = jobs.map((job) => job.startedAt?.getTime() as number)
        expect(maxInWindow(all, 400)).toBeGreaterThanOrEqual(3)
        // Six jobs per group at two per 400 ms take about 800 ms.
        expect(Math.max(...all) - Math.min(...all)).toBeLessThan(2_500)
      })

      it('caps active jobs across nodes, and per group', async () => {
        await spool.queues.configure(queue, { concurrency: 3, groups: { concurrency: 1 } })
        const other = await node()
        let active = 0
        let most = 0
        const activeByGroup = new Map<string, number>()
        let mostInGroup = 0
        const handler = async (job: Job) => {
          const group = job.group as string
          active += 1
          activeByGroup.set(group, (activeByGroup.get(group) ?? 0) + 1)
          most = Math.max(most, active)
          mostInGroup = Math.max(mostInGroup, activeByGroup.get(group) as number)
          await sleep(30)
          active -= 1
          activeByGroup.set(group, (activeByGroup.get(group) as number) - 1)
        }
        const items = Array.from({ length: 24 }, (_, i) => ({ payload: i, options: { group: `g${i % 4}` } }))
        const ids = (await spool.enqueueMany(queue, items)).map((r) => r.id)
        spool.work(queue, handler, { concurrency: 10, pollIntervalMs: 20 })
        other.work(queue, handler, { concurrency: 10, pollIntervalMs: 20 })
        for (const id of ids) await until(id, 'completed', 10_000)
        expect(most).toBe(3)
        expect(mostInGroup).toBe(1)
      })

      it('a Retry-After holds back the whole key, not just the job that got it, for that long (±10 %)', async () => {
        const a = await spool.enqueue(queue, 'throttled')
        const b = await spool.enqueue(queue, 'next')
        let throttled = false
        spool.work(
          queue,
          (job: Job<string>) => {
            if (job.payload === 'throttled' && !throttled) {
              throttled = true
              throw new RateLimitedError(2_000)
            }
            return 'ok'
          },
          { concurrency: 1, pollIntervalMs: 50 },
        )
        await until(a.id, 'completed', 10_000)
        await until(b.id, 'completed', 10_000)
        // Measured on the times the store recorded: the throttled attempt's failure, then the
        // starts of the job behind it and of its own second attempt.
        const throttledJob = await spool.jobs.get(a.id)
        const failedAt = throttledJob?.errors[0]?.at as number
        const pauses = [
          ((await spool.jobs.get(b.id))?.startedAt?.getTime() as number) - failedAt,
          (throttledJob?.startedAt?.getTime() as number) - failedAt,
        ]
        for (const pause of pauses) {
          expect(pause).toBeGreaterThanOrEqual(2_000 * 0.9)
          expect(pause).toBeLessThanOrEqual(2_000 * 1.1)
        }
        expect(throttledJob?.attempt).toBe(1)
      })

      it('with group limits, a Retry-After holds back only that group', async () => {
        await spool.queues.configure(queue, { groups: { concurrency: 10 } })
        const a = await spool.enqueue(queue, 'a1', { group: 'a' })
        const a2 = await spool.enqueue(queue, 'a2', { group: 'a' })
        const b = await spool.enqueue(queue, 'b1', { group: 'b' })
        const startedAt = new Map<string, number>()
        let throttled = false
        spool.work(
          queue,
          (job: Job<string>) => {
            if (!startedAt.has(job.payload)) startedAt.set(job.payload, Date.now())
            if (job.payload === 'a1' && !throttled) {
              throttled = true
              throw new RateLimitedError(500)
            }
            return 'ok'
          },
          { concurrency: 1, pollIntervalMs: 50 },
        )
        await until(b.id, 'completed')
        await until(a2.id, 'completed')
        await until(a.id, 'completed')
        const t0 = startedAt.get('a1') as number
        expect((startedAt.get('b1') as number) - t0).toBeLessThan(300)
        expect((startedAt.get('a2') as number) - t0).toBeGreaterThanOrEqual(450)
        const limits = await spool.limits.get(queue)
        expect(limits.groups.map((g) => g.group)).toContain('a')
        await spool.limits.reset(queue)
      })
    })

    describe('fairness', () => {
      it('weights groups: a group of weight 3 starts three jobs for each one of weight 1', async () => {
        await spool.queues.configure(queue, {
          groupBy: { payload: 'account.id' },
          groups: { fair: true, weights: { gold: 3 } },
        })
        const account = (id: string) => ({ payload: { account: { id } } })
        await spool.enqueueMany(
          queue,
          Array.from({ length: 40 }, () => account('gold')),
        )
        await spool.enqueueMany(
          queue,
          Array.from({ length: 40 }, () => account('free')),
        )
        const order: string[] = []
        spool.work(
          queue,
          (job: Job) => {
            order.push(job.group as string)
          },
          { concurrency: 1 },
        )
        await waitFor(() => order.length >= 20, 10_000, '20 starts')
        // gold steps 1/3 per job, free 1 per job: 15 to 5 in the first 20 (give or take the tie
        // at the boundary); without weights it would be 10 each, without fairness 20 to 0.
        const free = order.slice(0, 20).filter((group) => group === 'free').length
        expect(free).toBeGreaterThanOrEqual(4)
        expect(free).toBeLessThanOrEqual(5)
      })

      it('serves groups in turn: 10 jobs of tenant B start within the first 25, behind 1,000 of A', async () => {
        await spool.queues.configure(queue, { groups: { fair: true }, groupBy: 'tenant' })
        await spool.enqueueMany(
          queue,
          Array.from({ length: 1_000 }, (_, i) => ({ payload: i, options: { tenant: 'A' } })),
        )
        await spool.enqueueMany(
          queue,
          Array.from({ length: 10 }, (_, i) => ({ payload: i, options: { tenant: 'B' } })),
        )
        const order: string[] = []
        spool.work(
          queue,
          (job: Job) => {
            order.push(job.tenant)
          },
          { concurrency: 5 },
        )
        await waitFor(() => order.length >= 40, 10_000, '40 starts')
        const firstB = order.slice(0, 25).filter((tenant) => tenant === 'B').length
        expect(firstB).toBe(10)
      })
    })

    describe('admission', () => {
      it('refuses enqueues beyond a queue’s size with a retry time, writing nothing', async () => {
        await spool.queues.configure(queue, { maxSize: 3, maxGroupSize: 2 })
        await spool.enqueueMany(queue, [{ payload: 1 }, { payload: 2, options: { group: 'g' } }])
        await expect(spool.enqueueMany(queue, [{ payload: 3 }, { payload: 4 }])).rejects.toMatchObject({
          code: 'SPOOL_QUEUE_FULL',
          status: 503,
          details: { size: 2, limit: 3 },
        })
        await spool.enqueue(queue, 5, { group: 'g' })
        const error = await spool.enqueue(queue, 6).catch((e) => e)
        expect(error).toMatchObject({ code: 'SPOOL_QUEUE_FULL', details: { field: 'queue' } })
        expect(error.details.retryAfterMs).toBeGreaterThan(0)
        expect((await spool.queues.counts(queue)).waiting).toBe(3)
      })

      it('derives a job’s group from the user who enqueued it (groupBy: user)', async () => {
        await spool.queues.configure(queue, { groupBy: 'user', maxGroupSize: 2 })
        const a = await spool.enqueue(queue, 1, { user: 'alice' })
        const named = await spool.enqueue(queue, 2, { user: 'alice', group: 'explicit' })
        const anonymous = await spool.enqueue(queue, 3)
        expect((await spool.jobs.get(a.id))?.group).toBe('alice')
        expect((await spool.jobs.get(named.id))?.group).toBe('explicit')
        expect((await spool.jobs.get(anonymous.id))?.group).toBeNull()
        // so a group limit is a limit per user
        await spool.enqueue(queue, 4, { user: 'alice' })
        await expect(spool.enqueue(queue, 5, { user: 'alice' })).rejects.toMatchObject({
          code: 'SPOOL_QUEUE_FULL',
          details: { group: 'alice' },
        })
        await spool.enqueue(queue, 6, { user: 'bob' })
      })

      it('refuses a group beyond its size', async () => {
        await spool.queues.configure(queue, { maxGroupSize: 1 })
        await spool.enqueue(queue, 1, { group: 'g' })
        await expect(spool.enqueue(queue, 2, { group: 'g' })).rejects.toMatchObject({
          code: 'SPOOL_QUEUE_FULL',
          details: { field: 'group', group: 'g' },
        })
        await spool.enqueue(queue, 3, { group: 'h' })
      })

      it('limits a user’s enqueue rate with a burst allowance', async () => {
        await spool.queues.configure(queue, { admission: { perUser: { perSecond: 2, burst: 3 } } })
        for (let i = 0; i < 3; i++) await spool.enqueue(queue, i, { user: 'u1' })
        const error = await spool.enqueue(queue, 4, { user: 'u1' }).catch((e) => e)
        expect(error).toMatchObject({ code: 'SPOOL_RATE_LIMITED', status: 429 })
        expect(error.details.retryAfterMs).toBeGreaterThan(0)
        expect(error.details.retryAfterMs).toBeLessThanOrEqual(500)
        await spool.enqueue(queue, 5, { user: 'u2' })
        expect((await spool.queues.counts(queue)).waiting).toBe(4)
      })

      it('returns each new job’s position and estimated wait', async () => {
        const first = await spool.enqueue(queue, 1)
        const second = await spool.enqueue(queue, 2)
        const urgent = await spool.enqueue(queue, 3, { priority: 'urgent' })
        expect([first.position, second.position, urgent.position]).toEqual([0, 1, 0])
        // Nothing completed on this queue yet: no throughput to guess a wait from.
        expect([first.estimatedWaitMs, urgent.estimatedWaitMs]).toEqual([null, null])
        expect(await spool.enqueue(queue, 4, { position: false })).toMatchObject({
          position: null,
          estimatedWaitMs: null,
        })
        expect((await spool.jobs.position(second.id))?.position).toBe(2)

        // A batch: one count per priority level, the others by their place in the batch.
        const batch = await spool.enqueueMany(queue, [
          { payload: 5 },
          { payload: 6, options: { priority: 'high' } },
          { payload: 7 },
          { payload: 8, options: { priority: 'high' } },
          { payload: 9, options: { delayMs: 60_000 } },
        ])
        // urgent, then the two high ones, then 1, 2, 4, then 5 and 7.
        expect(batch.map((r) => r.position)).toEqual([6, 1, 7, 2, null])
        for (const r of batch.slice(0, 4)) expect((await spool.jobs.position(r.id))?.position).toBe(r.position)
        // A delayed job's wait is its delay.
        expect(batch[4]?.estimatedWaitMs).toBeGreaterThan(59_000)
        expect(batch[4]?.estimatedWaitMs).toBeLessThanOrEqual(60_000)
      })

      it('estimates the wait from the queue’s throughput, and bounds the count', async () => {
        // 30 jobs completed: about 30 a minute over the last five (it is a young queue).
        await spool.enqueueMany(
          queue,
          Array.from({ length: 30 }, (_, i) => ({ payload: i })),
          { position: false },
        )
        const worker = spool.work(queue, () => 'ok', { concurrency: 10 })
        await waitFor(async () => (await spool.queues.counts(queue)).completed === 30, 10_000, '30 completed')
        await worker.close()
        const perMinute = (await spool.stats(queue)).throughputPerMinute
        expect(perMinute).toBeGreaterThan(0)
        const results = [await spool.enqueue(queue, 'a'), await spool.enqueue(queue, 'b')]
        results.push(...(await spool.enqueueMany(queue, [{ payload: 'c' }, { payload: 'd' }])))
        expect(results.map((r) => r.position)).toEqual([0, 1, 2, 3])
        for (const [i, r] of results.entries()) {
          const expected = ((i + 1) / perMinute) * 60_000
          expect(r.estimatedWaitMs).toBeGreaterThanOrEqual(Math.floor(expected * 0.98))
          expect(r.estimatedWaitMs).toBeLessThanOrEqual(Math.ceil(expected * 1.02))
        }
        expect(results[0]).not.toHaveProperty('positionCapped')

        // Past 1,000 jobs ahead the count stops: the position is then a lower bound.
        await spool.enqueueMany(
          queue,
          Array.from({ length: 1_000 }, (_, i) => ({ payload: i })),
          { position: false },
        )
        const deep = await spool.enqueue(queue, 'deep')
        expect(deep).toMatchObject({ position: 1_000, positionCapped: true })
        expect((await spool.jobs.position(deep.id))?.position).toBe(1_004)
        const [next, after] = await spool.enqueueMany(queue, [{ payload: 'e' }, { payload: 'f' }])
        expect([next?.position, after?.position, after?.positionCapped]).toEqual([1_000, 1_001, true])
      })
    })

    describe('tenants, records, workers and leases', () => {
      it('scopes job lists, counts and event streams to a tenant', async () => {
        const a = await spool.enqueue(queue, { secret: 'a' }, { tenant: 'clinic-a' })
        await spool.enqueue(queue, { secret: 'b' }, { tenant: 'clinic-b' })
        const page = await spool.jobs.list({ tenant: 'clinic-a' })
        expect(page.jobs.map((job) => job.id)).toEqual([a.id])
        expect(page.jobs[0]?.tenant).toBe('clinic-a')
        expect((await spool.queues.counts(queue, { tenant: 'clinic-b' })).waiting).toBe(1)
        const events = spool.events.subscribe({ tenant: 'clinic-a', afterId: 0 })
        const seen = []
        for await (const event of events) {
          seen.push(event)
          break
        }
        expect(seen[0]).toMatchObject({ jobId: a.id, tenant: 'clinic-a' })
        const search = await spool.jobs.list({ text: 'SECRET":"B' })
        expect(search.jobs).toHaveLength(1)
      })

      it('keeps records by id and unique key, listed in write order per tenant', async () => {
        const one = await spool.records.put('keys', { tenant: 't1', key: 'hash-1', data: { scopes: ['admin'] } })
        await spool.records.put('keys', { tenant: 't2', key: 'hash-2', data: { scopes: ['reader'] } })
        expect((await spool.records.get('keys', one.id))?.data).toEqual({ scopes: ['admin'] })
        expect((await spool.records.findByKey('keys', 'hash-2'))?.tenant).toBe('t2')
        expect((await spool.records.list('keys', { tenant: 't1' })).map((r) => r.id)).toEqual([one.id])
        const all = await spool.records.list('keys')
        expect(all.map((r) => r.seq)).toEqual([...all.map((r) => r.seq)].sort((a, b) => a - b))
        await expect(spool.records.put('keys', { tenant: 't3', key: 'hash-1', data: {} })).rejects.toThrow()
        expect(await spool.records.delete('keys', one.id)).toBe(true)
        expect(await spool.records.get('keys', one.id)).toBeNull()
      })

      it('lists records newest first, paging back by seq, per tenant or all', async () => {
        const written = []
        for (let i = 0; i < 5; i++) written.push(await spool.records.put('audit', { tenant: `t${i % 2}`, data: { i } }))
        const seqs = (list: { seq: number }[]) => list.map((r) => r.seq)
        const t0 = written.filter((r) => r.tenant === 't0').map((r) => r.seq)
        expect(seqs(await spool.records.list('audit', { tenant: 't0', order: 'desc' }))).toEqual([...t0].reverse())
        const page = await spool.records.list('audit', { order: 'desc', limit: 2 })
        expect(seqs(page)).toEqual(
          written
            .slice(3)
            .map((r) => r.seq)
            .reverse(),
        )
        const older = await spool.records.list('audit', { order: 'desc', beforeSeq: page[1]?.seq as number })
        expect(seqs(older)).toEqual(
          written
            .slice(0, 3)
            .map((r) => r.seq)
            .reverse(),
        )
        const between = await spool.records.list('audit', {
          tenant: 't0',
          order: 'desc',
          afterSeq: t0[0] as number,
          beforeSeq: t0[2] as number,
        })
        expect(seqs(between)).toEqual([t0[1]])
      })

      it('lists connected workers and what they run', async () => {
        let release: () => void = () => {}
        const { id } = await spool.enqueue(queue, 1)
        spool.work(queue, () => new Promise<void>((resolve) => (release = resolve)), { concurrency: 2 })
        await until(id, 'active')
        const workers = await waitFor(
          async () => {
            const list = await spool.workers.list()
            return list.find((w) => w.queue === queue && w.running.includes(id)) ? list : null
          },
          8_000,
          'the worker to announce its job',
        )
        expect(workers?.find((w) => w.queue === queue)).toMatchObject({ concurrency: 2, nodeId: spool.nodeId })
        release()
      })

      it('serves workers outside the process by lease: claim, complete, fail, stale tokens refused', async () => {
        const one = await spool.enqueue(queue, { n: 1 })
        const two = await spool.enqueue(queue, { n: 2 }, { maxAttempts: 1 })
        const [a, b] = await spool.leases.claim({ queue, workerId: 'py-1', limit: 2 })
        expect([a?.id, b?.id]).toEqual([one.id, two.id])
        expect(a?.payload).toEqual({ n: 1 })
        await spool.leases.heartbeat(a?.id as string, a?.leaseToken as number)
        await spool.leases.progress(a?.id as string, a?.leaseToken as number, 50, 'half')
        await spool.leases.complete(a?.id as string, a?.leaseToken as number, { ok: true })
        await expect(spool.leases.complete(a?.id as string, a?.leaseToken as number, {})).rejects.toMatchObject({
          code: 'SPOOL_LEASE_LOST',
        })
        const failure = await spool.leases.fail(b?.id as string, b?.leaseToken as number, { message: 'gpu lost' })
        expect(failure.state).toBe('failed')
        expect((await spool.jobs.get(one.id))?.result).toEqual({ ok: true })
        const started = Date.now()
        const waited = spool.leases.claim({ queue, workerId: 'py-1', waitMs: 3_000 })
        await sleep(100)
        const three = await spool.enqueue(queue, { n: 3 })
        const [c] = await waited
        expect(c?.id).toBe(three.id)
        expect(Date.now() - started).toBeLessThan(2_000)
      })
    })

    describe('codec', () => {
      it('stores payloads and results only as the codec writes them', async () => {
        const reverse: Codec = {
          encode: (text) => `rev:${[...text].reverse().join('')}`,
          decode: (stored) => [...stored.slice(4)].reverse().join(''),
        }
        const coded = await Spool.open({ store: fixture.store, maintenance: false, codec: reverse })
        others.push(coded)
        const { id } = await coded.enqueue(queue, { patient: 'Jane Roe' })
        coded.work(queue, (job: Job<{ patient: string }>) => ({ summary: `seen ${job.payload.patient}` }))
        await waitFor(async () => (await coded.jobs.get(id))?.state === 'completed', 5_000, 'completed')
        const raw = await fixture.store.jobGet({ id })
        expect(raw?.payload).not.toContain('Jane')
        expect(raw?.result).not.toContain('Jane')
        expect((await coded.jobs.get(id))?.result).toEqual({ summary: 'seen Jane Roe' })
        expect((await coded.jobs.list({ text: 'jane roe' })).jobs.map((job) => job.id)).toEqual([id])
      })
    })
  })
}
