/**
 * `spool.workers`: who is connected and what each runs, across nodes. Every worker (in-process
 * or over HTTP) announces itself every few seconds; one not seen for `staleMs` is gone.
 */
import type { Store, WorkerRow } from '../store/store.js'

/** How often a worker announces itself, and after how long without it it counts as gone. */
export const WORKER_BEAT_MS = 5_000
const STALE_MS = 3 * WORKER_BEAT_MS

export class WorkerRegistry {
  constructor(private readonly store: Store) {}

  list(): Promise<WorkerRow[]> {
    return this.store.workerList({ since: Date.now() - STALE_MS })
  }
}
