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
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
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
import { isCatalogued } from './errors.js'
import { readJsonBody } from './json-body.js'
import { ServerMetrics } from './metrics.js'
import { openApiDocument } from './openapi.js'
import { HttpProblem, problemAnswer, problemOfZodError, toProblem } from './problem.js'
import { type AnyRoute, Reply, STREAMING } from './route.js'
import { allRoutes } from './routes/index.js'
import { defaultWebRoot, MAX_PATH_SEGMENT, registerWeb } from './web.js'
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
   * Graceful stop: readiness turns 503, long polls answer (no more leases are granted), streams
   * end; jobs HTTP workers leased from this process get `graceMs` (default `graceSeconds`) to be
   * reported — their heartbeats, progress and results are still taken — and are then handed
   * back to their queue with the attempt refunded; in-flight requests finish, the audit log is
   * flushed. Does not close the Spool (its owner does: `spool.drain()` alongside this stops its
   * in-process workers within the same grace period).
   */
  close(options?: { graceMs?: number }): Promise<void>
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
/** How long close() lets requests in flight finish before it cuts their connections. */
const IN_FLIGHT_GRACE_MS = 5_000
/** The routes browsers reach without headers (EventSource, WebSocket): the only ones taking `?access_token=`. */
const QUERY_TOKEN_ROUTES = 'GET /v1/events/stream, GET /v1/sessions/:id/events and GET /v1/ws'

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
  const metrics = new ServerMetrics(spool, Object.keys(config.providers))

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
    // Idle keep-alive sockets close at once; a request in flight (a worker's last result, sent
    // as the grace period ended) finishes first — close() cuts any left after a few seconds.
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT, ignoreTrailingSlash: true },
    // Errors the router meets before any route runs (a malformed percent-encoding, an overlong
    // path segment), and requests Node's HTTP parser refuses, answer problem+json like the rest.
    frameworkErrors: (error, request, reply) => sendProblem(request, reply, error),
    clientErrorHandler: (error, socket) => answerClientError(error, socket, logger),
  })

  // JSON bodies, read to the route's limit (a larger one is drained first, so its sender can
  // read the 413: json-body.ts).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', (request, payload, done) =>
    readJsonBody(request, payload, request.routeOptions.bodyLimit ?? config.limits.bodyBytes, done),
  )

  /** The audit entry of a request, or null when it is not audited. */
  function auditEntry(request: FastifyRequest, status: number): AuditEntry | null {
    const state = request.spoolState
    if (!state?.principal || state.audited) return null
    const read = request.method === 'GET'
    if (read && state.route.auditRead !== true) return null
    state.audited = true
    const entry: AuditEntry = {
      at: Date.now(),
      actor: { kind: state.principal.kind, id: state.principal.id, user: state.principal.user },
      tenant: state.tenant ?? state.principal.tenant,
      action: (read && state.route.auditAs) || state.route.id,
      target: state.target,
      ip: request.ip,
      outcome: status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : status < 500 ? 'invalid' : 'error',
      status,
      requestId: String(request.id),
    }
    // A read is one entry per user action: the same actor reading the same thing again within
    // the window (a page's other requests, its refreshes) is not recorded again.
    if (read && context.audit.readSeen(entry)) return null
    return entry
  }

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id)
    // While stopping, no connection is kept for another request: the server is going away.
    if (closing.signal.aborted) reply.header('connection', 'close')
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
    const { problem, body, headers } = problemAnswer(
      error,
      redactUrl(request.url.split('?')[0] ?? ''),
      String(request.id),
      request.spoolState?.route.errorShape,
    )
    if (problem.status >= 500) {
      if (isCatalogued((error as { code?: unknown } | null)?.code)) {
        // A deliberate answer (shutting down, a full queue, a store that does not answer), not
        // a fault in the server: its code says it all, and a stack would only alarm.
        const fields = { code: problem.code, detail: problem.detail }
        if (closing.signal.aborted && problem.code === 'SPOOL_UNAVAILABLE')
          request.log.info(fields, 'refused while stopping')
        else request.log.warn(fields, 'request refused')
      } else {
        const err = error as { name?: string; message?: string; code?: string; stack?: string }
        request.log.error(
          { err: { name: err?.name, message: err?.message, code: err?.code, stack: err?.stack } },
          'request failed',
        )
      }
    }
    // Set here too: an error the router answers (frameworkErrors) skips the onSend hook.
    reply.header('x-request-id', request.id)
    return reply.code(problem.status).headers(headers).send(body)
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
    async close(closeOptions: { graceMs?: number } = {}) {
      if (!closing.signal.aborted) closing.abort()
      // No lease is granted from the moment readiness turns 503; the server keeps answering while
      // the jobs HTTP workers hold finish or are handed back.
      const drained = spool.leases.drain(closeOptions.graceMs ?? config.graceSeconds * 1000)
      // Let long polls and streams that just ended write their last bytes before sockets close.
      await new Promise((resolve) => setTimeout(resolve, 50))
      await drained
      const cut = setTimeout(() => app.server.closeAllConnections(), IN_FLIGHT_GRACE_MS)
      await app.close()
      clearTimeout(cut)
      context.metrics.stop()
      await context.webhooks?.stop()
      await context.audit.flush()
    },
  }
}

/** What Node's HTTP parser's error codes mean, in a client's words. */
const PARSER_ERRORS: Record<string, string> = {
  HPE_INVALID_HEADER_TOKEN:
    'a header has a character HTTP does not allow in it (a bare LF, a NUL, another control character)',
  HPE_LF_EXPECTED: 'a line ends in a bare CR or LF; HTTP lines end in CRLF',
  HPE_CR_EXPECTED: 'a line ends in a bare CR or LF; HTTP lines end in CRLF',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length is given twice, or beside Transfer-Encoding',
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length is not one number',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding is not valid',
  HPE_INVALID_CHUNK_SIZE: 'a chunk of the body has no valid size',
  HPE_INVALID_METHOD: 'the method is not an HTTP method',
  HPE_INVALID_URL: 'the request target is not a valid URL',
  HPE_INVALID_VERSION: 'the HTTP version is not valid',
}

/**
 * A request Node's HTTP parser refused never reaches Fastify: answer it here, as problem+json
 * (no instance: the path was not read), and close the connection, whose framing is lost.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex, logger: PinoLogger): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const parserCode = error.code ?? 'HPE_UNKNOWN'
  const refusal =
    parserCode === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new HttpProblem('SPOOL_REQUEST_TIMEOUT', 'the request did not arrive in time')
      : parserCode === 'HPE_HEADER_OVERFLOW'
        ? new HttpProblem('SPOOL_HEADERS_TOO_LARGE', 'the request headers are larger than this server accepts', {
            field: 'headers',
          })
        : new HttpProblem('SPOOL_MALFORMED_HTTP', PARSER_ERRORS[parserCode] ?? 'the request is not valid HTTP/1.1', {
            parserCode,
          })
  const requestId = randomUUID()
  const { problem } = toProblem(refusal, '', requestId)
  delete problem.instance
  const body = JSON.stringify(problem)
  logger.debug({ reqId: requestId, parserCode, status: problem.status }, 'malformed request refused')
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
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
      // @fastify/multipart parses any route's multipart body as "none" for its handler to read:
      // on a JSON route that is the wrong media type, not a missing body.
      if (!spec.multipart && request.isMultipart()) {
        throw new HttpProblem(
          'SPOOL_UNSUPPORTED_MEDIA_TYPE',
          'this route takes application/json; multipart/form-data is for uploads (POST /v1/sessions, POST /v1/audio/transcriptions)',
          { field: 'content-type' },
        )
      }
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
        const googKey = request.headers['x-goog-api-key']
        const header =
          request.headers.authorization ??
          (spec.errorShape === 'gemini' && typeof googKey === 'string' ? `Bearer ${googKey}` : undefined)
        const queryToken = spec.stream && typeof rawQuery.access_token === 'string' ? rawQuery.access_token : undefined
        if (header === undefined && !spec.stream && rawQuery.access_token !== undefined) {
          throw new HttpProblem(
            'SPOOL_UNAUTHENTICATED',
            `?access_token= is accepted only on the stream routes (${QUERY_TOKEN_ROUTES}); send the credential here as "Authorization: Bearer …"`,
            { field: 'access_token', location: 'query' },
          )
        }
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
  throw problemOfZodError(parsed.error, { fallback: where, location: where, takes: 'this route' })
}
