/**
 * The tenant and role authorisation matrix over every route.
 *
 * `WHO` below is written out by hand from docs/security.md — it does not ask the server's own
 * `allows()` — so a route declared with the wrong permission fails here. Every route is called
 * by every scope (and without a credential) from an ordinary tenant and from the operator
 * tenant; a call that is allowed must answer exactly the status the table gives (the request
 * is valid, so authorisation is the only thing that can make it fail), one that is not must
 * answer 401 or 403.
 *
 * Then the other way round: every scope of tenant B tries tenant A's job and session ids (404
 * or 403, nothing of A in the answer, nothing changed) and the queue-wide changes (403; a
 * cleanup removes only B's own jobs), and no list shows the other tenant's data. Only an admin
 * of the operator tenant crosses tenants, and only by naming the tenant.
 */
import { rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeWav } from '../../src/audio/wav.js'
import type { Scope } from '../../src/security/api-keys.js'
import { createApiKey } from '../../src/server/keys.js'
import { allRoutes } from '../../src/server/routes/index.js'
import { startServer, type TestServer } from './helpers.js'

const A = 'acme'
const B = 'globex'
const OPERATOR = 'default'
const MARK = 'ACME-PRIVATE-MARKER'
const NO_SESSION = '00000000-0000-4000-8000-00000000abcd'
const SCOPES: Scope[] = ['admin', 'producer', 'worker', 'reader']
type Role = Scope | 'none'
const ROLES: Role[] = [...SCOPES, 'none']

// ── who may call what (docs/security.md, "Tenants and authorisation") ─────────────────────────

/** Scopes allowed in an ordinary tenant, and in the operator tenant. */
interface Who {
  tenant: readonly Scope[]
  operator: readonly Scope[]
}
const PUBLIC = 'public' as const
const anyone: Who = { tenant: SCOPES, operator: SCOPES }
const producers: Who = { tenant: ['admin', 'producer'], operator: ['admin', 'producer'] }
const admins: Who = { tenant: ['admin'], operator: ['admin'] }
/** Changes what every tenant shares, or sees every tenant's workers: operator admins only. */
const operatorAdmins: Who = { tenant: [], operator: ['admin'] }
/** HTTP workers lease jobs of every tenant: the operator tenant's workers and admins. */
const operatorWorkers: Who = { tenant: [], operator: ['admin', 'worker'] }

/** Route → who may call it, and what an allowed call of the request below answers. */
const WHO: Record<string, [Who | typeof PUBLIC, number]> = {
  'queues.list': [anyone, 200],
  'queues.get': [anyone, 200],
  'queues.configure': [operatorAdmins, 200],
  'queues.pause': [operatorAdmins, 200],
  'queues.resume': [operatorAdmins, 200],
  'queues.stats': [anyone, 200],
  stats: [anyone, 200],
  'queues.cleanup': [admins, 200],
  'queues.retryFailed': [producers, 200],
  'jobs.create': [producers, 201],
  'jobs.createMany': [producers, 201],
  'jobs.list': [anyone, 200],
  'jobs.counts': [anyone, 200],
  'jobs.export': [anyone, 200],
  'jobs.get': [anyone, 200],
  'jobs.status': [anyone, 200],
  'jobs.position': [anyone, 200],
  'jobs.history': [anyone, 200],
  'jobs.reprioritize': [producers, 200],
  'jobs.retry': [producers, 200],
  'jobs.cancel': [producers, 200],
  'jobs.promote': [producers, 200],
  'jobs.remove': [producers, 204],
  'jobs.bulk': [producers, 200],
  'events.stream': [anyone, 200],
  'leases.claim': [operatorWorkers, 200],
  'leases.heartbeat': [operatorWorkers, 200],
  'leases.progress': [operatorWorkers, 200],
  'leases.log': [operatorWorkers, 200],
  'leases.complete': [operatorWorkers, 200],
  'leases.fail': [operatorWorkers, 200],
  'flows.create': [producers, 201],
  'jobs.children': [anyone, 200],
  'jobs.errors': [admins, 200],
  'jobs.parents': [anyone, 200],
  'sessions.create': [producers, 415],
  'sessions.list': [anyone, 200],
  'sessions.get': [anyone, 404],
  'sessions.transcript': [anyone, 404],
  'sessions.audio': [anyone, 404],
  'sessions.events': [anyone, 404],
  'sessions.update': [producers, 404],
  'sessions.retry': [producers, 404],
  'sessions.delete': [producers, 404],
  'audio.transcriptions': [producers, 415],
  'ai.chatCompletions': [producers, 404],
  'ai.embeddings': [producers, 404],
  'ai.jobStream': [anyone, 404],
  'ai.models': [anyone, 200],
  'ai.geminiGenerateContent': [producers, 404],
  'ai.filesCreate': [producers, 415],
  'ai.filesGet': [anyone, 404],
  'ai.filesContent': [anyone, 404],
  'ai.batchesCreate': [producers, 404],
  'ai.batchesGet': [anyone, 404],
  'ai.batchesList': [anyone, 200],
  'ai.batchesCancel': [producers, 404],
  'ai.providers': [operatorAdmins, 200],
  'schedules.list': [anyone, 200],
  'schedules.get': [anyone, 200],
  'schedules.preview': [anyone, 200],
  'schedules.upsert': [admins, 200],
  'schedules.pause': [admins, 200],
  'schedules.resume': [admins, 200],
  'schedules.run': [admins, 201],
  'schedules.delete': [admins, 204],
  'breakers.list': [anyone, 200],
  'breakers.history': [anyone, 200],
  'breakers.open': [operatorAdmins, 200],
  'breakers.close': [operatorAdmins, 200],
  'breakers.reset': [operatorAdmins, 200],
  'queues.limits': [anyone, 200],
  'queues.limitsReset': [operatorAdmins, 200],
  'workers.list': [operatorAdmins, 200],
  'auth.me': [anyone, 200],
  'audit.list': [admins, 200],
  'keys.create': [admins, 201],
  'keys.list': [admins, 200],
  'keys.revoke': [admins, 200],
  'webhooks.create': [admins, 201],
  'webhooks.list': [admins, 200],
  'webhooks.delete': [admins, 204],
  'alerts.create': [admins, 201],
  'alerts.list': [admins, 200],
  'alerts.delete': [admins, 204],
  'health.live': [PUBLIC, 200],
  'health.ready': [PUBLIC, 200],
  metrics: [operatorAdmins, 200],
  'workflows.list': [anyone, 200],
  'workflows.get': [anyone, 200],
  'workflows.define': [admins, 200],
  'workflows.delete': [admins, 204],
  'workflows.start': [producers, 201],
  'workflows.runs': [anyone, 200],
  'workflows.run': [anyone, 200],
  'workflows.cancel': [producers, 200],
  'workflows.retry': [producers, 200],
}

// ── requests ──────────────────────────────────────────────────────────────────────────────────

interface Request {
  method: string
  path: string
  body?: unknown
}

/** What a request builder can make: fresh resources in the tenant the call is made from. */
interface Make {
  tenant: string
  /** A new job of the tenant, scheduled an hour ahead (or as `state` says). */
  job(state?: 'scheduled' | 'cancelled' | 'failed'): Promise<string>
  /** A job of the tenant leased by an HTTP worker. */
  leased(): Promise<{ id: string; leaseToken: number }>
  /** Something of the tenant's made through its admin: a key id, webhook or alert id, schedule. */
  record(kind: 'key' | 'webhook' | 'alert' | 'schedule'): Promise<string>
  /** A workflow template of the tenant (its name), or a run of it (its id; cancelled if asked). */
  workflow(): Promise<string>
  workflowRun(state?: 'running' | 'cancelled'): Promise<string>
}

const REQUESTS: Record<string, (m: Make) => Request | Promise<Request>> = {
  'queues.list': () => ({ method: 'GET', path: '/v1/queues' }),
  'queues.get': () => ({ method: 'GET', path: '/v1/queues/shared' }),
  'queues.configure': () => ({ method: 'PUT', path: '/v1/queues/configured', body: { retention: {} } }),
  'queues.pause': () => ({ method: 'POST', path: '/v1/queues/other/pause' }),
  'queues.resume': () => ({ method: 'POST', path: '/v1/queues/other/resume' }),
  'queues.stats': () => ({ method: 'GET', path: '/v1/queues/shared/stats' }),
  stats: () => ({ method: 'GET', path: '/v1/stats' }),
  'queues.cleanup': () => ({ method: 'POST', path: '/v1/queues/shared/cleanup', body: { dryRun: true } }),
  'queues.retryFailed': () => ({ method: 'POST', path: '/v1/queues/shared/retry-failed', body: { dryRun: true } }),
  'jobs.create': () => ({ method: 'POST', path: '/v1/queues/shared/jobs', body: { payload: { n: 1 } } }),
  'jobs.createMany': () => ({ method: 'POST', path: '/v1/queues/shared/jobs/bulk', body: { jobs: [{ payload: 1 }] } }),
  'jobs.list': () => ({ method: 'GET', path: '/v1/jobs?limit=10' }),
  'jobs.counts': () => ({ method: 'GET', path: '/v1/jobs/counts?tag=x' }),
  'jobs.export': () => ({ method: 'GET', path: '/v1/jobs/export?format=csv' }),
  'jobs.get': async (m) => ({ method: 'GET', path: `/v1/jobs/${await m.job()}` }),
  'jobs.status': async (m) => ({ method: 'GET', path: `/v1/jobs/${await m.job()}/status` }),
  'jobs.position': async (m) => ({ method: 'GET', path: `/v1/jobs/${await m.job()}/position` }),
  'jobs.history': async (m) => ({ method: 'GET', path: `/v1/jobs/${await m.job()}/events` }),
  'jobs.reprioritize': async (m) => ({
    method: 'PATCH',
    path: `/v1/jobs/${await m.job()}`,
    body: { priority: 'high' },
  }),
  'jobs.retry': async (m) => ({ method: 'POST', path: `/v1/jobs/${await m.job('cancelled')}/retry` }),
  'jobs.cancel': async (m) => ({ method: 'POST', path: `/v1/jobs/${await m.job()}/cancel` }),
  'jobs.promote': async (m) => ({ method: 'POST', path: `/v1/jobs/${await m.job()}/promote` }),
  'jobs.remove': async (m) => ({ method: 'DELETE', path: `/v1/jobs/${await m.job()}` }),
  'jobs.bulk': async (m) => ({
    method: 'POST',
    path: '/v1/jobs/actions',
    body: { action: 'promote', ids: [await m.job()] },
  }),
  'events.stream': () => ({ method: 'GET', path: '/v1/events/stream' }),
  'leases.claim': () => ({ method: 'POST', path: '/v1/queues/empty/claim', body: { workerId: 'w1' } }),
  'leases.heartbeat': async (m) => {
    const { id, leaseToken } = await m.leased()
    return { method: 'POST', path: `/v1/jobs/${id}/heartbeat`, body: { leaseToken } }
  },
  'leases.progress': async (m) => {
    const { id, leaseToken } = await m.leased()
    return { method: 'POST', path: `/v1/jobs/${id}/progress`, body: { leaseToken, percent: 5 } }
  },
  'leases.log': async (m) => {
    const { id, leaseToken } = await m.leased()
    return { method: 'POST', path: `/v1/jobs/${id}/log`, body: { leaseToken, message: 'x' } }
  },
  'leases.complete': async (m) => {
    const { id, leaseToken } = await m.leased()
    return { method: 'POST', path: `/v1/jobs/${id}/complete`, body: { leaseToken } }
  },
  'leases.fail': async (m) => {
    const { id, leaseToken } = await m.leased()
    return { method: 'POST', path: `/v1/jobs/${id}/fail`, body: { leaseToken, message: 'x' } }
  },
  'flows.create': () => ({
    method: 'POST',
    path: '/v1/flows',
    body: { queue: 'shared', payload: 1, children: [{ queue: 'shared', payload: 2 }] },
  }),
  'jobs.children': async (m) => ({ method: 'GET', path: `/v1/jobs/${await m.job()}/children` }),
  'jobs.errors': async (m) => ({ method: 'GET', path: `/v1/jobs/${await m.job('failed')}/errors` }),
  'jobs.parents': async (m) => ({ method: 'GET', path: `/v1/jobs/${await m.job()}/parents` }),
  // Audio sessions: a valid call about a session that does not exist answers 404 to whoever may
  // ask; an upload without a multipart body 415. (Real sessions are probed across tenants below.)
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
  // No provider serves the model on this server (404 model_not_found); the job is not a stream.
  'ai.chatCompletions': () => ({
    method: 'POST',
    path: '/v1/chat/completions',
    body: { model: 'none', messages: [{ role: 'user', content: 'x' }] },
  }),
  'ai.embeddings': () => ({ method: 'POST', path: '/v1/embeddings', body: { model: 'none', input: 'x' } }),
  'ai.jobStream': async (m) => ({ method: 'GET', path: `/v1/jobs/${await m.job()}/stream` }),
  'ai.models': () => ({ method: 'GET', path: '/v1/models' }),
  'ai.geminiGenerateContent': () => ({
    method: 'POST',
    path: '/v1beta/models/none:generateContent',
    body: { contents: [{ parts: [{ text: 'x' }] }] },
  }),
  // No such file or batch (ids of the right shape); an upload without a multipart body is 415.
  'ai.filesCreate': () => ({ method: 'POST', path: '/v1/files' }),
  'ai.filesGet': () => ({ method: 'GET', path: '/v1/files/file-000000000000000000000000' }),
  'ai.filesContent': () => ({ method: 'GET', path: '/v1/files/file-000000000000000000000000/content' }),
  'ai.batchesCreate': () => ({
    method: 'POST',
    path: '/v1/batches',
    body: {
      input_file_id: 'file-000000000000000000000000',
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    },
  }),
  'ai.batchesGet': () => ({ method: 'GET', path: '/v1/batches/batch-000000000000000000000000' }),
  'ai.batchesList': () => ({ method: 'GET', path: '/v1/batches' }),
  'ai.batchesCancel': () => ({ method: 'POST', path: '/v1/batches/batch-000000000000000000000000/cancel' }),
  'ai.providers': () => ({ method: 'GET', path: '/v1/ai/providers' }),
  'workflows.list': () => ({ method: 'GET', path: '/v1/workflows' }),
  'workflows.get': async (m) => ({ method: 'GET', path: `/v1/workflows/${await m.workflow()}` }),
  'workflows.define': () => ({
    method: 'PUT',
    path: '/v1/workflows/authz-defined',
    body: { steps: [{ id: 'a', queue: 'shared' }] },
  }),
  'workflows.delete': async (m) => ({ method: 'DELETE', path: `/v1/workflows/${await m.workflow()}` }),
  'workflows.start': async (m) => ({ method: 'POST', path: `/v1/workflows/${await m.workflow()}/runs`, body: {} }),
  'workflows.runs': async (m) => ({ method: 'GET', path: `/v1/workflows/${await m.workflow()}/runs` }),
  'workflows.run': async (m) => ({ method: 'GET', path: `/v1/workflow-runs/${await m.workflowRun()}` }),
  'workflows.cancel': async (m) => ({ method: 'POST', path: `/v1/workflow-runs/${await m.workflowRun()}/cancel` }),
  'workflows.retry': async (m) => ({
    method: 'POST',
    path: `/v1/workflow-runs/${await m.workflowRun('cancelled')}/retry`,
  }),
  'schedules.list': () => ({ method: 'GET', path: '/v1/schedules' }),
  'schedules.get': async (m) => ({ method: 'GET', path: `/v1/schedules/${await m.record('schedule')}` }),
  'schedules.preview': async (m) => ({
    method: 'GET',
    path: `/v1/schedules/${await m.record('schedule')}/preview?count=2`,
  }),
  // Schedule names are unique across tenants (another tenant's name answers 409): a new one per call.
  'schedules.upsert': (m) => ({
    method: 'PUT',
    path: `/v1/schedules/upsert-${m.tenant}-${Math.random().toString(36).slice(2)}`,
    body: { cron: '@daily', queue: 'shared' },
  }),
  'schedules.pause': async (m) => ({ method: 'POST', path: `/v1/schedules/${await m.record('schedule')}/pause` }),
  'schedules.resume': async (m) => ({ method: 'POST', path: `/v1/schedules/${await m.record('schedule')}/resume` }),
  'schedules.run': async (m) => ({ method: 'POST', path: `/v1/schedules/${await m.record('schedule')}/run` }),
  'schedules.delete': async (m) => ({ method: 'DELETE', path: `/v1/schedules/${await m.record('schedule')}` }),
  'breakers.list': () => ({ method: 'GET', path: '/v1/breakers' }),
  'breakers.history': () => ({ method: 'GET', path: '/v1/breakers/authz/history' }),
  'breakers.open': () => ({ method: 'POST', path: '/v1/breakers/authz/open' }),
  'breakers.close': () => ({ method: 'POST', path: '/v1/breakers/authz/close' }),
  'breakers.reset': () => ({ method: 'POST', path: '/v1/breakers/authz/reset' }),
  'queues.limits': () => ({ method: 'GET', path: '/v1/queues/shared/limits' }),
  'queues.limitsReset': () => ({ method: 'POST', path: '/v1/queues/other/limits/reset' }),
  'workers.list': () => ({ method: 'GET', path: '/v1/workers' }),
  'auth.me': () => ({ method: 'GET', path: '/v1/me' }),
  'audit.list': () => ({ method: 'GET', path: '/v1/audit' }),
  'keys.create': () => ({ method: 'POST', path: '/v1/keys', body: { name: 'n', scopes: ['reader'] } }),
  'keys.list': () => ({ method: 'GET', path: '/v1/keys' }),
  'keys.revoke': async (m) => ({ method: 'DELETE', path: `/v1/keys/${await m.record('key')}` }),
  'webhooks.create': () => ({
    method: 'POST',
    path: '/v1/webhooks',
    body: { url: 'http://127.0.0.1:9/h', events: ['job.failed'] },
  }),
  'webhooks.list': () => ({ method: 'GET', path: '/v1/webhooks' }),
  'webhooks.delete': async (m) => ({ method: 'DELETE', path: `/v1/webhooks/${await m.record('webhook')}` }),
  'alerts.create': () => ({ method: 'POST', path: '/v1/alerts', body: { kind: 'backlog', threshold: 100 } }),
  'alerts.list': () => ({ method: 'GET', path: '/v1/alerts' }),
  'alerts.delete': async (m) => ({ method: 'DELETE', path: `/v1/alerts/${await m.record('alert')}` }),
  'health.live': () => ({ method: 'GET', path: '/livez' }),
  'health.ready': () => ({ method: 'GET', path: '/readyz' }),
  metrics: () => ({ method: 'GET', path: '/metrics' }),
}

describe('authorisation matrix', () => {
  let t: TestServer
  /** keys[tenant][role] */
  const keys: Record<string, Record<Role, string | null>> = {}
  let aJob: string
  let aSession: string
  let serial = 0
  const nextName = (prefix: string) => {
    serial += 1
    return `${prefix}-${serial}`
  }

  beforeAll(async () => {
    t = await startServer()
    for (const tenant of [A, B, OPERATOR]) {
      keys[tenant] = { none: null } as Record<Role, string | null>
      for (const scope of SCOPES) (keys[tenant] as Record<Role, string | null>)[scope] = await t.key(tenant, [scope])
    }
    await t.spool.breakers.define('authz', { failureThreshold: 5, cooldownMs: 60_000 })
    aJob = await make(A).job()
    // Each tenant sees the queues it has jobs in: the operator tenant's other scopes ask about 'shared'.
    await make(OPERATOR).job()
    // A real session of tenant A: one second of tone, uploaded and queued (no worker runs it).
    const wav = join(t.dir, 'tone.wav')
    await writeWav(
      wav,
      Float32Array.from({ length: 16_000 }, (_, i) => 0.3 * Math.sin(i / 5)),
      16_000,
    )
    const form = new FormData()
    form.append('metadata', JSON.stringify({ patient: { name: MARK } }))
    form.append('file', new Blob([await readFile(wav)]), 'tone.wav')
    const upload = await fetch(`${t.url}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[A]?.producer}` },
      body: form,
    })
    expect(upload.status).toBe(202)
    aSession = ((await upload.json()) as { id: string }).id
    rmSync(wav)
  })
  afterAll(async () => {
    await t?.close()
  })

  function make(tenant: string): Make {
    const adminOf = keys[tenant]?.admin as string
    return {
      tenant,
      async job(state = 'scheduled') {
        if (state === 'failed') {
          const { id, leaseToken } = await this.leased()
          await t.spool.leases.fail(id, leaseToken, { message: 'boom', retryable: false })
          return id
        }
        const { id } = await t.spool.enqueue('shared', { secret: MARK }, { tenant, delayMs: 3_600_000, tags: [MARK] })
        if (state === 'cancelled') await t.spool.jobs.cancel(id)
        return id
      },
      async leased() {
        const queue = nextName('lease')
        await t.spool.enqueue(queue, { n: 1 }, { tenant })
        const [job] = await t.spool.leases.claim({ queue, workerId: 'authz', leaseMs: 60_000 })
        return { id: job?.id as string, leaseToken: job?.leaseToken as number }
      },
      async workflow() {
        const name = nextName('wf')
        await t.spool.workflows.define(
          name,
          { steps: [{ id: 'a', queue: 'shared', payload: { secret: MARK }, when: false }] },
          { tenant },
        )
        return name
      },
      async workflowRun(state = 'running') {
        const { id } = await t.spool.workflows.start(await this.workflow(), {}, { tenant })
        if (state === 'cancelled') await t.spool.workflows.cancel(id, { tenant })
        return id
      },
      async record(kind) {
        if (kind === 'key') return (await createApiKey(t.spool, { name: 'spare', tenant, scopes: ['reader'] })).id
        if (kind === 'schedule') {
          const name = nextName('s')
          const made = await t.request('PUT', `/v1/schedules/${name}`, {
            key: adminOf,
            body: { cron: '@daily', queue: 'shared' },
          })
          expect(made.status).toBe(200)
          return name
        }
        const made =
          kind === 'webhook'
            ? await t.request('POST', '/v1/webhooks', {
                key: adminOf,
                body: { url: 'http://127.0.0.1:9/h', events: ['job.failed'] },
              })
            : await t.request('POST', '/v1/alerts', { key: adminOf, body: { kind: 'backlog', threshold: 5 } })
        expect(made.status).toBe(201)
        return made.body.id as string
      },
    }
  }

  async function call(request: Request, key: string | null, headers: Record<string, string> = {}) {
    const bare = request.path.split('?')[0] as string
    if (bare.endsWith('/stream') || (request.method === 'GET' && bare.endsWith('/events'))) {
      // Streams: the status line is the answer; stop reading after it.
      const abort = new AbortController()
      const response = await fetch(`${t.url}${request.path}`, {
        headers: { ...headers, ...(key && { authorization: `Bearer ${key}` }) },
        signal: abort.signal,
      })
      const text = response.status === 200 ? '' : await response.text()
      abort.abort()
      return { status: response.status, text, body: text ? JSON.parse(text) : undefined }
    }
    return t.request(request.method, request.path, {
      key,
      headers,
      ...(request.body !== undefined && { body: request.body }),
    })
  }

  it('has a rule and a request for every route', () => {
    expect(allRoutes.map((r) => r.id).filter((id) => !WHO[id] || !REQUESTS[id])).toEqual([])
  })

  it.each(
    allRoutes.flatMap((route) =>
      [A, OPERATOR].flatMap((tenant) => ROLES.map((role) => [route.id, tenant, role] as const)),
    ),
  )('%s from %s as %s', async (id, tenant, role) => {
    const [who, ok] = WHO[id] as [Who | typeof PUBLIC, number]
    const request = await (REQUESTS[id] as (m: Make) => Request | Promise<Request>)(make(tenant))
    const response = await call(request, keys[tenant]?.[role] ?? null)
    if (who === PUBLIC) expect(response.status).toBe(ok)
    else if (role === 'none') expect(response.status).toBe(401)
    else if ((tenant === OPERATOR ? who.operator : who.tenant).includes(role)) expect(response.status).toBe(ok)
    else expect(response.status).toBe(403)
  })

  // ── tenant B against tenant A ───────────────────────────────────────────────────────────────

  /** Calls about tenant A's job and session, each of which B must not see or change. */
  const probes: Record<string, () => Request> = {
    'jobs.get': () => ({ method: 'GET', path: `/v1/jobs/${aJob}` }),
    'jobs.status': () => ({ method: 'GET', path: `/v1/jobs/${aJob}/status` }),
    'jobs.position': () => ({ method: 'GET', path: `/v1/jobs/${aJob}/position` }),
    'jobs.history': () => ({ method: 'GET', path: `/v1/jobs/${aJob}/events` }),
    'jobs.children': () => ({ method: 'GET', path: `/v1/jobs/${aJob}/children` }),
    'jobs.errors': () => ({ method: 'GET', path: `/v1/jobs/${aJob}/errors` }),
    'jobs.parents': () => ({ method: 'GET', path: `/v1/jobs/${aJob}/parents` }),
    'jobs.reprioritize': () => ({ method: 'PATCH', path: `/v1/jobs/${aJob}`, body: { priority: 'low' } }),
    'jobs.retry': () => ({ method: 'POST', path: `/v1/jobs/${aJob}/retry` }),
    'jobs.cancel': () => ({ method: 'POST', path: `/v1/jobs/${aJob}/cancel` }),
    'jobs.promote': () => ({ method: 'POST', path: `/v1/jobs/${aJob}/promote` }),
    'jobs.remove': () => ({ method: 'DELETE', path: `/v1/jobs/${aJob}` }),
    'jobs.create.dependsOn': () => ({
      method: 'POST',
      path: '/v1/queues/shared/jobs',
      body: { payload: 1, options: { dependsOn: [aJob] } },
    }),
    'leases.heartbeat': () => ({ method: 'POST', path: `/v1/jobs/${aJob}/heartbeat`, body: { leaseToken: 1 } }),
    'leases.complete': () => ({ method: 'POST', path: `/v1/jobs/${aJob}/complete`, body: { leaseToken: 1 } }),
    'leases.fail': () => ({ method: 'POST', path: `/v1/jobs/${aJob}/fail`, body: { leaseToken: 1, message: 'x' } }),
    'sessions.get': () => ({ method: 'GET', path: `/v1/sessions/${aSession}` }),
    'sessions.transcript': () => ({ method: 'GET', path: `/v1/sessions/${aSession}/transcript` }),
    'sessions.audio': () => ({ method: 'GET', path: `/v1/sessions/${aSession}/audio` }),
    'sessions.events': () => ({ method: 'GET', path: `/v1/sessions/${aSession}/events` }),
    'sessions.update': () => ({ method: 'PATCH', path: `/v1/sessions/${aSession}`, body: { priority: 'low' } }),
    'sessions.retry': () => ({ method: 'POST', path: `/v1/sessions/${aSession}/retry` }),
    'sessions.delete': () => ({ method: 'DELETE', path: `/v1/sessions/${aSession}` }),
  }

  it.each(Object.keys(probes).flatMap((id) => SCOPES.map((role) => [id, role] as const)))(
    "%s on tenant A's ids as B's %s: not found or forbidden, nothing changes",
    async (id, role) => {
      const jobBefore = await t.spool.jobs.get(aJob)
      const sessionBefore = await t.request('GET', `/v1/sessions/${aSession}`, { key: keys[A]?.admin as string })
      expect(sessionBefore.status).toBe(200)
      const response = await call((probes[id] as () => Request)(), keys[B]?.[role] as string)
      if (id.startsWith('leases.')) expect(response.status).toBe(403)
      else if (id === 'jobs.create.dependsOn') expect([403, 404, 422]).toContain(response.status)
      else expect([403, 404]).toContain(response.status)
      // An admin (who may do everything in its own tenant) learns nothing but "not found".
      if (role === 'admin' && !id.startsWith('leases.') && id !== 'jobs.create.dependsOn') {
        expect(response.status).toBe(404)
      }
      expect(response.text).not.toContain(MARK)
      expect(await t.spool.jobs.get(aJob)).toEqual(jobBefore)
      const sessionAfter = await t.request('GET', `/v1/sessions/${aSession}`, { key: keys[A]?.admin as string })
      const stable = ({ status, priority, run, metadata, audio }: Record<string, unknown>) => ({
        status,
        priority,
        run,
        metadata,
        audio,
      })
      expect(stable(sessionAfter.body)).toEqual(stable(sessionBefore.body))
    },
  )

  /** Changes to what every tenant shares. */
  const sharedChanges: Record<string, Request> = {
    'queues.configure': { method: 'PUT', path: '/v1/queues/shared', body: { maxSize: 1 } },
    'queues.pause': { method: 'POST', path: '/v1/queues/shared/pause' },
    'queues.limitsReset': { method: 'POST', path: '/v1/queues/shared/limits/reset' },
    'breakers.open': { method: 'POST', path: '/v1/breakers/authz/open' },
    'breakers.close': { method: 'POST', path: '/v1/breakers/authz/close' },
    'breakers.reset': { method: 'POST', path: '/v1/breakers/authz/reset' },
  }

  it.each(Object.keys(sharedChanges).flatMap((id) => SCOPES.map((role) => [id, role] as const)))(
    '%s as B’s %s: 403, the queue and breaker unchanged',
    async (id, role) => {
      await t.spool.breakers.open('authz')
      const queue = await t.spool.queues.get('shared')
      const breaker = await t.spool.breakers.get('authz')
      const response = await call(sharedChanges[id] as Request, keys[B]?.[role] as string)
      expect(response.status).toBe(403)
      expect(response.body.code).toBe('SPOOL_FORBIDDEN')
      const queueAfter = await t.spool.queues.get('shared')
      expect({ paused: queueAfter?.paused, config: queueAfter?.config }).toEqual({
        paused: queue?.paused,
        config: queue?.config,
      })
      expect(await t.spool.breakers.get('authz')).toEqual(breaker)
    },
  )

  // ── queue names ─────────────────────────────────────────────────────────────────────────────

  it.each(SCOPES)('a queue only tenant A uses looks to B’s %s exactly like a name nobody uses', async (role) => {
    // A's queue: configured and paused by the operator, with a finished job and a waiting one.
    const used = nextName('a-only')
    await t.spool.queues.configure(used, { maxSize: 7, concurrency: 3 })
    await t.spool.enqueue(used, { secret: MARK }, { tenant: A })
    const [leased] = await t.spool.leases.claim({ queue: used, workerId: 'probe', leaseMs: 60_000 })
    await t.spool.leases.complete(leased?.id as string, leased?.leaseToken as number, null)
    await t.spool.enqueue(used, { secret: MARK }, { tenant: A, tags: [MARK] })
    await t.spool.queues.pause(used)
    const unused = nextName('nobody')
    const requests = (name: string): Request[] => [
      { method: 'GET', path: `/v1/queues/${name}` },
      { method: 'GET', path: `/v1/queues/${name}/stats` },
      { method: 'GET', path: `/v1/queues/${name}/limits` },
      { method: 'GET', path: `/v1/jobs?queue=${name}` },
      { method: 'GET', path: `/v1/events/stream?queue=${name}` },
      { method: 'POST', path: `/v1/queues/${name}/cleanup`, body: { dryRun: true } },
      { method: 'PUT', path: `/v1/queues/${name}`, body: { maxSize: 1 } },
      { method: 'POST', path: `/v1/queues/${name}/pause` },
      { method: 'POST', path: `/v1/queues/${name}/resume` },
      { method: 'POST', path: `/v1/queues/${name}/limits/reset` },
      { method: 'POST', path: `/v1/queues/${name}/claim`, body: { workerId: 'w' } },
    ]
    const same = (text: string, name: string) => text.replaceAll(name, 'Q').replace(/"requestId":"[^"]*"/, '')
    const key = keys[B]?.[role] as string
    for (const [i, request] of requests(used).entries()) {
      const answer = await call(request, key)
      const never = await call(requests(unused)[i] as Request, key)
      expect({ path: request.path, status: answer.status }).toEqual({ path: request.path, status: never.status })
      expect(same(answer.text, used)).toBe(same(never.text, unused))
      expect(answer.text).not.toContain(MARK)
    }
    expect((await t.spool.queues.get(used))?.paused).toBe(true)
    // Once B has a job there, B sees the queue as it is.
    await t.spool.enqueue(used, { n: 1 }, { tenant: B })
    const seen = await call({ method: 'GET', path: `/v1/queues/${used}` }, key)
    expect(seen.status).toBe(200)
    expect(seen.body).toMatchObject({ paused: true, config: { maxSize: 7 }, counts: { waiting: 1 } })
  })

  it('a cleanup removes only the caller’s tenant’s finished jobs; an operator admin names the tenant', async () => {
    const finished = async (tenant: string) => {
      const { id } = await t.spool.enqueue('cleaned', { secret: MARK }, { tenant })
      await t.spool.jobs.cancel(id)
      return id
    }
    await t.spool.queues.configure('cleaned', { retention: { cancelled: { maxCount: 0 } } })
    const aDone = await finished(A)
    const bDone = await finished(B)
    const opDone = await finished(OPERATOR)
    const bClean = await t.request('POST', '/v1/queues/cleaned/cleanup', { key: keys[B]?.admin as string })
    expect(bClean.status).toBe(200)
    expect(bClean.body).toMatchObject({ dryRun: false, removed: { cancelled: 1 }, sampleIds: [bDone] })
    expect(await t.spool.jobs.get(bDone)).toBeNull()
    expect(await t.spool.jobs.get(aDone)).not.toBeNull()
    expect(await t.spool.jobs.get(opDone)).not.toBeNull()
    // The operator's admin cleans its own tenant, or another by naming it.
    const dry = await t.request('POST', '/v1/queues/cleaned/cleanup', {
      key: keys[OPERATOR]?.admin as string,
      headers: { 'spool-tenant': A },
      body: { dryRun: true },
    })
    expect(dry.body).toMatchObject({ dryRun: true, removed: { cancelled: 1 }, sampleIds: [aDone] })
    expect(await t.spool.jobs.get(aDone)).not.toBeNull()
    await t.request('POST', '/v1/queues/cleaned/cleanup', {
      key: keys[OPERATOR]?.admin as string,
      headers: { 'spool-tenant': A },
    })
    expect(await t.spool.jobs.get(aDone)).toBeNull()
    expect(await t.spool.jobs.get(opDone)).not.toBeNull()
  })

  /** Lists that must not show the other tenant's data. */
  const lists = [
    '/v1/jobs?limit=1000',
    `/v1/jobs?text=${MARK}`,
    `/v1/jobs?tag=${MARK}`,
    '/v1/jobs/export?format=jsonl',
    `/v1/jobs/export?format=csv&text=${MARK}`,
    `/v1/jobs/counts?tag=${MARK}`,
    '/v1/queues',
    '/v1/stats',
    '/v1/queues/shared/stats',
    '/v1/queues/shared/limits',
    '/v1/sessions',
    '/v1/keys',
    '/v1/webhooks',
    '/v1/alerts',
    '/v1/audit?limit=1000',
  ]

  it.each(lists.flatMap((path) => SCOPES.map((role) => [path, role] as const)))(
    '%s as B’s %s shows nothing of tenant A',
    async (path, role) => {
      await t.request('GET', `/v1/jobs/${aJob}`, { key: keys[A]?.admin as string })
      const response = await t.request('GET', path, { key: keys[B]?.[role] as string })
      // B has no jobs in 'shared': to B it is a queue that does not exist.
      if (path.startsWith('/v1/queues/shared/')) expect(response.status).toBe(404)
      else expect([200, 403]).toContain(response.status)
      expect(response.text).not.toContain(MARK)
      expect(response.text).not.toContain(`"tenant":"${A}"`)
      expect(response.text).not.toContain(`"id":"${aJob}"`)
      // (B's own audit log names the ids B itself asked about above; nothing more.)
      if (!path.startsWith('/v1/audit')) expect(response.text).not.toContain(aSession)
      // An export names each job's tenant; a count of A's tagged jobs is nothing to B.
      if (path.startsWith('/v1/jobs/export')) expect(response.text).not.toContain(A)
      if (path.startsWith('/v1/jobs/counts')) expect(response.body.total).toBe(0)
      if (path === '/v1/queues' && response.status === 200) {
        // B has no jobs anywhere but the cleanup queue: it sees no other queue, admin or not.
        expect(response.body.queues.map((q: { name: string }) => q.name)).not.toContain('shared')
      }
    },
  )

  it('only an operator admin crosses tenants, and only when it names the tenant', async () => {
    const hidden = await t.request('GET', `/v1/jobs/${aJob}`, { key: keys[OPERATOR]?.admin as string })
    expect(hidden.status).toBe(404)
    const named = await t.request('GET', `/v1/jobs/${aJob}`, {
      key: keys[OPERATOR]?.admin as string,
      headers: { 'spool-tenant': A },
    })
    expect(named.status).toBe(200)
    expect(named.body.payload).toEqual({ secret: MARK })
    const audit = await t.request('GET', '/v1/audit?action=jobs.get&limit=1000', { key: keys[A]?.admin as string })
    expect(audit.body.entries.some((e: { target: string; tenant: string }) => e.target === aJob)).toBe(true)
    for (const [tenant, role] of [
      [B, 'admin'],
      [B, 'producer'],
      [B, 'reader'],
      [B, 'worker'],
      [OPERATOR, 'producer'],
      [OPERATOR, 'reader'],
      [OPERATOR, 'worker'],
    ] as const) {
      const refused = await t.request('GET', `/v1/jobs/${aJob}`, {
        key: keys[tenant]?.[role] as string,
        headers: { 'spool-tenant': A },
      })
      expect(refused.status).toBe(403)
      expect(refused.body.code).toBe('SPOOL_TENANT_FORBIDDEN')
      expect(refused.text).not.toContain(MARK)
    }
  })

  // ── idempotency keys are per tenant ───────────────────────────────────────────────────────────

  /** Every route that takes an idempotency key: a request with `key`, and the ids it answers. */
  // biome-ignore lint/suspicious/noExplicitAny: the answers of three routes, read as JSON
  const keyed: Record<string, { request: (key: string, n: string) => Request; ids: (body: any) => string[] }> = {
    'jobs.create': {
      request: (key, n) => ({
        method: 'POST',
        path: '/v1/queues/keyed/jobs',
        body: { payload: { n }, options: { idempotencyKey: key, tags: [n] } },
      }),
      ids: (body) => [body.id],
    },
    'jobs.createMany': {
      request: (key, n) => ({
        method: 'POST',
        path: '/v1/queues/keyed/jobs/bulk',
        body: {
          jobs: [
            { payload: { n }, options: { idempotencyKey: key, tags: [n] } },
            { payload: { n }, options: { idempotencyKey: `${key}-2`, tags: [n] } },
          ],
        },
      }),
      ids: (body) => body.jobs.map((job: { id: string }) => job.id),
    },
    'flows.create': {
      request: (key, n) => ({
        method: 'POST',
        path: '/v1/flows',
        body: {
          queue: 'keyed',
          payload: { n },
          options: { idempotencyKey: key, tags: [n] },
          children: [{ queue: 'keyed-child', payload: { n }, options: { idempotencyKey: `${key}-child`, tags: [n] } }],
        },
      }),
      ids: (body) => [body.id, body.children[0].id],
    },
  }

  it.each(Object.keys(keyed).flatMap((id) => (['admin', 'producer'] as const).map((role) => [id, role] as const)))(
    "%s with tenant A's idempotency key as B's %s: B gets its own new job and learns nothing of A's",
    async (id, role) => {
      const route = keyed[id] as (typeof keyed)[string]
      const key = `visit-${id}-${role}`
      const first = await call(route.request(key, MARK), keys[A]?.producer as string)
      expect(first.status).toBe(201)
      const aIds = route.ids(first.body)
      const aBefore = await Promise.all(aIds.map((jobId) => t.spool.jobs.get(jobId)))

      const response = await call(route.request(key, 'globex'), keys[B]?.[role] as string)
      expect(response.status).toBe(201)
      const bIds = route.ids(response.body)
      for (const bId of bIds) {
        expect(aIds).not.toContain(bId)
        expect(await t.spool.jobs.get(bId)).toMatchObject({ tenant: B, payload: { n: 'globex' } })
      }
      if (response.body.created !== undefined) expect(response.body.created).toBe(true)
      for (const job of response.body.jobs ?? []) expect(job.created).toBe(true)
      expect(response.text).not.toContain(MARK)
      for (const aId of aIds) expect(response.text).not.toContain(`"${aId}"`)
      expect(await Promise.all(aIds.map((jobId) => t.spool.jobs.get(jobId)))).toEqual(aBefore)

      // Within each tenant the key still names the tenant's own job.
      const aAgain = await call(route.request(key, MARK), keys[A]?.producer as string)
      expect(route.ids(aAgain.body)).toEqual(aIds)
      const bAgain = await call(route.request(key, 'globex'), keys[B]?.[role] as string)
      expect(route.ids(bAgain.body)).toEqual(bIds)
      if (id === 'jobs.create') {
        expect(aAgain.status).toBe(200)
        expect(bAgain).toMatchObject({ status: 200, body: { created: false } })
      }
    },
  )

  it('audio sessions and the OpenAI-compatible transcription endpoint take no idempotency key', async () => {
    // An upload is always a new session: a key sent along is refused, not matched to anything.
    for (const [path, field] of [
      ['/v1/sessions', 'idempotencyKey'],
      ['/v1/audio/transcriptions', 'idempotency_key'],
    ] as const) {
      const form = new FormData()
      form.append(field, 'visit-42')
      form.append('file', new Blob([new Uint8Array(64)]), 'a.wav')
      const response = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys[B]?.producer}` },
        body: form,
      })
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ code: 'SPOOL_UNKNOWN_FIELD', field })
    }
  })

  it('jobs a tenant creates belong to it, whatever the body says', async () => {
    const created = await t.request('POST', '/v1/queues/shared/jobs', {
      key: keys[A]?.producer as string,
      body: { payload: 1 },
    })
    expect((await t.spool.jobs.get(created.body.id))?.tenant).toBe(A)
  })
})
