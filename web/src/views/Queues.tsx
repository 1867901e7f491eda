/** Queues: pause/resume, and one queue's settings (limits, concurrency, retention), counters and charts. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import type { Queue } from 'spool/client'
import { useClient, useMe } from '../api'
import { useLive } from '../live'
import { useQueues, useStats } from '../queries'
import { Link } from '../router'
import { TimeChart } from '../ui/Chart'
import {
  duration,
  Empty,
  ErrorBox,
  Json,
  Loading,
  STATES,
  StateBadge,
  useAction,
  useConfirm,
  useToast,
} from '../ui/parts'
import { lastHour, OldestWaitingTile } from './Overview'

function PauseButton({ queue }: { queue: Queue }) {
  const client = useClient()
  const queryClient = useQueryClient()
  const action = useAction()
  const confirm = useConfirm()
  const toggle = useMutation({
    mutationFn: async () => {
      if (!queue.paused) {
        const ok = await confirm({
          title: `Pause ${queue.name}?`,
          body: 'Workers on every node stop claiming from this queue. Running jobs finish; enqueueing still works.',
          confirm: 'Pause queue',
        })
        if (!ok) return
      }
      await action(
        () => (queue.paused ? client.queues.resume(queue.name) : client.queues.pause(queue.name)),
        queue.paused ? `Resumed ${queue.name}` : `Paused ${queue.name}`,
      )
      await queryClient.invalidateQueries({ queryKey: ['queues'] })
      await queryClient.invalidateQueries({ queryKey: ['queue', queue.name] })
    },
  })
  return (
    <button
      type="button"
      className={`button small ${queue.paused ? 'primary' : ''}`}
      disabled={toggle.isPending}
      onClick={() => toggle.mutate()}
    >
      {queue.paused ? 'Resume' : 'Pause'}
      <span className="sr-only"> {queue.name}</span>
    </button>
  )
}

export function QueuesView() {
  const queues = useQueues()
  const me = useMe()
  if (queues.isPending) return <Loading what="Loading queues" />
  if (queues.isError) return <ErrorBox error={queues.error} retry={() => void queues.refetch()} />
  return (
    <div className="stack">
      <h1>Queues</h1>
      {queues.data.length === 0 ? (
        <Empty title="No queues yet">
          A queue appears the first time a job is enqueued to it or a worker serves it.
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Status</th>
                {STATES.map((state) => (
                  <th key={state} scope="col" className="num">
                    {state}
                  </th>
                ))}
                <th scope="col">Limits</th>
                {me.can('operate') && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {queues.data.map((queue) => (
                <tr key={queue.name} data-queue={queue.name}>
                  <th scope="row">
                    <Link to={`/queues/${encodeURIComponent(queue.name)}`}>{queue.name}</Link>
                  </th>
                  <td>
                    <StateBadge state={queue.paused ? 'paused' : 'running'} />
                  </td>
                  {STATES.map((state) => (
                    <td key={state} className="num">
                      {queue.counts[state] || <span className="muted">0</span>}
                    </td>
                  ))}
                  <td className="small">{limitsSummary(queue.config)}</td>
                  {me.can('operate') && (
                    <td>
                      <PauseButton queue={queue} />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}

function limitsSummary(config: Record<string, unknown>): string {
  const parts: string[] = []
  if (typeof config.concurrency === 'number') parts.push(`${config.concurrency} at once`)
  const rate = config.rateLimit as { max: number; windowMs: number } | undefined
  if (rate) parts.push(`${rate.max} / ${duration(rate.windowMs)}`)
  if (typeof config.breaker === 'string') parts.push(`breaker ${config.breaker}`)
  if (typeof config.maxSize === 'number') parts.push(`max ${config.maxSize}`)
  return parts.join(' · ') || '—'
}

type Config = Record<string, unknown> & {
  concurrency?: number
  rateLimit?: { max: number; windowMs: number }
  retention?: Record<string, { maxAgeMs?: number; maxCount?: number }>
  maxSize?: number
  breaker?: string
}

const num = (value: string): number | undefined => (value.trim() === '' ? undefined : Number(value))

function ConfigForm({ queue }: { queue: Queue }) {
  const client = useClient()
  const queryClient = useQueryClient()
  const action = useAction()
  const config = queue.config as Config
  const [form, setForm] = useState(() => ({
    concurrency: config.concurrency?.toString() ?? '',
    rateMax: config.rateLimit?.max.toString() ?? '',
    rateWindowS: config.rateLimit ? String(config.rateLimit.windowMs / 1000) : '',
    maxSize: config.maxSize?.toString() ?? '',
    breaker: config.breaker ?? '',
    completedAgeH:
      config.retention?.completed?.maxAgeMs !== undefined
        ? String(config.retention.completed.maxAgeMs / 3_600_000)
        : '',
    completedCount: config.retention?.completed?.maxCount?.toString() ?? '',
    failedAgeH:
      config.retention?.failed?.maxAgeMs !== undefined ? String(config.retention.failed.maxAgeMs / 3_600_000) : '',
  }))
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) =>
    setForm({ ...form, [key]: event.target.value })
  const save = async (event: FormEvent) => {
    event.preventDefault()
    // PUT replaces the settings: start from what is there and change what the form shows.
    const next: Config = { ...config }
    const assign = (key: keyof Config, value: unknown) => {
      if (value === undefined) delete next[key]
      else next[key] = value
    }
    assign('concurrency', num(form.concurrency))
    const max = num(form.rateMax)
    const window = num(form.rateWindowS)
    assign(
      'rateLimit',
      max !== undefined && window !== undefined ? { max, windowMs: Math.round(window * 1000) } : undefined,
    )
    assign('maxSize', num(form.maxSize))
    assign('breaker', form.breaker.trim() || undefined)
    const retention = { ...(config.retention ?? {}) }
    const completedAge = num(form.completedAgeH)
    const completedCount = num(form.completedCount)
    const failedAge = num(form.failedAgeH)
    retention.completed = {
      ...(completedAge !== undefined && { maxAgeMs: Math.round(completedAge * 3_600_000) }),
      ...(completedCount !== undefined && { maxCount: completedCount }),
    }
    retention.failed = { ...(failedAge !== undefined && { maxAgeMs: Math.round(failedAge * 3_600_000) }) }
    for (const key of Object.keys(retention)) if (Object.keys(retention[key] ?? {}).length === 0) delete retention[key]
    assign('retention', Object.keys(retention).length ? retention : undefined)
    await action(() => client.queues.configure(queue.name, next), `Saved the settings of ${queue.name}`)
    await queryClient.invalidateQueries({ queryKey: ['queue', queue.name] })
    await queryClient.invalidateQueries({ queryKey: ['queues'] })
  }
  return (
    <form className="card form-grid" onSubmit={save} aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <label className="field">
        <span>Concurrency (all nodes)</span>
        <input type="number" min={1} value={form.concurrency} onChange={set('concurrency')} placeholder="unlimited" />
      </label>
      <label className="field">
        <span>Rate limit: starts</span>
        <input type="number" min={1} value={form.rateMax} onChange={set('rateMax')} placeholder="none" />
      </label>
      <label className="field">
        <span>… per seconds</span>
        <input
          type="number"
          min={0.001}
          step="any"
          value={form.rateWindowS}
          onChange={set('rateWindowS')}
          placeholder="60"
        />
      </label>
      <label className="field">
        <span>Max unfinished jobs</span>
        <input type="number" min={1} value={form.maxSize} onChange={set('maxSize')} placeholder="unlimited" />
      </label>
      <label className="field">
        <span>Circuit breaker</span>
        <input value={form.breaker} onChange={set('breaker')} placeholder="none" />
      </label>
      <label className="field">
        <span>Keep completed (hours)</span>
        <input
          type="number"
          min={0}
          step="any"
          value={form.completedAgeH}
          onChange={set('completedAgeH')}
          placeholder="default"
        />
      </label>
      <label className="field">
        <span>Keep completed (count)</span>
        <input
          type="number"
          min={0}
          value={form.completedCount}
          onChange={set('completedCount')}
          placeholder="default"
        />
      </label>
      <label className="field">
        <span>Keep failed (hours)</span>
        <input
          type="number"
          min={0}
          step="any"
          value={form.failedAgeH}
          onChange={set('failedAgeH')}
          placeholder="default"
        />
      </label>
      <div className="row end span-all">
        <button type="submit" className="button primary">
          Save settings
        </button>
      </div>
    </form>
  )
}

export function QueueDetailView({ name }: { name: string }) {
  const client = useClient()
  const me = useMe()
  const live = useLive()
  const action = useAction()
  const confirm = useConfirm()
  const toast = useToast()
  const queryClient = useQueryClient()
  const queue = useQuery({ queryKey: ['queue', name], queryFn: () => client.queues.get(name), refetchInterval: 10_000 })
  const stats = useStats(name)
  const limits = useQuery({
    queryKey: ['limits', name],
    queryFn: () => client.queues.limits(name),
    refetchInterval: 5_000,
  })
  if (queue.isPending) return <Loading what={`Loading ${name}`} />
  if (queue.isError) return <ErrorBox error={queue.error} retry={() => void queue.refetch()} />
  const q = queue.data
  const series = live.series(name, 120)
  const perMinute = lastHour(stats.data?.perMinute ?? [])
  const cleanup = async () => {
    const report = await action(() => client.queues.cleanup(name, { dryRun: true }))
    if (!report) return
    const { completed = 0, failed = 0, cancelled = 0 } = report.removed
    const total = completed + failed + cancelled
    const ok = await confirm({
      title: `Apply retention to ${name}?`,
      body: `This removes ${total} finished jobs now (${completed} completed, ${failed} failed, ${cancelled} cancelled).`,
      confirm: `Remove ${total} jobs`,
      danger: true,
    })
    if (ok)
      await action(
        () => client.queues.cleanup(name),
        (r) => `Removed ${Object.values(r.removed).reduce((a, b) => a + b, 0)} jobs`,
      )
    await queryClient.invalidateQueries({ queryKey: ['queue', name] })
  }
  const retryFailed = async () => {
    // Count first (a dry run), say how many in the confirmation, then retry.
    const counted = await action(() => client.queues.retryFailed(name, { dryRun: true }))
    if (!counted) return
    if (counted.matched === 0) {
      toast(`No failed jobs on ${name} to retry`)
      return
    }
    const ok = await confirm({
      title: `Retry ${counted.matched}${counted.truncated ? '+' : ''} failed jobs on ${name}?`,
      body: `Each goes back to waiting with its attempts reset${counted.truncated ? ` (the newest ${counted.matched} now; run it again for the rest)` : ''}.`,
      confirm: `Retry ${counted.matched} jobs`,
    })
    if (!ok) return
    await action(
      () => client.queues.retryFailed(name),
      (r) =>
        `Retried ${r.retried} of ${r.matched} failed jobs` +
        (r.failed.length ? ` (${r.failed.length} could not be: ${r.failed[0]?.detail})` : '') +
        (r.truncated ? '; more remain' : ''),
    )
    await queryClient.invalidateQueries({ queryKey: ['queue', name] })
    await queryClient.invalidateQueries({ queryKey: ['stats'] })
  }
  return (
    <div className="stack">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/queues">Queues</Link> / <span>{name}</span>
      </nav>
      <div className="row between wrap">
        <h1>
          {q.name} <StateBadge state={q.paused ? 'paused' : 'running'} />
        </h1>
        <div className="row wrap">
          <Link className="button small" to={`/jobs?queue=${encodeURIComponent(name)}`}>
            Jobs
          </Link>
          {me.can('operate') && <PauseButton queue={q} />}
          {me.can('produce') && (
            <button type="button" className="button small" onClick={() => void retryFailed()}>
              Retry all failed…
            </button>
          )}
          {me.can('manage') && (
            <button type="button" className="button small" onClick={() => void cleanup()}>
              Apply retention…
            </button>
          )}
        </div>
      </div>
      <section className="tiles">
        {STATES.map((state) => (
          <Link
            key={state}
            to={`/jobs?queue=${encodeURIComponent(name)}&state=${state}`}
            className={`tile tile-${state}`}
          >
            <span className="tile-label">{state}</span>
            <span className="tile-value">{q.counts[state] ?? 0}</span>
          </Link>
        ))}
      </section>
      <section className="tiles">
        <div className="tile">
          <span className="tile-label">throughput</span>
          <span className="tile-value">{(stats.data?.throughputPerMinute ?? 0).toFixed(1)}</span>
          <span className="tile-note">jobs / min</span>
        </div>
        <div className="tile">
          <span className="tile-label">wait p50 / p95</span>
          <span className="tile-value">{duration(stats.data?.waitMs?.p50)}</span>
          <span className="tile-note">p95 {duration(stats.data?.waitMs?.p95)}</span>
        </div>
        <div className="tile">
          <span className="tile-label">run p50 / p95</span>
          <span className="tile-value">{duration(stats.data?.runMs?.p50)}</span>
          <span className="tile-note">p95 {duration(stats.data?.runMs?.p95)}</span>
        </div>
        <OldestWaitingTile
          oldest={stats.data ? stats.data.oldestWaiting : undefined}
          since={stats.dataUpdatedAt}
          stale={stats.isError}
        />
        <div className="tile">
          <span className="tile-label">held back until</span>
          <span className="tile-value">
            {limits.data && limits.data.pausedUntil > Date.now()
              ? new Date(limits.data.pausedUntil).toLocaleTimeString()
              : '—'}
          </span>
          <span className="tile-note">Retry-After pause</span>
        </div>
      </section>
      <section className="charts">
        <TimeChart
          title="Live: completed and failed per second"
          t={series.t}
          series={[
            { label: 'completed', color: '#2da44e', values: series.completed, fill: true },
            { label: 'failed / retried', color: '#cf222e', values: series.failed },
          ]}
        />
        <TimeChart
          title="Per minute (last hour)"
          t={perMinute.map((m) => Math.floor(m.minute / 1000))}
          series={[
            { label: 'completed', color: '#2da44e', values: perMinute.map((m) => m.completed), fill: true },
            { label: 'failed', color: '#cf222e', values: perMinute.map((m) => m.failed) },
          ]}
        />
      </section>
      {me.can('operate') ? (
        <ConfigForm key={JSON.stringify(q.config)} queue={q} />
      ) : (
        <Json label="Settings" value={q.config} />
      )}
      {limits.data && (
        <section className="card">
          <div className="row between">
            <h2>Counted by its limits</h2>
            {me.can('operate') && (
              <button
                type="button"
                className="button small"
                onClick={() =>
                  void action(() => client.queues.resetLimits(name), 'Limits reset').then(() => limits.refetch())
                }
              >
                Reset counters
              </button>
            )}
          </div>
          <Json
            label="Limits"
            value={{ rateUsed: limits.data.rateUsed, groups: limits.data.groups, config: limits.data.config }}
          />
        </section>
      )}
    </div>
  )
}
