/** Live events over SSE, for the whole tenant, one queue or one job. */
import { z } from 'zod'
import { HttpProblem } from '../problem.js'
import { route, STREAMING } from '../route.js'
import * as s from '../schemas.js'
import { openEventStream, resumeFrom } from '../sse.js'
import { jobInTenant } from './common.js'

export const eventRoutes = [
  route({
    id: 'events.stream',
    method: 'GET',
    url: '/v1/events/stream',
    tag: 'events',
    summary: 'Server-sent events for this tenant, a queue (`queue`) or a job (`jobId`)',
    description:
      'text/event-stream. Every frame carries the event id; reconnect with `Last-Event-ID` (or `lastEventId`) to get what you missed, then live. Without either the stream starts with new events. A `: ping` comment every 15 s keeps proxies open. Browsers may pass the credential as `access_token` and an admin the tenant as `tenant`.',
    permission: 'read',
    query: z.strictObject({
      queue: s.queueName.optional(),
      jobId: s.jobId.optional(),
      lastEventId: s.intQuery(0, Number.MAX_SAFE_INTEGER).optional(),
      access_token: z.string().max(4096).optional(),
      tenant: s.tenantName.optional(),
    }),
    stream: true,
    async handler({ app, request, reply, query, tenant }) {
      const header = request.headers['last-event-id']
      if (typeof header === 'string' && !/^\d{1,16}$/.test(header.trim())) {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', 'Last-Event-ID must be an event id this server sent', {
          field: 'last-event-id',
        })
      }
      if (query.jobId !== undefined) await jobInTenant(app, query.jobId, tenant)
      openEventStream(app, request, reply, {
        tenant,
        queue: query.queue,
        jobId: query.jobId,
        afterId: resumeFrom(header, query.lastEventId),
      })
      return STREAMING
    },
  }),
]
