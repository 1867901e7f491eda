/**
 * Gemini's native routes on the gateway (docs/ai-gateway.md): `POST
 * /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`. An app keeps its
 * `@google/genai` SDK, points `httpOptions.baseUrl` at Spool and gives a Spool API key as its
 * `apiKey` (sent as `x-goog-api-key`). The request is routed by model to a provider of kind
 * `gemini` and answered as the OpenAI-compatible routes are (sync, `Prefer: respond-async`, a
 * stream), with Gemini's framing and error shape: `{"error":{"code","message","status"}}`.
 */
import { z } from 'zod'
import { geminiError } from '../../ai/gemini.js'
import { Reply, route } from '../route.js'
import * as s from '../schemas.js'
import { type ServeContext, serve } from './ai.js'

const CALL = /^([A-Za-z0-9][A-Za-z0-9._-]{0,255}):(generateContent|streamGenerateContent)$/

const part = z.looseObject({})
const content = z.looseObject({ role: z.string().max(64).optional(), parts: z.array(part).min(1) })

const generateBody = z.looseObject({
  contents: z.array(content).min(1),
  systemInstruction: z.looseObject({ parts: z.array(part) }).optional(),
  generationConfig: z
    .looseObject({
      maxOutputTokens: z.number().int().positive().optional(),
      candidateCount: z.number().int().min(1).max(8).optional(),
    })
    .optional(),
  priority: s.priority.optional().describe('Spool: the request’s priority (or `Spool-Priority`)'),
})

export const aiGeminiRoutes = [
  route({
    id: 'ai.geminiGenerateContent',
    method: 'POST',
    url: '/v1beta/models/:call',
    tag: 'ai',
    summary: 'Gemini generateContent / streamGenerateContent, queued on its provider',
    description:
      'Gemini’s native request as it is, at `/v1beta/models/{model}:generateContent` (JSON) or `:streamGenerateContent?alt=sse` (SSE, Gemini’s framing), routed by model to a provider of kind `gemini`. The Spool API key goes in `x-goog-api-key` (as `@google/genai` sends it) or `Authorization: Bearer`. Sync by default; `Prefer: respond-async`, `Prefer: wait=N`, `Spool-Priority` and `Idempotency-Key` as on /v1/chat/completions. Errors in Gemini’s shape `{"error":{"code","message","status"}}`.',
    permission: 'produce',
    params: z.strictObject({
      call: z.string().max(300).describe('`{model}:generateContent` or `{model}:streamGenerateContent`'),
    }),
    query: z.strictObject({ alt: z.enum(['sse', 'json']).optional() }),
    body: generateBody,
    errors: [202, 404, 409, 429, 502, 504],
    bodyLimit: 16 * 1024 * 1024,
    errorShape: 'gemini',
    async handler(ctx) {
      const match = CALL.exec(ctx.params.call.replace(/^models\//, ''))
      if (!match) {
        return new Reply(
          404,
          geminiError(404, 'the path must be /v1beta/models/{model}:generateContent or :streamGenerateContent'),
        )
      }
      const [, model, method] = match as unknown as [string, string, string]
      const stream = method === 'streamGenerateContent'
      if (stream && ctx.query.alt !== 'sse') {
        return new Reply(400, {
          error: {
            ...geminiError(400, 'streamGenerateContent is served as SSE only: add ?alt=sse').error,
            field: 'alt',
          },
        })
      }
      const body = { ...ctx.body, model, stream } as ServeContext['body']
      return serve({ ...ctx, body } as ServeContext, 'gemini', 'gemini')
    },
  }),
]
