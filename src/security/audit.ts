/**
 * The audit log: one append-only record per mutating call and per read of sensitive data
 * (payloads, results, keys, the log itself), saying who, in which tenant, did what to which
 * target, when, from where, and how it ended. Entries are records in collection `audit`, whose
 * `seq` only grows, so the log reads in order and pages by `afterSeq`. Nothing updates or
 * deletes them; there is no API that could.
 *
 * `record()` resolves once the entry is stored (the server waits for it before it answers);
 * `flush()` waits for every entry recorded so far. One write is in flight at a time (a group
 * commit): entries recorded while it runs wait for it and then go together, one record per
 * tenant (`{ entries: [...] }`), so under load the log costs about one write per write-time of
 * requests instead of one per request, and a request waits at most two writes. An entry never holds a payload,
 * a result or a credential — only ids and outcomes.
 */

export const AUDIT = 'audit'

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
    options: { tenant?: string; afterSeq?: number; limit: number },
  ): Promise<{ seq: number; data: unknown }[]>
}

export interface AuditPage {
  entries: (AuditEntry & { seq: number })[]
  /** Pass back as `afterSeq` to read on (the last record scanned, matching or not). */
  nextAfterSeq: number
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
    limit: number
    action?: string | undefined
    actor?: string | undefined
  }): Promise<AuditPage> {
    const entries: (AuditEntry & { seq: number })[] = []
    let afterSeq = options.afterSeq ?? 0
    // Filters apply after the read: scan forward a bounded number of pages for matches.
    for (let round = 0; round < 20 && entries.length < options.limit; round += 1) {
      const page = await this.records.list(AUDIT, {
        ...(options.tenant !== undefined && { tenant: options.tenant }),
        afterSeq,
        limit: 500,
      })
      for (const record of page) {
        afterSeq = record.seq
        const data = record.data as { entries?: AuditEntry[] } & AuditEntry
        for (const entry of data.entries ?? [data]) {
          if (options.action !== undefined && entry.action !== options.action) continue
          if (options.actor !== undefined && entry.actor.id !== options.actor) continue
          entries.push({ ...entry, seq: record.seq })
        }
        // Entries written together are read together: a page may end a little past `limit`.
        if (entries.length >= options.limit) break
      }
      if (page.length < 500) break
    }
    return { entries, nextAfterSeq: afterSeq }
  }
}
