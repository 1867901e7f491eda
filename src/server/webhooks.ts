/**
 * Webhooks and alerts.
 *
 * A tenant subscribes a URL to event types (`job.failed`, `job.completed`, `job.retrying`, any
 * engine event type, `session.processed`, `alert.*`, or `*`). The dispatcher follows the event
 * stream of every tenant and turns each matching event into a delivery: a Spool job on queue
 * `spool.webhooks` in the webhook's tenant, whose idempotency key is the delivery id
 * (`<webhook>:<event>`), so several nodes following the same stream, or one resuming after a
 * restart, never deliver an event twice.
 *
 * Who receives what:
 * - a job event goes to the webhooks of the job's tenant;
 * - `session.processed` is derived from the completion of an audio session's save stage
 *   (queue `audio.save`) and goes to the session's tenant, with the session id and run;
 * - queue and breaker events (`queue.paused`, `breaker.opened`…) belong to no tenant: they go to
 *   the operator tenant's webhooks, and to another tenant's webhooks when that tenant has
 *   unfinished jobs (waiting, scheduled, blocked or active) in the queue — for a breaker, in a
 *   queue bound to it — when the event is dispatched.
 * The delivery worker POSTs the event signed with the webhook's secret
 * (`Spool-Signature`, see src/security/signature.ts) and the id in `Spool-Delivery`; any answer
 * but 2xx fails the attempt, which is retried with exponential backoff (8 attempts, 5 s up to
 * 1 h; `webhooks.maxAttempts` and `webhooks.backoffMs`) and then lands in the queue's `failed` set — the dead letters, retryable by hand.
 *
 * Alerts are thresholds a tenant sets: `backlog` (waiting and scheduled jobs above N),
 * `backlog_age` (the tenant's oldest waiting job has waited more than N seconds),
 * `failure_rate` (share of failed jobs over the last hour above a fraction) and `breaker_open`
 * (a breaker has been open more than N seconds). They are checked every
 * `webhooks.alertIntervalMs`, and fire as `alert.<kind>` events to the tenant's webhooks, at
 * most once per `cooldownMs`: when an alert fires, the time is kept (collection `alert_fired`),
 * and the delivery's idempotency key names the alert and the previous firing, so nodes that
 * check the same alert at once deliver it once.
 */

import type { Logger as PinoLogger } from 'pino'
import { QUEUES as AUDIO_QUEUES } from '../audio/pipeline/options.js'
import type { Spool } from '../engine/spool.js'
import { signPayload } from '../security/signature.js'
import type { SpoolEvent } from '../store/store.js'
import type { ServerConfig } from './config.js'

export const WEBHOOKS = 'webhooks'
export const ALERTS = 'alerts'
/** When each alert last fired (the record id is the alert's). */
export const ALERTS_FIRED = 'alert_fired'
export const DELIVERY_QUEUE = 'spool.webhooks'
const CURSOR = 'webhook_cursor'

export interface WebhookData {
  url: string
  events: string[]
  secret: string
  description: string | null
}

export const ALERT_KINDS = ['backlog', 'backlog_age', 'failure_rate', 'breaker_open'] as const

export interface AlertData {
  kind: (typeof ALERT_KINDS)[number]
  queue: string | null
  /** For `breaker_open`: the breaker (default: the queue's, or any). */
  breaker?: string | null
  /** Jobs (`backlog`), seconds (`backlog_age`, `breaker_open`) or a fraction (`failure_rate`). */
  threshold: number
  cooldownMs: number
}

/** Events of no tenant: about a queue or a breaker every tenant shares. */
const SHARED_EVENT = /^(queue|breaker)\./
const UNFINISHED = ['waiting', 'scheduled', 'blocked', 'active'] as const

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

  /**
   * Enqueues one delivery of `event` to every matching webhook of its tenant. `key` names the
   * event in the delivery id (default: the event id).
   */
  async emit(event: DeliveryPayload['event'], key?: string): Promise<void> {
    for (const hook of this.subscribers(event.type, [event.tenant])) await this.enqueue(hook, event, key)
  }

  private subscribers(type: string, tenants: readonly string[]): Hook[] {
    const wildcard = `${type.split('.')[0]}.*`
    return this.hooks.filter(
      (hook) =>
        tenants.includes(hook.tenant) &&
        (hook.events.includes(type) || hook.events.includes('*') || hook.events.includes(wildcard)),
    )
  }

  private async enqueue(hook: Hook, event: DeliveryPayload['event'], key?: string): Promise<void> {
    const deliveryId = `${hook.id}:${key ?? event.id ?? `${event.type}:${event.queue ?? '*'}:${event.at}`}`
    await this.spool.enqueue(DELIVERY_QUEUE, { webhookId: hook.id, deliveryId, event } satisfies DeliveryPayload, {
      tenant: hook.tenant,
      idempotencyKey: deliveryId.slice(0, 255),
      maxAttempts: this.config.webhooks.maxAttempts,
      backoff: { type: 'exponential', delayMs: this.config.webhooks.backoffMs, maxDelayMs: 3_600_000, jitter: 0.1 },
      position: false,
    })
  }

  private async dispatch(event: SpoolEvent): Promise<void> {
    if (event.queue === DELIVERY_QUEUE || this.hooks.length === 0) return
    const fields = { id: event.id, type: event.type, at: event.at, queue: event.queue, jobId: event.jobId }
    try {
      const tenant = event.tenant
      if (tenant) {
        await this.emit({ ...fields, tenant, state: event.state, data: event.data })
        if (event.type === 'job.completed' && event.queue === AUDIO_QUEUES.save)
          await this.sessionProcessed(event, tenant)
      } else if (SHARED_EVENT.test(event.type)) {
        await this.shared({ ...fields, tenant: this.config.auth.operatorTenant, state: event.state, data: event.data })
      }
    } catch (error) {
      this.warn(error, 'could not enqueue a webhook delivery')
    }
  }

  /** `session.processed` for a completed save stage: the session's record now holds its results. */
  private async sessionProcessed(event: SpoolEvent, tenant: string): Promise<void> {
    if (event.jobId === null || this.subscribers('session.processed', [tenant]).length === 0) return
    const job = await this.spool.store.jobGet({ id: event.jobId })
    const session = job?.metadata.session
    if (typeof session !== 'string') return
    await this.emit(
      {
        id: event.id,
        type: 'session.processed',
        at: event.at,
        tenant,
        queue: event.queue,
        jobId: event.jobId,
        state: null,
        data: { session, run: job?.metadata.run ?? null },
      },
      `${event.id}:session.processed`,
    )
  }

  /**
   * A queue or breaker event: to the operator tenant's subscribers, and to those of tenants
   * with unfinished jobs in the queue (or in a queue bound to the breaker). Each delivery names
   * the receiving tenant.
   */
  private async shared(event: DeliveryPayload['event']): Promise<void> {
    const operator = this.config.auth.operatorTenant
    const candidates = this.subscribers(event.type, [...new Set(this.hooks.map((hook) => hook.tenant))])
    if (candidates.length === 0) return
    let queues: string[] = event.queue === null ? [] : [event.queue]
    const breaker = event.data.breaker
    if (event.queue === null && typeof breaker === 'string') {
      queues = (await this.spool.queues.list()).filter((q) => q.config.breaker === breaker).map((q) => q.name)
    }
    const affected = new Map<string, boolean>([[operator, true]])
    for (const hook of candidates) {
      if (!affected.has(hook.tenant)) affected.set(hook.tenant, await this.hasUnfinished(hook.tenant, queues))
      if (affected.get(hook.tenant)) await this.enqueue(hook, { ...event, tenant: hook.tenant })
    }
  }

  private async hasUnfinished(tenant: string, queues: string[]): Promise<boolean> {
    for (const queue of queues) {
      const counts = await this.spool.queues.counts(queue, { tenant })
      if (UNFINISHED.some((state) => counts[state] > 0)) return true
    }
    return false
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
        const fired = await this.spool.records.get<{ at: number }>(ALERTS_FIRED, record.id)
        const lastFiredAt = fired?.data.at ?? null
        if (lastFiredAt !== null && now - lastFiredAt < alert.cooldownMs) continue
        const measured = await this.measure(record.tenant, alert, now)
        if (measured === null || measured.value <= alert.threshold) continue
        await this.emit(
          {
            id: null,
            type: `alert.${alert.kind}`,
            at: now,
            tenant: record.tenant,
            queue: alert.queue,
            jobId: null,
            state: null,
            data: { alertId: record.id, threshold: alert.threshold, ...measured },
          },
          `alert:${record.id}:${lastFiredAt ?? 0}`,
        )
        await this.spool.records.put(ALERTS_FIRED, { id: record.id, tenant: record.tenant, data: { at: now } })
      }
      if (page.length < 500) return
      afterSeq = page.at(-1)?.seq ?? afterSeq
    }
  }

  /** The alert's current value (and what it is about), or null when there is nothing to measure. */
  private async measure(
    tenant: string,
    alert: AlertData,
    now: number,
  ): Promise<{ value: number; breaker?: string } | null> {
    switch (alert.kind) {
      case 'backlog': {
        const counts =
          alert.queue === null
            ? await this.spool.queues.countsAll({ tenant })
            : { [alert.queue]: await this.spool.queues.counts(alert.queue, { tenant }) }
        let waiting = 0
        for (const byState of Object.values(counts)) waiting += byState.waiting + byState.scheduled
        return { value: waiting }
      }
      case 'backlog_age': {
        const oldest = await this.oldestWaiting(tenant, alert.queue, now - alert.threshold * 1000)
        return oldest === null ? null : { value: Math.floor((now - oldest) / 1000) }
      }
      case 'failure_rate': {
        const stats = await this.spool.stats(alert.queue ?? undefined)
        return stats.successRate === null ? null : { value: 1 - stats.successRate }
      }
      case 'breaker_open': {
        let names: string[] | null = alert.breaker ? [alert.breaker] : null
        if (!names && alert.queue !== null) {
          const bound = (await this.spool.queues.get(alert.queue))?.config.breaker
          names = bound ? [bound] : []
        }
        let longest: { value: number; breaker: string } | null = null
        for (const breaker of await this.spool.breakers.list()) {
          if (breaker.state !== 'open' || (names && !names.includes(breaker.name))) continue
          const value = Math.floor((now - (breaker.openedAt ?? now)) / 1000)
          if (!longest || value > longest.value) longest = { value, breaker: breaker.name }
        }
        return longest
      }
    }
  }

  /**
   * When the tenant's oldest waiting job (of `queue`, or any) was created, if it was before
   * `cutoff`; null otherwise. One probe when nothing is that old; else the tenant's waiting
   * jobs older than the cutoff are read, newest first, 500 at a time (about 20,000 at most: past
   * that the age is a lower bound).
   */
  private async oldestWaiting(tenant: string, queue: string | null, cutoff: number): Promise<number | null> {
    const filter = { tenant, state: 'waiting' as const, createdBefore: cutoff, ...(queue !== null && { queue }) }
    let oldest: number | null = null
    let beforeId: string | undefined
    for (let page = 0; page < 40; page += 1) {
      const rows = await this.spool.store.jobList({
        ...filter,
        ...(beforeId && { beforeId }),
        limit: page === 0 ? 1 : 500,
      })
      for (const row of rows) oldest = Math.min(oldest ?? row.createdAt, row.createdAt)
      if (rows.length < (page === 0 ? 1 : 500)) break
      beforeId = rows.at(-1)?.id
    }
    return oldest
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
