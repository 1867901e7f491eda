/**
 * One job: payload and result, progress, logs, every attempt's error, its events, its flow (the
 * jobs waiting for it, and the jobs it waits for as a tree whose branches load when opened), actions.
 * Times of day (logs, timeline, run-at) share one format: the browser's, with seconds and ms.
 */
import { type UseQueryResult, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import type { ChildJob, Job, ParentJob, Priority } from 'spool/client'
import { useClient, useMe } from '../api'
import { Link, navigate } from '../router'
import { Empty, ErrorBox, Json, Loading, Progress, StateBadge, Time, useAction, useConfirm } from '../ui/parts'
import { priorityName } from './Jobs'

/** A time of day as the logs and the timeline show it: the browser's format, to the millisecond. */
export function clock(at: number | string): string {
  return new Date(at).toLocaleTimeString(undefined, {
    hour: 'numeric',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
  })
}

/** A date and time in the browser's format (when a scheduled job runs). */
function dateTime(at: number | string): string {
  return new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

export function JobDetailView({ id }: { id: string }) {
  const client = useClient()
  const me = useMe()
  const action = useAction()
  const confirm = useConfirm()
  const queryClient = useQueryClient()
  const job = useQuery({ queryKey: ['job', id], queryFn: () => client.jobs.get(id), refetchInterval: 10_000 })
  const history = useQuery({ queryKey: ['job', id, 'events'], queryFn: () => client.jobs.history(id, { limit: 1000 }) })
  const children = useQuery({ queryKey: ['job', id, 'children'], queryFn: () => client.jobs.children(id) })
  const parents = useQuery({ queryKey: ['job', id, 'parents'], queryFn: () => client.jobs.parents(id) })
  // Stacks come from an admin route; others see the errors without them.
  const stacks = useQuery({
    queryKey: ['job', id, 'errors'],
    queryFn: () => client.jobs.errors(id),
    enabled: me.can('manage'),
  })
  const [priority, setPriority] = useState('high')

  // This job's own stream: progress and logs as they happen.
  useEffect(() => {
    const sub = client.events.subscribe({ jobId: id }, () => {
      void queryClient.invalidateQueries({ queryKey: ['job', id] })
    })
    return () => sub.close()
  }, [client, id, queryClient])

  if (job.isPending) return <Loading what={`Loading job #${id}`} />
  if (job.isError) return <ErrorBox error={job.error} retry={() => void job.refetch()} />
  const j = job.data
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ['job', id] })
    await queryClient.invalidateQueries({ queryKey: ['jobs'] })
  }
  const act = async (kind: 'retry' | 'cancel' | 'promote' | 'remove') => {
    if (kind === 'remove' || kind === 'cancel') {
      const ok = await confirm({
        title: kind === 'remove' ? `Delete job #${id}?` : `Cancel job #${id}?`,
        body:
          kind === 'remove' ? 'The job and its history are deleted for good.' : 'A running job sees its signal abort.',
        confirm: kind === 'remove' ? 'Delete job' : 'Cancel job',
        danger: true,
      })
      if (!ok) return
    }
    const done = await action<unknown>(
      () => (kind === 'remove' ? client.jobs.remove(id).then(() => true) : client.jobs[kind](id)),
      { retry: 'Retried', cancel: 'Cancelled', promote: 'Promoted', remove: 'Deleted' }[kind],
    )
    if (done !== undefined && kind === 'remove') navigate('/jobs')
    else await refresh()
  }
  const events = history.data ?? []
  const logs = events.filter((e) => e.type === 'job.log')
  const canAct = me.can('produce')
  const retryable = j.state === 'failed' || j.state === 'cancelled'
  const cancellable = ['waiting', 'scheduled', 'blocked', 'active'].includes(j.state)
  const notStarted = ['waiting', 'scheduled', 'blocked'].includes(j.state)

  return (
    <div className="stack">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/jobs">Jobs</Link> / <Link to={`/jobs?queue=${encodeURIComponent(j.queue)}`}>{j.queue}</Link> /{' '}
        <span>#{j.id}</span>
      </nav>
      <div className="row between wrap">
        <h1>
          Job #{j.id} <StateBadge state={j.state} />
        </h1>
        {canAct && (
          <section className="row wrap" aria-label="Actions">
            {retryable && (
              <button type="button" className="button primary small" onClick={() => void act('retry')}>
                Retry
              </button>
            )}
            {j.state === 'scheduled' && (
              <button type="button" className="button small" onClick={() => void act('promote')}>
                Run now
              </button>
            )}
            {cancellable && (
              <button type="button" className="button small danger" onClick={() => void act('cancel')}>
                Cancel
              </button>
            )}
            {notStarted && (
              <>
                <label className="inline">
                  <span className="sr-only">Priority</span>
                  <select value={priority} onChange={(event) => setPriority(event.target.value)}>
                    {['urgent', 'high', 'normal', 'low'].map((p) => (
                      <option key={p}>{p}</option>
                    ))}
                  </select>
                </label>
                <button
                  type="button"
                  className="button small"
                  onClick={() =>
                    void action(
                      () => client.jobs.setPriority(id, priority as Priority),
                      `Priority set to ${priority}`,
                    ).then(refresh)
                  }
                >
                  Set priority
                </button>
              </>
            )}
            {j.state !== 'active' && (
              <button type="button" className="button small ghost" onClick={() => void act('remove')}>
                Delete
              </button>
            )}
          </section>
        )}
      </div>
      {j.state === 'scheduled' && (
        <p className="runs-at" data-testid="runs-at">
          Runs <Time at={j.runAt} />, at <time dateTime={new Date(j.runAt).toISOString()}>{dateTime(j.runAt)}</time>
          {j.errors.length > 0 && ' (a retry, after its backoff)'}.
        </p>
      )}
      <dl className="facts">
        <div>
          <dt>Queue</dt>
          <dd>
            <Link to={`/queues/${encodeURIComponent(j.queue)}`}>{j.queue}</Link>
          </dd>
        </div>
        <div>
          <dt>Priority</dt>
          <dd>{priorityName(j.priority)}</dd>
        </div>
        <div>
          <dt>Attempt</dt>
          <dd>
            {j.attempt} of {j.maxAttempts}
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <Time at={j.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Run at</dt>
          <dd>
            <Time at={j.runAt} /> <span className="muted small">{dateTime(j.runAt)}</span>
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>
            <Time at={j.startedAt} />
          </dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>
            <Time at={j.finishedAt} />
          </dd>
        </div>
        <div>
          <dt>Worker</dt>
          <dd data-testid="worker">{j.workerId ?? <span className="muted">—</span>}</dd>
        </div>
        <div>
          <dt>Group</dt>
          <dd>{j.group ?? '—'}</dd>
        </div>
        <div>
          <dt>Tags</dt>
          <dd>{j.tags.length ? j.tags.join(', ') : '—'}</dd>
        </div>
        <div>
          <dt>Idempotency key</dt>
          <dd>{j.idempotencyKey ?? '—'}</dd>
        </div>
        <div>
          <dt>Timeout</dt>
          <dd>{j.timeoutMs ? `${j.timeoutMs} ms` : '—'}</dd>
        </div>
      </dl>
      {j.progress && (
        <section>
          <h2>Progress</h2>
          <Progress percent={j.progress.percent} {...(j.progress.stage && { label: j.progress.stage })} />
          {j.progress.message && <p className="muted">{j.progress.message}</p>}
        </section>
      )}
      <div className="two">
        <Json label="Payload" value={j.payload} />
        <Result job={j} />
      </div>
      {Object.keys(j.metadata).length > 0 && <Json label="Metadata" value={j.metadata} />}
      <section>
        <h2>Errors ({j.errors.length})</h2>
        {j.errors.length === 0 ? (
          <p className="muted">No attempt has failed.</p>
        ) : (
          <ol className="errors">
            {(stacks.data ?? j.errors).map((error, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: attempts are appended only
              <li key={i} className="error-item">
                <div className="row wrap">
                  <strong>Attempt {error.attempt}</strong>
                  <Time at={error.at} />
                  {error.code && <code>{error.code}</code>}
                  <span className={`badge ${error.retryable ? 'state-scheduled' : 'state-failed'}`}>
                    {error.retryable ? 'retryable' : 'not retryable'}
                  </span>
                </div>
                <p>
                  {error.name ? `${error.name}: ` : ''}
                  {error.message}
                </p>
                {error.stack ? (
                  <pre className="stack-trace">{error.stack}</pre>
                ) : (
                  !me.can('manage') && (
                    <p className="muted small">Stacks are shown to admins (they name server paths).</p>
                  )
                )}
              </li>
            ))}
          </ol>
        )}
      </section>
      <FlowTree id={id} dependencies={children} parents={parents} />
      <section>
        <h2>Logs ({logs.length})</h2>
        {logs.length === 0 ? (
          <p className="muted">No log lines.</p>
        ) : (
          <pre className="logs">
            {logs
              .map(
                (e) => `${clock(e.at)}  ${String(e.data.level ?? 'info').padEnd(5)}  ${String(e.data.message ?? '')}`,
              )
              .join('\n')}
          </pre>
        )}
      </section>
      <section>
        <h2>Timeline</h2>
        {history.isError ? (
          <ErrorBox error={history.error} />
        ) : events.length === 0 ? (
          <Empty title="No events" />
        ) : (
          <ol className="timeline">
            {events.map((event) => (
              <li key={event.id}>
                <time dateTime={new Date(event.at).toISOString()}>{clock(event.at)}</time>
                <span className="event-type">{event.type}</span>
                {event.state && <StateBadge state={event.state} />}
                <span className="muted small clip">{summary(event.data)}</span>
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  )
}

/**
 * The result, when there is one. A job without one says so neutrally (not a red `null`): a
 * failed or cancelled job has none, and its errors are under Errors.
 */
function Result({ job }: { job: Job }) {
  if (job.result !== null && job.result !== undefined) return <Json label="Result" value={job.result} />
  const why =
    job.state === 'failed'
      ? 'No result: the job failed.'
      : job.state === 'cancelled'
        ? 'No result: the job was cancelled.'
        : job.state === 'completed'
          ? 'No result: the handler returned nothing.'
          : 'No result yet.'
  const lastError = job.state === 'failed' ? job.errors.at(-1) : undefined
  return (
    <div className="json" data-testid="result">
      <div className="json-head">
        <span>Result</span>
      </div>
      <div className="no-result">
        <p className="muted">{why}</p>
        {lastError && (
          <p className="error-text small">
            Last error (attempt {lastError.attempt}): {lastError.message}
          </p>
        )}
      </div>
    </div>
  )
}

function summary(data: Record<string, unknown>): string {
  return Object.entries(data)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ')
    .slice(0, 200)
}

/** Parents above this job, its children below as a tree: each child's own children load when opened. */
function FlowTree({
  id,
  dependencies: children,
  parents,
}: {
  id: string
  dependencies: UseQueryResult<ChildJob[]>
  parents: UseQueryResult<ParentJob[]>
}) {
  const none = children.data?.length === 0 && parents.data?.length === 0
  return (
    <section aria-labelledby="flow-title">
      <h2 id="flow-title">Flow</h2>
      {children.isError || parents.isError ? (
        <ErrorBox error={children.error ?? parents.error} />
      ) : none ? (
        <p className="muted">No job waits for this one, and it waits for none.</p>
      ) : (
        <div className="flow-tree">
          {parents.data && parents.data.length > 0 && (
            <div data-testid="flow-parents">
              <h3 className="small muted">Waiting for this job</h3>
              <ul className="flow">
                {parents.data.map((parent) => (
                  <li key={parent.id}>
                    <Link to={`/jobs/${parent.id}`}>#{parent.id}</Link> <span className="muted">{parent.queue}</span>{' '}
                    <StateBadge state={parent.state} />{' '}
                    <span className="muted small">if this fails: {parent.onFailure}</span>
                  </li>
                ))}
              </ul>
            </div>
          )}
          <p className="flow-self">
            <strong>#{id}</strong> <span className="muted small">(this job)</span>
          </p>
          {children.data && children.data.length > 0 && (
            <div data-testid="flow-children">
              <h3 className="small muted">This job waits for</h3>
              <ChildList childJobs={children.data} depth={1} />
            </div>
          )}
        </div>
      )}
    </section>
  )
}

/** Deeper than this, a branch links to the child's own page instead of opening in place. */
const MAX_DEPTH = 8

function ChildList({ childJobs, depth }: { childJobs: ChildJob[]; depth: number }) {
  return (
    <ul className="flow">
      {childJobs.map((child) => (
        <ChildNode key={child.id} child={child} depth={depth} />
      ))}
    </ul>
  )
}

function ChildNode({ child, depth }: { child: ChildJob; depth: number }) {
  const client = useClient()
  const [open, setOpen] = useState(false)
  const grandchildren = useQuery({
    queryKey: ['job', child.id, 'children'],
    queryFn: () => client.jobs.children(child.id),
    enabled: open,
  })
  const leaf = open && grandchildren.data?.length === 0
  return (
    <li>
      {depth < MAX_DEPTH && (
        <button
          type="button"
          className="button tiny ghost"
          aria-expanded={open}
          aria-label={`${open ? 'Hide' : 'Show'} what #${child.id} waits for`}
          onClick={() => setOpen(!open)}
        >
          {open ? '▾' : '▸'}
        </button>
      )}{' '}
      <Link to={`/jobs/${child.id}`}>#{child.id}</Link> <span className="muted">{child.queue}</span>{' '}
      <StateBadge state={child.state} /> <span className="muted small">on failure: {child.onFailure}</span>
      {child.error && <span className="error-text small"> — {child.error}</span>}
      {open &&
        (grandchildren.isPending ? (
          <span className="muted small"> loading…</span>
        ) : grandchildren.isError ? (
          <ErrorBox error={grandchildren.error} />
        ) : leaf ? (
          <span className="muted small"> — waits for no other job</span>
        ) : (
          <ChildList childJobs={grandchildren.data} depth={depth + 1} />
        ))}
    </li>
  )
}
