/**
 * Every error the server answers with is RFC 9457 problem+json:
 *
 *   { "type": "https://spool.dev/problems/spool_job_not_found", "title": "No such job",
 *     "status": 404, "code": "SPOOL_JOB_NOT_FOUND", "detail": "no job 42", "field": "id",
 *     "instance": "/v1/jobs/42", "requestId": "…" }
 *
 * `code` is stable (clients switch on it), `field` names the input at fault, and `Retry-After`
 * is set where waiting helps (429, 503). `toProblem` is the one mapper: it takes any error whose
 * code is in the catalogue (`server/errors.ts`: the engine's, the server's, the audio pipeline's
 * and the gateway's codes) and Fastify's own errors; `problemOfZodError` is the one mapping of
 * a failed zod parse.
 */
import type { z } from 'zod'
import { openAiError } from '../ai/errors.js'
import { geminiError } from '../ai/gemini.js'
import { SpoolError } from '../engine/errors.js'
import { CATALOGUE, type CatalogueCode, isCatalogued, SERVER_ERROR_CODES, type ServerErrorCode } from './errors.js'

export { SERVER_ERROR_CODES, type ServerErrorCode }

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
 * An error the server answers with, for a code of the catalogue (`server/errors.ts`).
 *
 * @example
 * throw new HttpProblem('SPOOL_FORBIDDEN', 'a reader key cannot enqueue', { field: 'authorization' })
 */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem'
  readonly status: number
  constructor(
    readonly code: CatalogueCode,
    message: string,
    readonly details: { field?: string; retryAfterSeconds?: number; [key: string]: unknown } = {},
  ) {
    super(message)
    this.status = CATALOGUE[code].status
  }
}

/**
 * What every catalogued error has: `SpoolError`, `HttpProblem`, `AudioError`, `SessionError`,
 * `AiError` — a catalogue code, the message, and details (`field`, facts for the caller,
 * `retryAfterMs` / `retryAfterSeconds` for `Retry-After`); `headers` to send along, where the
 * error carries some.
 */
interface CataloguedError extends Error {
  code: CatalogueCode
  details?: { field?: string; [key: string]: unknown }
  headers?: Record<string, string>
}

function isCataloguedError(error: unknown): error is CataloguedError {
  return error instanceof Error && isCatalogued((error as { code?: unknown }).code)
}

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
  if (isCataloguedError(error)) {
    code = error.code
    status = CATALOGUE[error.code].status
    detail = error.message
    const { retryAfterSeconds, ...rest } = error.details ?? {}
    // Facts only: a detail that is an object or a list is not the caller's to read.
    extra = Object.fromEntries(Object.entries(rest).filter(([, value]) => typeof value !== 'object' || value === null))
    const retryAfterMs = rest.retryAfterMs
    if (typeof retryAfterSeconds === 'number')
      headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)))
    else if (typeof retryAfterMs === 'number')
      headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)))
    // The engine's refusals that waiting cures say so even without a figure.
    else if (error instanceof SpoolError && (status === 503 || status === 429)) headers['retry-after'] = '1'
    if (code === 'SPOOL_UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="spool"'
    Object.assign(headers, (error as CataloguedError).headers)
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
    title: isCatalogued(code) ? CATALOGUE[code].title : 'Error',
    status,
    code,
    detail,
    ...extra,
    instance,
    requestId,
  }
  return { problem, headers }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/**
 * The whole answer for an error: status, body and headers (content type included). On a route
 * with `errorShape: 'openai'` the body also carries OpenAI's `error` object beside the problem.
 *
 * @example
 * const { status, body, headers } = problemAnswer(error, '/v1/audio/transcriptions', request.id, 'openai')
 */
export function problemAnswer(
  error: unknown,
  instance: string,
  requestId: string,
  shape?: 'openai' | 'gemini',
): { status: number; problem: Problem; body: Record<string, unknown>; headers: Record<string, string> } {
  const { problem, headers } = toProblem(error, instance, requestId)
  const body =
    shape === 'openai'
      ? { error: openAiError(problem), ...problem }
      : shape === 'gemini'
        ? {
            error: {
              ...geminiError(problem.status, problem.detail).error,
              reason: problem.code.toLowerCase(),
              field: problem.field ?? null,
            },
            ...problem,
          }
        : problem
  return { status: problem.status, problem, body, headers: { ...headers, 'content-type': PROBLEM_CONTENT_TYPE } }
}

function isFastifyError(error: unknown): error is { code: string; statusCode?: number; message: string } {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
}

/**
 * The first issue of a failed zod parse as the problem to answer with: `SPOOL_UNKNOWN_FIELD` for
 * a field the schema does not take, `SPOOL_INVALID_REQUEST` naming the field otherwise. `prefix`
 * is the path of the parsed value in the request (`['metadata']`), `fallback` the field named
 * when the issue is about the value as a whole, `takes` who refuses an unknown field.
 *
 * @example
 * throw problemOfZodError(parsed.error, { fallback: 'body', location: 'body', takes: 'this route' })
 */
export function problemOfZodError(
  error: z.ZodError,
  options: { prefix?: string[]; fallback: string; location?: string; takes: string },
): HttpProblem {
  const issue = error.issues[0]
  const path = [...(options.prefix ?? []), ...(issue?.path.map(String) ?? [])]
  const where = options.location === undefined ? {} : { location: options.location }
  if (issue?.code === 'unrecognized_keys') {
    const field = [...path, issue.keys[0] ?? ''].join('.')
    return new HttpProblem('SPOOL_UNKNOWN_FIELD', `${field} is not a field ${options.takes} takes`, { field, ...where })
  }
  const field = path.join('.') || options.fallback
  return new HttpProblem('SPOOL_INVALID_REQUEST', `${field}: ${issue?.message ?? 'invalid'}`, { field, ...where })
}
