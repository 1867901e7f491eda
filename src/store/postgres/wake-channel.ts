/**
 * Cross-process wake-ups over LISTEN/NOTIFY, for one store's schema.
 *
 * One dedicated connection LISTENs on the channel; hints other stores send arrive as
 * notifications whose payload is the sender's instance id, then `:events` when only events were
 * written (claims, completions, progress: nothing became runnable, so idle workers need not
 * look). A store ignores its own hints: its process already woke its workers. Hints arriving in
 * one turn of the event loop are merged into one call. The connection reconnects with backoff
 * and then wakes everyone, since hints sent meanwhile were lost; polling stays the safety net.
 */
import pg from 'pg'
import type { WakeHint } from '../store.js'

const EVERYTHING: WakeHint = { jobs: true, events: true }
const EVENTS_ONLY: WakeHint = { jobs: false, events: true }
/** The hot path's hints to other processes are coalesced to one per this many ms. */
const HOT_WAKE_MS = 25

export class WakeChannel {
  /** The payload of this store's own hints, which its own listener ignores. */
  readonly instanceId: string
  private readonly listeners = new Set<(hint: WakeHint) => void>()
  /** What the hints received in this turn of the event loop said, merged. */
  private pendingHint: WakeHint = { jobs: false, events: false }
  private wakePending = false
  private listening = false
  private client: pg.Client | null = null
  private reconnectTimer: NodeJS.Timeout | null = null
  private hotWakeTimer: NodeJS.Timeout | null = null
  private closed = false

  constructor(
    /** The LISTEN channel, one per schema. */
    readonly channel: string,
    private readonly clientConfig: pg.ClientConfig,
    /** Sends a notification with this payload (through the store's pool). */
    private readonly notify: (payload: string) => Promise<unknown>,
    instanceId: string,
  ) {
    this.instanceId = instanceId
  }

  /** The payload that marks a hint as "events only". */
  get eventsOnlyPayload(): string {
    return `${this.instanceId}:events`
  }

  subscribe(listener: (hint: WakeHint) => void): () => void {
    this.listeners.add(listener)
    if (!this.listening && !this.closed) {
      this.listening = true
      void this.listen(0)
    }
    return () => {
      this.listeners.delete(listener)
    }
  }

  /** The hot path's hint to other processes: one per `HOT_WAKE_MS` at most, after the writes. */
  eventsWrittenSoon(): void {
    if (this.hotWakeTimer || this.closed) return
    this.hotWakeTimer = setTimeout(() => {
      this.hotWakeTimer = null
      if (!this.closed) this.notify(this.eventsOnlyPayload).catch(() => {})
    }, HOT_WAKE_MS)
    this.hotWakeTimer.unref()
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    if (this.hotWakeTimer) clearTimeout(this.hotWakeTimer)
    this.listeners.clear()
    const client = this.client
    this.client = null
    await client?.end().catch(() => {})
  }

  /** Connects the LISTEN connection; on failure or loss, tries again with backoff. */
  private async listen(failures: number): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({
      ...this.clientConfig,
      application_name: `${this.clientConfig.application_name}:listen`,
    })
    client.on('notification', (message) => {
      const [from, kind] = (message.payload ?? '').split(':')
      if (from !== this.instanceId) this.wakeLocal(kind === 'events' ? EVENTS_ONLY : EVERYTHING)
    })
    // A lost connection emits 'error' and then 'end'; 'end' reconnects.
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query(`LISTEN "${this.channel}"`)
    } catch {
      await client.end().catch(() => {})
      this.relisten(failures + 1)
      return
    }
    if (this.closed) {
      await client.end().catch(() => {})
      return
    }
    this.client = client
    client.once('end', () => {
      if (this.client === client) this.client = null
      this.relisten(0)
    })
    // Hints sent while there was no listener were lost: look again.
    if (failures > 0) this.wakeLocal(EVERYTHING)
  }

  private relisten(failures: number): void {
    if (this.closed) return
    const delay = Math.min(5_000, 100 * 2 ** Math.min(failures, 6)) * (0.75 + Math.random() / 2)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      // Counting from 1: whatever happened while disconnected deserves a wake-up.
      void this.listen(Math.max(1, failures))
    }, delay)
    this.reconnectTimer.unref()
  }

  /** Calls the listeners once for however many hints arrive in one turn of the event loop. */
  private wakeLocal(hint: WakeHint): void {
    if (this.closed) return
    this.pendingHint = {
      jobs: this.pendingHint.jobs || hint.jobs,
      events: this.pendingHint.events || hint.events,
    }
    if (this.wakePending) return
    this.wakePending = true
    setImmediate(() => {
      this.wakePending = false
      const merged = this.pendingHint
      this.pendingHint = { jobs: false, events: false }
      if (this.closed) return
      for (const listener of [...this.listeners]) listener(merged)
    })
  }
}
