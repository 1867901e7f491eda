/**
 * Priority order between this process's enqueues and its claims, on PostgreSQL.
 *
 * The race it closes: a claim's statement reads with the snapshot it started with. A worker's
 * claim sent just before a high-priority enqueue committed does not see the new jobs; if it
 * returns after the enqueue did, the low jobs it leased start after the urgent ones were
 * enqueued — the bench's priority check counted 8 to 40 such starts per run, one round's worth.
 * SQLite has no such window: its claims and inserts run one at a time, synchronously.
 *
 * The rule: an enqueue that may outrank what a claim of the same queue could return is
 * *urgent*. It waits for this process's claims of that queue in flight (their jobs start while
 * the enqueue is still running, which is fair: they were leased before it), and claims of that
 * queue sent meanwhile wait for it (they then see its jobs): a claim sent while the insert is
 * running would read a snapshot from before its commit just the same. Everything else runs side by side
 * as before: enqueues whose jobs are no more urgent than anything claimed from the queue so far
 * (a backlog of one priority, the common case) never wait, and claims never wait for one
 * another. An urgent enqueue waits at most one round trip of the claims in flight.
 *
 * "May outrank": its best priority is better (a lower number) than the worst one the last claim
 * of the queue here that found jobs returned. Before any did, nothing waits (holding every
 * enqueue back while an idle worker's claims come back empty would slow them for no one's
 * sake), so a worker's very first round is not ordered either. Claims on other nodes, and enqueues inside an application's transaction (which
 * commit outside the store's sight), are not ordered: there a claim in flight can still start
 * up to one round of lower-priority jobs after the enqueue returned.
 */
export class ClaimOrder {
  private readonly queues = new Map<string, QueueOrder>()

  /**
   * Runs a claim of `queue` once no urgent enqueue of it is running, telling it how long it
   * waited (its clock moves on by as much: the jobs it waited for were enqueued meanwhile, and
   * must be due); notes what it returned.
   */
  async claim<T>(
    queue: string,
    run: (waitedMs: number) => Promise<T>,
    priorities: (result: T) => Iterable<number>,
  ): Promise<T> {
    const state = this.state(queue)
    const start = Date.now()
    while (state.urgent.size > 0) await Promise.allSettled([...state.urgent])
    const claim = run(Date.now() - start)
    state.claims.add(claim)
    try {
      const result = await claim
      let worst: number | null = null
      for (const priority of priorities(result)) if (worst === null || priority > worst) worst = priority
      if (worst !== null) state.worst = worst
      return result
    } finally {
      state.claims.delete(claim)
      this.forget(queue, state)
    }
  }

  /**
   * Runs an enqueue; for each queue it is urgent for (`best`: its best priority per queue), it
   * first waits for that queue's claims in flight, and holds new ones back until it ends.
   */
  async insert<T>(best: Map<string, number>, run: () => Promise<T>): Promise<T> {
    const urgent: QueueOrder[] = []
    for (const [queue, priority] of best) {
      const state = this.queues.get(queue)
      if (state?.worst !== null && state?.worst !== undefined && priority < state.worst) urgent.push(state)
    }
    if (urgent.length === 0) return run()
    let release = () => {}
    const done = new Promise<void>((resolve) => {
      release = resolve
    })
    for (const state of urgent) state.urgent.add(done)
    try {
      await Promise.allSettled(urgent.flatMap((state) => [...state.claims]))
      return await run()
    } finally {
      release()
      for (const [queue, state] of this.queues) {
        if (state.urgent.delete(done)) this.forget(queue, state)
      }
    }
  }

  private state(queue: string): QueueOrder {
    let state = this.queues.get(queue)
    if (!state) {
      state = { claims: new Set(), urgent: new Set(), worst: null }
      this.queues.set(queue, state)
    }
    return state
  }

  /** Keeps what was seen of a queue while it is claimed; an idle queue's entry costs nothing to keep. */
  private forget(queue: string, state: QueueOrder): void {
    if (state.claims.size === 0 && state.urgent.size === 0 && state.worst === null) this.queues.delete(queue)
  }
}

interface QueueOrder {
  /** This process's claims of the queue in flight. */
  claims: Set<Promise<unknown>>
  /** Urgent enqueues running or waiting; claims wait for them. */
  urgent: Set<Promise<void>>
  /**
   * The worst (highest) priority the last claim of the queue that found jobs returned here; null:
   * none yet. The last one, not the worst ever: a queue that once held a low job would otherwise
   * make every ordinary enqueue into it wait for the claims in flight.
   */
  worst: number | null
}
