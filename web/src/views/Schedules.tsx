/** Cron schedules: when each runs next, pause/resume/delete, and a form to add one. */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { useClient, useMe } from '../api'
import { Link } from '../router'
import { ago, Empty, ErrorBox, Loading, StateBadge, Time, useAction, useConfirm } from '../ui/parts'

export function SchedulesView() {
  const client = useClient()
  const me = useMe()
  const action = useAction()
  const confirm = useConfirm()
  const queryClient = useQueryClient()
  const schedules = useQuery({
    queryKey: ['schedules'],
    queryFn: () => client.schedules.list(),
    refetchInterval: 15_000,
  })
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['schedules'] })
  const [shown, setShown] = useState<string | null>(null)
  const [lastRun, setLastRun] = useState<{ schedule: string; id: string } | null>(null)
  return (
    <div className="stack">
      <h1>Schedules</h1>
      {lastRun && (
        <p className="card notice" role="status" data-testid="schedule-run">
          {lastRun.schedule} ran now: <Link to={`/jobs/${lastRun.id}`}>job #{lastRun.id}</Link>. Its next run is
          unchanged.
        </p>
      )}
      {schedules.isPending ? (
        <Loading what="Loading schedules" />
      ) : schedules.isError ? (
        <ErrorBox error={schedules.error} retry={() => void schedules.refetch()} />
      ) : schedules.data.length === 0 ? (
        <Empty title="No schedules">A schedule enqueues a job on every tick of a cron expression.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Cron</th>
                <th scope="col">Queue</th>
                <th scope="col">Status</th>
                <th scope="col">Next run</th>
                <th scope="col">Last run</th>
                <th scope="col">Catch-up</th>
                <th scope="col">Upcoming</th>
                {me.can('manage') && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {schedules.data.map((s) => (
                <tr key={s.name}>
                  <th scope="row">{s.name}</th>
                  <td>
                    <code>{s.cron}</code> <span className="muted small">{s.timezone}</span>
                  </td>
                  <td>
                    <Link to={`/jobs?queue=${encodeURIComponent(s.queue)}`}>{s.queue}</Link>
                  </td>
                  <td>
                    <StateBadge state={s.paused ? 'paused' : 'running'} />
                  </td>
                  <td>
                    <Time at={s.nextRunAt} />
                  </td>
                  <td>
                    <Time at={s.lastRunAt} />
                  </td>
                  <td>{s.catchUp}</td>
                  <td>
                    <button
                      type="button"
                      className="button small ghost"
                      aria-expanded={shown === s.name}
                      aria-controls="schedule-runs"
                      onClick={() => setShown(shown === s.name ? null : s.name)}
                    >
                      Next runs<span className="sr-only"> of {s.name}</span>
                    </button>
                  </td>
                  {me.can('manage') && (
                    <td>
                      <div className="row">
                        <button
                          type="button"
                          className="button small"
                          onClick={() =>
                            void action(
                              () => client.schedules.run(s.name),
                              (run) => `Enqueued job #${run.id} on ${run.queue}`,
                            ).then(async (run) => {
                              if (run) setLastRun({ schedule: s.name, id: run.id })
                              await refresh()
                            })
                          }
                        >
                          Run now<span className="sr-only"> {s.name}</span>
                        </button>
                        <button
                          type="button"
                          className="button small"
                          onClick={() =>
                            void action(
                              () => (s.paused ? client.schedules.resume(s.name) : client.schedules.pause(s.name)),
                              s.paused ? 'Resumed' : 'Paused',
                            ).then(refresh)
                          }
                        >
                          {s.paused ? 'Resume' : 'Pause'}
                        </button>
                        <button
                          type="button"
                          className="button small danger"
                          onClick={async () => {
                            if (
                              await confirm({
                                title: `Delete schedule ${s.name}?`,
                                body: 'Jobs it already enqueued stay.',
                                confirm: 'Delete',
                                danger: true,
                              })
                            ) {
                              await action(() => client.schedules.remove(s.name), 'Deleted')
                              await refresh()
                            }
                          }}
                        >
                          Delete
                        </button>
                      </div>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown && <NextRuns name={shown} />}
      {me.can('manage') && <NewSchedule onSaved={() => void refresh()} />}
    </div>
  )
}

/** The next run times of one schedule, from the API's preview, in the browser's time and the schedule's zone. */
function NextRuns({ name }: { name: string }) {
  const client = useClient()
  const preview = useQuery({
    queryKey: ['schedules', name, 'preview'],
    queryFn: () => client.schedules.preview(name, 5),
    refetchInterval: 60_000,
  })
  return (
    <section id="schedule-runs" className="card" aria-labelledby="schedule-runs-title">
      <h2 id="schedule-runs-title">Next runs of {name}</h2>
      {preview.isPending ? (
        <Loading what="Reading the next runs" />
      ) : preview.isError ? (
        <ErrorBox error={preview.error} retry={() => void preview.refetch()} />
      ) : preview.data.runs.length === 0 ? (
        <Empty title="No more runs">The expression never fires again.</Empty>
      ) : (
        <>
          {preview.data.paused && <p className="muted small">Paused: these are the times it would run once resumed.</p>}
          <ol className="runs" data-testid="next-runs">
            {preview.data.runs.map((run) => (
              <li key={run}>
                <time dateTime={run}>{new Date(run).toLocaleString()}</time>{' '}
                <span className="muted small">
                  {new Date(run).toLocaleString(undefined, { timeZone: preview.data.timezone, timeStyle: 'short' })}{' '}
                  {preview.data.timezone} · {ago(run)}
                </span>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  )
}

function NewSchedule({ onSaved }: { onSaved(): void }) {
  const client = useClient()
  const action = useAction()
  const [form, setForm] = useState({ name: '', cron: '*/5 * * * *', timezone: 'UTC', queue: '', payload: '{}' })
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value })
  let payload: unknown
  let bad = false
  try {
    payload = JSON.parse(form.payload)
  } catch {
    bad = true
  }
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    const saved = await action(
      () =>
        client.schedules.upsert(form.name, { cron: form.cron, timezone: form.timezone, queue: form.queue, payload }),
      `Saved schedule ${form.name}`,
    )
    if (saved) onSaved()
  }
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="new-schedule">
      <h2 id="new-schedule" className="span-all">
        Add or replace a schedule
      </h2>
      <label className="field">
        <span>Name</span>
        <input required value={form.name} onChange={set('name')} />
      </label>
      <label className="field">
        <span>Cron</span>
        <input required value={form.cron} onChange={set('cron')} />
      </label>
      <label className="field">
        <span>Time zone</span>
        <input required value={form.timezone} onChange={set('timezone')} />
      </label>
      <label className="field">
        <span>Queue</span>
        <input required value={form.queue} onChange={set('queue')} />
      </label>
      <label className="field span-all">
        <span>Payload (JSON)</span>
        <textarea
          rows={3}
          className={`code ${bad ? 'invalid' : ''}`}
          value={form.payload}
          onChange={set('payload')}
          aria-invalid={bad}
        />
      </label>
      <div className="row end span-all">
        <button type="submit" className="button primary" disabled={bad}>
          Save schedule
        </button>
      </div>
    </form>
  )
}
