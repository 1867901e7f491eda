/**
 * Circuit breakers (shared by every tenant, like queues: reading is open to readers, changing
 * them is for admins of the operator tenant) and what a queue's rate limits have counted (the
 * counts per key and the groups name other tenants' users and groups, so only the operator
 * tenant sees them).
 */
import { z } from 'zod'
import { route } from '../route.js'
import * as s from '../schemas.js'
import { queueInTenant } from './common.js'

const breakerParams = z.strictObject({ name: s.queueName })
const queueParams = z.strictObject({ name: s.queueName })

const breaker = z
  .object({
    name: z.string(),
    state: z.enum(['closed', 'open', 'half_open']),
    config: z.record(z.string(), z.unknown()),
    failures: z.number().describe('consecutive failures while closed'),
    successes: z.number().describe('probe successes while half-open'),
    windowStart: z.number(),
    windowTotal: z.number(),
    windowFailures: z.number(),
    openedAt: z.number().nullable(),
    updatedAt: z.number(),
  })
  .meta({ id: 'Breaker' })

const limits = z
  .object({
    queue: z.string(),
    pausedUntil: z.number().describe('epoch ms the queue is held back until by a Retry-After (0: not held)'),
    rateUsed: z
      .record(z.string(), z.number())
      .describe('starts counted in the current window, per key ("" is the queue)'),
    groups: z.array(z.object({ group: z.string(), pausedUntil: z.number(), vtime: z.number() })),
    config: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Limits' })

export const breakerRoutes = [
  route({
    id: 'breakers.list',
    method: 'GET',
    url: '/v1/breakers',
    tag: 'breakers',
    summary: 'Circuit breakers and their state',
    permission: 'read',
    response: z.object({ breakers: z.array(breaker) }),
    async handler({ app }) {
      return { breakers: await app.spool.breakers.list() }
    },
  }),
  route({
    id: 'breakers.history',
    method: 'GET',
    url: '/v1/breakers/:name/history',
    tag: 'breakers',
    summary: 'A breaker’s state changes, newest first',
    description:
      'Its `breaker.opened`, `breaker.half_open` and `breaker.closed` events; `data.from` is the state it left and `data.failures` the failures counted then. Page with `beforeId` (the last id of a page). Kept as long as queue-level events are.',
    permission: 'read',
    params: breakerParams,
    query: z.strictObject({
      beforeId: s.intQuery(1, Number.MAX_SAFE_INTEGER).optional(),
      limit: s.intQuery(1, 1_000).optional(),
    }),
    response: z.object({
      changes: z.array(
        z.object({
          id: z.number(),
          at: z.number(),
          type: z.enum(['breaker.opened', 'breaker.half_open', 'breaker.closed']),
          from: z.enum(['closed', 'open', 'half_open']).nullable(),
          failures: z.number().nullable(),
        }),
      ),
    }),
    async handler({ app, params, query }) {
      const events = await app.spool.breakers.history(params.name, {
        ...(query.beforeId !== undefined && { beforeId: query.beforeId }),
        ...(query.limit !== undefined && { limit: query.limit }),
      })
      return {
        changes: events.map((event) => ({
          id: event.id,
          at: event.at,
          type: event.type as 'breaker.opened' | 'breaker.half_open' | 'breaker.closed',
          from: (event.data.from as 'closed' | 'open' | 'half_open' | undefined) ?? null,
          failures: typeof event.data.failures === 'number' ? event.data.failures : null,
        })),
      }
    },
  }),
  ...(['open', 'close', 'reset'] as const).map((action) =>
    route({
      id: `breakers.${action}`,
      method: 'POST',
      url: `/v1/breakers/:name/${action}`,
      tag: 'breakers',
      summary: {
        open: 'Open a breaker by hand: bound queues claim nothing until its cool-down ends',
        close: 'Close a breaker by hand and forget its counts',
        reset: 'Back to a clean, closed breaker',
      }[action],
      description: 'Breakers are shared by every tenant, so only admins of the operator tenant change them.',
      permission: 'operate',
      params: breakerParams,
      response: breaker,
      async handler({ app, params }) {
        return app.spool.breakers[action](params.name)
      },
    }),
  ),
  route({
    id: 'queues.limits',
    method: 'GET',
    url: '/v1/queues/:name/limits',
    tag: 'queues',
    summary: 'A queue’s limits, the starts its rate limits counted, and Retry-After pauses',
    description:
      'Outside the operator tenant, `rateUsed` has only the queue-wide count ("") and `groups` is empty: their keys are other tenants’ users and groups. A queue this tenant has no jobs in answers 404 (operator admins: any queue), whether another tenant uses it or nobody does.',
    permission: 'read',
    params: queueParams,
    response: limits,
    async handler({ app, params, tenant, principal }) {
      await queueInTenant(app, params.name, tenant, principal)
      const limits = await app.spool.limits.get(params.name)
      if (principal.operator) return limits
      const queueWide = limits.rateUsed['']
      return { ...limits, rateUsed: queueWide === undefined ? {} : { '': queueWide }, groups: [] }
    },
  }),
  route({
    id: 'queues.limitsReset',
    method: 'POST',
    url: '/v1/queues/:name/limits/reset',
    tag: 'queues',
    summary: 'Forget counted starts and Retry-After pauses of a queue',
    description: 'This changes the queue for every tenant, so only admins of the operator tenant may.',
    permission: 'operate',
    params: queueParams,
    response: limits,
    async handler({ app, params }) {
      await app.spool.limits.reset(params.name)
      return app.spool.limits.get(params.name)
    },
  }),
]
