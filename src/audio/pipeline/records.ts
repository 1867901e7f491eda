/**
 * What a session keeps, all through `spool.records` (so through the codec: encrypted at rest
 * under the server's keyring), in three collections:
 *
 * - `audio.sessions`: one small document per session — context (patient details), status,
 *   warnings, the ids of its jobs. Written at creation, at each stage start and at the end.
 * - `audio.artifacts`: what one stage hands the next (VAD segments, the stitched transcript,
 *   speaker turns, the merged transcript, notes), `<session>.<run>.<name>`. Deleted when the
 *   session is saved.
 * - `audio.results`: the finished session — speaker transcript in the recording's time, notes,
 *   quality checks, stage timings. Kept until `DELETE`.
 *
 * Job payloads carry only the session id and run, so nothing about a patient sits in a queue.
 */
import type { Spool } from '../../engine/spool.js'
import type { Diarization } from '../engines/diarization/types.js'
import type { Transcript } from '../engines/transcription/types.js'
import type { SpeakerTranscript } from '../merge.js'
import type { NotesResult } from '../notes/schema.js'
import type { QualityReport } from '../quality.js'
import type { SpeechSegment } from '../vad.js'
import type { Urgency, VisitType } from './priority.js'

export const SESSION_STATUSES = [
  'queued',
  'preprocessing',
  'transcribing',
  'diarizing',
  'extracting_notes',
  'processed',
  'failed',
] as const
export type SessionStatus = (typeof SESSION_STATUSES)[number]

export const SESSIONS = 'audio.sessions'
export const ARTIFACTS = 'audio.artifacts'
export const RESULTS = 'audio.results'

export interface SessionMetadata {
  patient?: {
    name?: string | undefined
    age?: number | undefined
    gender?: string | undefined
    id?: string | undefined
  }
  visitType?: VisitType
  urgency?: Urgency
  /** ISO 639-1, e.g. `en`. */
  language?: string
  /** The expected number of speakers (given to the diarizer). */
  speakers?: number
  engines?: { transcription?: string; diarization?: string; notes?: string }
  /** Overrides the priority derived from the context. */
  priority?: 'urgent' | 'high' | 'normal' | 'low' | number
}

export interface UploadInfo {
  filename: string
  bytes: number
  sha256: string
  extension: string
  mime: string
  codec: string
  sampleRate: number
  channels: number
  durationSec: number
  /** Whether the stored audio is encrypted (false only when the Spool has no encrypting codec). */
  encrypted: boolean
}

export interface SessionJobs {
  root: string
  validate: string
  preprocess: string
  transcribe: string
  diarize: string | null
  merge: string
  notes: string | null
  save: string
}

export interface SessionRecord {
  id: string
  tenant: string
  /** `session` (the full pipeline) or `transcription` (the OpenAI-compatible endpoint: no diarization, no notes). */
  kind: 'session' | 'transcription'
  /** 1 for the first run; a retry starts run 2 with fresh jobs. */
  run: number
  status: SessionStatus
  error: string | null
  upload: UploadInfo
  metadata: SessionMetadata
  engines: { transcription: string; diarization: string; notes: string }
  priority: number
  priorityReason: string
  jobs: SessionJobs
  warnings: string[]
  /** Transcription prompt (words to expect), from the OpenAI-compatible endpoint. */
  prompt: string | null
  createdBy: string
  createdAt: number
  updatedAt: number
  finishedAt: number | null
  audioDeletedAt: number | null
  /** The jobs of earlier runs (retries), so a delete can remove them too. */
  previousRuns: SessionJobs[]
}

/** What preprocessing hands on. */
export interface PreprocessArtifact {
  durationSec: number
  trimmedStartSec: number
  originalDurationSec: number
  inputLufs: number | null
  gainDb: number
  vadEngine: string
  speech: SpeechSegment[]
}

export interface SessionResults {
  /** Times in the uploaded recording (preprocessing's trim added back). */
  transcript: SpeakerTranscript
  notes: NotesResult | null
  /** The diarizer's turns (times in the uploaded recording), null without diarization; absent in results saved before. */
  diarization?: { engine: string; speakers: string[]; turns: { start: number; end: number; speaker: string }[] } | null
  quality: QualityReport
  /** Wall time per stage, ms: queued, validate, preprocess, transcription, diarization, merge, notes, save, total. */
  timings: Record<string, number>
  /** Time spent inside engines per stage (ms), for the overhead figures in docs/audio.md. */
  engineMs: Record<string, number>
  durationSec: number
  speechSec: number
  chunks: { transcription: number; diarization: number }
  vadEngine: string
}

export type ArtifactName = 'preprocess' | 'transcript' | 'diarization' | 'merged' | 'notes'
export interface Artifacts {
  preprocess: PreprocessArtifact
  transcript: Transcript
  diarization: Diarization
  merged: SpeakerTranscript & { quality: QualityReport }
  notes: NotesResult
}

export const ARTIFACT_NAMES: readonly ArtifactName[] = ['preprocess', 'transcript', 'diarization', 'merged', 'notes']

/** Typed access to the three collections. */
export class SessionRecords {
  constructor(private readonly spool: Spool) {}

  async get(id: string): Promise<SessionRecord | null> {
    return (await this.spool.records.get<SessionRecord>(SESSIONS, id))?.data ?? null
  }

  async put(record: SessionRecord): Promise<SessionRecord> {
    record.updatedAt = Date.now()
    await this.spool.records.put(SESSIONS, { id: record.id, tenant: record.tenant, data: record })
    return record
  }

  /** Reads, changes and writes a session (last writer wins; stages write disjoint fields). */
  async update(id: string, change: (record: SessionRecord) => void): Promise<SessionRecord | null> {
    const record = await this.get(id)
    if (!record) return null
    change(record)
    return this.put(record)
  }

  /** Every session of a tenant, oldest write first. */
  async all(tenant: string): Promise<SessionRecord[]> {
    const out: SessionRecord[] = []
    let afterSeq: number | undefined
    for (;;) {
      const page = await this.spool.records.list<SessionRecord>(SESSIONS, {
        tenant,
        limit: 1000,
        ...(afterSeq !== undefined && { afterSeq }),
      })
      out.push(...page.map((r) => r.data))
      if (page.length < 1000) return out
      afterSeq = page.at(-1)?.seq
    }
  }

  /** Every session of every tenant (maintenance). */
  async everyTenant(): Promise<SessionRecord[]> {
    const out: SessionRecord[] = []
    let afterSeq: number | undefined
    for (;;) {
      const page = await this.spool.records.list<SessionRecord>(SESSIONS, {
        limit: 1000,
        ...(afterSeq !== undefined && { afterSeq }),
      })
      out.push(...page.map((r) => r.data))
      if (page.length < 1000) return out
      afterSeq = page.at(-1)?.seq
    }
  }

  async artifact<N extends ArtifactName>(record: SessionRecord, name: N): Promise<Artifacts[N] | null> {
    return (await this.spool.records.get<Artifacts[N]>(ARTIFACTS, artifactId(record, name)))?.data ?? null
  }

  async putArtifact<N extends ArtifactName>(record: SessionRecord, name: N, data: Artifacts[N]): Promise<void> {
    await this.spool.records.put(ARTIFACTS, { id: artifactId(record, name), tenant: record.tenant, data })
  }

  async dropArtifacts(record: Pick<SessionRecord, 'id' | 'run'>, runs: 'current' | 'all' = 'all'): Promise<void> {
    const from = runs === 'all' ? 1 : record.run
    for (let run = from; run <= record.run; run++) {
      for (const name of ARTIFACT_NAMES) await this.spool.records.delete(ARTIFACTS, `${record.id}.${run}.${name}`)
    }
  }

  async results(id: string): Promise<SessionResults | null> {
    return (await this.spool.records.get<SessionResults>(RESULTS, id))?.data ?? null
  }

  async putResults(record: SessionRecord, results: SessionResults): Promise<void> {
    await this.spool.records.put(RESULTS, { id: record.id, tenant: record.tenant, data: results })
  }

  async dropResults(id: string): Promise<void> {
    await this.spool.records.delete(RESULTS, id)
  }

  async drop(id: string): Promise<void> {
    await this.spool.records.delete(SESSIONS, id)
  }
}

function artifactId(record: Pick<SessionRecord, 'id' | 'run'>, name: ArtifactName): string {
  return `${record.id}.${record.run}.${name}`
}

/** The tag every job of one run of a session carries. */
export function sessionTag(id: string, run: number): string {
  return `session:${id}#${run}`
}
