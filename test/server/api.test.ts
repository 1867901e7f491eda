/**
 * The REST API's contract on a real SQLite file: queues, jobs, search and pagination, job
 * actions, bulk actions, keys and the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './helpers.js'

describe('REST API', () => {
  let t: TestServer
  beforeAll(async () => {
    t = await startServer()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('enqueues, reads and steers a job', async () => {
    const created = await t.request('POST', '/v1/queues/emails/jobs', {
      body: { payload: { to: 'a@b.c' }, options: { priority: 'high', tags: ['x'] } },
    })
    expect(created.status, created.text).toBe(201)
    expect(created.body).toMatchObject({ created: true, state: 'waiting' })
    const id = created.body.id as string
    expect(created.headers.get('x-request-id')).toBeTruthy()

    const job = await t.request('GET', `/v1/jobs/${id}`)
    expect(job.status).toBe(200)
    expect(job.body).toMatchObject({ id, queue: 'emails', tenant: 'default', payload: { to: 'a@b.c' }, priority: 10, tags: ['x'] })

    const again = await t.request('PATCH', `/v1/jobs/${id}`, { body: { priority: 'low' } })
    expect(again.body.priority).toBe(30)
    const cancelled = await t.request('POST', `/v1/jobs/${id}/cancel`)
    expect(cancelled.body.state).toBe('cancelled')
    const twice = await t.request('POST', `/v1/jobs/${id}/cancel`)
    expect(twice.status).toBe(409)
    expect(twice.headers.get('content-type')).toMatch(/application\/problem\+json/)
    expect(twice.body).toMatchObject({ code: 'SPOOL_INVALID_TRANSITION', status: 409 })
    const retried = await t.request('POST', `/v1/jobs/${id}/retry`)
    expect(retried.body.state).toBe('waiting')
    const removed = await t.request('DELETE', `/v1/jobs/${id}`)
    expect(removed.status).toBe(204)
    expect((await t.request('GET', `/v1/jobs/${id}`)).status).toBe(404)
  })
})
