/**
 * The Fastify app: `buildServer({ spool, config })` wires authentication, tenants, validation,
 * problem+json errors, the audit log, metrics, request ids and redacted JSON logs around the
 * routes declared in `routes/`, and adds SSE, WebSocket, `/docs` and `/openapi.json`.
 *
 * Each request goes: request id → authenticate (401) → permission (403) → tenant (403 to cross
 * without admin) → validate path, query and body (400, unknown fields too) → handler → audit
 * entry (writes, and reads of sensitive data), stored before the answer leaves (`onSend`), so
 * a crash cannot lose the record of a change the caller was told about. Entries that arrive
 * while an audit write is in flight share the next one (src/security/audit.ts).
 */
import { randomUUID } from 'node:crypto'
import fastifyMultipart from '@fastify/multipart'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fastifyWebsocket from '@fastify/websocket'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import pino, { type Logger as PinoLogger } from 'pino'
import type { z } from 'zod'
import type { Spool } from '../engine/spool.js'
import { type AuditEntry, AuditLog } from '../security/audit.js'
import { REDACT_PATHS, redactUrl } from '../security/redact.js'
import { Admission } from './admission.js'
import { Authenticator, authorize, type Principal, resolveTenant } from './auth.js'
import { type ServerConfig, type ServerConfigInput, serverConfig } from './config.js'
import type { ServerContext } from './context.js'
import { Enqueuer } from './enqueuer.js'
import { ServerMetrics } from './metrics.js'
import { openApiDocument } from './openapi.js'
import { HttpProblem, openAiErrorOf, toProblem } from './problem.js'
import { type AnyRoute, Reply, STREAMING } from './route.js'
import { allRoutes } from './routes/index.js'
import { defaultWebRoot, registerWeb } from './web.js'
import { Webhooks } from './webhooks.js'
import { registerWebSocket } from './ws.js'

export interface BuildServerOptions {
  spool: Spool
  config?: ServerConfigInput | ServerConfig
  /** A pino logger; default one writing JSON to stdout at `config.logLevel`. */
  logger?: PinoLogger
  /** The built dashboard to serve at `/` (default: `dist/web` when built; `false`: none). */
  webRoot?: string | false
}

export interface SpoolServer {
  app: FastifyInstance
  context: ServerContext
  config: ServerConfig
  /** Listens on `config.host:config.port` (port 0: any free port); resolves to the base URL. */
  listen(): Promise<string>
  /** The base URL once listening. */
  readonly url: string | null
  /**
   * Graceful stop: readiness turns 503, long polls answer, streams end, in-flight requests
   * finish, the audit log is flushed. Does not close the Spool (its owner does).
   */
  close(): Promise<void>
}

interface RequestState {
  route: AnyRoute
  principal: Principal | null
  tenant: string | null
  target: string | null
  started: bigint
  /** The audit entry is recorded (in onSend; onResponse records the rest, e.g. streams). */
  audited: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    spoolState?: RequestState
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/

/** The pino logger the server uses by default: JSON, redacted, never request bodies. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): PinoLogger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'spool' } }
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options)
}

/**
 * @example
 * const spool = await Spool.open({ store: 'sqlite:./data/spool.db', codec })
 * const server = await buildServer({ spool, config: { port: 7700 } })
 * console.log(await server.listen())
 */
export async function buildServer(options: BuildServerOptions): Promise<SpoolServer> {
  const config = serverConfig(options.config as ServerConfigInput)
  const logger = options.logger ?? createLogger(config.logLevel)
  const { spool } = options
  const closing = new AbortController()
  const metrics = new ServerMetrics(spool)

  const context: ServerContext = {
    spool,
    config,
    auth: new Authenticator(spool, {
      jwt: jwtSettings(config),
      cacheMs: config.auth.keyCacheMs,
      operatorTenant: config.auth.operatorTenant,
    }),
    audit: new AuditLog(spool.records, (error) =>
      logger.error({ err: { message: (error as Error).message } }, 'audit write failed'),
    ),
    enqueuer: new Enqueuer(spool, (size) => metrics.enqueueBatch.observe(size)),
    admission: new Admission(spool, config.limits),
    metrics,
    logger,
    webhooks: config.webhooks.enabled ? new Webhooks(spool, config, logger) : null,
    get closing() {
      return closing.signal.aborted
    },
    closingSignal: closing.signal,
  }

  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit: config.limits.bodyBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 256, ignoreTrailingSlash: true },
  })

  // JSON bodies: an empty body is "no body" (so `POST …/pause` works with or without `{}`),
  // and keys that could pollute prototypes are refused.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    const body = String(text)
    if (body.trim() === '') return done(null, undefined)
    try {
      done(
        null,
        JSON.parse(body, (key, value) => {
          if (key === '__proto__' || key === 'constructor') throw new SyntaxError('forbidden key')
          return value
        }),
      )
    } catch {
      done(new HttpProblem('SPOOL_INVALID_JSON', 'the body is not valid JSON', { field: 'body' }), undefined)
    }
  })

  /** The audit entry of a request, or null when it is not audited. */
  function auditEntry(request: FastifyRequest, status: number): AuditEntry | null {
    const state = request.spoolState
    if (!state?.principal || state.audited) return null
    if (request.method === 'GET' && state.route.auditRead !== true) return null
    state.audited = true
    return {
      at: Date.now(),
      actor: { kind: state.principal.kind, id: state.principal.id, user: state.principal.user },
      tenant: state.tenant ?? state.principal.tenant,
      action: state.route.id,
      target: state.target,
      ip: request.ip,
      outcome: status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : status < 500 ? 'invalid' : 'error',
      status,
      requestId: String(request.id),
    }
  }

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id)
    // Stored before the answer is written; a failed write is logged and the answer still goes
    // out (the change it reports has happened).
    const entry = auditEntry(request, reply.statusCode)
    if (entry) await context.audit.record(entry)
    return payload
  })

  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error))
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new HttpProblem('SPOOL_NOT_FOUND', `no route ${request.method} ${redactUrl(request.url.split('?')[0] ?? '')}`),
    ),
  )

  function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown) {
    const { problem, headers } = toProblem(error, redactUrl(request.url.split('?')[0] ?? ''), String(request.id))
    if (problem.status >= 500) {
      const err = error as { name?: string; message?: string; code?: string; stack?: string }
      request.log.error(
        { err: { name: err?.name, message: err?.message, code: err?.code, stack: err?.stack } },
        'request failed',
      )
    }
    if (request.spoolState?.route.errorShape === 'openai') {
      // OpenAI-compatible routes: the SDKs read the reason from `error`; the problem rides along.
      return reply
        .code(problem.status)
        .headers(headers)
        .type('application/json; charset=utf-8')
        .send({ error: openAiErrorOf(problem), ...problem })
    }
    return reply.code(problem.status).headers(headers).type('application/problem+json; charset=utf-8').send(problem)
  }

  app.addHook('onResponse', async (request, reply) => {
    const state = request.spoolState
    const status = reply.statusCode
    const routeName = state ? state.route.url : 'unmatched'
    const seconds = state ? Number(process.hrtime.bigint() - state.started) / 1e9 : reply.elapsedTime / 1000
    context.metrics.httpRequests.inc({ method: request.method, route: routeName, status: String(status) })
    context.metrics.httpDuration.observe({ method: request.method, route: routeName }, seconds)
    request.log.info(
      {
        method: request.method,
        // The path only: query values (searches, tokens on streams) can be sensitive.
        path: redactUrl(request.url.split('?')[0] ?? ''),
        route: routeName,
        status,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        tenant: state?.tenant ?? undefined,
        actor: state?.principal ? `${state.principal.kind}:${state.principal.id}` : undefined,
      },
      'request',
    )
    // A handler that wrote the raw response itself (a stream) skipped onSend.
    const entry = auditEntry(request, status)
    if (entry) void context.audit.record(entry)
  })

  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } })
  // Multipart bodies (audio uploads) are read as streams by the routes that take them (routes/sessions.ts).
  await app.register(fastifyMultipart, { limits: { files: 1, fields: 16, fieldSize: 64 * 1024, parts: 24 } })

  const document = openApiDocument()
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/openapi.json', async () => document)

  const instance = app as unknown as FastifyInstance
  for (const spec of allRoutes) registerRoute(instance, context, spec)
  registerWebSocket(instance, context)
  const webRoot = options.webRoot ?? defaultWebRoot()
  if (webRoot) registerWeb(instance, webRoot)

  let url: string | null = null
  context.metrics.start()
  await context.webhooks?.start()

  return {
    app: instance,
    context,
    config,
    get url() {
      return url
    },
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port })
      url = address.replace('[::1]', 'localhost')
      return url
    },
    async close() {
      if (!closing.signal.aborted) closing.abort()
      // Let long polls and streams that just ended write their last bytes before sockets close.
      await new Promise((resolve) => setTimeout(resolve, 50))
      await app.close()
      context.metrics.stop()
      await context.webhooks?.stop()
      await context.audit.flush()
    },
  }
}

function jwtSettings(config: ServerConfig) {
  const jwt = config.auth.jwt
  if (!jwt.secret && !jwt.jwksUrl) return undefined
  return jwt
}

function registerRoute(app: FastifyInstance, context: ServerContext, spec: AnyRoute): void {
  app.route({
    method: spec.method,
    url: spec.url,
    ...(spec.bodyLimit !== undefined && { bodyLimit: Math.max(spec.bodyLimit, context.config.limits.bodyBytes) }),
    handler: async (request, reply) => {
      const state: RequestState = {
        route: spec,
        principal: null,
        tenant: null,
        target: null,
        started: process.hrtime.bigint(),
        audited: false,
      }
      request.spoolState = state
      const rawParams = (request.params ?? {}) as Record<string, unknown>
      const rawTarget = rawParams.id ?? rawParams.name ?? rawParams.queue
      if (typeof rawTarget === 'string') state.target = rawTarget.slice(0, 200)
      const rawQuery = (request.query ?? {}) as Record<string, unknown>
      const permission =
        spec.permission === 'metrics' ? (context.config.metrics.public ? 'public' : 'operate') : spec.permission
      let principal: Principal
      if (permission === 'public') {
        principal = { kind: 'key', id: 'anonymous', user: null, tenant: 'default', scopes: [], operator: false }
      } else {
        const header = request.headers.authorization
        const queryToken = spec.stream && typeof rawQuery.access_token === 'string' ? rawQuery.access_token : undefined
        principal = await context.auth.authenticate(header, queryToken)
        state.principal = principal
        state.tenant = principal.tenant
        authorize(principal, permission)
      }
      const askedHeader = request.headers['spool-tenant']
      if (Array.isArray(askedHeader)) {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', 'give Spool-Tenant once', { field: 'spool-tenant' })
      }
      const asked = askedHeader ?? (spec.stream && typeof rawQuery.tenant === 'string' ? rawQuery.tenant : undefined)
      const tenant = permission === 'public' ? 'default' : resolveTenant(principal, asked)
      state.tenant = tenant

      const params = validate(spec.params, request.params, 'path')
      const query = validate(spec.query, request.query, 'query')
      const body = validate(spec.body, request.body, 'body')
      const audit: { target?: string | null } = {}
      const result = await spec.handler({
        params,
        query,
        body,
        principal,
        tenant,
        app: context,
        request,
        reply,
        audit,
      })
      if (audit.target !== undefined) state.target = audit.target
      if (result === STREAMING) return reply
      if (result instanceof Reply) {
        reply.code(result.status).headers(result.headers)
        return result.body === undefined ? reply.send() : reply.send(result.body)
      }
      return reply.code(spec.status ?? 200).send(result)
    },
  })
}

/**
 * Validates one part of the request. No schema means the part must be absent (or, for the
 * query and path, empty): a route that takes no body refuses one.
 */
function validate(schema: z.ZodType | undefined, value: unknown, where: 'path' | 'query' | 'body'): unknown {
  if (!schema) {
    const empty =
      value === undefined || value === null || (typeof value === 'object' && Object.keys(value as object).length === 0)
    if (!empty) {
      const key = where === 'body' ? 'body' : Object.keys(value as object)[0]
      throw new HttpProblem(
        'SPOOL_UNKNOWN_FIELD',
        `this route takes no ${where === 'path' ? 'path parameters' : where} (${key})`,
        {
          field: key ?? where,
          location: where,
        },
      )
    }
    return undefined
  }
  const parsed = schema.safeParse(where === 'query' || where === 'path' ? { ...(value as object) } : value)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0] as z.core.$ZodIssue
  const path = issue.path.map(String)
  if (issue.code === 'unrecognized_keys') {
    const field = [...path, issue.keys[0] ?? ''].join('.')
    throw new HttpProblem('SPOOL_UNKNOWN_FIELD', `${field} is not a field this route takes`, { field, location: where })
  }
  const field = path.join('.') || where
  throw new HttpProblem('SPOOL_INVALID_REQUEST', `${field}: ${issue.message}`, { field, location: where })
}
