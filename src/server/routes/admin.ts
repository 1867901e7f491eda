/** Operators' routes: connected workers, the audit log, API keys. */
import { z } from 'zod'
import { SCOPES } from '../../security/api-keys.js'
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from '../keys.js'
import { HttpProblem } from '../problem.js'
import { route } from '../route.js'
import * as s from '../schemas.js'

const apiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    tenant: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' })

const auditEntry = z
  .object({
    id: z.string().describe('unique: the record it was written in and its place there (`812.3`)'),
    seq: z.number().describe('the record it was written in (entries written together share it)'),
    at: z.number(),
    actor: z.object({ kind: z.string(), id: z.string().nullable(), user: z.string().nullable() }),
    tenant: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    ip: z.string(),
    outcome: z.enum(['ok', 'denied', 'invalid', 'error']),
    status: z.number(),
    requestId: z.string(),
    code: z.string().optional(),
  })
  .meta({ id: 'AuditEntry' })

const workerInfo = z
  .object({
    id: z.string(),
    nodeId: z.string(),
    queue: z.string(),
    concurrency: z.number(),
    running: z.array(z.string()).describe('ids of the jobs it runs now'),
    info: z.record(z.string(), z.unknown()),
    startedAt: z.number().describe('epoch ms'),
    seenAt: z.number().describe('epoch ms of its last heartbeat'),
  })
  .meta({ id: 'WorkerInfo' })

export const adminRoutes = [
  route({
    id: 'workers.list',
    method: 'GET',
    url: '/v1/workers',
    tag: 'workers',
    summary: 'Workers connected to this Spool, on every node: queue, concurrency, running jobs, last seen',
    description: 'Workers run the jobs of every tenant, so only admins of the operator tenant see them.',
    permission: 'operate',
    response: z.object({ workers: z.array(workerInfo) }),
    async handler({ app }) {
      const workers = await app.spool.workers.list()
      return { workers: workers.map((worker) => ({ ...worker })) }
    },
  }),
  route({
    id: 'audit.list',
    method: 'GET',
    url: '/v1/audit',
    tag: 'admin',
    summary:
      'The audit log of this tenant, oldest first or (order=desc) newest first; a page may run a little past limit',
    description:
      'Oldest first: page on with `afterSeq` = `nextAfterSeq`. Newest first (`order=desc`): page back with `beforeSeq` = `nextBeforeSeq` (null at the oldest entry); `nextAfterSeq` is the newest record seen, to ask later for what came since. Reads are recorded once per actor, target and outcome in five minutes, under the action of the thing viewed (a job page is one `jobs.get`); writes every time.',
    permission: 'admin',
    auditRead: true,
    query: z.strictObject({
      order: z.enum(['asc', 'desc']).optional().describe('asc (default): oldest first; desc: newest first'),
      afterSeq: s.intQuery(0, Number.MAX_SAFE_INTEGER).optional(),
      beforeSeq: s.intQuery(1, Number.MAX_SAFE_INTEGER).optional().describe('newest first: entries before this record'),
      limit: s.intQuery(1, 1000).optional(),
      action: z.string().min(1).max(64).optional(),
      actor: z.string().min(1).max(128).optional(),
    }),
    response: z.object({
      entries: z.array(auditEntry),
      nextAfterSeq: z.number(),
      nextBeforeSeq: z.number().nullable().describe('newest first: pass back as beforeSeq; null when nothing is older'),
    }),
    async handler({ app, query, tenant }) {
      if (query.beforeSeq !== undefined && query.order !== 'desc') {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', 'beforeSeq pages a newest-first read: add order=desc', {
          field: 'beforeSeq',
          location: 'query',
        })
      }
      await app.audit.flush()
      return app.audit.list({
        tenant,
        order: query.order,
        afterSeq: query.afterSeq,
        beforeSeq: query.beforeSeq,
        limit: query.limit ?? 100,
        action: query.action,
        actor: query.actor,
      })
    },
  }),
  route({
    id: 'keys.create',
    method: 'POST',
    url: '/v1/keys',
    tag: 'admin',
    summary: 'Create an API key in this tenant; the key is in this answer and nowhere else, ever',
    permission: 'admin',
    body: z.strictObject({
      name: z.string().min(1).max(100),
      scopes: z.array(z.enum(SCOPES)).min(1).max(4),
    }),
    response: apiKey.extend({ token: z.string().describe('shown once') }),
    status: 201,
    async handler({ app, body, tenant, principal, audit }) {
      const key = await createApiKey(app.spool, {
        name: body.name,
        tenant,
        scopes: body.scopes,
        createdBy: principal.kind === 'key' ? `key:${principal.id}` : `jwt:${principal.user ?? principal.id}`,
      })
      audit.target = key.id
      return key
    },
  }),
  route({
    id: 'keys.list',
    method: 'GET',
    url: '/v1/keys',
    tag: 'admin',
    summary: 'API keys of this tenant (never the keys themselves)',
    permission: 'admin',
    auditRead: true,
    response: z.object({ keys: z.array(apiKey) }),
    async handler({ app, tenant }) {
      return { keys: await listApiKeys(app.spool, tenant) }
    },
  }),
  route({
    id: 'keys.revoke',
    method: 'DELETE',
    url: '/v1/keys/:id',
    tag: 'admin',
    summary: 'Revoke an API key (it stops working at once on this node, within the key cache time elsewhere)',
    permission: 'admin',
    params: z.strictObject({ id: z.string().regex(/^[a-z0-9]{10}$/, 'a key id is 10 letters or digits') }),
    response: apiKey,
    async handler({ app, params, tenant }) {
      const key = await getApiKey(app.spool, params.id)
      if (!key || key.tenant !== tenant)
        throw new HttpProblem('SPOOL_NOT_FOUND', `no key ${params.id}`, { field: 'id' })
      const revoked = await revokeApiKey(app.spool, params.id)
      app.auth.forget()
      return revoked
    },
  }),
]
