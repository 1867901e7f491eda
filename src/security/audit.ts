/**
 * The audit log: one append-only record per mutating call and per read of sensitive data
 * (payloads, results, keys, the log itself), saying who, in which tenant, did what to which
 * target, when, from where, and how it ended. Entries are records in collection `audit`, whose
 * `seq` only grows, so the log reads in order and pages by `afterSeq`. Nothing updates or
 * deletes them; there is no API that could.
 *
 * Writes happen after the response is sent, in the background but in order; `flush()` waits for
 * the ones in flight (the server calls it on shutdown). Entries of one tenant recorded in the
 * same turn of the event loop are written as one record (`{ entries: [...] }`), so under load
 * the log costs one write per burst instead of one per request. An entry never holds a payload,
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
  private tail: Promise<void> = Promise.resolve()
  private pending = 0
  private readonly batches = new Map<string, AuditEntry[]>()
  private scheduled = false

  constructor(
    private readonly records: AuditRecords,
    private readonly onError: (error: unknown) => void,
  ) {}

  record(entry: AuditEntry): void {
    this.pending += 1
    const batch = this.batches.get(entry.tenant)
    if (batch) batch.push(entry)
    else this.batches.set(entry.tenant, [entry])
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.write())
    }
  }

  private write(): void {
    this.scheduled = false
    const batches = [...this.batches]
    this.batches.clear()
    for (const [tenant, entries] of batches) {
      this.tail = this.tail
        .then(() => this.records.put(AUDIT, { tenant, data: { entries } }))
        .then(
          () => {
            this.pending -= entries.length
          },
          (error) => {
            this.pending -= entries.length
            this.onError(error)
          },
        )
    }
  }

  /** Entries waiting to be written. */
  get backlog(): number {
    return this.pending
  }

  /** Resolves when every entry recorded so far is written. */
  async flush(): Promise<void> {
    if (this.scheduled) this.write()
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
