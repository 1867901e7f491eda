/**
 * Optional OpenTelemetry spans, with the trace carried in the job's metadata from enqueue to
 * processing.
 *
 * - **Enqueue**: each new job gets a `spool.enqueue <queue>` span (kind PRODUCER), a child of
 *   the trace the job names in `metadata.traceparent` (the server puts an HTTP caller's
 *   `traceparent` header there) or else of the active context. The span's own context is then
 *   written to `metadata.traceparent` (and `metadata.tracestate`), in W3C Trace Context form.
 * - **Processing**: a worker runs the handler inside a `spool.process <queue>` span (kind
 *   CONSUMER) whose parent is that context, so the handler's own spans join the producer's
 *   trace; an error marks the span. HTTP workers read `metadata.traceparent` from the claim.
 *
 * Off unless `Spool.open({ tracing: true })`: then nothing here runs and a job costs one null
 * check. On, spans go to the globally registered tracer provider (or the one passed in); with no
 * SDK registered the API's no-op tracer makes them free and no context is written.
 */
import {
  type Attributes,
  type Context,
  context,
  createTraceState,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import type { ClaimedJob, NewJob } from '../store/store.js'

/** `true`: the global tracer provider; or a provider of your own. */
export type TracingOption = boolean | { tracerProvider: TracerProvider }

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const INVALID_TRACE = /^0{32}$/
const INVALID_SPAN = /^0{16}$/

/**
 * A W3C `traceparent` (and optional `tracestate`) as a remote span context; null when malformed.
 *
 * @example
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
 */
export function parseTraceparent(traceparent: unknown, tracestate?: unknown): SpanContext | null {
  if (typeof traceparent !== 'string') return null
  const match = TRACEPARENT.exec(traceparent.trim())
  if (!match) return null
  const [, version = '', traceId = '', spanId = '', flags = '', rest] = match
  // Version ff is invalid; version 00 has exactly four fields (later versions may add more).
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null
  if (INVALID_TRACE.test(traceId) || INVALID_SPAN.test(spanId)) return null
  return {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & 1,
    isRemote: true,
    ...(typeof tracestate === 'string' && tracestate.length > 0 && { traceState: createTraceState(tracestate) }),
  }
}

/** A span context as W3C `traceparent` (+ `tracestate`) fields; null for an invalid context. */
export function formatTraceparent(spanContext: SpanContext): { traceparent: string; tracestate?: string } | null {
  if (!trace.isSpanContextValid(spanContext)) return null
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')
  const state = spanContext.traceState?.serialize()
  return {
    traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`,
    ...(state && { tracestate: state }),
  }
}

/** The trace a job's metadata carries, as a parent context (else `fallback`). */
function parentOf(metadata: Record<string, unknown>, fallback: Context): Context {
  const remote = parseTraceparent(metadata.traceparent, metadata.tracestate)
  return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : fallback
}

export class Tracing {
  /** The tracer spans come from (the AI gateway opens its upstream-call spans with it). */
  readonly tracer: Tracer

  constructor(option: Exclude<TracingOption, false>) {
    const provider = option === true ? trace.getTracerProvider() : option.tracerProvider
    this.tracer = provider.getTracer('spool')
  }

  /** Opens a PRODUCER span per job and writes its context into the job's metadata. */
  enqueueSpans(jobs: NewJob[]): Span[] {
    const active = context.active()
    return jobs.map((job) => {
      const span = this.tracer.startSpan(
        `spool.enqueue ${job.queue}`,
        { kind: SpanKind.PRODUCER, attributes: attributes(job.queue, 'create') },
        parentOf(job.metadata, active),
      )
      const carried = formatTraceparent(span.spanContext())
      if (carried) {
        const metadata: Record<string, unknown> = { ...job.metadata, ...carried }
        if (carried.tracestate === undefined) delete metadata.tracestate
        job.metadata = metadata
      }
      return span
    })
  }

  /** Ends the enqueue spans: with each job's id once written, or with the error that stopped the batch. */
  endEnqueue(spans: Span[], outcome: { ids: string[] } | { error: unknown }): void {
    for (const [i, span] of spans.entries()) {
      if ('error' in outcome) markError(span, outcome.error)
      else {
        const id = outcome.ids[i]
        if (id !== undefined) span.setAttribute('messaging.message.id', id)
      }
      span.end()
    }
  }

  /**
   * Opens the CONSUMER span of one attempt; `run` calls the handler inside it (its own spans
   * become children of this one).
   */
  processSpan(job: ClaimedJob): { span: Span; run<T>(fn: () => T): T } {
    const parent = parentOf(job.metadata, ROOT_CONTEXT)
    const span = this.tracer.startSpan(
      `spool.process ${job.queue}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...attributes(job.queue, 'process'),
          'messaging.message.id': job.id,
          'spool.job.attempt': job.attempt,
          'spool.job.max_attempts': job.maxAttempts,
        },
      },
      parent,
    )
    const active = trace.setSpan(parent, span)
    return { span, run: (fn) => context.with(active, fn) }
  }

  /** Ends an attempt's span: OK, or ERROR with the exception. */
  endProcess(span: Span, error?: unknown): void {
    if (error !== undefined) markError(span, error)
    else span.setStatus({ code: SpanStatusCode.OK })
    span.end()
  }
}

function attributes(queue: string, operation: 'create' | 'process'): Attributes {
  return {
    'messaging.system': 'spool',
    'messaging.destination.name': queue,
    'messaging.operation.type': operation,
  }
}

function markError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error))
  span.recordException(err)
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message })
}
