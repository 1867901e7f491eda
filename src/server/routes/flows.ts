/**
 * Flows: a tree of jobs enqueued in one transaction (children run first, the parent waits
 * blocked), and a job's place in its flow: the jobs it waits for and their outcomes.
 */
import { z } from 'zod'
import type { FlowJob, FlowNode } from '../../engine/flows.js'
import { route } from '../route.js'
import * as s from '../schemas.js'
import { jobInTenant } from './common.js'
import { callerTrace, checkDependencies, engineOptions, userOf } from './jobs.js'

const onFailure = z.enum(['fail', 'ignore', 'continue'])

/** One job of a flow and the jobs it waits for (recursive). */
const flowNode = z
  .strictObject({
    queue: s.queueName,
    payload: z.unknown().optional(),
    options: s.enqueueOptions.optional(),
    onFailure: onFailure.optional().describe('what the parent does if this job fails for good (default fail)'),
    get children() {
      return z.array(flowNode).max(1000).optional()
    },
  })
  .meta({ id: 'FlowNode' })
type FlowNodeBody = z.infer<typeof flowNode>

const flowJob = z
  .object({
    id: s.jobId,
    queue: z.string(),
    get children() {
      return z.array(flowJob)
    },
  })
  .meta({ id: 'FlowJob' })

/** Walks the tree: every node once, its path for error fields. */
function* nodes(node: FlowNodeBody, path = ''): Generator<[FlowNodeBody, string]> {
  yield [node, path]
  for (const [i, child] of (node.children ?? []).entries()) yield* nodes(child, `${path}children.${i}.`)
}

export const flowRoutes = [
  route({
    id: 'flows.create',
    method: 'POST',
    url: '/v1/flows',
    tag: 'jobs',
    summary: 'Enqueue a flow: a tree of jobs, children first, written all or nothing',
    description:
      'Each node is a job; its `children` run first and it stays `blocked` until they have finished. `onFailure` on a child says what its parent does when the child fails for good: `fail` (default), `continue` (run and see the failure) or `ignore`. At most 10,000 jobs.',
    permission: 'produce',
    body: flowNode,
    response: flowJob,
    status: 201,
    errors: [413, 429, 503],
    bodyLimit: 16 * 1024 * 1024,
    async handler({ app, body, tenant, audit, principal, request }) {
      const perQueue = new Map<string, number>()
      for (const [node, path] of nodes(body)) {
        await checkDependencies(app, tenant, node.options, `${path}options.`)
        perQueue.set(node.queue, (perQueue.get(node.queue) ?? 0) + 1)
      }
      for (const [queue, count] of perQueue) await app.admission.admit(tenant, queue, count)
      const user = userOf(principal)
      const trace = callerTrace(app, request)
      const toEngine = (node: FlowNodeBody): FlowNode => ({
        queue: node.queue,
        payload: node.payload,
        options: engineOptions(node.options, tenant, user, trace),
        ...(node.onFailure !== undefined && { onFailure: node.onFailure }),
        ...(node.children !== undefined && { children: node.children.map(toEngine) }),
      })
      const flow: FlowJob = await app.spool.flows.add(toEngine(body))
      audit.target = flow.id
      return flow
    },
  }),
  route({
    id: 'jobs.children',
    method: 'GET',
    url: '/v1/jobs/:id/children',
    tag: 'jobs',
    summary: 'The jobs this one waits for (a flow’s children or its dependsOn), in the order they were added',
    permission: 'read',
    params: z.strictObject({ id: s.jobId }),
    auditRead: true,
    auditAs: 'jobs.get',
    response: z.object({
      children: z.array(
        z.object({
          id: s.jobId,
          queue: z.string(),
          state: s.jobState,
          onFailure: z.enum(['fail', 'ignore', 'continue']),
          error: z.string().nullable().describe('the last error of a child that failed'),
        }),
      ),
    }),
    async handler({ app, params, tenant }) {
      await jobInTenant(app, params.id, tenant)
      const children = await app.spool.jobs.children(params.id)
      return {
        children: children.map((child) => ({
          id: child.id,
          queue: child.queue,
          state: child.state,
          onFailure: child.onFailure,
          error: child.error?.message ?? null,
        })),
      }
    },
  }),
  route({
    id: 'jobs.parents',
    method: 'GET',
    url: '/v1/jobs/:id/parents',
    tag: 'jobs',
    summary: 'The jobs that wait for this one (its parents in a flow, or jobs that named it in dependsOn)',
    description: 'Oldest first. Only parents of the caller’s tenant are listed.',
    permission: 'read',
    params: z.strictObject({ id: s.jobId }),
    response: z.object({
      parents: z.array(
        z.object({
          id: s.jobId,
          queue: z.string(),
          state: s.jobState,
          onFailure: z.enum(['fail', 'ignore', 'continue']).describe('what the parent does if this job fails for good'),
        }),
      ),
    }),
    async handler({ app, params, tenant }) {
      await jobInTenant(app, params.id, tenant)
      const parents = await app.spool.jobs.parents(params.id)
      return {
        parents: parents
          .filter((parent) => parent.tenant === tenant)
          .map(({ id, queue, state, onFailure }) => ({ id, queue, state, onFailure })),
      }
    },
  }),
]
