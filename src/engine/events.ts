/**
 * Live events, resumable by id.
 *
 * Every event is a row the store wrote in the same transaction as the change it reports, so the
 * table is the one source of truth: a subscription reads rows after its cursor, hands them over
 * in id order and moves the cursor. "Live" is just reading soon: at once when this process wrote
 * (the engine calls `kick`), on the store's cross-process wake-up hint, and on a slow poll as
 * the safety net. Resuming from an old id and following live are the same loop, so there is no
 * gap between history and live to fall into.
 */
import type { SpoolEvent, Store } from '../store/store.js'
import type { Logger } from './logger.js'
import { describeError } from './logger.js'

export interface SubscribeOptions {
  queue?: string
  jobId?: string
  /** Only this tenant's job events (queue-wide events, such as a pause, are not a tenant's). */
  tenant?: string
  /** Deliver events after this id (history first, then live). Default: only new events. */
  afterId?: number
}

export interface Subscription extends AsyncIterable<SpoolEvent> {
  /** The id of the last event handed to you (0 before the first); pass it as `afterId` to resume. */
  readonly lastId: number
  close(): void
}

interface Listener {
  options: SubscribeOptions
  cursor: number
  ready: Promise<void>
  deliver(event: SpoolEvent): void
  close(): void
}

const PAGE = 500

export class EventHub {
  private readonly listeners = new Set<Listener>()
  private pulling: Promise<void> | null = null
  private again = false
  private timer: NodeJS.Timeout | null = null
  private unwatch: (() => void) | null = null

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {}

  /**
   * Calls `onEvent` for every matching event, in id order; or iterate the returned subscription.
   *
   * @example
   * const sub = spool.events.subscribe({ queue: 'emails', afterId: lastSeen })
   * for await (const event of sub) console.log(event.id, event.type, event.state)
   */
  subscribe(options: SubscribeOptions = {}, onEvent?: (event: SpoolEvent) => void): Subscription {
    const buffer: SpoolEvent[] = []
    let wake: (() => void) | null = null
    let closed = false
    /** The last event handed to the caller (not merely read): what `lastId` reports. */
    let delivered = options.afterId ?? 0
    const listener: Listener = {
      options,
      cursor: options.afterId ?? Number.POSITIVE_INFINITY,
      ready: Promise.resolve(),
      deliver: (event) => {
        if (onEvent) {
          delivered = event.id
          onEvent(event)
        } else buffer.push(event)
        wake?.()
      },
      close: () => close(),
    }
    if (options.afterId === undefined) {
      listener.ready = this.store.eventLastId().then((id) => {
        if (listener.cursor === Number.POSITIVE_INFINITY) listener.cursor = id
      })
    }
    this.listeners.add(listener)
    this.start()
    void listener.ready.then(() => this.kick())

    const close = () => {
      closed = true
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
      wake?.()
    }
    return {
      get lastId() {
        return delivered
      },
      close,
      async *[Symbol.asyncIterator]() {
        try {
          while (!closed) {
            const event = buffer.shift()
            if (event) {
              delivered = event.id
              yield event
              continue
            }
            await new Promise<void>((resolve) => {
              wake = resolve
            })
            wake = null
          }
        } finally {
          close()
        }
      },
    }
  }

  /** Read new events soon: something was written. */
  kick(): void {
    if (this.listeners.size === 0) return
    if (this.pulling) {
      this.again = true
      return
    }
    this.pulling = this.pull().finally(() => {
      this.pulling = null
      if (this.again) {
        this.again = false
        this.kick()
      }
    })
  }

  /** Ends every subscription (iterators finish) and stops reading. */
  async close(): Promise<void> {
    for (const listener of [...this.listeners]) listener.close()
    this.stop()
    await this.pulling
  }

  private start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.kick(), this.pollMs)
    this.timer.unref()
    this.unwatch = this.store.onWake((hint) => {
      if (hint.events) this.kick()
    })
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.unwatch?.()
    this.unwatch = null
  }

  /**
   * One read serves every queue-wide and global subscription (from the lowest cursor, filtered
   * here), so a pull costs one store round however many subscribers there are; a subscription
   * to one job reads its own, through the store's per-job index.
   */
  private async pull(): Promise<void> {
    try {
      const listeners = [...this.listeners]
      await Promise.all(listeners.map((listener) => listener.ready))
      const shared = listeners.filter((listener) => listener.options.jobId === undefined)
      for (const listener of listeners) {
        if (listener.options.jobId !== undefined) await this.read([listener], listener.options.jobId)
      }
      if (shared.length > 0) await this.read(shared)
    } catch (error) {
      this.logger.warn(describeError(error), 'reading events failed; will retry')
    }
  }

  /** Job id → tenant; a job never changes tenant, so entries stay true (bounded in size). */
  private readonly tenants = new Map<string, string>()

  /** @internal The tenants of jobs this process just inserted (committed), so their events need no lookup. */
  noteTenants(inserted: readonly { id: string; created: boolean }[], jobs: readonly { tenant: string }[]): void {
    if (this.listeners.size === 0) return
    if (this.tenants.size + inserted.length > 100_000) this.tenants.clear()
    inserted.forEach((result, i) => {
      const tenant = jobs[i]?.tenant
      if (result.created && tenant !== undefined) this.tenants.set(result.id, tenant)
    })
  }

  /** Sets each job event's tenant, looking up the jobs not seen before in one read. */
  private async fillTenants(events: SpoolEvent[]): Promise<void> {
    const missing = new Set<string>()
    for (const event of events) {
      if (event.jobId !== null && !this.tenants.has(event.jobId) && typeof event.data.tenant !== 'string') {
        missing.add(event.jobId)
      }
    }
    if (missing.size > 0) {
      const found = await this.store.jobTenants({ ids: [...missing] })
      if (this.tenants.size + found.size > 100_000) this.tenants.clear()
      for (const [id, tenant] of found) this.tenants.set(id, tenant)
    }
    for (const event of events) {
      event.tenant =
        event.jobId === null
          ? null
          : (this.tenants.get(event.jobId) ?? (typeof event.data.tenant === 'string' ? event.data.tenant : null))
    }
  }

  private async read(listeners: Listener[], jobId?: string): Promise<void> {
    for (;;) {
      const open = listeners.filter((listener) => this.listeners.has(listener))
      if (open.length === 0) return
      const afterId = Math.min(...open.map((listener) => listener.cursor))
      const events = await this.store.eventList({ afterId, limit: PAGE, ...(jobId !== undefined && { jobId }) })
      await this.fillTenants(events)
      for (const event of events) {
        for (const listener of open) {
          if (event.id <= listener.cursor) continue
          listener.cursor = event.id
          const { queue, tenant } = listener.options
          if (queue !== undefined && event.queue !== queue) continue
          if (tenant !== undefined && event.tenant !== tenant) continue
          listener.deliver(event)
        }
      }
      if (events.length < PAGE) return
    }
  }
}
