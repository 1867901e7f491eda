/**
 * The server's settings, validated with zod. Every field has a default, so `{}` is a valid
 * configuration; the CLI fills it from flags, `SPOOL_*` variables and a file (see
 * src/cli/config.ts for the precedence and the variable names).
 */
import { z } from 'zod'
import { gatewaySchema, providersSchema } from '../ai/config.js'

const positive = z.number().int().positive()

export const serverConfigSchema = z.strictObject({
  /** Address to listen on; keep 127.0.0.1 unless a proxy in front terminates TLS. */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(7700),
  /** Store address: `sqlite:./data/spool.db` or `postgres://…`. */
  store: z.string().min(1).default('sqlite:./data/spool.db'),
  /** Where the key file lives by default. */
  dataDir: z.string().min(1).default('./data'),
  encryption: z
    .strictObject({
      /** Encrypt payloads, results and records at rest (default on). */
      enabled: z.boolean().default(true),
      /** `SPOOL_ENCRYPTION_KEY`: base64/hex key, or `id:key,id:key` (first encrypts). */
      key: z.string().optional(),
      /** Key file (default `<dataDir>/spool.key`), created 0600 on first start. */
      keyFile: z.string().optional(),
    })
    .prefault({}),
  auth: z
    .strictObject({
      jwt: z
        .strictObject({
          secret: z.string().min(32, 'the JWT secret must be at least 32 characters').optional(),
          jwksUrl: z.url().optional(),
          issuer: z.string().optional(),
          audience: z.string().optional(),
          tenantClaim: z.string().min(1).default('tenant'),
          userClaim: z.string().min(1).default('sub'),
          rolesClaim: z.string().min(1).default('roles'),
          defaultTenant: z.string().optional(),
        })
        .prefault({}),
      /** How long a looked-up API key is trusted before it is read again (revocation elsewhere takes this long). */
      keyCacheMs: z.number().int().min(0).max(300_000).default(5_000),
      /**
       * The operator's tenant. HTTP workers lease jobs of every tenant from a queue, so claiming
       * needs a worker (or admin) credential of this tenant.
       */
      operatorTenant: z.string().min(1).default('default'),
      /** Create an admin key on a start that finds none, and print it once (default true). */
      bootstrapAdminKey: z.boolean().default(true),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Largest request body in bytes. */
      bodyBytes: positive.default(1_200_000),
      /** Largest body of a bulk enqueue. */
      bulkBodyBytes: positive.default(16 * 1024 * 1024),
      /** Largest payload in bytes of JSON (the engine's maxPayloadBytes). */
      payloadBytes: positive.default(1024 * 1024),
      /** Enqueues per second per tenant (0: unlimited); over it → 429 with Retry-After. */
      enqueuePerSecond: z.number().min(0).default(0),
      /** Jobs waiting in one queue before enqueues get 503 with Retry-After (0: unlimited). */
      maxQueueDepth: z.number().int().min(0).default(0),
      /** Longest long-poll of an HTTP worker's claim, in ms. */
      maxClaimWaitMs: z.number().int().min(0).max(120_000).default(30_000),
    })
    .prefault({}),
  streams: z
    .strictObject({
      /** SSE comment line every this many ms, so proxies keep the stream open. */
      heartbeatMs: positive.default(15_000),
      /** WebSocket ping every this many ms. */
      pingMs: positive.default(30_000),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /** Serve /metrics without a credential (default: an admin credential is needed). */
      public: z.boolean().default(false),
    })
    .prefault({}),
  tracing: z
    .strictObject({
      /**
       * OpenTelemetry spans for enqueue and processing, to the globally registered tracer
       * provider (register an SDK with `node --import`); HTTP enqueues join the caller's
       * `traceparent`.
       */
      enabled: z.boolean().default(false),
    })
    .prefault({}),
  webhooks: z
    .strictObject({
      enabled: z.boolean().default(true),
      timeoutMs: positive.default(10_000),
      /** Attempts per delivery before it lands in the dead-letter set (`failed` on queue spool.webhooks). */
      maxAttempts: z.number().int().min(1).max(100).default(8),
      /** First retry delay of a delivery; doubles each attempt up to an hour. */
      backoffMs: positive.default(5_000),
      /** How often alert thresholds are checked. */
      alertIntervalMs: positive.default(30_000),
    })
    .prefault({}),
  audio: z
    .strictObject({
      /** Serve /v1/sessions and /v1/audio/transcriptions, and run the audio pipeline's workers in `spool start`. */
      enabled: z.boolean().default(true),
      /** Where audio (encrypted) and working copies live (default: `audio` beside a SQLite database, else `<dataDir>/audio`). */
      dir: z.string().min(1).optional(),
      /** Largest upload, bytes (413 beyond it). */
      maxUploadBytes: positive.default(500 * 1024 * 1024),
      /** Longest recording, seconds (422 beyond it). */
      maxDurationSeconds: positive.default(4 * 3600),
      /** `full` decodes an upload whole before answering (catches truncated files); `probe` reads its headers only. */
      uploadValidation: z.enum(['full', 'probe']).default('full'),
      /** Audio is deleted this many hours after its session finished (transcripts and notes stay until DELETE). */
      audioRetentionHours: z.number().min(0).default(168),
      /** Default engines; a session may name others in `metadata.engines`. */
      transcriptionEngine: z.string().min(1).default('pocketsphinx'),
      diarizationEngine: z.string().min(1).default('baseline'),
      /** Default: `openai` when SPOOL_OPENAI_BASE_URL is set, else `extractive`. */
      notesEngine: z.string().min(1).optional(),
      /** Transcription chunks are at most this long, cut at pauses. */
      chunkSeconds: z.number().min(5).max(600).default(30),
      /** Transcription chunks running at once across all nodes (e.g. a provider's concurrency limit). */
      transcriptionConcurrency: z.number().int().min(1).optional(),
      /** Transcription chunk starts per minute across all nodes. */
      transcriptionPerMinute: z.number().int().min(1).optional(),
      /** How long POST /v1/audio/transcriptions waits for its job before answering 504. */
      transcriptionWaitSeconds: z.number().int().min(1).max(3600).default(600),
      /** Keep the sessions POST /v1/audio/transcriptions creates (default: deleted once answered). */
      keepTranscriptions: z.boolean().default(false),
    })
    .prefault({}),
  /** Upstream AI providers the gateway routes to (src/ai/config.ts, docs/ai-gateway.md). */
  providers: providersSchema,
  /** The AI gateway's waits, expiry and streams. */
  gateway: gatewaySchema,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Run the demo queue, feeder and worker. */
  demo: z.boolean().default(true),
  /** Seconds running jobs get to finish on shutdown before they are handed back. */
  graceSeconds: z.number().min(0).max(3600).default(10),
})

export type ServerConfig = z.infer<typeof serverConfigSchema>
export type ServerConfigInput = z.input<typeof serverConfigSchema>

/** Settings with every default filled in; throws a zod error naming the field at fault. */
export function serverConfig(input: ServerConfigInput = {}): ServerConfig {
  return serverConfigSchema.parse(input)
}
