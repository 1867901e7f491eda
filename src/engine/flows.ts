/**
 * `spool.flows`: a tree (or, with `dependsOn`, a DAG) of jobs enqueued in one transaction. The
 * children run first; a parent stays `blocked` until each of its dependencies has finished, then
 * runs and reads their results with `ctx.children()`. What a parent does when a child fails for
 * good is the child's `onFailure`: `fail` (default: the parent fails too), `ignore` (run as if
 * it had not been there) or `continue` (run and see the failure).
 */
import type { DependencyFailurePolicy, NewJob } from '../store/store.js'
import type { EngineContext } from './context.js'
import { SpoolError } from './errors.js'
import { assertQueueName, type EnqueueOptions } from './options.js'

export interface FlowNode {
  queue: string
  payload?: unknown
  options?: EnqueueOptions
  /** Jobs this one waits for, created with it. */
  children?: FlowNode[]
  /** What the parent does if this job fails for good (default `fail`). */
  onFailure?: DependencyFailurePolicy
}

/** The ids given to a flow's jobs, shaped like the tree. */
export interface FlowJob {
  id: string
  queue: string
  children: FlowJob[]
}

const MAX_FLOW_JOBS = 10_000

export class Flows {
  constructor(private readonly spool: EngineContext) {}

  /**
   * @example
   * const flow = await spool.flows.add({
   *   queue: 'notes', payload: { session },
   *   children: [
   *     { queue: 'transcribe', payload: { session } },
   *     { queue: 'diarize', payload: { session }, onFailure: 'continue' },
   *   ],
   * })
   */
  async add(root: FlowNode): Promise<FlowJob> {
    this.spool.assertOpen()
    const now = Date.now()
    const jobs: NewJob[] = []
    const shape: { queue: string; index: number; children: unknown[] }[] = []
    const visit = async (node: FlowNode, path: string): Promise<{ index: number; tree: FlowJob }> => {
      if (node === null || typeof node !== 'object') {
        throw new SpoolError('SPOOL_INVALID_FLOW', `${path || 'flow'} must be an object`, { field: path || 'flow' })
      }
      assertQueueNameAt(node.queue, path)
      const children = node.children ?? []
      if (!Array.isArray(children)) {
        throw new SpoolError('SPOOL_INVALID_FLOW', `${path}children must be an array`, { field: `${path}children` })
      }
      const built = []
      for (const [i, child] of children.entries()) built.push(await visit(child, `${path}children.${i}.`))
      if (jobs.length >= MAX_FLOW_JOBS) {
        throw new SpoolError('SPOOL_INVALID_FLOW', `a flow holds at most ${MAX_FLOW_JOBS} jobs`, { field: 'flow' })
      }
      const { config } = await this.spool.configs.get(node.queue)
      const job = this.spool.prepare(
        node.queue,
        node.payload,
        node.options,
        config,
        now,
        path ? path.slice(0, -1) : undefined,
      )
      job.dependsOn = [
        ...(job.dependsOn ?? []),
        ...built.map((child, i) => ({ index: child.index, onFailure: children[i]?.onFailure ?? 'fail' })),
      ]
      jobs.push(job)
      shape.push({ queue: node.queue, index: jobs.length - 1, children: built })
      return { index: jobs.length - 1, tree: { id: '', queue: node.queue, children: built.map((b) => b.tree) } }
    }
    const { tree } = await visit(root, '')
    const results = await this.spool.insert(jobs, now)
    // Post-order: each node's index is its position in `jobs`; fill ids in the same walk order.
    let next = 0
    const fill = (node: FlowJob): void => {
      for (const child of node.children) fill(child)
      node.id = results[next++]?.id ?? ''
    }
    fill(tree)
    this.spool.changed([...new Set(jobs.map((job) => job.queue))])
    return tree
  }
}

function assertQueueNameAt(queue: unknown, path: string): void {
  try {
    assertQueueName(queue)
  } catch (error) {
    if (error instanceof SpoolError) {
      throw new SpoolError(error.code, error.message, { field: `${path}queue` })
    }
    throw error
  }
}
