/**
 * Enqueues that arrive together are written together.
 *
 * Under load many requests for the same queue and tenant arrive in the same turn of the event
 * loop. Each would be its own transaction; on SQLite that means its own commit, and commits are
 * what an enqueue costs. So requests are collected until the loop turns (`setImmediate`) and
 * written with one `enqueueMany` — one transaction for the lot — and each request gets its own
 * result back. Every item was validated by the route first, so a batch is rarely refused; when
 * it is, its items are retried one by one, so one bad item fails only its own request (and,
 * since a refused `enqueueMany` writes nothing, nothing is written twice).
 */
import type { EnqueueOptions } from '../engine/options.js'
import type { EnqueueResult, Spool } from '../engine/spool.js'

interface Pending {
  payload: unknown
  options: EnqueueOptions & { tenant: string }
  resolve(result: EnqueueResult): void
  reject(error: unknown): void
}

const MAX_BATCH = 500

export class Enqueuer {
  private readonly batches = new Map<string, { queue: string; items: Pending[] }>()
  private scheduled = false

  constructor(
    private readonly spool: Spool,
    /** Told the size of every batch written (for the metrics). */
    private readonly onBatch: (size: number) => void = () => {},
  ) {}

  /**
   * @example
   * const { id } = await enqueuer.enqueue('emails', { to: 'a@b.c' }, { tenant: 'acme', priority: 'high' })
   */
  enqueue(queue: string, payload: unknown, options: EnqueueOptions & { tenant: string }): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      const key = `${options.tenant}\u0000${queue}`
      let batch = this.batches.get(key)
      if (!batch) {
        batch = { queue, items: [] }
        this.batches.set(key, batch)
      }
      batch.items.push({ payload, options, resolve, reject })
      if (batch.items.length >= MAX_BATCH) {
        this.batches.delete(key)
        void this.write(batch.queue, batch.items)
      } else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    const batches = [...this.batches.values()]
    this.batches.clear()
    for (const batch of batches) void this.write(batch.queue, batch.items)
  }

  private async write(queue: string, items: Pending[]): Promise<void> {
    this.onBatch(items.length)
    if (items.length === 1) {
      const [item] = items as [Pending]
      await this.spool.enqueue(queue, item.payload, item.options).then(item.resolve, item.reject)
      return
    }
    try {
      const results = await this.spool.enqueueMany(
        queue,
        items.map((item) => ({ payload: item.payload, options: item.options })),
      )
      for (const [i, item] of items.entries()) item.resolve(results[i] as EnqueueResult)
    } catch {
      for (const item of items)
        await this.spool.enqueue(queue, item.payload, item.options).then(item.resolve, item.reject)
    }
  }
}
