/**
 * Jobs: state tabs, filters kept in the URL, search by id, cursor paging, and actions on the
 * selected rows or on every job matching the filter (counted first, then confirmed).
 */
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  type RowSelectionState,
  useReactTable,
} from '@tanstack/react-table'
import { type FormEvent, useEffect, useMemo, useState } from 'react'
import type { BulkResult, Job, JobFilter, JobState, Priority } from 'spool/client'
import { useClient, useMe } from '../api'
import { useQueues, useStats } from '../queries'
import { Link, navigate, useQueryState } from '../router'
import { Empty, ErrorBox, Loading, Progress, STATES, StateBadge, Tabs, Time, useAction, useConfirm } from '../ui/parts'

const PRIORITY_NAMES: Record<number, string> = { 0: 'urgent', 10: 'high', 20: 'normal', 30: 'low' }
export const priorityName = (p: number) => PRIORITY_NAMES[p] ?? String(p)

const toMs = (local: string | null): number | undefined => {
  if (!local) return undefined
  const ms = Date.parse(local)
  return Number.isNaN(ms) ? undefined : ms
}

const VERBS: Record<BulkResult['action'], [string, string]> = {
  retry: ['Retry', 'Retried'],
  cancel: ['Cancel', 'Cancelled'],
  remove: ['Delete', 'Deleted'],
  promote: ['Run now', 'Promoted'],
  reprioritize: ['Change priority of', 'Changed priority of'],
}

export function JobsView() {
  const client = useClient()
  const me = useMe()
  const queryClient = useQueryClient()
  const action = useAction()
  const confirm = useConfirm()
  const [query, setQuery] = useQueryState()
  const queues = useQueues()
  const stats = useStats()
  const state = (query.get('state') as JobState | null) ?? undefined
  const filter: JobFilter = useMemo(() => {
    const f: JobFilter = {}
    for (const key of ['queue', 'group', 'tag', 'text'] as const) {
      const value = query.get(key)
      if (value) f[key] = value
    }
    if (state) f.state = state
    const after = toMs(query.get('after'))
    const before = toMs(query.get('before'))
    if (after !== undefined) f.createdAfter = after
    if (before !== undefined) f.createdBefore = before
    return f
  }, [query, state])
  const cursor = query.get('cursor') ?? undefined
  const limit = Number(query.get('limit') ?? 50)
  const filterKey = JSON.stringify(filter)
  const [previous, setPrevious] = useState<(string | undefined)[]>([])
  const [selection, setSelection] = useState<RowSelectionState>({})
  const [allMatching, setAllMatching] = useState(false)
  const [priority, setPriority] = useState<string>('high')
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter starts a new selection and paging
  useEffect(() => {
    setSelection({})
    setAllMatching(false)
    setPrevious([])
  }, [filterKey])

  const jobs = useQuery({
    queryKey: ['jobs', 'list', filterKey, cursor, limit],
    queryFn: () => client.jobs.list({ ...filter, limit, ...(cursor && { cursor }) }),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  })

  const canAct = me.can('produce')
  const columns = useMemo<ColumnDef<Job>[]>(
    () => [
      ...(canAct
        ? [
            {
              id: 'select',
              header: ({ table }) => (
                <input
                  type="checkbox"
                  aria-label="Select every job on this page"
                  checked={table.getIsAllRowsSelected()}
                  ref={(el) => {
                    if (el) el.indeterminate = table.getIsSomeRowsSelected()
                  }}
                  onChange={table.getToggleAllRowsSelectedHandler()}
                />
              ),
              cell: ({ row }) => (
                <input
                  type="checkbox"
                  aria-label={`Select job ${row.original.id}`}
                  checked={row.getIsSelected()}
                  onChange={row.getToggleSelectedHandler()}
                />
              ),
            } satisfies ColumnDef<Job>,
          ]
        : []),
      {
        header: 'Job',
        accessorKey: 'id',
        cell: ({ row }) => <Link to={`/jobs/${row.original.id}`}>#{row.original.id}</Link>,
      },
      { header: 'Queue', accessorKey: 'queue' },
      { header: 'State', accessorKey: 'state', cell: ({ row }) => <StateBadge state={row.original.state} /> },
      { header: 'Priority', accessorKey: 'priority', cell: ({ row }) => priorityName(row.original.priority) },
      { header: 'Attempt', id: 'attempt', cell: ({ row }) => `${row.original.attempt}/${row.original.maxAttempts}` },
      {
        header: 'Progress',
        id: 'progress',
        cell: ({ row }) =>
          row.original.progress ? (
            <Progress
              percent={row.original.progress.percent}
              {...(row.original.progress.stage && { label: row.original.progress.stage })}
            />
          ) : (
            <span className="muted">—</span>
          ),
      },
      {
        header: 'Group',
        accessorKey: 'group',
        cell: ({ row }) => row.original.group ?? <span className="muted">—</span>,
      },
      { header: 'Created', accessorKey: 'createdAt', cell: ({ row }) => <Time at={row.original.createdAt} /> },
      {
        header: 'Last error',
        id: 'error',
        cell: ({ row }) => <span className="clip">{row.original.errors.at(-1)?.message ?? ''}</span>,
      },
    ],
    [canAct],
  )
  const table = useReactTable({
    data: jobs.data?.jobs ?? [],
    columns,
    getRowId: (job) => job.id,
    state: { rowSelection: selection },
    onRowSelectionChange: setSelection,
    enableRowSelection: canAct,
    getCoreRowModel: getCoreRowModel(),
  })
  const selectedIds = Object.keys(selection).filter((id) => selection[id])
  const pageAllSelected = table.getIsAllRowsSelected() && (jobs.data?.jobs.length ?? 0) > 0

  const run = async (kind: BulkResult['action']) => {
    const extra =
      kind === 'reprioritize' ? { priority: (/^-?\d+$/.test(priority) ? Number(priority) : priority) as Priority } : {}
    const selectionBody = allMatching ? { filter } : { ids: selectedIds }
    let count = selectedIds.length
    if (allMatching) {
      const dry = await action(() => client.jobs.bulk(kind, selectionBody, { ...extra, dryRun: true }))
      if (!dry) return
      count = dry.matched
    }
    const [verb, done] = VERBS[kind]
    const ok = await confirm({
      title: `${verb} ${count} job${count === 1 ? '' : 's'}?`,
      body: (
        <p>
          {allMatching ? 'Every job matching the current filter' : 'The selected jobs'}: <strong>{count}</strong>.{' '}
          {kind === 'remove'
            ? 'Deleted jobs and their history cannot be brought back.'
            : 'Jobs in a state that does not allow this are skipped.'}
          {kind === 'reprioritize' && ` New priority: ${priority}.`}
        </p>
      ),
      confirm: `${verb} ${count} job${count === 1 ? '' : 's'}`,
      danger: kind === 'remove' || kind === 'cancel',
    })
    if (!ok) return
    const result = await action(
      () => client.jobs.bulk(kind, selectionBody, extra),
      (r) =>
        `${done} ${r.succeeded} of ${r.matched} jobs${r.failed.length ? ` (${r.matched - r.succeeded} skipped: ${r.failed[0]?.code})` : ''}${r.truncated ? '; more matched, run again' : ''}`,
    )
    if (result) {
      setSelection({})
      setAllMatching(false)
      await queryClient.invalidateQueries({ queryKey: ['jobs'] })
      await queryClient.invalidateQueries({ queryKey: ['stats'] })
    }
  }

  const counts = filter.queue ? stats.data?.counts[filter.queue] : undefined
  const total = (s: JobState) =>
    filter.queue ? (counts?.[s] ?? 0) : Object.values(stats.data?.counts ?? {}).reduce((sum, c) => sum + (c[s] ?? 0), 0)

  return (
    <div className="stack">
      <div className="row between wrap">
        <h1>Jobs</h1>
        <SearchById />
      </div>
      <Tabs
        label="State"
        selected={state ?? ''}
        onSelect={(s) => setQuery({ state: s || null, cursor: null })}
        tabs={[
          { id: '', content: 'all' },
          ...STATES.map((s) => ({
            id: s,
            content: (
              <>
                {s} <span className="count">{total(s)}</span>
              </>
            ),
          })),
        ]}
      />
      <Filters queues={(queues.data ?? []).map((q) => q.name)} />
      {canAct && (selectedIds.length > 0 || allMatching) && (
        <section className="bulkbar" aria-label="Actions on the selection">
          <span data-testid="selection-count">
            {allMatching ? (
              <>
                <strong>All jobs matching this filter</strong> are selected.{' '}
                <button type="button" className="linkish" onClick={() => setAllMatching(false)}>
                  Select only this page
                </button>
              </>
            ) : (
              <>
                <strong>{selectedIds.length}</strong> selected.{' '}
                {pageAllSelected && (
                  <button type="button" className="linkish" onClick={() => setAllMatching(true)}>
                    Select all jobs matching this filter
                  </button>
                )}
              </>
            )}
          </span>
          <span className="spacer" />
          <button type="button" className="button small" onClick={() => void run('retry')}>
            Retry
          </button>
          <button type="button" className="button small" onClick={() => void run('cancel')}>
            Cancel
          </button>
          <button type="button" className="button small danger" onClick={() => void run('remove')}>
            Delete
          </button>
          <label className="inline">
            <span className="sr-only">New priority</span>
            <select value={priority} onChange={(event) => setPriority(event.target.value)}>
              {['urgent', 'high', 'normal', 'low'].map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </label>
          <button type="button" className="button small" onClick={() => void run('reprioritize')}>
            Set priority
          </button>
        </section>
      )}
      {jobs.isPending ? (
        <Loading what="Loading jobs" />
      ) : jobs.isError ? (
        <ErrorBox error={jobs.error} retry={() => void jobs.refetch()} />
      ) : jobs.data.jobs.length === 0 ? (
        <Empty title="No jobs match">
          {Object.keys(filter).length ? 'Change or clear the filters to see more.' : 'Enqueue a job to see it here.'}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table jobs-table" aria-busy={jobs.isFetching}>
            <thead>
              {table.getHeaderGroups().map((group) => (
                <tr key={group.id}>
                  {group.headers.map((header) => (
                    <th key={header.id} scope="col">
                      {flexRender(header.column.columnDef.header, header.getContext())}
                    </th>
                  ))}
                </tr>
              ))}
            </thead>
            <tbody>
              {table.getRowModel().rows.map((row) => (
                <tr key={row.id} data-job={row.id} className={row.getIsSelected() ? 'selected' : ''}>
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="row between">
        <button
          type="button"
          className="button small"
          disabled={previous.length === 0}
          onClick={() => {
            const back = previous.at(-1)
            setPrevious(previous.slice(0, -1))
            setQuery({ cursor: back ?? null })
          }}
        >
          ← Newer
        </button>
        <span className="muted small">{jobs.data ? `${jobs.data.jobs.length} on this page` : ''}</span>
        <button
          type="button"
          className="button small"
          disabled={!jobs.data?.nextCursor}
          onClick={() => {
            setPrevious([...previous, cursor])
            setQuery({ cursor: jobs.data?.nextCursor ?? null })
          }}
        >
          Older →
        </button>
      </div>
    </div>
  )
}

function SearchById() {
  const [id, setId] = useState('')
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const clean = id.trim().replace(/^#/, '')
    if (/^\d+$/.test(clean)) navigate(`/jobs/${clean}`)
  }
  return (
    <form className="row" aria-label="Find a job by id" onSubmit={submit}>
      <label className="inline">
        <span className="sr-only">Job id</span>
        <input
          value={id}
          onChange={(event) => setId(event.target.value)}
          placeholder="Go to job #id"
          inputMode="numeric"
        />
      </label>
      <button type="submit" className="button small">
        Go
      </button>
    </form>
  )
}

function Filters({ queues }: { queues: string[] }) {
  const [query, setQuery] = useQueryState()
  const [draft, setDraft] = useState(() => ({
    queue: query.get('queue') ?? '',
    group: query.get('group') ?? '',
    tag: query.get('tag') ?? '',
    text: query.get('text') ?? '',
    after: query.get('after') ?? '',
    before: query.get('before') ?? '',
  }))
  const apply = (event: FormEvent) => {
    event.preventDefault()
    setQuery({ ...draft, cursor: null })
  }
  const clear = () => {
    const empty = { queue: '', group: '', tag: '', text: '', after: '', before: '' }
    setDraft(empty)
    setQuery({ ...empty, cursor: null })
  }
  const set = (key: keyof typeof draft) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [key]: event.target.value })
  return (
    <form className="filters" onSubmit={apply} aria-label="Filters">
      <label className="field">
        <span>Queue</span>
        <select name="queue" value={draft.queue} onChange={set('queue')}>
          <option value="">any</option>
          {queues.map((q) => (
            <option key={q}>{q}</option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Group</span>
        <input name="group" value={draft.group} onChange={set('group')} />
      </label>
      <label className="field">
        <span>Tag</span>
        <input name="tag" value={draft.tag} onChange={set('tag')} />
      </label>
      <label className="field">
        <span>Text in payload</span>
        <input name="text" value={draft.text} onChange={set('text')} />
      </label>
      <label className="field">
        <span>Created after</span>
        <input name="after" type="datetime-local" value={draft.after} onChange={set('after')} />
      </label>
      <label className="field">
        <span>Created before</span>
        <input name="before" type="datetime-local" value={draft.before} onChange={set('before')} />
      </label>
      <div className="row end">
        <button type="button" className="button ghost small" onClick={clear}>
          Clear
        </button>
        <button type="submit" className="button primary small">
          Apply filters
        </button>
      </div>
    </form>
  )
}
