/**
 * Validation of everything a caller passes in, with zod. Every failure becomes a `SpoolError`
 * naming the field at fault, before anything is written.
 */
import { z } from 'zod'
import type {
  BackoffPolicy,
  BreakerPolicy,
  Dependency,
  DependencyFailurePolicy,
  NewJob,
  QueueConfig,
} from '../store/store.js'
import { DEFAULT_BACKOFF } from './backoff.js'
import { SpoolError } from './errors.js'
import { PRIORITIES, type Priority, priorityValue } from './priority.js'

/** Default largest payload, in bytes of JSON. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
export const DEFAULT_MAX_ATTEMPTS = 3

/** The longest a Node timer can wait (about 24.8 days): the cap on every duration option. */
export const MAX_TIMER_MS = 2_147_483_647

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
/**
 * A duration or a time in ms: an integer from 0 up to the largest time a `Date` holds. The
 * option schemas below are the one definition the server's API schemas (`server/schemas.ts`)
 * build on, adding only their OpenAPI descriptions and what HTTP takes differently.
 */
export const msSchema = z.number().int().min(0).max(8_640_000_000_000_000)
const ms = msSchema

/** `urgent`, `high`, `normal`, `low`, or an integer from -1000 to 1000. */
export const priorityInput = z.union([
  z.enum(Object.keys(PRIORITIES) as [keyof typeof PRIORITIES]),
  z.number().int().min(-1000).max(1000),
])

export const backoffSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('fixed'), delayMs: ms, jitter: z.number().min(0).max(1).optional() }),
  z.strictObject({
    type: z.literal('exponential'),
    delayMs: ms.optional(),
    maxDelayMs: ms.optional(),
    jitter: z.number().min(0).max(1).optional(),
  }),
])

/**
 * The enqueue options the library and the HTTP API take alike. Each adds its own: the library
 * `runAt` as a `Date`, `tenant`, `user` and job ids as it stores them; the API `runAt` as ISO
 * text, and the tenant from the caller.
 */
export const enqueueOptionFields = {
  priority: priorityInput.optional(),
  delayMs: ms.optional(),
  maxAttempts: z.number().int().min(1).max(1000).optional(),
  backoff: backoffSchema.optional(),
  timeoutMs: z.number().int().min(1).max(MAX_TIMER_MS).optional(),
  idempotencyKey: z.string().min(1).max(255).optional(),
  group: z.string().min(1).max(255).optional(),
  tags: z.array(z.string().min(1).max(64)).max(32).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
}

const enqueueSchema = z
  .strictObject({
    ...enqueueOptionFields,
    runAt: z.union([z.date(), ms]).optional(),
    tenant: z.string().min(1).max(128).optional(),
    user: z.string().min(1).max(255).optional(),
    dependsOn: z
      .array(
        z.union([
          z.string().regex(/^[1-9][0-9]{0,15}$/, 'a job id'),
          z.strictObject({
            id: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a job id'),
            onFailure: z.enum(['fail', 'ignore', 'continue']).optional(),
          }),
        ]),
      )
      .max(1000)
      .optional(),
  })
  .refine((o) => o.delayMs === undefined || o.runAt === undefined, {
    message: 'give delayMs or runAt, not both',
    path: ['runAt'],
  })

/** Options for one job. Every field is optional; defaults are in docs/concepts.md. */
export interface EnqueueOptions {
  /** `urgent`, `high`, `normal` (default), `low`, or an integer from -1000 to 1000; lower runs first. */
  priority?: Priority
  /** Run no sooner than this many ms from now. */
  delayMs?: number
  /** Run no sooner than this time. */
  runAt?: Date | number
  /** Attempts before the job lands in `failed` (default 3). */
  maxAttempts?: number
  /** Delay between attempts (default exponential from 1 s to 1 h with 20 % jitter). */
  backoff?:
    | { type: 'fixed'; delayMs: number; jitter?: number }
    | ({ type: 'exponential' } & Partial<Omit<BackoffPolicy, 'type'>>)
  /** An attempt running longer than this fails (retryably) and its signal aborts. */
  timeoutMs?: number
  /** Enqueueing the same key on the same queue again returns the existing job. */
  idempotencyKey?: string
  /** The key that limits, fairness and Retry-After pauses apply to (a tenant, a user, a provider…). */
  group?: string
  tags?: string[]
  metadata?: Record<string, unknown>
  /** The tenant the job belongs to (default `default`); the server sets it from the caller. */
  tenant?: string
  /** Who enqueues: for a queue's per-user enqueue rate (`admission.perUser`) and `groupBy: 'user'`. */
  user?: string
  /** Existing jobs this one waits for: it stays `blocked` until they finish (see flows). */
  dependsOn?: (string | { id: string; onFailure?: DependencyFailurePolicy })[]
}

/** Queue settings. */
export interface QueueOptions extends QueueConfig {}

export const retentionRuleSchema = z.strictObject({
  maxAgeMs: ms.optional(),
  maxCount: z.number().int().min(0).max(1_000_000_000).optional(),
})
const count = z.number().int().min(1).max(1_000_000_000)
const rateLimit = z.strictObject({ max: count, windowMs: z.number().int().min(1).max(MAX_TIMER_MS) })
/** A queue's settings (`QueueConfig`), as the library and the HTTP API take them. */
export const queueConfigSchema = z.strictObject({
  retention: z
    .strictObject({
      completed: retentionRuleSchema.optional(),
      failed: retentionRuleSchema.optional(),
      cancelled: retentionRuleSchema.optional(),
    })
    .optional(),
  concurrency: count.optional(),
  rateLimit: rateLimit.optional(),
  groups: z
    .strictObject({
      concurrency: count.optional(),
      rateLimit: rateLimit.optional(),
      fair: z.boolean().optional(),
      weights: z.record(z.string().min(1).max(255), z.number().positive().max(1000)).optional(),
    })
    .optional(),
  groupBy: z
    .union([
      z.literal('tenant'),
      z.literal('user'),
      z.strictObject({ payload: z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/) }),
    ])
    .optional(),
  maxSize: count.optional(),
  maxGroupSize: count.optional(),
  admission: z
    .strictObject({
      perUser: z.strictObject({ perSecond: z.number().positive().max(1_000_000), burst: count }),
    })
    .optional(),
  breaker: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/)
    .optional(),
})

/**
 * Turns a zod failure into a SpoolError naming the first field at fault.
 */
function invalid(error: z.ZodError, prefix: string): SpoolError {
  const issue = error.issues[0] as z.core.$ZodIssue
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.')
  return new SpoolError('SPOOL_INVALID_OPTION', `${field || 'options'}: ${issue.message}`, { field })
}

export function assertQueueName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !QUEUE_NAME.test(name)) {
    throw new SpoolError(
      'SPOOL_INVALID_QUEUE_NAME',
      'a queue name is 1–128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
      { field: 'queue' },
    )
  }
}

/** Circuit breaker settings; the defaults fill what is left out. */
export const DEFAULT_BREAKER = {
  failureThreshold: 5,
  cooldownMs: 30_000,
  halfOpenProbes: 1,
  successThreshold: 2,
} as const

const breakerSchema = z
  .strictObject({
    failureThreshold: count.optional(),
    failureRate: z.number().gt(0).max(1).optional(),
    windowMs: z.number().int().min(1).max(MAX_TIMER_MS).optional(),
    minimumCalls: count.optional(),
    cooldownMs: z.number().int().min(1).max(MAX_TIMER_MS).optional(),
    halfOpenProbes: count.optional(),
    successThreshold: count.optional(),
  })
  .refine((o) => o.failureRate === undefined || o.windowMs !== undefined, {
    message: 'a failureRate needs a windowMs',
    path: ['windowMs'],
  })

export function parseBreakerPolicy(options: unknown): BreakerPolicy {
  const parsed = breakerSchema.safeParse(options ?? {})
  if (!parsed.success) throw invalid(parsed.error, '')
  const o = parsed.data
  return {
    failureThreshold: o.failureThreshold ?? DEFAULT_BREAKER.failureThreshold,
    cooldownMs: o.cooldownMs ?? DEFAULT_BREAKER.cooldownMs,
    halfOpenProbes: o.halfOpenProbes ?? DEFAULT_BREAKER.halfOpenProbes,
    successThreshold: o.successThreshold ?? DEFAULT_BREAKER.successThreshold,
    ...(o.failureRate !== undefined && { failureRate: o.failureRate }),
    ...(o.windowMs !== undefined && { windowMs: o.windowMs }),
    ...(o.minimumCalls !== undefined && { minimumCalls: o.minimumCalls }),
  }
}

export function parseQueueOptions(options: unknown): QueueConfig {
  const parsed = queueConfigSchema.safeParse(options ?? {})
  if (!parsed.success) throw invalid(parsed.error, '')
  return parsed.data as QueueConfig
}

/**
 * Serialises a payload and checks its size.
 */
export function serialisePayload(payload: unknown, maxBytes: number, field = 'payload'): string {
  let json: string | undefined
  try {
    json = JSON.stringify(payload ?? null)
  } catch (error) {
    throw new SpoolError('SPOOL_INVALID_PAYLOAD', `${field} cannot be written as JSON: ${(error as Error).message}`, {
      field,
    })
  }
  if (json === undefined) {
    throw new SpoolError('SPOOL_INVALID_PAYLOAD', `${field} cannot be written as JSON`, { field })
  }
  if (json.length > maxBytes / 3 && Buffer.byteLength(json) > maxBytes) {
    throw new SpoolError('SPOOL_PAYLOAD_TOO_LARGE', `${field} is larger than ${maxBytes} bytes of JSON`, {
      field,
      limit: maxBytes,
    })
  }
  return json
}

/**
 * Validates one job's options and fills in the defaults.
 *
 * @example
 * toNewJob('emails', { to: 'a@b.c' }, { priority: 'high' }, { now: Date.now(), maxPayloadBytes: 1 << 20 })
 */
export function toNewJob(
  queue: string,
  payload: unknown,
  options: EnqueueOptions | undefined,
  context: { now: number; maxPayloadBytes: number; field?: string },
): NewJob {
  const prefix = context.field ?? ''
  const json = serialisePayload(payload, context.maxPayloadBytes, prefix ? `${prefix}.payload` : 'payload')
  const field = (name: string) => (prefix ? `${prefix}.options.${name}` : name)
  let o: z.infer<typeof enqueueSchema> = {}
  if (options !== undefined) {
    const parsed = enqueueSchema.safeParse(options)
    if (!parsed.success) throw invalid(parsed.error, prefix ? `${prefix}.options` : '')
    o = parsed.data
    if (o.metadata !== undefined) serialisePayload(o.metadata, context.maxPayloadBytes, field('metadata'))
  }
  const runAt =
    o.runAt !== undefined ? (typeof o.runAt === 'number' ? o.runAt : o.runAt.getTime()) : context.now + (o.delayMs ?? 0)
  return {
    queue,
    priority: priorityValue(o.priority ?? 'normal'),
    runAt,
    payload: json,
    maxAttempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    backoff: o.backoff
      ? {
          type: o.backoff.type,
          delayMs: o.backoff.delayMs ?? DEFAULT_BACKOFF.delayMs,
          maxDelayMs:
            o.backoff.type === 'exponential'
              ? (o.backoff.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs)
              : (o.backoff.delayMs ?? 0),
          jitter: o.backoff.jitter ?? (o.backoff.type === 'fixed' ? 0 : DEFAULT_BACKOFF.jitter),
        }
      : DEFAULT_BACKOFF,
    timeoutMs: o.timeoutMs ?? null,
    idempotencyKey: o.idempotencyKey ?? null,
    group: o.group ?? null,
    tags: o.tags ?? [],
    metadata: o.metadata ?? {},
    tenant: o.tenant ?? 'default',
    ...(o.dependsOn !== undefined && { dependsOn: o.dependsOn.map(toDependency) }),
  }
}

function toDependency(dep: string | { id: string; onFailure?: DependencyFailurePolicy | undefined }): Dependency {
  return typeof dep === 'string' ? { id: dep, onFailure: 'fail' } : { id: dep.id, onFailure: dep.onFailure ?? 'fail' }
}

/**
 * Fills in what the queue's config derives for a job: its group (`groupBy`: the tenant, the user
 * who enqueued it, or a payload field) and its fair-queuing weight (`groups.fair`).
 */
export function applyQueueConfig(job: NewJob, config: QueueConfig, payload: unknown, user?: string): NewJob {
  const by = config.groupBy
  if (job.group === null && by !== undefined) {
    const group = by === 'tenant' ? job.tenant : by === 'user' ? user : pick(payload, by.payload)
    if (group !== undefined && group !== null && group !== '') job.group = String(group).slice(0, 255)
  }
  if (config.groups?.fair) job.fairWeight = config.groups.weights?.[job.group ?? ''] ?? 1
  return job
}

function pick(value: unknown, path: string): unknown {
  let current = value
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return typeof current === 'object' ? undefined : current
}

/** Whether the queue's claims must take the constrained path (counts under a lock). */
export function isConstrained(config: QueueConfig): boolean {
  return (
    config.concurrency !== undefined ||
    config.rateLimit !== undefined ||
    config.groups?.concurrency !== undefined ||
    config.groups?.rateLimit !== undefined ||
    config.breaker !== undefined
  )
}
