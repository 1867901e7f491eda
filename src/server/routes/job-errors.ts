/**
 * Every failed attempt of a job with its stack. The job routes leave stacks out (they name
 * server paths); operators who debug a handler need them, so this route asks for the manage
 * permission (admins).
 */
import { z } from 'zod'
import { route } from '../route.js'
import * as s from '../schemas.js'
import { jobInTenant } from './common.js'

export const jobErrorRoutes = [
  route({
    id: 'jobs.errors',
    method: 'GET',
    url: '/v1/jobs/:id/errors',
    tag: 'jobs',
    summary: 'Every failed attempt of a job, with stacks (admins: stacks name server paths)',
    permission: 'manage',
    params: z.strictObject({ id: s.jobId }),
    response: z.object({
      errors: z.array(
        z.object({
          at: z.number(),
          attempt: z.number(),
          message: z.string(),
          name: z.string().optional(),
          code: z.string().optional(),
          stack: z.string().optional(),
          retryable: z.boolean(),
        }),
      ),
    }),
    auditRead: true,
    auditAs: 'jobs.get',
    async handler({ app, params, tenant }) {
      const job = await jobInTenant(app, params.id, tenant)
      return { errors: job.errors }
    },
  }),
]
