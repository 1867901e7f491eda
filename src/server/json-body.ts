/**
 * Reading a JSON request body, and refusing one that is too large in a way clients can read.
 *
 * Fastify's own reader answers 413 the moment `Content-Length` is over the limit and closes the
 * connection, while the client is still sending: a client that streams its body (Node's `fetch`
 * with a stream, most HTTP libraries for large uploads) then fails its write with `EPIPE` and
 * never reads the 413. So a body over the limit is read to its end and dropped — up to
 * `DRAIN_BYTES` in all — and only then answered; one declared (or found) larger than that is
 * answered at once, since reading it would cost more than the client's confusion. Bytes past the
 * limit are never kept.
 *
 * An empty body is "no body" (so `POST …/pause` works with or without `{}`), and keys that could
 * pollute prototypes are refused.
 */
import type { FastifyRequest } from 'fastify'
import { HttpProblem } from './problem.js'

/** The most a too-large body is read (and dropped) for, so its sender sees the 413. */
export const DRAIN_BYTES = 64 * 1024 * 1024

type Done = (error: Error | null, body?: unknown) => void

/**
 * A content-type parser for `application/json` with the route's body limit.
 *
 * @example
 * app.addContentTypeParser('application/json', (request, payload, done) =>
 *   readJsonBody(request, payload, 1_200_000, done))
 */
export function readJsonBody(request: FastifyRequest, payload: NodeJS.ReadableStream, limit: number, done: Done): void {
  const declared = Number(request.headers['content-length'])
  const tooLarge = () =>
    new HttpProblem('SPOOL_BODY_TOO_LARGE', `the body is larger than this route accepts (${limit} bytes)`, { limit })
  if (Number.isFinite(declared) && declared > DRAIN_BYTES) {
    done(tooLarge())
    return
  }
  const chunks: Buffer[] = []
  let received = 0
  let over = Number.isFinite(declared) && declared > limit
  let finished = false
  const finish = (error: Error | null, body?: unknown) => {
    if (finished) return
    finished = true
    payload.removeListener('data', onData)
    done(error, body)
  }
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    received += bytes.length
    if (!over && received > limit) {
      over = true
      chunks.length = 0
    }
    if (over) {
      if (received > DRAIN_BYTES) finish(tooLarge())
      return
    }
    chunks.push(bytes)
  }
  payload.on('data', onData)
  payload.on('error', (error) => finish(error as Error))
  payload.on('end', () => {
    if (over) return finish(tooLarge())
    const text = Buffer.concat(chunks).toString('utf8')
    if (text.trim() === '') return finish(null, undefined)
    let body: unknown
    try {
      body = JSON.parse(text, (key, value) => {
        if (key === '__proto__' || key === 'constructor') throw new SyntaxError('forbidden key')
        return value
      })
    } catch {
      return finish(new HttpProblem('SPOOL_INVALID_JSON', 'the body is not valid JSON', { field: 'body' }))
    }
    finish(null, body)
  })
}
