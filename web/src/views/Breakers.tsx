/** Circuit breakers (state, counts, history of state changes, open/close/reset) and every queue's limits. */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useClient, useMe } from '../api'
import { useBreakers, useQueues } from '../queries'
import { Link } from '../router'
import { duration, Empty, ErrorBox, Loading, StateBadge, Time, useAction } from '../ui/parts'

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
            <table className="table">
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
                  <tr key={b.name}>
                    <th scope="row">{b.name}</th>
                    <td>
                      <StateBadge state={`breaker-${b.state}`} />
                    </td>
                    <td className="num">{b.failures}</td>
                    <td className="num">
                      {b.windowFailures} / {b.windowTotal}
                    </td>
                    <td>
                      <Time at={b.openedAt} />
                    </td>
                    <td className="small">
                      {Object.entries(b.config)
                        .map(([k, v]) => `${k} ${k.endsWith('Ms') ? duration(Number(v)) : String(v)}`)
                        .join(' · ')}
                    </td>
                    <td>
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
                    <td className="small">
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
              {change.from && <StateBadge state={`breaker-${change.from}`} />}
              <span aria-hidden="true">→</span>
              <span className="sr-only">to</span>
              <StateBadge state={`breaker-${to[change.type]}`} />
              {change.failures !== null && <span className="muted small">failures counted: {change.failures}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
