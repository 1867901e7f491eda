/** Jobs: create (one or many), read, search, steer, and act on many at once. */
import { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { z } from 'zod'
import { SpoolError } from '../../engine/errors.js'
import { COUNT_CAP } from '../../engine/job-admin.js'
import type { EnqueueOptions } from '../../engine/options.js'
import { parseTraceparent } from '../../engine/tracing.js'
import type { ServerContext } from '../context.js'
import { EXPORT_CONTENT_TYPES, exportJobs } from '../job-export.js'
import { Reply, route } from '../route.js'
import * as s from '../schemas.js'
import { compact, jobInTenant, toApiJob } from './common.js'

const idParams = z.strictObject({ id: s.jobId })
const queueParams = z.strictObject({ queue: s.queueName })

/**
 * JSON options → engine options (an ISO `runAt` becomes a Date). `trace`, the caller's trace
 * context (see `callerTrace`), joins the metadata unless the job names a trace of its own.
 */
export function engineOptions(
  options: z.infer<typeof s.enqueueOptions> | undefined,
  tenant: string,
  user: string,
  trace?: Record<string, string>,
): EnqueueOptions & { tenant: string } {
  const { runAt, ...rest } = options ?? {}
  return {
    ...(compact(rest) as EnqueueOptions),
    ...(runAt !== undefined && { runAt: typeof runAt === 'string' ? new Date(runAt) : runAt }),
    ...(trace && rest.metadata?.traceparent === undefined && { metadata: { ...rest.metadata, ...trace } }),
    tenant,
    user,
  }
}

/**
 * The caller's W3C trace context (`traceparent` and `tracestate` headers), when tracing is on
 * and the header is well formed: enqueued jobs then join the caller's trace.
 */
export function callerTrace(app: ServerContext, request: FastifyRequest): Record<string, string> | undefined {
  if (app.spool.tracing === null) return undefined
  const { traceparent, tracestate } = request.headers
  if (typeof traceparent !== 'string' || parseTraceparent(traceparent) === null) return undefined
  return { traceparent, ...(typeof tracestate === 'string' && tracestate !== '' && { tracestate }) }
}

/** Dependencies must be jobs of the same tenant (else they are "not found", like missing ones). */
export async function checkDependencies(
  app: ServerContext,
  tenant: string,
  options: z.infer<typeof s.enqueueOptions> | undefined,
  field: string,
) {
  for (const [i, dependency] of (options?.dependsOn ?? []).entries()) {
    const id = typeof dependency === 'string' ? dependency : dependency.id
    const job = await app.spool.jobs.get(id)
    if (!job || job.tenant !== tenant) {
      throw new SpoolError('SPOOL_DEPENDENCY_NOT_FOUND', `no job ${id} to depend on`, {
        field: `${field}dependsOn.${i}`,
      })
    }
  }
}

/** Who enqueues, for a queue's per-user enqueue rate: the JWT's user, else the key id. */
export function userOf(principal: { kind: string; id: string; user: string | null }): string {
  return principal.user ?? `${principal.kind}:${principal.id}`
}

/** The listing's filters, shared by the listing, the counts and the export. */
const filterQuery = {
  queue: s.queueName.optional(),
  state: s.jobState.optional(),
  group: z.string().min(1).max(255).optional(),
  tag: z.string().min(1).max(64).optional(),
  createdAfter: s.timeQuery.optional(),
  createdBefore: s.timeQuery.optional(),
  text: z.string().min(1).max(200).optional().describe('text the payload contains (case-insensitive)'),
  error: z.string().min(1).max(200).optional().describe('text any attempt’s error message contains (case-insensitive)'),
}

/** The listing's order. */
const orderQuery = {
  sort: z
    .enum(['created', 'runAt'])
    .optional()
    .describe('created (the default: the order jobs were created in) or runAt (when the job runs or ran)'),
  order: z.enum(['asc', 'desc']).optional().describe('desc (the default: newest or latest first) or asc'),
}

const listQuery = z.strictObject({
  ...filterQuery,
  ...orderQuery,
  cursor: z.string().min(1).max(200).optional(),
  limit: s.intQuery(1, 1000).optional(),
})

const countsQuery = z.strictObject(filterQuery)

const exportQuery = z.strictObject({
  format: z.enum(['jsonl', 'csv']).describe('jsonl: one job (as the listing returns it) a line; csv: one job a row'),
  ...filterQuery,
  ...orderQuery,
})

const BULK_ACTIONS = ['cancel', 'retry', 'promote', 'remove', 'reprioritize'] as const
type BulkAction = (typeof BULK_ACTIONS)[number]

const bulkBody = z
  .strictObject({
    action: z.enum(BULK_ACTIONS),
    ids: z.array(s.jobId).min(1).max(1000).optional(),
    filter: s.jobFilter.optional(),
    priority: s.priority.optional().describe('for reprioritize'),
    dryRun: z.boolean().optional().describe('count what would be acted on, change nothing'),
    max: z.number().int().min(1).max(100_000).optional().describe('act on at most this many (default 10 000)'),
  })
  .superRefine((body, ctx) => {
    if ((body.ids === undefined) === (body.filter === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give ids or filter, not both and not neither', path: ['ids'] })
    }
    if ((body.action === 'reprioritize') !== (body.priority !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'priority goes with reprioritize, and only with it', path: ['priority'] })
    }
  })

const bulkResult = z
  .object({
    action: z.enum(BULK_ACTIONS),
    dryRun: z.boolean(),
    matched: z.number(),
    succeeded: z.number(),
    failed: z.array(z.object({ id: z.string(), code: z.string(), detail: z.string() })),
    truncated: z.boolean().describe('more jobs matched than max; run again for the rest'),
  })
  .meta({ id: 'BulkResult' })

async function act(app: ServerContext, action: BulkAction, id: string, priority?: s.PriorityInput): Promise<void> {
  const jobs = app.spool.jobs
  if (action === 'cancel') await jobs.cancel(id)
  else if (action === 'retry') await jobs.retry(id)
  else if (action === 'promote') await jobs.promote(id)
  else if (action === 'remove') await jobs.remove(id)
  else await jobs.reprioritize(id, priority as NonNullable<typeof priority>)
}

export const jobRoutes = [
  route({
    id: 'jobs.create',
    method: 'POST',
    url: '/v1/queues/:queue/jobs',
    tag: 'jobs',
    summary: 'Enqueue a job',
    description:
      'Validates everything first: on any error nothing is written. 201 for a new job; 200 with `created: false` when the idempotency key matched an existing job. The answer has the job’s `position` (runnable jobs ahead, counted up to 1,000: `positionCapped` beyond) and `estimatedWaitMs` (from the queue’s throughput over the last five minutes; a delayed job’s delay). 429 over the tenant’s enqueue rate, 503 when the queue is full (both with Retry-After).',
    permission: 'produce',
    params: queueParams,
    query: z.strictObject({
      position: s.boolQuery
        .optional()
        .describe('false: skip counting the position (and the estimated wait); true is the default'),
    }),
    body: s.newJob,
    response: s.enqueueResult,
    status: 201,
    errors: [413, 429, 503],
    async handler({ app, params, query, body, tenant, audit, principal, request }) {
      await checkDependencies(app, tenant, body.options, 'options.')
      await app.admission.admit(tenant, params.queue)
      const options = engineOptions(body.options, tenant, userOf(principal), callerTrace(app, request))
      const result =
        query.position === false
          ? await app.spool.enqueue(params.queue, body.payload, { ...options, position: false })
          : await app.enqueuer.enqueue(params.queue, body.payload, options)
      audit.target = result.id
      return result.created ? result : new Reply(200, result)
    },
  }),
  route({
    id: 'jobs.createMany',
    method: 'POST',
    url: '/v1/queues/:queue/jobs/bulk',
    tag: 'jobs',
    summary: 'Enqueue many jobs at once (all or none)',
    description:
      'Up to 1000 jobs in one transaction. A bad item is named by its index (`field: jobs.3.options.priority`). Each result has its position and estimated wait, as for one job (one count per priority level in the batch; on a fair queue the first 100 are counted).',
    permission: 'produce',
    params: queueParams,
    body: z.strictObject({ jobs: z.array(s.newJob).min(1).max(1000) }),
    response: z.object({ jobs: z.array(s.enqueueResult) }),
    status: 201,
    errors: [413, 429, 503],
    bodyLimit: 16 * 1024 * 1024,
    async handler({ app, params, body, tenant, audit, principal, request }) {
      for (const [i, item] of body.jobs.entries())
        await checkDependencies(app, tenant, item.options, `jobs.${i}.options.`)
      await app.admission.admit(tenant, params.queue, body.jobs.length)
      const trace = callerTrace(app, request)
      try {
        const jobs = await app.spool.enqueueMany(
          params.queue,
          body.jobs.map((item) => ({
            payload: item.payload,
            options: engineOptions(item.options, tenant, userOf(principal), trace),
          })),
        )
        audit.target = `${jobs.length} jobs`
        return { jobs }
      } catch (error) {
        if (error instanceof SpoolError && error.field?.startsWith('items.')) {
          throw new SpoolError(error.code, error.message.replace(/\bitems\./g, 'jobs.'), {
            ...error.details,
            field: error.field.replace(/^items\./, 'jobs.'),
          })
        }
        throw error
      }
    },
  }),
  route({
    id: 'jobs.list',
    method: 'GET',
    url: '/v1/jobs',
    tag: 'jobs',
    summary: 'Find jobs, newest first',
    description:
      'Filters combine with AND. `text` finds jobs whose payload contains it. Pass `nextCursor` back as `cursor` for the next page.',
    permission: 'read',
    query: listQuery,
    response: s.jobPage,
    auditRead: true,
    async handler({ app, query, tenant }) {
      const page = await app.spool.jobs.list({ ...compact(query), tenant })
      return { jobs: page.jobs.map(toApiJob), nextCursor: page.nextCursor }
    },
  }),
  route({
    id: 'jobs.counts',
    method: 'GET',
    url: '/v1/jobs/counts',
    tag: 'jobs',
    summary: 'How many jobs match the listing’s filters, by state (each counted up to a cap)',
    description: `Takes the listing’s filters; with \`state\`, only that state is counted. With only \`queue\` and \`state\`, the counts are exact (one grouped read, as the queue pages count); with any other filter each state is counted up to \`cap\` (${COUNT_CAP.toLocaleString('en')}); \`capped\` names the states that reached it (show them as “${COUNT_CAP.toLocaleString('en')}+”). \`total\` is the sum. A text search over encrypted payloads reads at most \`cap\` jobs, and past that marks every state capped.`,
    permission: 'read',
    query: countsQuery,
    response: z
      .object({
        counts: s.counts,
        total: z.number(),
        capped: z.array(s.jobState),
        cap: z.number(),
      })
      .meta({ id: 'JobCounts' }),
    async handler({ app, query, tenant }) {
      const { counts, capped, cap } = await app.spool.jobs.counts({ ...compact(query), tenant })
      return { counts, total: Object.values(counts).reduce((sum, n) => sum + n, 0), capped, cap }
    },
  }),
  route({
    id: 'jobs.export',
    method: 'GET',
    url: '/v1/jobs/export',
    tag: 'jobs',
    summary: 'Every job matching the listing’s filters, as JSON Lines or CSV, streamed',
    description:
      "Takes the listing’s filters and order. Streamed as it is read (a page of 500 jobs at a time), so any number of jobs can be exported; a download (`content-disposition: attachment`). JSON Lines has one job a line as the listing returns it; CSV has a header row, then one job a row with payload and result as JSON text (cells that begin with `=`, `+`, `-` or `@` are prefixed with `'` so spreadsheets do not run them).",
    permission: 'read',
    query: exportQuery,
    download: ['application/jsonl', 'text/csv'],
    auditRead: true,
    async handler({ app, query, tenant, audit }) {
      const { format, ...filter } = query
      audit.target = `export ${format}`
      // The first chunk is read before answering, so a failure to read is still a problem+json answer.
      const chunks = exportJobs(app.spool, { ...compact(filter), tenant }, format)
      const first = await chunks.next()
      const body = Readable.from(
        (async function* () {
          if (!first.done) yield first.value
          yield* chunks
        })(),
      )
      return new Reply(200, body, {
        'content-type': EXPORT_CONTENT_TYPES[format],
        'content-disposition': `attachment; filename="spool-jobs-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}Z.${format}"`,
        'cache-control': 'private, no-store',
        'x-content-type-options': 'nosniff',
      })
    },
  }),
  route({
    id: 'jobs.get',
    method: 'GET',
    url: '/v1/jobs/:id',
    tag: 'jobs',
    summary: 'A job, with its payload, result and errors',
    permission: 'read',
    params: idParams,
    response: s.job,
    auditRead: true,
    async handler({ app, params, tenant }) {
      return toApiJob(await jobInTenant(app, params.id, tenant))
    },
  }),
  route({
    id: 'jobs.status',
    method: 'GET',
    url: '/v1/jobs/:id/status',
    tag: 'jobs',
    summary: 'A job’s state and progress, without payload or result (cheap to poll)',
    permission: 'read',
    params: idParams,
    response: z
      .object({
        id: s.jobId,
        queue: z.string(),
        state: s.jobState,
        progress: s.job.shape.progress,
        attempt: z.number(),
        maxAttempts: z.number(),
        updatedAt: z.string().nullable(),
      })
      .meta({ id: 'JobStatus' }),
    async handler({ app, params, tenant }) {
      // The row as stored: the payload and result stay encrypted and unparsed (this is the polled route).
      const job = await app.spool.store.jobGet({ id: params.id })
      if (!job || job.tenant !== tenant)
        throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${params.id}`, { field: 'id' })
      return {
        id: job.id,
        queue: job.queue,
        state: job.state,
        progress: job.progress,
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
        updatedAt: new Date(job.updatedAt).toISOString(),
      }
    },
  }),
  route({
    id: 'jobs.position',
    method: 'GET',
    url: '/v1/jobs/:id/position',
    tag: 'jobs',
    summary: 'How many jobs run before this one, and the expected wait',
    permission: 'read',
    params: idParams,
    response: z.object({ position: z.number().nullable(), estimatedWaitMs: z.number().nullable() }),
    async handler({ app, params, tenant }) {
      await jobInTenant(app, params.id, tenant)
      return (await app.spool.jobs.position(params.id)) ?? { position: null, estimatedWaitMs: null }
    },
  }),
  route({
    id: 'jobs.history',
    method: 'GET',
    url: '/v1/jobs/:id/events',
    tag: 'jobs',
    summary: 'A job’s events, oldest first',
    permission: 'read',
    params: idParams,
    query: z.strictObject({
      afterId: s.intQuery(0, Number.MAX_SAFE_INTEGER).optional(),
      limit: s.intQuery(1, 1000).optional(),
    }),
    response: z.object({ events: z.array(s.event) }),
    auditRead: true,
    auditAs: 'jobs.get',
    async handler({ app, params, query, tenant }) {
      await jobInTenant(app, params.id, tenant)
      const events = await app.spool.jobs.history(params.id, {
        ...(query.afterId !== undefined && { afterId: query.afterId }),
        limit: query.limit ?? 1000,
      })
      return { events }
    },
  }),
  route({
    id: 'jobs.reprioritize',
    method: 'PATCH',
    url: '/v1/jobs/:id',
    tag: 'jobs',
    summary: 'Change the priority of a job that has not started',
    permission: 'produce',
    params: idParams,
    body: z.strictObject({ priority: s.priority }),
    response: s.job,
    errors: [409],
    async handler({ app, params, body, tenant }) {
      await jobInTenant(app, params.id, tenant)
      return toApiJob(await app.spool.jobs.reprioritize(params.id, body.priority))
    },
  }),
  ...(['retry', 'cancel', 'promote'] as const).map((action) =>
    route({
      id: `jobs.${action}`,
      method: 'POST',
      url: `/v1/jobs/:id/${action}`,
      tag: 'jobs',
      summary: {
        retry: 'Retry a failed or cancelled job (attempts reset)',
        cancel: 'Cancel a job (a running one sees its signal abort)',
        promote: 'Run a scheduled job now',
      }[action],
      permission: 'produce',
      params: idParams,
      response: s.job,
      errors: [409],
      async handler({ app, params, tenant }) {
        await jobInTenant(app, params.id, tenant)
        return toApiJob(await app.spool.jobs[action](params.id))
      },
    }),
  ),
  route({
    id: 'jobs.remove',
    method: 'DELETE',
    url: '/v1/jobs/:id',
    tag: 'jobs',
    summary: 'Delete a job that is not running, with its history',
    permission: 'produce',
    params: idParams,
    status: 204,
    errors: [409],
    async handler({ app, params, tenant }) {
      await jobInTenant(app, params.id, tenant)
      await app.spool.jobs.remove(params.id)
      return new Reply(204, undefined)
    },
  }),
  route({
    id: 'jobs.bulk',
    method: 'POST',
    url: '/v1/jobs/actions',
    tag: 'jobs',
    summary: 'Act on many jobs: a list of ids, or all that match a filter',
    description:
      'Each job is acted on by itself: one that is in the wrong state is listed under `failed` (first 100) and the rest go on. With a filter, at most `max` jobs (default 10 000) are acted on; `truncated` says there were more.',
    permission: 'produce',
    body: bulkBody,
    response: bulkResult,
    async handler({ app, body, tenant, audit }) {
      const max = body.max ?? 10_000
      const failed: { id: string; code: string; detail: string }[] = []
      let matched = 0
      let succeeded = 0
      let truncated = false
      const one = async (id: string) => {
        matched += 1
        if (body.dryRun) return
        try {
          await act(app, body.action, id, body.priority)
          succeeded += 1
        } catch (error) {
          if (!(error instanceof SpoolError)) throw error
          if (failed.length < 100) failed.push({ id, code: error.code, detail: error.message })
        }
      }
      if (body.ids) {
        for (const id of new Set(body.ids)) {
          const job = await app.spool.jobs.get(id)
          if (!job || job.tenant !== tenant) {
            if (failed.length < 100) failed.push({ id, code: 'SPOOL_JOB_NOT_FOUND', detail: `no job ${id}` })
            continue
          }
          await one(id)
        }
      } else {
        // Collect first, then act: acting while paging would move jobs under the cursor.
        const ids: string[] = []
        let cursor: string | undefined
        do {
          const page = await app.spool.jobs.list({
            ...compact(body.filter ?? {}),
            tenant,
            limit: 1000,
            ...(cursor && { cursor }),
          })
          for (const job of page.jobs) {
            if (ids.length >= max) {
              truncated = true
              break
            }
            ids.push(job.id)
          }
          cursor = page.nextCursor ?? undefined
        } while (cursor && !truncated)
        if (cursor && ids.length >= max) truncated = true
        for (const id of ids) await one(id)
      }
      audit.target = `${body.action} ${matched} jobs`
      return { action: body.action, dryRun: body.dryRun ?? false, matched, succeeded, failed, truncated }
    },
  }),
]
