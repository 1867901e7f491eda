/**
 * Webhooks and alerts.
 *
 * A tenant subscribes a URL to event types (`job.failed`, `job.completed`, `job.retrying`, any
 * engine event type, `alert.*`, or `*`). The dispatcher follows the event stream of every
 * tenant and turns each matching event into a delivery: a Spool job on queue `spool.webhooks`
 * in the webhook's tenant, whose idempotency key is the delivery id (`<webhook>:<event>`), so
 * several nodes following the same stream, or one resuming after a restart, never deliver an
 * event twice. The delivery worker POSTs the event signed with the webhook's secret
 * (`Spool-Signature`, see src/security/signature.ts) and the id in `Spool-Delivery`; any answer
 * but 2xx fails the attempt, which is retried with exponential backoff (8 attempts, 5 s up to
 * 1 h; `webhooks.maxAttempts` and `webhooks.backoffMs`) and then lands in the queue's `failed` set — the dead letters, retryable by hand.
 *
 * Alerts are thresholds a tenant sets (`backlog`: waiting jobs above N; `failure_rate`: share
 * of failed attempts over the last hour above a fraction). They are checked every
 * `webhooks.alertIntervalMs`, and fire as `alert.<kind>` events to the tenant's webhooks, at
 * most once per `cooldownMs` (the idempotency key carries the cooldown window).
 */

import type { Logger as PinoLogger } from 'pino'
import type { Spool } from '../engine/spool.js'
import { signPayload } from '../security/signature.js'
import type { SpoolEvent } from '../store/store.js'
import type { ServerConfig } from './config.js'

export const WEBHOOKS = 'webhooks'
export const ALERTS = 'alerts'
export const DELIVERY_QUEUE = 'spool.webhooks'
const CURSOR = 'webhook_cursor'

export interface WebhookData {
  url: string
  events: string[]
  secret: string
  description: string | null
}

export interface AlertData {
  kind: 'backlog' | 'failure_rate'
  queue: string | null
  threshold: number
  cooldownMs: number
}

export interface DeliveryPayload {
  webhookId: string
  deliveryId: string
  event: {
    id: number | null
    type: string
    at: number
    tenant: string
    queue: string | null
    jobId: string | null
    state: string | null
    data: Record<string, unknown>
  }
}

interface Hook {
  id: string
  tenant: string
  events: string[]
}

export class Webhooks {
  private hooks: Hook[] = []
  private subscription: { close(): void } | null = null
  private timers: NodeJS.Timeout[] = []
  private savedCursor = 0
  /** The last event whose deliveries are enqueued: what the saved cursor may move to. */
  private dispatchedId = 0
  private chain: Promise<void> = Promise.resolve()
  private worker: { close(options?: { graceMs?: number }): Promise<void> } | null = null

  constructor(
    private readonly spool: Spool,
    private readonly config: ServerConfig,
    private readonly logger: PinoLogger,
  ) {}

  async start(): Promise<void> {
    await this.reload()
    const cursor = await this.spool.records.get(CURSOR, 'cursor')
    const afterId = (cursor?.data as { lastId?: number } | undefined)?.lastId
    this.savedCursor = afterId ?? 0
    this.dispatchedId = this.savedCursor
    this.subscription = this.spool.events.subscribe(afterId === undefined ? {} : { afterId }, (event) => {
      this.chain = this.chain.then(async () => {
        await this.dispatch(event)
        this.dispatchedId = event.id
      })
    })
    this.worker = this.spool.work<DeliveryPayload>(
      DELIVERY_QUEUE,
      (job, ctx) => this.deliver(job.payload, ctx.signal),
      {
        concurrency: 8,
      },
    )
    this.timers.push(
      setInterval(() => void this.reload().catch(() => {}), 30_000),
      setInterval(() => void this.saveCursor().catch(() => {}), 1_000),
      setInterval(
        () => void this.checkAlerts().catch((error) => this.warn(error, 'alert check failed')),
        this.config.webhooks.alertIntervalMs,
      ),
    )
    for (const timer of this.timers) timer.unref()
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer)
    this.timers = []
    this.subscription?.close()
    await this.chain
    await this.saveCursor().catch(() => {})
    this.subscription = null
    await this.worker?.close({ graceMs: 1_000 })
  }

  /** Re-read the subscriptions (after a change through this server; every 30 s for other nodes'). */
  async reload(): Promise<void> {
    const hooks: Hook[] = []
    let afterSeq = 0
    for (;;) {
      const page = await this.spool.records.list(WEBHOOKS, { afterSeq, limit: 500 })
      for (const record of page) {
        hooks.push({ id: record.id, tenant: record.tenant, events: (record.data as WebhookData).events })
      }
      if (page.length < 500) break
      afterSeq = page.at(-1)?.seq ?? afterSeq
    }
    this.hooks = hooks
  }

  /** Enqueues one delivery of `event` to every matching webhook of its tenant. */
  async emit(event: DeliveryPayload['event']): Promise<void> {
    const targets = this.hooks.filter(
      (hook) =>
        hook.tenant === event.tenant &&
        (hook.events.includes(event.type) ||
          hook.events.includes('*') ||
          hook.events.includes(`${event.type.split('.')[0]}.*`)),
    )
    for (const hook of targets) {
      const deliveryId = `${hook.id}:${event.id ?? `${event.type}:${event.queue ?? '*'}:${event.at}`}`
      await this.spool.enqueue(DELIVERY_QUEUE, { webhookId: hook.id, deliveryId, event } satisfies DeliveryPayload, {
        tenant: hook.tenant,
        idempotencyKey: deliveryId.slice(0, 255),
        maxAttempts: this.config.webhooks.maxAttempts,
        backoff: { type: 'exponential', delayMs: this.config.webhooks.backoffMs, maxDelayMs: 3_600_000, jitter: 0.1 },
      })
    }
  }

  private async dispatch(event: SpoolEvent): Promise<void> {
    if (event.queue === DELIVERY_QUEUE || this.hooks.length === 0) return
    const tenant = (event as SpoolEvent & { tenant?: string | null }).tenant
    if (!tenant) return
    try {
      await this.emit({
        id: event.id,
        type: event.type,
        at: event.at,
        tenant,
        queue: event.queue,
        jobId: event.jobId,
        state: event.state,
        data: event.data,
      })
    } catch (error) {
      this.warn(error, 'could not enqueue a webhook delivery')
    }
  }

  private async deliver(payload: DeliveryPayload, signal: AbortSignal): Promise<unknown> {
    const record = await this.spool.records.get(WEBHOOKS, payload.webhookId)
    if (!record) return { skipped: 'the webhook was deleted' }
    const hook = record.data as WebhookData
    const body = JSON.stringify({
      id: payload.deliveryId,
      type: payload.event.type,
      createdAt: new Date(payload.event.at).toISOString(),
      tenant: payload.event.tenant,
      data: payload.event,
    })
    const response = await fetch(hook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'spool-webhooks/1',
        'spool-delivery': payload.deliveryId,
        'spool-event': payload.event.type,
        'spool-signature': signPayload(hook.secret, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.config.webhooks.timeoutMs)]),
    })
    await response.body?.cancel().catch(() => {})
    if (response.status >= 200 && response.status < 300) return { status: response.status }
    // Every other answer is retried (receivers are often briefly down), except 410 Gone.
    throw Object.assign(new Error(`the receiver answered HTTP ${response.status}`), {
      status: response.status,
      retryable: response.status !== 410,
    })
  }

  private async checkAlerts(): Promise<void> {
    let afterSeq = 0
    const now = Date.now()
    for (;;) {
      const page = await this.spool.records.list(ALERTS, { afterSeq, limit: 500 })
      for (const record of page) {
        const alert = record.data as AlertData
        const value = await this.measure(record.tenant, alert)
        if (value === null || value <= alert.threshold) continue
        const window = Math.floor(now / alert.cooldownMs)
        await this.emit({
          id: null,
          type: `alert.${alert.kind}`,
          at: window * alert.cooldownMs,
          tenant: record.tenant,
          queue: alert.queue,
          jobId: null,
          state: null,
          data: { alertId: record.id, threshold: alert.threshold, value },
        })
      }
      if (page.length < 500) return
      afterSeq = page.at(-1)?.seq ?? afterSeq
    }
  }

  /** The alert's current value, or null when there is nothing to measure yet. */
  private async measure(tenant: string, alert: AlertData): Promise<number | null> {
    if (alert.kind === 'backlog') {
      const counts =
        alert.queue === null
          ? await this.spool.queues.countsAll({ tenant })
          : { [alert.queue]: await this.spool.queues.counts(alert.queue, { tenant }) }
      let waiting = 0
      for (const byState of Object.values(counts)) waiting += byState.waiting + byState.scheduled
      return waiting
    }
    const stats = await this.spool.stats(alert.queue ?? undefined)
    return stats.successRate === null ? null : 1 - stats.successRate
  }

  private async saveCursor(): Promise<void> {
    const lastId = this.dispatchedId
    if (lastId <= this.savedCursor) return
    await this.spool.records.put(CURSOR, { id: 'cursor', tenant: 'system', data: { lastId } })
    this.savedCursor = lastId
  }

  private warn(error: unknown, message: string): void {
    this.logger.warn({ err: { message: (error as Error)?.message } }, message)
  }
}
