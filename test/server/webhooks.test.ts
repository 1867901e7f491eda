/**
 * Webhooks: signed deliveries with an idempotency id, delivered as Spool jobs that retry and
 * end in the dead-letter set; queue and breaker events reach the operator tenant and the tenants
 * using the queue; `session.processed` follows a real audio session; every alert kind fires
 * through them. Receivers are real HTTP servers on 127.0.0.1 that check each signature.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Transcript } from '../../src/audio/engines/transcription/types.js'
import { registerAudioEngine, unregisterAudioEngine } from '../../src/audio/pipeline/index.js'
import { readWavInfo } from '../../src/audio/wav.js'
import { verifySignature } from '../../src/security/signature.js'
import { DELIVERY_QUEUE } from '../../src/server/webhooks.js'
import { run, startAudioServer } from '../audio-pipeline/helpers.js'
import { sharedAudioAvailable, sharedPath } from '../helpers/shared-audio.js'
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

/** A receiver and a webhook of `key`'s tenant for `events`; `signed()` checks every signature. */
async function subscribe(t: TestServer, key: string, events: string[]) {
  const hook = await receiver(() => 204)
  closers.push(hook.close)
  const created = await t.request('POST', '/v1/webhooks', { key, body: { url: hook.url, events } })
  expect(created.status).toBe(201)
  const secret = created.body.secret as string
  return {
    ...hook,
    /** The bodies received, each after checking its signature (and that a wrong key fails it). */
    // biome-ignore lint/suspicious/noExplicitAny: delivery bodies of every event type
    signed(): any[] {
      return hook.received.map(({ headers, body }) => {
        expect(verifySignature(secret, body, headers['spool-signature'] as string)).toBe(true)
        expect(verifySignature('whsec_other', body, headers['spool-signature'] as string)).toBe(false)
        const parsed = JSON.parse(body)
        expect(headers['spool-event']).toBe(parsed.type)
        expect(headers['spool-delivery']).toBe(parsed.id)
        return parsed
      })
    },
  }
}

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
    const secret = (await t.request('POST', '/v1/webhooks', { body: { url: hook.url, events: ['alert.*'] } })).body
      .secret as string
    const alert = await t.request('POST', '/v1/alerts', {
      body: { kind: 'backlog', queue: 'slow', threshold: 2, cooldownMs: 60_000 },
    })
    expect(alert.status).toBe(201)
    await t.request('POST', '/v1/queues/slow/jobs/bulk', {
      body: { jobs: [{ payload: 1 }, { payload: 2 }, { payload: 3 }] },
    })
    await eventually(() => hook.received.length >= 1, 'an alert')
    const [first] = hook.received as [Received]
    expect(verifySignature(secret, first.body, first.headers['spool-signature'] as string)).toBe(true)
    const body = JSON.parse(first.body)
    expect(body).toMatchObject({
      type: 'alert.backlog',
      data: { queue: 'slow', data: { threshold: 2, value: 3, alertId: alert.body.id } },
    })
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(hook.received.length).toBe(1)
  })

  it('fires again once the cooldown has passed since the last firing, not at a clock boundary', async () => {
    const hook = await receiver(() => 200)
    closers.push(hook.close)
    const t = await startServer({ config: fast })
    servers.push(t)
    await t.request('POST', '/v1/webhooks', { body: { url: hook.url, events: ['alert.backlog'] } })
    await t.request('POST', '/v1/alerts', { body: { kind: 'backlog', queue: 'slow', threshold: 0, cooldownMs: 1_000 } })
    await t.request('POST', '/v1/queues/slow/jobs', { body: { payload: 1 } })
    await eventually(() => hook.received.length >= 3, 'three firings', 10_000)
    const times = hook.received.map((r) => Date.parse(JSON.parse(r.body).createdAt))
    const gaps = times.slice(1).map((at, i) => at - (times[i] ?? 0))
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1_000)
    const ids = new Set(hook.received.map((r) => r.headers['spool-delivery']))
    expect(ids.size).toBe(hook.received.length)
  })

  it('fires backlog_age, failure_rate and breaker_open alerts to the tenant that set them', async () => {
    const t = await startServer({ config: fast })
    servers.push(t)
    const acme = await t.key('acme', ['admin'])
    const globex = await t.key('globex', ['admin'])
    const acmeHook = await subscribe(t, acme, ['alert.*'])
    const globexHook = await subscribe(t, globex, ['alert.*'])
    const alert = async (key: string, body: object) => {
      const created = await t.request('POST', '/v1/alerts', { key, body: { cooldownMs: 60_000, ...body } })
      expect(created.status).toBe(201)
      return created.body.id as string
    }
    const aged = await alert(acme, { kind: 'backlog_age', queue: 'aged', threshold: 1 })
    const failing = await alert(acme, { kind: 'failure_rate', queue: 'flaky', threshold: 0.5 })
    const open = await alert(acme, { kind: 'breaker_open', breaker: 'provider', threshold: 0 })
    // globex measures its own backlog: acme's old jobs in "aged" are not its.
    await alert(globex, { kind: 'backlog_age', queue: 'aged', threshold: 1 })
    const refused = await t.request('POST', '/v1/alerts', {
      key: acme,
      body: { kind: 'backlog', breaker: 'provider', threshold: 1 },
    })
    expect(refused.status).toBe(400)
    expect(refused.body.field).toBe('breaker')

    await t.request('POST', '/v1/queues/aged/jobs', { key: acme, body: { payload: 1 } })
    for (const _ of [1, 2, 3]) await t.spool.enqueue('flaky', { n: 1 }, { tenant: 'acme' })
    for (const job of await t.spool.leases.claim({ queue: 'flaky', workerId: 'alerts', limit: 3 })) {
      await t.spool.leases.fail(job.id, job.leaseToken, { message: 'provider down', retryable: false })
    }
    await t.spool.breakers.define('provider', { failureThreshold: 3, cooldownMs: 600_000 })
    expect((await t.request('POST', '/v1/breakers/provider/open')).status).toBe(200)

    const types = () => new Set(acmeHook.signed().map((body) => body.type as string))
    await eventually(() => types().size >= 3, 'three kinds of alert', 15_000)
    const byType = Object.fromEntries(acmeHook.signed().map((body) => [body.type, body]))
    expect(byType['alert.backlog_age']).toMatchObject({
      tenant: 'acme',
      data: { queue: 'aged', data: { alertId: aged, threshold: 1 } },
    })
    expect(byType['alert.backlog_age'].data.data.value).toBeGreaterThan(1)
    expect(byType['alert.failure_rate']).toMatchObject({
      tenant: 'acme',
      data: { queue: 'flaky', data: { alertId: failing, threshold: 0.5, value: 1 } },
    })
    expect(byType['alert.breaker_open']).toMatchObject({
      tenant: 'acme',
      data: { data: { alertId: open, threshold: 0, breaker: 'provider' } },
    })
    expect(byType['alert.breaker_open'].data.data.value).toBeGreaterThan(0)
    // Each fires once per cooldown, and the other tenant's alert has nothing to measure.
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(acmeHook.received.length).toBe(3)
    expect(globexHook.received).toEqual([])
  })

  it('delivers queue and breaker events to the operator tenant and to tenants with jobs there', async () => {
    const t = await startServer({ config: fast })
    servers.push(t)
    const acme = await t.key('acme', ['admin'])
    const globex = await t.key('globex', ['admin'])
    const events = ['queue.paused', 'breaker.opened']
    const operatorHook = await subscribe(t, t.adminKey, events)
    const acmeHook = await subscribe(t, acme, ['queue.*', 'breaker.*'])
    const globexHook = await subscribe(t, globex, events)
    await t.spool.breakers.define('speech', { failureThreshold: 5, cooldownMs: 600_000 })
    await t.request('PUT', '/v1/queues/speech', { body: { breaker: 'speech' } })
    // acme has a job waiting in the queue; globex has only a finished one.
    await t.request('POST', '/v1/queues/speech/jobs', { key: acme, body: { payload: 1, options: { delayMs: 60_000 } } })
    const done = await t.request('POST', '/v1/queues/speech/jobs', { key: globex, body: { payload: 2 } })
    await t.request('POST', `/v1/jobs/${done.body.id}/cancel`, { key: globex })

    expect((await t.request('POST', '/v1/queues/speech/pause')).status).toBe(200)
    expect((await t.request('POST', '/v1/breakers/speech/open')).status).toBe(200)

    for (const [hook, tenant] of [
      [operatorHook, 'default'],
      [acmeHook, 'acme'],
    ] as const) {
      await eventually(() => hook.received.length >= 2, `${tenant}'s two deliveries`)
      const bodies = hook.signed()
      expect(bodies.map((b) => b.type).sort()).toEqual(['breaker.opened', 'queue.paused'])
      for (const body of bodies) expect(body.tenant).toBe(tenant)
      expect(bodies.find((b) => b.type === 'breaker.opened').data.data).toMatchObject({ breaker: 'speech' })
      expect(bodies.find((b) => b.type === 'queue.paused').data.queue).toBe('speech')
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(globexHook.received).toEqual([])
    expect(operatorHook.received.length).toBe(2)
    expect(acmeHook.received.length).toBe(2)
  })

  describe.skipIf(!sharedAudioAvailable('session.processed webhook (test/server/webhooks.test.ts)', ['jfk.flac']))(
    'session.processed',
    () => {
      it('is delivered to the session’s tenant once its results are saved', async () => {
        registerAudioEngine('transcription', 'hook-words', () => ({
          name: 'hook-words',
          async transcribe(path: string): Promise<Transcript> {
            const { durationSec } = await readWavInfo(path)
            const words = Array.from({ length: Math.floor(durationSec) }, (_, i) => ({
              text: `w${i}`,
              start: i,
              end: i + 0.5,
            }))
            return { text: words.map((w) => w.text).join(' '), words, segments: [], engine: 'hook-words' }
          },
        }))
        const dir = await mkdtemp(join(tmpdir(), 'spool-hook-session-'))
        closers.push(async () => {
          unregisterAudioEngine('transcription', 'hook-words')
          await rm(dir, { recursive: true, force: true })
        })
        const wav = join(dir, 'jfk.wav')
        await run('ffmpeg', ['-v', 'error', '-i', sharedPath('jfk.flac'), '-ac', '1', '-ar', '16000', wav])
        const t = await startAudioServer({ config: fast, audio: { engines: { transcription: 'hook-words' } } })
        servers.push(t)
        const acme = await t.key('acme', ['admin'])
        const acmeHook = await subscribe(t, acme, ['session.processed'])
        const operatorHook = await subscribe(t, t.adminKey, ['session.*'])
        const uploaded = await t.upload(wav, { visitType: 'routine' }, { key: acme })
        expect(uploaded.status).toBe(202)
        await eventually(() => acmeHook.received.length >= 1, 'session.processed', 60_000)
        const [body] = acmeHook.signed()
        expect(body).toMatchObject({
          type: 'session.processed',
          tenant: 'acme',
          data: { queue: 'audio.save', data: { session: uploaded.body.id, run: 1 } },
        })
        const session = await t.request('GET', `/v1/sessions/${uploaded.body.id}`, { key: acme })
        expect(session.body.status).toBe('processed')
        await new Promise((resolve) => setTimeout(resolve, 300))
        expect(acmeHook.received.length).toBe(1)
        expect(operatorHook.received).toEqual([])
      }, 90_000)
    },
  )
})
