/**
 * Jobs: state tabs counted with every filter (from the server, capped), the total of matches,
 * filters kept in the URL (collapsible, folded on a phone, with a summary of those in force),
 * search in payloads (`/` focuses it), search by id, sort by created or run-at, cursor paging,
 * export of the filtered jobs (JSON Lines or CSV, streamed by the server), and actions on the
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
import { type FormEvent, useEffect, useMemo, useRef, useState } from 'react'
import type { BulkResult, Job, JobCounts, JobFilter, JobOrder, JobState, Priority } from 'spool/client'
import { useClient, useMe } from '../api'
import { useQueues } from '../queries'
import { Link, navigate, useQueryState } from '../router'
import { Empty, ErrorBox, Loading, Progress, STATES, StateBadge, Tabs, Time, useAction, useConfirm } from '../ui/parts'

const PRIORITY_NAMES: Record<number, string> = { 0: 'urgent', 10: 'high', 20: 'normal', 30: 'low' }
export const priorityName = (p: number) => PRIORITY_NAMES[p] ?? String(p)

const toMs = (local: string | null): number | undefined => {
  if (!local) return undefined
  const ms = Date.parse(local)
  return Number.isNaN(ms) ? undefined : ms
}

/** A count as the tabs show it: "10,000+" when the server stopped counting at its cap. */
export function countText(n: number, capped: boolean): string {
  return `${n.toLocaleString('en')}${capped ? '+' : ''}`
}

/** The total of matches: the state's count, or the sum over states (capped when any state is). */
export function matchTotal(counts: JobCounts, state: JobState | undefined): { n: number; capped: boolean } {
  if (state) return { n: counts.counts[state], capped: counts.capped.includes(state) }
  return { n: counts.total, capped: counts.capped.length > 0 }
}

const SORTS: { id: string; label: string; order: Required<JobOrder> }[] = [
  { id: 'created.desc', label: 'Newest first', order: { sort: 'created', order: 'desc' } },
  { id: 'created.asc', label: 'Oldest first', order: { sort: 'created', order: 'asc' } },
  { id: 'runAt.desc', label: 'Run at, latest first', order: { sort: 'runAt', order: 'desc' } },
  { id: 'runAt.asc', label: 'Run at, soonest first', order: { sort: 'runAt', order: 'asc' } },
]

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
  const state = (query.get('state') as JobState | null) ?? undefined
  const sort =
    SORTS.find((s) => s.id === `${query.get('sort') ?? 'created'}.${query.get('order') ?? 'desc'}`) ?? SORTS[0]
  const order: JobOrder = sort && sort.id !== 'created.desc' ? sort.order : {}
  const filter: JobFilter = useMemo(() => {
    const f: JobFilter = {}
    for (const key of ['queue', 'group', 'tag', 'text', 'error'] as const) {
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
  const filterKey = JSON.stringify([filter, order])
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
    queryFn: () => client.jobs.list({ ...filter, ...order, limit, ...(cursor && { cursor }) }),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  })
  // The tabs' counts: every filter but the state (each tab is a state).
  const { state: _state, ...countFilter } = filter
  const counts = useQuery({
    queryKey: ['jobs', 'counts', JSON.stringify(countFilter)],
    queryFn: () => client.jobs.counts(countFilter),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  })
  const [exportFormat, setExportFormat] = useState<'csv' | 'jsonl'>('csv')
  const download = async () => {
    await action(
      async () => {
        const response = await client.jobs.export(exportFormat, { ...filter, ...order })
        const name =
          /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `jobs.${exportFormat}`
        const url = URL.createObjectURL(await response.blob())
        const link = document.createElement('a')
        link.href = url
        link.download = name
        document.body.append(link)
        link.click()
        link.remove()
        setTimeout(() => URL.revokeObjectURL(url), 10_000)
        return name
      },
      (name) => `Exported ${name}`,
    )
  }

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
        header: 'Run at',
        accessorKey: 'runAt',
        cell: ({ row }) =>
          row.original.state === 'scheduled' ? (
            <strong className="run-at">
              <Time at={row.original.runAt} />
            </strong>
          ) : (
            <Time at={row.original.runAt} />
          ),
      },
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

  const tabCount = (s: JobState | '') => {
    if (!counts.data) return null
    const { n, capped } = matchTotal(counts.data, s || undefined)
    return (
      <span className="count" title={capped ? `at least ${n.toLocaleString('en')}: counting stops there` : undefined}>
        {countText(n, capped)}
      </span>
    )
  }
  const matches = counts.data ? matchTotal(counts.data, state) : null

  return (
    <div className="stack">
      <div className="row between wrap">
        <h1>Jobs</h1>
        <div className="row wrap">
          <TextSearch />
          <SearchById />
        </div>
      </div>
      <Tabs
        label="State"
        selected={state ?? ''}
        onSelect={(s) => setQuery({ state: s || null, cursor: null })}
        tabs={[
          { id: '', content: <>all {tabCount('')}</> },
          ...STATES.map((s) => ({
            id: s,
            content: (
              <>
                {s} {tabCount(s)}
              </>
            ),
          })),
        ]}
      />
      <Filters queues={(queues.data ?? []).map((q) => q.name)} />
      <div className="row between wrap">
        <span data-testid="match-total" className="muted">
          {matches ? (
            <>
              <strong>{countText(matches.n, matches.capped)}</strong> job{matches.n === 1 && !matches.capped ? '' : 's'}{' '}
              match{matches.n === 1 && !matches.capped ? 'es' : ''}
              {matches.capped && ' (counted up to the cap)'}
            </>
          ) : (
            ' '
          )}
        </span>
        <div className="row wrap">
          <label className="inline">
            <span className="sr-only">Sort</span>
            <select
              aria-label="Sort"
              value={sort?.id}
              onChange={(event) => {
                const chosen = SORTS.find((s) => s.id === event.target.value)?.order
                setQuery({
                  sort: chosen?.sort === 'created' ? null : chosen?.sort,
                  order: chosen?.order === 'desc' ? null : chosen?.order,
                  cursor: null,
                })
              }}
            >
              {SORTS.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.label}
                </option>
              ))}
            </select>
          </label>
          <label className="inline">
            <span className="sr-only">Export format</span>
            <select
              aria-label="Export format"
              value={exportFormat}
              onChange={(event) => setExportFormat(event.target.value as 'csv' | 'jsonl')}
            >
              <option value="csv">CSV</option>
              <option value="jsonl">JSON Lines</option>
            </select>
          </label>
          <button type="button" className="button small" onClick={() => void download()}>
            Export
          </button>
        </div>
      </div>
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
          ← Previous
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
          Next →
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

/**
 * Text in payloads, always in view; `/` anywhere on the page (outside a field) focuses it, as in
 * Bull Board, Oban Web and Sidekiq.
 */
function TextSearch() {
  const [query, setQuery] = useQueryState()
  const [text, setText] = useState(query.get('text') ?? '')
  const input = useRef<HTMLInputElement>(null)
  const current = query.get('text') ?? ''
  useEffect(() => setText(current), [current])
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return
      const target = event.target as HTMLElement | null
      if (target?.closest('input, textarea, select, [contenteditable="true"]')) return
      event.preventDefault()
      input.current?.focus()
      input.current?.select()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [])
  return (
    <form
      className="row"
      aria-label="Search payloads"
      onSubmit={(event) => {
        event.preventDefault()
        setQuery({ text: text.trim(), cursor: null })
      }}
    >
      <label className="inline">
        <span className="sr-only">Text in payload</span>
        <input
          ref={input}
          type="search"
          name="text"
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder="Search payloads  ( / )"
          aria-keyshortcuts="/"
        />
      </label>
      <button type="submit" className="button small">
        Search
      </button>
    </form>
  )
}

const FILTER_FIELDS = ['queue', 'group', 'tag', 'error', 'after', 'before'] as const
type FilterField = (typeof FILTER_FIELDS)[number]
const FILTER_LABELS: Record<FilterField | 'text', string> = {
  queue: 'queue',
  group: 'group',
  tag: 'tag',
  error: 'error',
  after: 'after',
  before: 'before',
  text: 'text',
}

/** Narrow screens (phones) start with the filters folded. */
const narrow = () => typeof window !== 'undefined' && window.matchMedia('(max-width: 760px)').matches

function Filters({ queues }: { queues: string[] }) {
  const [query, setQuery] = useQueryState()
  const [open, setOpen] = useState(() => !narrow())
  const fromQuery = () =>
    Object.fromEntries(FILTER_FIELDS.map((key) => [key, query.get(key) ?? ''])) as Record<FilterField, string>
  const [draft, setDraft] = useState(fromQuery)
  const active = ([...FILTER_FIELDS, 'text'] as const)
    .map((key) => [key, query.get(key)] as const)
    .filter((entry): entry is readonly [FilterField | 'text', string] => Boolean(entry[1]))
  const apply = (event: FormEvent) => {
    event.preventDefault()
    setQuery({ ...draft, cursor: null })
    if (narrow()) setOpen(false)
  }
  const clear = () => {
    const empty = Object.fromEntries(FILTER_FIELDS.map((key) => [key, ''])) as Record<FilterField, string>
    setDraft(empty)
    setQuery({ ...empty, text: null, cursor: null })
  }
  const set = (key: FilterField) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [key]: event.target.value })
  return (
    <section className="filters-box" aria-label="Filters">
      <button
        type="button"
        className="filters-toggle"
        aria-expanded={open}
        aria-controls="job-filters"
        onClick={() => setOpen(!open)}
      >
        <span aria-hidden="true">{open ? '▾' : '▸'}</span> Filters{' '}
        <span className="muted small" data-testid="filter-summary">
          {active.length === 0
            ? '· none'
            : `· ${active.map(([key, value]) => `${FILTER_LABELS[key]}: ${value.replace('T', ' ')}`).join(' · ')}`}
        </span>
      </button>
      {open && (
        <form id="job-filters" className="filters" onSubmit={apply} aria-label="Filter jobs">
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
            <span>Error message</span>
            <input name="error" value={draft.error} onChange={set('error')} />
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
      )}
    </section>
  )
}
