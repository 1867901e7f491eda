/** Create one job from a form (payload checked as you type), or many from a pasted JSON array. */
import { useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import type { EnqueueOptions, Priority } from 'spool/client'
import { useClient, useMe } from '../api'
import { useQueues } from '../queries'
import { Link, navigate } from '../router'
import { Empty, Tabs, useAction } from '../ui/parts'

function parse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, error: (error as Error).message }
  }
}

export function CreateJobView() {
  const me = useMe()
  const [tab, setTab] = useState<'one' | 'bulk'>('one')
  if (!me.can('produce'))
    return <Empty title="Your key cannot create jobs">Creating jobs needs a producer or admin key.</Empty>
  return (
    <div className="stack">
      <h1>Create jobs</h1>
      <Tabs
        label="How many"
        selected={tab}
        onSelect={setTab}
        tabs={[
          { id: 'one', content: 'One job' },
          { id: 'bulk', content: 'Bulk (JSON array)' },
        ]}
      />
      {tab === 'one' ? <OneJob /> : <Bulk />}
    </div>
  )
}

function QueueInput({ value, onChange }: { value: string; onChange(value: string): void }) {
  const queues = useQueues()
  return (
    <label className="field">
      <span>Queue</span>
      <input
        name="queue"
        list="queue-names"
        required
        pattern="[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}"
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
      <datalist id="queue-names">
        {(queues.data ?? []).map((q) => (
          <option key={q.name} value={q.name} />
        ))}
      </datalist>
    </label>
  )
}

function OneJob() {
  const client = useClient()
  const action = useAction()
  const queryClient = useQueryClient()
  const [queue, setQueue] = useState('')
  const [payload, setPayload] = useState('{\n  \n}')
  const [priority, setPriority] = useState('normal')
  const [delaySeconds, setDelaySeconds] = useState('')
  const [maxAttempts, setMaxAttempts] = useState('')
  const [group, setGroup] = useState('')
  const [tags, setTags] = useState('')
  const [idempotencyKey, setIdempotencyKey] = useState('')
  const parsed = parse(payload)
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (!parsed.ok) return
    const options: EnqueueOptions = { priority: priority as Priority }
    if (delaySeconds) options.delayMs = Math.round(Number(delaySeconds) * 1000)
    if (maxAttempts) options.maxAttempts = Number(maxAttempts)
    if (group) options.group = group
    if (tags.trim())
      options.tags = tags
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    if (idempotencyKey) options.idempotencyKey = idempotencyKey
    const result = await action(
      () => client.jobs.create(queue, parsed.value, options),
      (r) => (r.created ? `Created job #${r.id}` : `Job #${r.id} already existed (idempotency key)`),
    )
    if (result) {
      await queryClient.invalidateQueries({ queryKey: ['jobs'] })
      navigate(`/jobs/${result.id}`)
    }
  }
  return (
    <form className="card form-grid" onSubmit={submit}>
      <QueueInput value={queue} onChange={setQueue} />
      <label className="field">
        <span>Priority</span>
        <select value={priority} onChange={(e) => setPriority(e.target.value)}>
          {['urgent', 'high', 'normal', 'low'].map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <label className="field span-all">
        <span>Payload (JSON)</span>
        <textarea
          name="payload"
          rows={8}
          className={`code ${parsed.ok ? '' : 'invalid'}`}
          value={payload}
          onChange={(e) => setPayload(e.target.value)}
          aria-invalid={!parsed.ok}
          aria-describedby="payload-check"
          spellCheck={false}
        />
        <span id="payload-check" className={parsed.ok ? 'ok-text small' : 'error-text small'} aria-live="polite">
          {parsed.ok ? '✓ valid JSON' : `✗ ${parsed.error}`}
        </span>
      </label>
      <label className="field">
        <span>Delay (seconds)</span>
        <input
          type="number"
          min={0}
          step="any"
          value={delaySeconds}
          onChange={(e) => setDelaySeconds(e.target.value)}
        />
      </label>
      <label className="field">
        <span>Max attempts</span>
        <input
          type="number"
          min={1}
          max={1000}
          value={maxAttempts}
          onChange={(e) => setMaxAttempts(e.target.value)}
          placeholder="3"
        />
      </label>
      <label className="field">
        <span>Group</span>
        <input value={group} onChange={(e) => setGroup(e.target.value)} />
      </label>
      <label className="field">
        <span>Tags (comma-separated)</span>
        <input value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <label className="field">
        <span>Idempotency key</span>
        <input value={idempotencyKey} onChange={(e) => setIdempotencyKey(e.target.value)} />
      </label>
      <div className="row end span-all">
        <button type="submit" className="button primary" disabled={!parsed.ok || !queue}>
          Create job
        </button>
      </div>
    </form>
  )
}

function Bulk() {
  const client = useClient()
  const action = useAction()
  const queryClient = useQueryClient()
  const [queue, setQueue] = useState('')
  const [text, setText] = useState(
    '[\n  {"payload": {"n": 1}},\n  {"payload": {"n": 2}, "options": {"priority": "high"}}\n]',
  )
  const [created, setCreated] = useState<{ id: string; created: boolean }[] | null>(null)
  const parsed = parse(text)
  let problem: string | null = parsed.ok ? null : parsed.error
  let items: { payload: unknown; options?: EnqueueOptions }[] = []
  if (parsed.ok) {
    if (!Array.isArray(parsed.value)) problem = 'paste a JSON array'
    else if (parsed.value.length === 0 || parsed.value.length > 1000) problem = 'from 1 to 1000 items'
    else
      items = parsed.value.map((item) =>
        item && typeof item === 'object' && !Array.isArray(item) && 'payload' in item
          ? (item as { payload: unknown; options?: EnqueueOptions })
          : { payload: item },
      )
  }
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (problem) return
    const result = await action(
      () => client.jobs.createMany(queue, items),
      (r) => `Created ${r.filter((j) => j.created).length} of ${r.length} jobs`,
    )
    if (result) {
      setCreated(result)
      await queryClient.invalidateQueries({ queryKey: ['jobs'] })
    }
  }
  return (
    <form className="card form-grid" onSubmit={submit}>
      <QueueInput value={queue} onChange={setQueue} />
      <label className="field span-all">
        <span>Jobs: an array of payloads, or of {'{ payload, options }'}</span>
        <textarea
          rows={12}
          className={`code ${problem ? 'invalid' : ''}`}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-invalid={problem !== null}
          spellCheck={false}
        />
        <span className={problem ? 'error-text small' : 'ok-text small'} aria-live="polite">
          {problem ? `✗ ${problem}` : `✓ ${items.length} jobs`}
        </span>
      </label>
      <div className="row end span-all">
        <button type="submit" className="button primary" disabled={problem !== null || !queue}>
          Create {items.length || ''} jobs (all or none)
        </button>
      </div>
      {created && (
        <p className="span-all">
          Created:{' '}
          {created.slice(0, 50).map((j) => (
            <Link key={j.id} to={`/jobs/${j.id}`} className="chip">
              #{j.id}
            </Link>
          ))}
          {created.length > 50 && ` and ${created.length - 50} more`}
        </p>
      )}
    </form>
  )
}
