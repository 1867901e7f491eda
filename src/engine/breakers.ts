/**
 * `spool.breakers`: named circuit breakers whose state lives in the store, shared by every node.
 * A queue bound to one (`breaker` in its config) claims nothing while it is open: its jobs wait
 * and spend no attempts. Closed → open after `failureThreshold` failures in a row (or a failure
 * rate within a window); open → half-open after `cooldownMs`, letting `halfOpenProbes` jobs run
 * at once; closed again after `successThreshold` successes (a failed probe opens it again).
 * Only retryable failures count: a job rejected for bad input says nothing about the provider.
 */
import type { BreakerRow, BreakerState, SpoolEvent, Store } from '../store/store.js'
import type { EngineContext } from './context.js'
import { SpoolError } from './errors.js'
import { parseBreakerPolicy } from './options.js'

export type BreakerOptions = Partial<BreakerRow['config']>

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/

export class Breakers {
  constructor(
    private readonly spool: EngineContext,
    private readonly store: Store,
  ) {}

  /**
   * Creates a breaker or changes its policy; its state stays.
   *
   * @example
   * await spool.breakers.define('openai', { failureThreshold: 5, cooldownMs: 30_000 })
   * await spool.queues.configure('notes', { breaker: 'openai' })
   */
  async define(name: string, options: BreakerOptions = {}): Promise<BreakerRow> {
    assertName(name)
    const policy = parseBreakerPolicy(options)
    const row = await this.store.breakerDefine({ name, policy, now: Date.now() })
    this.spool.changed()
    return row
  }

  async get(name: string): Promise<BreakerRow | null> {
    assertName(name)
    return this.store.breakerGet({ name })
  }

  list(): Promise<BreakerRow[]> {
    return this.store.breakerList()
  }

  /**
   * Its state changes, newest first: `breaker.opened`, `breaker.half_open` and `breaker.closed`
   * events with the state it left (`data.from`) and the failures counted then. Page with `beforeId`
   * (the last event's id). Kept as long as queue-level events are. Throws `SPOOL_BREAKER_NOT_FOUND`
   * for a breaker never defined.
   *
   * @example
   * const changes = await spool.breakers.history('openai', { limit: 20 })
   * for (const change of changes) console.log(new Date(change.at), change.type, change.data.from)
   */
  async history(name: string, options: { beforeId?: number; limit?: number } = {}): Promise<SpoolEvent[]> {
    assertName(name)
    const limit = options.limit ?? 50
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'limit must be an integer from 1 to 1000', { field: 'limit' })
    }
    const { beforeId } = options
    if (beforeId !== undefined && (!Number.isSafeInteger(beforeId) || beforeId < 1)) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'beforeId must be an event id', { field: 'beforeId' })
    }
    if (!(await this.store.breakerGet({ name }))) {
      throw new SpoolError('SPOOL_BREAKER_NOT_FOUND', `no circuit breaker named ${name}`, { field: 'name' })
    }
    return this.store.breakerHistory({ name, limit, ...(beforeId !== undefined && { beforeId }) })
  }

  /** Opens it by hand: bound queues stop claiming until the cool-down ends or it is closed. */
  open(name: string): Promise<BreakerRow> {
    return this.set(name, 'open')
  }

  /** Closes it by hand and forgets its counts. */
  close(name: string): Promise<BreakerRow> {
    return this.set(name, 'closed')
  }

  /** The same as `close`: back to a clean, closed breaker. */
  reset(name: string): Promise<BreakerRow> {
    return this.set(name, 'closed')
  }

  private async set(name: string, state: BreakerState): Promise<BreakerRow> {
    assertName(name)
    const row = await this.store.breakerSet({ name, state, now: Date.now() })
    if (!row) throw new SpoolError('SPOOL_BREAKER_NOT_FOUND', `no circuit breaker named ${name}`, { field: 'name' })
    this.spool.changed()
    return row
  }
}

function assertName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'a breaker name is 1–128 letters, digits, ".", "_", ":" or "-"', {
      field: 'name',
    })
  }
}
