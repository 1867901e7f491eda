/**
 * WebSocket at `/v1/ws`: many event subscriptions over one connection.
 *
 * Authenticate like any route (`Authorization` header, or `?access_token=` for browsers; an
 * admin may add `?tenant=`); the connection then acts in that tenant only. Messages are JSON:
 *
 *   → { "type": "subscribe", "id": "s1", "queue"?: "emails", "jobId"?: "42", "afterId"?: 1200 }
 *   ← { "type": "subscribed", "id": "s1" }
 *   ← { "type": "event", "id": "s1", "event": { "id": 1201, "type": "job.completed", … } }
 *   → { "type": "subscribe", "id": "s2", "session": "<session id>", "afterId"?: 1200 }
 *   ← { "type": "subscribed", "id": "s2" }
 *   ← { "type": "session", "id": "s2", "eventId": 1207, "session": { "status": "transcribing", "progress": 41, … } }
 *   → { "type": "unsubscribe", "id": "s1" }      ← { "type": "unsubscribed", "id": "s1" }
 *   → { "type": "ping" }                         ← { "type": "pong" }
 *   ← { "type": "error", "code": "SPOOL_INVALID_REQUEST", "detail": "…", "field"?: "…", "id"?: "s1" }
 *
 * An error carries the `id` of the message it answers whenever that message named one (1–64
 * characters), also when the message failed validation; a field the message type does not take
 * is `SPOOL_UNKNOWN_FIELD`, as over HTTP.

 *
 * A `session` subscription carries what `GET /v1/sessions/:id/events` does (status, stage,
 * progress, ETA; no results or patient details): a frame at once and one per change, `eventId`
 * being the engine event that caused it (pass it as `afterId` to resume). A session of another
 * tenant is `SESSION_NOT_FOUND`, as over HTTP.
 *
 * The server also sends WebSocket pings every `streams.pingMs` and drops a connection that did
 * not answer the previous one.
 */
import type { FastifyInstance } from 'fastify'
import type { WebSocket } from 'ws'
import { z } from 'zod'
import { SessionError } from '../audio/errors.js'
import { SpoolError } from '../engine/errors.js'
import { allows, type Principal, resolveTenant } from './auth.js'
import type { ServerContext } from './context.js'
import { HttpProblem, problemOfZodError, toProblem } from './problem.js'
import { progressFrame, sessionId, sessionService } from './routes/sessions.js'
import * as s from './schemas.js'

const MAX_SUBSCRIPTIONS = 100

const message = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('subscribe'),
    id: z.string().min(1).max(64),
    queue: s.queueName.optional(),
    jobId: s.jobId.optional(),
    session: sessionId.optional(),
    afterId: z.number().int().min(0).optional(),
  }),
  z.strictObject({ type: z.literal('unsubscribe'), id: z.string().min(1).max(64) }),
  z.strictObject({ type: z.literal('ping') }),
])

export function registerWebSocket(app: FastifyInstance, context: ServerContext): void {
  app.register(async (scope) => {
    scope.addHook('preValidation', async (request) => {
      const query = (request.query ?? {}) as Record<string, unknown>
      const principal = await context.auth.authenticate(
        request.headers.authorization,
        typeof query.access_token === 'string' ? query.access_token : undefined,
      )
      if (!allows(principal.scopes, 'read'))
        throw new HttpProblem('SPOOL_FORBIDDEN', 'reading events needs the read permission')
      const asked =
        typeof query.tenant === 'string' ? query.tenant : (request.headers['spool-tenant'] as string | undefined)
      ;(request as unknown as { wsAuth: { principal: Principal; tenant: string } }).wsAuth = {
        principal,
        tenant: resolveTenant(principal, asked),
      }
    })
    scope.get('/v1/ws', { websocket: true }, (socket, request) => {
      const { tenant } = (request as unknown as { wsAuth: { tenant: string } }).wsAuth
      serve(socket, context, tenant)
    })
  })
}

function serve(socket: WebSocket, context: ServerContext, tenant: string): void {
  const subscriptions = new Map<string, { close(): void }>()
  context.metrics.streamsOpen.inc({ kind: 'ws' })
  const send = (value: unknown) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(value))
  }
  const fail = (error: unknown, id?: string) => {
    const { problem } = toProblem(error, '/v1/ws', '')
    send({
      type: 'error',
      code: problem.code,
      detail: problem.detail,
      ...(problem.field !== undefined && { field: problem.field }),
      ...(id !== undefined && { id }),
    })
  }
  let alive = true
  socket.on('pong', () => {
    alive = true
  })
  const pinger = setInterval(() => {
    if (!alive) {
      socket.terminate()
      return
    }
    alive = false
    socket.ping()
  }, context.config.streams.pingMs)
  pinger.unref()

  socket.on('message', async (raw) => {
    let value: unknown
    try {
      value = JSON.parse(String(raw))
    } catch {
      return fail(new HttpProblem('SPOOL_INVALID_JSON', 'a message must be JSON'))
    }
    const result = message.safeParse(value)
    if (!result.success) {
      const problem = problemOfZodError(result.error, { fallback: 'message', takes: 'this message' })
      // The error names the subscription the message was about, when it named a usable one.
      const id = (value as { id?: unknown } | null)?.id
      return fail(problem, typeof id === 'string' && id.length >= 1 && id.length <= 64 ? id : undefined)
    }
    const parsed = result.data
    try {
      if (parsed.type === 'ping') return send({ type: 'pong' })
      if (parsed.type === 'unsubscribe') {
        subscriptions.get(parsed.id)?.close()
        subscriptions.delete(parsed.id)
        return send({ type: 'unsubscribed', id: parsed.id })
      }
      if (subscriptions.has(parsed.id)) {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', `subscription ${parsed.id} exists`, { field: 'id' })
      }
      if (subscriptions.size >= MAX_SUBSCRIPTIONS) {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', `at most ${MAX_SUBSCRIPTIONS} subscriptions per connection`)
      }
      if (parsed.session !== undefined) {
        if (parsed.queue !== undefined || parsed.jobId !== undefined) {
          throw new HttpProblem('SPOOL_INVALID_REQUEST', 'a session subscription takes no queue or jobId', {
            field: 'session',
          })
        }
        return await subscribeSession(parsed.id, parsed.session, parsed.afterId)
      }
      if (parsed.jobId !== undefined) {
        const job = await context.spool.jobs.get(parsed.jobId)
        if (!job || job.tenant !== tenant)
          throw new SpoolError('SPOOL_JOB_NOT_FOUND', `no job ${parsed.jobId}`, { field: 'jobId' })
      }
      const id = parsed.id
      const subscription = context.spool.events.subscribe(
        {
          tenant,
          ...(parsed.queue !== undefined && { queue: parsed.queue }),
          ...(parsed.jobId !== undefined && { jobId: parsed.jobId }),
          ...(parsed.afterId !== undefined && { afterId: parsed.afterId }),
        },
        (event) => send({ type: 'event', id, event }),
      )
      subscriptions.set(id, subscription)
      send({ type: 'subscribed', id })
    } catch (error) {
      fail(error, parsed.type === 'subscribe' ? parsed.id : undefined)
    }
  })

  /** Checks the session is this tenant's (SESSION_NOT_FOUND otherwise), then follows it. */
  const subscribeSession = async (id: string, session: string, afterId: number | undefined) => {
    const sessions = sessionService(context)
    await sessions.record(session, tenant)
    // The socket may have closed, or the id been taken, while the record was read.
    if (socket.readyState !== socket.OPEN) return
    if (subscriptions.has(id)) {
      throw new HttpProblem('SPOOL_INVALID_REQUEST', `subscription ${id} exists`, { field: 'id' })
    }
    const watch = sessions.watch(
      session,
      tenant,
      { ...(afterId !== undefined && { afterId }) },
      (view, eventId) => send({ type: 'session', id, eventId, session: progressFrame(view) }),
      (error) => {
        if (subscriptions.get(id) !== watch) return
        subscriptions.delete(id)
        watch.close()
        fail(error instanceof SessionError ? error : new Error('the session could not be read'), id)
      },
    )
    subscriptions.set(id, watch)
    send({ type: 'subscribed', id })
  }

  const end = () => {
    clearInterval(pinger)
    for (const subscription of subscriptions.values()) subscription.close()
    subscriptions.clear()
    context.closingSignal.removeEventListener('abort', onClosing)
    context.metrics.streamsOpen.dec({ kind: 'ws' })
  }
  const onClosing = () => socket.close(1001, 'server shutting down')
  context.closingSignal.addEventListener('abort', onClosing)
  socket.once('close', end)
}
