/**
 * The error catalogue: every code the server answers with, grouped by area. Each area defines
 * its codes once, in its own layer (the engine's in `engine/errors.ts`, the audio pipeline's and
 * the sessions service's in `audio/errors.ts`, the AI gateway's in `ai/errors.ts`); the codes
 * only HTTP has are defined here. `toProblem` (problem.ts) maps any of them, and
 * `npm run docs:errors` writes the tables in docs/concepts.md and docs/api.md from this file.
 */
import { AI_ERROR_CODES } from '../ai/errors.js'
import { AUDIO_ERROR_CODES, SESSION_ERROR_CODES } from '../audio/errors.js'
import { ERROR_CODES, type ErrorEntry } from '../engine/errors.js'

export const SERVER_ERROR_CODES = {
  SPOOL_INVALID_REQUEST: {
    status: 400,
    title: 'The request is invalid',
    when: 'A value in the path, query, headers or body is wrong (`field` names it, `location` says where).',
    fix: 'Correct the value named by `field`.',
  },
  SPOOL_INVALID_URL: {
    status: 400,
    title: 'The URL is not valid',
    when: 'The path has a malformed percent-encoding, such as `%zz` or a cut-off UTF-8 sequence (`field` is `path`).',
    fix: 'Percent-encode the path correctly.',
  },
  SPOOL_MALFORMED_HTTP: {
    status: 400,
    title: 'The request is not valid HTTP',
    when: "The request is not valid HTTP/1.1 — a bare LF or a NUL in a header, `Content-Length` twice (`parserCode` names Node's parser error; no `instance`; the connection is closed).",
    fix: 'Fix the client or proxy that sent it.',
  },
  SPOOL_INVALID_JSON: {
    status: 400,
    title: 'The body is not valid JSON',
    when: 'The body (or a WebSocket message, or `metadata`) does not parse as JSON.',
    fix: 'Send valid JSON.',
  },
  SPOOL_UNKNOWN_FIELD: {
    status: 400,
    title: 'The request has a field this route does not take',
    when: 'A field, query parameter or body this route does not take: every object is strict.',
    fix: 'Remove the field named by `field`; check its spelling.',
  },
  SPOOL_UNAUTHENTICATED: {
    status: 401,
    title: 'Authentication is required',
    when: 'No credential, an unknown or revoked key, a bad or expired token, or a `?access_token=` on a route that is not a stream (`WWW-Authenticate: Bearer`).',
    fix: 'Send a valid `Authorization: Bearer` key or token.',
  },
  SPOOL_FORBIDDEN: {
    status: 403,
    title: 'This credential may not do that',
    when: "The credential's scopes do not allow the route.",
    fix: 'Use a key with the needed scope.',
  },
  SPOOL_TENANT_FORBIDDEN: {
    status: 403,
    title: 'This credential may not act in that tenant',
    when: 'A non-admin credential named another tenant.',
    fix: 'Act in your own tenant, or use an admin key.',
  },
  SPOOL_NOT_FOUND: {
    status: 404,
    title: 'Not found',
    when: 'No such route, or no such resource in this tenant.',
    fix: 'Check the method and path.',
  },
  SPOOL_METHOD_NOT_ALLOWED: {
    status: 405,
    title: 'Method not allowed',
    when: 'The route does not take this method.',
    fix: 'Use a method the route takes.',
  },
  SPOOL_REQUEST_TIMEOUT: {
    status: 408,
    title: 'The request did not arrive in time',
    when: "The request did not arrive within Node's request timeout; the connection is closed.",
    fix: 'Send the request faster, or in smaller parts.',
  },
  SPOOL_CONFLICT: {
    status: 409,
    title: 'The resource is not in a state that allows this',
    when: "The resource's state does not allow the action.",
    fix: 'Read the resource and act on its current state.',
  },
  SPOOL_BODY_TOO_LARGE: {
    status: 413,
    title: 'The body is too large',
    when: "The body is over the route's limit (1.2 MB, bulk 16 MiB; `limit` says how much). A body up to 64 MiB is read to its end and dropped before the answer; a larger one is answered at once and the connection closed.",
    fix: 'Send less per request.',
  },
  SPOOL_URI_TOO_LONG: {
    status: 414,
    title: 'A path segment is too long',
    when: 'A path segment is over 256 characters.',
    fix: 'Shorten the segment.',
  },
  SPOOL_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'The body must be application/json',
    when: "The body's content type is not one the route takes (`field` is `content-type`).",
    fix: 'Send `application/json` (multipart/form-data for uploads).',
  },
  SPOOL_HEADERS_TOO_LARGE: {
    status: 431,
    title: 'The request headers are too large',
    when: "The headers are over Node's 16 KiB; the connection is closed.",
    fix: 'Send smaller headers.',
  },
  SPOOL_UNAVAILABLE: {
    status: 503,
    title: 'The server is not ready',
    when: 'The server is starting, stopping, or its store does not answer (`Retry-After`).',
    fix: 'Retry after `Retry-After`.',
  },
  SPOOL_INTERNAL: {
    status: 500,
    title: 'Internal error',
    when: 'The server failed to handle the request.',
    fix: 'Report it with the `requestId`; the server logged it under that id.',
  },
} as const satisfies Record<string, ErrorEntry>

export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES

/** The areas, in the order the docs list them. */
export const ERROR_AREAS = [
  { area: 'engine', title: 'Queue engine (`SpoolError`, also thrown by the library)', codes: ERROR_CODES },
  { area: 'http', title: 'HTTP', codes: SERVER_ERROR_CODES },
  { area: 'audio', title: 'Audio uploads and engines (`AudioError`)', codes: AUDIO_ERROR_CODES },
  { area: 'sessions', title: 'Audio sessions (`SessionError`)', codes: SESSION_ERROR_CODES },
  { area: 'ai', title: 'AI gateway (`AiError`)', codes: AI_ERROR_CODES },
] as const

export type CatalogueCode =
  | keyof typeof ERROR_CODES
  | ServerErrorCode
  | keyof typeof AUDIO_ERROR_CODES
  | keyof typeof SESSION_ERROR_CODES
  | keyof typeof AI_ERROR_CODES

/** Every code, once: composing two areas that define the same code is an error at load. */
export const CATALOGUE: Readonly<Record<CatalogueCode, ErrorEntry>> = (() => {
  const all: Record<string, ErrorEntry> = {}
  for (const { area, codes } of ERROR_AREAS) {
    for (const [code, entry] of Object.entries(codes)) {
      if (code in all) throw new Error(`error code ${code} is defined twice (again in ${area})`)
      all[code] = entry
    }
  }
  return all as Record<CatalogueCode, ErrorEntry>
})()

/** True when `code` is in the catalogue. */
export function isCatalogued(code: unknown): code is CatalogueCode {
  return typeof code === 'string' && Object.hasOwn(CATALOGUE, code)
}
