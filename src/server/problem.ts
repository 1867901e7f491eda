/**
 * Every error the server answers with is RFC 9457 problem+json:
 *
 *   { "type": "https://spool.dev/problems/spool_job_not_found", "title": "No such job",
 *     "status": 404, "code": "SPOOL_JOB_NOT_FOUND", "detail": "no job 42", "field": "id",
 *     "instance": "/v1/jobs/42", "requestId": "…" }
 *
 * `code` is stable (clients switch on it), `field` names the input at fault, and `Retry-After`
 * is set where waiting helps (429, 503). Engine errors (`SpoolError`) keep their code and status;
 * the server adds its own codes below for what only HTTP has.
 */
import { ERROR_CODES, SpoolError } from '../engine/errors.js'

export const SERVER_ERROR_CODES = {
  SPOOL_INVALID_REQUEST: { status: 400, title: 'The request is invalid' },
  SPOOL_INVALID_URL: { status: 400, title: 'The URL is not valid' },
  SPOOL_MALFORMED_HTTP: { status: 400, title: 'The request is not valid HTTP' },
  SPOOL_INVALID_JSON: { status: 400, title: 'The body is not valid JSON' },
  SPOOL_UNKNOWN_FIELD: { status: 400, title: 'The request has a field this route does not take' },
  SPOOL_UNAUTHENTICATED: { status: 401, title: 'Authentication is required' },
  SPOOL_FORBIDDEN: { status: 403, title: 'This credential may not do that' },
  SPOOL_TENANT_FORBIDDEN: { status: 403, title: 'This credential may not act in that tenant' },
  SPOOL_NOT_FOUND: { status: 404, title: 'Not found' },
  SPOOL_REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  SPOOL_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  SPOOL_CONFLICT: { status: 409, title: 'The resource is not in a state that allows this' },
  SPOOL_BODY_TOO_LARGE: { status: 413, title: 'The body is too large' },
  SPOOL_URI_TOO_LONG: { status: 414, title: 'A path segment is too long' },
  SPOOL_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The body must be application/json' },
  SPOOL_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  SPOOL_HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  SPOOL_QUEUE_FULL: { status: 503, title: 'The queue is full' },
  SPOOL_UNAVAILABLE: { status: 503, title: 'The server is not ready' },
  SPOOL_INTERNAL: { status: 500, title: 'Internal error' },
} as const

export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES

export interface Problem {
  type: string
  title: string
  status: number
  code: string
  detail: string
  field?: string
  instance?: string
  requestId?: string
  /** Extra facts, e.g. `limit` for a too-large payload or `state` for a refused transition. */
  [key: string]: unknown
}

/**
 * An error the server answers with.
 *
 * @example
 * throw new HttpProblem('SPOOL_FORBIDDEN', 'a reader key cannot enqueue', { field: 'authorization' })
 */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem'
  readonly status: number
  constructor(
    readonly code: ServerErrorCode,
    message: string,
    readonly details: { field?: string; retryAfterSeconds?: number; [key: string]: unknown } = {},
  ) {
    super(message)
    this.status = SERVER_ERROR_CODES[code].status
  }
}

const TITLES: Record<string, string> = Object.fromEntries(
  [...Object.entries(ERROR_CODES), ...Object.entries(SERVER_ERROR_CODES)].map(([code, { title }]) => [code, title]),
)

/** Fastify's own error codes, mapped to ours. */
const FASTIFY: Record<string, ServerErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'SPOOL_INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SPOOL_INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'SPOOL_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SPOOL_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SPOOL_INVALID_REQUEST',
  FST_ERR_CTP_INVALID_TYPE: 'SPOOL_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'SPOOL_INVALID_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'SPOOL_URI_TOO_LONG',
  FST_ERR_ASYNC_CONSTRAINT: 'SPOOL_INVALID_REQUEST',
}

/** Fastify's messages that would echo the raw input back, or say less than ours. */
const FASTIFY_DETAIL: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'the body is larger than this server accepts',
  FST_ERR_BAD_URL:
    'the path has a malformed percent-encoding (a "%" not followed by two hex digits, or bytes that are not UTF-8)',
  FST_ERR_MAX_PARAM_LENGTH: 'a path segment is longer than 256 characters',
}

/**
 * Turns anything thrown while handling a request into a problem and its headers.
 */
export function toProblem(
  error: unknown,
  instance: string,
  requestId: string,
): { problem: Problem; headers: Record<string, string> } {
  const headers: Record<string, string> = {}
  let code: string
  let status: number
  let detail: string
  let extra: Record<string, unknown> = {}
  if (error instanceof HttpProblem) {
    code = error.code
    status = error.status
    detail = error.message
    const { retryAfterSeconds, ...rest } = error.details
    extra = rest
    if (retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)))
    if (code === 'SPOOL_UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="spool"'
  } else if (error instanceof SpoolError) {
    code = error.code
    status = error.status
    detail = error.message
    extra = { ...error.details }
    const retryAfterMs = (error.details as { retryAfterMs?: unknown }).retryAfterMs
    if (typeof retryAfterMs === 'number') headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)))
    else if (status === 503 || status === 429) headers['retry-after'] = '1'
  } else if (isFastifyError(error) && FASTIFY[error.code]) {
    code = FASTIFY[error.code] as ServerErrorCode
    status = SERVER_ERROR_CODES[code as ServerErrorCode].status
    detail = FASTIFY_DETAIL[error.code] ?? error.message
    if (code === 'SPOOL_INVALID_URL' || code === 'SPOOL_URI_TOO_LONG') extra = { field: 'path', location: 'path' }
    if (code === 'SPOOL_INVALID_JSON') extra = { field: 'body' }
  } else if (isFastifyError(error) && typeof error.statusCode === 'number' && error.statusCode < 500) {
    status = error.statusCode
    code = status === 404 ? 'SPOOL_NOT_FOUND' : status === 413 ? 'SPOOL_BODY_TOO_LARGE' : 'SPOOL_INVALID_REQUEST'
    detail = error.message
  } else {
    code = 'SPOOL_INTERNAL'
    status = 500
    detail = 'the server failed to handle this request; see its log under this request id'
  }
  const problem: Problem = {
    type: `https://spool.dev/problems/${code.toLowerCase()}`,
    title: TITLES[code] ?? 'Error',
    status,
    code,
    detail,
    ...extra,
    instance,
    requestId,
  }
  return { problem, headers }
}

function isFastifyError(error: unknown): error is { code: string; statusCode?: number; message: string } {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
}

const OPENAI_TYPES: Record<number, string> = {
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
}

/**
 * A problem in the shape OpenAI's API and SDKs use for errors.
 *
 * @example
 * openAiErrorOf(problem) // { message: 'no API key given', type: 'authentication_error', code: 'spool_unauthenticated', param: null }
 */
export function openAiErrorOf(problem: Problem): { message: string; type: string; code: string; param: string | null } {
  const type = OPENAI_TYPES[problem.status] ?? (problem.status >= 500 ? 'server_error' : 'invalid_request_error')
  return { message: problem.detail, type, code: problem.code.toLowerCase(), param: problem.field ?? null }
}
