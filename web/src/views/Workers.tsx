/** Workers on every node: queue, concurrency, what each runs now, last seen. */
import { useMe } from '../api'
import { useWorkers } from '../queries'
import { Link } from '../router'
import { Empty, ErrorBox, Loading, Time } from '../ui/parts'

export function WorkersView() {
  const me = useMe()
  const workers = useWorkers()
  if (!me.can('operate'))
    return (
      <Empty title="Workers are for the operator’s admins">
        Workers serve every tenant: sign in with an admin key of the operator tenant to see who is connected.
      </Empty>
    )
  if (workers.isPending) return <Loading what="Loading workers" />
  if (workers.isError) return <ErrorBox error={workers.error} retry={() => void workers.refetch()} />
  const list = workers.data
  return (
    <div className="stack">
      <h1>Workers</h1>
      {list.length === 0 ? (
        <Empty title="No workers are connected">
          Start one with spool worker, spool start, or an HTTP worker that claims leases.
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">Node</th>
                <th scope="col">Queue</th>
                <th scope="col" className="num">
                  Busy
                </th>
                <th scope="col">Running</th>
                <th scope="col">Started</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {list.map((w) => (
                <tr key={w.id}>
                  <th scope="row">
                    <code>{w.id}</code>
                  </th>
                  <td>
                    <code>{w.nodeId}</code>
                  </td>
                  <td>
                    <Link to={`/queues/${encodeURIComponent(w.queue)}`}>{w.queue}</Link>
                  </td>
                  <td className="num">
                    {w.running.length} / {w.concurrency}
                  </td>
                  <td>
                    {w.running.slice(0, 8).map((id) => (
                      <Link key={id} to={`/jobs/${id}`} className="chip">
                        #{id}
                      </Link>
                    ))}
                    {w.running.length > 8 && ` +${w.running.length - 8}`}
                  </td>
                  <td>
                    <Time at={w.startedAt} />
                  </td>
                  <td>
                    <Time at={w.seenAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}
