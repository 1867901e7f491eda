/** What every route handler can reach: the engine, settings and the server's own services. */
import type { Logger as PinoLogger } from 'pino'
import type { Spool } from '../engine/spool.js'
import type { AuditLog } from '../security/audit.js'
import type { Admission } from './admission.js'
import type { Authenticator } from './auth.js'
import type { ServerConfig } from './config.js'
import type { Enqueuer } from './enqueuer.js'
import type { ServerMetrics } from './metrics.js'
import type { Webhooks } from './webhooks.js'

export interface ServerContext {
  spool: Spool
  config: ServerConfig
  auth: Authenticator
  audit: AuditLog
  enqueuer: Enqueuer
  admission: Admission
  metrics: ServerMetrics
  logger: PinoLogger
  /** Null when webhooks are turned off. */
  webhooks: Webhooks | null
  /** True once shutdown began: readiness fails, long polls return, streams end. */
  readonly closing: boolean
  /** Aborted when shutdown begins. */
  readonly closingSignal: AbortSignal
}
