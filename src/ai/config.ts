/**
 * The gateway's settings: `providers` (upstream APIs and the models each serves) and `gateway`
 * (how long a request may wait, retries, streams), validated with zod so a typo fails the start
 * with the setting named. An API key is never in the file: `apiKeyEnv` names the environment
 * variable that holds it, read once at start and kept out of logs, jobs and answers.
 */
import { z } from 'zod'

const positive = z.number().int().positive()
export const PROVIDER_NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/

export const providerSchema = z.strictObject({
  /** `openai`: any OpenAI-compatible API (OpenAI, Azure OpenAI, Groq, Together, vLLM, Ollama, Gemini's compatible endpoint…); `gemini`: Gemini's native API. */
  kind: z.enum(['openai', 'gemini']),
  /** The API's base URL including its version path, e.g. `https://api.openai.com/v1` (`gemini`: `https://generativelanguage.googleapis.com/v1beta`). */
  baseUrl: z.url({ protocol: /^https?$/ }),
  /** The environment variable holding the API key (sent as `Authorization: Bearer …`, for `gemini` as `x-goog-api-key`); none for keyless local servers. */
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
    .optional(),
  /** Model names this provider serves, as clients send them. */
  models: z.array(z.string().min(1).max(256)).min(1),
  /** Upstream requests started per minute, across every node (the queue's rate limit). */
  rpm: positive.optional(),
  /** Tokens per minute, across every node: estimated prompt tokens + `max_tokens` reserved per request. */
  tpm: positive.optional(),
  /** Upstream requests in flight at once, across every node. */
  concurrency: positive.optional(),
  /** The circuit breaker in front of the provider (defaults: 5 failures in a row, 30 s cool-down). */
  breaker: z
    .strictObject({
      failureThreshold: positive.optional(),
      cooldownMs: positive.optional(),
      halfOpenProbes: positive.optional(),
      successThreshold: positive.optional(),
    })
    .optional(),
  /** Providers to send a request to instead while this one's breaker is open (they must serve the model). */
  fallbacks: z.array(z.string().regex(PROVIDER_NAME)).max(8).optional(),
  /** The longest one upstream call may take, in ms (a timeout is retried and counts toward the breaker). */
  timeoutMs: positive.max(600_000).default(120_000),
  /** Attempts that fail (5xx, timeouts, dropped connections) before a request fails; 429s are not counted. */
  maxAttempts: z.number().int().min(1).max(100).default(5),
  /** `max_tokens` assumed for the TPM reservation when a request gives none. */
  defaultMaxTokens: positive.default(1_024),
  /** Per-model prices in USD per 1M tokens, for the dashboard's cost estimate (e.g. `{"gpt-4o-mini": {"input": 0.15, "output": 0.6}}`). */
  prices: z
    .record(z.string().min(1).max(256), z.strictObject({ input: z.number().min(0), output: z.number().min(0) }))
    .optional(),
})

export const providersSchema = z
  .record(z.string().regex(PROVIDER_NAME, 'a provider name is lowercase letters, digits, "_" or "-"'), providerSchema)
  .default({})
  .superRefine((providers, ctx) => {
    for (const [name, provider] of Object.entries(providers)) {
      for (const [i, fallback] of (provider.fallbacks ?? []).entries()) {
        if (fallback === name || !(fallback in providers)) {
          ctx.addIssue({
            code: 'custom',
            message: fallback === name ? 'a provider cannot fall back to itself' : `no provider named ${fallback}`,
            path: [name, 'fallbacks', i],
          })
        }
      }
    }
  })

export const gatewaySchema = z
  .strictObject({
    /** The longest a synchronous request waits for its answer before 504 (the job goes on). */
    maxWaitSeconds: positive.max(3_600).default(600),
    /** A request not answered within this long fails (`spool_request_expired`) instead of waiting on. */
    requestTtlSeconds: positive.max(7 * 86_400).default(3_600),
    /** A stream's headers wait this long for the first upstream byte; after it, queue notices flow as SSE comments. */
    streamHoldMs: z.number().int().min(0).max(60_000).default(2_000),
    /** How often a queued stream gets `: spool queued position=N eta_ms=M`. */
    queuedNoticeMs: positive.max(60_000).default(1_000),
    /** Requests one node sends to one provider at once. */
    workerConcurrency: positive.max(1_000).default(32),
  })
  .prefault({})

export type ProviderConfig = z.infer<typeof providerSchema>
export type ProvidersConfig = z.infer<typeof providersSchema>
export type GatewayConfig = z.infer<typeof gatewaySchema>
