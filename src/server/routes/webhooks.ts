/** Webhooks (signed deliveries of events) and alert thresholds, per tenant. */
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { newWebhookSecret } from '../../security/signature.js'
import { HttpProblem } from '../problem.js'
import { Reply, route } from '../route.js'
import * as s from '../schemas.js'
import { ALERT_KINDS, ALERTS, ALERTS_FIRED, type AlertData, WEBHOOKS, type WebhookData } from '../webhooks.js'

const EVENT_TYPE = /^(\*|[a-z_]+\.[a-z_*]+)$/

const webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'Webhook' })

const alert = z
  .object({
    id: z.string(),
    kind: z.enum(ALERT_KINDS),
    queue: z.string().nullable(),
    breaker: z.string().nullable(),
    threshold: z.number(),
    cooldownMs: z.number(),
    createdAt: z.string(),
  })
  .meta({ id: 'Alert' })

const recordId = z.strictObject({ id: z.uuid() })

function toWebhook(record: { id: string; data: unknown; createdAt: number | Date }) {
  const data = record.data as WebhookData
  return {
    id: record.id,
    url: data.url,
    events: data.events,
    description: data.description,
    createdAt: new Date(record.createdAt).toISOString(),
  }
}

function toAlert(record: { id: string; data: unknown; createdAt: number | Date }) {
  const data = record.data as AlertData
  return { id: record.id, ...data, breaker: data.breaker ?? null, createdAt: new Date(record.createdAt).toISOString() }
}

async function listAll(
  app: { spool: { records: { list: (c: string, o: object) => Promise<{ seq: number }[]> } } },
  collection: string,
  tenant: string,
) {
  const out: unknown[] = []
  let afterSeq = 0
  for (;;) {
    const page = await app.spool.records.list(collection, { tenant, afterSeq, limit: 500 })
    out.push(...page)
    if (page.length < 500) return out
    afterSeq = page.at(-1)?.seq ?? afterSeq
  }
}

/** No C0 control character, space or DEL anywhere in the text. */
function hasNoControlOrSpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code <= 0x20 || code === 0x7f) return false
  }
  return true
}

export const webhookRoutes = [
  route({
    id: 'webhooks.create',
    method: 'POST',
    url: '/v1/webhooks',
    tag: 'webhooks',
    summary: 'Subscribe a URL to events; the signing secret is in this answer only',
    description:
      'Event types: any engine event (`job.failed` — attempts exhausted, the dead-letter set; `job.retrying`, `job.completed`, `job.cancelled`, `queue.paused`, `breaker.opened`…), `session.processed` (an audio session’s results are saved), `alert.backlog`, `alert.backlog_age`, `alert.failure_rate`, `alert.breaker_open`, a prefix wildcard such as `job.*`, or `*`. Job and session events come from the tenant’s own jobs. Queue and breaker events reach the operator tenant’s webhooks, and another tenant’s when it has unfinished jobs in the queue (for a breaker: in a queue bound to it).',
    permission: 'manage',
    body: z.strictObject({
      // The URL parser drops CR, LF and tabs and trims spaces without a word, so a URL with
      // them would be stored as another one: they are refused before it runs.
      url: z
        .string()
        .max(2048)
        .refine(
          hasNoControlOrSpace,
          'a URL may not contain spaces or control characters (CR, LF, tab, NUL): percent-encode them',
        )
        .pipe(z.url({ protocol: /^https?$/ }))
        .meta({ format: 'uri' }),
      events: z.array(z.string().regex(EVENT_TYPE, 'an event type such as job.failed, job.* or *')).min(1).max(50),
      description: z.string().max(200).optional(),
    }),
    response: webhook.extend({ secret: z.string().describe('HMAC-SHA256 key for Spool-Signature; shown once') }),
    status: 201,
    async handler({ app, body, tenant, audit }) {
      const data: WebhookData = {
        url: body.url,
        events: [...new Set(body.events)],
        secret: newWebhookSecret(),
        description: body.description ?? null,
      }
      const record = await app.spool.records.put(WEBHOOKS, { id: randomUUID(), tenant, data })
      audit.target = record.id
      await app.webhooks?.reload()
      return { ...toWebhook(record), secret: data.secret }
    },
  }),
  route({
    id: 'webhooks.list',
    method: 'GET',
    url: '/v1/webhooks',
    tag: 'webhooks',
    summary: 'This tenant’s webhooks (without secrets)',
    permission: 'manage',
    response: z.object({ webhooks: z.array(webhook) }),
    async handler({ app, tenant }) {
      const records = (await listAll(app, WEBHOOKS, tenant)) as Parameters<typeof toWebhook>[0][]
      return { webhooks: records.map(toWebhook) }
    },
  }),
  route({
    id: 'webhooks.delete',
    method: 'DELETE',
    url: '/v1/webhooks/:id',
    tag: 'webhooks',
    summary: 'Delete a webhook (deliveries still queued are dropped when they run)',
    permission: 'manage',
    params: recordId,
    status: 204,
    async handler({ app, params, tenant }) {
      const record = await app.spool.records.get(WEBHOOKS, params.id)
      if (!record || record.tenant !== tenant)
        throw new HttpProblem('SPOOL_NOT_FOUND', `no webhook ${params.id}`, { field: 'id' })
      await app.spool.records.delete(WEBHOOKS, params.id)
      await app.webhooks?.reload()
      return new Reply(204, undefined)
    },
  }),
  route({
    id: 'alerts.create',
    method: 'POST',
    url: '/v1/alerts',
    tag: 'webhooks',
    summary: 'Set an alert threshold; it fires as `alert.<kind>` to the tenant’s webhooks',
    description:
      '`backlog`: this tenant’s waiting and scheduled jobs (of `queue`, or all) above `threshold`. `backlog_age`: this tenant’s oldest waiting job (of `queue`, or any) has waited more than `threshold` seconds. `failure_rate`: failed share of the queue’s finished jobs over the last hour (0–1, all tenants) above `threshold`. `breaker_open`: a circuit breaker (`breaker`, else the one `queue` is bound to, else any) has been open more than `threshold` seconds (0: as soon as it opens). Fires at most once per `cooldownMs`.',
    permission: 'manage',
    body: z.strictObject({
      kind: z.enum(ALERT_KINDS),
      queue: s.queueName.optional(),
      breaker: s.queueName.optional().describe('breaker_open only'),
      threshold: z.number().min(0).max(1e12),
      cooldownMs: z.number().int().min(1_000).max(86_400_000).optional().describe('default 15 minutes'),
    }),
    response: alert,
    status: 201,
    async handler({ app, body, tenant, audit }) {
      if (body.kind === 'failure_rate' && body.threshold > 1) {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', 'a failure rate threshold is from 0 to 1', {
          field: 'threshold',
        })
      }
      if (body.breaker !== undefined && body.kind !== 'breaker_open') {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', 'breaker is for breaker_open alerts only', { field: 'breaker' })
      }
      const data: AlertData = {
        kind: body.kind,
        queue: body.queue ?? null,
        breaker: body.breaker ?? null,
        threshold: body.threshold,
        cooldownMs: body.cooldownMs ?? 900_000,
      }
      const record = await app.spool.records.put(ALERTS, { id: randomUUID(), tenant, data })
      audit.target = record.id
      return toAlert(record)
    },
  }),
  route({
    id: 'alerts.list',
    method: 'GET',
    url: '/v1/alerts',
    tag: 'webhooks',
    summary: 'This tenant’s alert thresholds',
    permission: 'manage',
    response: z.object({ alerts: z.array(alert) }),
    async handler({ app, tenant }) {
      const records = (await listAll(app, ALERTS, tenant)) as Parameters<typeof toAlert>[0][]
      return { alerts: records.map(toAlert) }
    },
  }),
  route({
    id: 'alerts.delete',
    method: 'DELETE',
    url: '/v1/alerts/:id',
    tag: 'webhooks',
    summary: 'Remove an alert threshold',
    permission: 'manage',
    params: recordId,
    status: 204,
    async handler({ app, params, tenant }) {
      const record = await app.spool.records.get(ALERTS, params.id)
      if (!record || record.tenant !== tenant)
        throw new HttpProblem('SPOOL_NOT_FOUND', `no alert ${params.id}`, { field: 'id' })
      await app.spool.records.delete(ALERTS, params.id)
      await app.spool.records.delete(ALERTS_FIRED, params.id)
      return new Reply(204, undefined)
    },
  }),
]
