/** The shapes the Spool HTTP API returns (see docs/openapi.json, which a test checks these against). */

export type JobState = 'waiting' | 'scheduled' | 'blocked' | 'active' | 'completed' | 'failed' | 'cancelled'
export type Priority = 'urgent' | 'high' | 'normal' | 'low' | number
export type Scope = 'admin' | 'producer' | 'worker' | 'reader'

/** What a parent does when a job it waits for fails for good. */
export type OnFailure = 'fail' | 'ignore' | 'continue'

export interface EnqueueOptions {
  priority?: Priority
  delayMs?: number
  /** Epoch ms or an ISO 8601 date-time. */
  runAt?: number | string
  maxAttempts?: number
  backoff?:
    | { type: 'fixed'; delayMs: number; jitter?: number }
    | { type: 'exponential'; delayMs?: number; maxDelayMs?: number; jitter?: number }
  timeoutMs?: number
  idempotencyKey?: string
  group?: string
  tags?: string[]
  metadata?: Record<string, unknown>
  /** Jobs (of this tenant) this one waits for; it stays blocked until they finish. */
  dependsOn?: (string | { id: string; onFailure?: OnFailure })[]
}

/** One job of a flow and the jobs it waits for (`POST /v1/flows`). */
export interface FlowNode<P = unknown> {
  queue: string
  payload?: P
  options?: EnqueueOptions
  /** What the parent does if this job fails for good (default `fail`). */
  onFailure?: OnFailure
  /** Jobs that run first; this one stays `blocked` until they finish. */
  children?: FlowNode[]
}

/** A flow as written: each job's id and queue, its children below it. */
export interface FlowJob {
  id: string
  queue: string
  children: FlowJob[]
}

export interface EnqueueResult {
  id: string
  created: boolean
  state: JobState
  /** Runnable jobs ahead (0: next), counted up to 1,000; null when delayed or blocked. */
  position?: number | null
  /** More jobs are ahead than were counted: `position` is a lower bound. */
  positionCapped?: true
  /** Expected ms until it starts, from the queue's recent throughput (a delayed job: its delay). */
  estimatedWaitMs?: number | null
}

export interface AttemptError {
  at: number
  attempt: number
  message: string
  name?: string
  code?: string
  /** Present only where the server includes stacks. */
  stack?: string
  retryable: boolean
}

export interface Job<P = unknown, R = unknown> {
  id: string
  queue: string
  tenant: string
  state: JobState
  priority: number
  payload: P
  result: R | null
  attempt: number
  maxAttempts: number
  progress: { percent: number; stage?: string; message?: string } | null
  errors: AttemptError[]
  group: string | null
  tags: string[]
  metadata: Record<string, unknown>
  idempotencyKey: string | null
  timeoutMs: number | null
  runAt: string
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  workerId: string | null
}

export interface JobStatus {
  id: string
  queue: string
  state: JobState
  progress: Job['progress']
  attempt: number
  maxAttempts: number
  updatedAt: string | null
}

export interface JobPage<P = unknown> {
  jobs: Job<P>[]
  nextCursor: string | null
}

export interface JobFilter {
  queue?: string
  state?: JobState
  group?: string
  tag?: string
  createdAfter?: number
  createdBefore?: number
  /** Text the payload contains (case-insensitive). */
  text?: string
  /** Text any attempt's error message contains (case-insensitive). */
  error?: string
}

/** The listing's order: by `created` (the default) or `runAt`, `desc` (the default) or `asc`. */
export interface JobOrder {
  sort?: 'created' | 'runAt'
  order?: 'asc' | 'desc'
}

/** Jobs by state matching a filter, each counted up to `cap`; `capped` names those that reached it. */
export interface JobCounts {
  counts: Counts
  total: number
  capped: JobState[]
  cap: number
}

export type Counts = Record<JobState, number>

export interface Queue {
  name: string
  paused: boolean
  config: Record<string, unknown>
  counts: Counts
}

export interface Stats {
  counts: Record<string, Counts>
  perMinute: { minute: number; completed: number; failed: number; retried: number }[]
  waitMs: { p50: number; p95: number } | null
  runMs: { p50: number; p95: number } | null
  successRate: number | null
  throughputPerMinute: number
  /** Circuit breakers (the queue's own, for one queue) and their state. */
  breakers: { name: string; state: BreakerState; failures: number; openedAt: number | null }[]
  /**
   * This tenant's oldest waiting job (of the queue, for one queue's stats); `ageMs` is how long
   * it had waited when the answer was made. Null when nothing waits.
   */
  oldestWaiting: { id: string; queue: string; createdAt: string; ageMs: number } | null
}

/** What `POST /v1/queues/:name/retry-failed` did. */
export interface RetryFailedResult {
  queue: string
  dryRun: boolean
  /** Failed jobs of this tenant found on the queue (at most `max`). */
  matched: number
  /** Moved back to waiting (0 with `dryRun`). */
  retried: number
  /** Jobs that could not be retried (the first 100). */
  failed: { id: string; code: string; detail: string }[]
  /** More failed jobs than `max`: call again for the rest. */
  truncated: boolean
}

export interface SpoolEvent {
  id: number
  at: number
  type: string
  tenant?: string | null
  queue: string | null
  jobId: string | null
  state: JobState | null
  data: Record<string, unknown>
}

export interface BulkResult {
  action: 'cancel' | 'retry' | 'promote' | 'remove' | 'reprioritize'
  dryRun: boolean
  matched: number
  succeeded: number
  failed: { id: string; code: string; detail: string }[]
  truncated: boolean
}

export interface ClaimedJob<P = unknown> {
  id: string
  queue: string
  tenant: string
  leaseToken: number
  payload: P
  attempt: number
  maxAttempts: number
  priority: number
  timeoutMs: number | null
  leaseExpiresAt: string | null
  group: string | null
  tags: string[]
  metadata: Record<string, unknown>
}

export interface ApiKey {
  id: string
  name: string
  tenant: string
  scopes: Scope[]
  createdBy: string | null
  createdAt: string
  revokedAt: string | null
}

export interface AuditEntry {
  /** Unique: the record's seq and the entry's place in it (`"812.3"`). */
  id: string
  /** The record it was written in (entries written together share it). */
  seq: number
  at: number
  actor: { kind: string; id: string | null; user: string | null }
  tenant: string
  action: string
  target: string | null
  ip: string
  outcome: 'ok' | 'denied' | 'invalid' | 'error'
  status: number
  requestId: string
  code?: string
}

export interface Webhook {
  id: string
  url: string
  events: string[]
  description: string | null
  createdAt: string
}

export interface Alert {
  id: string
  kind: 'backlog' | 'backlog_age' | 'failure_rate' | 'breaker_open'
  queue: string | null
  /** The breaker a `breaker_open` alert watches (null: the queue's, or any). */
  breaker: string | null
  threshold: number
  cooldownMs: number
  createdAt: string
}

/** RFC 9457 problem details, as every error answer carries. */
export interface Problem {
  type: string
  title: string
  status: number
  code: string
  detail: string
  field?: string
  instance?: string
  requestId?: string
  [key: string]: unknown
}

export type BreakerState = 'closed' | 'open' | 'half_open'

export interface Breaker {
  name: string
  state: BreakerState
  config: Record<string, unknown>
  failures: number
  successes: number
  windowStart: number
  windowTotal: number
  windowFailures: number
  openedAt: number | null
  updatedAt: number
}

/** One state change of a circuit breaker. */
export interface BreakerChange {
  id: number
  at: number
  type: 'breaker.opened' | 'breaker.half_open' | 'breaker.closed'
  /** The state it left. */
  from: BreakerState | null
  /** Failures counted when it changed. */
  failures: number | null
}

export interface QueueLimits {
  queue: string
  /** Epoch ms the queue is held back until by a Retry-After (0: not held). */
  pausedUntil: number
  rateUsed: Record<string, number>
  groups: { group: string; pausedUntil: number; vtime: number }[]
  config: Record<string, unknown>
}

export interface Schedule {
  name: string
  tenant: string
  cron: string
  timezone: string
  queue: string
  payload: unknown
  options: Record<string, unknown>
  catchUp: 'none' | 'latest' | 'all'
  paused: boolean
  nextRunAt: string | null
  lastRunAt: string | null
  createdAt: string
  updatedAt: string
}

/** What `POST /v1/schedules/:name/run` enqueued. */
export interface ScheduleRun {
  /** The job enqueued now. */
  id: string
  queue: string
  /** The schedule, its next and last run unchanged. */
  schedule: Schedule
}

export interface ChildJob {
  id: string
  queue: string
  state: JobState
  onFailure: OnFailure
  error: string | null
}

/** A job that waits for another: its parent in a flow, or a job that named it in `dependsOn`. */
export interface ParentJob {
  id: string
  queue: string
  state: JobState
  /** What the parent does if the child fails for good. */
  onFailure: OnFailure
}

export interface WorkerInfo {
  id: string
  nodeId: string
  queue: string
  concurrency: number
  running: string[]
  info: Record<string, unknown>
  startedAt: number
  seenAt: number
}

/** The caller's remaining budget, from OpenAI's `x-ratelimit-*` headers (null fields: not sent). */
export interface AiRateBudget {
  remainingRequests: number | null
  remainingTokens: number | null
  /** As sent, e.g. `1s`, `6m0s`. */
  resetRequests: string | null
  resetTokens: string | null
}

/** A gateway request queued with `Prefer: respond-async` (`client.ai.submit`). */
export interface AiSubmitted {
  id: string
  state: string
  position: number | null
  estimatedWaitMs: number | null
  rateLimit: AiRateBudget | null
}

/** One minute of a gateway provider's upstream calls (`GET /v1/ai/providers`). */
export interface AiProviderMinute {
  minute: number
  requests: number
  succeeded: number
  rateLimited: number
  serverErrors: number
  promptTokens: number
  completionTokens: number
  costUsd: number
}

/**
 * A gateway provider as the dashboard shows it. The queue and breaker are every node's; calls,
 * tokens, 429s, 5xx, cost and latency are the answering process's (`scope: 'process'`).
 */
export interface AiProviderView {
  name: string
  kind: string
  host: string
  models: string[]
  limits: { rpm: number | null; tpm: number | null; concurrency: number | null }
  queue: {
    name: string
    counts: Record<string, number>
    waitingByPriority: { priority: number; count: number }[]
    waitingByPriorityTruncated: boolean
    waitMs: { p50: number; p95: number } | null
  }
  breaker: { state: 'closed' | 'open' | 'half_open'; failures: number; openedAt: number | null }
  quota: { exhausted: boolean; since: number | null }
  lastMinute: { requests: number; tokens: number }
  lastHour: Omit<AiProviderMinute, 'minute'>
  upstreamLatencyMs: { p50: number; p95: number } | null
  priced: boolean
  perMinute: AiProviderMinute[]
}

/** The audio sessions API (`/v1/sessions`, docs/audio.md). */
export type SessionStatus =
  | 'queued'
  | 'preprocessing'
  | 'transcribing'
  | 'diarizing'
  | 'extracting_notes'
  | 'processed'
  | 'failed'

export interface SessionMetadata {
  patient?: { name?: string; age?: number; gender?: string; id?: string }
  visitType?: 'consultation' | 'follow-up' | 'emergency' | 'routine'
  urgency?: 'immediate' | 'same-day' | 'next-day' | 'routine'
  language?: string
  speakers?: number
  /** Engine names per stage, instead of the server's defaults. */
  engines?: { transcription?: string; diarization?: string; notes?: string }
  priority?: Priority
}

/** A word with its times, seconds into the recording. */
export interface TranscriptWord {
  word: string
  start: number
  end: number
  confidence?: number
}

/** One speaker's turn, with its words. */
export interface TranscriptSegment {
  speaker: string
  start: number
  end: number
  text: string
  words: TranscriptWord[]
}

/** How far to trust a transcript: its engine, that engine's expected error, this recording's flags. */
export interface Reliability {
  level: 'low' | 'moderate' | 'unknown'
  /** The transcription engine. */
  engine: string
  expectedError: string
  diarization: { engine: string; expectedError: string } | null
  flags: string[]
  /** All of it in a paragraph, as the dashboard and the downloads show it. */
  statement: string
}

export interface SpeakerTranscript {
  text: string
  segments: TranscriptSegment[]
  /** The speakers found; `Unknown` (words without a speaker turn) is never one. */
  speakers: string[]
  reliability?: Reliability
  /** Words outside detected speech: dropped, or kept for the engine's high confidence. */
  gating?: { words: number; dropped: number; keptOutsideSpeech: number }
  /** `word` when words carried times, `segment` when only segments did, `none` without diarization. */
  attribution: 'word' | 'segment' | 'none'
  language?: string
  engine: string
  warnings: string[]
}

export interface RiskFlag {
  type: 'self_harm' | 'suicidal_ideation' | 'harm_to_others'
  severity: 'low' | 'medium' | 'high'
  /** The words that raised the flag. */
  evidence: string
  speaker: string | null
  /** Seconds into the recording, when known. */
  start: number | null
  /** `lexicon`: the local safety net; `model`: the notes engine. */
  source: 'lexicon' | 'model'
}

export type SessionNotes = {
  key_topics: string[]
  patient_mood: {
    overall: 'positive' | 'neutral' | 'negative' | 'mixed' | 'unknown'
    descriptors: string[]
    evidence: string[]
  }
  strategies: {
    name: string
    category: string
    status: 'suggested' | 'practising' | 'effective' | 'ineffective' | 'discussed'
    context: string
  }[]
  action_items: { task: string; category: string; details: string }[]
  risk_flags: RiskFlag[]
  therapist_notes: string
  patient_summary: string
}

/** Automatic checks of a transcript. */
export interface QualityReport {
  wordsPerMinute: number
  /** 0–1: repeated trigrams / all trigrams. */
  repetitionRatio: number
  longestRepeat: number
  speechWithoutWordsRatio?: number
  speechSec: number
  words?: number
  /** 0–1: the transcriber's words outside detected speech. */
  outsideSpeechRatio?: number
  /** 0–1: words without a speaker. */
  unknownRatio?: number
  /** 0–1: words the engine was under 50 % sure of. */
  lowConfidenceRatio?: number
  /** Reasons for concern; empty when none. */
  flags: string[]
}

/** A session as lists and changes answer it: everything but its results. */
export interface SessionSummary {
  id: string
  kind: 'session' | 'transcription'
  status: SessionStatus
  stage: string | null
  /** 0–100. */
  progress: number
  /** Expected ms until processed. */
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
  engines: { transcription: string; diarization: string; notes: string }
  priority: number
  priorityName: string
  priorityReason: string
  chunks: { transcription: { done: number; total: number }; diarization: { done: number; total: number } }
  /** Every stage of the run in order, with its state (all done once processed, empty once failed). */
  stages: { name: string; state: 'waiting' | 'running' | 'done' | 'failed'; progress: number }[]
  /** Runnable jobs ahead of its first stage, while it is queued. */
  position: number | null
  estimatedWaitMs: number | null
  run: number
  createdAt: string
  updatedAt: string
  finishedAt: string | null
  /** Wall time per stage, ms, once processed. */
  timings: Record<string, number> | null
}

export interface Session extends SessionSummary {
  /** Once processed. */
  results: {
    /** How far to trust the transcript and the notes made from it. */
    reliability: Reliability | null
    /** The diarizer's own speaker turns (times in the upload), to score diarization apart from the merge. */
    diarization: { engine: string; speakers: string[]; turns: { start: number; end: number; speaker: string }[] } | null
    transcript: SpeakerTranscript
    /** The notes engine's output (`heuristic` for rule-based drafts; `reliability` says how far to trust them). */
    notes: {
      notes: SessionNotes
      engine: string
      heuristic: boolean
      warnings: string[]
      reliability?: string
    } | null
    quality: QualityReport
    /** Time spent inside engines per stage, ms. */
    engineMs: Record<string, number>
  } | null
}

/** What an upload answers: the new session, where it waits and for how long. */
export interface SessionCreated {
  id: string
  status: SessionStatus
  priority: number
  priorityName: string
  /** Runnable jobs ahead of its first stage. */
  position: number | null
  estimatedWaitMs: number | null
  /** Expected ms until processed, wait included. */
  etaMs: number | null
}

/** One step of a workflow template. */
export interface WorkflowStep {
  id: string
  queue: string
  /** JSON; `{ $param: 'a.b' }` and `{ $result: 'step.a.b' }` are replaced when the step runs. */
  payload?: unknown
  dependsOn?: (string | { step: string; onFailure?: 'fail' | 'ignore' | 'continue'; onSkipped?: 'run' | 'skip' })[]
  /** A JSON Logic rule over `{ params, results }`. */
  when?: unknown
  timeoutMs?: number
  priority?: Priority
  maxAttempts?: number
}

export interface WorkflowDefinition {
  description?: string
  steps: WorkflowStep[]
}

export interface WorkflowTemplate extends WorkflowDefinition {
  name: string
  version: number
  createdAt: string
}

export type WorkflowRunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired'

export interface WorkflowRunSummary {
  id: string
  name: string
  version: number
  status: WorkflowRunStatus
  retries: number
  createdAt: string
  finishedAt: string | null
  durationMs: number | null
}

export interface WorkflowRun extends WorkflowRunSummary {
  params: unknown
  steps: {
    id: string
    queue: string
    jobId: string
    state: 'blocked' | 'waiting' | 'running' | 'completed' | 'skipped' | 'failed' | 'cancelled'
    attempt: number
    input: unknown
    output: unknown
    error: string | null
    dependsOn: string[]
    createdAt: string
    startedAt: string | null
    finishedAt: string | null
    previousJobs: string[]
  }[]
}

export interface WorkflowRunHistory {
  runs: WorkflowRunSummary[]
  stats: { finished: number; succeeded: number; successRate: number | null; p50Ms: number | null; p95Ms: number | null }
}
