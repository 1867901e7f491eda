/** Liveness, readiness, metrics and the OpenAPI document. */
import { z } from 'zod'
import { HttpProblem } from '../problem.js'
import { Reply, route } from '../route.js'

export const healthRoutes = [
  route({
    id: 'health.live',
    method: 'GET',
    url: '/livez',
    tag: 'operations',
    summary: 'The process is up (no dependency is checked)',
    permission: 'public',
    response: z.object({ status: z.literal('ok') }),
    async handler() {
      return { status: 'ok' }
    },
  }),
  route({
    id: 'health.ready',
    method: 'GET',
    url: '/readyz',
    tag: 'operations',
    summary: 'Ready for traffic: the store answers, migrations are current, not shutting down',
    permission: 'public',
    response: z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.string()) }),
    errors: [503],
    async handler({ app }) {
      if (app.closing) throw new HttpProblem('SPOOL_UNAVAILABLE', 'shutting down', { retryAfterSeconds: 5 })
      let pending: number[]
      try {
        pending = await Promise.race([
          app.spool.store.migrationsPending(),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref()),
        ])
      } catch {
        throw new HttpProblem('SPOOL_UNAVAILABLE', 'the store does not answer', { retryAfterSeconds: 5 })
      }
      if (pending.length > 0) {
        throw new HttpProblem(
          'SPOOL_UNAVAILABLE',
          `the store lacks migrations ${pending.join(', ')}: run \`spool migrate\``,
          { retryAfterSeconds: 5 },
        )
      }
      return { status: 'ready', checks: { store: 'ok', migrations: 'current', shutdown: 'no' } }
    },
  }),
  route({
    id: 'metrics',
    method: 'GET',
    url: '/metrics',
    tag: 'operations',
    summary: 'Prometheus metrics (text exposition format); needs an admin credential unless metrics are public',
    permission: 'metrics',
    async handler({ app }) {
      return new Reply(200, await app.metrics.text(), { 'content-type': app.metrics.registry.contentType })
    },
  }),
]
