/**
 * The handlers of the audio queues. Each is an ordinary Spool handler: it reads what the
 * previous stage left (`SessionRecords` artifacts), decrypts only the audio it needs into a
 * private working folder, runs its engine with the job's `AbortSignal`, writes its artifact and
 * returns a small result (timings, counts, warnings) — the job result is what the dashboard and
 * the save stage read.
 *
 * Errors keep their meaning for the engine: `AudioError` (bad input, missing engine) fails the
 * job at once; a provider's 429 with `Retry-After` (`RateLimitedError`) waits without spending
 * an attempt; 5xx, timeouts and dropped connections are retried with backoff, count against
 * the stage's circuit breaker, and are limited by its queue's rate limit and concurrency cap.
 */
import { join } from 'node:path'
import { classifyError } from '../../engine/classify.js'
import { UnrecoverableError } from '../../engine/errors.js'
import type { ChildResult, Job, JobContext } from '../../engine/job.js'
import { planChunks } from '../chunks.js'
import { diarizeFromEmbeddings } from '../engines/diarization/baseline.js'
import type { Embedding } from '../engines/diarization/cluster.js'
import { embedSpeech } from '../engines/diarization/embeddings.js'
import type { Diarization } from '../engines/diarization/types.js'
import { stitchTranscripts } from '../engines/transcription/stitch.js'
import type { Transcript } from '../engines/transcription/types.js'
import { shiftTranscript } from '../formats.js'
import { mergeSpeakers, type SpeakerTranscript, UNKNOWN_SPEAKER } from '../merge.js'
import { modelsDir } from '../models.js'
import { extractNotes } from '../notes/extract.js'
import { createExtractiveNotesEngine } from '../notes/extractive.js'
import type { NotesResult } from '../notes/schema.js'
import { preprocessAudio } from '../preprocess.js'
import { assessQuality } from '../quality.js'
import { assessReliability, notesReliability } from '../reliability.js'
import { detectSpeechInFile } from '../vad.js'
import { validateAudio } from '../validate.js'
import { diarizationEngine, isBaselineDiarizer, notesEngine, transcriptionEngine } from './engines.js'
import { readWavRange, vaultWavLayout, writeWavSlice } from './files.js'
import { jobOptions, type StagePayload } from './flow.js'
import { QUEUES } from './options.js'
import type { SessionRecord, SessionResults } from './records.js'
import type { AudioSessions } from './sessions.js'
import { failureReason, loadRunJobs } from './status.js'
import { sha256File } from './upload.js'
import { decryptVaultFile, writeVaultFile } from './vault.js'

/** What every stage returns besides its own fields. */
export interface StageResult {
  /** When the stage began (for a fan-out stage: its first run) and ended, epoch ms. */
  startedAt: number
  finishedAt: number
  /** Time inside the engine(s). For a fan-out stage: the sum over its chunks. */
  engineMs: number
  /** When the engines ran (epoch ms pairs): the save stage unites them to find the time no engine ran. */
  spans: [number, number][]
  warnings: string[]
}

interface ChunkPayload extends StagePayload {
  index: number
  start: number
  end: number
  plannedAt: number
}

interface TranscribeChunkResult {
  index: number
  start: number
  end: number
  offset: number
  transcript: Transcript
  engineMs: number
  span: [number, number]
}

interface DiarizeChunkResult {
  index: number
  embeddings: Embedding[]
  engineMs: number
  span: [number, number]
}

type Handler = (job: Job<StagePayload>, ctx: JobContext) => Promise<unknown>

/**
 * The handler of each audio queue.
 *
 * @example
 * for (const [queue, handler] of Object.entries(stageHandlers(sessions))) spool.work(queue, handler)
 */
export function stageHandlers(sessions: AudioSessions): Record<string, Handler> {
  const { spool, records, files, options } = sessions
  const codec = spool.codec

  /** The session this job belongs to, if it still exists and this run is current. */
  const sessionOf = async (job: Job<StagePayload>): Promise<SessionRecord> => {
    const record = await records.get(job.payload.session)
    if (!record || record.run !== job.payload.run) {
      throw new UnrecoverableError(`session ${job.payload.session} run ${job.payload.run} no longer exists`)
    }
    return record
  }
  const needArtifact = async <T>(value: Promise<T | null>, what: string): Promise<T> => {
    const found = await value
    if (found === null) throw new UnrecoverableError(`the ${what} of this session is missing`)
    return found
  }
  /** Reports progress at most every 250 ms (ffmpeg says where it is many times a second). */
  const throttled = (ctx: JobContext, stage: string) => {
    let last = 0
    return (percent: number) => {
      const now = Date.now()
      if (now - last < 250 && percent < 100) return
      last = now
      void ctx.progress(Math.round(percent * 10) / 10, stage)
    }
  }

  const validate: Handler = async (job, ctx) => {
    const startedAt = Date.now()
    const record = await sessionOf(job)
    await ctx.progress(0, 'validate')
    const work = await files.work(record.id)
    try {
      const path = join(work, `upload.${record.upload.extension}`)
      await decryptVaultFile(codec, files.upload(record.id), path)
      if ((await sha256File(path)) !== record.upload.sha256) {
        throw new UnrecoverableError('the stored upload does not match the bytes received')
      }
      await ctx.progress(30, 'validate')
      const t0 = Date.now()
      const info = await validateAudio(path, {
        filename: record.upload.filename,
        maxBytes: options.maxUploadBytes,
        maxDurationSec: options.maxDurationSec,
        // The upload was decoded whole when it was received; checking the stored copy's headers is enough then.
        decode: options.uploadValidation === 'full' ? 'probe' : 'full',
        signal: ctx.signal,
      })
      const t1 = Date.now()
      await ctx.progress(100, 'validate')
      const result: StageResult & { durationSec: number } = {
        startedAt,
        finishedAt: Date.now(),
        engineMs: t1 - t0,
        spans: [[t0, t1]],
        warnings: info.warnings.filter((w) => !record.warnings.includes(w)),
        durationSec: info.durationSec,
      }
      return result
    } finally {
      await files.dropWork(work)
    }
  }

  const preprocess: Handler = async (job, ctx) => {
    const startedAt = Date.now()
    const record = await sessionOf(job)
    const progress = throttled(ctx, 'preprocess')
    progress(0)
    const work = await files.work(record.id)
    try {
      const input = join(work, `upload.${record.upload.extension}`)
      await decryptVaultFile(codec, files.upload(record.id), input)
      const t0 = Date.now()
      const pre = await preprocessAudio(input, join(work, 'audio.wav'), {
        durationSec: record.upload.durationSec,
        targetLufs: options.preprocess.targetLufs,
        denoise: options.preprocess.denoise,
        onProgress: (fraction) => progress(fraction * 80),
        signal: ctx.signal,
      })
      progress(80)
      // The models folder of the pipeline's environment (SPOOL_MODELS_DIR): Silero when it holds the model, else WebRTC.
      const vad = await detectSpeechInFile(pre.path, { signal: ctx.signal, modelsDir: modelsDir(options.env) })
      const engineMs = Date.now() - t0
      progress(95)
      await writeVaultFile(codec, pre.path, files.audio(record.id))
      await records.putArtifact(record, 'preprocess', {
        durationSec: pre.durationSec,
        trimmedStartSec: pre.trimmedStartSec,
        originalDurationSec: pre.originalDurationSec,
        inputLufs: pre.inputLufs ?? null,
        gainDb: pre.gainDb,
        vadEngine: vad.engine,
        speech: vad.segments,
      })
      await ctx.progress(100, 'preprocess')
      const speechSec = vad.segments.reduce((sum, s) => sum + s.end - s.start, 0)
      return {
        startedAt,
        finishedAt: Date.now(),
        engineMs,
        spans: [[t0, t0 + engineMs]],
        warnings: [
          ...pre.warnings,
          ...(vad.engine === 'webrtc' ? ['WebRTC VAD in use (no Silero model file): weaker in noise'] : []),
          ...(vad.segments.length === 0 ? ['no speech was detected in the recording'] : []),
        ],
        durationSec: pre.durationSec,
        speechSec: Math.round(speechSec * 1000) / 1000,
        vadEngine: vad.engine,
      } satisfies StageResult & Record<string, unknown>
    } finally {
      await files.dropWork(work)
    }
  }

  const transcribe: Handler = async (job, ctx) => {
    const record = await sessionOf(job)
    const done = (await ctx.children<TranscribeChunkResult>()).filter((c) => c.queue === QUEUES.transcribeChunk)
    const pre = await needArtifact(records.artifact(record, 'preprocess'), 'preprocessed audio')
    if (done.length === 0) {
      const plannedAt = Date.now()
      const chunks = planChunks(pre.speech, pre.durationSec, { maxChunkSec: options.chunkSec }).filter((c) => c.speech)
      if (chunks.length === 0) {
        await records.putArtifact(record, 'transcript', {
          text: '',
          words: [],
          segments: [],
          engine: record.engines.transcription,
        })
        return {
          startedAt: plannedAt,
          finishedAt: Date.now(),
          engineMs: 0,
          spans: [],
          warnings: [],
          chunks: 0,
          words: 0,
        } satisfies StageResult & Record<string, unknown>
      }
      await ctx.progress(2, 'transcribe', `${chunks.length} chunks`)
      return ctx.waitForChildren(
        chunks.map((chunk) => ({
          queue: QUEUES.transcribeChunk,
          payload: {
            session: record.id,
            run: record.run,
            index: chunk.index,
            start: chunk.start,
            end: chunk.end,
            plannedAt,
          } satisfies ChunkPayload,
          options: { ...jobOptions(options, record, 'transcribeChunk'), priority: job.priority },
        })),
      )
    }
    const parts = done.map((child) => child.result as TranscribeChunkResult)
    const transcript = stitchTranscripts(
      parts.map((p) => ({ chunk: { start: p.start, end: p.end }, offset: p.offset, transcript: p.transcript })),
      record.engines.transcription,
    )
    await records.putArtifact(record, 'transcript', transcript)
    const plannedAt = await firstPlannedAt(sessions, done)
    return {
      startedAt: plannedAt,
      finishedAt: Date.now(),
      engineMs: parts.reduce((sum, p) => sum + p.engineMs, 0),
      spans: parts.map((p) => p.span),
      warnings: [],
      chunks: parts.length,
      words: transcript.words.length,
    } satisfies StageResult & Record<string, unknown>
  }

  const transcribeChunk = async (job: Job<ChunkPayload>, ctx: JobContext) => {
    const record = await sessionOf(job)
    const engine = transcriptionEngine(options, record.engines.transcription)
    await ctx.progress(5, 'transcribe')
    const work = await files.work(record.id)
    try {
      const path = join(work, `chunk-${job.payload.index}.wav`)
      const context = options.chunkContextSec
      const cut = await writeWavSlice(
        codec,
        files.audio(record.id),
        path,
        Math.max(0, job.payload.start - context),
        job.payload.end + context,
      )
      // Engines report no progress of their own: estimate it from how fast this engine has run
      // chunks here, so the session's bar moves while a long chunk is transcribed. A chunk that
      // overruns its estimate stops at 80 % instead of creeping to the end, so the session's ETA
      // (which projects from the pace seen) grows rather than promising "under a second".
      const speedKey = `chunk:${record.engines.transcription}`
      const expected = Math.max(1, await sessions.speed.expectMs(speedKey, cut.endSec - cut.startSec))
      const t0 = Date.now()
      const ticker = setInterval(() => {
        const elapsed = Date.now() - t0
        const fraction = elapsed / (elapsed + Math.max(expected - elapsed, 0.25 * elapsed))
        void ctx.progress(5 + 90 * fraction, 'transcribe')
      }, 1000)
      let transcript: Transcript
      try {
        transcript = await engine.transcribe(path, {
          language: record.metadata.language,
          prompt: record.prompt ?? undefined,
          signal: ctx.signal,
        })
      } finally {
        clearInterval(ticker)
      }
      const t1 = Date.now()
      await sessions.speed.observe(speedKey, cut.endSec - cut.startSec, t1 - t0)
      const result: TranscribeChunkResult = {
        index: job.payload.index,
        start: job.payload.start,
        end: job.payload.end,
        offset: cut.startSec,
        transcript,
        engineMs: t1 - t0,
        span: [t0, t1],
      }
      await ctx.progress(100, 'transcribe')
      return result
    } finally {
      await files.dropWork(work)
    }
  }

  const diarize: Handler = async (job, ctx) => {
    const record = await sessionOf(job)
    const pre = await needArtifact(records.artifact(record, 'preprocess'), 'preprocessed audio')
    const name = record.engines.diarization
    const speakers = {
      numSpeakers: record.metadata.speakers,
    }
    if (isBaselineDiarizer(name)) {
      const done = (await ctx.children<DiarizeChunkResult>()).filter((c) => c.queue === QUEUES.diarizeChunk)
      if (done.length === 0) {
        const plannedAt = Date.now()
        const chunks = planChunks(pre.speech, pre.durationSec, { maxChunkSec: options.diarizationChunkSec }).filter(
          (c) => c.speech,
        )
        if (chunks.length > 0) {
          await ctx.progress(2, 'diarize', `${chunks.length} chunks`)
          return ctx.waitForChildren(
            chunks.map((chunk) => ({
              queue: QUEUES.diarizeChunk,
              payload: {
                session: record.id,
                run: record.run,
                index: chunk.index,
                start: chunk.start,
                end: chunk.end,
                plannedAt,
              } satisfies ChunkPayload,
              options: { ...jobOptions(options, record, 'diarizeChunk'), priority: job.priority },
            })),
          )
        }
        const diarization = diarizeFromEmbeddings(pre.speech, [], speakers)
        await records.putArtifact(record, 'diarization', diarization)
        return {
          startedAt: plannedAt,
          finishedAt: Date.now(),
          engineMs: 0,
          spans: [],
          warnings: [],
          chunks: 0,
          speakers: 0,
        } satisfies StageResult & Record<string, unknown>
      }
      const parts = done.map((child) => child.result as DiarizeChunkResult)
      const t0 = Date.now()
      const diarization = diarizeFromEmbeddings(
        pre.speech,
        parts.flatMap((p) => p.embeddings),
        speakers,
      )
      const clusterMs = Date.now() - t0
      await records.putArtifact(record, 'diarization', diarization)
      return {
        startedAt: await firstPlannedAt(sessions, done),
        finishedAt: Date.now(),
        engineMs: clusterMs + parts.reduce((sum, p) => sum + p.engineMs, 0),
        spans: [...parts.map((p) => p.span), [t0, t0 + clusterMs]],
        warnings: diarization.warnings,
        chunks: parts.length,
        speakers: diarization.speakers.length,
      }
    }
    // Any other engine takes the whole file.
    const startedAt = Date.now()
    const engine = diarizationEngine(options, name)
    await ctx.progress(5, 'diarize')
    const work = await files.work(record.id)
    try {
      const path = join(work, 'audio.wav')
      await decryptVaultFile(codec, files.audio(record.id), path)
      const t0 = Date.now()
      const diarization = await engine.diarize(path, { ...speakers, signal: ctx.signal })
      const engineMs = Date.now() - t0
      await records.putArtifact(record, 'diarization', diarization)
      await ctx.progress(100, 'diarize')
      return {
        startedAt,
        finishedAt: Date.now(),
        engineMs,
        spans: [[t0, t0 + engineMs]],
        warnings: diarization.warnings,
        chunks: 0,
        speakers: diarization.speakers.length,
      }
    } finally {
      await files.dropWork(work)
    }
  }

  const diarizeChunk = async (job: Job<ChunkPayload>, ctx: JobContext) => {
    const record = await sessionOf(job)
    const pre = await needArtifact(records.artifact(record, 'preprocess'), 'preprocessed audio')
    await ctx.progress(5, 'diarize')
    const { start, end } = job.payload
    const layout = await vaultWavLayout(codec, files.audio(record.id))
    const { samples, sampleRate, startSec } = await readWavRange(codec, files.audio(record.id), start, end, layout)
    ctx.signal.throwIfAborted()
    const t0 = Date.now()
    const inside = pre.speech
      .filter((s) => s.end > start && s.start < end)
      .map((s) => ({ start: Math.max(s.start, start), end: Math.min(s.end, end) }))
    const embeddings = embedSpeech(samples, sampleRate, inside, startSec)
    await ctx.progress(100, 'diarize')
    const t1 = Date.now()
    return { index: job.payload.index, embeddings, engineMs: t1 - t0, span: [t0, t1] } satisfies DiarizeChunkResult
  }

  const merge: Handler = async (job, ctx) => {
    const startedAt = Date.now()
    const record = await sessionOf(job)
    await ctx.progress(0, 'merge')
    const children = await ctx.children()
    const transcription = children.find((c) => c.queue === QUEUES.transcribe)
    const diarizationJob = children.find((c) => c.queue === QUEUES.diarize)
    if (transcription?.state !== 'completed') {
      const reason = await reasonOf(sessions, record)
      await sessions.markFailed(record, reason)
      throw new UnrecoverableError(reason)
    }
    const pre = await needArtifact(records.artifact(record, 'preprocess'), 'preprocessed audio')
    const transcript = await needArtifact(records.artifact(record, 'transcript'), 'transcript')
    let diarization: Diarization | null = null
    let diarizationError: string | undefined
    if (record.kind === 'transcription') {
      diarization = { engine: 'none', turns: [], speakers: [], warnings: [] }
    } else if (diarizationJob?.state === 'completed') {
      diarization = await records.artifact(record, 'diarization')
    } else {
      const why = diarizationJob?.error?.message ?? 'it did not run'
      diarizationError = `diarization failed (${why}); speakers are Unknown`
    }
    const t0 = Date.now()
    // Words outside detected speech are dropped here (transcribers invent words in silence).
    const merged = mergeSpeakers(transcript, diarization, {
      speech: pre.speech,
      ...(diarizationError !== undefined && { diarizationError }),
    })
    const attributed = record.kind === 'session'
    const quality = assessQuality(merged.words, {
      speech: pre.speech,
      durationSec: pre.durationSec,
      gating: merged.gating,
      ...(attributed && { unknownWords: merged.words.filter((w) => w.speaker === UNKNOWN_SPEAKER).length }),
    })
    merged.reliability = assessReliability({
      transcription: record.engines.transcription,
      diarization: attributed ? record.engines.diarization : null,
      diarizationFailed: diarizationError !== undefined,
      quality,
    })
    const engineMs = Date.now() - t0
    const spans: [number, number][] = [[t0, t0 + engineMs]]
    await records.putArtifact(record, 'merged', { ...merged, quality })
    await ctx.progress(100, 'merge')
    return {
      startedAt,
      finishedAt: Date.now(),
      engineMs,
      spans,
      warnings: [...merged.warnings, ...quality.flags.map((flag) => `quality: ${flag}`)],
      speakers: merged.speakers,
      words: merged.words.length,
    } satisfies StageResult & Record<string, unknown>
  }

  const notes: Handler = async (job, ctx) => {
    const startedAt = Date.now()
    const record = await sessionOf(job)
    await ctx.progress(0, 'notes')
    const merged = await needArtifact(records.artifact(record, 'merged'), 'merged transcript')
    const context = {
      visitType: record.metadata.visitType,
      language: record.metadata.language,
      signal: ctx.signal,
    }
    const t0 = Date.now()
    let result: NotesResult
    const warnings: string[] = []
    try {
      result = await extractNotes(notesEngine(options, record.engines.notes), merged, context)
    } catch (error) {
      const verdict = classifyError(error)
      const lastTry = job.attempt >= job.maxAttempts
      if (verdict.refundAttempt || (verdict.retryable && !lastTry) || ctx.signal.aborted) throw error
      // Notes are worth having even when the model is down: the offline engine stands in, and
      // the risk lexicon (which ran either way) keeps its flags.
      result = await extractNotes(createExtractiveNotesEngine(), merged, context)
      warnings.push(
        `notes engine "${record.engines.notes}" failed (${(error as Error).message}); these are the offline extractive notes`,
      )
    }
    if (merged.reliability) result.reliability = notesReliability(merged.reliability, result.engine, result.heuristic)
    const t1 = Date.now()
    await records.putArtifact(record, 'notes', result)
    await ctx.progress(100, 'notes')
    return {
      startedAt,
      finishedAt: Date.now(),
      engineMs: t1 - t0,
      spans: [[t0, t1]],
      warnings: [...warnings, ...result.warnings],
      engine: result.engine,
      riskFlags: result.notes.risk_flags.length,
    } satisfies StageResult & Record<string, unknown>
  }

  const save: Handler = async (job, ctx) => {
    const startedAt = Date.now()
    const record = await sessionOf(job)
    await ctx.progress(0, 'save')
    const pre = await needArtifact(records.artifact(record, 'preprocess'), 'preprocessed audio')
    const merged = await needArtifact(records.artifact(record, 'merged'), 'merged transcript')
    const notesResult = record.kind === 'session' ? await records.artifact(record, 'notes') : null
    // The diarizer's own turns, so diarization can be scored apart from the merge.
    const turns = record.kind === 'session' ? await records.artifact(record, 'diarization') : null
    const shift = (t: number) => Math.round((t + pre.trimmedStartSec) * 1000) / 1000
    const { quality, ...speakerTranscript } = merged
    const transcript: SpeakerTranscript = shiftTranscript(speakerTranscript, pre.trimmedStartSec)
    // Every stage's result: its timings and warnings.
    const results: Record<string, (StageResult & Record<string, unknown>) | null> = {}
    for (const [role, id] of Object.entries(record.jobs)) {
      if (!id || role === 'root' || role === 'save') continue
      results[role] = ((await spool.jobs.get(id))?.result as (StageResult & Record<string, unknown>) | null) ?? null
    }
    const span = (r: StageResult | null | undefined) => (r ? Math.max(0, r.finishedAt - r.startedAt) : 0)
    const firstStart = results.validate?.startedAt ?? startedAt
    const timings: Record<string, number> = {
      queued: Math.max(0, firstStart - (record.run === 1 ? record.createdAt : record.updatedAt)),
      validate: span(results.validate),
      preprocess: span(results.preprocess),
      transcription: span(results.transcribe),
      ...(results.diarize !== undefined && { diarization: span(results.diarize) }),
      merge: span(results.merge),
      ...(results.notes !== undefined && { notes: span(results.notes) }),
    }
    const engineMs: Record<string, number> = {}
    for (const [role, result] of Object.entries(results)) if (result) engineMs[role] = result.engineMs
    // The time some engine was running, of the session's own time so far: the rest is what the
    // pipeline itself cost (waiting for a worker, hand-offs, encryption, records).
    const busy = unionMs(Object.values(results).flatMap((r) => r?.spans ?? []))
    const warnings = [...record.warnings, ...Object.values(results).flatMap((r) => r?.warnings ?? [])]
    const saveStarted = Date.now()
    const finished: SessionResults = {
      transcript,
      notes: notesResult,
      diarization: turns
        ? {
            engine: turns.engine,
            speakers: turns.speakers,
            turns: turns.turns.map((turn) => ({ ...turn, start: shift(turn.start), end: shift(turn.end) })),
          }
        : null,
      quality,
      timings,
      engineMs,
      durationSec: pre.durationSec,
      speechSec: quality.speechSec,
      chunks: {
        transcription: Number(results.transcribe?.chunks ?? 0),
        diarization: Number(results.diarize?.chunks ?? 0),
      },
      vadEngine: pre.vadEngine,
    }
    await ctx.progress(50, 'save')
    finished.timings.save = Date.now() - saveStarted
    finished.timings.total = Date.now() - (record.run === 1 ? record.createdAt : firstStart)
    engineMs.busy = busy
    engineMs.idle = Math.max(0, finished.timings.total - busy)
    await records.putResults(record, finished)
    await records.update(record.id, (r) => {
      if (r.run !== record.run) return
      r.status = 'processed'
      r.error = null
      r.finishedAt = Date.now()
      r.warnings = [...new Set(warnings)]
    })
    await records.dropArtifacts(record, 'current')
    // Learn the stages' speed for the next ETA.
    const duration = record.upload.durationSec
    await sessions.speed.observe('validate', duration, timings.validate ?? 0)
    await sessions.speed.observe('preprocess', duration, timings.preprocess ?? 0)
    await sessions.speed.observe(`transcription:${record.engines.transcription}`, duration, timings.transcription ?? 0)
    if (timings.diarization !== undefined) {
      await sessions.speed.observe(`diarization:${record.engines.diarization}`, duration, timings.diarization)
    }
    await sessions.speed.observe('merge', duration, timings.merge ?? 0)
    if (timings.notes !== undefined) {
      const engine = notesResult?.engine ?? record.engines.notes
      await sessions.speed.observe(`notes:${engine}`, duration, timings.notes)
    }
    await sessions.speed.observe('save', duration, finished.timings.save)
    await ctx.progress(100, 'save')
    return { startedAt, finishedAt: Date.now(), engineMs: 0, spans: [], warnings: [], processed: true }
  }

  const retention: Handler = async () => sessions.sweepRetention()

  return {
    [QUEUES.validate]: validate,
    [QUEUES.preprocess]: preprocess,
    [QUEUES.transcribe]: transcribe,
    [QUEUES.transcribeChunk]: transcribeChunk as unknown as Handler,
    [QUEUES.diarize]: diarize,
    [QUEUES.diarizeChunk]: diarizeChunk as unknown as Handler,
    [QUEUES.merge]: merge,
    [QUEUES.notes]: notes,
    [QUEUES.save]: save,
    [QUEUES.retention]: retention,
  }
}

/** The length of the union of intervals, ms. */
export function unionMs(spans: readonly [number, number][]): number {
  let total = 0
  let end = Number.NEGATIVE_INFINITY
  for (const [from, to] of [...spans].sort((a, b) => a[0] - b[0])) {
    if (to <= end) continue
    total += to - Math.max(from, end)
    end = to
  }
  return total
}

/** When a fan-out stage first ran: the time its chunks were planned. */
async function firstPlannedAt(sessions: AudioSessions, done: ChildResult[]): Promise<number> {
  const first = done[0]
  if (!first) return Date.now()
  const job = await sessions.spool.jobs.get<ChunkPayload>(first.id)
  return job?.payload.plannedAt ?? job?.createdAt.getTime() ?? Date.now()
}

async function reasonOf(sessions: AudioSessions, record: SessionRecord): Promise<string> {
  return failureReason(record, await loadRunJobs(sessions.spool, record))
}
