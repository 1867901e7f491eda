/**
 * The jobs listing's operator features on both stores: counts by state that honour every filter
 * (capped), the error-message filter, sorting by created and run-at with cursors, and the export
 * as JSON Lines or CSV (streamed, tenant-scoped, the listing's filters); the CLI's `jobs export`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/commands.js'
import { Spool } from '../../src/engine/spool.js'
import { csvCell } from '../../src/server/job-export.js'
import { eventually, startServer, type TestServer } from './helpers.js'

interface ApiJob {
  id: string
  state: string
  tags: string[]
  runAt: string
  createdAt: string
  tenant: string
  errors: { message: string }[]
  payload: { n: number; note?: string }
}

/** Parses CSV as RFC 4180 writes it (quoted cells with doubled quotes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += c
  }
  return rows
}

describe.each(['sqlite', 'postgres'] as const)('jobs listing on %s', (database) => {
  let t: TestServer
  let otherKey: string
  const queue = 'listing'
  /** The default tenant's jobs as the listing returns them (every page). */
  let all: ApiJob[]

  const listAll = async (query: string, key?: string): Promise<ApiJob[]> => {
    const jobs: ApiJob[] = []
    let cursor: string | null = null
    do {
      const page = await t.request(
        'GET',
        `/v1/jobs?${query}&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        key ? { key } : {},
      )
      expect(page.status, page.text).toBe(200)
      jobs.push(...page.body.jobs)
      cursor = page.body.nextCursor
    } while (cursor)
    return jobs
  }

  beforeAll(async () => {
    t = await startServer({ database })
    otherKey = await t.key('other', ['admin'])
    // 40 jobs in the default tenant: tags odd/even, every third fails with a message naming its kind.
    for (let n = 0; n < 40; n++) {
      await t.spool.enqueue(
        queue,
        { n, note: n === 4 ? '=HYPERLINK("http://x")' : `job "${n}", done` },
        { tenant: 'default', tags: [n % 2 ? 'odd' : 'even'], maxAttempts: 1 },
      )
    }
    // The other tenant: the same tags and the same failures, which nothing of default may count or export.
    for (let n = 0; n < 12; n++) {
      await t.spool.enqueue(queue, { n }, { tenant: 'other', tags: [n % 2 ? 'odd' : 'even'], maxAttempts: 1 })
    }
    const worker = t.spool.work<{ n: number }, { n: number }>(
      queue,
      async (job) => {
        if (job.payload.n % 3 === 0) {
          throw new Error(job.payload.n % 2 ? 'Provider TIMEOUT after 30 s (100%)' : 'invalid audio header')
        }
        return { n: job.payload.n }
      },
      { concurrency: 4, pollIntervalMs: 20 },
    )
    await eventually(async () => {
      const counts = await t.spool.queues.counts(queue)
      return counts.completed + counts.failed === 52
    }, 'every job to finish')
    await worker.close()
    // Scheduled jobs whose run-at is not their creation order.
    for (const [n, delayMs] of [
      [100, 3_600_000],
      [101, 600_000],
      [102, 7_200_000],
    ] as const) {
      await t.spool.enqueue(queue, { n }, { tenant: 'default', tags: ['odd'], delayMs })
    }
    all = await listAll('')
  }, 60_000)

  afterAll(async () => {
    await t?.close()
  })

  it('counts jobs by state with every filter of the listing, within the tenant', async () => {
    expect(all).toHaveLength(43)
    const matching = (state: string, tag: string) =>
      all.filter((job) => job.state === state && job.tags.includes(tag)).length
    const oddFailed = await t.request('GET', `/v1/jobs/counts?queue=${queue}&state=failed&tag=odd`)
    expect(oddFailed.status, oddFailed.text).toBe(200)
    // Only the state asked for is counted; the other tenant's odd failures are not.
    expect(oddFailed.body.counts.failed).toBe(matching('failed', 'odd'))
    expect(oddFailed.body.counts.failed).toBe(7)
    expect(oddFailed.body.counts.completed).toBe(0)
    expect(oddFailed.body.total).toBe(7)
    expect(oddFailed.body.capped).toEqual([])

    const odd = await t.request('GET', '/v1/jobs/counts?tag=odd')
    for (const state of ['waiting', 'scheduled', 'blocked', 'active', 'completed', 'failed', 'cancelled']) {
      expect(odd.body.counts[state], state).toBe(matching(state, 'odd'))
    }
    expect(odd.body.counts.scheduled).toBe(3)
    expect(odd.body.total).toBe(all.filter((job) => job.tags.includes('odd')).length)

    // Text in the (encrypted) payload and in the error message count as the listing finds.
    const text = await t.request('GET', '/v1/jobs/counts?text=done')
    expect(text.body.total).toBe((await listAll('text=done')).length)
    const errors = await t.request('GET', '/v1/jobs/counts?error=timeout')
    expect(errors.body.counts).toMatchObject({ failed: 7, completed: 0 })

    const other = await t.request('GET', '/v1/jobs/counts?tag=odd', { key: otherKey })
    expect(other.body.total).toBe(6)
    expect(other.body.counts.failed).toBe(2)

    const bad = await t.request('GET', '/v1/jobs/counts?limit=5')
    expect(bad.status).toBe(400)
    expect(bad.body.field).toBe('limit')
  })

  it('caps counts and says which states reached the cap', async () => {
    const odd = await t.spool.jobs.counts({ tenant: 'default', tag: 'odd' }, 5)
    expect(odd.counts).toMatchObject({ completed: 5, failed: 5, scheduled: 3, waiting: 0 })
    expect(odd.capped.sort()).toEqual(['completed', 'failed'])
    // Queue and tenant alone are counted exactly, in one grouped read, as the queue pages count them.
    const plain = await t.spool.jobs.counts({ tenant: 'default', queue }, 5)
    expect(plain.counts).toMatchObject({ completed: 26, failed: 14, scheduled: 3 })
    expect(plain.capped).toEqual([])
    // A text search over encrypted payloads reads at most the cap: every state is then "at least".
    const scanned = await t.spool.jobs.counts({ tenant: 'default', text: 'n' }, 5)
    expect(scanned.capped.length).toBeGreaterThan(0)
    const answer = await t.request('GET', '/v1/jobs/counts')
    expect(answer.body.cap).toBe(10_000)
  })

  it('finds jobs by their error message, case-insensitively and literally', async () => {
    const timeouts = await listAll('error=timeout')
    expect(timeouts.map((job) => job.payload.n).sort((a, b) => a - b)).toEqual([3, 9, 15, 21, 27, 33, 39])
    for (const job of timeouts) expect(job.errors.at(-1)?.message).toMatch(/timeout/i)
    // % and _ are the text itself, not wildcards.
    expect(await listAll('error=100%25')).toHaveLength(7)
    expect(await listAll('error=10_%25')).toHaveLength(0)
    const header = await listAll(`error=${encodeURIComponent('AUDIO header')}&tag=even`)
    expect(header).toHaveLength(7)
    expect(await listAll('error=timeout', otherKey)).toHaveLength(2)
  })

  it('sorts by created and by run-at, both ways, paging with cursors', async () => {
    const ids = all.map((job) => Number(job.id))
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    const oldest = await listAll('sort=created&order=asc')
    expect(oldest.map((job) => job.id)).toEqual([...all].reverse().map((job) => job.id))

    const byRunAt = (order: 1 | -1) => (a: ApiJob, b: ApiJob) =>
      order * (Date.parse(a.runAt) - Date.parse(b.runAt)) || order * (Number(a.id) - Number(b.id))
    const latest = await listAll('sort=runAt')
    expect(latest.map((job) => job.id)).toEqual([...all].sort(byRunAt(-1)).map((job) => job.id))
    expect(latest.slice(0, 3).map((job) => job.payload.n)).toEqual([102, 100, 101])
    const soonest = await listAll('sort=runAt&order=asc&state=scheduled')
    expect(soonest.map((job) => job.payload.n)).toEqual([101, 100, 102])
    const ascAll = await listAll('sort=runAt&order=asc')
    expect(ascAll.map((job) => job.id)).toEqual([...all].sort(byRunAt(1)).map((job) => job.id))
    // Filters combine with the order.
    const oddAsc = await listAll('sort=created&order=asc&tag=odd&state=completed')
    expect(oddAsc.map((job) => job.id)).toEqual(
      [...all]
        .reverse()
        .filter((job) => job.state === 'completed' && job.tags.includes('odd'))
        .map((job) => job.id),
    )

    // A cursor belongs to its order.
    const first = await t.request('GET', '/v1/jobs?sort=runAt&limit=2')
    const mixed = await t.request('GET', `/v1/jobs?sort=created&limit=2&cursor=${first.body.nextCursor}`)
    expect(mixed.status).toBe(400)
    expect(mixed.body.field).toBe('cursor')
    const bad = await t.request('GET', '/v1/jobs?sort=priority')
    expect(bad.status).toBe(400)
    expect(bad.body.field).toBe('sort')
  })

  it('exports the filtered jobs as JSON Lines, streamed, as the listing has them', async () => {
    const answer = await fetch(`${t.url}/v1/jobs/export?format=jsonl&tag=odd&sort=created&order=asc`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type')).toBe('application/jsonl; charset=utf-8')
    expect(answer.headers.get('content-disposition')).toMatch(/^attachment; filename="spool-jobs-[\dT-]+Z\.jsonl"$/)
    // Streamed: no length known up front.
    expect(answer.headers.get('content-length')).toBeNull()
    expect(answer.headers.get('transfer-encoding')).toBe('chunked')
    const lines = (await answer.text()).trimEnd().split('\n')
    const jobs = lines.map((line) => JSON.parse(line) as ApiJob)
    const expected = [...all].reverse().filter((job) => job.tags.includes('odd'))
    expect(jobs).toEqual(expected)
    expect(jobs.every((job) => job.tenant === 'default')).toBe(true)

    const other = await fetch(`${t.url}/v1/jobs/export?format=jsonl`, {
      headers: { authorization: `Bearer ${otherKey}` },
    })
    const theirs = (await other.text()).trimEnd().split('\n')
    expect(theirs).toHaveLength(12)
    expect(theirs.every((line) => JSON.parse(line).tenant === 'other')).toBe(true)
  })

  it('exports as CSV with a header, quoting, and formulas defused', async () => {
    const answer = await fetch(`${t.url}/v1/jobs/export?format=csv&state=failed&error=header`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(answer.headers.get('content-disposition')).toMatch(/filename="spool-jobs-.+\.csv"/)
    const rows = parseCsv(await answer.text())
    const [header, ...body] = rows
    expect(header?.slice(0, 4)).toEqual(['id', 'queue', 'tenant', 'state'])
    expect(body).toHaveLength(7)
    const column = (name: string) => header?.indexOf(name) ?? -1
    for (const row of body) {
      expect(row[column('state')]).toBe('failed')
      expect(row[column('lastError')]).toBe('invalid audio header')
      const payload = JSON.parse(row[column('payload')] as string)
      expect(payload.n % 6).toBe(0)
      expect(payload.note).toBe(`job "${payload.n}", done`)
    }
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`)
    expect(csvCell('-1+1')).toBe(`'-1+1`)
    expect(csvCell(-5)).toBe('-5')

    const bad = await t.request('GET', '/v1/jobs/export?format=xml')
    expect(bad.status).toBe(400)
    expect(bad.body.field).toBe('format')
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/)
    const none = await t.request('GET', '/v1/jobs/export?format=csv', { key: null })
    expect(none.status).toBe(401)
  })

  it('exports more than a page (500) of jobs', async () => {
    const bulk = 'export-bulk'
    for (let i = 0; i < 3; i++) {
      await t.request('POST', `/v1/queues/${bulk}/jobs/bulk`, {
        body: { jobs: Array.from({ length: 250 }, (_, n) => ({ payload: { n: i * 250 + n } })) },
      })
    }
    const answer = await fetch(`${t.url}/v1/jobs/export?format=jsonl&queue=${bulk}`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    })
    const lines = (await answer.text()).trimEnd().split('\n')
    expect(lines).toHaveLength(750)
    expect(new Set(lines.map((line) => JSON.parse(line).id)).size).toBe(750)
  })
})

describe('spool jobs export', () => {
  it('writes the store’s jobs matching the filters as CSV or JSON Lines to stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-export-'))
    const store = `sqlite:${join(dir, 'spool.db')}`
    try {
      const spool = await Spool.open({ store, maintenance: false })
      for (let n = 0; n < 6; n++) {
        await spool.enqueue('cli-export', { n }, { tags: [n % 2 ? 'odd' : 'even'], tenant: n < 4 ? 'a' : 'b' })
      }
      await spool.close()
      const run = async (args: string[]) => {
        const out: string[] = []
        const err: string[] = []
        const code = await main(['jobs', 'export', '--store', store, '--no-encryption', ...args], {
          out: (text) => out.push(text),
          err: (text) => err.push(text),
        })
        return { code, out: out.join('\n'), err: err.join('\n') }
      }
      const csv = await run(['--format', 'csv', '--tag', 'odd', '--order', 'asc'])
      expect(csv.code, csv.err).toBe(0)
      const rows = parseCsv(`${csv.out}\n`.replace(/\r?\n/g, '\r\n'))
      expect(rows[0]?.[0]).toBe('id')
      expect(rows.slice(1).map((row) => JSON.parse(row.at(-2) as string).n)).toEqual([1, 3, 5])

      const jsonl = await run(['--format', 'jsonl', '--tenant', 'a', '--sort', 'runAt'])
      expect(jsonl.code, jsonl.err).toBe(0)
      expect(jsonl.out.split('\n').map((line) => JSON.parse(line).payload.n)).toEqual([3, 2, 1, 0])

      const usage = await run([])
      expect(usage.code).toBe(2)
      expect(usage.err).toMatch(/--format jsonl or --format csv/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
