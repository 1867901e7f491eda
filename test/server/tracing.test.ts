/**
 * OpenTelemetry: the trace travels in the job's metadata from enqueue to processing, on a real
 * SQLite file, through the engine and through the HTTP API (a `traceparent` header), with the
 * SDK's in-memory exporter and the AsyncLocalStorage context manager.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import '../../src/index.js'
import { UnrecoverableError } from '../../src/engine/errors.js'
import { Spool } from '../../src/engine/spool.js'
import { formatTraceparent, parseTraceparent } from '../../src/engine/tracing.js'
import { eventually, startServer, type TestServer } from './helpers.js'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const contextManager = new AsyncLocalStorageContextManager()

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable())
})
afterAll(async () => {
  context.disable()
  await provider.shutdown()
})
afterEach(() => exporter.reset())

const spans = () => exporter.getFinishedSpans()
const named = (name: string) => spans().filter((span) => span.name === name)
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

describe('tracing through the engine (SQLite file)', () => {
  let dir: string
  let spool: Spool
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spool-tracing-'))
    spool = await Spool.open({
      store: `sqlite:${join(dir, 'spool.db')}`,
      maintenance: false,
      tracing: { tracerProvider: provider },
    })
  })
  afterAll(async () => {
    await spool.close({ graceMs: 200 })
    rmSync(dir, { recursive: true, force: true })
  })

  it('makes the processing span a child of the enqueue span, and the handler’s spans children of it', async () => {
    const tracer = provider.getTracer('test')
    const request = tracer.startSpan('request')
    const { id } = await context.with(trace.setSpan(context.active(), request), () =>
      spool.enqueue('traced', { n: 1 }, { metadata: { source: 'test' } }),
    )
    request.end()
    spool.work('traced', async () => {
      tracer.startSpan('handler work').end()
      return 'ok'
    })
    await eventually(async () => (await spool.jobs.get(id))?.state === 'completed', 'the job to complete')
    await eventually(() => named('spool.process traced').length === 1, 'the process span')

    const [enqueue] = named('spool.enqueue traced') as [ReadableSpan]
    const [process] = named('spool.process traced') as [ReadableSpan]
    const [work] = named('handler work') as [ReadableSpan]
    const traceId = request.spanContext().traceId
    expect(enqueue.spanContext().traceId).toBe(traceId)
    expect(parentOf(enqueue)).toBe(request.spanContext().spanId)
    expect(enqueue.kind).toBe(SpanKind.PRODUCER)
    expect(enqueue.attributes).toMatchObject({ 'messaging.system': 'spool', 'messaging.message.id': id })

    expect(process.spanContext().traceId).toBe(traceId)
    expect(parentOf(process)).toBe(enqueue.spanContext().spanId)
    expect(process.kind).toBe(SpanKind.CONSUMER)
    expect(process.attributes).toMatchObject({
      'messaging.system': 'spool',
      'messaging.destination.name': 'traced',
      'messaging.operation.type': 'process',
      'messaging.message.id': id,
      'spool.job.attempt': 1,
    })
    expect(process.status.code).toBe(SpanStatusCode.OK)
    expect(parentOf(work)).toBe(process.spanContext().spanId)

    // The context crossed the store in the job's metadata, beside the job's own.
    const job = await spool.jobs.get(id)
    expect(job?.metadata).toEqual({ source: 'test', ...formatTraceparent(enqueue.spanContext()) })
  })

  it('marks a failed attempt’s span as an error, with the exception', async () => {
    const { id } = await spool.enqueue('traced-fail', null, { maxAttempts: 1 })
    spool.work('traced-fail', () => {
      throw new UnrecoverableError('corrupt input')
    })
    await eventually(async () => (await spool.jobs.get(id))?.state === 'failed', 'the job to fail')
    await eventually(() => named('spool.process traced-fail').length === 1, 'the process span')
    const [process] = named('spool.process traced-fail') as [ReadableSpan]
    expect(process.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'corrupt input' })
    expect(process.events.map((event) => event.name)).toContain('exception')
    // No active span at enqueue: the enqueue span starts a trace of its own, and processing joins it.
    const [enqueue] = named('spool.enqueue traced-fail') as [ReadableSpan]
    expect(parentOf(enqueue)).toBeUndefined()
    expect(parentOf(process)).toBe(enqueue.spanContext().spanId)
  })

  it('writes nothing and makes no span when tracing is off', async () => {
    const off = await Spool.open({ store: `sqlite:${join(dir, 'spool.db')}`, maintenance: false })
    try {
      const request = provider.getTracer('test').startSpan('request')
      const { id } = await context.with(trace.setSpan(context.active(), request), () => off.enqueue('untraced', 1))
      request.end()
      off.work('untraced', () => 'ok')
      await eventually(async () => (await off.jobs.get(id))?.state === 'completed', 'the job to complete')
      expect((await off.jobs.get(id))?.metadata).toEqual({})
      expect(spans().map((span) => span.name)).toEqual(['request'])
    } finally {
      await off.close({ graceMs: 200 })
    }
  })
})

describe('tracing through the HTTP API', () => {
  let t: TestServer
  beforeAll(async () => {
    t = await startServer({ spool: { tracing: { tracerProvider: provider } } })
  })
  afterAll(async () => {
    await t?.close()
  })

  const callerTraceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const callerSpanId = '00f067aa0ba902b7'

  it('joins the caller’s trace from its traceparent header', async () => {
    const created = await t.request('POST', '/v1/queues/http-traced/jobs', {
      body: { payload: { a: 1 } },
      headers: { traceparent: `00-${callerTraceId}-${callerSpanId}-01`, tracestate: 'vendor=x' },
    })
    expect(created.status).toBe(201)
    t.spool.work('http-traced', () => 'done')
    await eventually(() => named('spool.process http-traced').length === 1, 'the process span')
    const [enqueue] = named('spool.enqueue http-traced') as [ReadableSpan]
    const [process] = named('spool.process http-traced') as [ReadableSpan]
    expect(enqueue.spanContext().traceId).toBe(callerTraceId)
    expect(parentOf(enqueue)).toBe(callerSpanId)
    expect(process.spanContext().traceId).toBe(callerTraceId)
    expect(parentOf(process)).toBe(enqueue.spanContext().spanId)
    const job = await t.request('GET', `/v1/jobs/${created.body.id}`)
    expect(job.body.metadata).toEqual({
      traceparent: `00-${callerTraceId}-${enqueue.spanContext().spanId}-01`,
      tracestate: 'vendor=x',
    })
  })

  it('ignores a malformed traceparent: the job starts a trace of its own', async () => {
    const bulk = await t.request('POST', '/v1/queues/http-bad-trace/jobs/bulk', {
      body: { jobs: [{ payload: 1 }, { payload: 2 }] },
      headers: { traceparent: `00-${'0'.repeat(32)}-${callerSpanId}-01` },
    })
    expect(bulk.status).toBe(201)
    const enqueues = named('spool.enqueue http-bad-trace')
    expect(enqueues).toHaveLength(2)
    for (const span of enqueues) {
      expect(parentOf(span)).toBeUndefined()
      expect(span.spanContext().traceId).not.toBe('0'.repeat(32))
    }
  })
})

describe('traceparent', () => {
  it('reads W3C trace context and refuses what is malformed', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
    })
    // A later version may carry more fields.
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra')).not.toBeNull()
    for (const bad of [
      undefined,
      42,
      '',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'; DROP TABLE jobs",
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeNull()
    }
  })
})
