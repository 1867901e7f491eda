/**
 * Validation of everything a caller passes in, with zod. Every failure becomes a `SpoolError`
 * naming the field at fault, before anything is written.
 */
import { z } from 'zod'
import type { BackoffPolicy, NewJob, QueueConfig } from '../store/store.js'
import { DEFAULT_BACKOFF } from './backoff.js'
import { SpoolError } from './errors.js'
import { PRIORITIES, type Priority, priorityValue } from './priority.js'

/** Default largest payload, in bytes of JSON. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
export const DEFAULT_MAX_ATTEMPTS = 3

/** The longest a Node timer can wait (about 24.8 days): the cap on every duration option. */
export const MAX_TIMER_MS = 2_147_483_647

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
const ms = z.number().int().nonnegative()

const backoffSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('fixed'), delayMs: ms, jitter: z.number().min(0).max(1).optional() }),
  z.strictObject({
    type: z.literal('exponential'),
    delayMs: ms.optional(),
    maxDelayMs: ms.optional(),
    jitter: z.number().min(0).max(1).optional(),
  }),
])

const enqueueSchema = z
  .strictObject({
    priority: z
      .union([z.enum(Object.keys(PRIORITIES) as [keyof typeof PRIORITIES]), z.number().int().min(-1000).max(1000)])
      .optional(),
    delayMs: ms.optional(),
    runAt: z.union([z.date(), ms]).optional(),
    maxAttempts: z.number().int().min(1).max(1000).optional(),
    backoff: backoffSchema.optional(),
    timeoutMs: z.number().int().positive().max(MAX_TIMER_MS).optional(),
    idempotencyKey: z.string().min(1).max(255).optional(),
    group: z.string().min(1).max(255).optional(),
    tags: z.array(z.string().min(1).max(64)).max(32).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
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
  /** Tenant, user or any key the job belongs to. */
  group?: string
  tags?: string[]
  metadata?: Record<string, unknown>
}

/** Queue settings. */
export interface QueueOptions extends QueueConfig {}

const retentionRule = z.strictObject({ maxAgeMs: ms.optional(), maxCount: z.number().int().nonnegative().optional() })
const queueSchema = z.strictObject({
  retention: z
    .strictObject({
      completed: retentionRule.optional(),
      failed: retentionRule.optional(),
      cancelled: retentionRule.optional(),
    })
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

export function parseQueueOptions(options: unknown): QueueConfig {
  const parsed = queueSchema.safeParse(options ?? {})
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
  }
}
