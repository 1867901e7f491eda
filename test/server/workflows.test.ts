/**
 * Workflows over HTTP, on SQLite and PostgreSQL: templates validated with the step at fault,
 * versions, a run end to end with payloads resolved from params and parents' results, a
 * condition skipping a branch, a failed step retried alone, cancel, and tenants kept apart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/commands.js'
import { createClient } from '../../src/client/index.js'
import { eventually, startServer, type TestServer } from './helpers.js'

const pipeline = {
  description: 'scan, then parse each file kind, then report',
  steps: [
    { id: 'scan', queue: 'wf-scan', payload: { source: { $param: 'source' } } },
    {
      id: 'parse',
      queue: 'wf-parse',
      dependsOn: ['scan'],
      payload: { files: { $result: 'scan.files' }, strict: { $param: 'options.strict' } },
    },
    {
      id: 'ocr',
      queue: 'wf-ocr',
      dependsOn: ['scan'],
      when: { '>': [{ var: 'results.scan.images' }, 0] },
      payload: { count: { $result: 'scan.images' } },
    },
    {
      id: 'report',
      queue: 'wf-report',
      dependsOn: ['parse', 'ocr'],
      payload: { rows: { $result: 'parse.rows' }, ocr: { $result: 'ocr' }, source: { $param: 'source' } },
    },
  ],
}

describe.each(['sqlite', 'postgres'] as const)('workflows on %s', (database) => {
  let t: TestServer
  let parseFailures = 0
  beforeAll(async () => {
    t = await startServer({ database })
    t.spool.workflows.work('wf-scan', (job) => {
      const { source } = job.payload as { source: string }
      return { files: [`${source}/a.csv`, `${source}/b.csv`], images: source === 'with-images' ? 2 : 0 }
    })
    t.spool.workflows.work('wf-parse', (job) => {
      if (parseFailures > 0) {
        parseFailures -= 1
        throw new Error('parser crashed')
      }
      const { files, strict } = job.payload as { files: string[]; strict: boolean }
      return { rows: files.length * 10, strict }
    })
    t.spool.workflows.work('wf-ocr', (job) => ({ pages: (job.payload as { count: number }).count * 3 }))
    t.spool.workflows.work('wf-report', (job) => ({ report: job.payload }))
    t.spool.workflows.work('wf-fail', () => {
      throw new Error('source down')
    })
  })
  afterAll(async () => {
    await t?.close()
  })

  const finished = async (id: string) => {
    let body: { status: string } & Record<string, unknown> = { status: 'running' }
    await eventually(async () => {
      body = (await t.request('GET', `/v1/workflow-runs/${id}`)).body
      return body.status !== 'running'
    }, `run ${id} to finish`)
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers of every shape
    return body as any
  }

  it('refuses invalid templates with the step at fault, and saves nothing', async () => {
    const cases: [unknown[], string, RegExp][] = [
      [
        [
          { id: 'a', queue: 'q' },
          { id: 'a', queue: 'q' },
        ],
        'steps.1.id',
        /defined twice/,
      ],
      [[{ id: 'a', queue: 'q', dependsOn: ['nope'] }], 'steps.0.dependsOn.0', /unknown step "nope"/],
      [
        [
          { id: 'a', queue: 'q', dependsOn: ['c'] },
          { id: 'b', queue: 'q', dependsOn: ['a'] },
          { id: 'c', queue: 'q', dependsOn: ['b'] },
        ],
        'steps.1.dependsOn.0',
        /cycle/,
      ],
      [[{ id: 'a', queue: 'q', dependsOn: ['a'] }], 'steps.0.dependsOn.0', /depends on itself/],
      [
        [
          { id: 'a', queue: 'q' },
          { id: 'b', queue: 'q', payload: { x: { $result: 'a.y' } } },
        ],
        'steps.1.payload',
        /does not depend on/,
      ],
      [[{ id: 'a', queue: 'q', when: { '>': [{ var: 'env.HOME' }, 1] } }], 'steps.0.when', /params/],
      [[{ id: 'a', queue: 'bad queue!' }], 'steps.0.queue', /.+/],
      [[{ id: 'a', queue: 'q', when: { method: ['x', 'toUpperCase'] } }], 'steps.0.when', /"method" is not allowed/],
      [[{ id: 'a', queue: 'q', when: { log: { var: 'params.secret' } } }], 'steps.0.when', /"log" is not allowed/],
    ]
    for (const [steps, field, detail] of cases) {
      const res = await t.request('PUT', '/v1/workflows/broken', { body: { steps } })
      expect(res.status, res.text).toBe(400)
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/)
      expect(res.body.field, res.text).toBe(field)
      expect(res.body.detail).toMatch(detail)
    }
    expect((await t.request('GET', '/v1/workflows/broken')).status).toBe(404)
  })

  it('versions a template: the same definition keeps its version, a change makes a new one', async () => {
    const first = await t.request('PUT', '/v1/workflows/import', { body: pipeline })
    expect(first.status, first.text).toBe(200)
    expect(first.body).toMatchObject({ name: 'import', version: 1, created: true })
    expect((await t.request('PUT', '/v1/workflows/import', { body: pipeline })).body).toMatchObject({
      version: 1,
      created: false,
    })
    const changed = { ...pipeline, description: 'v2' }
    expect((await t.request('PUT', '/v1/workflows/import', { body: changed })).body).toMatchObject({
      version: 2,
      created: true,
    })
    expect((await t.request('GET', '/v1/workflows/import?version=1')).body.description).toBe(pipeline.description)
    const list = await t.request('GET', '/v1/workflows')
    expect(list.body.workflows.map((w: { name: string; version: number }) => [w.name, w.version])).toEqual([
      ['import', 2],
    ])
    const audit = await t.request('GET', '/v1/audit?limit=100')
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toContain('workflows.define')
  })

  it('runs end to end: payloads from params and parents’ results, a false condition skips its step', async () => {
    const started = await t.request('POST', '/v1/workflows/import/runs', {
      body: { params: { source: 'plain', options: { strict: true } } },
    })
    expect(started.status, started.text).toBe(201)
    expect(started.body.version).toBe(2)
    const run = await finished(started.body.id)
    expect(run.status).toBe('succeeded')
    const steps = Object.fromEntries(run.steps.map((s: { id: string }) => [s.id, s]))
    expect(steps.scan).toMatchObject({ state: 'completed', input: { source: 'plain' } })
    expect(steps.parse).toMatchObject({
      state: 'completed',
      input: { files: ['plain/a.csv', 'plain/b.csv'], strict: true },
      output: { rows: 20, strict: true },
    })
    expect(steps.ocr).toMatchObject({ state: 'skipped', output: null, input: null })
    // The skipped parent counts as satisfied; its result reads as null.
    expect(steps.report).toMatchObject({
      state: 'completed',
      output: { report: { rows: 20, ocr: null, source: 'plain' } },
    })
    expect(steps.report.startedAt >= steps.parse.finishedAt).toBe(true)

    const withImages = await t.request('POST', '/v1/workflows/import/runs', {
      body: { params: { source: 'with-images' } },
    })
    const second = await finished(withImages.body.id)
    const ocr = second.steps.find((s: { id: string }) => s.id === 'ocr')
    expect(ocr).toMatchObject({ state: 'completed', input: { count: 2 }, output: { pages: 6 } })
    expect(second.steps.find((s: { id: string }) => s.id === 'report').output.report.ocr).toEqual({ pages: 6 })

    const history = await t.request('GET', '/v1/workflows/import/runs')
    expect(history.status, history.text).toBe(200)
    expect(history.body.runs.length).toBeGreaterThanOrEqual(2)
    expect(history.body.runs[0].id).toBe(withImages.body.id)
    expect(history.body.stats).toMatchObject({ succeeded: history.body.stats.finished, successRate: 1 })
    expect(history.body.stats.p50Ms).toBeGreaterThanOrEqual(0)
  })

  it('a failed step fails the run; retry runs only the failed steps and keeps the rest', async () => {
    parseFailures = 1
    const defined = await t.request('PUT', '/v1/workflows/flaky', {
      body: { steps: pipeline.steps.map((s) => (s.id === 'parse' ? { ...s, maxAttempts: 1 } : s)) },
    })
    expect(defined.status, defined.text).toBe(200)
    const started = await t.request('POST', '/v1/workflows/flaky/runs', { body: { params: { source: 'x' } } })
    const run = await finished(started.body.id)
    expect(run.status).toBe('failed')
    const before = Object.fromEntries(run.steps.map((s: { id: string }) => [s.id, s]))
    expect(before.parse).toMatchObject({ state: 'failed', error: 'parser crashed' })
    expect(before.report.state).toBe('failed')
    expect((await t.request('POST', `/v1/workflow-runs/${started.body.id}/retry`)).status).toBe(200)
    const retried = await finished(started.body.id)
    expect(retried.status).toBe('succeeded')
    expect(retried.retries).toBe(1)
    const after = Object.fromEntries(retried.steps.map((s: { id: string }) => [s.id, s]))
    expect(after.scan.jobId).toBe(before.scan.jobId)
    expect(after.scan.previousJobs).toEqual([])
    expect(after.parse.jobId).not.toBe(before.parse.jobId)
    expect(after.parse.previousJobs).toEqual([before.parse.jobId])
    expect(after.report.output.report.rows).toBe(20)
    // A succeeded run is not retried.
    const again = await t.request('POST', `/v1/workflow-runs/${started.body.id}/retry`)
    expect(again.status).toBe(409)
    const history = await t.request('GET', '/v1/workflows/flaky/runs')
    expect(history.body.stats).toMatchObject({ finished: 1, succeeded: 1 })
  })

  it('edge policies: continue sees a failed parent as null, skip passes a skip on, the run succeeds', async () => {
    const defined = await t.request('PUT', '/v1/workflows/policies', {
      body: {
        steps: [
          { id: 'down', queue: 'wf-fail', maxAttempts: 1 },
          {
            id: 'after',
            queue: 'wf-report',
            dependsOn: [{ step: 'down', onFailure: 'continue' }],
            payload: { got: { $result: 'down' }, mode: { $param: 'mode' } },
          },
          { id: 'maybe', queue: 'wf-report', when: { '==': [{ var: 'params.mode' }, 'full'] } },
          { id: 'follow', queue: 'wf-report', dependsOn: [{ step: 'maybe', onSkipped: 'skip' }] },
          { id: 'anyway', queue: 'wf-report', dependsOn: ['maybe'], payload: { m: { $result: 'maybe' } } },
        ],
      },
    })
    expect(defined.status, defined.text).toBe(200)
    const started = await t.request('POST', '/v1/workflows/policies/runs', { body: { params: { mode: 'quick' } } })
    const run = await finished(started.body.id)
    const steps = Object.fromEntries(run.steps.map((s: { id: string }) => [s.id, s]))
    expect(steps.down).toMatchObject({ state: 'failed', error: 'source down' })
    expect(steps.after).toMatchObject({ state: 'completed', output: { report: { got: null, mode: 'quick' } } })
    expect(steps.maybe.state).toBe('skipped')
    expect(steps.follow.state).toBe('skipped')
    expect(steps.anyway).toMatchObject({ state: 'completed', output: { report: { m: null } } })
    // The failure was absorbed by a `continue` edge: no sink failed.
    expect(run.status).toBe('succeeded')
  })

  it('cancels a run: its unfinished steps are cancelled', async () => {
    await t.request('PUT', '/v1/workflows/slow', {
      body: {
        steps: [
          { id: 'wait', queue: 'wf-nobody-serves' },
          { id: 'after', queue: 'wf-report', dependsOn: ['wait'] },
        ],
      },
    })
    const started = await t.request('POST', '/v1/workflows/slow/runs', { body: {} })
    const view = await t.request('GET', `/v1/workflow-runs/${started.body.id}`)
    expect(view.body.steps.map((s: { state: string }) => s.state)).toEqual(['waiting', 'blocked'])
    const cancelled = await t.request('POST', `/v1/workflow-runs/${started.body.id}/cancel`)
    expect(cancelled.status, cancelled.text).toBe(200)
    const run = await finished(started.body.id)
    expect(run.status).toBe('cancelled')
    expect(run.steps.map((s: { state: string }) => s.state)).toEqual(['cancelled', 'cancelled'])
  })

  it('keeps tenants apart: another tenant neither sees nor starts nor steers the templates and runs', async () => {
    const acme = await t.key('acme', ['admin'])
    const started = await t.request('POST', '/v1/workflows/slow/runs', { body: {} })
    expect((await t.request('GET', '/v1/workflows', { key: acme })).body.workflows).toEqual([])
    expect((await t.request('GET', '/v1/workflows/slow', { key: acme })).status).toBe(404)
    expect((await t.request('POST', '/v1/workflows/slow/runs', { key: acme, body: {} })).status).toBe(404)
    for (const [method, path] of [
      ['GET', `/v1/workflow-runs/${started.body.id}`],
      ['POST', `/v1/workflow-runs/${started.body.id}/cancel`],
      ['POST', `/v1/workflow-runs/${started.body.id}/retry`],
    ] as const) {
      const res = await t.request(method, path, { key: acme })
      expect(res.status, `${method} ${path}`).toBe(404)
    }
    expect((await t.request('GET', '/v1/workflows/slow/runs', { key: acme })).body.runs).toEqual([])
    // Its own template of the same name is its own.
    const own = await t.request('PUT', '/v1/workflows/slow', { key: acme, body: { steps: [{ id: 'x', queue: 'q' }] } })
    expect(own.body).toMatchObject({ version: 1 })
    expect((await t.request('GET', '/v1/workflows/slow')).body.steps).toHaveLength(2)
    await t.request('POST', `/v1/workflow-runs/${started.body.id}/cancel`)
    expect((await t.request('DELETE', '/v1/workflows/slow', { key: acme })).status).toBe(204)
    expect((await t.request('GET', '/v1/workflows/slow')).status).toBe(200)
  })

  it('is driven from the typed client', async () => {
    const client = createClient({ baseUrl: t.url, apiKey: t.adminKey })
    const saved = await client.workflows.define('tiny', { steps: [{ id: 'only', queue: 'wf-report', payload: 1 }] })
    expect(saved.version).toBe(1)
    const { id } = await client.workflows.start('tiny', { a: 1 })
    await eventually(async () => (await client.workflows.run(id)).status === 'succeeded', 'the run')
    expect((await client.workflows.runs('tiny')).stats.successRate).toBe(1)
    expect((await client.workflows.list()).map((w) => w.name)).toContain('tiny')
  })
})

describe('spool workflows (CLI)', () => {
  it('defines from a file, lists, starts with params and shows a run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-wf-cli-'))
    try {
      const cli = async (args: string[]) => {
        let out = ''
        let err = ''
        const io = { out: (text: string) => (out += `${text}\n`), err: (text: string) => (err += `${text}\n`) }
        const code = await main([...args, '--store', `sqlite:${join(dir, 'spool.db')}`, '--data-dir', dir], io, {
          SPOOL_PORT: '0',
        })
        return { code, out, err }
      }
      const file = join(dir, 'wf.json')
      writeFileSync(file, JSON.stringify({ name: 'nightly', ...pipeline }))
      const defined = await cli(['workflows', 'define', file])
      expect(defined.code, defined.err).toBe(0)
      expect(defined.out).toMatch(/nightly version 1/)
      expect((await cli(['workflows', 'ls'])).out).toMatch(/nightly\s+v1\s+4 steps/)
      const started = await cli(['workflows', 'start', 'nightly', '--params', '{"source":"s3"}', '--json'])
      expect(started.code, started.err).toBe(0)
      const { id } = JSON.parse(started.out) as { id: string }
      const shown = await cli(['workflows', 'run', id])
      expect(shown.code, shown.err).toBe(0)
      expect(shown.out).toMatch(/nightly v1 run .*: running/)
      expect(shown.out).toMatch(/scan\s+waiting/)
      expect(shown.out).toMatch(/report\s+blocked/)
      writeFileSync(file, JSON.stringify({ name: 'bad', steps: [{ id: 'a', queue: 'q', dependsOn: ['zz'] }] }))
      const refused = await cli(['workflows', 'define', file])
      expect(refused.code).not.toBe(0)
      expect(refused.err).toMatch(/unknown step "zz".*SPOOL_INVALID_WORKFLOW/)
      expect((await cli(['workflows', 'run', '424242'])).code).toBe(3)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
