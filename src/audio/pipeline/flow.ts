/**
 * One run of a session as Spool jobs — ordinary queues, flows and dependencies:
 *
 *   audio.validate → audio.preprocess ─┬→ audio.transcribe ─(fan-out)→ audio.transcribe-chunk × n
 *                                      └→ audio.diarize    ─(fan-out)→ audio.diarize-chunk × m
 *                     audio.transcribe + audio.diarize → audio.merge → audio.notes → audio.save
 *
 * Two flows, because preprocessing feeds two parents and a flow is a tree: the first is
 * `preprocess ← validate`, the second `save ← notes ← merge ← { transcribe, diarize }` with
 * both leaves depending on the preprocess job. The merge takes its two children with
 * `onFailure: 'continue'`, so it runs whatever happened to them and decides: no transcript →
 * the session fails with the reason; no speaker turns → speakers are `Unknown` with a warning.
 * Every other edge fails its parent, so a failed validation or preprocessing fails the run.
 *
 * A `transcription` run (the OpenAI-compatible endpoint) has no diarize and no notes job.
 */
import type { EnqueueOptions } from '../../engine/options.js'
import type { Spool } from '../../engine/spool.js'
import { type AudioPipelineOptions, QUEUES, type Stage, stageJobOptions } from './options.js'
import { type SessionJobs, type SessionRecord, sessionTag } from './records.js'

/** What every job of a session carries: no patient data, only where to find the session. */
export interface StagePayload {
  session: string
  run: number
}

export function jobOptions(
  options: AudioPipelineOptions,
  record: Pick<SessionRecord, 'id' | 'run' | 'tenant' | 'priority'>,
  stage: Stage,
): EnqueueOptions {
  return {
    ...stageJobOptions(options, stage),
    priority: record.priority,
    tenant: record.tenant,
    tags: ['audio', sessionTag(record.id, record.run)],
    metadata: { session: record.id, run: record.run },
  }
}

/**
 * Enqueues one run; returns its job ids. If the second flow cannot be written, the first is
 * cancelled and removed, so nothing is left half-built.
 *
 * @example
 * record.jobs = await enqueueRun(spool, options, record)
 */
export async function enqueueRun(
  spool: Spool,
  options: AudioPipelineOptions,
  record: SessionRecord,
): Promise<SessionJobs> {
  const payload: StagePayload = { session: record.id, run: record.run }
  const opts = (stage: Stage) => jobOptions(options, record, stage)
  const first = await spool.flows.add({
    queue: QUEUES.preprocess,
    payload,
    options: opts('preprocess'),
    children: [{ queue: QUEUES.validate, payload, options: opts('validate') }],
  })
  const preprocess = first.id
  const validate = first.children[0]?.id as string
  const after = { ...opts('transcribe'), dependsOn: [preprocess] }
  const full = record.kind === 'session'
  try {
    const merge = {
      queue: QUEUES.merge,
      payload,
      options: opts('merge'),
      children: [
        { queue: QUEUES.transcribe, payload, options: after, onFailure: 'continue' as const },
        ...(full
          ? [
              {
                queue: QUEUES.diarize,
                payload,
                options: { ...opts('diarize'), dependsOn: [preprocess] },
                onFailure: 'continue' as const,
              },
            ]
          : []),
      ],
    }
    const tree = await spool.flows.add({
      queue: QUEUES.save,
      payload,
      options: opts('save'),
      children: [full ? { queue: QUEUES.notes, payload, options: opts('notes'), children: [merge] } : merge],
    })
    const mergeNode = full ? tree.children[0]?.children[0] : tree.children[0]
    return {
      root: tree.id,
      validate,
      preprocess,
      transcribe: mergeNode?.children[0]?.id as string,
      diarize: full ? (mergeNode?.children[1]?.id as string) : null,
      merge: mergeNode?.id as string,
      notes: full ? (tree.children[0]?.id as string) : null,
      save: tree.id,
    }
  } catch (error) {
    await spool.jobs.cancel(preprocess).catch(() => {})
    await spool.jobs.cancel(validate).catch(() => {})
    await spool.jobs.remove(validate).catch(() => {})
    await spool.jobs.remove(preprocess).catch(() => {})
    throw error
  }
}
