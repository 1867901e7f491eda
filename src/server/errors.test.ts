/**
 * The error catalogue and its one mapper: every code is defined once with its status, title,
 * when and what to do; `toProblem` answers every catalogued error the same way whatever its
 * class; the OpenAI shape is written once; the docs' tables are the catalogue's.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AiError, openAiError } from '../ai/errors.js'
import { AudioError, SessionError } from '../audio/errors.js'
import { SpoolError } from '../engine/errors.js'
import { renderErrorDocs } from './error-docs.js'
import { CATALOGUE, ERROR_AREAS } from './errors.js'
import { HttpProblem, problemAnswer, problemOfZodError, toProblem } from './problem.js'

describe('the error catalogue', () => {
  it('defines every code once, each with a status, title, when and what to do', () => {
    const codes = ERROR_AREAS.flatMap((a) => Object.keys(a.codes))
    expect(new Set(codes).size).toBe(codes.length)
    expect(Object.keys(CATALOGUE)).toHaveLength(codes.length)
    for (const [code, entry] of Object.entries(CATALOGUE)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/)
      expect(entry.status).toBeGreaterThanOrEqual(400)
      expect(entry.title.length, code).toBeGreaterThan(3)
      expect(entry.when.length, code).toBeGreaterThan(10)
      expect(entry.fix.length, code).toBeGreaterThan(5)
    }
    // Once in two catalogues with two titles before; one entry now.
    expect(CATALOGUE.SPOOL_RATE_LIMITED.title).toBe('Too many requests')
  })

  it('maps an error of every area the same way: status, title, code, detail, field, facts', () => {
    const errors = [
      new SpoolError('SPOOL_INVALID_FLOW', 'children must be an array', { field: 'children' }),
      new HttpProblem('SPOOL_UNKNOWN_FIELD', 'x is not a field', { field: 'x' }),
      new AudioError('AUDIO_TRUNCATED', 'cut short', { field: 'file', declaredBytes: 9, nested: { a: 1 } }),
      new SessionError('SESSION_NOT_FOUND', 'no session s1', { field: 'id' }),
      new AiError('AI_MODEL_NOT_FOUND', 'no model x', { field: 'model' }),
    ]
    for (const error of errors) {
      const { problem } = toProblem(error, '/v1/x', 'r1')
      expect(problem).toMatchObject({
        type: `https://spool.dev/problems/${error.code.toLowerCase()}`,
        title: CATALOGUE[error.code].title,
        status: CATALOGUE[error.code].status,
        code: error.code,
        detail: error.message,
        field: error.details.field,
        instance: '/v1/x',
        requestId: 'r1',
      })
    }
    const audio = toProblem(errors[2], '/', '').problem
    expect(audio.declaredBytes).toBe(9)
    expect(audio).not.toHaveProperty('nested')
  })

  it('sets Retry-After from the error, and one second for the engine’s refusals without a figure', () => {
    expect(toProblem(new SpoolError('SPOOL_QUEUE_FULL', 'full'), '/', '').headers['retry-after']).toBe('1')
    const limited = new SpoolError('SPOOL_RATE_LIMITED', 'slow down', { retryAfterMs: 2_500 })
    expect(toProblem(limited, '/', '').headers['retry-after']).toBe('3')
    const http = new HttpProblem('SPOOL_RATE_LIMITED', 'slow down', { retryAfterSeconds: 4 })
    const mapped = toProblem(http, '/', '')
    expect(mapped.headers['retry-after']).toBe('4')
    expect(mapped.problem).not.toHaveProperty('retryAfterSeconds')
    const gone = new AiError('SPOOL_JOB_GONE', 'gone', {}, { 'spool-job-id': '7' })
    expect(toProblem(gone, '/', '').headers['spool-job-id']).toBe('7')
  })

  it('writes OpenAI’s shape once: lower-case code or OpenAI’s own, type from the status or the entry', () => {
    const audio = problemAnswer(
      new AudioError('AUDIO_UNSUPPORTED_TYPE', 'not audio', { field: 'file' }),
      '/',
      '',
      'openai',
    )
    expect(audio.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(audio.body).toMatchObject({
      code: 'AUDIO_UNSUPPORTED_TYPE',
      error: { message: 'not audio', type: 'invalid_request_error', code: 'audio_unsupported_type', param: 'file' },
    })
    expect(problemAnswer(new SpoolError('SPOOL_JOB_NOT_FOUND', 'no job'), '/', '').body).not.toHaveProperty('error')
    const model = openAiError({ status: 404, code: 'AI_MODEL_NOT_FOUND', detail: 'no model', field: 'model' })
    expect(model).toEqual({ message: 'no model', type: 'not_found_error', code: 'model_not_found', param: 'model' })
    expect(openAiError({ status: 504, code: 'SPOOL_WAIT_TIMEOUT', detail: 'late' })).toMatchObject({ type: 'timeout' })
    expect(openAiError({ status: 401, code: 'SPOOL_UNAUTHENTICATED', detail: 'no key' }).type).toBe(
      'authentication_error',
    )
  })

  it('maps a zod failure to the unknown field or the field at fault, under a prefix', () => {
    const schema = z.strictObject({ urgency: z.enum(['low', 'high']) })
    const unknown = schema.safeParse({ urgency: 'low', extra: 1 })
    expect(unknown.success).toBe(false)
    const a = problemOfZodError((unknown as { error: z.ZodError }).error, {
      fallback: 'body',
      location: 'body',
      takes: 'this route',
    })
    expect(a).toMatchObject({
      code: 'SPOOL_UNKNOWN_FIELD',
      message: 'extra is not a field this route takes',
      details: { field: 'extra', location: 'body' },
    })
    const bad = schema.safeParse({ urgency: 'soon' })
    const b = problemOfZodError((bad as { error: z.ZodError }).error, {
      prefix: ['metadata'],
      fallback: 'metadata',
      takes: 'sessions',
    })
    expect(b).toMatchObject({ code: 'SPOOL_INVALID_REQUEST', details: { field: 'metadata.urgency' } })
    expect(b.details).not.toHaveProperty('location')
  })

  it('docs/concepts.md and docs/api.md hold the catalogue’s tables (npm run docs:errors)', () => {
    const root = new URL('../../', import.meta.url)
    for (const [file, text] of renderErrorDocs((f) => readFileSync(new URL(f, root), 'utf8'))) {
      expect(
        readFileSync(new URL(file, root), 'utf8'),
        `${file} drifted from the catalogue: run npm run docs:errors`,
      ).toBe(text)
    }
  })
})
