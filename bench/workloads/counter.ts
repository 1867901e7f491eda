/** Counts events and lets callers await a count (or hear about a failure). */
export class Counter {
  private count = 0
  private lastAt = 0
  private failure: Error | null = null
  private waiters: { n: number; resolve: () => void; reject: (error: Error) => void }[] = []

  get value(): number {
    return this.count
  }

  /** `performance.now()` of the last increment. */
  get last(): number {
    return this.lastAt
  }

  increment(): void {
    this.count++
    this.lastAt = performance.now()
    if (this.waiters.length === 0) return
    const due = this.waiters.filter((w) => w.n <= this.count)
    this.waiters = this.waiters.filter((w) => w.n > this.count)
    for (const waiter of due) waiter.resolve()
  }

  fail(error: Error): void {
    this.failure ??= error
    for (const waiter of this.waiters) waiter.reject(error)
    this.waiters = []
  }

  reach(n: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.count >= n) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiters.push({ n, resolve, reject }))
  }
}
