/**
 * The AI gateway's providers, live (polled every 2 s): per provider its requests and tokens in the
 * last minute against its limits, 429s and 5xx, breaker and quota, the queue by priority, queue
 * wait and upstream latency p50/p95, tokens over the last hour and a cost estimate.
 */
import type { AiProviderView } from 'spool/client'
import { useMe } from '../api'
import { useAiProviders } from '../queries'
import { Link } from '../router'
import { TimeChart } from '../ui/Chart'
import { duration, Empty, ErrorBox, Loading, StateBadge } from '../ui/parts'

const PRIORITY_NAMES: Record<number, string> = { 0: 'urgent', 10: 'high', 20: 'normal', 30: 'low' }
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
const usd = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', maximumFractionDigits: 4 })

export function ProvidersView() {
  const me = useMe()
  const providers = useAiProviders()
  if (!me.can('operate'))
    return (
      <Empty title="Providers are for the operator’s admins">
        The gateway’s providers serve every tenant: sign in with an admin key of the operator tenant to see them.
      </Empty>
    )
  if (providers.isPending) return <Loading what="Loading providers" />
  if (providers.isError) return <ErrorBox error={providers.error} retry={() => void providers.refetch()} />
  const list = providers.data.providers
  return (
    <div className="stack">
      <h1>Providers</h1>
      {list.length === 0 ? (
        <Empty title="No providers are configured">
          Add a providers section to the settings file (docs/ai-gateway.md) and point your SDK at Spool.
        </Empty>
      ) : (
        <>
          <p className="muted">
            Calls, tokens, 429s, 5xx, latency and cost are what this server node sent upstream; the queue and breaker
            are every node’s.
          </p>
          {list.map((provider) => (
            <ProviderCard key={provider.name} provider={provider} />
          ))}
        </>
      )}
    </div>
  )
}

function ofLimit(value: number, limit: number | null): string {
  return limit === null ? number.format(value) : `${number.format(value)} / ${number.format(limit)}`
}

const MINUTE = 60_000

/** The last hour minute by minute, minutes without calls as zeros (so a lone busy minute still draws). */
function hourOf(perMinute: AiProviderView['perMinute']): AiProviderView['perMinute'] {
  const byMinute = new Map(perMinute.map((bucket) => [bucket.minute, bucket]))
  const now = Date.now()
  const last = now - (now % MINUTE)
  return Array.from({ length: 60 }, (_, i) => {
    const minute = last - (59 - i) * MINUTE
    return (
      byMinute.get(minute) ?? {
        minute,
        requests: 0,
        succeeded: 0,
        rateLimited: 0,
        serverErrors: 0,
        promptTokens: 0,
        completionTokens: 0,
        costUsd: 0,
      }
    )
  })
}

function ProviderCard({ provider: p }: { provider: AiProviderView }) {
  const hour = hourOf(p.perMinute)
  const waiting = p.queue.counts.waiting ?? 0
  const active = p.queue.counts.active ?? 0
  const breakerBad = p.breaker.state !== 'closed'
  return (
    <section className="card stack" aria-label={`provider ${p.name}`} data-testid={`provider-${p.name}`}>
      <div className="provider-head">
        <h2>{p.name}</h2>
        <span className="muted">
          {p.kind} · <code>{p.host}</code>
        </span>
        <StateBadge state={p.breaker.state} label={`breaker ${p.breaker.state.replace('_', ' ')}`} />
        {p.quota.exhausted && <StateBadge state="failed" label="quota exhausted" />}
      </div>
      <p className="muted provider-models">
        models: {p.models.join(', ')} · queue{' '}
        <Link to={`/queues/${encodeURIComponent(p.queue.name)}`}>{p.queue.name}</Link>
      </p>
      <div className="tiles">
        <Tile
          label="requests / min"
          value={ofLimit(p.lastMinute.requests, p.limits.rpm)}
          testId="rpm"
          note="last minute"
        />
        <Tile label="tokens / min" value={ofLimit(p.lastMinute.tokens, p.limits.tpm)} testId="tpm" note="last minute" />
        <Tile
          label="rate limited (429)"
          value={number.format(p.lastHour.rateLimited)}
          testId="429"
          note={`of ${number.format(p.lastHour.requests)} calls, last hour`}
          bad={p.lastHour.rateLimited > 0}
        />
        <Tile
          label="server errors (5xx)"
          value={number.format(p.lastHour.serverErrors)}
          testId="5xx"
          note="last hour"
          bad={p.lastHour.serverErrors > 0}
        />
        <Tile
          label="breaker"
          value={p.breaker.state.replace('_', ' ')}
          testId="breaker"
          note={`${p.breaker.failures} failures in a row`}
          bad={breakerBad}
        />
        <Tile
          label="quota"
          value={p.quota.exhausted ? 'exhausted' : 'ok'}
          testId="quota"
          note={p.quota.exhausted ? 'insufficient_quota' : 'no quota error'}
          bad={p.quota.exhausted}
        />
        <Tile
          label="queued"
          value={number.format(waiting)}
          testId="queued"
          note={`${number.format(active)} in flight${p.limits.concurrency ? ` / ${p.limits.concurrency}` : ''}`}
        />
        <Tile
          label="queue wait p50"
          value={p.queue.waitMs ? duration(p.queue.waitMs.p50) : '—'}
          testId="wait"
          note={p.queue.waitMs ? `p95 ${duration(p.queue.waitMs.p95)}` : 'no starts yet'}
        />
        <Tile
          label="upstream p50"
          value={p.upstreamLatencyMs ? duration(p.upstreamLatencyMs.p50) : '—'}
          testId="latency"
          note={p.upstreamLatencyMs ? `p95 ${duration(p.upstreamLatencyMs.p95)}` : 'no calls yet'}
        />
        <Tile
          label="tokens"
          value={number.format(p.lastHour.promptTokens + p.lastHour.completionTokens)}
          testId="tokens"
          note={`${number.format(p.lastHour.promptTokens)} in · ${number.format(p.lastHour.completionTokens)} out, last hour`}
        />
        <Tile
          label="cost estimate"
          value={p.priced ? usd.format(p.lastHour.costUsd) : '—'}
          testId="cost"
          note={p.priced ? 'last hour, from configured prices' : 'no prices configured'}
        />
      </div>
      <div className="table-wrap">
        <table className="table" aria-label={`${p.name} queue by priority`}>
          <thead>
            <tr>
              <th scope="col">Priority</th>
              <th scope="col" className="num">
                Waiting
              </th>
            </tr>
          </thead>
          <tbody>
            {p.queue.waitingByPriority.length === 0 ? (
              <tr>
                <td colSpan={2} className="muted">
                  nothing waiting
                </td>
              </tr>
            ) : (
              p.queue.waitingByPriority.map((row) => (
                <tr key={row.priority}>
                  <th scope="row">{PRIORITY_NAMES[row.priority] ?? row.priority}</th>
                  <td className="num">
                    {number.format(row.count)}
                    {p.queue.waitingByPriorityTruncated && '+'}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <div className="charts">
        <TimeChart
          title={`${p.name}: tokens per minute (last hour)`}
          t={hour.map((m) => Math.floor(m.minute / 1000))}
          series={[
            { label: 'prompt', color: '#2f6feb', values: hour.map((m) => m.promptTokens), fill: true },
            { label: 'completion', color: '#2da44e', values: hour.map((m) => m.completionTokens) },
          ]}
        />
        <TimeChart
          title={`${p.name}: calls per minute (last hour)`}
          t={hour.map((m) => Math.floor(m.minute / 1000))}
          series={[
            { label: 'succeeded', color: '#2da44e', values: hour.map((m) => m.succeeded), fill: true },
            { label: '429', color: '#bf8700', values: hour.map((m) => m.rateLimited) },
            { label: '5xx', color: '#cf222e', values: hour.map((m) => m.serverErrors) },
          ]}
        />
      </div>
    </section>
  )
}

function Tile(props: { label: string; value: string; note: string; testId: string; bad?: boolean }) {
  return (
    <div className="tile">
      <span className="tile-label">{props.label}</span>
      <span className={`tile-value${props.bad ? ' bad' : ''}`} data-testid={`tile-${props.testId}`}>
        {props.value}
      </span>
      <span className="tile-note">{props.note}</span>
    </div>
  )
}
