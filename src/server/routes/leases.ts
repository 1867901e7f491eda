/**
 * The HTTP worker protocol, for workers in any language: claim jobs (long-polling up to
 * `waitMs`), then heartbeat, report progress and log lines, and complete or fail each job, every
 * call carrying the job's `leaseToken`. A call with a stale token (the lease lapsed and the job
 * went to someone else, or it was cancelled) gets 409 `SPOOL_LEASE_LOST` and changes nothing.
 * Failures follow the same retry, backoff and dead-letter rules as in-process workers.
 */
import { z } from 'zod'
import { SpoolError } from '../../engine/errors.js'
import type { Principal } from '../auth.js'
import type { ServerContext } from '../context.js'
import { HttpProblem } from '../problem.js'
import { Reply, route } from '../route.js'
import * as s from '../schemas.js'

/**
 * Queues are shared by every tenant and a claim takes the next job whatever its tenant, so only
 * the operator's workers (a worker or admin credential of `auth.operatorTenant`) may claim and
 * report on leases; they then act on jobs of any tenant.
 */
function assertOperator(app: ServerContext, principal: Principal, tenant: string): void {
  if (tenant === app.config.auth.operatorTenant || principal.tenant === app.config.auth.operatorTenant) return
  throw new HttpProblem(
    'SPOOL_TENANT_FORBIDDEN',
    `HTTP workers lease jobs of every tenant, so they need a credential of the operator tenant "${app.config.auth.operatorTenant}"`,
    { field: 'authorization' },
  )
}

/** The leased job must exist (any tenant: the caller is the operator's worker). */
async function leasedJob(app: ServerContext, principal: Principal, tenant: string, id: string): Promise<void> {
  assertOperator(app, principal, tenant)
  if (!(await app.spool.jobs.get(id))) throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${id}`, { field: 'id' })
}

const idParams = z.strictObject({ id: s.jobId })
const leaseToken = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('from the claim')

const claimedJob = z
  .object({
    id: s.jobId,
    queue: z.string(),
    tenant: z.string(),
    leaseToken: z.number(),
    payload: z.unknown(),
    attempt: z.number(),
    maxAttempts: z.number(),
    priority: z.number(),
    timeoutMs: z.number().nullable(),
    leaseExpiresAt: z.string().nullable(),
    group: z.string().nullable(),
    tags: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'ClaimedJob' })

const leaseOk = z.object({ ok: z.literal(true), leaseExpiresAt: z.string().nullable().optional() })

function iso(value: unknown): string | null {
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'number') return new Date(value).toISOString()
  return null
}

export const leaseRoutes = [
  route({
    id: 'leases.claim',
    method: 'POST',
    url: '/v1/queues/:queue/claim',
    tag: 'workers',
    summary: 'Lease up to `limit` jobs; waits up to `waitMs` for one to arrive',
    description:
      'Answers as soon as at least one job is leased, or with `jobs: []` after `waitMs` (long poll, at most the server’s maxClaimWaitMs). Keep each lease alive with heartbeats more often than `leaseMs`.',
    permission: 'work',
    params: z.strictObject({ queue: s.queueName }),
    body: z.strictObject({
      workerId: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[\w.:@-]+$/, 'letters, digits and . _ : @ -'),
      limit: z.number().int().min(1).max(100).optional().describe('default 1'),
      leaseMs: z.number().int().min(1_000).max(3_600_000).optional().describe('default 30 000'),
      waitMs: z.number().int().min(0).max(120_000).optional().describe('default 0: answer at once'),
    }),
    response: z.object({ jobs: z.array(claimedJob) }),
    async handler({ app, params, body, tenant, audit, principal }) {
      assertOperator(app, principal, tenant)
      const waitMs = Math.min(body.waitMs ?? 0, app.config.limits.maxClaimWaitMs)
      const claim = app.spool.leases.claim({
        queue: params.queue,
        workerId: body.workerId,
        limit: body.limit ?? 1,
        leaseMs: body.leaseMs ?? 30_000,
        waitMs: app.closing ? 0 : waitMs,
      })
      // Shutdown answers a waiting long poll at once with no jobs, so the server can stop. (A job
      // the engine leases in that very instant is recovered when its lease lapses.)
      let onClosing = () => {}
      const closing = new Promise<null>((resolve) => {
        onClosing = () => resolve(null)
        app.closingSignal.addEventListener('abort', onClosing, { once: true })
      })
      const jobs = await Promise.race([claim, closing]).finally(() =>
        app.closingSignal.removeEventListener('abort', onClosing),
      )
      if (jobs === null) {
        claim.catch(() => {})
        return { jobs: [] }
      }
      audit.target = jobs.map((job) => job.id).join(',') || null
      return {
        jobs: jobs.map((job) => ({
          id: job.id,
          queue: job.queue,
          tenant: job.tenant,
          leaseToken: job.leaseToken,
          payload: job.payload,
          attempt: job.attempt,
          maxAttempts: job.maxAttempts,
          priority: job.priority,
          timeoutMs: job.timeoutMs ?? null,
          leaseExpiresAt: iso(job.leaseExpiresAt),
          group: job.group ?? null,
          tags: job.tags ?? [],
          metadata: job.metadata ?? {},
        })),
      }
    },
  }),
  route({
    id: 'leases.heartbeat',
    method: 'POST',
    url: '/v1/jobs/:id/heartbeat',
    tag: 'workers',
    summary: 'Extend a job’s lease',
    permission: 'work',
    params: idParams,
    body: z.strictObject({
      leaseToken,
      leaseMs: z.number().int().min(1_000).max(3_600_000).optional().describe('new lease length (default 30 000)'),
    }),
    response: leaseOk,
    errors: [409],
    async handler({ app, params, body, tenant, principal }) {
      await leasedJob(app, principal, tenant, params.id)
      await app.spool.leases.heartbeat(params.id, body.leaseToken, body.leaseMs ?? 30_000)
      return { ok: true }
    },
  }),
  route({
    id: 'leases.progress',
    method: 'POST',
    url: '/v1/jobs/:id/progress',
    tag: 'workers',
    summary: 'Report a leased job’s progress (0–100) and stage',
    permission: 'work',
    params: idParams,
    body: z.strictObject({
      leaseToken,
      percent: z.number().min(0).max(100),
      stage: z.string().min(1).max(200).optional(),
    }),
    response: leaseOk,
    errors: [409],
    async handler({ app, params, body, tenant, principal }) {
      await leasedJob(app, principal, tenant, params.id)
      await app.spool.leases.progress(params.id, body.leaseToken, body.percent, body.stage)
      return { ok: true }
    },
  }),
  route({
    id: 'leases.log',
    method: 'POST',
    url: '/v1/jobs/:id/log',
    tag: 'workers',
    summary: 'Add a line to a leased job’s log',
    permission: 'work',
    params: idParams,
    body: z.strictObject({
      leaseToken,
      level: z.enum(['debug', 'info', 'warn', 'error']).optional(),
      message: z.string().min(1).max(8_192),
    }),
    response: leaseOk,
    errors: [409],
    async handler({ app, params, body, tenant, principal }) {
      await leasedJob(app, principal, tenant, params.id)
      await app.spool.leases.log(params.id, body.leaseToken, body.level ?? 'info', body.message)
      return { ok: true }
    },
  }),
  route({
    id: 'leases.complete',
    method: 'POST',
    url: '/v1/jobs/:id/complete',
    tag: 'workers',
    summary: 'Complete a leased job with its result',
    permission: 'work',
    params: idParams,
    body: z.strictObject({ leaseToken, result: z.unknown().optional() }),
    response: leaseOk,
    errors: [409, 413],
    async handler({ app, params, body, tenant, principal }) {
      await leasedJob(app, principal, tenant, params.id)
      await app.spool.leases.complete(params.id, body.leaseToken, body.result ?? null)
      return { ok: true }
    },
  }),
  route({
    id: 'leases.fail',
    method: 'POST',
    url: '/v1/jobs/:id/fail',
    tag: 'workers',
    summary: 'Fail a leased job’s attempt (retried with backoff unless `retryable: false` or out of attempts)',
    description:
      '`retryAfterMs` (e.g. from a provider’s Retry-After) reschedules without spending the attempt, like RateLimitedError.',
    permission: 'work',
    params: idParams,
    body: z.strictObject({
      leaseToken,
      message: z.string().min(1).max(8_192),
      code: z.string().min(1).max(128).optional(),
      retryable: z.boolean().optional(),
      retryAfterMs: z.number().int().min(0).max(2_147_483_647).optional(),
    }),
    response: z.object({ ok: z.literal(true), state: s.jobState.optional() }),
    errors: [409],
    async handler({ app, params, body, tenant, principal }) {
      await leasedJob(app, principal, tenant, params.id)
      const outcome = await app.spool.leases.fail(params.id, body.leaseToken, {
        message: body.message,
        ...(body.code !== undefined && { code: body.code }),
        ...(body.retryable !== undefined && { retryable: body.retryable }),
        ...(body.retryAfterMs !== undefined && { retryAfterMs: body.retryAfterMs }),
      })
      return new Reply(200, { ok: true, state: outcome.state })
    },
  }),
]
