/**
 * The shapes the API takes and returns, as zod schemas. They validate every input (objects are
 * strict: an unknown field is an error) and they are the source of `docs/openapi.json`: a schema
 * with `.meta({ id })` becomes a component there.
 */
import { z } from 'zod'
import {
  enqueueOptionFields,
  msSchema,
  priorityInput,
  queueConfigSchema,
  retentionRuleSchema,
} from '../engine/options.js'
import { JOB_STATES, type JobState } from '../store/store.js'

export const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/

export const queueName = z.string().regex(QUEUE_NAME, 'a queue name is 1–128 letters, digits, ".", "_", ":" or "-"')
export const tenantName = z.string().regex(TENANT_NAME, 'a tenant is 1–64 letters, digits, ".", "_", ":" or "-"')
/** Job ids are decimal integers in text. */
export const jobId = z.string().regex(/^[1-9][0-9]{0,18}$/, 'a job id is a positive integer')
export const jobState = z.enum(JOB_STATES)
const ms = msSchema

/** An integer in a query string (query values are text). */
export function intQuery(min: number, max: number) {
  return z
    .string()
    .regex(/^-?\d{1,16}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
}
/** A boolean in a query string: `true` or `false`. */
export const boolQuery = z.enum(['true', 'false']).transform((v) => v === 'true')
/** `2026-11-22`, `2026-11-22T14:00`, `…:30.5Z`, `…+01:00`: what the docs promise, not whatever `Date.parse` reads (it takes `-1` as 2001). */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/**
 * A time in a query string: epoch ms or an ISO 8601 date-time, from 1970 on (as every time in
 * a body: `-1` or a date before 1970 is refused, not read as a time before every job).
 */
export const timeQuery = z
  .string()
  .max(40)
  .refine(
    (v) => /^\d{1,16}$/.test(v) || (ISO_DATE_TIME.test(v) && !Number.isNaN(Date.parse(v))),
    'must be epoch ms (0 or more) or an ISO 8601 date-time',
  )
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)))
  .pipe(z.number().min(0, 'must not be before 1970 (epoch ms 0)').max(8_640_000_000_000_000))

export const priority = priorityInput

/** The engine's enqueue options (engine/options.ts), with what HTTP takes differently. */
const { priority: priorityField, delayMs: delayField, ...laterFields } = enqueueOptionFields
export const enqueueOptions = z
  .strictObject({
    priority: priorityField,
    delayMs: delayField,
    runAt: z
      .union([ms, z.iso.datetime({ offset: true })])
      .optional()
      .describe('epoch ms or an ISO 8601 date-time'),
    ...laterFields,
    dependsOn: z
      .array(
        z.union([jobId, z.strictObject({ id: jobId, onFailure: z.enum(['fail', 'ignore', 'continue']).optional() })]),
      )
      .max(1000)
      .optional()
      .describe('jobs (of this tenant) this one waits for; it stays blocked until they finish'),
  })
  .meta({ id: 'EnqueueOptions' })

export const newJob = z
  .strictObject({
    payload: z.unknown().describe('any JSON value (at most the server’s maxPayloadBytes as JSON)'),
    options: enqueueOptions.optional(),
  })
  .meta({ id: 'NewJob' })

export const enqueueResult = z
  .strictObject({
    id: jobId,
    created: z.boolean(),
    state: jobState,
    position: z
      .number()
      .nullable()
      .optional()
      .describe('runnable jobs ahead (0: next), counted up to 1,000; null when delayed, blocked or ?position=false'),
    positionCapped: z
      .literal(true)
      .optional()
      .describe('more jobs are ahead than were counted: position is a lower bound'),
    estimatedWaitMs: z
      .number()
      .nullable()
      .optional()
      .describe(
        'expected ms until it starts: (position + 1) over the jobs the queue completed per ms in the last five minutes, or a delayed job’s delay; null when unknown',
      ),
  })
  .meta({ id: 'EnqueueResult' })

const attemptError = z.object({
  at: z.number(),
  attempt: z.number(),
  message: z.string(),
  name: z.string().optional(),
  code: z.string().optional(),
  retryable: z.boolean(),
})

export const job = z
  .object({
    id: jobId,
    queue: z.string(),
    tenant: z.string(),
    state: jobState,
    priority: z.number(),
    payload: z.unknown(),
    result: z.unknown(),
    attempt: z.number(),
    maxAttempts: z.number(),
    progress: z
      .object({ percent: z.number(), stage: z.string().optional(), message: z.string().optional() })
      .nullable(),
    errors: z.array(attemptError),
    group: z.string().nullable(),
    tags: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    idempotencyKey: z.string().nullable().describe('unique per queue and tenant'),
    timeoutMs: z.number().nullable(),
    runAt: z.string().describe('ISO 8601'),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    workerId: z
      .string()
      .nullable()
      .describe(
        'the worker that holds the job, or that ran its last attempt once it completed, failed for good or was cancelled; null while it waits (HTTP workers: `http:<workerId>`)',
      ),
  })
  .meta({ id: 'Job' })

export const jobPage = z.object({ jobs: z.array(job), nextCursor: z.string().nullable() }).meta({ id: 'JobPage' })

/** Jobs by state: every state, zero included (an object, so the document lists each state). */
export const counts = z
  .object(Object.fromEntries(JOB_STATES.map((state) => [state, z.number()])) as Record<JobState, z.ZodNumber>)
  .meta({ id: 'Counts' })

export const retentionRule = retentionRuleSchema
const configField = queueConfigSchema.shape
/** The engine's queue settings (engine/options.ts), described for the documentation. */
export const queueConfig = queueConfigSchema
  .extend({
    concurrency: configField.concurrency.describe('active jobs across every node'),
    rateLimit: configField.rateLimit.describe('starts of the whole queue per window'),
    groupBy: configField.groupBy.describe(
      'a job’s group when the enqueue names none: its tenant, the caller’s user, or a payload field',
    ),
    maxSize: configField.maxSize.describe('refuse enqueues (503) beyond this many unfinished jobs'),
    admission: configField.admission.describe('enqueue rate per user (429 beyond it)'),
    breaker: configField.breaker.describe('a named circuit breaker'),
  })
  .meta({ id: 'QueueConfig' })

export const queue = z
  .object({ name: z.string(), paused: z.boolean(), config: z.record(z.string(), z.unknown()), counts })
  .meta({ id: 'Queue' })

export const event = z
  .object({
    id: z.number(),
    at: z.number(),
    type: z.string(),
    tenant: z.string().nullable().optional(),
    queue: z.string().nullable(),
    jobId: z.string().nullable(),
    state: jobState.nullable(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Event' })

export const jobFilter = z
  .strictObject({
    queue: queueName.optional(),
    state: jobState.optional(),
    group: z.string().min(1).max(255).optional(),
    tag: z.string().min(1).max(64).optional(),
    createdAfter: ms.optional(),
    createdBefore: ms.optional(),
    text: z.string().min(1).max(200).optional().describe('text to find in the payload'),
    error: z.string().min(1).max(200).optional().describe('text to find in any attempt’s error message'),
  })
  .meta({ id: 'JobFilter' })

/** RFC 9457 problem details; some codes add members of their own (e.g. `limit` over a rate limit). */
export const problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    code: z.string().describe('stable machine-readable code, e.g. SPOOL_JOB_NOT_FOUND'),
    detail: z.string(),
    field: z.string().optional().describe('the input at fault'),
    instance: z.string().optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Problem' })

export const ok = z.object({ ok: z.literal(true) })

export type PriorityInput = z.infer<typeof priority>
