/**
 * The audit log of this tenant, newest first (or oldest first), filterable by action and actor
 * (kept in the URL), 200 entries a page. Each row is one entry, numbered by its unique id (the
 * record it was written in and its place there: entries written together share a record).
 */
import { useInfiniteQuery } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { useClient, useMe } from '../api'
import { useQueryState } from '../router'
import { Empty, ErrorBox, Loading, Time } from '../ui/parts'

const PAGE = 200

export function AuditView() {
  const client = useClient()
  const me = useMe()
  const [query, setQuery] = useQueryState()
  const actionFilter = query.get('action') ?? ''
  const actorFilter = query.get('actor') ?? ''
  const order = query.get('order') === 'asc' ? 'asc' : 'desc'
  const [draft, setDraft] = useState({ action: actionFilter, actor: actorFilter, order })
  const log = useInfiniteQuery({
    queryKey: ['audit', actionFilter, actorFilter, order],
    queryFn: ({ pageParam }) =>
      client.audit.list({
        order,
        limit: PAGE,
        ...(pageParam !== null && (order === 'desc' ? { beforeSeq: pageParam } : { afterSeq: pageParam })),
        ...(actionFilter && { action: actionFilter }),
        ...(actorFilter && { actor: actorFilter }),
      }),
    initialPageParam: null as number | null,
    getNextPageParam: (last) =>
      order === 'desc'
        ? (last.nextBeforeSeq ?? undefined)
        : last.entries.length >= PAGE
          ? last.nextAfterSeq
          : undefined,
    enabled: me.can('admin'),
  })
  if (!me.can('admin')) return <Empty title="The audit log is for admins" />
  const submit = (event: FormEvent) => {
    event.preventDefault()
    setQuery({ action: draft.action, actor: draft.actor, order: draft.order === 'asc' ? 'asc' : '' })
  }
  const entries = (log.data?.pages ?? []).flatMap((page) => page.entries)
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
        <label className="field">
          <span>Order</span>
          <select
            value={draft.order}
            onChange={(e) => setDraft({ ...draft, order: e.target.value === 'asc' ? 'asc' : 'desc' })}
          >
            <option value="desc">Newest first</option>
            <option value="asc">Oldest first</option>
          </select>
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
                <tr key={e.id}>
                  <td className="num">{e.id}</td>
                  <td>
                    <Time at={e.at} />
                  </td>
                  <td>
                    {e.actor.kind}:{e.actor.user ?? e.actor.id}
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    {/* The clip is inside the cell: on the cell itself it made it an inline box, off the row's border. */}
                    <span className="clip" title={e.target ?? undefined}>
                      {e.target ?? '—'}
                    </span>
                  </td>
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
