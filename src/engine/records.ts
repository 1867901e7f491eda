/**
 * `spool.records`: a small durable document store on whichever database Spool uses, for the
 * server's own data (API keys, the audit log, webhooks). `data` is JSON, written through the
 * codec (so encrypted at rest when the server encrypts); `seq` grows with every write, which
 * makes an append-only log of a collection listed in order.
 */
import { randomUUID } from 'node:crypto'
import type { RecordRow, Store } from '../store/store.js'
import type { Codec } from './codec.js'
import { SpoolError } from './errors.js'

export interface SpoolRecord<T = unknown> {
  id: string
  seq: number
  collection: string
  tenant: string
  key: string | null
  data: T
  createdAt: Date
  updatedAt: Date
}

const NAME = /^[a-z][a-z0-9_.-]{0,63}$/

export class Records {
  constructor(
    private readonly store: Store,
    private readonly codec: Codec,
  ) {}

  /** Writes a record (replacing one with the same id); `key` is unique within the collection. */
  async put<T>(
    collection: string,
    record: { id?: string; tenant: string; key?: string | null; data: T },
  ): Promise<SpoolRecord<T>> {
    assertCollection(collection)
    const json = JSON.stringify(record.data ?? null)
    const row = await this.store.recordPut({
      collection,
      id: record.id ?? randomUUID(),
      tenant: record.tenant,
      key: record.key ?? null,
      data: this.codec.encode(json),
      now: Date.now(),
    })
    // The row holds what was just encrypted: answer from the plaintext instead of decrypting it.
    return this.decode<T>(row, json)
  }

  async get<T>(collection: string, id: string): Promise<SpoolRecord<T> | null> {
    assertCollection(collection)
    const row = await this.store.recordGet({ collection, id })
    return row ? this.decode<T>(row) : null
  }

  async findByKey<T>(collection: string, key: string): Promise<SpoolRecord<T> | null> {
    assertCollection(collection)
    const row = await this.store.recordFindByKey({ collection, key })
    return row ? this.decode<T>(row) : null
  }

  /**
   * Oldest first; page with `afterSeq` (the last record's seq). With `order: 'desc'`, newest
   * first: page with `beforeSeq` (the last record's seq); `afterSeq` still bounds from below.
   */
  async list<T>(
    collection: string,
    options: { tenant?: string; afterSeq?: number; beforeSeq?: number; order?: 'asc' | 'desc'; limit?: number } = {},
  ): Promise<SpoolRecord<T>[]> {
    assertCollection(collection)
    const limit = options.limit ?? 100
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new SpoolError('SPOOL_INVALID_OPTION', 'limit must be an integer from 1 to 10000', { field: 'limit' })
    }
    const rows = await this.store.recordList({
      collection,
      limit,
      ...(options.tenant !== undefined && { tenant: options.tenant }),
      ...(options.afterSeq !== undefined && { afterSeq: options.afterSeq }),
      ...(options.beforeSeq !== undefined && { beforeSeq: options.beforeSeq }),
      ...(options.order !== undefined && { order: options.order }),
    })
    return rows.map((row) => this.decode<T>(row))
  }

  async delete(collection: string, id: string): Promise<boolean> {
    assertCollection(collection)
    return this.store.recordDelete({ collection, id })
  }

  private decode<T>(row: RecordRow, json = this.codec.decode(row.data)): SpoolRecord<T> {
    return {
      id: row.id,
      seq: row.seq,
      collection: row.collection,
      tenant: row.tenant,
      key: row.key,
      data: JSON.parse(json) as T,
      createdAt: new Date(row.createdAt),
      updatedAt: new Date(row.updatedAt),
    }
  }
}

function assertCollection(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new SpoolError(
      'SPOOL_INVALID_OPTION',
      'a collection name is 1–64 lowercase letters, digits, ".", "_" or "-"',
      {
        field: 'collection',
      },
    )
  }
}
