/**
 * Where a streaming request's upstream events meet the HTTP answer waiting for them, in one
 * process: the worker running the job pushes each SSE event as it arrives, the route writes it
 * to its client. A watcher that comes late gets what was pushed so far first. An attempt that
 * fails before its first event starts over without the client seeing anything (`reset`).
 *
 * When the worker runs on another node no events arrive here; the route then waits for the job
 * and replays the events its result saved (the whole answer at once instead of token by token).
 */

export type StreamSignal =
  | { type: 'event'; data: string }
  | { type: 'done' }
  | { type: 'error'; error: { message: string; type: string; code: string } }

interface Entry {
  events: StreamSignal[]
  watchers: Set<(signal: StreamSignal) => void>
  timer: NodeJS.Timeout | null
}

/** How long a finished stream's events stay for a late watcher. */
const KEEP_MS = 60_000

export class StreamHub {
  private readonly entries = new Map<string, Entry>()

  private entry(jobId: string): Entry {
    let entry = this.entries.get(jobId)
    if (!entry) {
      entry = { events: [], watchers: new Set(), timer: null }
      this.entries.set(jobId, entry)
    }
    return entry
  }

  /** The number of events pushed for the job so far (0: nothing reached a client yet). */
  pushed(jobId: string): number {
    return this.entries.get(jobId)?.events.filter((e) => e.type === 'event').length ?? 0
  }

  push(jobId: string, signal: StreamSignal): void {
    const entry = this.entry(jobId)
    entry.events.push(signal)
    for (const watcher of entry.watchers) watcher(signal)
    if (signal.type !== 'event') {
      entry.timer = setTimeout(() => this.entries.delete(jobId), KEEP_MS)
      entry.timer.unref()
    }
  }

  /** An attempt ended before its first event: forget it (nothing was sent on). */
  reset(jobId: string): void {
    const entry = this.entries.get(jobId)
    if (entry && entry.watchers.size === 0) this.entries.delete(jobId)
    else if (entry) entry.events = []
  }

  /**
   * Calls `onSignal` with what was pushed so far, then with each new signal; returns the stop.
   *
   * @example
   * const stop = hub.watch(jobId, (signal) => { if (signal.type === 'event') res.write(`data: ${signal.data}\n\n`) })
   */
  watch(jobId: string, onSignal: (signal: StreamSignal) => void): () => void {
    const entry = this.entry(jobId)
    for (const signal of entry.events) onSignal(signal)
    entry.watchers.add(onSignal)
    return () => {
      entry.watchers.delete(onSignal)
      if (entry.watchers.size === 0 && entry.events.length === 0 && this.entries.get(jobId) === entry) {
        this.entries.delete(jobId)
      }
    }
  }

  close(): void {
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer)
    this.entries.clear()
  }
}
