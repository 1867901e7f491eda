/** Every HTTP route, in the order the documentation lists them. */
import type { AnyRoute } from '../route.js'
import { adminRoutes } from './admin.js'
import { aiRoutes } from './ai.js'
import { aiBatchRoutes } from './ai-batches.js'
import { aiGeminiRoutes } from './ai-gemini.js'
import { aiProviderRoutes } from './ai-providers.js'
import { breakerRoutes } from './breakers.js'
import { eventRoutes } from './events.js'
import { flowRoutes } from './flows.js'
import { healthRoutes } from './health.js'
import { jobErrorRoutes } from './job-errors.js'
import { jobRoutes } from './jobs.js'
import { leaseRoutes } from './leases.js'
import { meRoutes } from './me.js'
import { queueRoutes } from './queues.js'
import { scheduleRoutes } from './schedules.js'
import { sessionRoutes } from './sessions.js'
import { webhookRoutes } from './webhooks.js'
import { workflowRoutes } from './workflows.js'

export const allRoutes: AnyRoute[] = [
  ...queueRoutes,
  ...jobRoutes,
  ...flowRoutes,
  ...jobErrorRoutes,
  ...eventRoutes,
  ...leaseRoutes,
  ...scheduleRoutes,
  ...sessionRoutes,
  ...aiRoutes,
  ...aiGeminiRoutes,
  ...aiBatchRoutes,
  ...aiProviderRoutes,
  ...breakerRoutes,
  ...adminRoutes,
  ...meRoutes,
  ...webhookRoutes,
  ...workflowRoutes,
  ...healthRoutes,
]
