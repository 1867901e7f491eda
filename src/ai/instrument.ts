/**
 * One upstream call, measured: an OpenTelemetry CLIENT span (when the Spool has tracing on; a
 * child of the job's processing span, with the GenAI semantic conventions' attributes) and one
 * observation for the gateway's figures (src/ai/stats.ts → `spool_ai_*` metrics, the providers API).
 */
import { context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { RateLimitedError } from '../engine/errors.js'
import type { Job } from '../engine/job.js'
import type { Spool } from '../engine/spool.js'
import type { AiPayload } from './gateway.js'
import { aiStatsOf, type CallOutcome } from './stats.js'
import { UpstreamFailure, UpstreamRejected } from './upstream.js'

interface Usage {
  prompt_tokens?: unknown
  completion_tokens?: unknown
  total_tokens?: unknown
}

/**
 * @example
 * const call = startCall(spool, 'openai', job)
 * call.end(200, body.usage) // or call.fail(error)
 */
export function startCall(spool: Spool, provider: string, job: Job<AiPayload>) {
  const started = Date.now()
  const model = typeof job.payload.body.model === 'string' ? job.payload.body.model : ''
  const operation = job.payload.endpoint === 'chat' ? 'chat' : 'embeddings'
  const span: Span | null =
    spool.tracing?.tracer.startSpan(
      `${operation} ${model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': operation,
          'gen_ai.request.model': model,
          'spool.ai.provider': provider,
          'spool.job.id': job.id,
          'spool.job.attempt': job.attempt,
        },
      },
      context.active(),
    ) ?? null
  const record = (outcome: CallOutcome, status: number | null, usage: Usage | null | undefined, quota = false) => {
    const prompt = count(usage?.prompt_tokens)
    const total = count(usage?.total_tokens)
    const completion = usage?.completion_tokens !== undefined ? count(usage.completion_tokens) : total - prompt
    aiStatsOf(spool).record({
      provider,
      model,
      outcome,
      status,
      latencyMs: Date.now() - started,
      queueWaitMs: Math.max(0, started - job.createdAt.getTime()),
      promptTokens: prompt,
      completionTokens: Math.max(0, completion),
      quotaExhausted: quota,
      at: Date.now(),
    })
    if (span) {
      if (status !== null) span.setAttribute('http.response.status_code', status)
      span.setAttribute('gen_ai.usage.input_tokens', prompt)
      span.setAttribute('gen_ai.usage.output_tokens', Math.max(0, completion))
    }
  }
  return {
    end(status: number, usage: Usage | null | undefined): void {
      record('success', status, usage)
      span?.setStatus({ code: SpanStatusCode.OK })
      span?.end()
    },
    fail(error: unknown, quotaExhausted = false): void {
      const status =
        error instanceof RateLimitedError
          ? 429
          : error instanceof UpstreamRejected || error instanceof UpstreamFailure
            ? (error.status ?? null)
            : null
      const outcome: CallOutcome =
        status === 429 && !quotaExhausted ? 'rate_limited' : error instanceof UpstreamRejected ? 'rejected' : 'error'
      record(outcome, status, null, quotaExhausted)
      if (span) {
        span.setAttribute(
          'error.type',
          status !== null ? String(status) : ((error as { code?: string }).code ?? 'error'),
        )
        span.recordException(error instanceof Error ? error : new Error(String(error)))
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message?.slice(0, 200) })
        span.end()
      }
    },
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0
}
