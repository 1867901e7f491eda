/**
 * Queues: list, configure, pause and resume, stats, cleanup. A queue is shared by every tenant,
 * so what changes the whole queue (settings, pause, resume) is for admins of the operator tenant;
 * a cleanup removes only the caller's tenant's finished jobs.
 */
import { z } from 'zod'
import type { QueueOptions } from '../../engine/options.js'
import { emptyCounts } from '../../engine/queue-admin.js'
import { HttpProblem } from '../problem.js'
import { route } from '../route.js'
import * as s from '../schemas.js'
import { queueInTenant, seesEveryQueue, tenantCounts } from './common.js'

const nameParams = z.strictObject({ name: s.queueName })

const statsSchema = z
  .object({
    counts: z.record(z.string(), s.counts).describe('jobs by state, per queue, in this tenant'),
    perMinute: z.array(
      z.object({ minute: z.number(), completed: z.number(), failed: z.number(), retried: z.number() }),
    ),
    waitMs: z.object({ p50: z.number(), p95: z.number() }).nullable(),
    runMs: z.object({ p50: z.number(), p95: z.number() }).nullable(),
    successRate: z.number().nullable(),
    throughputPerMinute: z.number(),
    breakers: z
      .array(
        z.object({
          name: z.string(),
          state: z.enum(['closed', 'open', 'half_open']),
          failures: z.number(),
          openedAt: z.number().nullable(),
        }),
      )
      .describe('circuit breakers and their state (for one queue: the breaker it is bound to)'),
  })
  .meta({ id: 'Stats' })

export const queueRoutes = [
  route({
    id: 'queues.list',
    method: 'GET',
    url: '/v1/queues',
    tag: 'queues',
    summary: 'Queues this tenant has jobs in, with its jobs by state (operator admins: every queue)',
    permission: 'read',
    response: z.object({ queues: z.array(s.queue) }),
    async handler({ app, tenant, principal }) {
      const [queues, counts] = await Promise.all([app.spool.queues.list(), tenantCounts(app, tenant)])
      // Queue names are shared, and another tenant's queue names are its business: only the
      // operator's admins see every queue.
      const visible = seesEveryQueue(principal) ? queues : queues.filter((q) => counts[q.name] !== undefined)
      return {
        queues: visible.map((q) => ({
          name: q.name,
          paused: q.paused,
          config: q.config,
          counts: counts[q.name] ?? emptyCounts(),
        })),
      }
    },
  }),
  route({
    id: 'queues.get',
    method: 'GET',
    url: '/v1/queues/:name',
    tag: 'queues',
    summary: 'One queue, with this tenant’s jobs by state',
    description:
      'A queue this tenant has jobs in (operator admins: any queue). Any other name answers 404, whether another tenant uses it or nobody does.',
    permission: 'read',
    params: nameParams,
    response: s.queue,
    async handler({ app, params, tenant, principal }) {
      const counts = await queueInTenant(app, params.name, tenant, principal)
      const queue = await app.spool.queues.get(params.name)
      if (!queue) throw new HttpProblem('SPOOL_NOT_FOUND', `no queue "${params.name}"`, { field: 'name' })
      return { name: queue.name, paused: queue.paused, config: queue.config, counts }
    },
  }),
  route({
    id: 'queues.configure',
    method: 'PUT',
    url: '/v1/queues/:name',
    tag: 'queues',
    summary: 'Create a queue or replace its settings',
    description: 'Queues are shared by every tenant, so only admins of the operator tenant configure them.',
    permission: 'operate',
    params: nameParams,
    body: s.queueConfig,
    response: s.queue,
    async handler({ app, params, body }) {
      return app.spool.queues.configure(params.name, body as QueueOptions)
    },
  }),
  ...(['pause', 'resume'] as const).map((action) =>
    route({
      id: `queues.${action}`,
      method: 'POST',
      url: `/v1/queues/:name/${action}`,
      tag: 'queues',
      summary:
        action === 'pause' ? 'Stop workers everywhere from claiming (running jobs finish)' : 'Let workers claim again',
      description: 'This changes the queue for every tenant, so only admins of the operator tenant may.',
      permission: 'operate',
      params: nameParams,
      response: s.queue,
      async handler({ app, params }) {
        return app.spool.queues[action](params.name)
      },
    }),
  ),
  route({
    id: 'queues.stats',
    method: 'GET',
    url: '/v1/queues/:name/stats',
    tag: 'queues',
    summary: 'Counts (this tenant), throughput, timings and success rate (whole queue)',
    description:
      'A queue this tenant has jobs in (operator admins: any queue). Any other name answers 404, whether another tenant uses it or nobody does.',
    permission: 'read',
    params: nameParams,
    response: statsSchema,
    async handler({ app, params, tenant, principal }) {
      const counts = await queueInTenant(app, params.name, tenant, principal)
      const stats = await app.spool.stats(params.name)
      return { ...stats, counts: { [params.name]: counts } }
    },
  }),
  route({
    id: 'stats',
    method: 'GET',
    url: '/v1/stats',
    tag: 'queues',
    summary: 'Counts for every queue (this tenant), with throughput and timings over all queues',
    permission: 'read',
    response: statsSchema,
    async handler({ app, tenant }) {
      const [stats, counts] = await Promise.all([app.spool.stats(), tenantCounts(app, tenant)])
      return { ...stats, counts }
    },
  }),
  route({
    id: 'queues.cleanup',
    method: 'POST',
    url: '/v1/queues/:name/cleanup',
    tag: 'queues',
    summary:
      'Apply the queue’s retention to this tenant’s finished jobs now (or, with dryRun, say what it would remove)',
    description:
      'Removes only jobs of the tenant the request acts in (an operator admin names another with `Spool-Tenant`), among those the queue’s retention no longer keeps (its `maxCount` counts the whole queue).',
    permission: 'manage',
    params: nameParams,
    body: z.strictObject({ dryRun: z.boolean().optional() }).optional(),
    response: z
      .object({
        dryRun: z.boolean(),
        removed: z.object({ completed: z.number(), failed: z.number(), cancelled: z.number() }),
        sampleIds: z.array(z.string()),
      })
      .meta({ id: 'CleanupReport' }),
    async handler({ app, params, body, tenant }) {
      return app.spool.queues.cleanup(params.name, { dryRun: body?.dryRun ?? false, tenant })
    },
  }),
]
