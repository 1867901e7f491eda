/**
 * From a request's job to what its client gets, in OpenAI's shapes: the upstream answer as it
 * came, the provider's own error (status and body) when it refused the request, and Spool's
 * errors as `{"error":{"message","type","code"}}` — the shape the SDKs read their reason from.
 */
import type { JobInfo } from '../engine/job.js'
import type { Spool } from '../engine/spool.js'
import { openAiErrorBody } from './errors.js'
import type { AiPayload, AiResult } from './gateway.js'
import { readRejection } from './upstream.js'

export type AiJob = JobInfo<AiPayload, AiResult>

export interface Answer {
  status: number
  body: unknown
  headers: Record<string, string>
}

const FINISHED = new Set(['completed', 'failed', 'cancelled'])

/** How long the job waited in its queue before its (last) attempt started, in ms. */
export function queueWaitMs(job: AiJob, now = Date.now()): number {
  const started = job.startedAt?.getTime() ?? now
  return Math.max(0, started - job.createdAt.getTime())
}

/** The headers every answer carries. */
export function jobHeaders(job: AiJob): Record<string, string> {
  return { 'spool-job-id': job.id, 'spool-queue-wait-ms': String(queueWaitMs(job)) }
}

/**
 * The answer for a finished job; null while it is not finished.
 *
 * @example
 * const answer = answerFor(await spool.jobs.get(id))
 */
export function answerFor(job: AiJob): Answer | null {
  if (!FINISHED.has(job.state)) return null
  const headers = jobHeaders(job)
  if (job.state === 'completed' && job.result) {
    return { status: job.result.status, body: job.result.body ?? null, headers }
  }
  // Spool already retried what was worth retrying: the SDK must not send it again.
  const final = { ...headers, 'x-should-retry': 'false' }
  if (job.state === 'cancelled') {
    return {
      status: 409,
      body: openAiErrorBody('SPOOL_JOB_CANCELLED', `request ${job.id} was cancelled`),
      headers: final,
    }
  }
  const last = job.errors.at(-1)
  const rejection = last ? readRejection(last.message) : null
  if (rejection) return { status: rejection.status, body: rejection.body, headers: final }
  if (last?.code === 'AI_REQUEST_EXPIRED') {
    return { status: 504, body: openAiErrorBody('SPOOL_REQUEST_EXPIRED', last.message), headers: final }
  }
  const message = last ? `${last.message} (after ${job.attempt} attempts)` : `request ${job.id} failed`
  return { status: 502, body: openAiErrorBody('SPOOL_UPSTREAM_FAILED', message), headers: final }
}

/**
 * Waits up to `timeoutMs` for the job to finish; resolves with the job as it then is (finished or
 * not), or null when it no longer exists. Follows the job's events, with a slow re-read as the
 * safety net; `signal` (the client went away) ends the wait early.
 *
 * @example
 * const job = await waitForJob(spool, id, 30_000, signal)
 */
export async function waitForJob(
  spool: Spool,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<AiJob | null> {
  const read = () => spool.jobs.get<AiPayload, AiResult>(id)
  let settle: (() => void) | null = null
  const changed = new Promise<void>((resolve) => {
    settle = resolve
  })
  let wake: (() => void) | null = null
  const subscription = spool.events.subscribe({ jobId: id }, (event) => {
    if (event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.cancelled') wake?.()
  })
  const deadline = Date.now() + timeoutMs
  const onAbort = () => settle?.()
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    let job = await read()
    while (job && !FINISHED.has(job.state) && !signal?.aborted) {
      const left = deadline - Date.now()
      if (left <= 0) break
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        changed,
        new Promise<void>((resolve) => {
          wake = resolve
          timer = setTimeout(resolve, Math.min(left, 2_000))
        }),
      ])
      clearTimeout(timer)
      job = await read()
    }
    return job
  } finally {
    subscription.close()
    signal?.removeEventListener('abort', onAbort)
  }
}
