/**
 * The AI gateway's error codes, and the one function that writes any catalogued problem in the
 * shape OpenAI's API and SDKs use (`{ message, type, code, param }`), for every
 * OpenAI-compatible route (the gateway's and `POST /v1/audio/transcriptions`).
 *
 * The problem keeps Spool's own code (`SPOOL_WAIT_TIMEOUT`) in its `code` field; the `error`
 * object carries it as OpenAI writes codes, lower-case snake (`spool_wait_timeout`), or OpenAI's
 * own code where one exists (`model_not_found`). An upstream provider's refusal is not one of
 * these: it is passed through as the provider sent it.
 */
import type { ErrorEntry } from '../engine/errors.js'

export const AI_ERROR_CODES = {
  AI_MODEL_NOT_FOUND: {
    status: 404,
    title: 'No provider serves this model',
    when: '`model` is not served by any provider of this gateway.',
    fix: 'Use a model listed by `GET /v1/models`.',
    openAi: { code: 'model_not_found' },
  },
  SPOOL_INVALID_PRIORITY: {
    status: 400,
    title: 'The priority is invalid',
    when: '`Spool-Priority` is not urgent, high, normal, low or an integer from -1000 to 1000.',
    fix: 'Send one of those values, or leave the header out.',
  },
  SPOOL_INVALID_IDEMPOTENCY_KEY: {
    status: 400,
    title: 'The idempotency key is invalid',
    when: '`Idempotency-Key` is not 1 to 255 characters, or was given more than once.',
    fix: 'Send one key of 1 to 255 characters.',
  },
  SPOOL_INVALID_CACHE: {
    status: 400,
    title: 'The cache header is invalid',
    when: '`Spool-Cache` is not `ttl=<seconds>` within the allowed range.',
    fix: 'Send `Spool-Cache: ttl=N` with N from 1 to the documented maximum, or leave it out.',
  },
  SPOOL_NOT_A_STREAM: {
    status: 404,
    title: 'The job is not a streamed request',
    when: '`GET /v1/jobs/:id/stream` named a job that is not a streamed gateway request of this tenant.',
    fix: 'Read the job with `GET /v1/jobs/:id` instead.',
  },
  SPOOL_JOB_GONE: {
    status: 410,
    title: 'The request is gone',
    when: "The request's job was removed while the caller waited.",
    fix: 'Send the request again.',
  },
  SPOOL_JOB_CANCELLED: {
    status: 409,
    title: 'The request was cancelled',
    when: "The request's job was cancelled before it was answered.",
    fix: 'Send the request again if it is still wanted.',
  },
  SPOOL_WAIT_TIMEOUT: {
    status: 504,
    title: 'The request was not answered in time',
    when: 'The request is still queued or running when the wait (`Prefer: wait=N`, the SDK timeout, `maxWaitSeconds`) ends; `jobId` names its job, which goes on.',
    fix: 'Follow the job with `GET /v1/jobs/:id`; do not resend.',
    openAi: { type: 'timeout' },
  },
  SPOOL_REQUEST_EXPIRED: {
    status: 504,
    title: 'The request expired in its queue',
    when: 'The request waited in its queue past its deadline and was not sent upstream.',
    fix: 'Send it again later, or with a higher priority.',
    openAi: { type: 'timeout' },
  },
  SPOOL_UPSTREAM_FAILED: {
    status: 502,
    title: 'The provider failed',
    when: 'The provider kept failing (5xx, network) through every attempt.',
    fix: "Retry later; the provider's breaker may be open.",
    openAi: { type: 'upstream_error' },
  },
} as const satisfies Record<string, ErrorEntry>

export type AiErrorCode = keyof typeof AI_ERROR_CODES

/**
 * A refusal of the AI gateway, answered as problem+json with OpenAI's `error` object beside it.
 *
 * @example
 * throw new AiError('AI_MODEL_NOT_FOUND', 'The model `x` does not exist', { field: 'model' })
 */
export class AiError extends Error {
  override readonly name = 'AiError'
  readonly status: number
  constructor(
    readonly code: AiErrorCode,
    message: string,
    readonly details: { field?: string; [key: string]: unknown } = {},
    /** Response headers to send with the answer (e.g. `spool-job-id`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.status = AI_ERROR_CODES[code].status
  }
}

const TYPES: Record<number, string> = {
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
}

export interface OpenAiErrorObject {
  message: string
  type: string
  code: string
  param: string | null
}

/**
 * A problem in the shape OpenAI's API and SDKs use for errors.
 *
 * @example
 * openAiError({ status: 415, code: 'AUDIO_UNSUPPORTED_TYPE', detail: '"txt" is not an accepted audio type', field: 'file' })
 * // { message: '"txt" is not …', type: 'invalid_request_error', code: 'audio_unsupported_type', param: 'file' }
 */
export function openAiError(problem: {
  status: number
  code: string
  detail: string
  field?: unknown
}): OpenAiErrorObject {
  const entry = (AI_ERROR_CODES as Record<string, ErrorEntry>)[problem.code]
  const type =
    entry?.openAi?.type ?? TYPES[problem.status] ?? (problem.status >= 500 ? 'server_error' : 'invalid_request_error')
  return {
    message: problem.detail,
    type,
    code: entry?.openAi?.code ?? problem.code.toLowerCase(),
    param: typeof problem.field === 'string' ? problem.field : null,
  }
}

/**
 * The OpenAI-shaped body of a gateway code, for answers that are not thrown (a finished job's
 * outcome, or an in-band error on a stream).
 *
 * @example
 * openAiErrorBody('SPOOL_JOB_GONE', 'the request is gone') // { error: { …, code: 'spool_job_gone' } }
 */
export function openAiErrorBody(code: AiErrorCode, detail: string): { error: OpenAiErrorObject } {
  return { error: openAiError({ status: AI_ERROR_CODES[code].status, code, detail }) }
}
