/** Helpers the route files share. */
import { SpoolError } from '../../engine/errors.js'
import type { JobInfo } from '../../engine/job.js'
import type { JobState } from '../../store/store.js'
import type { Principal } from '../auth.js'
import type { ServerContext } from '../context.js'
import { HttpProblem } from '../problem.js'

export interface ApiJob {
  id: string
  queue: string
  tenant: string
  state: JobInfo['state']
  priority: number
  payload: unknown
  result: unknown
  attempt: number
  maxAttempts: number
  progress: JobInfo['progress']
  errors: Omit<JobInfo['errors'][number], 'stack'>[]
  group: string | null
  tags: string[]
  metadata: Record<string, unknown>
  idempotencyKey: string | null
  timeoutMs: number | null
  runAt: string
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  workerId: string | null
}

/** A job as the API returns it: times as ISO text, errors without stacks (they name server paths). */
export function toApiJob(job: JobInfo): ApiJob {
  return {
    id: job.id,
    queue: job.queue,
    tenant: job.tenant,
    state: job.state,
    priority: job.priority,
    payload: job.payload,
    result: job.result,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    progress: job.progress,
    errors: job.errors.map(({ stack: _stack, ...rest }) => rest),
    group: job.group,
    tags: job.tags,
    metadata: job.metadata,
    idempotencyKey: job.idempotencyKey,
    timeoutMs: job.timeoutMs,
    runAt: job.runAt.toISOString(),
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    workerId: job.workerId,
  }
}

/**
 * The job, if it exists in this tenant. A job of another tenant is "not found", exactly like a
 * missing one, so ids cannot be probed across tenants.
 */
export async function jobInTenant(app: ServerContext, id: string, tenant: string): Promise<JobInfo> {
  const job = await app.spool.jobs.get(id)
  if (!job || job.tenant !== tenant) throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${id}`, { field: 'id' })
  return job
}

/** Operator admins see every queue; every other caller, the queues its tenant has jobs in. */
export function seesEveryQueue(principal: Principal): boolean {
  return principal.operator && principal.scopes.includes('admin')
}

/**
 * A queue's jobs by state in this tenant, if the caller may see the queue. Queue names are
 * shared, and which queues another tenant uses is that tenant's business: a caller sees a queue
 * once its tenant has jobs in it (as `GET /v1/queues` lists them; operator admins see every
 * queue). Any other name, another tenant's queue or one never used, is the same 404.
 */
export async function queueInTenant(
  app: ServerContext,
  name: string,
  tenant: string,
  principal: Principal,
): Promise<Record<JobState, number>> {
  const counts = await app.spool.queues.counts(name, { tenant })
  const visible = seesEveryQueue(principal)
    ? (await app.spool.queues.get(name)) !== null
    : Object.values(counts).some((n) => n > 0)
  if (!visible) throw new HttpProblem('SPOOL_NOT_FOUND', `no queue "${name}"`, { field: 'name' })
  return counts
}

/** Jobs by state per queue, counting only this tenant's jobs. */
export async function tenantCounts(
  app: ServerContext,
  tenant: string,
  queue?: string,
): Promise<Record<string, Record<JobState, number>>> {
  if (queue === undefined) return app.spool.queues.countsAll({ tenant })
  return { [queue]: await app.spool.queues.counts(queue, { tenant }) }
}

/** The object without its undefined fields (for options under exactOptionalPropertyTypes). */
export function compact<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
}
