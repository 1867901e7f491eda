/**
 * `spool.workflows`: named, versioned templates of steps forming a DAG, and runs of them built
 * on flows. Starting a run writes every step as a job in one transaction (each waits, `blocked`,
 * for the steps it depends on, with the edge's failure policy); templates and runs are kept in
 * `spool.records` (collections `workflow.templates` and `workflow.runs`), no table of their own.
 *
 * Where a step's payload is resolved: a step's job carries an envelope (`{ $workflowStep: … }`:
 * its payload template, its condition, the run's params and its parent steps). The handler
 * wrapper `spool.workflows.work(queue, handler)` opens it when the job runs, i.e. once every
 * parent has finished: it reads the parents' results with `ctx.children()` (the flow API),
 * evaluates `when` (JSON Logic) and resolves `{"$param"}` / `{"$result"}` references, then calls
 * the handler with the resolved payload. A false condition completes the job with a `skipped`
 * marker, which the run view shows as `skipped`.
 */
import { isDeepStrictEqual } from 'node:util'
import jsonLogic from 'json-logic-js'
import type { Dependency, DependencyFailurePolicy, NewJob } from '../store/store.js'
import type { EngineContext } from './context.js'
import { SpoolError } from './errors.js'
import type { ChildResult, Handler, JobInfo } from './job.js'
import type { JobAdmin } from './job-admin.js'
import type { EnqueueOptions } from './options.js'
import { assertQueueName } from './options.js'
import type { Priority } from './priority.js'
import type { Records } from './records.js'
import type { Worker, WorkOptions } from './worker.js'

const TEMPLATES = 'workflow.templates'
const RUNS = 'workflow.runs'
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
const STEP_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/
const MAX_STEPS = 500
/** The result a skipped step completes with. */
export const SKIPPED = { $workflow: 'skipped' } as const

/** An edge: the step depended on, what happens when it fails for good, and when it was skipped. */
export interface WorkflowEdge {
  step: string
  /** `fail` (default: this step fails, and so the run), `continue` (run and see the failure) or `ignore`. */
  onFailure?: DependencyFailurePolicy
  /** `run` (default: a skipped parent counts as satisfied, its `$result` is null) or `skip` (skip this step too). */
  onSkipped?: 'run' | 'skip'
}

export interface WorkflowStep {
  id: string
  queue: string
  /** JSON; `{"$param": "a.b"}` and `{"$result": "step.a.b"}` objects are replaced when the step runs. */
  payload?: unknown
  dependsOn?: (string | WorkflowEdge)[]
  /** A JSON Logic rule over `{ params, results }`: the step runs only when it holds. */
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
  tenant: string
  createdAt: Date
}

interface TemplateData {
  name: string
  versions: { version: number; definition: WorkflowDefinition; createdAt: number }[]
}

/** The envelope a step's job carries as its payload. */
interface StepEnvelope {
  $workflowStep: {
    run: string
    step: string
    payload: unknown
    when?: unknown
    params: unknown
    /** Each parent step and what a skipped parent means here. */
    parents: Record<string, { onSkipped: 'run' | 'skip' }>
  }
}

interface RunData {
  name: string
  version: number
  params: unknown
  definition: WorkflowDefinition
  /** Each step's current job; `previous` holds the jobs of earlier tries (retry from failed). */
  steps: Record<string, { job: string; previous: string[] }>
  createdAt: number
  cancelledAt: number | null
  retries: number
  /** Set once the run was seen finished (so listing does not read its jobs again). */
  finished?: { status: RunStatus; finishedAt: number }
}

export type StepState = 'blocked' | 'waiting' | 'running' | 'completed' | 'skipped' | 'failed' | 'cancelled'
/** `expired`: retention removed its jobs before the run was seen finished. */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired'

export interface WorkflowStepView {
  id: string
  queue: string
  jobId: string
  state: StepState
  attempt: number
  /** The resolved payload, once every parent has finished; null before. */
  input: unknown
  output: unknown
  error: string | null
  dependsOn: string[]
  createdAt: Date
  startedAt: Date | null
  finishedAt: Date | null
  previousJobs: string[]
}

export interface WorkflowRun {
  id: string
  name: string
  version: number
  tenant: string
  status: RunStatus
  params: unknown
  retries: number
  createdAt: Date
  finishedAt: Date | null
  durationMs: number | null
  steps: WorkflowStepView[]
}

function invalid(message: string, field: string): SpoolError {
  return new SpoolError('SPOOL_INVALID_WORKFLOW', message, { field })
}

function edgesOf(step: WorkflowStep): Required<WorkflowEdge>[] {
  return (step.dependsOn ?? []).map((edge) =>
    typeof edge === 'string'
      ? { step: edge, onFailure: 'fail', onSkipped: 'run' }
      : { step: edge.step, onFailure: edge.onFailure ?? 'fail', onSkipped: edge.onSkipped ?? 'run' },
  )
}

/**
 * Checks a definition: step ids unique and well formed, queues valid, dependencies known, no
 * cycle, every step reachable from a root, references to results only of steps it depends on
 * (directly or not), conditions valid JSON Logic. The error's `field` points at the step.
 */
export function validateDefinition(definition: WorkflowDefinition): void {
  if (definition === null || typeof definition !== 'object' || !Array.isArray(definition.steps)) {
    throw invalid('a workflow has a steps array', 'steps')
  }
  const steps = definition.steps
  if (steps.length === 0) throw invalid('a workflow has at least one step', 'steps')
  if (steps.length > MAX_STEPS) throw invalid(`a workflow has at most ${MAX_STEPS} steps`, 'steps')
  const index = new Map<string, number>()
  for (const [i, step] of steps.entries()) {
    const at = `steps.${i}`
    if (step === null || typeof step !== 'object') throw invalid(`${at} must be an object`, at)
    if (typeof step.id !== 'string' || !STEP_ID.test(step.id)) {
      throw invalid(`${at}.id must be 1–64 letters, digits, "_" or "-", starting with a letter`, `${at}.id`)
    }
    if (index.has(step.id)) throw invalid(`step "${step.id}" is defined twice`, `${at}.id`)
    index.set(step.id, i)
    try {
      assertQueueName(step.queue)
    } catch {
      throw invalid(`step "${step.id}" has an invalid queue name`, `${at}.queue`)
    }
  }
  for (const [i, step] of steps.entries()) {
    const at = `steps.${i}`
    if (step.dependsOn !== undefined && !Array.isArray(step.dependsOn)) {
      throw invalid(`step "${step.id}": dependsOn must be an array`, `${at}.dependsOn`)
    }
    const seen = new Set<string>()
    for (const [j, edge] of edgesOf(step).entries()) {
      if (!index.has(edge.step)) {
        throw invalid(`step "${step.id}" depends on unknown step "${edge.step}"`, `${at}.dependsOn.${j}`)
      }
      if (edge.step === step.id) throw invalid(`step "${step.id}" depends on itself`, `${at}.dependsOn.${j}`)
      if (seen.has(edge.step)) {
        throw invalid(`step "${step.id}" names "${edge.step}" twice in dependsOn`, `${at}.dependsOn.${j}`)
      }
      seen.add(edge.step)
    }
    if (step.when !== undefined && !jsonLogic.is_logic(step.when) && typeof step.when !== 'boolean') {
      throw invalid(`step "${step.id}": when must be a JSON Logic rule`, `${at}.when`)
    }
  }
  // Cycles: depth-first; the first step found on the stack twice is named.
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (id: string): void => {
    state.set(id, 'visiting')
    const i = index.get(id) as number
    for (const [j, edge] of edgesOf(steps[i] as WorkflowStep).entries()) {
      const s = state.get(edge.step)
      if (s === 'visiting') {
        throw invalid(`step "${id}" is part of a cycle through "${edge.step}"`, `steps.${i}.dependsOn.${j}`)
      }
      if (s === undefined) visit(edge.step)
    }
    state.set(id, 'done')
  }
  for (const step of steps) if (!state.has(step.id)) visit(step.id)
  // Reachability: every step must be reachable from a root (a step with no dependencies). In an
  // acyclic graph that always holds, so this guards the case a step only lists itself (refused above).
  // References: a `$result` must name a step this one (transitively) depends on.
  const ancestors = new Map<string, Set<string>>()
  const ancestorsOf = (id: string): Set<string> => {
    const known = ancestors.get(id)
    if (known) return known
    const set = new Set<string>()
    for (const edge of edgesOf(steps[index.get(id) as number] as WorkflowStep)) {
      set.add(edge.step)
      for (const a of ancestorsOf(edge.step)) set.add(a)
    }
    ancestors.set(id, set)
    return set
  }
  for (const [i, step] of steps.entries()) {
    const mine = ancestorsOf(step.id)
    for (const ref of references(step.payload)) {
      const target = ref.split('.')[0] as string
      if (!mine.has(target)) {
        throw invalid(
          `step "${step.id}" reads the result of "${target}", which it does not depend on`,
          `steps.${i}.payload`,
        )
      }
    }
    let variables: string[]
    try {
      variables = logicVars(step.when)
    } catch (error) {
      throw invalid(`step "${step.id}": ${(error as Error).message}`, `steps.${i}.when`)
    }
    for (const variable of variables) {
      const [root, target] = variable.split('.')
      if (root !== 'params' && root !== 'results') {
        throw invalid(
          `step "${step.id}": a condition reads params.… or results.…, not "${variable}"`,
          `steps.${i}.when`,
        )
      }
      if (root === 'results' && (target === undefined || !mine.has(target))) {
        throw invalid(
          `step "${step.id}": its condition reads the result of "${target}", which it does not depend on`,
          `steps.${i}.when`,
        )
      }
    }
  }
}

/** The `$result` references in a payload template. */
function references(template: unknown, out: string[] = []): string[] {
  if (Array.isArray(template)) for (const item of template) references(item, out)
  else if (template !== null && typeof template === 'object') {
    const keys = Object.keys(template)
    const ref = (template as Record<string, unknown>).$result
    if (keys.length === 1 && typeof ref === 'string') out.push(ref)
    else for (const value of Object.values(template)) references(value, out)
  }
  return out
}

/**
 * The JSON Logic operations a condition may use: pure ones over data. Left out: `method` (calls
 * a method of a value) and `log` (writes the value to the console, where secrets must not go).
 */
const LOGIC_OPS = new Set(
  `var missing missing_some if ?: == === != !== ! !! or and > >= < <= max min + - * / % map filter reduce all none some merge in cat substr`.split(
    ' ',
  ),
)
/** Operations whose second and later arguments read the current item, not the run's data. */
const SCOPED_OPS = new Set(['map', 'filter', 'reduce', 'all', 'none', 'some'])

/** The variables a JSON Logic rule reads; throws on an operation it may not use. */
function logicVars(rule: unknown, out: string[] = []): string[] {
  if (Array.isArray(rule)) for (const item of rule) logicVars(item, out)
  else if (rule !== null && typeof rule === 'object') {
    for (const [op, args] of Object.entries(rule)) {
      if (!LOGIC_OPS.has(op)) throw new Error(`the operation "${op}" is not allowed in a condition`)
      if (op === 'var') {
        const name = Array.isArray(args) ? args[0] : args
        if (typeof name === 'string' && name !== '') out.push(name)
      } else if (SCOPED_OPS.has(op) && Array.isArray(args)) logicVars(args[0], out)
      else logicVars(args, out)
    }
  }
  return out
}

function pathGet(value: unknown, path: string[]): unknown {
  let at = value
  for (const key of path) {
    if (at === null || typeof at !== 'object') return null
    at = (at as Record<string, unknown>)[key]
  }
  return at === undefined ? null : at
}

/** Replaces `{"$param": "a.b"}` and `{"$result": "step.a.b"}` in a template; a missing path is null. */
export function resolveTemplate(template: unknown, params: unknown, results: Record<string, unknown>): unknown {
  if (Array.isArray(template)) return template.map((item) => resolveTemplate(item, params, results))
  if (template !== null && typeof template === 'object') {
    const entries = Object.entries(template)
    if (entries.length === 1) {
      const [key, ref] = entries[0] as [string, unknown]
      if (key === '$param' && typeof ref === 'string') return pathGet(params, ref === '' ? [] : ref.split('.'))
      if (key === '$result' && typeof ref === 'string') {
        const [step, ...path] = ref.split('.')
        return pathGet(results[step as string] ?? null, path)
      }
    }
    return Object.fromEntries(entries.map(([key, value]) => [key, resolveTemplate(value, params, results)]))
  }
  return template
}

function isSkipped(result: unknown): boolean {
  return isDeepStrictEqual(result, SKIPPED)
}

function isEnvelope(payload: unknown): payload is StepEnvelope {
  return payload !== null && typeof payload === 'object' && '$workflowStep' in payload
}

/**
 * Opens a step's envelope with its parents' outcomes: `{ skip: true }` when its condition is
 * false or a parent it follows with `onSkipped: 'skip'` was skipped; else the resolved payload.
 * Exported for workers outside this process (HTTP workers) that read the parents themselves.
 */
export function openStep(
  envelope: StepEnvelope,
  parents: Map<string, Pick<ChildResult, 'state' | 'result'>>,
): { skip: true } | { skip: false; payload: unknown } {
  const step = envelope.$workflowStep
  const results: Record<string, unknown> = {}
  for (const [id, edge] of Object.entries(step.parents)) {
    const parent = parents.get(id)
    const skipped = parent !== undefined && parent.state === 'completed' && isSkipped(parent.result)
    if (skipped && edge.onSkipped === 'skip') return { skip: true }
    results[id] = parent === undefined || skipped || parent.state !== 'completed' ? null : parent.result
  }
  if (
    step.when !== undefined &&
    !jsonLogic.truthy(jsonLogic.apply(step.when as never, { params: step.params, results }))
  ) {
    return { skip: true }
  }
  return { skip: false, payload: resolveTemplate(step.payload, step.params, results) }
}

/** Steps with every step after the ones it depends on. */
function topological(steps: WorkflowStep[]): WorkflowStep[] {
  const byId = new Map(steps.map((step) => [step.id, step]))
  const order: WorkflowStep[] = []
  const placed = new Set<string>()
  const place = (step: WorkflowStep): void => {
    if (placed.has(step.id)) return
    placed.add(step.id)
    for (const edge of edgesOf(step)) place(byId.get(edge.step) as WorkflowStep)
    order.push(step)
  }
  for (const step of steps) place(step)
  return order
}

function stepState(info: JobInfo): StepState {
  switch (info.state) {
    case 'blocked':
      return 'blocked'
    case 'active':
      return 'running'
    case 'completed':
      return isSkipped(info.result) ? 'skipped' : 'completed'
    case 'failed':
      return 'failed'
    case 'cancelled':
      return 'cancelled'
    default:
      return 'waiting'
  }
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] as number
}

export interface WorkflowsDeps {
  engine: EngineContext
  records: Records
  jobs: JobAdmin
  work<P, R>(queue: string, handler: Handler<P, R>, options?: WorkOptions): Worker<P, R>
}

export class Workflows {
  constructor(private readonly deps: WorkflowsDeps) {}

  private static key(tenant: string, name: string): string {
    return `${name}|${tenant}`
  }

  private assertName(name: unknown): asserts name is string {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw invalid('a workflow name is 1–128 letters, digits, ".", "_", ":" or "-"', 'name')
    }
  }

  /**
   * Saves a template; a definition that differs from the latest version becomes a new version
   * (the same one again changes nothing). Validated first: nothing is saved when it is refused.
   */
  async define(
    name: string,
    definition: WorkflowDefinition,
    options: { tenant?: string } = {},
  ): Promise<WorkflowTemplate & { created: boolean }> {
    this.deps.engine.assertOpen()
    this.assertName(name)
    validateDefinition(definition)
    const tenant = options.tenant ?? 'default'
    const clean: WorkflowDefinition = JSON.parse(
      JSON.stringify({
        ...(definition.description !== undefined && { description: definition.description }),
        steps: definition.steps,
      }),
    )
    const existing = await this.deps.records.findByKey<TemplateData>(TEMPLATES, Workflows.key(tenant, name))
    const versions = existing?.data.versions ?? []
    const latest = versions.at(-1)
    if (latest && isDeepStrictEqual(latest.definition, clean)) {
      return { ...this.toTemplate(name, tenant, latest), created: false }
    }
    const next = { version: (latest?.version ?? 0) + 1, definition: clean, createdAt: Date.now() }
    await this.deps.records.put<TemplateData>(TEMPLATES, {
      ...(existing && { id: existing.id }),
      tenant,
      key: Workflows.key(tenant, name),
      data: { name, versions: [...versions, next] },
    })
    return { ...this.toTemplate(name, tenant, next), created: true }
  }

  private toTemplate(name: string, tenant: string, v: TemplateData['versions'][number]): WorkflowTemplate {
    return { name, tenant, version: v.version, createdAt: new Date(v.createdAt), ...v.definition }
  }

  /** A template's latest version, or the one asked for; null when there is none (in this tenant). */
  async get(name: string, options: { tenant?: string; version?: number } = {}): Promise<WorkflowTemplate | null> {
    const tenant = options.tenant ?? 'default'
    if (typeof name !== 'string' || !NAME.test(name)) return null
    const record = await this.deps.records.findByKey<TemplateData>(TEMPLATES, Workflows.key(tenant, name))
    if (!record || record.tenant !== tenant) return null
    const versions = record.data.versions
    const v = options.version === undefined ? versions.at(-1) : versions.find((x) => x.version === options.version)
    return v ? this.toTemplate(name, tenant, v) : null
  }

  /** This tenant's templates (latest versions), by name. */
  async list(options: { tenant?: string } = {}): Promise<WorkflowTemplate[]> {
    const tenant = options.tenant ?? 'default'
    const records = await this.deps.records.list<TemplateData>(TEMPLATES, { tenant, limit: 10_000 })
    return records
      .map((r) => this.toTemplate(r.data.name, tenant, r.data.versions.at(-1) as TemplateData['versions'][number]))
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Deletes a template (every version); its runs keep the definition they pinned. */
  async remove(name: string, options: { tenant?: string } = {}): Promise<boolean> {
    const tenant = options.tenant ?? 'default'
    if (typeof name !== 'string' || !NAME.test(name)) return false
    const record = await this.deps.records.findByKey<TemplateData>(TEMPLATES, Workflows.key(tenant, name))
    if (!record || record.tenant !== tenant) return false
    return this.deps.records.delete(TEMPLATES, record.id)
  }

  /**
   * Starts a run of a template's latest version (or `version`): every step becomes a job in one
   * transaction, each waiting for the steps it depends on. Returns the run id.
   */
  async start(
    name: string,
    params: unknown = {},
    options: { tenant?: string; version?: number; enqueue?: EnqueueOptions } = {},
  ): Promise<{ id: string; version: number }> {
    this.deps.engine.assertOpen()
    const tenant = options.tenant ?? 'default'
    const template = await this.get(name, {
      tenant,
      ...(options.version !== undefined && { version: options.version }),
    })
    if (!template) throw new SpoolError('SPOOL_WORKFLOW_NOT_FOUND', `no workflow "${name}"`, { field: 'name' })
    const { name: _n, tenant: _t, version, createdAt: _c, ...definition } = template
    const run = await this.deps.records.put<RunData>(RUNS, {
      tenant,
      data: {
        name,
        version,
        params: params ?? {},
        definition,
        steps: {},
        createdAt: Date.now(),
        cancelledAt: null,
        retries: 0,
      },
    })
    try {
      const steps = await this.enqueueSteps(run.id, tenant, run.data, new Map(), options.enqueue)
      await this.deps.records.put<RunData>(RUNS, { id: run.id, tenant, key: null, data: { ...run.data, steps } })
    } catch (error) {
      await this.deps.records.delete(RUNS, run.id)
      throw error
    }
    return { id: run.id, version }
  }

  /**
   * Writes the jobs of every step not in `kept` (step → a completed job kept from an earlier
   * try) in one transaction, in dependency order; `kept` parents are named by job id.
   */
  private async enqueueSteps(
    runId: string,
    tenant: string,
    run: RunData,
    kept: Map<string, string>,
    extra: EnqueueOptions = {},
  ): Promise<RunData['steps']> {
    const engine = this.deps.engine
    const steps = run.definition.steps
    const order = topological(steps)
    const now = Date.now()
    const jobs: NewJob[] = []
    const indexOf = new Map<string, number>()
    const fresh = order.filter((step) => !kept.has(step.id))
    for (const step of fresh) {
      const { config } = await engine.configs.get(step.queue)
      const edges = edgesOf(step)
      const envelope: StepEnvelope = {
        $workflowStep: {
          run: runId,
          step: step.id,
          payload: step.payload ?? null,
          ...(step.when !== undefined && { when: step.when }),
          params: run.params,
          parents: Object.fromEntries(edges.map((edge) => [edge.step, { onSkipped: edge.onSkipped }])),
        },
      }
      const options: EnqueueOptions = {
        ...extra,
        tenant,
        metadata: { ...(extra.metadata ?? {}), workflow: { run: runId, name: run.name, step: step.id } },
        ...(step.priority !== undefined && { priority: step.priority }),
        ...(step.maxAttempts !== undefined && { maxAttempts: step.maxAttempts }),
        ...(step.timeoutMs !== undefined && { timeoutMs: step.timeoutMs }),
      }
      const job = engine.prepare(step.queue, envelope, options, config, now, `steps.${step.id}`)
      const dependsOn: Dependency[] = edges.map((edge) => {
        const keptJob = kept.get(edge.step)
        return keptJob !== undefined
          ? { id: keptJob, onFailure: edge.onFailure }
          : { index: indexOf.get(edge.step) as number, onFailure: edge.onFailure }
      })
      job.dependsOn = dependsOn
      indexOf.set(step.id, jobs.length)
      jobs.push(job)
    }
    const results = await engine.insert(jobs, now)
    engine.changed([...new Set(jobs.map((job) => job.queue))])
    const out: RunData['steps'] = {}
    for (const step of order) {
      const previous = run.steps[step.id]
      const kept_ = kept.get(step.id)
      if (kept_ !== undefined) out[step.id] = previous ?? { job: kept_, previous: [] }
      else {
        const id = results[indexOf.get(step.id) as number]?.id as string
        out[step.id] = { job: id, previous: previous ? [...previous.previous, previous.job] : [] }
      }
    }
    return out
  }

  /**
   * Serves a queue whose jobs are workflow steps (and plain jobs too): opens the step's envelope
   * when it runs — its parents are finished then — and calls `handler` with the resolved payload,
   * or completes the step as `skipped` when its condition is false.
   */
  work<P = unknown, R = unknown>(
    queue: string,
    handler: Handler<P, R>,
    options?: WorkOptions,
  ): Worker<unknown, unknown> {
    const wrapped: Handler<unknown, unknown> = async (job, ctx) => {
      if (!isEnvelope(job.payload)) return handler(job as never, ctx)
      const opened = openStep(job.payload, await this.parentsOf(job.id))
      if (opened.skip) return SKIPPED
      return handler({ ...job, payload: opened.payload as P }, ctx)
    }
    return this.deps.work(queue, wrapped, options)
  }

  /** A step job's finished parents by step id: its dependencies, named by their jobs' metadata. */
  private async parentsOf(jobId: string): Promise<Map<string, ChildResult>> {
    const out = new Map<string, ChildResult>()
    for (const child of await this.deps.jobs.children(jobId)) {
      const info = await this.deps.jobs.get(child.id)
      const step = (info?.metadata.workflow as { step?: unknown } | undefined)?.step
      if (typeof step === 'string') out.set(step, child)
    }
    return out
  }

  /** A run with each step's state, timings, input and output; null when unknown in this tenant. */
  async run(id: string, options: { tenant?: string } = {}): Promise<WorkflowRun | null> {
    const tenant = options.tenant ?? 'default'
    if (typeof id !== 'string' || id.length > 64) return null
    const record = await this.deps.records.get<RunData>(RUNS, id)
    if (!record || record.tenant !== tenant) return null
    return this.view(record.id, tenant, record.data)
  }

  private async view(id: string, tenant: string, data: RunData): Promise<WorkflowRun> {
    const infos = new Map<string, JobInfo>()
    for (const [step, entry] of Object.entries(data.steps)) {
      const info = await this.deps.jobs.get(entry.job)
      if (info) infos.set(step, info)
    }
    const outputs: Record<string, unknown> = {}
    const steps: WorkflowStepView[] = []
    for (const step of data.definition.steps) {
      const info = infos.get(step.id)
      const entry = data.steps[step.id]
      if (!info || !entry) continue
      const state = stepState(info)
      const edges = edgesOf(step)
      const parentsDone = edges.every((edge) => {
        const parent = infos.get(edge.step)
        return parent !== undefined && ['completed', 'failed', 'cancelled'].includes(parent.state)
      })
      let input: unknown = null
      if (parentsDone && state !== 'skipped' && isEnvelope(info.payload)) {
        const opened = openStep(info.payload, infos)
        if (!opened.skip) input = opened.payload
      }
      const output = state === 'completed' ? info.result : null
      outputs[step.id] = output
      steps.push({
        id: step.id,
        queue: step.queue,
        jobId: info.id,
        state,
        attempt: info.attempt,
        input,
        output,
        error: info.errors.at(-1)?.message ?? null,
        dependsOn: edges.map((edge) => edge.step),
        createdAt: info.createdAt,
        startedAt: info.startedAt,
        finishedAt: info.finishedAt,
        previousJobs: entry.previous,
      })
    }
    const dependents = new Set(data.definition.steps.flatMap((step) => edgesOf(step).map((edge) => edge.step)))
    const terminal = steps.every((s) => ['completed', 'skipped', 'failed', 'cancelled'].includes(s.state))
    let status: RunStatus = 'running'
    if (steps.length < data.definition.steps.length) {
      // Retention removed some of its jobs: what was recorded when it finished, if anything.
      status = data.finished?.status ?? 'expired'
    } else if (terminal) {
      const sinkFailed = steps.some((s) => !dependents.has(s.id) && (s.state === 'failed' || s.state === 'cancelled'))
      status = data.cancelledAt !== null ? 'cancelled' : sinkFailed ? 'failed' : 'succeeded'
    }
    const finishedAt =
      status === 'running'
        ? null
        : status === 'expired' || steps.length < data.definition.steps.length
          ? (data.finished?.finishedAt ?? null)
          : Math.max(data.createdAt, ...steps.map((s) => s.finishedAt?.getTime() ?? data.createdAt))
    if (
      steps.length === data.definition.steps.length &&
      terminal &&
      finishedAt !== null &&
      (data.finished?.status !== status || data.finished.finishedAt !== finishedAt)
    ) {
      // Remember the outcome (for listing, and once retention removes the jobs). Written only if
      // the run is still the one read: a retry in between keeps its new steps.
      const current = await this.deps.records.get<RunData>(RUNS, id)
      if (current && current.data.retries === data.retries && isDeepStrictEqual(current.data.steps, data.steps)) {
        await this.deps.records.put<RunData>(RUNS, {
          id,
          tenant,
          data: { ...current.data, finished: { status, finishedAt } },
        })
      }
    }
    return {
      id,
      name: data.name,
      version: data.version,
      tenant,
      status,
      params: data.params,
      retries: data.retries,
      createdAt: new Date(data.createdAt),
      finishedAt: finishedAt === null ? null : new Date(finishedAt),
      durationMs: finishedAt === null ? null : finishedAt - data.createdAt,
      steps,
    }
  }

  /**
   * A template's runs, newest first (the last `limit`, default 50), with the success rate and
   * duration percentiles of the finished ones among them.
   */
  async runs(
    name: string,
    options: { tenant?: string; limit?: number } = {},
  ): Promise<{
    runs: Omit<WorkflowRun, 'steps' | 'params'>[]
    stats: {
      finished: number
      succeeded: number
      successRate: number | null
      p50Ms: number | null
      p95Ms: number | null
    }
  }> {
    const tenant = options.tenant ?? 'default'
    const limit = options.limit ?? 50
    const out: Omit<WorkflowRun, 'steps' | 'params'>[] = []
    let beforeSeq: number | undefined
    // Runs of every template share one collection: page newest first, keep this template's.
    for (let page = 0; page < 20 && out.length < limit; page++) {
      const records = await this.deps.records.list<RunData>(RUNS, {
        tenant,
        order: 'desc',
        limit: 500,
        ...(beforeSeq !== undefined && { beforeSeq }),
      })
      for (const record of records) {
        if (record.data.name !== name || out.length >= limit) continue
        const view =
          record.data.finished !== undefined
            ? {
                id: record.id,
                name,
                version: record.data.version,
                tenant,
                status: record.data.finished.status,
                retries: record.data.retries,
                createdAt: new Date(record.data.createdAt),
                finishedAt: new Date(record.data.finished.finishedAt),
                durationMs: record.data.finished.finishedAt - record.data.createdAt,
              }
            : await this.view(record.id, tenant, record.data)
        const { steps: _s, params: _p, ...summary } = view as WorkflowRun
        out.push(summary)
      }
      if (records.length < 500) break
      beforeSeq = records.at(-1)?.seq
    }
    const finished = out.filter((run) => run.status !== 'running' && run.status !== 'expired')
    const succeeded = finished.filter((run) => run.status === 'succeeded').length
    const durations = finished
      .filter((run) => run.status === 'succeeded' && run.durationMs !== null)
      .map((run) => run.durationMs as number)
      .sort((a, b) => a - b)
    return {
      runs: out,
      stats: {
        finished: finished.length,
        succeeded,
        successRate: finished.length === 0 ? null : succeeded / finished.length,
        p50Ms: percentile(durations, 50),
        p95Ms: percentile(durations, 95),
      },
    }
  }

  /** Cancels every unfinished step of a run. */
  async cancel(id: string, options: { tenant?: string } = {}): Promise<WorkflowRun> {
    const tenant = options.tenant ?? 'default'
    const record = await this.runRecord(id, tenant)
    await this.deps.records.put<RunData>(RUNS, { id, tenant, data: { ...record.data, cancelledAt: Date.now() } })
    // Dependents first: a cancelled parent would otherwise fail its blocked dependents first.
    const order = topological(record.data.definition.steps).reverse()
    for (const step of order) {
      const entry = record.data.steps[step.id]
      if (!entry) continue
      const info = await this.deps.jobs.get(entry.job)
      if (info && !['completed', 'failed', 'cancelled'].includes(info.state)) {
        await this.deps.jobs.cancel(entry.job).catch((error: unknown) => {
          if (!(error instanceof SpoolError && error.code === 'SPOOL_INVALID_TRANSITION')) throw error
        })
      }
    }
    return (await this.run(id, { tenant })) as WorkflowRun
  }

  /**
   * Retries a finished run from its failed steps only: steps that completed (or were skipped)
   * keep their jobs and results; every failed or cancelled step gets a new job, waiting for
   * its parents as before. Refused (`SPOOL_INVALID_TRANSITION`) while the run is still running
   * or when nothing failed.
   */
  async retry(id: string, options: { tenant?: string } = {}): Promise<WorkflowRun> {
    const tenant = options.tenant ?? 'default'
    const record = await this.runRecord(id, tenant)
    const view = await this.view(id, tenant, record.data)
    if (view.status === 'running' || view.status === 'succeeded' || view.status === 'expired') {
      throw new SpoolError(
        'SPOOL_INVALID_TRANSITION',
        `run ${id} is ${view.status}: only a failed or cancelled run is retried`,
        {
          field: 'id',
          state: view.status,
        },
      )
    }
    const kept = new Map<string, string>()
    for (const step of view.steps) {
      if (step.state === 'completed' || step.state === 'skipped') kept.set(step.id, step.jobId)
    }
    const fresh = await this.deps.records.get<RunData>(RUNS, id)
    const data = (fresh ?? record).data
    const next = { ...data, cancelledAt: null, retries: data.retries + 1 }
    delete next.finished
    const steps = await this.enqueueSteps(id, tenant, next, kept)
    await this.deps.records.put<RunData>(RUNS, { id, tenant, data: { ...next, steps } })
    return (await this.run(id, { tenant })) as WorkflowRun
  }

  private async runRecord(id: string, tenant: string) {
    const record = typeof id === 'string' && id.length <= 64 ? await this.deps.records.get<RunData>(RUNS, id) : null
    if (!record || record.tenant !== tenant) {
      throw new SpoolError('SPOOL_WORKFLOW_NOT_FOUND', `no workflow run ${id}`, { field: 'id' })
    }
    return record
  }
}
