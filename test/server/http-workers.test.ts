/**
 * The HTTP worker protocol end to end from a worker that is not Node (python3 with only its
 * standard library), then the fencing and retry rules and the long poll from the test itself.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { spawnCollected } from '../helpers/cli.js'
import { eventually, startServer, type TestServer } from './helpers.js'

const servers: TestServer[] = []
afterEach(async () => {
  for (const t of servers.splice(0)) await t.close()
})

async function python(
  args: string[],
): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  const script = new URL('../fixtures/http_worker.py', import.meta.url).pathname
  const run = spawnCollected('python3', [script, ...args])
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000)
  const code = await run.exited
  clearTimeout(timer)
  const lines = run
    .out()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
  return { code, lines, stderr: run.err() }
}

describe('HTTP workers', () => {
  it('a python3 worker claims (long poll), heartbeats, reports and completes or fails jobs', async () => {
    const t = await startServer()
    servers.push(t)
    const worker = await t.key('default', ['worker'])
    const run = python([t.url, worker, 'gpu', '3'])
    // The worker is already waiting in its long poll when the jobs arrive.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const ids: string[] = []
    for (const payload of [{ n: 2 }, { n: 5 }, { n: 0, fail: true }]) {
      const acme = await t.key('acme', ['producer'])
      ids.push(
        (await t.request('POST', '/v1/queues/gpu/jobs', { key: acme, body: { payload, options: { maxAttempts: 3 } } }))
          .body.id,
      )
    }
    const result = await run
    expect(result.code, result.stderr).toBe(0)
    expect(result.lines.filter((l) => l.step === 'finished').map((l) => l.stale)).toEqual([
      [409, 'SPOOL_LEASE_LOST'],
      [409, 'SPOOL_LEASE_LOST'],
      [409, 'SPOOL_LEASE_LOST'],
    ])
    const [a, b, c] = await Promise.all(ids.map((id) => t.spool.jobs.get(id)))
    expect(a).toMatchObject({
      state: 'completed',
      result: { doubled: 4 },
      progress: { percent: 50, stage: 'halfway' },
      tenant: 'acme',
    })
    expect(b).toMatchObject({ state: 'completed', result: { doubled: 10 } })
    expect(c).toMatchObject({
      state: 'failed',
      errors: [expect.objectContaining({ message: 'bad input', retryable: false })],
    })
    // A finished job still names the worker that ran it (the job page's Worker).
    for (const id of ids) {
      const job = await t.request('GET', `/v1/jobs/${id}`, { headers: { 'spool-tenant': 'acme' } })
      expect(job.body.workerId).toBe('http:py-1')
    }
    const history = await t.request('GET', `/v1/jobs/${ids[0]}/events`, { headers: { 'spool-tenant': 'acme' } })
    expect(history.body.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['job.created', 'job.active', 'job.progress', 'job.log', 'job.completed']),
    )
    const workers = await t.request('GET', '/v1/workers')
    expect(JSON.stringify(workers.body)).toContain('py-1')
  })

  it('retries a failed attempt with backoff, obeys retryAfterMs, and answers an idle long poll with no jobs', async () => {
    const t = await startServer()
    servers.push(t)
    const worker = await t.key('default', ['worker'])
    const claim = (body: object) =>
      t.request('POST', '/v1/queues/retry/claim', { key: worker, body: { workerId: 'w', ...body } })
    const started = Date.now()
    const idle = await claim({ waitMs: 400 })
    expect(idle.body.jobs).toEqual([])
    expect(Date.now() - started).toBeGreaterThanOrEqual(350)

    const { body } = await t.request('POST', '/v1/queues/retry/jobs', {
      body: { payload: { n: 1 }, options: { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 100 } } },
    })
    const [first] = (await claim({})).body.jobs
    expect(first).toMatchObject({ id: body.id, attempt: 1, tenant: 'default' })
    const failed = await t.request('POST', `/v1/jobs/${body.id}/fail`, {
      key: worker,
      body: { leaseToken: first.leaseToken, message: 'provider 503' },
    })
    expect(failed.body).toMatchObject({ ok: true, state: 'scheduled' })
    const second = await eventually(async () => (await claim({ waitMs: 2_000 })).body.jobs[0], 'the retry')
    expect(second.attempt).toBe(2)
    const limited = await t.request('POST', `/v1/jobs/${body.id}/fail`, {
      key: worker,
      body: { leaseToken: second.leaseToken, message: '429', retryAfterMs: 200 },
    })
    expect(limited.body.state).toBe('scheduled')
    const third = await eventually(async () => (await claim({ waitMs: 2_000 })).body.jobs[0], 'the rate-limited retry')
    expect(third.attempt).toBe(2)
    const done = await t.request('POST', `/v1/jobs/${body.id}/complete`, {
      key: worker,
      body: { leaseToken: third.leaseToken, result: 'ok' },
    })
    expect(done.status).toBe(200)
    const stale = await t.request('POST', `/v1/jobs/${body.id}/heartbeat`, {
      key: worker,
      body: { leaseToken: first.leaseToken },
    })
    expect(stale.status).toBe(409)
    expect(stale.body.code).toBe('SPOOL_LEASE_LOST')
  })

  it('a cancelled job’s lease is lost for the worker', async () => {
    const t = await startServer()
    servers.push(t)
    const worker = await t.key('default', ['worker'])
    const { body } = await t.request('POST', '/v1/queues/c/jobs', { body: { payload: 1 } })
    const [job] = (await t.request('POST', '/v1/queues/c/claim', { key: worker, body: { workerId: 'w' } })).body.jobs
    await t.request('POST', `/v1/jobs/${body.id}/cancel`)
    const late = await t.request('POST', `/v1/jobs/${body.id}/progress`, {
      key: worker,
      body: { leaseToken: job.leaseToken, percent: 10 },
    })
    expect(late.status).toBe(409)
    expect((await t.spool.jobs.get(body.id))?.state).toBe('cancelled')
  })
})

describe('HTTP workers at shutdown', () => {
  it('a waiting long poll answers at once with no jobs when the server stops', async () => {
    const t = await startServer()
    servers.push(t)
    const worker = await t.key('default', ['worker'])
    const started = Date.now()
    const poll = t.request('POST', '/v1/queues/idle/claim', { key: worker, body: { workerId: 'w', waitMs: 20_000 } })
    await new Promise((resolve) => setTimeout(resolve, 200))
    const closing = t.server.close()
    const answer = await poll
    await closing
    expect(answer.status).toBe(200)
    expect(answer.body.jobs).toEqual([])
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})
