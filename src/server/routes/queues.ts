/**
 * Queues: list, configure, pause and resume, stats, cleanup. A queue is shared by every tenant,
 * so what changes the whole queue (settings, pause, resume) is for admins of the operator tenant;
 * a cleanup removes only the caller's tenant's finished jobs.
 */
import { z } from 'zod'
import { SpoolError } from '../../engine/errors.js'
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
    oldestWaiting: z
      .object({
        id: z.string(),
        queue: z.string(),
        createdAt: z.string(),
        ageMs: z.number().describe('how long it has waited since it was created, when this answer was made'),
      })
      .nullable()
      .describe(
        'this tenant’s oldest waiting job (of this queue, for one queue; of any queue otherwise); null when none waits',
      ),
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

/** The tenant's oldest waiting job as the stats answer it. */
function oldestWaiting(job: { id: string; queue: string; createdAt: number } | null) {
  if (!job) return null
  return {
    id: job.id,
    queue: job.queue,
    createdAt: new Date(job.createdAt).toISOString(),
    ageMs: Math.max(0, Date.now() - job.createdAt),
  }
}

/** Failed jobs retried by one call at most, unless it asks for fewer. */
const RETRY_FAILED_MAX = 10_000

const retryFailedResult = z
  .object({
    queue: z.string(),
    dryRun: z.boolean(),
    matched: z.number().describe('failed jobs of this tenant found on the queue (at most max)'),
    retried: z.number().describe('jobs moved back to waiting (0 with dryRun)'),
    failed: z
      .array(z.object({ id: z.string(), code: z.string(), detail: z.string() }))
      .describe('jobs that could not be retried (the first 100), e.g. retried or removed meanwhile'),
    truncated: z.boolean().describe('more failed jobs than max; call again for the rest'),
  })
  .meta({ id: 'RetryFailedResult' })

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
      const [stats, oldest] = await Promise.all([
        app.spool.stats(params.name),
        app.spool.queues.oldestWaitingJob({ tenant, queue: params.name }),
      ])
      return { ...stats, counts: { [params.name]: counts }, oldestWaiting: oldestWaiting(oldest) }
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
      const [stats, counts, oldest] = await Promise.all([
        app.spool.stats(),
        tenantCounts(app, tenant),
        app.spool.queues.oldestWaitingJob({ tenant }),
      ])
      return { ...stats, counts, oldestWaiting: oldestWaiting(oldest) }
    },
  }),
  route({
    id: 'queues.retryFailed',
    method: 'POST',
    url: '/v1/queues/:name/retry-failed',
    tag: 'queues',
    summary: 'Retry every failed job of this tenant on the queue (attempts reset), or with dryRun count them',
    description:
      'Acts only on jobs of the tenant the request acts in. Each job is retried by itself: one that left the failed state meanwhile is listed under `failed` and the rest go on. At most `max` jobs (default 10 000) per call: the newest failures, as the job list shows them, retried in the order they were created; `truncated` says there were more. A queue with no failed jobs of the tenant (or no such queue) answers `matched: 0`.',
    permission: 'produce',
    params: nameParams,
    body: z
      .strictObject({
        dryRun: z.boolean().optional().describe('count the failed jobs, change nothing'),
        max: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .optional()
          .describe(`retry at most this many (default ${RETRY_FAILED_MAX})`),
      })
      .optional(),
    response: retryFailedResult,
    async handler({ app, params, body, tenant, audit }) {
      const max = body?.max ?? RETRY_FAILED_MAX
      const dryRun = body?.dryRun ?? false
      // Collect first, then act: a retried job leaves the failed state under the cursor. Ids
      // only, from the store's list (no payload decoded), newest first as the job list shows them.
      const ids: string[] = []
      let beforeId: string | undefined
      for (;;) {
        // One more than max in all, to tell whether there were more.
        const limit = Math.min(1000, max + 1 - ids.length)
        const rows = await app.spool.store.jobList({
          queue: params.name,
          state: 'failed',
          tenant,
          limit,
          ...(beforeId !== undefined && { beforeId }),
        })
        for (const row of rows) ids.push(row.id)
        if (rows.length < limit || ids.length > max) break
        beforeId = rows.at(-1)?.id
      }
      const truncated = ids.length > max
      ids.length = Math.min(ids.length, max)
      // The list is newest first; retried in creation order, they wait in that order again.
      ids.reverse()
      const failed: { id: string; code: string; detail: string }[] = []
      let retried = 0
      if (!dryRun) {
        for (const id of ids) {
          try {
            await app.spool.jobs.retry(id)
            retried += 1
          } catch (error) {
            if (!(error instanceof SpoolError)) throw error
            if (failed.length < 100) failed.push({ id, code: error.code, detail: error.message })
          }
        }
      }
      audit.target = `${params.name}: ${dryRun ? `${ids.length} failed (dry run)` : `${retried} retried`}`
      return { queue: params.name, dryRun, matched: ids.length, retried, failed, truncated }
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
