/** The audit log of this tenant, filterable by action and actor (kept in the URL), paged forward. */
import { useInfiniteQuery } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { useClient, useMe } from '../api'
import { useQueryState } from '../router'
import { Empty, ErrorBox, Loading, Time } from '../ui/parts'

export function AuditView() {
  const client = useClient()
  const me = useMe()
  const [query, setQuery] = useQueryState()
  const actionFilter = query.get('action') ?? ''
  const actorFilter = query.get('actor') ?? ''
  const [draft, setDraft] = useState({ action: actionFilter, actor: actorFilter })
  const log = useInfiniteQuery({
    queryKey: ['audit', actionFilter, actorFilter],
    queryFn: ({ pageParam }) =>
      client.audit.list({
        afterSeq: pageParam,
        limit: 200,
        ...(actionFilter && { action: actionFilter }),
        ...(actorFilter && { actor: actorFilter }),
      }),
    initialPageParam: 0,
    getNextPageParam: (last) => (last.entries.length === 200 ? last.nextAfterSeq : undefined),
    enabled: me.can('admin'),
  })
  if (!me.can('admin')) return <Empty title="The audit log is for admins" />
  const submit = (event: FormEvent) => {
    event.preventDefault()
    setQuery({ action: draft.action, actor: draft.actor })
  }
  // Entries written together share their record's seq: number them within it for a stable key.
  const perSeq = new Map<number, number>()
  const entries = (log.data?.pages ?? [])
    .flatMap((page) => page.entries)
    .map((entry) => {
      const n = perSeq.get(entry.seq) ?? 0
      perSeq.set(entry.seq, n + 1)
      return { ...entry, key: `${entry.seq}.${n}` }
    })
  return (
    <div className="stack">
      <h1>Audit log</h1>
      <form className="filters" onSubmit={submit} aria-label="Filters">
        <label className="field">
          <span>Action</span>
          <input
            placeholder="e.g. jobs.retry"
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
          />
        </label>
        <label className="field">
          <span>Actor (key id or user)</span>
          <input value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />
        </label>
        <div className="row end">
          <button type="submit" className="button primary small">
            Apply filters
          </button>
        </div>
      </form>
      {log.isPending ? (
        <Loading what="Loading the audit log" />
      ) : log.isError ? (
        <ErrorBox error={log.error} retry={() => void log.refetch()} />
      ) : entries.length === 0 ? (
        <Empty title="No entries match" />
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">IP</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.key}>
                  <td className="num">{e.seq}</td>
                  <td>
                    <Time at={e.at} />
                  </td>
                  <td>
                    {e.actor.kind}:{e.actor.user ?? e.actor.id}
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td className="clip">{e.target ?? '—'}</td>
                  <td>
                    <span className={`badge outcome-${e.outcome}`}>
                      {e.outcome} {e.status}
                    </span>
                  </td>
                  <td className="muted small">{e.ip}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {log.hasNextPage && (
        <button
          type="button"
          className="button"
          onClick={() => void log.fetchNextPage()}
          disabled={log.isFetchingNextPage}
        >
          Load more
        </button>
      )}
    </div>
  )
}
