/** Every HTTP route, in the order the documentation lists them. */
import type { AnyRoute } from '../route.js'
import { adminRoutes } from './admin.js'
import { eventRoutes } from './events.js'
import { healthRoutes } from './health.js'
import { jobRoutes } from './jobs.js'
import { leaseRoutes } from './leases.js'
import { queueRoutes } from './queues.js'
import { webhookRoutes } from './webhooks.js'

export const allRoutes: AnyRoute[] = [
  ...queueRoutes,
  ...jobRoutes,
  ...eventRoutes,
  ...leaseRoutes,
  ...adminRoutes,
  ...webhookRoutes,
  ...healthRoutes,
]
