/**
 * Audio sessions (docs/audio.md): upload a recording with its clinical context, follow
 * it through the pipeline live, read the speaker transcript and notes, steer and delete it —
 * and Spool's OpenAI-compatible `POST /v1/audio/transcriptions`, so apps using the `openai` SDK
 * get Spool's queueing by changing the base URL.
 *
 * Uploads are multipart (`file`, and `metadata` as JSON text) and stream to a private temporary
 * file; the upload is validated (size, extension, magic bytes, ffprobe, a full decode) before
 * anything is kept, so a bad upload answers 4xx problem+json and leaves nothing behind. A good
 * one is stored encrypted and its jobs enqueued: `202 { id, position, estimatedWaitMs }`.
 *
 * Reads of patient data (the list, a session, its transcript and audio) are written to the audit
 * log, as every write is. Sessions of another tenant are "not found".
 */
import { rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import type { Multipart } from '@fastify/multipart'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { AudioError, SessionError } from '../../audio/errors.js'
import { TRANSCRIPT_CONTENT_TYPES, TRANSCRIPT_FORMATS } from '../../audio/formats.js'
import { SessionNotesSchema } from '../../audio/notes/schema.js'
import { OPENAI_RESPONSE_FORMATS, openAiTranscription } from '../../audio/pipeline/compat.js'
import { engineNames } from '../../audio/pipeline/engines.js'
import { type AudioPipelineOptions, resolvePipelineOptions } from '../../audio/pipeline/options.js'
import { URGENCIES, VISIT_TYPES } from '../../audio/pipeline/priority.js'
import { SESSION_STATUSES, type SessionMetadata } from '../../audio/pipeline/records.js'
import { type AudioSessions, type SessionView, sessionsFor } from '../../audio/pipeline/sessions.js'
import { receiveFile } from '../../audio/pipeline/upload.js'
import { validateAudio } from '../../audio/validate.js'
import { redactUrl } from '../../security/redact.js'
import type { ServerConfig } from '../config.js'
import type { ServerContext } from '../context.js'
import { HttpProblem, problemAnswer, problemOfZodError } from '../problem.js'
import { Reply, route, STREAMING } from '../route.js'
import * as s from '../schemas.js'
import { openSse, resumeFrom } from '../sse.js'

/**
 * The audio pipeline's settings from the server's configuration (`audio` section).
 *
 * @example
 * const options = pipelineOptionsFromConfig(serverConfig({ dataDir: './data' }))
 */
export function pipelineOptionsFromConfig(
  config: Pick<ServerConfig, 'audio' | 'dataDir' | 'store'>,
  env: NodeJS.ProcessEnv = process.env,
): AudioPipelineOptions {
  const audio = config.audio
  const transcriptionLimits = {
    ...(audio.transcriptionConcurrency !== undefined && { concurrency: audio.transcriptionConcurrency }),
    ...(audio.transcriptionPerMinute !== undefined && {
      rateLimit: { max: audio.transcriptionPerMinute, windowMs: 60_000 },
    }),
  }
  return resolvePipelineOptions({
    dir: resolve(audio.dir ?? defaultAudioDir(config)),
    maxUploadBytes: audio.maxUploadBytes,
    maxDurationSec: audio.maxDurationSeconds,
    uploadValidation: audio.uploadValidation,
    audioRetentionMs: Math.round(audio.audioRetentionHours * 3_600_000),
    engines: {
      transcription: audio.transcriptionEngine,
      diarization: audio.diarizationEngine,
      ...(audio.notesEngine !== undefined && { notes: audio.notesEngine }),
    },
    chunkSec: audio.chunkSeconds,
    limits: Object.keys(transcriptionLimits).length > 0 ? { transcription: transcriptionLimits } : {},
    compat: { waitMs: audio.transcriptionWaitSeconds * 1000, keep: audio.keepTranscriptions },
    env,
  })
}

/** Beside a SQLite database (as its key file is), else `<dataDir>/audio`. */
function defaultAudioDir(config: Pick<ServerConfig, 'dataDir' | 'store'>): string {
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/i.exec(config.store)?.[1]?.split('?')[0]
  if (sqlite && sqlite !== ':memory:') return join(dirname(sqlite), 'audio')
  return join(config.dataDir, 'audio')
}

/**
 * The sessions service: the pipeline's, when this process runs it; else one from the configuration.
 * 404 problem when the server has audio turned off.
 *
 * @example
 * const view = await sessionService(context).view(id, tenant)
 */
export function sessionService(app: ServerContext): AudioSessions {
  if (!app.config.audio.enabled) {
    throw new HttpProblem('SPOOL_NOT_FOUND', 'this server has no audio sessions (audio.enabled is false)')
  }
  return sessionsFor(app.spool, pipelineOptionsFromConfig(app.config))
}

export const sessionId = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a session id is a UUID')
const idParams = z.strictObject({ id: sessionId })

export const sessionMetadata = z
  .strictObject({
    patient: z
      .strictObject({
        name: z.string().min(1).max(200).optional(),
        age: z.number().int().min(0).max(150).optional(),
        gender: z.string().min(1).max(50).optional(),
        id: z.string().min(1).max(100).optional(),
      })
      .optional(),
    visitType: z.enum(VISIT_TYPES).optional(),
    urgency: z.enum(URGENCIES).optional(),
    language: z
      .string()
      .regex(/^[a-z]{2,3}([-_][A-Za-z]{2,4})?$/, 'an ISO 639-1 code such as en or en-US')
      .optional(),
    speakers: z.number().int().min(1).max(20).optional().describe('the expected number of speakers'),
    engines: z
      .strictObject({
        transcription: z.string().min(1).max(64).optional(),
        diarization: z.string().min(1).max(64).optional(),
        notes: z.string().min(1).max(64).optional(),
      })
      .optional(),
    priority: s.priority.optional().describe('overrides the priority derived from visitType and urgency'),
  })
  .meta({ id: 'SessionMetadata' })

const chunkCount = z.object({ done: z.number(), total: z.number() })
const sessionSummary = z
  .object({
    id: z.string(),
    kind: z.enum(['session', 'transcription']),
    status: z.enum(SESSION_STATUSES),
    stage: z.string().nullable(),
    progress: z.number().describe('0–100'),
    etaMs: z.number().nullable().describe('expected ms until processed'),
    error: z.string().nullable(),
    warnings: z.array(z.string()),
    filename: z.string(),
    bytes: z.number(),
    durationMs: z.number(),
    audio: z.object({
      mime: z.string(),
      codec: z.string(),
      sampleRate: z.number(),
      channels: z.number(),
      encrypted: z.boolean(),
      deletedAt: z.string().nullable(),
    }),
    metadata: sessionMetadata,
    engines: z.object({ transcription: z.string(), diarization: z.string(), notes: z.string() }),
    priority: z.number(),
    priorityName: z.string(),
    priorityReason: z.string(),
    chunks: z.object({ transcription: chunkCount, diarization: chunkCount }),
    stages: z
      .array(
        z.object({
          name: z.string().describe('validate, preprocess, transcribe, diarize, merge, notes, save'),
          state: z.enum(['waiting', 'running', 'done', 'failed']),
          progress: z.number().describe('0–100'),
        }),
      )
      .describe('every stage of the run in order (all done once processed, empty once failed)'),
    position: z.number().nullable(),
    estimatedWaitMs: z.number().nullable(),
    run: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    timings: z.record(z.string(), z.number()).nullable().describe('wall ms per stage, once processed'),
  })
  .meta({ id: 'SessionSummary' })

const reliability = z
  .object({
    level: z.enum(['low', 'moderate', 'unknown']),
    engine: z.string().describe('the transcription engine'),
    expectedError: z.string().describe('how many words the engine is expected to get wrong'),
    diarization: z.object({ engine: z.string(), expectedError: z.string() }).nullable(),
    flags: z.array(z.string()).describe("this recording's quality flags"),
    statement: z.string().describe('all of the above in a paragraph, as the dashboard and downloads show it'),
  })
  .meta({ id: 'Reliability' })

const session = sessionSummary
  .extend({
    results: z
      .object({
        reliability: reliability.nullable().describe('how far to trust the transcript and notes'),
        diarization: z
          .object({
            engine: z.string(),
            speakers: z.array(z.string()),
            turns: z.array(z.object({ start: z.number(), end: z.number(), speaker: z.string() })),
          })
          .nullable()
          .describe(
            "the diarizer's own speaker turns (times in the upload), to score diarization apart from the merge",
          ),
        transcript: z.object({
          text: z.string(),
          speakers: z.array(z.string()).describe('the speakers found; Unknown (words without a turn) is never one'),
          reliability: reliability.optional(),
          gating: z
            .object({ words: z.number(), dropped: z.number(), keptOutsideSpeech: z.number() })
            .optional()
            .describe('words outside detected speech: dropped, or kept for their high confidence'),
          attribution: z.enum(['word', 'segment', 'none']),
          language: z.string().optional(),
          engine: z.string(),
          warnings: z.array(z.string()),
          segments: z.array(
            z.object({
              speaker: z.string(),
              start: z.number(),
              end: z.number(),
              text: z.string(),
              words: z.array(
                z.object({ word: z.string(), start: z.number(), end: z.number(), confidence: z.number().optional() }),
              ),
            }),
          ),
        }),
        notes: z
          .object({
            notes: SessionNotesSchema,
            engine: z.string(),
            heuristic: z.boolean().describe('rule-based output: a draft for a clinician to check, not a summary'),
            warnings: z.array(z.string()),
            reliability: z.string().optional().describe("the transcript's reliability statement and the notes' caveat"),
          })
          .nullable(),
        quality: z.object({
          wordsPerMinute: z.number(),
          repetitionRatio: z.number().describe('0–1: repeated trigrams / all trigrams'),
          longestRepeat: z.number(),
          speechWithoutWordsRatio: z.number().optional(),
          speechSec: z.number(),
          words: z.number().optional(),
          outsideSpeechRatio: z.number().optional().describe("0–1: the transcriber's words outside detected speech"),
          unknownRatio: z.number().optional().describe('0–1: words without a speaker'),
          lowConfidenceRatio: z.number().optional().describe('0–1: words the engine was under 50 % sure of'),
          flags: z.array(z.string()).describe('reasons for concern; empty when none'),
        }),
        engineMs: z.record(z.string(), z.number()),
      })
      .nullable(),
  })
  .meta({ id: 'Session' })

const created = z
  .object({
    id: z.string(),
    status: z.enum(SESSION_STATUSES),
    priority: z.number(),
    priorityName: z.string(),
    position: z.number().nullable().describe('runnable jobs ahead of its first stage'),
    estimatedWaitMs: z.number().nullable(),
    etaMs: z.number().nullable().describe('expected ms until processed, wait included'),
  })
  .meta({ id: 'SessionCreated' })

const listQuery = z.strictObject({
  status: z.enum(SESSION_STATUSES).optional(),
  kind: z.enum(['session', 'transcription']).optional(),
  visitType: z.enum(VISIT_TYPES).optional(),
  urgency: z.enum(URGENCIES).optional(),
  patientId: z.string().min(1).max(100).optional(),
  createdAfter: s.timeQuery.optional(),
  createdBefore: s.timeQuery.optional(),
  cursor: z.string().min(1).max(200).optional(),
  limit: s.intQuery(1, 100).optional(),
})

/**
 * Runs a handler's work, answering an `AudioError` or `SessionError` it throws with its problem
 * (through the one mapper, `problemAnswer`) instead of rethrowing, so the audit entry still
 * names what the handler had set as its target.
 */
async function answer<T>(request: FastifyRequest, work: () => Promise<T>): Promise<T | Reply> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof AudioError || error instanceof SessionError) return problemReply(request, error)
    throw error
  }
}

function problemReply(request: FastifyRequest, error: unknown, headers: Record<string, string> = {}): Reply {
  const answer = problemAnswer(
    error,
    redactUrl(request.url.split('?')[0] ?? ''),
    String(request.id),
    request.spoolState?.route.errorShape,
  )
  return new Reply(answer.status, answer.body, { ...answer.headers, ...headers })
}

interface ReceivedUpload {
  path: string
  filename: string
  bytes: number
  sha256: string
  fields: Record<string, string>
}

/**
 * Reads a multipart body: its one file streams to a temporary file (at most `maxBytes`), its
 * text fields are collected. The temporary file is the caller's to remove.
 */
async function receiveUpload(
  request: FastifyRequest,
  sessions: AudioSessions,
  allowedFields: readonly string[],
): Promise<ReceivedUpload> {
  if (!request.isMultipart()) {
    throw new HttpProblem(
      'SPOOL_UNSUPPORTED_MEDIA_TYPE',
      'send multipart/form-data with a `file` part (and `metadata` as JSON text)',
      { field: 'content-type' },
    )
  }
  const maxBytes = sessions.options.maxUploadBytes
  const declared = Number(request.headers['content-length'])
  // The file plus what a form can add (metadata ≤ 64 KiB, boundaries): refused before reading it.
  if (Number.isFinite(declared) && declared > maxBytes + 256 * 1024) {
    throw new AudioError('AUDIO_TOO_LARGE', `The upload is ${declared} bytes; the limit is ${maxBytes}`, {
      field: 'file',
      bytes: declared,
      limit: maxBytes,
    })
  }
  let file: ReceivedUpload | null = null
  const fields: Record<string, string> = {}
  // The first refusal is kept while the rest of the body is still read (and dropped): answering
  // before the client has sent everything would reset its connection instead of telling it why.
  let refusal: unknown = null
  try {
    for await (const part of request.parts({ limits: { fileSize: maxBytes + 1 } }) as AsyncIterable<Multipart>) {
      if (refusal !== null) {
        if (part.type === 'file') part.file.resume()
        continue
      }
      try {
        if (part.type === 'file') {
          if (part.fieldname !== 'file' || file) {
            part.file.resume()
            throw new HttpProblem('SPOOL_INVALID_REQUEST', 'send exactly one file, in the part named `file`', {
              field: part.fieldname,
            })
          }
          const target = await sessions.files.tempFile()
          const received = await receiveFile(part.file, target, maxBytes)
          file = { ...received, filename: part.filename || 'recording', fields }
          continue
        }
        if (!allowedFields.includes(part.fieldname)) {
          throw new HttpProblem('SPOOL_UNKNOWN_FIELD', `${part.fieldname} is not a field this route takes`, {
            field: part.fieldname,
            location: 'body',
          })
        }
        // A repeated field (`timestamp_granularities[]`) keeps every value, comma-separated.
        const value = String(part.value)
        fields[part.fieldname] = fields[part.fieldname] === undefined ? value : `${fields[part.fieldname]},${value}`
      } catch (error) {
        refusal = error
      }
    }
  } catch (error) {
    refusal ??= error
  }
  if (refusal !== null) {
    if (file) await rm(file.path, { force: true })
    const code = (refusal as { code?: string }).code
    if (code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new AudioError('AUDIO_TOO_LARGE', `The file is larger than the limit of ${maxBytes} bytes`, {
        field: 'file',
        limit: maxBytes,
      })
    }
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') {
      throw new HttpProblem('SPOOL_INVALID_REQUEST', (refusal as Error).message, { field: 'body' })
    }
    throw refusal
  }
  if (!file) throw new HttpProblem('SPOOL_INVALID_REQUEST', 'the upload has no `file` part', { field: 'file' })
  return file
}

function parseMetadata(text: string | undefined): SessionMetadata {
  if (text === undefined || text.trim() === '') return {}
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new HttpProblem('SPOOL_INVALID_JSON', 'metadata is not valid JSON', { field: 'metadata' })
  }
  const parsed = sessionMetadata.safeParse(json)
  if (parsed.success) return parsed.data as SessionMetadata
  throw problemOfZodError(parsed.error, {
    prefix: ['metadata'],
    fallback: 'metadata',
    location: 'body',
    takes: 'sessions',
  })
}

function actor(principal: { kind: string; id: string; user: string | null }): string {
  return principal.user ?? `${principal.kind}:${principal.id}`
}

/** Validates a received upload and creates its session; the temporary file is gone afterwards either way. */
async function createSession(
  sessions: AudioSessions,
  upload: ReceivedUpload,
  input: {
    tenant: string
    createdBy: string
    metadata: SessionMetadata
    kind?: 'session' | 'transcription'
    prompt?: string | null
  },
) {
  try {
    const info = await validateAudio(upload.path, {
      filename: upload.filename,
      maxBytes: sessions.options.maxUploadBytes,
      maxDurationSec: sessions.options.maxDurationSec,
      decode: sessions.options.uploadValidation,
    })
    return await sessions.create({
      tenant: input.tenant,
      createdBy: input.createdBy,
      path: upload.path,
      filename: upload.filename,
      metadata: input.metadata,
      info,
      sha256: upload.sha256,
      ...(input.kind !== undefined && { kind: input.kind }),
      ...(input.prompt !== undefined && { prompt: input.prompt }),
    })
  } finally {
    await rm(upload.path, { force: true })
  }
}

/**
 * What a live stream (SSE or WebSocket) sends of a session: progress only, no results and no
 * patient details, so a frame needs no audit entry.
 *
 * @example
 * send({ type: 'session', session: progressFrame(view) })
 */
export function progressFrame(view: SessionView): Omit<SessionView, 'results' | 'metadata'> {
  const { results: _results, metadata: _metadata, ...summary } = view
  return summary
}

/**
 * A session's progress as server-sent events: a `session` frame (its status, stage, progress,
 * ETA) at once and whenever it changes; frames carry the id of the engine event that caused
 * them, so `Last-Event-ID` resumes. A `: ping` comment keeps proxies open.
 */
function openSessionStream(
  app: ServerContext,
  sessions: AudioSessions,
  request: FastifyRequest,
  reply: FastifyReply,
  target: { id: string; tenant: string; afterId: number | undefined },
): void {
  openSse(app, request, reply, (stream) =>
    sessions.watch(
      target.id,
      target.tenant,
      { ...(target.afterId !== undefined && { afterId: target.afterId }) },
      (view, eventId) => {
        const id = eventId === null ? '' : `id: ${eventId}\n`
        stream.write(`${id}event: session\ndata: ${JSON.stringify(progressFrame(view))}\n\n`)
      },
      (error) => {
        const message = error instanceof SessionError ? error.message : 'the session could not be read'
        stream.write(`event: error\ndata: ${JSON.stringify({ detail: message })}\n\n`)
        stream.end()
      },
    ),
  )
}

const AUDIO_MIME: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
  webm: 'audio/webm',
}

export const sessionRoutes = [
  route({
    id: 'sessions.create',
    method: 'POST',
    url: '/v1/sessions',
    tag: 'sessions',
    summary: 'Upload a recording: a session is validated, stored encrypted and queued',
    description:
      'multipart/form-data with `file` (mp3, wav, m4a, ogg, flac or webm; at most audio.maxUploadBytes, 500 MB by default) and `metadata` (JSON text, see SessionMetadata: patient, visitType, urgency, language, speakers, engines, priority). The priority comes from the context — emergency visit or immediate urgency → urgent, same-day → high, next-day or none → normal, routine → low — unless `metadata.priority` is given. The upload streams to disk and is checked (size, extension, magic bytes, ffprobe, a full decode) before anything is kept: a bad one answers 413, 415 or 422 (codes AUDIO_TOO_LARGE, AUDIO_UNSUPPORTED_TYPE, AUDIO_TYPE_MISMATCH, AUDIO_UNDECODABLE, AUDIO_TRUNCATED, AUDIO_TOO_LONG) and nothing is stored. 202 with the id, the position of its first job and the expected wait.',
    permission: 'produce',
    multipart: true,
    response: created,
    status: 202,
    errors: [413, 422, 429, 503],
    async handler({ app, request, tenant, principal, audit }) {
      const sessions = sessionService(app)
      return answer(request, async () => {
        const upload = await receiveUpload(request, sessions, ['metadata'])
        let metadata: SessionMetadata
        try {
          metadata = parseMetadata(upload.fields.metadata)
        } catch (error) {
          await rm(upload.path, { force: true })
          throw error
        }
        await app.admission.admit(tenant, 'audio.validate')
        const { session: view } = await createSession(sessions, upload, {
          tenant,
          createdBy: actor(principal),
          metadata,
        })
        audit.target = view.id
        return new Reply(202, {
          id: view.id,
          status: view.status,
          priority: view.priority,
          priorityName: view.priorityName,
          position: view.position,
          estimatedWaitMs: view.estimatedWaitMs,
          etaMs: view.etaMs,
        })
      })
    },
  }),
  route({
    id: 'sessions.list',
    method: 'GET',
    url: '/v1/sessions',
    tag: 'sessions',
    summary: 'Sessions of this tenant, newest first',
    description: 'Filters combine with AND. Pass `nextCursor` back as `cursor` for the next page.',
    permission: 'read',
    query: listQuery,
    response: z.object({ sessions: z.array(sessionSummary), nextCursor: z.string().nullable() }),
    auditRead: true,
    async handler({ app, request, query, tenant }) {
      const sessions = sessionService(app)
      return answer(request, async () => {
        const page = await sessions.list(tenant, {
          ...(query.status !== undefined && { status: query.status }),
          ...(query.kind !== undefined && { kind: query.kind }),
          ...(query.visitType !== undefined && { visitType: query.visitType }),
          ...(query.urgency !== undefined && { urgency: query.urgency }),
          ...(query.patientId !== undefined && { patientId: query.patientId }),
          ...(query.createdAfter !== undefined && { createdAfter: query.createdAfter }),
          ...(query.createdBefore !== undefined && { createdBefore: query.createdBefore }),
          ...(query.cursor !== undefined && { cursor: query.cursor }),
          ...(query.limit !== undefined && { limit: query.limit }),
        })
        return {
          sessions: page.sessions.map(({ results: _results, ...summary }) => summary),
          nextCursor: page.nextCursor,
        }
      })
    },
  }),
  route({
    id: 'sessions.get',
    method: 'GET',
    url: '/v1/sessions/:id',
    tag: 'sessions',
    summary: 'A session: status, stage, progress, ETA, warnings, timings and (once processed) results',
    description:
      'Statuses: queued, preprocessing, transcribing, diarizing, extracting_notes, processed, failed; `stages` has every stage with its state. Progress is by stage weight, each stage weighing what it is expected to take on this recording at the speeds measured on this installation; the ETA is the same figures, projected from the pace seen when a stage runs slower. `results: false` leaves out the transcript and notes.',
    permission: 'read',
    params: idParams,
    query: z.strictObject({
      results: s.boolQuery.optional().describe('include the transcript and notes (default true)'),
    }),
    response: session,
    auditRead: true,
    async handler({ app, request, params, query, tenant }) {
      const sessions = sessionService(app)
      return answer(request, () => sessions.view(params.id, tenant, { results: query.results ?? true, position: true }))
    },
  }),
  route({
    id: 'sessions.transcript',
    method: 'GET',
    url: '/v1/sessions/:id/transcript',
    tag: 'sessions',
    summary: 'The transcript of a processed session as json, txt, srt or vtt',
    description:
      'Times are in the uploaded recording. txt: one line per segment with time and speaker; srt and vtt: subtitles (VTT carries speakers as voice spans). 409 until the session is processed.',
    permission: 'read',
    params: idParams,
    query: z.strictObject({ format: z.enum(TRANSCRIPT_FORMATS).optional().describe('default json') }),
    errors: [409],
    auditRead: true,
    auditAs: 'sessions.get',
    async handler({ app, request, params, query, tenant }) {
      const sessions = sessionService(app)
      return answer(request, async () => {
        const format = query.format ?? 'json'
        const text = await sessions.transcript(params.id, tenant, format)
        return new Reply(200, text, {
          'content-type': TRANSCRIPT_CONTENT_TYPES[format],
          'content-disposition': `inline; filename="session-${params.id}.${format}"`,
        })
      })
    },
  }),
  route({
    id: 'sessions.audio',
    method: 'GET',
    url: '/v1/sessions/:id/audio',
    tag: 'sessions',
    summary: 'The uploaded recording (decrypted as it streams)',
    description: '410 once retention deleted the audio.',
    permission: 'read',
    params: idParams,
    errors: [410],
    auditRead: true,
    async handler({ app, request, params, tenant }) {
      const sessions = sessionService(app)
      return answer(request, async () => {
        const audio = await sessions.audio(params.id, tenant)
        const extension = audio.filename.split('.').at(-1)?.toLowerCase() ?? ''
        return new Reply(200, Readable.from(audio.stream), {
          'content-type': AUDIO_MIME[extension] ?? audio.mime,
          'content-length': String(audio.bytes),
          'cache-control': 'private, no-store',
        })
      })
    },
  }),
  route({
    id: 'sessions.events',
    method: 'GET',
    url: '/v1/sessions/:id/events',
    tag: 'sessions',
    summary: 'Server-sent events: the session’s status, stage, progress and ETA as they change',
    description:
      'text/event-stream of `session` events (data: the session without results and patient details), one at once and one per change; progress never goes down within a stream (a retry starts again from 0). Reconnect with `Last-Event-ID` to resume. Browsers may pass the credential as `access_token`.',
    permission: 'read',
    params: idParams,
    query: z.strictObject({
      lastEventId: s.intQuery(0, Number.MAX_SAFE_INTEGER).optional(),
      access_token: z.string().max(4096).optional(),
      tenant: s.tenantName.optional(),
    }),
    stream: true,
    async handler({ app, request, reply, params, query, tenant }) {
      const sessions = sessionService(app)
      const header = request.headers['last-event-id']
      if (typeof header === 'string' && !/^\d{1,16}$/.test(header.trim())) {
        throw new HttpProblem('SPOOL_INVALID_REQUEST', 'Last-Event-ID must be an event id this server sent', {
          field: 'last-event-id',
        })
      }
      return answer(request, async () => {
        await sessions.record(params.id, tenant)
        openSessionStream(app, sessions, request, reply, {
          id: params.id,
          tenant,
          afterId: resumeFrom(header, query.lastEventId),
        })
        return STREAMING
      })
    },
  }),
  route({
    id: 'sessions.update',
    method: 'PATCH',
    url: '/v1/sessions/:id',
    tag: 'sessions',
    summary: 'Change a session’s priority (its jobs that have not started, and those it adds later)',
    permission: 'produce',
    params: idParams,
    body: z.strictObject({ priority: s.priority }),
    response: sessionSummary,
    errors: [409],
    async handler({ app, request, params, body, tenant }) {
      const sessions = sessionService(app)
      return answer(request, async () => {
        const { results: _results, ...summary } = await sessions.setPriority(params.id, tenant, body.priority)
        return summary
      })
    },
  }),
  route({
    id: 'sessions.retry',
    method: 'POST',
    url: '/v1/sessions/:id/retry',
    tag: 'sessions',
    summary: 'Run a failed session again from its stored recording',
    description: '409 unless the session failed, or when retention already deleted its audio.',
    permission: 'produce',
    params: idParams,
    response: sessionSummary,
    errors: [409],
    async handler({ app, request, params, tenant }) {
      const sessions = sessionService(app)
      return answer(request, async () => {
        const { results: _results, ...summary } = await sessions.retry(params.id, tenant)
        return summary
      })
    },
  }),
  route({
    id: 'sessions.delete',
    method: 'DELETE',
    url: '/v1/sessions/:id',
    tag: 'sessions',
    summary: 'Delete a session: its audio, transcript, notes, patient details and jobs',
    description: 'Running jobs are cancelled first. 204.',
    permission: 'produce',
    params: idParams,
    status: 204,
    async handler({ app, request, params, tenant }) {
      const sessions = sessionService(app)
      return answer(request, async () => {
        await sessions.remove(params.id, tenant)
        return new Reply(204, undefined)
      })
    },
  }),
  route({
    id: 'audio.transcriptions',
    method: 'POST',
    url: '/v1/audio/transcriptions',
    tag: 'sessions',
    summary: 'OpenAI-compatible transcription: queued through Spool, answered when done',
    description:
      'The OpenAI API’s request (multipart: `file`, `model`, optional `language`, `prompt`, `response_format` json|text|srt|vtt|verbose_json, `timestamp_granularities[]` word|segment, `temperature`), so the `openai` SDK works with Spool as its base URL and an API key of Spool. `model` names a transcription engine of this server (pocketsphinx, sherpa, openai, …) or is any other name (`whisper-1`) for the default. The recording runs validate → preprocess → chunked transcription as a `transcription` session (no diarization, no notes) and the answer waits for it up to audio.transcriptionWaitSeconds; past that, 504 with the session id (`Spool-Session-Id`) to follow with GET /v1/sessions/:id. The session is deleted once answered unless audio.keepTranscriptions. Errors are problem+json with the OpenAI API’s `error` object beside the problem fields (`{ message, type, code, param }`; `code` is the problem’s code in lower case, as OpenAI writes codes), so the SDK’s exception says why.',
    permission: 'produce',
    multipart: true,
    errors: [413, 415, 422, 504],
    errorShape: 'openai',
    async handler({ app, request, reply, tenant, principal, audit }) {
      const sessions = sessionService(app)
      return answer(request, async () => {
        const upload = await receiveUpload(request, sessions, [
          'model',
          'language',
          'prompt',
          'response_format',
          'temperature',
          'timestamp_granularities[]',
          'timestamp_granularities',
          'chunking_strategy',
          'stream',
        ])
        const fields = upload.fields
        const format = (fields.response_format ?? 'json') as (typeof OPENAI_RESPONSE_FORMATS)[number]
        const problem = (message: string, field: string) => {
          throw new HttpProblem('SPOOL_INVALID_REQUEST', message, { field, location: 'body' })
        }
        try {
          if (!fields.model) problem('model is required', 'model')
          if (!OPENAI_RESPONSE_FORMATS.includes(format)) {
            problem(`response_format must be one of ${OPENAI_RESPONSE_FORMATS.join(', ')}`, 'response_format')
          }
          if (fields.stream === 'true') problem('stream is not supported', 'stream')
          if (fields.language !== undefined && !/^[a-z]{2,3}$/.test(fields.language)) {
            problem('language must be an ISO 639-1 code such as en', 'language')
          }
        } catch (error) {
          await rm(upload.path, { force: true })
          throw error
        }
        const granularities = (fields['timestamp_granularities[]'] ?? fields.timestamp_granularities ?? 'segment')
          .split(',')
          .map((g) => g.trim())
        const model = fields.model as string
        const engine = engineNames('transcription').includes(model) ? model : undefined
        await app.admission.admit(tenant, 'audio.validate')
        const { session: createdView } = await createSession(sessions, upload, {
          tenant,
          createdBy: actor(principal),
          kind: 'transcription',
          prompt: fields.prompt ?? null,
          metadata: {
            ...(fields.language !== undefined && { language: fields.language }),
            ...(engine !== undefined && { engines: { transcription: engine } }),
          },
        })
        audit.target = createdView.id
        // The response's close, not the request's: a request emits 'close' once its body is
        // read, so listening there never noticed a client leaving mid-wait.
        const closing = new AbortController()
        const onClose = () => {
          if (!reply.raw.writableFinished) closing.abort(new Error('the client went away'))
        }
        reply.raw.once('close', onClose)
        if (reply.raw.destroyed || request.raw.socket?.destroyed) onClose()
        let view: SessionView
        try {
          closing.signal.throwIfAborted()
          view = await sessions.waitUntilFinished(
            createdView.id,
            tenant,
            sessions.options.compat.waitMs,
            closing.signal,
          )
        } catch (error) {
          // The caller went away: nobody will read the answer, so nothing is kept for it either.
          if (closing.signal.aborted && !sessions.options.compat.keep) {
            await sessions.remove(createdView.id, tenant).catch(() => {})
          }
          throw error
        } finally {
          reply.raw.off('close', onClose)
        }
        if (view.status === 'failed') {
          if (!sessions.options.compat.keep) await sessions.remove(view.id, tenant).catch(() => {})
          throw new AudioError('AUDIO_ENGINE_FAILED', view.error ?? 'transcription failed', { sessionId: view.id })
        }
        if (view.status !== 'processed') {
          const pending = new SessionError(
            'SPOOL_TRANSCRIPTION_PENDING',
            `session ${view.id} is ${view.status} (${view.progress} %); follow it with GET /v1/sessions/${view.id}`,
            { sessionId: view.id },
          )
          return problemReply(request, pending, { 'spool-session-id': view.id })
        }
        const results = await sessions.results(view.id, tenant)
        if (!results) throw new SessionError('SESSION_NOT_FOUND', `session ${view.id} has no results`)
        const { body, contentType } = openAiTranscription(results.transcript, format, {
          words: granularities.includes('word'),
          segments: granularities.includes('segment') || format === 'verbose_json',
          durationSec: view.durationMs / 1000,
          language: fields.language,
        })
        if (!sessions.options.compat.keep) await sessions.remove(view.id, tenant).catch(() => {})
        return new Reply(200, body, { 'content-type': contentType, 'spool-session-id': view.id })
      })
    },
  }),
]
