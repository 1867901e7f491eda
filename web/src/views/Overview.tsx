/** Overview: counts by state per queue, live throughput / failure / wait charts, and what needs attention. */
import { useRef } from 'react'
import type { Counts, Stats } from 'spool/client'
import { useMe } from '../api'
import { useLive } from '../live'
import { useBreakers, useQueues, useStats, useWorkers } from '../queries'
import { Link } from '../router'
import { TimeChart } from '../ui/Chart'
import { duration, Empty, ErrorBox, Loading, STATES, StateBadge } from '../ui/parts'

export function OverviewView() {
  const stats = useStats()
  const queues = useQueues()
  const workers = useWorkers()
  const breakers = useBreakers()
  const me = useMe()
  const live = useLive()
  // Wait time: one sample per stats refresh.
  const waits = useRef<{ t: number[]; p50: (number | null)[]; p95: (number | null)[] }>({ t: [], p50: [], p95: [] })
  const data = stats.data
  if (data) {
    const w = waits.current
    const now = Math.floor(stats.dataUpdatedAt / 1000)
    if (w.t.at(-1) !== now) {
      w.t.push(now)
      w.p50.push(data.waitMs ? data.waitMs.p50 / 1000 : null)
      w.p95.push(data.waitMs ? data.waitMs.p95 / 1000 : null)
      if (w.t.length > 240) for (const list of [w.t, w.p50, w.p95]) list.shift()
    }
  }

  if (stats.isPending) return <Loading what="Loading the overview" />
  if (stats.isError) return <ErrorBox error={stats.error} retry={() => void stats.refetch()} />
  const counts = data?.counts ?? {}
  const totals = STATES.reduce(
    (out, state) => {
      out[state] = Object.values(counts).reduce((sum, c) => sum + (c[state] ?? 0), 0)
      return out
    },
    {} as Record<string, number>,
  )
  const series = live.series('*', 120)
  const openBreakers = (breakers.data ?? []).filter((b) => b.state !== 'closed')
  const paused = (queues.data ?? []).filter((q) => q.paused)
  const busy = (workers.data ?? []).filter((w) => w.running.length > 0)
  const perMinute = lastHour(data?.perMinute ?? [])
  const warnings: string[] = []
  if (!live.connected) warnings.push('The live event stream is reconnecting; figures may be behind.')
  for (const b of openBreakers)
    warnings.push(`Circuit breaker “${b.name}” is ${b.state.replace('_', '-')}: its queues are held back.`)
  for (const q of paused) warnings.push(`Queue “${q.name}” is paused.`)
  if ((totals.failed ?? 0) > 0)
    warnings.push(`${totals.failed} failed jobs are waiting for a decision (retry or delete).`)

  return (
    <div className="stack">
      <div className="row between">
        <h1>Overview</h1>
        {me.can('produce') && (
          <Link to="/create" className="button primary">
            Create job
          </Link>
        )}
      </div>
      <section className="tiles" aria-label="Totals">
        {STATES.map((state) => (
          <Link key={state} to={`/jobs?state=${state}`} className={`tile tile-${state}`}>
            <span className="tile-label">{state}</span>
            <span className="tile-value" data-testid={`total-${state}`}>
              {totals[state] ?? 0}
            </span>
          </Link>
        ))}
      </section>
      <section className="tiles" aria-label="Health">
        <div className="tile">
          <span className="tile-label">throughput</span>
          <span className="tile-value">{(data?.throughputPerMinute ?? 0).toFixed(1)}</span>
          <span className="tile-note">jobs / min (5 min avg)</span>
        </div>
        <div className="tile">
          <span className="tile-label">success rate</span>
          <span className="tile-value">
            {data?.successRate === null || !data ? '—' : `${Math.round(data.successRate * 100)}%`}
          </span>
          <span className="tile-note">last hour</span>
        </div>
        <div className="tile">
          <span className="tile-label">wait p50 / p95</span>
          <span className="tile-value">{data?.waitMs ? `${duration(data.waitMs.p50)}` : '—'}</span>
          <span className="tile-note">{data?.waitMs ? `p95 ${duration(data.waitMs.p95)}` : 'no starts yet'}</span>
        </div>
        <OldestWaitingTile
          oldest={data ? data.oldestWaiting : undefined}
          since={stats.dataUpdatedAt}
          stale={stats.isError}
        />
        <div className="tile">
          <span className="tile-label">busy workers</span>
          <span className="tile-value">
            {me.can('operate') ? `${busy.length} / ${workers.data?.length ?? 0}` : '—'}
          </span>
          <span className="tile-note">
            {me.can('operate') ? <Link to="/workers">see workers</Link> : 'for the operator’s admins'}
          </span>
        </div>
        <div className="tile">
          <span className="tile-label">open breakers</span>
          <span className={`tile-value ${openBreakers.length ? 'bad' : ''}`}>{openBreakers.length}</span>
          <span className="tile-note">
            <Link to="/breakers">{breakers.data?.length ?? 0} defined</Link>
          </span>
        </div>
      </section>
      {warnings.length > 0 && (
        <section className="warnings" aria-label="Warnings">
          <h2 className="sr-only">Warnings</h2>
          <ul>
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </section>
      )}
      <section className="charts">
        <TimeChart
          title="Live: completed and failed per second (2 min)"
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
            { label: 'retried', color: '#bf8700', values: perMinute.map((m) => m.retried) },
          ]}
        />
        <TimeChart
          title="Wait before start (p50, p95)"
          unit=" s"
          span={600}
          t={waits.current.t}
          series={[
            { label: 'p50', color: '#2f6feb', values: waits.current.p50 },
            { label: 'p95', color: '#8250df', values: waits.current.p95 },
          ]}
        />
      </section>
      <section>
        <h2>Queues</h2>
        <QueueCountsTable counts={counts} paused={new Set(paused.map((q) => q.name))} />
      </section>
    </div>
  )
}

/**
 * This tenant's oldest waiting job, as the stats answer it (the server's index probe): its link,
 * how long it has waited (the server's age plus the time since the answer) and its queue.
 * `undefined` while the stats load.
 */
export function OldestWaitingTile({
  oldest,
  since,
  stale,
}: {
  oldest: Stats['oldestWaiting'] | undefined
  since: number
  /** The stats could not be read (and none were read before). */
  stale: boolean
}) {
  if (oldest === undefined && stale) {
    return (
      <div className="tile" data-testid="oldest-waiting">
        <span className="tile-label">oldest waiting</span>
        <span className="tile-value">—</span>
        <span className="tile-note">could not be read</span>
      </div>
    )
  }
  return (
    <div className="tile" data-testid="oldest-waiting" aria-busy={oldest === undefined}>
      <span className="tile-label">oldest waiting</span>
      <span className="tile-value">
        {oldest === undefined ? '…' : oldest ? <Link to={`/jobs/${oldest.id}`}>#{oldest.id}</Link> : '—'}
      </span>
      <span className="tile-note">
        {oldest === undefined
          ? 'loading…'
          : oldest
            ? `for ${duration(oldest.ageMs + Math.max(0, Date.now() - since))} · ${oldest.queue}${stale ? ' (not current)' : ''}`
            : 'nothing waiting'}
      </span>
    </div>
  )
}

/** The last 60 minutes, one point each (minutes without a bucket count zero). */
export function lastHour(buckets: { minute: number; completed: number; failed: number; retried: number }[]) {
  const byMinute = new Map(buckets.map((b) => [Math.floor(b.minute / 60_000), b]))
  const now = Math.floor(Date.now() / 60_000)
  const out: { minute: number; completed: number; failed: number; retried: number }[] = []
  for (let m = now - 59; m <= now; m++)
    out.push(byMinute.get(m) ?? { minute: m * 60_000, completed: 0, failed: 0, retried: 0 })
  return out
}

export function QueueCountsTable({ counts, paused }: { counts: Record<string, Counts>; paused: Set<string> }) {
  const names = Object.keys(counts).sort()
  if (names.length === 0) {
    return <Empty title="No queues yet">A queue appears the first time a job is enqueued to it.</Empty>
  }
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Queue</th>
            {STATES.map((state) => (
              <th scope="col" key={state} className="num">
                {state}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {names.map((name) => (
            <tr key={name}>
              <th scope="row">
                <Link to={`/queues/${encodeURIComponent(name)}`}>{name}</Link>{' '}
                {paused.has(name) && <StateBadge state="paused" />}
              </th>
              {STATES.map((state) => (
                <td key={state} className="num">
                  {counts[name]?.[state] ? (
                    <Link to={`/jobs?queue=${encodeURIComponent(name)}&state=${state}`}>{counts[name]?.[state]}</Link>
                  ) : (
                    <span className="muted">0</span>
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
