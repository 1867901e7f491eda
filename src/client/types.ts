/** The shapes the Spool HTTP API returns (see docs/openapi.json, which a test checks these against). */

export type JobState = 'waiting' | 'scheduled' | 'blocked' | 'active' | 'completed' | 'failed' | 'cancelled'
export type Priority = 'urgent' | 'high' | 'normal' | 'low' | number
export type Scope = 'admin' | 'producer' | 'worker' | 'reader'

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
  text?: string
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
  breakers?: { name: string; state: BreakerState; failures: number; openedAt: number | null }[]
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
  kind: 'backlog' | 'failure_rate'
  queue: string | null
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

export interface ChildJob {
  id: string
  queue: string
  state: JobState
  onFailure: 'fail' | 'ignore' | 'continue'
  error: string | null
}

/** A job that waits for another: its parent in a flow, or a job that named it in `dependsOn`. */
export interface ParentJob {
  id: string
  queue: string
  state: JobState
  /** What the parent does if the child fails for good. */
  onFailure: 'fail' | 'ignore' | 'continue'
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

/** The audio sessions API (issue 6). */
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
  engines?: Record<string, string>
  priority?: Priority
}

export interface TranscriptWord {
  /** The word (the sessions API's segments name it `word`; whole-transcript words `text`). */
  word?: string
  text?: string
  start: number
  end: number
  speaker?: string
  confidence?: number
}

export interface TranscriptSegment {
  speaker: string
  start: number
  end: number
  text: string
  words?: TranscriptWord[]
}

export interface SpeakerTranscript {
  text?: string
  segments?: TranscriptSegment[]
  /** Words with times and the speaker each was given to. */
  words?: TranscriptWord[]
  speakers?: string[]
  attribution?: 'word' | 'segment' | 'none'
  warnings?: string[]
}

export interface RiskFlag {
  type: string
  severity: 'low' | 'medium' | 'high' | string
  evidence: string
  speaker: string | null
  /** Seconds into the recording, when known. */
  start: number | null
  source: string
}

export interface SessionNotes {
  key_topics?: string[]
  patient_mood?: { overall: string; descriptors: string[]; evidence: string[] }
  strategies?: { name: string; category: string; status: string; context: string }[]
  action_items?: { task: string; category: string; details: string }[]
  risk_flags?: RiskFlag[]
  therapist_notes?: string
  patient_summary?: string
}

export interface Session {
  id: string
  status: SessionStatus
  stage?: string | null
  progress: number
  etaMs?: number | null
  warnings?: string[]
  error?: string | null
  filename?: string
  /** Wall time per stage, ms. */
  timings?: Record<string, number>
  upload?: { filename: string; bytes: number; durationSec: number; [key: string]: unknown }
  createdAt?: string | number
  updatedAt?: string | number
  finishedAt?: string | number | null
  metadata?: SessionMetadata
  priority?: number
  results?: {
    transcript?: SpeakerTranscript
    /** The notes engine's output (`notes`, `engine`, `heuristic` for rule-based drafts). */
    notes?: { notes?: SessionNotes; engine?: string; heuristic?: boolean; warnings?: string[] } | null
    quality?: Record<string, unknown>
    timings?: Record<string, number>
    durationSec?: number
  } | null
  [key: string]: unknown
}
