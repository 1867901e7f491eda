/**
 * The audit log: one append-only record per mutating call and per read of sensitive data
 * (payloads, results, keys, the log itself), saying who, in which tenant, did what to which
 * target, when, from where, and how it ended. Entries are records in collection `audit`, whose
 * `seq` only grows, so the log reads in order (either way) and pages by seq. Nothing updates or
 * deletes them; there is no API that could.
 *
 * Reads are recorded at the grain of a user's action, not of a request: a page shows one thing
 * through several requests (a job page reads the job, its history, its children and its failed
 * attempts) and refreshes them while open, which was four entries per view and more every few
 * seconds. A read is recorded once per actor, tenant, action, target and outcome in a window
 * of `READ_WINDOW_MS` (`readSeen`); the routes that show parts of one thing record under that
 * thing's action (`jobs.history` as `jobs.get`). Every write is recorded, every time.
 *
 * `record()` resolves once the entry is stored (the server waits for it before it answers);
 * `flush()` waits for every entry recorded so far. One write is in flight at a time (a group
 * commit): entries recorded while it runs wait for it and then go together, one record per
 * tenant (`{ entries: [...] }`), so under load the log costs about one write per write-time of
 * requests instead of one per request, and a request waits at most two writes. An entry never holds a payload,
 * a result or a credential — only ids and outcomes.
 */

export const AUDIT = 'audit'

/** A read by the same actor of the same target (same action and outcome) within this window is one entry. */
export const READ_WINDOW_MS = 5 * 60_000
/** Reads remembered for `readSeen`, at most (beyond, the expired are dropped, then all). */
const READS_REMEMBERED = 20_000

export interface AuditEntry {
  at: number
  actor: { kind: 'key' | 'jwt' | 'anonymous'; id: string | null; user: string | null }
  tenant: string
  /** e.g. `jobs.create`, `queues.pause`, `jobs.read`. */
  action: string
  /** The job id, queue name, key id… the call was about. */
  target: string | null
  ip: string
  /** `ok`, `denied` (401/403), `invalid` (other 4xx) or `error` (5xx). */
  outcome: 'ok' | 'denied' | 'invalid' | 'error'
  status: number
  requestId: string
  code?: string
}

/** What the audit log needs from the record store (`spool.records`). */
export interface AuditRecords {
  put(collection: string, record: { tenant: string; data: unknown }): Promise<unknown>
  list(
    collection: string,
    options: { tenant?: string; afterSeq?: number; beforeSeq?: number; order?: 'asc' | 'desc'; limit: number },
  ): Promise<{ seq: number; data: unknown }[]>
}

export interface AuditPage {
  /** `id` is unique: the record's seq and the entry's place in it (`"812.3"`). */
  entries: (AuditEntry & { seq: number; id: string })[]
  /**
   * Pass back as `afterSeq` to read what is newer (oldest first: the last record scanned,
   * matching or not; newest first: the newest record of this page, or the `afterSeq` given).
   */
  nextAfterSeq: number
  /** Newest first: pass back as `beforeSeq` to read older entries; null when there are none. */
  nextBeforeSeq: number | null
}

/**
 * @example
 * const audit = new AuditLog(spool.records, (err) => log.error(err, 'audit write failed'))
 * audit.record({ at: Date.now(), actor, tenant: 'acme', action: 'jobs.cancel', target: '42', … })
 * const { entries } = await audit.list({ tenant: 'acme', limit: 100 })
 */
export class AuditLog {
  /** The write in flight (never rejects). */
  private tail: Promise<void> = Promise.resolve()
  /** The write that will take the entries recorded now: after the one in flight. */
  private next: Promise<void> | null = null
  private pending = 0
  private readonly batches = new Map<string, AuditEntry[]>()
  /** When each read (actor, tenant, action, target, outcome) was last recorded. */
  private readonly reads = new Map<string, number>()

  constructor(
    private readonly records: AuditRecords,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Adds an entry; resolves when it is stored. Never rejects: a failed write goes to `onError`.
   */
  record(entry: AuditEntry): Promise<void> {
    this.pending += 1
    const batch = this.batches.get(entry.tenant)
    if (batch) batch.push(entry)
    else this.batches.set(entry.tenant, [entry])
    // The rest of this event-loop turn joins too (requests answered together).
    this.next ??= this.tail
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        this.next = null
        return this.write()
      })
    return this.next
  }

  private write(): Promise<void> {
    const batches = [...this.batches]
    this.batches.clear()
    this.tail = (async () => {
      for (const [tenant, entries] of batches) {
        try {
          await this.records.put(AUDIT, { tenant, data: { entries } })
        } catch (error) {
          this.onError(error)
        } finally {
          this.pending -= entries.length
        }
      }
    })()
    return this.tail
  }

  /**
   * Whether the same read was recorded within `READ_WINDOW_MS` (then this one is not); marks it
   * recorded otherwise. Per process: with several server nodes, each records a read once.
   */
  readSeen(entry: AuditEntry): boolean {
    const key = JSON.stringify([
      entry.tenant,
      entry.actor.kind,
      entry.actor.id,
      entry.action,
      entry.target,
      entry.outcome,
    ])
    const last = this.reads.get(key)
    if (last !== undefined && entry.at - last < READ_WINDOW_MS) return true
    if (this.reads.size >= READS_REMEMBERED) {
      for (const [k, at] of this.reads) if (entry.at - at >= READ_WINDOW_MS) this.reads.delete(k)
      if (this.reads.size >= READS_REMEMBERED) this.reads.clear()
    }
    this.reads.set(key, entry.at)
    return false
  }

  /** Entries waiting to be written. */
  get backlog(): number {
    return this.pending
  }

  /** Resolves when every entry recorded so far is written. */
  async flush(): Promise<void> {
    await this.next
    await this.tail
  }

  async list(options: {
    tenant?: string | undefined
    afterSeq?: number | undefined
    beforeSeq?: number | undefined
    order?: 'asc' | 'desc' | undefined
    limit: number
    action?: string | undefined
    actor?: string | undefined
  }): Promise<AuditPage> {
    const desc = options.order === 'desc'
    const entries: (AuditEntry & { seq: number; id: string })[] = []
    let afterSeq = options.afterSeq ?? 0
    let beforeSeq = options.beforeSeq
    let newest: number | null = null
    let exhausted = false
    // Filters apply after the read: scan a bounded number of pages for matches.
    for (let round = 0; round < 20 && entries.length < options.limit; round += 1) {
      const page = await this.records.list(AUDIT, {
        ...(options.tenant !== undefined && { tenant: options.tenant }),
        ...(desc
          ? { order: 'desc' as const, afterSeq: options.afterSeq ?? 0, ...(beforeSeq !== undefined && { beforeSeq }) }
          : { afterSeq }),
        limit: 500,
      })
      for (const record of page) {
        if (desc) beforeSeq = record.seq
        else afterSeq = record.seq
        newest ??= record.seq
        const data = record.data as { entries?: AuditEntry[] } & AuditEntry
        const written = (data.entries ?? [data]).map((entry, i) => ({
          ...entry,
          seq: record.seq,
          id: `${record.seq}.${i + 1}`,
        }))
        for (const entry of desc ? written.reverse() : written) {
          if (options.action !== undefined && entry.action !== options.action) continue
          if (options.actor !== undefined && entry.actor.id !== options.actor) continue
          entries.push(entry)
        }
        // Entries written together are read together: a page may end a little past `limit`.
        if (entries.length >= options.limit) break
      }
      if (page.length < 500 && entries.length < options.limit) {
        exhausted = true
        break
      }
    }
    if (!desc) return { entries, nextAfterSeq: afterSeq, nextBeforeSeq: null }
    return {
      entries,
      nextAfterSeq: Math.max(newest ?? 0, options.afterSeq ?? 0),
      nextBeforeSeq: exhausted ? null : (beforeSeq ?? null),
    }
  }
}
