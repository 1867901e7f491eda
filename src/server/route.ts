/**
 * One route = one declaration: method, path, who may call it, zod schemas for path, query and
 * body, the success response, and a handler. `registerRoutes` turns the list into Fastify
 * routes (authentication, tenant, validation, audit) and `openApiDocument` into OpenAPI 3.1, so
 * the validation and the documentation cannot drift apart.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import type { Permission, Principal } from './auth.js'
import type { ServerContext } from './context.js'

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface RouteContext<P, Q, B> {
  params: P
  query: Q
  body: B
  principal: Principal
  /** The tenant this request acts in (the caller's, or the one an admin named). */
  tenant: string
  app: ServerContext
  request: FastifyRequest
  reply: FastifyReply
  /** Set what the audit entry names as the target (defaults to the `id` or `name` path parameter). */
  audit: { target?: string | null }
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  /** operationId in OpenAPI, and the audit action. */
  id: string
  method: Method
  /** Fastify path, e.g. `/v1/jobs/:id`. */
  url: string
  tag: string
  summary: string
  description?: string
  permission: Permission
  params?: z.ZodType<P>
  query?: z.ZodType<Q>
  body?: z.ZodType<B>
  /** Schema of the success response body (omit for streams and 204). */
  response?: z.ZodType
  /** Success status (default 200). */
  status?: number
  /** Other statuses the route answers with besides the common ones, for the documentation. */
  errors?: number[]
  /** `text/event-stream` instead of JSON. */
  stream?: boolean
  /** A file to download instead of JSON: its media types, for the documentation. */
  download?: string[]
  /**
   * Record reads of this route in the audit log (writes are always recorded), once per actor
   * and target in a window (src/security/audit.ts).
   */
  auditRead?: boolean
  /**
   * The action a read is recorded as, when the route shows part of something another route
   * shows (a job's history is part of viewing the job: `jobs.get`), so one view is one entry.
   */
  auditAs?: string
  /** Takes `multipart/form-data` (an upload the handler reads) instead of JSON; elsewhere it is 415. */
  multipart?: boolean
  /** Route-specific body limit in bytes. */
  bodyLimit?: number
  /**
   * The error answers' shape beside the problem's fields (problem+json, like every route's):
   * `openai` adds `error: { message, type, code, param }`, what OpenAI's SDKs read (`openAiError`
   * in `ai/errors.ts`); `gemini` adds `error: { code, message, status }`, Gemini's, and lets the
   * credential come as `x-goog-api-key`, as `@google/genai` sends it.
   */
  errorShape?: 'openai' | 'gemini'
  handler(ctx: RouteContext<P, Q, B>): Promise<unknown>
}

// biome-ignore lint/suspicious/noExplicitAny: a list holds routes of every shape
export type AnyRoute = RouteSpec<any, any, any>

/**
 * Declares a route with its types inferred from its schemas.
 *
 * @example
 * route({ id: 'jobs.get', method: 'GET', url: '/v1/jobs/:id', tag: 'jobs', summary: 'A job',
 *   permission: 'read', params: z.strictObject({ id: jobId }), response: job,
 *   handler: async ({ params, app, tenant }) => app.jobs.getInTenant(params.id, tenant) })
 */
export function route<P = undefined, Q = undefined, B = undefined>(spec: RouteSpec<P, Q, B>): AnyRoute {
  return spec as AnyRoute
}

/** `{ status, body, headers }` from a handler: answer with this status (and headers) instead of the default. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** Marker a streaming handler returns once it has taken over the raw response. */
export const STREAMING = Symbol('streaming')
