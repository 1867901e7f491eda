/** A job's place in its flow: the jobs it waits for (its children) and their outcomes. */
import { z } from 'zod'
import { route } from '../route.js'
import * as s from '../schemas.js'
import { jobInTenant } from './common.js'

export const flowRoutes = [
  route({
    id: 'jobs.children',
    method: 'GET',
    url: '/v1/jobs/:id/children',
    tag: 'jobs',
    summary: 'The jobs this one waits for (a flow’s children or its dependsOn), in the order they were added',
    permission: 'read',
    params: z.strictObject({ id: s.jobId }),
    response: z.object({
      children: z.array(
        z.object({
          id: s.jobId,
          queue: z.string(),
          state: s.jobState,
          onFailure: z.enum(['fail', 'ignore', 'continue']),
          error: z.string().nullable().describe('the last error of a child that failed'),
        }),
      ),
    }),
    async handler({ app, params, tenant }) {
      await jobInTenant(app, params.id, tenant)
      const children = await app.spool.jobs.children(params.id)
      return {
        children: children.map((child) => ({
          id: child.id,
          queue: child.queue,
          state: child.state,
          onFailure: child.onFailure,
          error: child.error?.message ?? null,
        })),
      }
    },
  }),
]
