/**
 * `/metrics` follows the Prometheus naming rules that `promtool check metrics` lints (its
 * promlint rules, re-implemented here so the suite needs no Go binary), plus one it does not
 * check: no word repeated in a name (`spool_process_process_…`). Every family is checked after
 * the server has done some work, so the job, HTTP and stream families all have samples.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import { type Gateway, gatewayFor } from '../../src/ai/gateway.js'
import { eventually, startServer, type TestServer } from './helpers.js'

interface Family {
  name: string
  help: string | null
  type: string | null
  samples: { name: string; labels: Record<string, string>; value: number }[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g
/** promlint's units with a base unit to use instead. */
const NOT_BASE_UNITS: Record<string, string> = {
  milliseconds: 'seconds',
  microseconds: 'seconds',
  nanoseconds: 'seconds',
  minutes: 'seconds',
  hours: 'seconds',
  days: 'seconds',
  weeks: 'seconds',
  kilobytes: 'bytes',
  megabytes: 'bytes',
  gigabytes: 'bytes',
  terabytes: 'bytes',
  petabytes: 'bytes',
  kib: 'bytes',
  mib: 'bytes',
  percent: 'ratio',
  fahrenheit: 'celsius',
}
/** promlint's abbreviated units. */
const ABBREVIATIONS = new Set(['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'])
const BASE_UNITS = new Set(['seconds', 'bytes', 'ratio', 'celsius', 'meters', 'volts', 'amperes', 'joules', 'grams'])

/** Parses the text exposition format into families, failing on any line it cannot read. */
function parse(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const family = (name: string) => {
    let found = families.get(name)
    if (!found) {
      found = { name, help: null, type: null, samples: [] }
      families.set(name, found)
    }
    return found
  }
  const owner = (sample: string) => {
    for (const suffix of ['_bucket', '_sum', '_count', '']) {
      if (!sample.endsWith(suffix)) continue
      const base = sample.slice(0, sample.length - suffix.length)
      const declared = families.get(base)
      if (declared && (suffix === '' || declared.type === 'histogram' || declared.type === 'summary')) return declared
    }
    throw new Error(`sample ${sample} belongs to no declared family`)
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      const target = family(name)
      const key = kind === 'HELP' ? 'help' : 'type'
      if (target[key] !== null) throw new Error(`${kind} of ${name} given twice`)
      target[key] = rest
      continue
    }
    if (line.startsWith('#')) continue
    const sample = SAMPLE.exec(line)
    if (!sample) throw new Error(`unreadable line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (sample[3] ?? '').matchAll(LABEL)) labels[key as string] = value as string
    owner(sample[1] as string).samples.push({ name: sample[1] as string, labels, value: Number(sample[4]) })
  }
  return families
}

/** What `promtool check metrics` (and the word-repetition rule) would say about one family. */
function lint(family: Family): string[] {
  const problems: string[] = []
  const { name, type } = family
  const words = name.split('_')
  if (!METRIC_NAME.test(name)) problems.push('not a valid metric name')
  if (name.includes(':')) problems.push('colons are reserved for recording rules')
  if (name !== name.toLowerCase()) problems.push("metric names should be written in 'snake_case' not 'camelCase'")
  if (!family.help) problems.push('no help text')
  if (!type || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) problems.push('no valid TYPE')
  if (type === 'counter' && !name.endsWith('_total')) problems.push('counter metrics should have "_total" suffix')
  if (type !== 'counter' && name.endsWith('_total'))
    problems.push('non-counter metrics should not have "_total" suffix')
  if (type !== 'histogram' && type !== 'summary') {
    for (const suffix of ['_bucket', '_count', '_sum']) {
      if (name.endsWith(suffix))
        problems.push(`non-histogram and non-summary metrics should not have "${suffix}" suffix`)
    }
  }
  for (const typeName of ['counter', 'gauge', 'histogram', 'summary', 'untyped']) {
    if (words.includes(typeName)) problems.push(`metric name should not include type '${typeName}'`)
  }
  for (const word of words) {
    if (NOT_BASE_UNITS[word]) problems.push(`use base unit "${NOT_BASE_UNITS[word]}" instead of "${word}"`)
    if (ABBREVIATIONS.has(word)) problems.push('metric names should not contain abbreviated units')
  }
  // A unit is the last word (before a counter's _total or an info's _info).
  const core = words.slice(0, words.at(-1) === 'total' || words.at(-1) === 'info' ? -1 : undefined)
  core.forEach((word, i) => {
    if (BASE_UNITS.has(word) && i !== core.length - 1) problems.push(`the unit "${word}" should be the suffix`)
  })
  const repeated = words.filter((word, i) => words.indexOf(word) !== i)
  if (repeated.length > 0) problems.push(`repeats ${[...new Set(repeated)].join(', ')}`)
  const seen = new Set<string>()
  for (const sample of family.samples) {
    for (const label of Object.keys(sample.labels)) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) problems.push(`label ${label} is not a valid name`)
      if (label !== label.toLowerCase()) problems.push(`label names should be written in 'snake_case' not 'camelCase'`)
      if (label === 'le' && !(type === 'histogram' && sample.name.endsWith('_bucket'))) {
        problems.push('the "le" label belongs to histogram buckets')
      }
      if (label === 'quantile' && type !== 'summary') problems.push('the "quantile" label belongs to summaries')
    }
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (seen.has(key)) problems.push(`sample ${key} appears twice`)
    seen.add(key)
    if (Number.isNaN(sample.value) && !/NaN/.test(String(sample.value))) problems.push(`${sample.name} has no value`)
    if (type === 'counter' && sample.value < 0) problems.push(`counter ${sample.name} is negative`)
  }
  if (type === 'histogram' && family.samples.length > 0) {
    if (!family.samples.some((s) => s.name.endsWith('_bucket') && s.labels.le === '+Inf')) {
      problems.push('histogram without a +Inf bucket')
    }
  }
  return problems
}

describe('/metrics', () => {
  let t: TestServer
  let text: string
  let families: Map<string, Family>

  let fake: FakeUpstream
  let gateway: Gateway

  beforeAll(async () => {
    fake = await startFakeUpstream()
    t = await startServer({
      config: {
        metrics: { public: true },
        providers: { fake: { kind: 'openai', baseUrl: fake.url, models: ['gpt-metered'] } },
      },
    })
    gateway = gatewayFor(t.spool, { providers: t.server.config.providers, gateway: t.server.config.gateway })
    await gateway.start()
    // Some work, so every family the server writes has samples to check.
    const worker = t.spool.work('metered', async () => ({ ok: true }), { pollIntervalMs: 20 })
    try {
      const { body } = await t.request('POST', '/v1/queues/metered/jobs', { body: { payload: 1 } })
      await eventually(async () => (await t.spool.jobs.get(body.id))?.state === 'completed', 'the job')
      // A gateway request whose first upstream call is refused with 429, then answered.
      fake.script({ rateLimit: true, retryAfter: '0' })
      const chat = await t.request('POST', '/v1/chat/completions', {
        body: { model: 'gpt-metered', messages: [{ role: 'user', content: 'count me' }] },
      })
      expect(chat.status).toBe(200)
      await t.spool.breakers.define('upstream', { failureThreshold: 3 })
      const answer = await t.request('GET', '/metrics', { key: null })
      expect(answer.status).toBe(200)
      expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      text = answer.text
      families = parse(text)
    } finally {
      await worker.close()
    }
  })
  afterAll(async () => {
    await gateway?.close({ graceMs: 100 })
    await t?.close()
    await fake?.close()
  })

  it('counts the AI gateway’s upstream calls, status classes, tokens and latencies under spool_ai_', () => {
    const sample = (name: string, labels: Record<string, string>) =>
      families
        .get(name.replace(/_count$/, ''))
        ?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
    const requests = { provider: 'fake', model: 'gpt-metered' }
    expect(sample('spool_ai_requests_total', { ...requests, outcome: 'success' })).toBe(1)
    expect(sample('spool_ai_requests_total', { ...requests, outcome: 'rate_limited' })).toBe(1)
    expect(sample('spool_ai_upstream_responses_total', { provider: 'fake', status_class: '429' })).toBe(1)
    expect(sample('spool_ai_upstream_responses_total', { provider: 'fake', status_class: '2xx' })).toBe(1)
    expect(sample('spool_ai_tokens_total', { ...requests, kind: 'prompt' })).toBeGreaterThan(0)
    expect(sample('spool_ai_tokens_total', { ...requests, kind: 'completion' })).toBeGreaterThan(0)
    expect(sample('spool_ai_upstream_duration_seconds_count', { provider: 'fake' })).toBe(2)
    expect(sample('spool_ai_queue_wait_seconds_count', { provider: 'fake' })).toBe(1)
    expect(sample('spool_ai_breaker_open', { provider: 'fake' })).toBe(0)
    expect(sample('spool_ai_quota_exhausted', { provider: 'fake' })).toBe(0)
  })

  it('every family passes the promtool lint rules, and no name repeats a word', () => {
    expect(families.size).toBeGreaterThan(30)
    const problems = [...families.values()].flatMap((family) => lint(family).map((p) => `${family.name}: ${p}`))
    expect(problems).toEqual([])
  })

  it('every family is under spool_, with Node and process metrics named once', () => {
    const names = [...families.keys()]
    expect(names.filter((name) => !name.startsWith('spool_'))).toEqual([])
    expect(names).toEqual(
      expect.arrayContaining([
        'spool_process_cpu_seconds_total',
        'spool_process_resident_memory_bytes',
        'spool_process_start_time_seconds',
        'spool_nodejs_eventloop_lag_seconds',
        'spool_nodejs_active_handles',
        'spool_nodejs_heap_size_used_bytes',
        'spool_jobs',
        'spool_jobs_enqueued_total',
        'spool_job_run_seconds',
        'spool_http_requests_total',
        'spool_breaker_open',
      ]),
    )
    expect(text).not.toContain('spool_process_process_')
    expect(text).not.toContain('spool_process_nodejs_')
  })

  it('the lint catches what it should (the checker is not a no-op)', () => {
    const family = (name: string, type: string): Family => ({ name, type, help: 'x', samples: [] })
    expect(lint(family('spool_process_process_cpu_seconds_total', 'counter'))).toEqual(['repeats process'])
    expect(lint(family('spool_nodejs_active_handles_total', 'gauge'))).toEqual([
      'non-counter metrics should not have "_total" suffix',
    ])
    expect(lint(family('spool_jobs_done', 'counter'))).toEqual(['counter metrics should have "_total" suffix'])
    expect(lint(family('spool_wait_ms', 'gauge'))).toEqual(['metric names should not contain abbreviated units'])
    expect(lint(family('spool_wait_milliseconds', 'histogram'))).toEqual([
      'use base unit "seconds" instead of "milliseconds"',
    ])
    expect(lint(family('spool_seconds_waited', 'gauge'))).toEqual(['the unit "seconds" should be the suffix'])
    expect(lint({ ...family('spool_x', 'gauge'), help: null })).toEqual(['no help text'])
    expect(lint(family('spool_queueDepth', 'gauge'))).toEqual([
      "metric names should be written in 'snake_case' not 'camelCase'",
    ])
  })
})
