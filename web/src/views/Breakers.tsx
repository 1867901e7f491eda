/** Circuit breakers (state, counts, open/close/reset) and every queue's limits. */
import { useQueryClient } from '@tanstack/react-query'
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
                  {me.can('manage') && <th scope="col">Actions</th>}
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
                    {me.can('manage') && (
                      <td className="row">
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
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
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
