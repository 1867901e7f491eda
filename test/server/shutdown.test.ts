/**
 * Graceful shutdown keeps its promise for both kinds of worker: jobs HTTP workers leased get the
 * grace period (the stopping server still takes their heartbeats and results) and are then
 * handed back with the attempt refunded, as jobs running in-process are; readiness turns 503
 * without an error in the log.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Spool } from '../../src/engine/spool.js'
import { eventually, startServer, type TestServer } from './helpers.js'

const servers: TestServer[] = []
afterEach(async () => {
  for (const t of servers.splice(0)) await t.close()
})

describe('graceful shutdown', () => {
  it('takes HTTP workers’ reports during the grace period, then hands their unfinished jobs back', async () => {
    const t = await startServer()
    servers.push(t)
    const worker = await t.key('default', ['worker'])
    const as = (key: string) => ({ key })
    const ids: string[] = []
    for (const n of [1, 2, 3]) {
      ids.push(
        (await t.request('POST', '/v1/queues/remote/jobs', { body: { payload: { n }, options: { maxAttempts: 3 } } }))
          .body.id,
      )
    }
    const claim = await t.request('POST', '/v1/queues/remote/claim', {
      ...as(worker),
      body: { workerId: 'gpu-1', limit: 3, leaseMs: 30_000 },
    })
    expect(claim.body.jobs).toHaveLength(3)
    const [done, held, abandoned] = claim.body.jobs as { id: string; leaseToken: number }[]
    const waiting = (await t.request('POST', '/v1/queues/remote/jobs', { body: { payload: { n: 4 } } })).body.id

    // Stop with a grace period long enough for the calls below.
    let stopped = false
    const stopping = t.server.close({ graceMs: 3_000 }).then(() => {
      stopped = true
    })
    await eventually(async () => (await t.request('GET', '/readyz', { key: null })).status === 503, 'readiness 503')

    // The server still answers the worker: a heartbeat, a result; new claims get nothing.
    const beat = await t.request('POST', `/v1/jobs/${held?.id}/heartbeat`, {
      ...as(worker),
      body: { leaseToken: held?.leaseToken },
    })
    expect(beat.status, beat.text).toBe(200)
    const complete = await t.request('POST', `/v1/jobs/${done?.id}/complete`, {
      ...as(worker),
      body: { leaseToken: done?.leaseToken, result: { ok: true } },
    })
    expect(complete.status, complete.text).toBe(200)
    const late = await t.request('POST', '/v1/queues/remote/claim', { ...as(worker), body: { workerId: 'gpu-2' } })
    expect(late.status).toBe(200)
    expect(late.body.jobs).toEqual([])
    expect((await t.spool.jobs.get(waiting))?.state).toBe('waiting')
    expect(stopped).toBe(false)

    // The second one is failed (retry), the third never reported: handed back at the deadline.
    const fail = await t.request('POST', `/v1/jobs/${held?.id}/fail`, {
      ...as(worker),
      body: { leaseToken: held?.leaseToken, message: 'out of memory' },
    })
    expect(fail.status, fail.text).toBe(200)
    await stopping

    expect(await t.spool.jobs.get(done?.id as string)).toMatchObject({ state: 'completed', result: { ok: true } })
    // Its failure was taken: attempt 1 is spent and recorded, and it waits for its retry.
    const retried = await t.spool.jobs.get(held?.id as string)
    expect(retried).toMatchObject({ attempt: 1, errors: [{ attempt: 1, message: 'out of memory' }] })
    expect(['scheduled', 'waiting']).toContain(retried?.state)
    // Handed back with its attempt refunded: it will run again as attempt 1 of 3.
    expect(await t.spool.jobs.get(abandoned?.id as string)).toMatchObject({ state: 'waiting', attempt: 0 })
    const history = await t.spool.jobs.history(abandoned?.id as string)
    expect(history.map((e) => e.type)).toContain('job.waiting')
    expect(t.logs.some((line) => line.includes('handed jobs HTTP workers still held back'))).toBe(true)

    // Readiness said 503 during the stop; that is no error, and no stack was logged.
    expect(t.logs.filter((line) => /"level":(50|60)/.test(line))).toEqual([])
    expect(t.logs.filter((line) => line.includes('"stack"'))).toEqual([])
    const refused = t.logs.find((line) => line.includes('"SPOOL_UNAVAILABLE"'))
    expect(refused).toMatch(/"level":30/)
  })

  it('ends the grace period as soon as every HTTP-leased job is in', async () => {
    const t = await startServer()
    servers.push(t)
    const worker = await t.key('default', ['worker'])
    await t.request('POST', '/v1/queues/quick/jobs', { body: { payload: 1 } })
    const [job] = (await t.request('POST', '/v1/queues/quick/claim', { key: worker, body: { workerId: 'w' } })).body
      .jobs as { id: string; leaseToken: number }[]
    let stopped = false
    // An hour of grace: the test would time out if the server waited it out.
    const stopping = t.server.close({ graceMs: 3_600_000 }).then(() => {
      stopped = true
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(stopped).toBe(false)
    const complete = await t.request('POST', `/v1/jobs/${job?.id}/complete`, {
      key: worker,
      body: { leaseToken: job?.leaseToken, result: 1 },
    })
    expect(complete.status).toBe(200)
    await stopping
    expect(stopped).toBe(true)
  })

  it.each(['sqlite', 'postgres'] as const)(
    'Spool.close hands back what HTTP workers hold, also without a server (%s)',
    async (database) => {
      const t = await startServer({ database })
      servers.push(t)
      const { id } = await t.spool.enqueue('embedded', { n: 1 }, { maxAttempts: 2 })
      const [leased] = await t.spool.leases.claim({ queue: 'embedded', workerId: 'py' })
      expect(leased?.attempt).toBe(1)
      // The engine alone, as an embedding application closes it (the server is left running).
      await t.spool.close({ graceMs: 200 })
      await expect(t.spool.leases.claim({ queue: 'embedded', workerId: 'py' })).rejects.toMatchObject({
        code: 'SPOOL_CLOSED',
      })
      const reopened = await Spool.open({ store: t.store, ...(t.codec && { codec: t.codec }), maintenance: false })
      try {
        expect(await reopened.jobs.get(id)).toMatchObject({ state: 'waiting', attempt: 0 })
      } finally {
        await reopened.close()
      }
    },
  )
})
