/**
 * OpenAI's Files and Batch API on the gateway (docs/ai-gateway.md#batches): an app keeps its
 * `openai` SDK (`files.create`, `batches.create/retrieve/list/cancel`, `files.content`). The
 * logic is in src/ai/batches.ts; files and batches belong to the caller's tenant, and another
 * tenant's id answers 404 as an unknown one does.
 */
import type { Multipart } from '@fastify/multipart'
import { z } from 'zod'
import {
  BATCH_QUEUE,
  BATCH_URLS,
  BATCHES,
  type BatchData,
  BatchFileError,
  type BatchUrl,
  batchNow,
  batchView,
  cancelBatch,
  completionWindowMs,
  createBatch,
  FILES,
  type FileData,
  newId,
  parseBatchFile,
} from '../../ai/batches.js'
import type { ServerContext } from '../context.js'
import { HttpProblem } from '../problem.js'
import { Reply, route } from '../route.js'
import { gatewayOf } from './ai.js'
import { userOf } from './jobs.js'

const SHAPE = { errorShape: 'openai' as const }
const MAX_FILE_BYTES = 64 * 1024 * 1024
const fileId = z.string().regex(/^file-[0-9a-f]{24}$/, 'a file id')
const batchId = z.string().regex(/^batch-[0-9a-f]{24}$/, 'a batch id')

const fileObject = (id: string, file: FileData) => ({
  id,
  object: 'file' as const,
  bytes: file.bytes,
  created_at: file.created_at,
  filename: file.filename,
  purpose: file.purpose,
  status: 'processed' as const,
})

async function fileOf(app: ServerContext, id: string, tenant: string): Promise<FileData> {
  const record = await app.spool.records.get<FileData>(FILES, id)
  if (!record || record.tenant !== tenant) throw new HttpProblem('SPOOL_NOT_FOUND', `no file ${id}`, { field: 'id' })
  return record.data
}

async function batchOf(app: ServerContext, id: string, tenant: string): Promise<BatchData> {
  const record = await app.spool.records.get<BatchData>(BATCHES, id)
  if (!record || record.tenant !== tenant) throw new HttpProblem('SPOOL_NOT_FOUND', `no batch ${id}`, { field: 'id' })
  return record.data
}

export const aiBatchRoutes = [
  route({
    id: 'ai.filesCreate',
    method: 'POST',
    url: '/v1/files',
    tag: 'ai',
    summary: 'Upload a batch input file (OpenAI’s Files API)',
    description:
      'multipart/form-data with `file` (JSONL: one `{custom_id, method: "POST", url, body}` a line, `url` `/v1/chat/completions` or `/v1/embeddings`, custom_ids unique, at most 9 999 lines) and `purpose: batch`. Checked on upload: a bad line is 400 naming it. Kept encrypted at rest like payloads, in the caller’s tenant.',
    permission: 'produce',
    multipart: true,
    bodyLimit: MAX_FILE_BYTES + 64 * 1024,
    errors: [413, 415],
    ...SHAPE,
    async handler({ app, request, tenant, audit }) {
      if (!request.isMultipart()) {
        throw new HttpProblem(
          'SPOOL_UNSUPPORTED_MEDIA_TYPE',
          'upload the file as multipart/form-data (fields `file` and `purpose`)',
          { field: 'content-type' },
        )
      }
      let content: Buffer | null = null
      let filename = 'input.jsonl'
      let purpose: string | undefined
      for await (const part of request.parts({ limits: { fileSize: MAX_FILE_BYTES } }) as AsyncIterable<Multipart>) {
        if (part.type === 'file') {
          if (part.fieldname !== 'file' || content) {
            part.file.resume()
            throw new HttpProblem('SPOOL_UNKNOWN_FIELD', 'send one file, as the field `file`', {
              field: part.fieldname,
            })
          }
          content = await part.toBuffer()
          filename = (part.filename || filename).slice(0, 255)
        } else if (part.fieldname === 'purpose') {
          purpose = String(part.value)
        } else {
          throw new HttpProblem('SPOOL_UNKNOWN_FIELD', `${part.fieldname} is not a field this route takes`, {
            field: part.fieldname,
          })
        }
      }
      if (purpose !== 'batch') {
        throw new HttpProblem(
          'SPOOL_INVALID_REQUEST',
          'purpose must be "batch" (the only purpose this gateway stores)',
          {
            field: 'purpose',
          },
        )
      }
      if (!content)
        throw new HttpProblem('SPOOL_INVALID_REQUEST', 'no file: send it as the field `file`', { field: 'file' })
      const text = content.toString('utf8')
      try {
        parseBatchFile(text)
      } catch (error) {
        if (error instanceof BatchFileError) {
          throw new HttpProblem('SPOOL_INVALID_REQUEST', `the batch file is not valid: ${error.message}`, {
            field: 'file',
          })
        }
        throw error
      }
      const id = newId('file')
      const file: FileData = {
        filename,
        purpose,
        bytes: content.length,
        created_at: Math.floor(Date.now() / 1000),
        content: text,
      }
      await app.spool.records.put(FILES, { id, tenant, data: file })
      audit.target = id
      return fileObject(id, file)
    },
  }),
  route({
    id: 'ai.filesGet',
    method: 'GET',
    url: '/v1/files/:id',
    tag: 'ai',
    summary: 'A file’s description',
    permission: 'read',
    params: z.strictObject({ id: fileId }),
    errors: [404],
    ...SHAPE,
    async handler({ app, params, tenant }) {
      return fileObject(params.id, await fileOf(app, params.id, tenant))
    },
  }),
  route({
    id: 'ai.filesContent',
    method: 'GET',
    url: '/v1/files/:id/content',
    tag: 'ai',
    summary: 'A file’s content (a batch’s input, output or error file: JSONL)',
    permission: 'read',
    params: z.strictObject({ id: fileId }),
    errors: [404],
    download: ['application/jsonl'],
    ...SHAPE,
    async handler({ app, params, tenant }) {
      const file = await fileOf(app, params.id, tenant)
      return new Reply(200, file.content, { 'content-type': 'application/jsonl; charset=utf-8' })
    },
  }),
  route({
    id: 'ai.batchesCreate',
    method: 'POST',
    url: '/v1/batches',
    tag: 'ai',
    summary: 'Start a batch (OpenAI’s Batch API), run as a Spool flow of low-priority jobs',
    description:
      'Each line of the input file becomes a low-priority job on its model’s provider queue (under the provider’s limits and breaker, behind interactive requests); the completion window (`1h`…`168h`, OpenAI’s `24h`) is their deadline. A line whose model nobody serves, or whose `url` is not the batch’s `endpoint`, makes the batch `failed` with `errors` naming the line.',
    permission: 'produce',
    body: z.strictObject({
      input_file_id: fileId,
      endpoint: z.enum(Object.keys(BATCH_URLS) as [BatchUrl, ...BatchUrl[]]),
      completion_window: z.string().max(8),
      metadata: z.record(z.string().max(64), z.string().max(512)).nullable().optional(),
    }),
    errors: [404],
    ...SHAPE,
    async handler({ app, body, tenant, principal, audit }) {
      const windowMs = completionWindowMs(body.completion_window)
      if (windowMs === null) {
        throw new HttpProblem(
          'SPOOL_INVALID_REQUEST',
          'completion_window must be a number of hours, 1h to 168h (24h)',
          {
            field: 'completion_window',
          },
        )
      }
      const file = await fileOf(app, body.input_file_id, tenant).catch(() => {
        throw new HttpProblem('SPOOL_NOT_FOUND', `no file ${body.input_file_id}`, { field: 'input_file_id' })
      })
      if (file.purpose !== 'batch') {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', 'the input file’s purpose is not batch', {
          field: 'input_file_id',
        })
      }
      await app.admission.admit(tenant, BATCH_QUEUE)
      const batch = await createBatch(gatewayOf(app), {
        tenant,
        user: userOf(principal),
        fileId: body.input_file_id,
        file,
        endpoint: body.endpoint,
        completionWindow: body.completion_window,
        windowMs,
        metadata: body.metadata ?? null,
      })
      audit.target = batch.id
      return batchView(batch)
    },
  }),
  route({
    id: 'ai.batchesGet',
    method: 'GET',
    url: '/v1/batches/:id',
    tag: 'ai',
    summary: 'A batch: its status, request_counts and files',
    permission: 'read',
    params: z.strictObject({ id: batchId }),
    errors: [404],
    ...SHAPE,
    async handler({ app, params, tenant }) {
      return batchView(await batchNow(gatewayOf(app), await batchOf(app, params.id, tenant)))
    },
  }),
  route({
    id: 'ai.batchesList',
    method: 'GET',
    url: '/v1/batches',
    tag: 'ai',
    summary: 'The tenant’s batches, newest first',
    permission: 'read',
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      after: batchId.optional(),
    }),
    ...SHAPE,
    async handler({ app, query, tenant }) {
      let beforeSeq: number | undefined
      if (query.after !== undefined) {
        const after = await app.spool.records.get<BatchData>(BATCHES, query.after)
        if (!after || after.tenant !== tenant) {
          throw new HttpProblem('SPOOL_NOT_FOUND', `no batch ${query.after}`, { field: 'after' })
        }
        beforeSeq = after.seq
      }
      // Ordered by each batch's latest write (a record is replaced in place as its status changes).
      const records = await app.spool.records.list<BatchData>(BATCHES, {
        tenant,
        order: 'desc',
        limit: query.limit + 1,
        ...(beforeSeq !== undefined && { beforeSeq }),
      })
      const page = records.slice(0, query.limit).map((r) => batchView(r.data))
      return {
        object: 'list' as const,
        data: page,
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
        has_more: records.length > query.limit,
      }
    },
  }),
  route({
    id: 'ai.batchesCancel',
    method: 'POST',
    url: '/v1/batches/:id/cancel',
    tag: 'ai',
    summary: 'Cancel a batch: lines not started are cancelled, then it is `cancelled` with what did run',
    permission: 'produce',
    params: z.strictObject({ id: batchId }),
    errors: [404],
    ...SHAPE,
    async handler({ app, params, tenant, audit }) {
      audit.target = params.id
      return batchView(await cancelBatch(gatewayOf(app), tenant, await batchOf(app, params.id, tenant)))
    },
  }),
]
