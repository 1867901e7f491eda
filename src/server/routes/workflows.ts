/**
 * Workflows of this tenant: templates (define, read, list, delete) and runs (start, read, list
 * per template with success rate and durations, cancel, retry from failed steps). A template or
 * run of another tenant is "not found".
 */
import { z } from 'zod'
import type { WorkflowDefinition, WorkflowRun, WorkflowTemplate } from '../../engine/workflows.js'
import { HttpProblem } from '../problem.js'
import { Reply, route } from '../route.js'
import * as s from '../schemas.js'
import { callerTrace, engineOptions, userOf } from './jobs.js'

const workflowName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'a workflow name is 1–128 letters, digits, ".", "_", ":" or "-"')
const nameParams = z.strictObject({ name: workflowName })
const runParams = z.strictObject({ id: z.string().min(1).max(64) })

const edge = z.union([
  z.string(),
  z.strictObject({
    step: z.string(),
    onFailure: z
      .enum(['fail', 'ignore', 'continue'])
      .optional()
      .describe(
        'when the step depended on fails for good: fail this step (and the run), continue (run and see it), ignore',
      ),
    onSkipped: z.enum(['run', 'skip']).optional().describe('when it was skipped: run anyway (default) or skip too'),
  }),
])

const step = z
  .strictObject({
    id: z.string().min(1).max(64),
    queue: s.queueName,
    payload: z
      .unknown()
      .optional()
      .describe('JSON; {"$param":"a.b"} and {"$result":"step.a.b"} are replaced when the step runs'),
    dependsOn: z.array(edge).max(500).optional(),
    when: z
      .unknown()
      .optional()
      .describe('a JSON Logic rule over { params, results }: the step runs only when it holds'),
    timeoutMs: z.number().int().positive().max(2_147_483_647).optional(),
    priority: s.priority.optional(),
    maxAttempts: z.number().int().min(1).max(1000).optional(),
  })
  .meta({ id: 'WorkflowStep' })

const definitionBody = z.strictObject({
  description: z.string().max(2000).optional(),
  steps: z.array(step).min(1).max(500),
})

const template = z
  .object({
    name: z.string(),
    version: z.number().int(),
    description: z.string().optional(),
    steps: z.array(step),
    createdAt: z.string(),
  })
  .meta({ id: 'WorkflowTemplate' })

const stepState = z.enum(['blocked', 'waiting', 'running', 'completed', 'skipped', 'failed', 'cancelled'])
const runStatus = z
  .enum(['running', 'succeeded', 'failed', 'cancelled', 'expired'])
  .describe('expired: retention removed its jobs before it was seen finished')

const runSummary = {
  id: z.string(),
  name: z.string(),
  version: z.number().int(),
  status: runStatus,
  retries: z.number().int().describe('how many times the run was retried from its failed steps'),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
}

const run = z
  .object({
    ...runSummary,
    params: z.unknown(),
    steps: z.array(
      z.object({
        id: z.string(),
        queue: z.string(),
        jobId: s.jobId,
        state: stepState,
        attempt: z.number().int(),
        input: z.unknown().describe('the resolved payload, once every parent has finished'),
        output: z.unknown(),
        error: z.string().nullable(),
        dependsOn: z.array(z.string()),
        createdAt: z.string(),
        startedAt: z.string().nullable(),
        finishedAt: z.string().nullable(),
        previousJobs: z.array(s.jobId).describe('this step’s jobs of earlier tries, oldest first'),
      }),
    ),
  })
  .meta({ id: 'WorkflowRun' })

const iso = (date: Date | null) => date?.toISOString() ?? null

function templateToApi(t: WorkflowTemplate) {
  return {
    name: t.name,
    version: t.version,
    ...(t.description !== undefined && { description: t.description }),
    steps: t.steps as z.infer<typeof step>[],
    createdAt: t.createdAt.toISOString(),
  }
}

function summaryToApi(r: Omit<WorkflowRun, 'steps' | 'params'>) {
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    status: r.status,
    retries: r.retries,
    createdAt: r.createdAt.toISOString(),
    finishedAt: iso(r.finishedAt),
    durationMs: r.durationMs,
  }
}

function runToApi(r: WorkflowRun) {
  return {
    ...summaryToApi(r),
    params: r.params,
    steps: r.steps.map((x) => ({
      ...x,
      createdAt: x.createdAt.toISOString(),
      startedAt: iso(x.startedAt),
      finishedAt: iso(x.finishedAt),
    })),
  }
}

export const workflowRoutes = [
  route({
    id: 'workflows.list',
    method: 'GET',
    url: '/v1/workflows',
    tag: 'jobs',
    summary: 'This tenant’s workflow templates (latest versions), by name',
    permission: 'read',
    response: z.object({ workflows: z.array(template) }),
    async handler({ app, tenant }) {
      return { workflows: (await app.spool.workflows.list({ tenant })).map(templateToApi) }
    },
  }),
  route({
    id: 'workflows.get',
    method: 'GET',
    url: '/v1/workflows/:name',
    tag: 'jobs',
    summary: 'A workflow template: its latest version, or `version`',
    permission: 'read',
    params: nameParams,
    query: z.strictObject({ version: s.intQuery(1, 1_000_000).optional() }),
    response: template,
    async handler({ app, params, query, tenant }) {
      const found = await app.spool.workflows.get(params.name, {
        tenant,
        ...(query.version !== undefined && { version: query.version }),
      })
      if (!found) throw new HttpProblem('SPOOL_NOT_FOUND', `no workflow "${params.name}"`, { field: 'name' })
      return templateToApi(found)
    },
  }),
  route({
    id: 'workflows.define',
    method: 'PUT',
    url: '/v1/workflows/:name',
    tag: 'jobs',
    summary: 'Define a workflow template; a changed definition becomes a new version',
    description:
      'Validated first: duplicate step ids, unknown dependencies, cycles, results read from steps it does not depend on and invalid conditions are refused (`SPOOL_INVALID_WORKFLOW`) with `field` pointing at the step (`steps.2.dependsOn.0`). The same definition again changes nothing (`created: false`).',
    permission: 'manage',
    params: nameParams,
    body: definitionBody,
    response: template.extend({ created: z.boolean() }),
    bodyLimit: 4 * 1024 * 1024,
    async handler({ app, params, body, tenant }) {
      const saved = await app.spool.workflows.define(params.name, body as WorkflowDefinition, { tenant })
      return { ...templateToApi(saved), created: saved.created }
    },
  }),
  route({
    id: 'workflows.delete',
    method: 'DELETE',
    url: '/v1/workflows/:name',
    tag: 'jobs',
    summary: 'Delete a workflow template (every version); its runs keep the version they pinned',
    permission: 'manage',
    params: nameParams,
    status: 204,
    async handler({ app, params, tenant }) {
      if (!(await app.spool.workflows.remove(params.name, { tenant }))) {
        throw new HttpProblem('SPOOL_NOT_FOUND', `no workflow "${params.name}"`, { field: 'name' })
      }
      return new Reply(204, undefined)
    },
  }),
  route({
    id: 'workflows.start',
    method: 'POST',
    url: '/v1/workflows/:name/runs',
    tag: 'jobs',
    summary: 'Start a run of a workflow with its params: every step becomes a job of one flow',
    permission: 'produce',
    params: nameParams,
    body: z.strictObject({
      params: z.unknown().optional(),
      version: z.number().int().min(1).optional().describe('the version to run (default the latest)'),
    }),
    response: z.object({ id: z.string(), name: z.string(), version: z.number().int() }).meta({ id: 'WorkflowStart' }),
    status: 201,
    errors: [429, 503],
    async handler({ app, params, body, tenant, audit, principal, request }) {
      const template = await app.spool.workflows.get(params.name, {
        tenant,
        ...(body.version !== undefined && { version: body.version }),
      })
      if (!template) throw new HttpProblem('SPOOL_NOT_FOUND', `no workflow "${params.name}"`, { field: 'name' })
      for (const st of template.steps) await app.admission.admit(tenant, st.queue, 1)
      const options = engineOptions(undefined, tenant, userOf(principal), callerTrace(app, request))
      const started = await app.spool.workflows.start(params.name, body.params ?? {}, {
        tenant,
        version: template.version,
        enqueue: options,
      })
      audit.target = `${params.name} run ${started.id}`
      return { id: started.id, name: params.name, version: started.version }
    },
  }),
  route({
    id: 'workflows.runs',
    method: 'GET',
    url: '/v1/workflows/:name/runs',
    tag: 'jobs',
    summary: 'A workflow’s runs, newest first, with the success rate and duration percentiles of the finished ones',
    permission: 'read',
    params: nameParams,
    query: z.strictObject({ limit: s.intQuery(1, 1000).optional().describe('how many runs (default 50)') }),
    response: z
      .object({
        runs: z.array(z.object(runSummary)),
        stats: z.object({
          finished: z.number().int(),
          succeeded: z.number().int(),
          successRate: z.number().nullable(),
          p50Ms: z.number().nullable().describe('median duration of the succeeded runs listed'),
          p95Ms: z.number().nullable(),
        }),
      })
      .meta({ id: 'WorkflowRuns' }),
    async handler({ app, params, query, tenant }) {
      const { runs, stats } = await app.spool.workflows.runs(params.name, {
        tenant,
        ...(query.limit !== undefined && { limit: query.limit }),
      })
      return { runs: runs.map(summaryToApi), stats }
    },
  }),
  route({
    id: 'workflows.run',
    method: 'GET',
    url: '/v1/workflow-runs/:id',
    tag: 'jobs',
    summary: 'A workflow run: its status and each step’s state, timings, input and output',
    permission: 'read',
    params: runParams,
    response: run,
    async handler({ app, params, tenant }) {
      const found = await app.spool.workflows.run(params.id, { tenant })
      if (!found) throw new HttpProblem('SPOOL_NOT_FOUND', `no workflow run ${params.id}`, { field: 'id' })
      return runToApi(found)
    },
  }),
  ...(['cancel', 'retry'] as const).map((action) =>
    route({
      id: `workflows.${action}`,
      method: 'POST',
      url: `/v1/workflow-runs/:id/${action}`,
      tag: 'jobs',
      summary:
        action === 'cancel'
          ? 'Cancel a run: every unfinished step is cancelled'
          : 'Retry a failed or cancelled run from its failed steps only (completed steps keep their results)',
      permission: 'produce',
      params: runParams,
      response: run,
      async handler({ app, params, tenant }) {
        if (!(await app.spool.workflows.run(params.id, { tenant }))) {
          throw new HttpProblem('SPOOL_NOT_FOUND', `no workflow run ${params.id}`, { field: 'id' })
        }
        return runToApi(await app.spool.workflows[action](params.id, { tenant }))
      },
    }),
  ),
]
