/**
 * Batched completions (River's BatchCompleter, Graphile Worker's batched completion): handlers
 * that finish close together are written in one guarded statement batch — "completed, only if
 * still active under this token" — instead of one transaction each.
 *
 * A batch normally rides on the worker's next claim, in the same transaction (a freed slot is
 * refilled on the next macrotask, so that is at once); `flush` writes it alone when the worker is
 * not claiming (shutdown, or a claim that failed). Until written the outcome lives only in
 * memory: a crash loses it, the lease lapses, and the job runs again — the usual at-least-once
 * contract, with exactly-once completion kept by the token.
 */
import type { Completion, Store } from '../store/store.js'
import { describeError, type Logger } from './logger.js'

type Item = Completion
interface Entry {
  item: Item
  resolve: (ok: boolean) => void
}

const ignore = () => {}

/** Largest batch written in one transaction. */
const MAX_BATCH = 1_000

export class Completer {
  private pending: Entry[] = []
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly onWritten: () => void,
  ) {}

  /**
   * Queue a completion; `done` learns whether it was accepted (false: the lease was gone). The
   * owner writes the queue out — normally with its next claim (`take`), else with `flush`.
   */
  add(item: Item, done: (accepted: boolean) => void = ignore): void {
    this.pending.push({ item, resolve: done })
  }

  /** Completions queued and not yet written. */
  get size(): number {
    return this.pending.length
  }

  /** Write everything queued so far; resolves when it is written. */
  flush(): Promise<void> {
    const batch = this.take()
    if (batch.length > 0) this.writing = this.writing.then(() => this.write(batch))
    return this.writing
  }

  /**
   * Hands the queued completions to a caller that writes them itself (the worker's claim, in
   * the same transaction); it must call `written` or `failed` with them.
   */
  take(): Entry[] {
    return this.pending.splice(0, this.pending.length)
  }

  written(batch: Entry[], ok: boolean[]): void {
    for (const [i, entry] of batch.entries()) entry.resolve(ok[i] === true)
    if (batch.length > 0) this.onWritten()
  }

  /**
   * The caller could not write them (the database is unreachable, say): they wait for the next
   * round, which the worker starts after its back-off. If their leases lapse meanwhile, the
   * write is refused then and the jobs run again elsewhere — nothing is lost.
   */
  failed(batch: Entry[]): void {
    if (batch.length > 0) this.pending.unshift(...batch)
  }

  private async write(batch: Entry[]): Promise<void> {
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
