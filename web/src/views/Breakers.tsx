/** Circuit breakers (state, counts, history of state changes, open/close/reset) and every queue's limits. */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import type { BreakerState } from 'spool/client'
import { useClient, useMe } from '../api'
import { useBreakers, useQueues } from '../queries'
import { Link } from '../router'
import { Empty, ErrorBox, Loading, StateBadge, shortDuration, Time, useAction } from '../ui/parts'

export function BreakersView() {
  const client = useClient()
  const me = useMe()
  const action = useAction()
  const queryClient = useQueryClient()
  const breakers = useBreakers()
  const [shown, setShown] = useState<string | null>(null)
  const queues = useQueues()
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['breakers'] })
  const limited = (queues.data ?? []).filter((q) =>
    ['concurrency', 'rateLimit', 'groups', 'maxSize', 'breaker', 'admission'].some((k) => k in q.config),
  )
  return (
    <div className="stack">
      <h1>Breakers & limits</h1>
      <section>
        <h2>Circuit breakers</h2>
        {breakers.isPending ? (
          <Loading />
        ) : breakers.isError ? (
          <ErrorBox error={breakers.error} retry={() => void breakers.refetch()} />
        ) : breakers.data.length === 0 ? (
          <Empty title="No circuit breakers">
            Bind a queue to one with its “breaker” setting; it opens when the provider keeps failing.
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table breakers-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col" className="num">
                    Failures in a row
                  </th>
                  <th scope="col" className="num">
                    Window (failed / total)
                  </th>
                  <th scope="col">Opened</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {breakers.data.map((b) => (
                  <tr key={b.name} data-breaker={b.name}>
                    <th scope="row" className="breaker-name">
                      {b.name}
                    </th>
                    <td className="breaker-state">
                      <BreakerBadge state={b.state} />
                    </td>
                    <td className="num breaker-fact" data-label="Failures in a row">
                      {b.failures}
                    </td>
                    <td className="num breaker-fact" data-label="Window">
                      {b.windowFailures} / {b.windowTotal}
                    </td>
                    <td className="breaker-fact" data-label="Opened">
                      <Time at={b.openedAt} />
                    </td>
                    <td className="small breaker-fact breaker-policy">{policyText(b.config)}</td>
                    <td className="breaker-actions">
                      <div className="row">
                        <button
                          type="button"
                          className="button small ghost"
                          aria-expanded={shown === b.name}
                          aria-controls="breaker-history"
                          onClick={() => setShown(shown === b.name ? null : b.name)}
                        >
                          History
                        </button>
                        {me.can('operate') && (
                          <>
                            {b.state !== 'open' && (
                              <button
                                type="button"
                                className="button small danger"
                                onClick={() =>
                                  void action(() => client.breakers.open(b.name), `Opened ${b.name}`).then(refresh)
                                }
                              >
                                Open
                              </button>
                            )}
                            <button
                              type="button"
                              className="button small"
                              onClick={() =>
                                void action(() => client.breakers.reset(b.name), `Reset ${b.name}`).then(refresh)
                              }
                            >
                              {b.state === 'closed' ? 'Reset' : 'Close'}
                            </button>
                          </>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {shown && <BreakerHistory name={shown} version={breakers.data?.find((b) => b.name === shown)?.updatedAt ?? 0} />}
      <section>
        <h2>Queue limits</h2>
        {limited.length === 0 ? (
          <Empty title="No queue has limits">Set concurrency, a rate limit or a maximum size on a queue’s page.</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Queue</th>
                  <th scope="col">Settings</th>
                </tr>
              </thead>
              <tbody>
                {limited.map((q) => (
                  <tr key={q.name}>
                    <th scope="row">
                      <Link to={`/queues/${encodeURIComponent(q.name)}`}>{q.name}</Link>
                    </th>
                    <td className="small limits-config">
                      <code>{JSON.stringify(q.config)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  )
}

const STATE_LABEL: Record<BreakerState, string> = { closed: 'closed', open: 'open', half_open: 'half-open' }

/** A breaker's state in words ("open"), coloured as a breaker's (not a job's) state. */
function BreakerBadge({ state }: { state: BreakerState }) {
  return <StateBadge state={`breaker-${state}`} label={STATE_LABEL[state] ?? state} />
}

/**
 * A breaker's policy in words: "Opens after 3 failures in a row · Cooldown 30 s · 1 probe
 * half-open · Closes after 2 successes". Settings it does not know are shown as they are.
 */
export function policyText(config: Record<string, unknown>): string {
  const n = (key: string) => (typeof config[key] === 'number' ? (config[key] as number) : undefined)
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`
  const parts: string[] = []
  const threshold = n('failureThreshold')
  if (threshold !== undefined) parts.push(`Opens after ${plural(threshold, 'failure')} in a row`)
  const rate = n('failureRate')
  const window = n('windowMs')
  if (rate !== undefined) {
    const minimum = n('minimumCalls')
    parts.push(
      `${threshold !== undefined ? 'or' : 'Opens'} at ${Math.round(rate * 100)}% failed` +
        (window !== undefined ? ` in ${shortDuration(window)}` : '') +
        (minimum !== undefined ? ` (at least ${plural(minimum, 'call')})` : ''),
    )
  } else if (window !== undefined) parts.push(`Window ${shortDuration(window)}`)
  const cooldown = n('cooldownMs')
  if (cooldown !== undefined) parts.push(`Cooldown ${shortDuration(cooldown)}`)
  const probes = n('halfOpenProbes')
  if (probes !== undefined) parts.push(`${plural(probes, 'probe')} half-open`)
  const successes = n('successThreshold')
  if (successes !== undefined) parts.push(`Closes after ${successes} success${successes === 1 ? '' : 'es'}`)
  const known = ['failureThreshold', 'failureRate', 'windowMs', 'minimumCalls', 'cooldownMs', 'halfOpenProbes']
  for (const [key, value] of Object.entries(config)) {
    if (![...known, 'successThreshold'].includes(key)) parts.push(`${key} ${JSON.stringify(value)}`)
  }
  return parts.join(' · ') || '—'
}

/**
 * Breakers are shared by every tenant, so their events are in no tenant's stream: the history is
 * read again when the list shows the breaker changed (`version`, its updatedAt), and every 5 s.
 */
function BreakerHistory({ name, version }: { name: string; version: number }) {
  const client = useClient()
  const history = useQuery({
    queryKey: ['breakers', name, 'history', version],
    queryFn: () => client.breakers.history(name, { limit: 100 }),
    placeholderData: (previous) => previous,
    refetchInterval: 5_000,
  })
  const to = { 'breaker.opened': 'open', 'breaker.half_open': 'half_open', 'breaker.closed': 'closed' }
  return (
    <section id="breaker-history" aria-labelledby="breaker-history-title">
      <h2 id="breaker-history-title">History of {name}</h2>
      {history.isPending ? (
        <Loading />
      ) : history.isError ? (
        <ErrorBox error={history.error} retry={() => void history.refetch()} />
      ) : history.data.length === 0 ? (
        <Empty title="No state changes">It has stayed as it is since it was defined (or its changes aged out).</Empty>
      ) : (
        <ol className="history" data-testid="breaker-history">
          {history.data.map((change) => (
            <li key={change.id}>
              <Time at={change.at} />
              {change.from && <BreakerBadge state={change.from} />}
              <span aria-hidden="true">→</span>
              <span className="sr-only">to</span>
              <BreakerBadge state={to[change.type] as BreakerState} />
              {change.failures !== null && <span className="muted small">failures counted: {change.failures}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
