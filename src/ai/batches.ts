/**
 * OpenAI's Batch API on the gateway (docs/ai-gateway.md#batches): files and batches.
 *
 * - A file is a record (`ai.files`) of its tenant, written through the codec like every record,
 *   so encrypted at rest when the server encrypts. A `batch` file is validated on upload: JSONL,
 *   each line `{custom_id, method: "POST", url, body}`, custom_ids unique.
 * - A batch is a record (`ai.batches`) and a Spool flow: one low-priority job per line on its
 *   provider's queue (`ai.<provider>`, so under the provider's RPM/TPM limits and breaker, and
 *   behind interactive requests), children of a finalizing job on the queue `ai-batches` that writes
 *   the output and error files once every line has finished. The completion window is each
 *   line's deadline: a line not started by then fails as `batch_expired`.
 * - Statuses: validating → in_progress → finalizing → completed | failed | expired | cancelled
 *   (cancelling while a cancel waits for its lines).
 */
import { randomBytes } from 'node:crypto'
import { UnrecoverableError } from '../engine/errors.js'
import type { ChildResult, Job } from '../engine/job.js'
import type { AiPayload, AiResult, Gateway } from './gateway.js'
import { readRejection } from './upstream.js'

export const FILES = 'ai.files'
export const BATCHES = 'ai.batches'
/** The queue of the jobs that finalize batches. */
export const BATCH_QUEUE = 'ai-batches'
export const BATCH_URLS = { '/v1/chat/completions': 'chat', '/v1/embeddings': 'embeddings' } as const
export type BatchUrl = keyof typeof BATCH_URLS
/** Lines a batch may hold (a flow's size). */
export const MAX_BATCH_LINES = 9_999

export interface FileData {
  filename: string
  purpose: string
  bytes: number
  created_at: number
  content: string
}

export type BatchStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled'

export interface BatchData {
  id: string
  object: 'batch'
  endpoint: BatchUrl
  input_file_id: string
  completion_window: string
  status: BatchStatus
  output_file_id: string | null
  error_file_id: string | null
  errors: {
    object: 'list'
    data: { code: string; message: string; param: string | null; line: number | null }[]
  } | null
  created_at: number
  in_progress_at: number | null
  expires_at: number
  finalizing_at: number | null
  completed_at: number | null
  failed_at: number | null
  expired_at: number | null
  cancelling_at: number | null
  cancelled_at: number | null
  request_counts: { total: number; completed: number; failed: number }
  metadata: Record<string, string> | null
  /** Spool's: the flow's finalizing job and each line's job. */
  spool: { job: string | null; requests: { job: string; custom_id: string }[] }
}

export interface BatchLine {
  custom_id: string
  method: 'POST'
  url: string
  body: Record<string, unknown> & { model: string }
}

/** A line-numbered problem in a batch file. */
export class BatchFileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`)
  }
}

export const newId = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`
const seconds = (ms = Date.now()) => Math.floor(ms / 1000)

/**
 * Reads and checks a batch file: JSONL, one request a line.
 *
 * @example
 * parseBatchFile('{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}')
 */
export function parseBatchFile(content: string): BatchLine[] {
  const lines: BatchLine[] = []
  const seen = new Set<string>()
  for (const [i, raw] of content.split(/\r?\n/).entries()) {
    const number = i + 1
    if (raw.trim() === '') continue
    let line: Partial<BatchLine>
    try {
      line = JSON.parse(raw) as Partial<BatchLine>
    } catch {
      throw new BatchFileError(number, 'not a JSON object')
    }
    if (typeof line !== 'object' || line === null || Array.isArray(line))
      throw new BatchFileError(number, 'not a JSON object')
    if (typeof line.custom_id !== 'string' || line.custom_id.length < 1 || line.custom_id.length > 512) {
      throw new BatchFileError(number, 'custom_id must be a string of 1 to 512 characters')
    }
    if (seen.has(line.custom_id)) throw new BatchFileError(number, `custom_id ${line.custom_id} is used twice`)
    seen.add(line.custom_id)
    if (line.method !== 'POST') throw new BatchFileError(number, 'method must be POST')
    if (typeof line.url !== 'string' || !(line.url in BATCH_URLS)) {
      throw new BatchFileError(number, `url must be one of ${Object.keys(BATCH_URLS).join(', ')}`)
    }
    const body = line.body as Record<string, unknown> | undefined
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof body.model !== 'string') {
      throw new BatchFileError(number, 'body must be an object with a model')
    }
    if (body.stream === true) throw new BatchFileError(number, 'a batch line cannot stream')
    lines.push(line as BatchLine)
    if (lines.length > MAX_BATCH_LINES)
      throw new BatchFileError(number, `a batch holds at most ${MAX_BATCH_LINES} requests`)
  }
  if (lines.length === 0) throw new BatchFileError(1, 'the file holds no request')
  return lines
}

/** `24h` → ms; null when not a window Spool takes (1 to 168 hours). */
export function completionWindowMs(window: string): number | null {
  const match = /^(\d{1,3})h$/.exec(window)
  const hours = Number(match?.[1])
  return match && hours >= 1 && hours <= 168 ? hours * 3_600_000 : null
}

/**
 * Creates a batch from a validated file: the flow of its lines, or a `failed` batch whose
 * `errors` say which line cannot run (a model nobody serves, a line for another endpoint).
 */
export async function createBatch(
  gateway: Gateway,
  input: {
    tenant: string
    user?: string
    fileId: string
    file: FileData
    endpoint: BatchUrl
    completionWindow: string
    windowMs: number
    metadata?: Record<string, string> | null
  },
): Promise<BatchData> {
  const now = Date.now()
  const batch: BatchData = {
    id: newId('batch'),
    object: 'batch',
    endpoint: input.endpoint,
    input_file_id: input.fileId,
    completion_window: input.completionWindow,
    status: 'validating',
    output_file_id: null,
    error_file_id: null,
    errors: null,
    created_at: seconds(now),
    in_progress_at: null,
    expires_at: seconds(now + input.windowMs),
    finalizing_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
    cancelling_at: null,
    cancelled_at: null,
    request_counts: { total: 0, completed: 0, failed: 0 },
    metadata: input.metadata ?? null,
    spool: { job: null, requests: [] },
  }
  const lines = parseBatchFile(input.file.content)
  const errors: NonNullable<BatchData['errors']>['data'] = []
  const children = []
  for (const [i, line] of lines.entries()) {
    if (line.url !== input.endpoint) {
      errors.push({
        code: 'invalid_url',
        message: `the line is for ${line.url}, the batch for ${input.endpoint}`,
        param: 'url',
        line: i + 1,
      })
      continue
    }
    const provider = await gateway.route(line.body.model)
    if (provider === null || gateway.providers[provider]?.kind === 'gemini') {
      errors.push({
        code: 'model_not_found',
        message: `no provider serves the model ${line.body.model}`,
        param: 'body.model',
        line: i + 1,
      })
      continue
    }
    const endpoint = BATCH_URLS[input.endpoint]
    const { priority: _priority, ...body } = line.body
    const payload: AiPayload = {
      endpoint,
      provider,
      body,
      stream: false,
      reserved: await gateway.reserve(provider, endpoint, body),
      deadline: now + input.windowMs,
    }
    children.push({
      queue: `ai.${provider}`,
      payload,
      options: {
        tenant: input.tenant,
        ...(input.user !== undefined && { user: input.user }),
        priority: 'low' as const,
        maxAttempts: gateway.providers[provider]?.maxAttempts ?? 5,
        backoff: { type: 'exponential' as const, delayMs: 500, maxDelayMs: 30_000, jitter: 0.5 },
        tags: [`batch:${batch.id}`.slice(0, 64)],
        metadata: { model: line.body.model, endpoint, batch: batch.id, custom_id: line.custom_id },
      },
      onFailure: 'continue' as const,
    })
  }
  batch.request_counts.total = lines.length
  if (errors.length > 0) {
    batch.status = 'failed'
    batch.failed_at = seconds()
    batch.errors = { object: 'list', data: errors.slice(0, 100) }
    await gateway.spool.records.put(BATCHES, { id: batch.id, tenant: input.tenant, data: batch })
    return batch
  }
  // Written before the flow, so the finalizer always finds its batch.
  batch.status = 'in_progress'
  batch.in_progress_at = seconds()
  await gateway.spool.records.put(BATCHES, { id: batch.id, tenant: input.tenant, data: batch })
  const flow = await gateway.spool.flows.add({
    queue: BATCH_QUEUE,
    payload: { batch: batch.id },
    options: { tenant: input.tenant, priority: 'low', metadata: { batch: batch.id } },
    children,
  })
  batch.spool = {
    job: flow.id,
    requests: flow.children.map((child, i) => ({ job: child.id, custom_id: lines[i]?.custom_id as string })),
  }
  await gateway.spool.records.put(BATCHES, { id: batch.id, tenant: input.tenant, data: batch })
  return batch
}

/** The batch as it is now: live `request_counts` while its lines run. */
export async function batchNow(gateway: Gateway, batch: BatchData): Promise<BatchData> {
  if ((batch.status !== 'in_progress' && batch.status !== 'cancelling') || batch.spool.job === null) return batch
  const children = await gateway.spool.jobs.children(batch.spool.job)
  return { ...batch, request_counts: countsOf(batch.request_counts.total, children as ChildResult<AiResult>[]) }
}

function countsOf(total: number, children: ChildResult<AiResult>[]): BatchData['request_counts'] {
  let completed = 0
  let failed = 0
  for (const child of children) {
    if (child.state === 'completed' && (child.result?.status ?? 500) < 400) completed += 1
    else if (child.state === 'completed' || child.state === 'failed' || child.state === 'cancelled') failed += 1
  }
  return { total, completed, failed }
}

/**
 * Cancels a batch: its lines not yet started are cancelled; the finalizer then writes what did
 * run and marks it `cancelled`.
 */
export async function cancelBatch(gateway: Gateway, tenant: string, batch: BatchData): Promise<BatchData> {
  if (batch.status !== 'in_progress' && batch.status !== 'validating') return batchNow(gateway, batch)
  const cancelling: BatchData = { ...batch, status: 'cancelling', cancelling_at: seconds() }
  await gateway.spool.records.put(BATCHES, { id: batch.id, tenant, data: cancelling })
  for (const { job } of batch.spool.requests) {
    const info = await gateway.spool.jobs.get(job)
    if (info && (info.state === 'waiting' || info.state === 'scheduled' || info.state === 'blocked')) {
      await gateway.spool.jobs.cancel(job).catch(() => {})
    }
  }
  return batchNow(gateway, cancelling)
}

/** The finalizing job: writes the output and error files and the batch's final status. */
export async function finalizeBatch(gateway: Gateway, job: Job<{ batch: string }>): Promise<{ status: BatchStatus }> {
  const { spool } = gateway
  const record = await spool.records.get<BatchData>(BATCHES, job.payload.batch)
  if (!record) throw new UnrecoverableError(`batch ${job.payload.batch} is gone`)
  const tenant = record.tenant
  let batch: BatchData = { ...record.data, finalizing_at: seconds() }
  const cancelled = batch.status === 'cancelling'
  batch.status = 'finalizing'
  await spool.records.put(BATCHES, { id: batch.id, tenant, data: batch })
  const children = await spool.jobs.children(job.id)
  const byJob = new Map(children.map((child) => [child.id, child as ChildResult<AiResult>]))
  const output: string[] = []
  const failures: string[] = []
  let expired = false
  for (const { job: id, custom_id } of batch.spool.requests) {
    const child = byJob.get(id)
    const line = { id: `batch_req_${id}`, custom_id }
    if (child?.state === 'completed' && child.result) {
      const response = { status_code: child.result.status, request_id: id, body: child.result.body ?? null }
      ;(child.result.status < 400 ? output : failures).push(JSON.stringify({ ...line, response, error: null }))
      continue
    }
    const rejection = child?.error ? readRejection(child.error.message) : null
    if (rejection) {
      failures.push(
        JSON.stringify({
          ...line,
          response: { status_code: rejection.status, request_id: id, body: rejection.body },
          error: null,
        }),
      )
      continue
    }
    let error: { code: string; message: string }
    if (child?.error?.code === 'AI_BATCH_EXPIRED') {
      expired = true
      error = {
        code: 'batch_expired',
        message: 'This request could not be executed before the completion window expired.',
      }
    } else if (child?.state === 'cancelled' || !child) {
      error = { code: 'batch_cancelled', message: 'This request was cancelled with its batch.' }
    } else {
      error = { code: 'spool_upstream_failed', message: child.error?.message ?? 'the request failed' }
    }
    failures.push(JSON.stringify({ ...line, response: null, error }))
  }
  const writeFile = async (lines: string[], name: string) => {
    if (lines.length === 0) return null
    const id = newId('file')
    const content = `${lines.join('\n')}\n`
    const data: FileData = {
      filename: `${batch.id}_${name}.jsonl`,
      purpose: 'batch_output',
      bytes: Buffer.byteLength(content),
      created_at: seconds(),
      content,
    }
    await spool.records.put(FILES, { id, tenant, data })
    return id
  }
  const status: BatchStatus = cancelled ? 'cancelled' : expired ? 'expired' : 'completed'
  const now = seconds()
  batch = {
    ...batch,
    status,
    output_file_id: await writeFile(output, 'output'),
    error_file_id: await writeFile(failures, 'error'),
    request_counts: { total: batch.request_counts.total, completed: output.length, failed: failures.length },
    ...(status === 'completed' && { completed_at: now }),
    ...(status === 'expired' && { expired_at: now }),
    ...(status === 'cancelled' && { cancelled_at: now }),
  }
  await spool.records.put(BATCHES, { id: batch.id, tenant, data: batch })
  return { status }
}

/** The public shape of a batch (without Spool's bookkeeping, with the flow's job id). */
export function batchView(batch: BatchData): Omit<BatchData, 'spool'> & { spool_job_id: string | null } {
  const { spool, ...rest } = batch
  return { ...rest, spool_job_id: spool.job }
}
