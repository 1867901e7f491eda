/**
 * Sessions: the service behind `/v1/sessions` (and usable from code). It creates a session from
 * a received upload (stored encrypted, one run of jobs enqueued), reads a session's live status
 * from its jobs, lists, re-prioritises, retries, deletes (purging audio, transcript, notes and
 * patient details), formats transcripts, and applies audio retention.
 *
 * Every read takes the caller's tenant: a session of another tenant is "not found", exactly
 * like a missing one.
 */
import { randomUUID } from 'node:crypto'
import { copyFile, rm } from 'node:fs/promises'
import { basename } from 'node:path'
import { SpoolError } from '../../engine/errors.js'
import type { Priority } from '../../engine/priority.js'
import { priorityValue } from '../../engine/priority.js'
import type { Spool } from '../../engine/spool.js'
import { SESSION_ERROR_CODES, SessionError } from '../errors.js'
import { formatTranscript, type TranscriptFormat } from '../formats.js'
import type { AttributedSegment, AttributedWord, SpeakerTranscript } from '../merge.js'
import type { Reliability } from '../reliability.js'
import { type AudioInfo, validateAudio } from '../validate.js'
import { assertEngine } from './engines.js'
import { SessionFiles } from './files.js'
import { enqueueRun } from './flow.js'
import { type AudioPipelineOptions, QUEUES } from './options.js'
import { nameOf, sessionPriority } from './priority.js'
import {
  type SessionJobs,
  type SessionMetadata,
  type SessionRecord,
  SessionRecords,
  type SessionResults,
  type SessionStatus,
} from './records.js'
import { SpeedModel } from './speed.js'
import { doneStages, type LiveStatus, liveStatus, loadRunJobs, type RunJobs } from './status.js'
import { sha256File } from './upload.js'
import { isEncryptingCodec, readVaultStream, writeVaultFile } from './vault.js'

/** A session as the API shows it. */
export interface SessionView {
  id: string
  kind: SessionRecord['kind']
  status: SessionStatus
  stage: string | null
  progress: number
  etaMs: number | null
  error: string | null
  warnings: string[]
  filename: string
  bytes: number
  durationMs: number
  audio: {
    mime: string
    codec: string
    sampleRate: number
    channels: number
    encrypted: boolean
    deletedAt: string | null
  }
  metadata: SessionMetadata
  engines: SessionRecord['engines']
  priority: number
  priorityName: string
  priorityReason: string
  chunks: LiveStatus['chunks']
  /** Every stage of the run in order, with its state and progress (all done once processed, empty once failed). */
  stages: LiveStatus['stages']
  /** Runnable jobs ahead of this session's first stage, while it is queued. */
  position: number | null
  estimatedWaitMs: number | null
  run: number
  createdAt: string
  updatedAt: string
  finishedAt: string | null
  timings: Record<string, number> | null
  results: {
    transcript: Omit<SpeakerTranscript, 'segments' | 'words'> & { segments: ApiSegment[] }
    /** How far to trust the transcript and notes (the transcript's own statement, repeated on top). */
    reliability: Reliability | null
    notes: SessionResults['notes']
    /** The diarizer's own turns, to score diarization apart from the merge. */
    diarization: NonNullable<SessionResults['diarization']> | null
    quality: SessionResults['quality']
    engineMs: Record<string, number>
  } | null
}

export interface ApiSegment {
  speaker: string
  start: number
  end: number
  text: string
  words: { word: string; start: number; end: number; confidence?: number }[]
}

export interface CreateSessionInput {
  tenant: string
  /** Who created it (for the record; e.g. `key:abc`). */
  createdBy: string
  /** A plaintext file with the upload; it is encrypted into the session and removed. */
  path: string
  filename: string
  metadata: SessionMetadata
  info: AudioInfo
  sha256: string
  kind?: SessionRecord['kind']
  prompt?: string | null
}

export interface ListFilter {
  status?: SessionStatus
  kind?: SessionRecord['kind']
  visitType?: SessionMetadata['visitType']
  urgency?: SessionMetadata['urgency']
  patientId?: string
  createdAfter?: number
  createdBefore?: number
  cursor?: string
  limit?: number
}

const TERMINAL = new Set<SessionStatus>(['processed', 'failed'])

/** The statuses of a run that goes well, in order. */
const STATUS_ORDER: SessionStatus[] = [
  'queued',
  'preprocessing',
  'transcribing',
  'diarizing',
  'extracting_notes',
  'processed',
]
const STATUS_STAGE: Partial<Record<SessionStatus, string>> = {
  preprocessing: 'preprocess',
  transcribing: 'transcribe',
  diarizing: 'diarize',
  extracting_notes: 'notes',
}

const cache = new WeakMap<Spool, AudioSessions>()

/**
 * The sessions service of a Spool, one per Spool (the server's routes and the pipeline's
 * workers share it in one process).
 *
 * @example
 * const sessions = sessionsFor(spool, resolvePipelineOptions({ dir: './data/audio' }))
 * const { id } = (await sessions.createFromFile('visit.m4a', { tenant: 'default', metadata: { urgency: 'same-day' } })).session
 */
export function sessionsFor(spool: Spool, options: AudioPipelineOptions): AudioSessions {
  let sessions = cache.get(spool)
  if (!sessions) {
    sessions = new AudioSessions(spool, options)
    cache.set(spool, sessions)
  }
  return sessions
}

export class AudioSessions {
  readonly records: SessionRecords
  readonly files: SessionFiles
  readonly speed: SpeedModel

  constructor(
    readonly spool: Spool,
    readonly options: AudioPipelineOptions,
  ) {
    this.records = new SessionRecords(spool)
    this.files = new SessionFiles(options.dir)
    this.speed = new SpeedModel(spool)
  }

  /**
   * Creates a session from an upload that passed validation: stores it encrypted, removes the
   * plaintext, writes the session and enqueues its jobs. On any failure nothing is kept.
   */
  async create(input: CreateSessionInput): Promise<{ session: SessionView; record: SessionRecord }> {
    const kind = input.kind ?? 'session'
    const engines = {
      transcription: input.metadata.engines?.transcription ?? this.options.engines.transcription,
      diarization:
        kind === 'session' ? (input.metadata.engines?.diarization ?? this.options.engines.diarization) : 'none',
      notes: kind === 'session' ? (input.metadata.engines?.notes ?? this.options.engines.notes) : 'none',
    }
    assertEngine(this.options, 'transcription', engines.transcription)
    if (kind === 'session') {
      assertEngine(this.options, 'diarization', engines.diarization)
      assertEngine(this.options, 'notes', engines.notes)
    }
    const priority = sessionPriority({
      ...(input.metadata.visitType !== undefined && { visitType: input.metadata.visitType }),
      ...(input.metadata.urgency !== undefined && { urgency: input.metadata.urgency }),
      ...(input.metadata.priority !== undefined && { priority: input.metadata.priority }),
    })
    const id = randomUUID()
    const now = Date.now()
    const record: SessionRecord = {
      id,
      tenant: input.tenant,
      kind,
      run: 1,
      status: 'queued',
      error: null,
      upload: {
        filename: input.filename,
        bytes: input.info.bytes,
        sha256: input.sha256,
        extension: input.info.extension,
        mime: input.info.content.mime,
        codec: input.info.codec,
        sampleRate: input.info.sampleRate,
        channels: input.info.channels,
        durationSec: input.info.durationSec,
        encrypted: isEncryptingCodec(this.spool.codec),
      },
      metadata: input.metadata,
      engines,
      priority: priority.priority,
      priorityReason: priority.reason,
      jobs: emptyJobs(),
      warnings: [...input.info.warnings],
      prompt: input.prompt ?? null,
      createdBy: input.createdBy,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      audioDeletedAt: null,
      previousRuns: [],
    }
    try {
      await this.files.ensureSessionDir(id)
      await writeVaultFile(this.spool.codec, input.path, this.files.upload(id))
      await rm(input.path, { force: true })
      await this.records.put(record)
      record.jobs = await enqueueRun(this.spool, this.options, record)
      await this.records.put(record)
    } catch (error) {
      await this.records.drop(id).catch(() => {})
      await this.files.purge(id).catch(() => {})
      throw error
    }
    return { session: await this.toView(record, { results: false, position: true }), record }
  }

  /**
   * Validates a file on disk and creates a session from it (the library's way in; the HTTP
   * route receives, validates and calls `create`). The file itself is left in place.
   *
   * @example
   * const { session } = await sessions.createFromFile('visit.flac', { tenant: 'default', metadata: { speakers: 2 } })
   */
  async createFromFile(
    path: string,
    input: {
      tenant?: string
      filename?: string
      metadata?: SessionMetadata
      kind?: SessionRecord['kind']
      createdBy?: string
    },
  ): Promise<{ session: SessionView; record: SessionRecord }> {
    const filename = input.filename ?? basename(path)
    const info = await validateAudio(path, {
      filename,
      maxBytes: this.options.maxUploadBytes,
      maxDurationSec: this.options.maxDurationSec,
      decode: this.options.uploadValidation,
    })
    const copy = await this.files.tempFile()
    await copyFile(path, copy)
    try {
      return await this.create({
        tenant: input.tenant ?? 'default',
        createdBy: input.createdBy ?? 'library',
        path: copy,
        filename,
        metadata: input.metadata ?? {},
        info,
        sha256: await sha256File(copy),
        ...(input.kind !== undefined && { kind: input.kind }),
      })
    } finally {
      await rm(copy, { force: true })
    }
  }

  /** The session record, if it exists in this tenant. */
  async record(id: string, tenant: string): Promise<SessionRecord> {
    const record = isSessionId(id) ? await this.records.get(id) : null
    if (!record || record.tenant !== tenant) throw notFound(id)
    return record
  }

  /**
   * @example
   * const view = await sessions.view(id, 'default', { results: true })
   */
  async view(
    id: string,
    tenant: string,
    options: { results?: boolean; position?: boolean } = {},
  ): Promise<SessionView> {
    return this.toView(await this.record(id, tenant), options)
  }

  /** Live status (and, once finished, what is stored), writing a newly found failure to the record. */
  async live(record: SessionRecord): Promise<{ live: LiveStatus; run: RunJobs | null; record: SessionRecord }> {
    if (TERMINAL.has(record.status)) {
      return {
        live: {
          status: record.status,
          stage: null,
          progress: record.status === 'processed' ? 100 : 0,
          etaMs: null,
          chunks: { transcription: { done: 0, total: 0 }, diarization: { done: 0, total: 0 } },
          error: record.error,
          stages: record.status === 'processed' ? doneStages(record) : [],
        },
        run: null,
        record,
      }
    }
    const run = await loadRunJobs(this.spool, record)
    const live = await liveStatus(record, run, this.speed)
    if (live.status === 'failed') {
      record = (await this.markFailed(record, live.error ?? 'failed')) ?? record
    }
    return { live, run, record }
  }

  async markFailed(record: SessionRecord, reason: string): Promise<SessionRecord | null> {
    return this.records.update(record.id, (r) => {
      if (r.run !== record.run || TERMINAL.has(r.status)) return
      r.status = 'failed'
      r.error = reason
      r.finishedAt = Date.now()
    })
  }

  private async toView(
    record: SessionRecord,
    options: { results?: boolean; position?: boolean },
  ): Promise<SessionView> {
    return (await this.viewAndRun(record, options)).view
  }

  private async viewAndRun(
    record: SessionRecord,
    options: { results?: boolean; position?: boolean },
  ): Promise<{ view: SessionView; run: RunJobs | null }> {
    const { live, run, record: current } = await this.live(record)
    record = current
    let position: number | null = null
    let estimatedWaitMs: number | null = null
    if (options.position && live.status === 'queued') {
      const at = await this.spool.jobs.position(record.jobs.validate).catch(() => null)
      if (at) {
        position = at.position
        estimatedWaitMs = await this.queueWait(at)
      }
    }
    let chunks = live.chunks
    let results: SessionView['results'] = null
    let timings: SessionView['timings'] = null
    if (record.status === 'processed') {
      const stored = await this.records.results(record.id)
      if (stored) {
        timings = stored.timings
        chunks = {
          transcription: { done: stored.chunks.transcription, total: stored.chunks.transcription },
          diarization: { done: stored.chunks.diarization, total: stored.chunks.diarization },
        }
        if (options.results) {
          const { segments, words, ...transcript } = stored.transcript
          results = {
            transcript: { ...transcript, segments: nestWords(segments, words) },
            reliability: transcript.reliability ?? null,
            notes: stored.notes,
            diarization: stored.diarization ?? null,
            quality: stored.quality,
            engineMs: stored.engineMs,
          }
        }
      }
    }
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())
    const view: SessionView = {
      id: record.id,
      kind: record.kind,
      status: live.status,
      stage: live.stage,
      progress: live.progress,
      etaMs: live.etaMs === null ? null : live.etaMs + (estimatedWaitMs ?? 0),
      error: live.error,
      warnings: record.warnings,
      filename: record.upload.filename,
      bytes: record.upload.bytes,
      durationMs: Math.round(record.upload.durationSec * 1000),
      audio: {
        mime: record.upload.mime,
        codec: record.upload.codec,
        sampleRate: record.upload.sampleRate,
        channels: record.upload.channels,
        encrypted: record.upload.encrypted,
        deletedAt: iso(record.audioDeletedAt),
      },
      metadata: record.metadata,
      engines: record.engines,
      priority: record.priority,
      priorityName: nameOf(record.priority),
      priorityReason: record.priorityReason,
      chunks,
      stages: live.stages,
      position,
      estimatedWaitMs,
      run: record.run,
      createdAt: iso(record.createdAt) as string,
      updatedAt: iso(record.updatedAt) as string,
      finishedAt: iso(record.finishedAt),
      timings,
      results,
    }
    return { view, run }
  }

  /**
   * How long the first stage waits for a worker. The engine's figure divides the jobs ahead by
   * the queue's recent throughput, which on a quiet queue is the demand, not the capacity (an
   * 11 s clip was told 48.6 s and was done in 5.9 s): next in line with a validate worker free,
   * the wait is nothing.
   */
  private async queueWait(at: { position: number; estimatedWaitMs: number | null }): Promise<number | null> {
    if (at.position > 0) return at.estimatedWaitMs
    const counts = await this.spool.queues.counts(QUEUES.validate)
    return counts.active < this.options.concurrency.validate ? 0 : at.estimatedWaitMs
  }

  /**
   * Newest first. Sessions are read whole for the tenant and filtered here (their fields are
   * encrypted, so the database cannot filter them); fine for a clinic's thousands.
   */
  async list(tenant: string, filter: ListFilter = {}): Promise<{ sessions: SessionView[]; nextCursor: string | null }> {
    const limit = filter.limit ?? 50
    const after = filter.cursor ? decodeCursor(filter.cursor) : undefined
    const all = (await this.records.all(tenant)).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
    const page: SessionView[] = []
    let last: SessionRecord | undefined
    for (const record of all) {
      if (after && (record.createdAt > after.at || (record.createdAt === after.at && record.id >= after.id))) continue
      if (filter.kind && record.kind !== filter.kind) continue
      if (filter.visitType && record.metadata.visitType !== filter.visitType) continue
      if (filter.urgency && record.metadata.urgency !== filter.urgency) continue
      if (filter.patientId && record.metadata.patient?.id !== filter.patientId) continue
      if (filter.createdAfter !== undefined && record.createdAt < filter.createdAfter) continue
      if (filter.createdBefore !== undefined && record.createdAt >= filter.createdBefore) continue
      // A finished session's status is stored: no need to read its jobs to filter it out.
      if (filter.status && TERMINAL.has(record.status) && record.status !== filter.status) continue
      if (page.length === limit) {
        return { sessions: page, nextCursor: last ? encodeCursor(last) : null }
      }
      const view = await this.toView(record, {})
      if (filter.status && view.status !== filter.status) continue
      page.push(view)
      last = record
    }
    return { sessions: page, nextCursor: null }
  }

  /** Changes the priority of the session's jobs that have not started, and of those it adds later. */
  async setPriority(id: string, tenant: string, priority: Priority): Promise<SessionView> {
    const record = await this.record(id, tenant)
    const value = priorityValue(priority)
    const { live, run } = await this.live(record)
    if (TERMINAL.has(live.status)) throw conflict(`session ${id} is ${live.status}`, live.status)
    await this.records.update(id, (r) => {
      r.priority = value
      r.priorityReason = 'changed'
    })
    for (const job of allJobs(run)) {
      if (job.state === 'waiting' || job.state === 'scheduled' || job.state === 'blocked') {
        await this.spool.jobs.reprioritize(job.id, value).catch(ignoreTransition)
      }
    }
    return this.view(id, tenant)
  }

  /** Runs a failed session again from the stored upload (a new run with fresh jobs). */
  async retry(id: string, tenant: string): Promise<SessionView> {
    let record = await this.record(id, tenant)
    const { live } = await this.live(record)
    record = await this.record(id, tenant)
    if (live.status !== 'failed')
      throw conflict(`only a failed session can be retried; this one is ${live.status}`, live.status)
    if (record.audioDeletedAt !== null) {
      throw conflict('the audio of this session was deleted by retention: upload it again', live.status)
    }
    await this.records.dropArtifacts(record, 'current')
    record.previousRuns = [...(record.previousRuns ?? []), record.jobs]
    record.run += 1
    record.status = 'queued'
    record.error = null
    record.finishedAt = null
    record.jobs = emptyJobs()
    await this.records.put(record)
    record.jobs = await enqueueRun(this.spool, this.options, record)
    await this.records.put(record)
    return this.toView(record, { position: true })
  }

  /**
   * Deletes the session and everything of it: jobs (cancelled first), artifacts, results, the
   * session record with the patient details, and the audio files.
   */
  async remove(id: string, tenant: string): Promise<void> {
    const record = await this.record(id, tenant)
    const runs = [...(record.previousRuns ?? []), record.jobs]
    const jobs = new Set<string>()
    for (const jobsOfRun of runs) {
      for (const jobId of Object.values(jobsOfRun)) if (jobId) jobs.add(jobId)
      for (const parent of [jobsOfRun.transcribe, jobsOfRun.diarize]) {
        if (!parent) continue
        for (const child of await this.spool.jobs.children(parent).catch(() => [])) jobs.add(child.id)
      }
    }
    for (const jobId of jobs) await this.spool.jobs.cancel(jobId).catch(ignoreTransition)
    // A handler whose job was cancelled stops at its signal; wait for it before removing rows.
    const deadline = Date.now() + 10_000
    for (const jobId of jobs) {
      for (;;) {
        const job = await this.spool.jobs.get(jobId)
        if (job?.state !== 'active' || Date.now() > deadline) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await this.spool.jobs.remove(jobId).catch(() => {})
    }
    await this.records.dropArtifacts(record, 'all')
    await this.records.dropResults(id)
    await this.records.drop(id)
    await this.files.purge(id)
  }

  /** The finished transcript in a format, times in the uploaded recording. */
  async transcript(id: string, tenant: string, format: TranscriptFormat): Promise<string> {
    const record = await this.record(id, tenant)
    const results = record.status === 'processed' ? await this.records.results(id) : null
    if (!results) throw conflict(`session ${id} has no transcript yet (it is ${record.status})`, record.status)
    return formatTranscript(results.transcript, format)
  }

  /** The stored results of a processed session (null until then). */
  async results(id: string, tenant: string): Promise<SessionResults | null> {
    const record = await this.record(id, tenant)
    return record.status === 'processed' ? this.records.results(id) : null
  }

  /** The uploaded recording, decrypted as it streams. */
  async audio(
    id: string,
    tenant: string,
  ): Promise<{ stream: AsyncGenerator<Buffer>; mime: string; filename: string; bytes: number }> {
    const record = await this.record(id, tenant)
    if (record.audioDeletedAt !== null) {
      throw new SessionError('SESSION_AUDIO_GONE', `the audio of session ${id} was deleted by retention`, {
        field: 'id',
        deletedAt: new Date(record.audioDeletedAt).toISOString(),
      })
    }
    return {
      stream: readVaultStream(this.spool.codec, this.files.upload(id)),
      mime: record.upload.mime,
      filename: record.upload.filename,
      bytes: record.upload.bytes,
    }
  }

  /**
   * Follows a session: `onUpdate` gets its view (without results) at once and whenever one of
   * its jobs has an event that changes status, stage, progress or ETA; `eventId` is the last
   * engine event seen (for SSE ids and `Last-Event-ID`). Progress never goes down within one
   * watch, except when a retry starts a new run.
   *
   * @example
   * const watch = sessions.watch(id, tenant, {}, (view, eventId) => send(view, eventId))
   * // later: watch.close()
   */
  watch(
    id: string,
    tenant: string,
    options: { afterId?: number },
    onUpdate: (view: SessionView, eventId: number | null) => void,
    onError: (error: unknown) => void = () => {},
  ): { close(): void } {
    let closed = false
    let timer: NodeJS.Timeout | null = null
    let running = false
    let again = false
    let lastEventId: number | null = null
    let sent: { key: string; progress: number; run: number; status: SessionStatus } | null = null
    let known = new Set<string>()
    const refresh = async () => {
      if (closed) return
      if (running) {
        again = true
        return
      }
      running = true
      try {
        const record = await this.record(id, tenant)
        const { view, run } = await this.viewAndRun(record, {})
        known = new Set([
          ...Object.values(record.jobs).filter((j): j is string => !!j),
          ...allJobs(run).map((j) => j.id),
        ])
        if (sent && sent.run === view.run) view.progress = Math.max(sent.progress, view.progress)
        const key = JSON.stringify([view.status, view.stage, view.progress, roundEta(view.etaMs), view.error])
        if (!closed && key !== sent?.key) {
          // Stages that began and ended between two reads (the merge, notes and save of a short
          // recording take milliseconds) are still reported, in order, before where the run is now.
          const passed = sent && sent.run === view.run ? await this.passedStatuses(record, run, sent.status, view) : []
          for (const status of passed) {
            if (closed) break
            onUpdate(
              { ...view, status, stage: STATUS_STAGE[status] ?? null, progress: sent?.progress ?? 0 },
              lastEventId,
            )
          }
          sent = { key, progress: view.progress, run: view.run, status: view.status }
          if (!closed) onUpdate(view, lastEventId)
        }
      } catch (error) {
        if (!closed) onError(error)
      } finally {
        running = false
        if (again && !closed) {
          again = false
          schedule()
        }
      }
    }
    const schedule = () => {
      if (closed || timer) return
      timer = setTimeout(() => {
        timer = null
        void refresh()
      }, 250)
    }
    const subscription = this.spool.events.subscribe(
      { tenant, ...(options.afterId !== undefined && { afterId: options.afterId }) },
      (event) => {
        if (!event.queue?.startsWith('audio.')) return
        const ours = event.jobId !== null && known.has(event.jobId)
        const maybe = event.type === 'job.created' && event.queue.endsWith('-chunk')
        if (!ours && !maybe) return
        lastEventId = event.id
        schedule()
      },
    )
    void refresh()
    return {
      close() {
        closed = true
        if (timer) clearTimeout(timer)
        subscription.close()
      },
    }
  }

  /**
   * The statuses a session went through between `from` and where `view` is now, judged from its
   * jobs: preprocessing and transcribing always come before what follows them, `diarizing` only
   * when diarization finished after transcription, `extracting_notes` whenever notes ran.
   */
  private async passedStatuses(
    record: SessionRecord,
    run: RunJobs | null,
    from: SessionStatus,
    view: SessionView,
  ): Promise<SessionStatus[]> {
    const start = STATUS_ORDER.indexOf(from)
    const end = STATUS_ORDER.indexOf(view.status)
    if (start < 0 || end < 0 || end <= start + 1) return []
    const jobs = run ?? (await loadRunJobs(this.spool, record).catch(() => null))
    const transcribed = jobs?.roles.transcribe?.finishedAt ?? null
    const diarized = jobs?.roles.diarize?.finishedAt ?? null
    return STATUS_ORDER.slice(start + 1, end).filter((status) => {
      if (status === 'diarizing') return transcribed !== null && diarized !== null && diarized > transcribed
      if (status === 'extracting_notes') return record.kind === 'session'
      return status !== 'queued'
    })
  }

  /**
   * Resolves with the view once the session is processed or failed, or with its current view
   * after `timeoutMs`.
   */
  async waitUntilFinished(id: string, tenant: string, timeoutMs: number, signal?: AbortSignal): Promise<SessionView> {
    return new Promise<SessionView>((resolve, reject) => {
      let latest: SessionView | null = null
      const finish = (error: unknown, view?: SessionView) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', aborted)
        watch.close()
        if (view) resolve(view)
        else reject(error)
      }
      const timer = setTimeout(() => {
        if (latest) finish(null, latest)
        else
          this.view(id, tenant).then(
            (view) => finish(null, view),
            (error) => finish(error),
          )
      }, timeoutMs)
      const aborted = () => finish(signal?.reason ?? new Error('aborted'))
      signal?.addEventListener('abort', aborted)
      const watch = this.watch(
        id,
        tenant,
        {},
        (view) => {
          latest = view
          if (TERMINAL.has(view.status)) finish(null, view)
        },
        (error) => finish(error),
      )
    })
  }

  /**
   * Deletes audio older than the retention period after its session finished, and records
   * failures no reader noticed yet. The `audio.retention` schedule runs it every minute.
   *
   * @example
   * await sessions.sweepRetention() // { audioDeleted: 3, failed: 0 }
   */
  async sweepRetention(now = Date.now()): Promise<{ audioDeleted: number; failed: number; leftovers: number }> {
    let audioDeleted = 0
    let failed = 0
    const running = new Set<string>()
    const records = await this.records.everyTenant()
    for (const record of records) {
      if (!TERMINAL.has(record.status)) {
        const { live } = await this.live(record)
        if (live.status === 'failed') failed += 1
        else running.add(record.id)
        continue
      }
      if (record.audioDeletedAt !== null || record.finishedAt === null) continue
      if (record.finishedAt + this.options.audioRetentionMs > now) continue
      await this.files.dropAudio(record.id)
      await this.records.update(record.id, (r) => {
        r.audioDeletedAt = now
      })
      audioDeleted += 1
    }
    const leftovers = await this.files.sweepLeftovers(running, now)
    return { audioDeleted, failed, leftovers }
  }
}

/** Word lists inside their segments, as the dashboard shows them. */
export function nestWords(segments: AttributedSegment[], words: AttributedWord[]): ApiSegment[] {
  let w = 0
  return segments.map((segment, i) => {
    const next = segments[i + 1]?.start ?? Number.POSITIVE_INFINITY
    const mine: ApiSegment['words'] = []
    while (w < words.length && (words[w] as AttributedWord).start < Math.min(next, segment.end + 1e-6)) {
      const word = words[w++] as AttributedWord
      mine.push({
        word: word.text,
        start: word.start,
        end: word.end,
        ...(word.confidence !== undefined && { confidence: word.confidence }),
      })
    }
    return { speaker: segment.speaker, start: segment.start, end: segment.end, text: segment.text, words: mine }
  })
}

function allJobs(run: RunJobs | null) {
  if (!run) return []
  return [...Object.values(run.roles), ...run.transcribeChunks, ...run.diarizeChunks].filter((j) => j !== undefined)
}

function emptyJobs(): SessionJobs {
  return { root: '', validate: '', preprocess: '', transcribe: '', diarize: null, merge: '', notes: null, save: '' }
}

function roundEta(eta: number | null): number | null {
  return eta === null ? null : Math.round(eta / 1000)
}

function ignoreTransition(error: unknown): void {
  if (
    error instanceof SpoolError &&
    (error.code === 'SPOOL_INVALID_TRANSITION' || error.code === 'SPOOL_JOB_NOT_FOUND')
  )
    return
  throw error
}

export function isSessionId(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)
}

/** Defined with the other audio codes in `audio/errors.ts`; re-exported for the sessions service's users. */
export { SESSION_ERROR_CODES, SessionError }

function notFound(id: string): SessionError {
  return new SessionError('SESSION_NOT_FOUND', `no session ${id}`, { field: 'id' })
}

function conflict(message: string, status: string): SessionError {
  return new SessionError('SESSION_CONFLICT', message, { state: status })
}

function encodeCursor(record: SessionRecord): string {
  return Buffer.from(`${record.createdAt}:${record.id}`).toString('base64url')
}

function decodeCursor(cursor: string): { at: number; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':')
  if (!at || !id || !/^\d+$/.test(at)) {
    throw new SpoolError('SPOOL_INVALID_OPTION', 'cursor is not one this server gave', { field: 'cursor' })
  }
  return { at: Number(at), id }
}
