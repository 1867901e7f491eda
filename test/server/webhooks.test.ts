/**
 * Webhooks: signed deliveries with an idempotency id, delivered as Spool jobs that retry and
 * end in the dead-letter set; alert thresholds fire through them.
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { verifySignature } from '../../src/security/signature.js'
import { DELIVERY_QUEUE } from '../../src/server/webhooks.js'
import { eventually, startServer, type TestServer } from './helpers.js'

interface Received {
  headers: IncomingMessage['headers']
  body: string
}

async function receiver(answer: (n: number, body: string) => number) {
  const received: Received[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      res.writeHead(answer(received.length, body)).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

const servers: TestServer[] = []
const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const t of servers.splice(0)) await t.close()
  for (const close of closers.splice(0)) await close()
})

const fast = { webhooks: { enabled: true, backoffMs: 100, maxAttempts: 3, alertIntervalMs: 200 } }

describe('webhooks', () => {
  it('delivers signed events of the tenant once each, retrying a receiver that fails', async () => {
    const hook = await receiver((n) => (n === 1 ? 503 : 204))
    closers.push(hook.close)
    const t = await startServer({ config: fast })
    servers.push(t)
    const acme = await t.key('acme', ['admin'])
    const created = await t.request('POST', '/v1/webhooks', {
      key: acme,
      body: { url: hook.url, events: ['job.cancelled'] },
    })
    expect(created.status).toBe(201)
    const secret = created.body.secret as string
    expect(secret).toMatch(/^whsec_/)
    expect(JSON.stringify((await t.request('GET', '/v1/webhooks', { key: acme })).body)).not.toContain(secret)

    const globexJob = await t.request('POST', '/v1/queues/w/jobs', {
      key: await t.key('globex', ['admin']),
      body: { payload: 1 },
    })
    await t.request('POST', `/v1/jobs/${globexJob.body.id}/cancel`, { key: await t.key('globex', ['admin']) })
    const job = await t.request('POST', '/v1/queues/w/jobs', { key: acme, body: { payload: 1 } })
    await t.request('POST', `/v1/jobs/${job.body.id}/cancel`, { key: acme })

    await eventually(() => hook.received.length >= 2, 'a delivery and its retry')
    const [failed, delivered] = hook.received as [Received, Received]
    expect(delivered.headers['spool-delivery']).toBe(failed.headers['spool-delivery'])
    expect(delivered.headers['spool-event']).toBe('job.cancelled')
    expect(verifySignature(secret, delivered.body, delivered.headers['spool-signature'] as string)).toBe(true)
    expect(verifySignature('whsec_wrong', delivered.body, delivered.headers['spool-signature'] as string)).toBe(false)
    const body = JSON.parse(delivered.body)
    expect(body).toMatchObject({ type: 'job.cancelled', tenant: 'acme', data: { jobId: job.body.id } })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(hook.received.length).toBe(2)
    const deliveries = await t.spool.jobs.list({ queue: DELIVERY_QUEUE, tenant: 'acme' })
    expect(deliveries.jobs).toHaveLength(1)
    expect(deliveries.jobs[0]).toMatchObject({ state: 'completed', attempt: 2 })
  })

  it('puts a delivery the receiver keeps refusing into the dead-letter set', async () => {
    const hook = await receiver(() => 500)
    closers.push(hook.close)
    const t = await startServer({ config: fast })
    servers.push(t)
    await t.request('POST', '/v1/webhooks', { body: { url: hook.url, events: ['job.*'] } })
    await t.request('POST', '/v1/queues/dl/jobs', { body: { payload: 1 } })
    const dead = await eventually(async () => {
      const page = await t.spool.jobs.list({ queue: DELIVERY_QUEUE, state: 'failed' })
      return page.jobs[0]
    }, 'a dead letter')
    expect(dead.attempt).toBe(3)
    expect(dead.errors.at(-1)?.message).toMatch(/HTTP 500/)
    expect(hook.received.length).toBe(3)
    const retried = await t.request('POST', `/v1/jobs/${dead.id}/retry`)
    expect(retried.body.state).toBe('waiting')
  })

  it('fires a backlog alert through the tenant’s webhooks, once per cooldown', async () => {
    const hook = await receiver(() => 200)
    closers.push(hook.close)
    const t = await startServer({ config: fast })
    servers.push(t)
    await t.request('POST', '/v1/webhooks', { body: { url: hook.url, events: ['alert.*'] } })
    const alert = await t.request('POST', '/v1/alerts', {
      body: { kind: 'backlog', queue: 'slow', threshold: 2, cooldownMs: 60_000 },
    })
    expect(alert.status).toBe(201)
    await t.request('POST', '/v1/queues/slow/jobs/bulk', {
      body: { jobs: [{ payload: 1 }, { payload: 2 }, { payload: 3 }] },
    })
    await eventually(() => hook.received.length >= 1, 'an alert')
    const body = JSON.parse(hook.received[0]?.body ?? '{}')
    expect(body).toMatchObject({
      type: 'alert.backlog',
      data: { queue: 'slow', data: { threshold: 2, value: 3, alertId: alert.body.id } },
    })
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(hook.received.length).toBe(1)
  })
})
