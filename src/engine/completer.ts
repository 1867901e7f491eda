/**
 * Batched completions (River's BatchCompleter, Graphile Worker's batched completion): handlers
 * that finish close together are written in one guarded statement batch — "completed, only if
 * still active under this token" — instead of one transaction each.
 *
 * A batch is written on the next macrotask after the first completion arrives, or sooner when
 * the worker claims (it flushes first, so the database never sees more active jobs than run).
 * Until then the outcome lives only in memory: a crash loses it, the lease lapses, and the job
 * runs again — the usual at-least-once contract, with exactly-once completion kept by the token.
 */
import type { Lease, Store } from '../store/store.js'
import { describeError, type Logger } from './logger.js'

type Item = Lease & { result: string | null }

const ignore = () => {}

/** Largest batch written in one transaction. */
const MAX_BATCH = 1_000

export class Completer {
  private pending: { item: Item; resolve: (ok: boolean) => void }[] = []
  private scheduled = false
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly onWritten: () => void,
  ) {}

  /** Queue a completion; `done` learns whether it was accepted (false: the lease was gone). */
  add(item: Item, done: (accepted: boolean) => void = ignore): void {
    this.pending.push({ item, resolve: done })
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => void this.flush())
    }
  }

  /** Write everything queued so far; resolves when it is written. */
  flush(): Promise<void> {
    this.scheduled = false
    if (this.pending.length === 0) return this.writing
    const batch = this.pending.splice(0, this.pending.length)
    this.writing = this.writing.then(() => this.write(batch))
    return this.writing
  }

  private async write(batch: { item: Item; resolve: (ok: boolean) => void }[]): Promise<void> {
    for (let start = 0; start < batch.length; start += MAX_BATCH) {
      const slice = batch.slice(start, start + MAX_BATCH)
      try {
        const ok = await this.store.jobComplete({ items: slice.map((entry) => entry.item), now: Date.now() })
        for (const [i, entry] of slice.entries()) entry.resolve(ok[i] === true)
      } catch (error) {
        this.logger.error(
          { jobs: slice.length, ...describeError(error) },
          'recording completions failed; their leases will lapse and the jobs run again',
        )
        for (const entry of slice) entry.resolve(false)
      }
    }
    this.onWritten()
  }
}
