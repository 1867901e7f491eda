/**
 * Cron schedules of this tenant: list, read, preview the next runs, create or replace, pause,
 * resume, delete. A schedule's jobs are enqueued in the tenant that owns it; one of another
 * tenant is "not found".
 */
import { z } from 'zod'
import type { ScheduleInfo, ScheduleInput } from '../../engine/schedules.js'
import type { ServerContext } from '../context.js'
import { HttpProblem } from '../problem.js'
import { Reply, route } from '../route.js'
import * as s from '../schemas.js'

const scheduleName = z.string().regex(s.QUEUE_NAME, 'a schedule name is 1–128 letters, digits, ".", "_", ":" or "-"')
const nameParams = z.strictObject({ name: scheduleName })

const schedule = z
  .object({
    name: z.string(),
    tenant: z.string(),
    cron: z.string(),
    timezone: z.string(),
    queue: z.string(),
    payload: z.unknown(),
    options: z.record(z.string(), z.unknown()),
    catchUp: z.enum(['none', 'latest', 'all']),
    paused: z.boolean(),
    nextRunAt: z.string().nullable(),
    lastRunAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Schedule' })

const scheduleBody = z.strictObject({
  cron: z.string().min(1).max(256),
  timezone: z.string().min(1).max(64).optional(),
  queue: s.queueName,
  payload: z.unknown().optional(),
  options: s.enqueueOptions.omit({ runAt: true, idempotencyKey: true, dependsOn: true }).optional(),
  catchUp: z.enum(['none', 'latest', 'all']).optional(),
  paused: z.boolean().optional(),
})

function toApi(info: ScheduleInfo) {
  const { tenant: _t, ...options } = info.options as Record<string, unknown>
  return {
    ...info,
    options,
    nextRunAt: info.nextRunAt?.toISOString() ?? null,
    lastRunAt: info.lastRunAt?.toISOString() ?? null,
    createdAt: info.createdAt.toISOString(),
    updatedAt: info.updatedAt.toISOString(),
  }
}

async function inTenant(app: ServerContext, name: string, tenant: string): Promise<ScheduleInfo> {
  const info = await app.spool.schedules.get(name)
  if (!info || info.tenant !== tenant)
    throw new HttpProblem('SPOOL_NOT_FOUND', `no schedule "${name}"`, { field: 'name' })
  return info
}

export const scheduleRoutes = [
  route({
    id: 'schedules.list',
    method: 'GET',
    url: '/v1/schedules',
    tag: 'schedules',
    summary: 'This tenant’s cron schedules, by name, with their next and last run',
    permission: 'read',
    response: z.object({ schedules: z.array(schedule) }),
    async handler({ app, tenant }) {
      return { schedules: (await app.spool.schedules.list({ tenant })).map(toApi) }
    },
  }),
  route({
    id: 'schedules.get',
    method: 'GET',
    url: '/v1/schedules/:name',
    tag: 'schedules',
    summary: 'One schedule of this tenant, with its next and last run',
    permission: 'read',
    params: nameParams,
    response: schedule,
    async handler({ app, params, tenant }) {
      return toApi(await inTenant(app, params.name, tenant))
    },
  }),
  route({
    id: 'schedules.preview',
    method: 'GET',
    url: '/v1/schedules/:name/preview',
    tag: 'schedules',
    summary: 'The next run times of a schedule (from now, in its time zone; paused or not)',
    permission: 'read',
    params: nameParams,
    query: z.strictObject({ count: s.intQuery(1, 1000).optional().describe('how many (default 5)') }),
    response: z
      .object({
        name: z.string(),
        cron: z.string(),
        timezone: z.string(),
        paused: z.boolean(),
        runs: z.array(z.string()).describe('ISO times, earliest first; fewer when the expression stops firing'),
      })
      .meta({ id: 'SchedulePreview' }),
    async handler({ app, params, query, tenant }) {
      const info = await inTenant(app, params.name, tenant)
      const runs = await app.spool.schedules.preview({ cron: info.cron, timezone: info.timezone }, query.count ?? 5)
      return {
        name: info.name,
        cron: info.cron,
        timezone: info.timezone,
        paused: info.paused,
        runs: runs.map((run) => run.toISOString()),
      }
    },
  }),
  route({
    id: 'schedules.upsert',
    method: 'PUT',
    url: '/v1/schedules/:name',
    tag: 'schedules',
    summary:
      'Create a schedule or replace its settings (the pending run is kept when cron, zone and paused are unchanged)',
    permission: 'manage',
    params: nameParams,
    body: scheduleBody,
    response: schedule,
    async handler({ app, params, body, tenant }) {
      const existing = await app.spool.schedules.get(params.name)
      if (existing && existing.tenant !== tenant) {
        throw new HttpProblem('SPOOL_CONFLICT', `the schedule name "${params.name}" is taken`, { field: 'name' })
      }
      const input = { name: params.name, ...body, options: { ...body.options, tenant } } as unknown as ScheduleInput
      return toApi(await app.spool.schedules.upsert(input))
    },
  }),
  ...(['pause', 'resume'] as const).map((action) =>
    route({
      id: `schedules.${action}`,
      method: 'POST',
      url: `/v1/schedules/:name/${action}`,
      tag: 'schedules',
      summary:
        action === 'pause' ? 'Stop enqueueing ticks (on every node)' : 'Enqueue again from the next tick after now',
      permission: 'manage',
      params: nameParams,
      response: schedule,
      async handler({ app, params, tenant }) {
        await inTenant(app, params.name, tenant)
        return toApi(await app.spool.schedules[action](params.name))
      },
    }),
  ),
  route({
    id: 'schedules.run',
    method: 'POST',
    url: '/v1/schedules/:name/run',
    tag: 'schedules',
    summary: 'Enqueue one job of the schedule now (paused or not); its next and last run stay as they are',
    description:
      'The job is the one a tick would enqueue (queue, payload, options, in the schedule’s tenant), with `metadata.schedule` = `{ name, tick, manual: true }` and no idempotency key: each call enqueues one more.',
    permission: 'manage',
    params: nameParams,
    status: 201,
    response: z
      .object({ id: z.string().describe('the job enqueued'), queue: z.string(), schedule: schedule })
      .meta({ id: 'ScheduleRun' }),
    async handler({ app, params, tenant, audit }) {
      const info = await inTenant(app, params.name, tenant)
      const job = await app.spool.schedules.runNow(params.name)
      audit.target = `${params.name} #${job.id}`
      return { ...job, schedule: toApi(info) }
    },
  }),
  route({
    id: 'schedules.delete',
    method: 'DELETE',
    url: '/v1/schedules/:name',
    tag: 'schedules',
    summary: 'Delete a schedule (jobs it already enqueued stay)',
    permission: 'manage',
    params: nameParams,
    status: 204,
    async handler({ app, params, tenant }) {
      await inTenant(app, params.name, tenant)
      await app.spool.schedules.remove(params.name)
      return new Reply(204, undefined)
    },
  }),
]
