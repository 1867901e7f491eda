/**
 * Starting the audio pipeline on a Spool: its queues get their settings (a circuit breaker per
 * engine family, optional cross-node caps and rate limits), this process serves them with the
 * stage handlers, and a schedule applies audio retention every minute. Everything is an
 * ordinary Spool queue, worker and schedule — visible on the dashboard, steerable over the API.
 *
 * | queue | breaker | limits (`options.limits`) |
 * |---|---|---|
 * | `audio.validate`, `audio.preprocess` | — | — |
 * | `audio.transcribe` (plans chunks, stitches) | — | — |
 * | `audio.transcribe-chunk` | `audio.transcription` | `transcription` |
 * | `audio.diarize`, `audio.diarize-chunk` | `audio.diarization` | `diarization` |
 * | `audio.merge`, `audio.save` | — | — |
 * | `audio.notes` | `audio.notes` | `notes` |
 *
 * @example
 * const pipeline = await startAudioPipeline(spool, resolvePipelineOptions({ dir: './data/audio' }))
 * const { session } = await pipeline.sessions.createFromFile('visit.m4a', { metadata: { urgency: 'same-day' } })
 * // …
 * await pipeline.close()
 */
import { mkdir } from 'node:fs/promises'
import type { Handler } from '../../engine/job.js'
import type { Spool } from '../../engine/spool.js'
import type { Worker } from '../../engine/worker.js'
import type { QueueConfig } from '../../store/store.js'
import { type AudioPipelineOptions, type EngineFamily, QUEUES, type Stage } from './options.js'
import { type AudioSessions, sessionsFor } from './sessions.js'
import { stageHandlers } from './stages.js'

export interface AudioPipeline {
  sessions: AudioSessions
  options: AudioPipelineOptions
  workers: Worker<never, never>[]
  /** Stops this process's audio workers (running jobs get `graceMs`, then go back to their queues). */
  close(options?: { graceMs?: number }): Promise<void>
}

const BREAKERS: Partial<Record<Stage, EngineFamily>> = {
  transcribeChunk: 'transcription',
  diarize: 'diarization',
  diarizeChunk: 'diarization',
  notes: 'notes',
}

export const RETENTION_SCHEDULE = 'audio.retention'

/**
 * Configures the audio queues and serves them in this process.
 *
 * `workers: false` only configures the queues (a server whose workers run elsewhere).
 */
export async function startAudioPipeline(
  spool: Spool,
  options: AudioPipelineOptions,
  settings: { workers?: boolean; retentionCron?: string } = {},
): Promise<AudioPipeline> {
  await mkdir(options.dir, { recursive: true, mode: 0o700 })
  const sessions = sessionsFor(spool, options)
  for (const family of ['transcription', 'diarization', 'notes'] as const) {
    await spool.breakers.define(`audio.${family}`, options.breakers[family])
  }
  for (const [stage, queue] of Object.entries(QUEUES) as [Stage | 'retention', string][]) {
    const family = stage === 'retention' ? undefined : BREAKERS[stage]
    const limits = family ? options.limits[family] : undefined
    const config: QueueConfig = {
      ...(family && { breaker: `audio.${family}` }),
      ...(limits?.concurrency !== undefined && { concurrency: limits.concurrency }),
      ...(limits?.rateLimit !== undefined && { rateLimit: limits.rateLimit }),
    }
    await spool.queues.configure(queue, config)
  }
  await spool.schedules.upsert({
    name: RETENTION_SCHEDULE,
    cron: settings.retentionCron ?? '* * * * *',
    queue: QUEUES.retention,
    payload: {},
    options: { maxAttempts: 1, priority: 'low' },
    catchUp: 'none',
  })
  const workers: Worker<never, never>[] = []
  if (settings.workers !== false) {
    const handlers = stageHandlers(sessions)
    for (const [stage, queue] of Object.entries(QUEUES) as [Stage | 'retention', string][]) {
      const handler = handlers[queue] as Handler
      const concurrency = stage === 'retention' ? 1 : options.concurrency[stage]
      workers.push(spool.work(queue, handler, { concurrency, leaseMs: 60_000 }) as unknown as Worker<never, never>)
    }
  }
  return {
    sessions,
    options,
    workers,
    async close(closeOptions = {}) {
      await Promise.all(workers.map((worker) => worker.close(closeOptions)))
    },
  }
}
