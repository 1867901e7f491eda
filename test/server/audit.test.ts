/**
 * The audit log's API: newest first with paging back, a unique id per entry, and reads recorded
 * once per user action (a job page's four requests, and its refreshes, are one `jobs.get`),
 * while every write is recorded every time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './helpers.js'

interface Entry {
  id: string
  seq: number
  action: string
  target: string | null
  outcome: string
  actor: { id: string | null }
}

/** "812.3" → [812, 3], for comparing ids in order. */
const place = (id: string) => id.split('.').map(Number) as [number, number]
const newer = (a: string, b: string) => {
  const [sa, ia] = place(a)
  const [sb, ib] = place(b)
  return sa > sb || (sa === sb && ia > ib)
}

describe('audit log', () => {
  let t: TestServer
  let admin: string

  beforeAll(async () => {
    t = await startServer()
    admin = await t.key('clinic', ['admin'])
  })
  afterAll(async () => {
    await t?.close()
  })

  const audit = async (query: string, key = admin) => {
    const response = await t.request('GET', `/v1/audit?${query}`, { key })
    expect(response.status, response.text).toBe(200)
    return response.body as { entries: Entry[]; nextAfterSeq: number; nextBeforeSeq: number | null }
  }

  it('reads newest first and pages back to the oldest; every entry has its own id', async () => {
    // 60 writes, 20 at a time: requests answered together share a record (and its seq).
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.request('POST', '/v1/queues/audited/jobs', { key: admin, body: { payload: { round, i } } }),
        ),
      )
    }
    const oldestFirst = await audit('limit=1000&action=jobs.create')
    expect(oldestFirst.entries).toHaveLength(60)
    expect(oldestFirst.nextBeforeSeq).toBeNull()
    const seqs = oldestFirst.entries.map((e) => e.seq)
    expect(new Set(seqs).size).toBeLessThan(60) // written together, so seqs repeat…
    expect(new Set(oldestFirst.entries.map((e) => e.id)).size).toBe(60) // …and ids do not

    await t.request('POST', '/v1/queues/newest/pause', { key: admin })
    const first = await audit('order=desc&limit=25')
    expect(first.entries[0]).toMatchObject({ action: 'queues.pause', target: 'newest', outcome: 'denied' })
    const pages = [first]
    for (let page = first; page.nextBeforeSeq !== null; ) {
      page = await audit(`order=desc&limit=25&beforeSeq=${page.nextBeforeSeq}`)
      pages.push(page)
      expect(pages.length).toBeLessThan(10)
    }
    const all = pages.flatMap((page) => page.entries)
    const ids = all.map((e) => e.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (let i = 1; i < ids.length; i++) expect(newer(ids[i - 1] as string, ids[i] as string)).toBe(true)
    // The same entries as oldest first, the other way round.
    const everything = await audit('limit=1000')
    expect([...ids].reverse()).toEqual(everything.entries.map((e) => e.id))
    // nextAfterSeq of the newest page asks for what came since.
    await t.request('POST', '/v1/queues/later/jobs', { key: admin, body: { payload: 1 } })
    const since = await audit(`afterSeq=${first.nextAfterSeq}`)
    // (The log's own reads since were recorded once, by the first read above.)
    expect(since.entries.map((e) => e.action)).toEqual(['jobs.create'])
  })

  it('refuses beforeSeq without order=desc', async () => {
    const response = await t.request('GET', '/v1/audit?beforeSeq=5', { key: admin })
    expect(response.status).toBe(400)
    expect(response.body).toMatchObject({ code: 'SPOOL_INVALID_REQUEST', field: 'beforeSeq' })
  })

  it('records one entry per job viewed, however many requests show it; every write every time', async () => {
    const viewer = await t.key('clinic', ['admin'])
    const created = await t.request('POST', '/v1/queues/viewed/jobs', { key: admin, body: { payload: { p: 1 } } })
    const id = created.body.id as string
    // What the job page asks for, twice (a refresh).
    for (let view = 0; view < 2; view++) {
      for (const path of [
        `/v1/jobs/${id}`,
        `/v1/jobs/${id}/events`,
        `/v1/jobs/${id}/children`,
        `/v1/jobs/${id}/errors`,
      ]) {
        expect((await t.request('GET', path, { key: viewer })).status).toBe(200)
      }
    }
    const reads = (await audit('limit=1000')).entries.filter(
      (e) => e.target === id && e.actor.id !== null && e.action !== 'jobs.create',
    )
    expect(reads.map((e) => e.action)).toEqual(['jobs.get'])
    // Another actor's view is its own entry; a refused read is recorded too, once.
    const other = await t.key('clinic', ['reader'])
    await t.request('GET', `/v1/jobs/${id}`, { key: other })
    await t.request('GET', `/v1/jobs/${id}/errors`, { key: other })
    await t.request('GET', `/v1/jobs/${id}/errors`, { key: other })
    const byOther = (await audit('limit=1000')).entries.filter((e) => e.target === id && e.action !== 'jobs.create')
    expect(byOther.map((e) => [e.action, e.outcome])).toEqual([
      ['jobs.get', 'ok'],
      ['jobs.get', 'ok'],
      ['jobs.get', 'denied'],
    ])
    // Writes: each one.
    await t.request('POST', `/v1/jobs/${id}/cancel`, { key: admin })
    await t.request('POST', `/v1/jobs/${id}/cancel`, { key: admin })
    const writes = (await audit('limit=1000&action=jobs.cancel')).entries.filter((e) => e.target === id)
    expect(writes.map((e) => e.outcome)).toEqual(['ok', expect.any(String)])
  })
})
