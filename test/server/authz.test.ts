/**
 * The tenant and role authorisation matrix over every route: each scope gets exactly the
 * permissions docs/security.md lists, and no credential of one tenant reads or changes
 * another's jobs, keys, webhooks, alerts or audit entries — except an admin who names the
 * tenant explicitly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Scope } from '../../src/security/api-keys.js'
import { allows, type Permission } from '../../src/server/auth.js'
import { allRoutes } from '../../src/server/routes/index.js'
import { startServer, type TestServer } from './helpers.js'

const A = 'acme'
const B = 'globex'
const MARK = 'GLOBEX-PRIVATE-MARKER'
const NO_SESSION = '00000000-0000-4000-8000-00000000abcd'
type Role = Scope | 'none'
const ROLES: Role[] = ['admin', 'producer', 'worker', 'reader', 'none']

interface Fixture {
  aJob: string
  bJob: string
  aKeyId: string
  bKeyId: string
  bWebhook: string
  bAlert: string
  keys: Record<Role, string | null>
  bAdmin: string
}

type Build = (f: Fixture) => { method: string; path: string; body?: unknown }

/** A request for every route, valid except perhaps for who sends it. */
const requests: Record<string, Build> = {
  'queues.list': () => ({ method: 'GET', path: '/v1/queues' }),
  'queues.get': () => ({ method: 'GET', path: '/v1/queues/shared' }),
  'queues.configure': () => ({ method: 'PUT', path: '/v1/queues/shared', body: {} }),
  'queues.pause': () => ({ method: 'POST', path: '/v1/queues/other/pause' }),
  'queues.resume': () => ({ method: 'POST', path: '/v1/queues/other/resume' }),
  'queues.stats': () => ({ method: 'GET', path: '/v1/queues/shared/stats' }),
  stats: () => ({ method: 'GET', path: '/v1/stats' }),
  'queues.cleanup': () => ({ method: 'POST', path: '/v1/queues/shared/cleanup', body: { dryRun: true } }),
  'jobs.create': () => ({ method: 'POST', path: '/v1/queues/shared/jobs', body: { payload: { from: A } } }),
  'jobs.createMany': () => ({ method: 'POST', path: '/v1/queues/shared/jobs/bulk', body: { jobs: [{ payload: 1 }] } }),
  'jobs.list': () => ({ method: 'GET', path: '/v1/jobs?limit=1000' }),
  'jobs.get': (f) => ({ method: 'GET', path: `/v1/jobs/${f.aJob}` }),
  'jobs.status': (f) => ({ method: 'GET', path: `/v1/jobs/${f.aJob}/status` }),
  'jobs.position': (f) => ({ method: 'GET', path: `/v1/jobs/${f.aJob}/position` }),
  'jobs.history': (f) => ({ method: 'GET', path: `/v1/jobs/${f.aJob}/events` }),
  'jobs.reprioritize': (f) => ({ method: 'PATCH', path: `/v1/jobs/${f.aJob}`, body: { priority: 'high' } }),
  'jobs.retry': (f) => ({ method: 'POST', path: `/v1/jobs/${f.aJob}/retry` }),
  'jobs.cancel': (f) => ({ method: 'POST', path: `/v1/jobs/${f.aJob}/cancel` }),
  'jobs.promote': (f) => ({ method: 'POST', path: `/v1/jobs/${f.aJob}/promote` }),
  'jobs.remove': () => ({ method: 'DELETE', path: '/v1/jobs/888888' }),
  'jobs.bulk': (f) => ({ method: 'POST', path: '/v1/jobs/actions', body: { action: 'promote', ids: [f.aJob] } }),
  'events.stream': () => ({ method: 'GET', path: '/v1/events/stream' }),
  'leases.claim': () => ({ method: 'POST', path: '/v1/queues/empty/claim', body: { workerId: 'w1' } }),
  'leases.heartbeat': (f) => ({ method: 'POST', path: `/v1/jobs/${f.aJob}/heartbeat`, body: { leaseToken: 1 } }),
  'leases.progress': (f) => ({
    method: 'POST',
    path: `/v1/jobs/${f.aJob}/progress`,
    body: { leaseToken: 1, percent: 5 },
  }),
  'leases.log': (f) => ({ method: 'POST', path: `/v1/jobs/${f.aJob}/log`, body: { leaseToken: 1, message: 'x' } }),
  'leases.complete': (f) => ({ method: 'POST', path: `/v1/jobs/${f.aJob}/complete`, body: { leaseToken: 1 } }),
  'leases.fail': (f) => ({ method: 'POST', path: `/v1/jobs/${f.aJob}/fail`, body: { leaseToken: 1, message: 'x' } }),
  'flows.create': () => ({
    method: 'POST',
    path: '/v1/flows',
    body: { queue: 'shared', payload: { from: A }, children: [{ queue: 'shared', payload: { child: true } }] },
  }),
  'jobs.children': (f) => ({ method: 'GET', path: `/v1/jobs/${f.aJob}/children` }),
  'jobs.parents': (f) => ({ method: 'GET', path: `/v1/jobs/${f.aJob}/parents` }),
  'jobs.errors': (f) => ({ method: 'GET', path: `/v1/jobs/${f.aJob}/errors` }),
  // Audio sessions (src/audio): a session id that does not exist answers 404 to whoever may ask.
  'sessions.create': () => ({ method: 'POST', path: '/v1/sessions' }),
  'sessions.list': () => ({ method: 'GET', path: '/v1/sessions' }),
  'sessions.get': () => ({ method: 'GET', path: `/v1/sessions/${NO_SESSION}` }),
  'sessions.transcript': () => ({ method: 'GET', path: `/v1/sessions/${NO_SESSION}/transcript` }),
  'sessions.audio': () => ({ method: 'GET', path: `/v1/sessions/${NO_SESSION}/audio` }),
  'sessions.events': () => ({ method: 'GET', path: `/v1/sessions/${NO_SESSION}/events` }),
  'sessions.update': () => ({ method: 'PATCH', path: `/v1/sessions/${NO_SESSION}`, body: { priority: 'high' } }),
  'sessions.retry': () => ({ method: 'POST', path: `/v1/sessions/${NO_SESSION}/retry` }),
  'sessions.delete': () => ({ method: 'DELETE', path: `/v1/sessions/${NO_SESSION}` }),
  'audio.transcriptions': () => ({ method: 'POST', path: '/v1/audio/transcriptions' }),
  'schedules.list': () => ({ method: 'GET', path: '/v1/schedules' }),
  'schedules.upsert': () => ({ method: 'PUT', path: '/v1/schedules/authz', body: { cron: '@daily', queue: 'shared' } }),
  'schedules.pause': () => ({ method: 'POST', path: '/v1/schedules/nothing/pause' }),
  'schedules.resume': () => ({ method: 'POST', path: '/v1/schedules/nothing/resume' }),
  'schedules.delete': () => ({ method: 'DELETE', path: '/v1/schedules/nothing' }),
  'breakers.list': () => ({ method: 'GET', path: '/v1/breakers' }),
  'breakers.history': () => ({ method: 'GET', path: '/v1/breakers/nothing/history' }),
  'breakers.open': () => ({ method: 'POST', path: '/v1/breakers/nothing/open' }),
  'breakers.close': () => ({ method: 'POST', path: '/v1/breakers/nothing/close' }),
  'breakers.reset': () => ({ method: 'POST', path: '/v1/breakers/nothing/reset' }),
  'queues.limits': () => ({ method: 'GET', path: '/v1/queues/shared/limits' }),
  'queues.limitsReset': () => ({ method: 'POST', path: '/v1/queues/other/limits/reset' }),
  'workers.list': () => ({ method: 'GET', path: '/v1/workers' }),
  'auth.me': () => ({ method: 'GET', path: '/v1/me' }),
  'audit.list': () => ({ method: 'GET', path: '/v1/audit' }),
  'keys.create': () => ({ method: 'POST', path: '/v1/keys', body: { name: 'n', scopes: ['reader'] } }),
  'keys.list': () => ({ method: 'GET', path: '/v1/keys' }),
  'keys.revoke': () => ({ method: 'DELETE', path: '/v1/keys/zzzzzzzzzz' }),
  'webhooks.create': () => ({
    method: 'POST',
    path: '/v1/webhooks',
    body: { url: 'http://127.0.0.1:9/h', events: ['job.failed'] },
  }),
  'webhooks.list': () => ({ method: 'GET', path: '/v1/webhooks' }),
  'webhooks.delete': () => ({ method: 'DELETE', path: '/v1/webhooks/00000000-0000-4000-8000-000000000000' }),
  'alerts.create': () => ({ method: 'POST', path: '/v1/alerts', body: { kind: 'backlog', threshold: 100 } }),
  'alerts.list': () => ({ method: 'GET', path: '/v1/alerts' }),
  'alerts.delete': () => ({ method: 'DELETE', path: '/v1/alerts/00000000-0000-4000-8000-000000000000' }),
  'health.live': () => ({ method: 'GET', path: '/livez' }),
  'health.ready': () => ({ method: 'GET', path: '/readyz' }),
  metrics: () => ({ method: 'GET', path: '/metrics' }),
}

/** Reads against the other tenant's resources: each must answer as if they did not exist. */
const crossTenant: Record<string, Build> = {
  'jobs.get': (f) => ({ method: 'GET', path: `/v1/jobs/${f.bJob}` }),
  'jobs.status': (f) => ({ method: 'GET', path: `/v1/jobs/${f.bJob}/status` }),
  'jobs.position': (f) => ({ method: 'GET', path: `/v1/jobs/${f.bJob}/position` }),
  'jobs.history': (f) => ({ method: 'GET', path: `/v1/jobs/${f.bJob}/events` }),
  'jobs.parents': (f) => ({ method: 'GET', path: `/v1/jobs/${f.bJob}/parents` }),
  'jobs.reprioritize': (f) => ({ method: 'PATCH', path: `/v1/jobs/${f.bJob}`, body: { priority: 'low' } }),
  'jobs.retry': (f) => ({ method: 'POST', path: `/v1/jobs/${f.bJob}/retry` }),
  'jobs.cancel': (f) => ({ method: 'POST', path: `/v1/jobs/${f.bJob}/cancel` }),
  'jobs.promote': (f) => ({ method: 'POST', path: `/v1/jobs/${f.bJob}/promote` }),
  'jobs.remove': (f) => ({ method: 'DELETE', path: `/v1/jobs/${f.bJob}` }),
  'jobs.create.dependsOn': (f) => ({
    method: 'POST',
    path: '/v1/queues/shared/jobs',
    body: { payload: 1, options: { dependsOn: [f.bJob] } },
  }),
  'keys.revoke': (f) => ({ method: 'DELETE', path: `/v1/keys/${f.bKeyId}` }),
  'webhooks.delete': (f) => ({ method: 'DELETE', path: `/v1/webhooks/${f.bWebhook}` }),
  'alerts.delete': (f) => ({ method: 'DELETE', path: `/v1/alerts/${f.bAlert}` }),
}

/** Lists that must not show the other tenant's data. */
const lists = [
  '/v1/jobs?limit=1000',
  `/v1/jobs?text=${MARK}`,
  '/v1/queues',
  '/v1/stats',
  '/v1/queues/bonly/stats',
  '/v1/keys',
  '/v1/webhooks',
  '/v1/alerts',
  '/v1/audit?limit=1000',
]

describe('authorisation matrix', () => {
  let t: TestServer
  let f: Fixture

  beforeAll(async () => {
    t = await startServer()
    const keys = {} as Record<Role, string | null>
    for (const role of ROLES) keys[role] = role === 'none' ? null : await t.key(A, [role as Scope])
    const bAdmin = await t.key(B, ['admin'])
    const aJob = (
      await t.request('POST', '/v1/queues/shared/jobs', {
        key: keys.admin,
        body: { payload: { a: 1 }, options: { delayMs: 3_600_000 } },
      })
    ).body.id
    const bJob = (
      await t.request('POST', '/v1/queues/bonly/jobs', {
        key: bAdmin,
        body: { payload: { secret: MARK }, options: { delayMs: 3_600_000, tags: [MARK] } },
      })
    ).body.id
    await t.request('GET', `/v1/jobs/${bJob}`, { key: bAdmin })
    const aKeyId = (
      await t.request('POST', '/v1/keys', { key: keys.admin, body: { name: 'a-extra', scopes: ['reader'] } })
    ).body.id
    const bKeyId = (await t.request('POST', '/v1/keys', { key: bAdmin, body: { name: MARK, scopes: ['reader'] } })).body
      .id
    const bWebhook = (
      await t.request('POST', '/v1/webhooks', {
        key: bAdmin,
        body: { url: 'http://127.0.0.1:9/globex', events: ['job.failed'], description: MARK },
      })
    ).body.id
    const bAlert = (
      await t.request('POST', '/v1/alerts', { key: bAdmin, body: { kind: 'backlog', queue: 'bonly', threshold: 1 } })
    ).body.id
    f = { aJob, bJob, aKeyId, bKeyId, bWebhook, bAlert, keys, bAdmin }
  })
  afterAll(async () => {
    await t?.close()
  })

  it('covers every route', () => {
    const missing = allRoutes.map((r) => r.id).filter((id) => !requests[id])
    expect(missing).toEqual([])
  })

  it.each(allRoutes.flatMap((route) => ROLES.map((role) => [route.id, role, route.permission] as const)))(
    '%s as %s',
    async (id, role, permission) => {
      const build = requests[id] as Build
      const request = build(f)
      const key = f.keys[role]
      const needed = (permission === 'metrics' ? 'admin' : permission) as Permission
      let expected: 'allowed' | 401 | 403
      if (needed === 'public') expected = 'allowed'
      else if (role === 'none') expected = 401
      else expected = allows([role], needed) ? 'allowed' : 403
      // Leases serve every tenant's jobs: only the operator tenant's credentials may use them.
      if (id.startsWith('leases.') && role !== 'none' && expected === 'allowed') expected = 403
      let status: number
      if (id === 'events.stream') {
        const abort = new AbortController()
        const response = await fetch(`${t.url}${request.path}`, {
          headers: key ? { authorization: `Bearer ${key}` } : {},
          signal: abort.signal,
        })
        status = response.status
        abort.abort()
      } else {
        status = (
          await t.request(request.method, request.path, {
            key,
            ...(request.body !== undefined && { body: request.body }),
          })
        ).status
      }
      if (expected === 'allowed') expect([401, 403]).not.toContain(status)
      else expect(status).toBe(expected)
    },
  )

  it.each(
    Object.keys(crossTenant).flatMap((id) =>
      (['admin', 'producer', 'reader'] as const).map((role) => [id, role] as const),
    ),
  )('%s on the other tenant as %s: not found, nothing changes', async (id, role) => {
    const before = await t.spool.jobs.get(f.bJob)
    const request = (crossTenant[id] as Build)(f)
    const response = await t.request(request.method, request.path, {
      key: f.keys[role],
      ...(request.body !== undefined && { body: request.body }),
    })
    expect([403, 404, 422]).toContain(response.status)
    if (role === 'admin') expect([404, 422]).toContain(response.status)
    expect(response.text).not.toContain(MARK)
    const after = await t.spool.jobs.get(f.bJob)
    expect(after).toEqual(before)
    expect((await t.spool.records.get('api_keys', f.bKeyId))?.data).toMatchObject({ revokedAt: null })
    expect(await t.spool.records.get('webhooks', f.bWebhook)).not.toBeNull()
    expect(await t.spool.records.get('alerts', f.bAlert)).not.toBeNull()
  })

  it('lists only the parents of its own tenant', async () => {
    // The API refuses a dependency on another tenant's job; the engine lets an operator make one.
    const own = await t.request('POST', '/v1/queues/shared/jobs', {
      key: f.keys.producer,
      body: { payload: { parent: A }, options: { dependsOn: [f.aJob] } },
    })
    const other = await t.spool.enqueue('bonly', { secret: MARK }, { tenant: B, dependsOn: [f.aJob] })
    expect((await t.spool.jobs.parents(f.aJob)).map((parent) => parent.id)).toEqual([own.body.id, other.id])
    const response = await t.request('GET', `/v1/jobs/${f.aJob}/parents`, { key: f.keys.reader })
    expect(response.status).toBe(200)
    // (aJob may have been cancelled by the matrix above, and the parent failed with it.)
    expect(response.body.parents).toEqual([
      { id: own.body.id, queue: 'shared', state: expect.any(String), onFailure: 'fail' },
    ])
    expect(response.text).not.toContain(MARK)
  })

  it.each(
    lists.flatMap((path) => (['admin', 'producer', 'worker', 'reader'] as const).map((role) => [path, role] as const)),
  )('%s as %s shows nothing of the other tenant', async (path, role) => {
    const response = await t.request('GET', path, { key: f.keys[role] })
    expect(response.text).not.toContain(MARK)
    expect(response.text).not.toContain(`"tenant":"${B}"`)
    if (path.startsWith('/v1/jobs') && response.status === 200) {
      expect(response.body.jobs.map((j: { id: string }) => j.id)).not.toContain(f.bJob)
    }
    if (path === '/v1/queues' && response.status === 200 && role !== 'admin') {
      expect(response.body.queues.map((q: { name: string }) => q.name)).not.toContain('bonly')
    }
  })

  it('an admin crosses tenants only when it names the tenant', async () => {
    const hidden = await t.request('GET', `/v1/jobs/${f.bJob}`, { key: f.keys.admin })
    expect(hidden.status).toBe(404)
    const named = await t.request('GET', `/v1/jobs/${f.bJob}`, { key: f.keys.admin, headers: { 'spool-tenant': B } })
    expect(named.status).toBe(200)
    expect(named.body.payload).toEqual({ secret: MARK })
    const audit = await t.request('GET', '/v1/audit?action=jobs.get&limit=1000', { key: f.bAdmin })
    const crossRead = audit.body.entries.find(
      (e: { target: string; tenant: string }) => e.target === f.bJob && e.tenant === B,
    )
    expect(crossRead).toBeTruthy()
    for (const role of ['producer', 'reader', 'worker'] as const) {
      const refused = await t.request('GET', `/v1/jobs/${f.bJob}`, {
        key: f.keys[role],
        headers: { 'spool-tenant': B },
      })
      expect(refused.status).toBe(403)
      expect(refused.body.code).toBe('SPOOL_TENANT_FORBIDDEN')
    }
  })

  it('jobs a tenant creates belong to it, whatever the body says', async () => {
    const created = await t.request('POST', '/v1/queues/shared/jobs', { key: f.keys.producer, body: { payload: 1 } })
    expect((await t.spool.jobs.get(created.body.id))?.tenant).toBe(A)
  })
})
