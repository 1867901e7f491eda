/**
 * Audio sessions (the `/v1/sessions` API; the tab shows only when the server has it):
 * upload with a real progress bar and the medical context, a live list, and a session page with
 * an audio player and waveform, the transcript coloured by speaker (click a word to seek; the
 * word being played is highlighted), notes with risk flags first, warnings, stage timings and
 * downloads. The transcript's reliability statement (its engine, that engine's expected error,
 * this recording's quality flags) heads the session page and the notes.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useEffect, useMemo, useRef, useState } from 'react'
import type { Reliability, Session, SessionMetadata, TranscriptSegment, TranscriptWord } from 'spool/client'
import { describeError, useClient, useMe, useSessionsAvailable } from '../api'
import { useLiveConnected } from '../live'
import { Link, navigate } from '../router'
import {
  duration,
  Empty,
  ErrorBox,
  Json,
  Loading,
  Progress,
  StateBadge,
  Time,
  useAction,
  useConfirm,
} from '../ui/parts'

const SPEAKER_COLOURS = ['#2f6feb', '#bf3989', '#1a7f37', '#bc4c00', '#8250df', '#0a7ea4']

export function SessionsView() {
  const available = useSessionsAvailable()
  const client = useClient()
  const me = useMe()
  // Live through the tab's event stream (the audio queues' events mark the list stale); polled
  // only while that stream is down.
  const live = useLiveConnected()
  const sessions = useQuery({
    queryKey: ['sessions'],
    queryFn: () => client.sessions.list({ limit: 100 }),
    enabled: available,
    refetchInterval: (query) =>
      live
        ? false
        : query.state.data?.sessions.some((s) => s.status !== 'processed' && s.status !== 'failed')
          ? 1500
          : 10_000,
  })
  if (!available)
    return (
      <Empty title="This server has no audio sessions API">
        The Sessions views appear when the server serves /v1/sessions.
      </Empty>
    )
  return (
    <div className="stack">
      <h1>Sessions</h1>
      {me.can('produce') && <Upload />}
      <section>
        <h2>Recent sessions</h2>
        {sessions.isPending ? (
          <Loading />
        ) : sessions.isError ? (
          <ErrorBox error={sessions.error} retry={() => void sessions.refetch()} />
        ) : sessions.data.sessions.length === 0 ? (
          <Empty title="No sessions yet">Upload a recording to transcribe it.</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Session</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Patient</th>
                  <th scope="col">Urgency</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {sessions.data.sessions.map((s) => (
                  <tr key={s.id}>
                    <th scope="row">
                      <Link to={`/sessions/${s.id}`}>{s.filename || s.id}</Link>
                    </th>
                    <td>
                      <StateBadge state={s.status} />
                    </td>
                    <td>
                      <Progress percent={s.progress} {...(s.stage && { label: s.stage })} />
                    </td>
                    <td>{s.metadata?.patient?.name ?? s.metadata?.patient?.id ?? '—'}</td>
                    <td>{s.metadata?.urgency ?? '—'}</td>
                    <td>
                      <Time at={s.createdAt} />
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

function Upload() {
  const client = useClient()
  const queryClient = useQueryClient()
  const [file, setFile] = useState<File | null>(null)
  const [sent, setSent] = useState<{ loaded: number; total: number } | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [form, setForm] = useState({
    patientName: '',
    patientId: '',
    age: '',
    gender: '',
    visitType: 'consultation',
    urgency: 'routine',
    language: 'en',
    speakers: '',
  })
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value })
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (!file) return
    setError(null)
    const metadata: SessionMetadata = {
      patient: {
        ...(form.patientName && { name: form.patientName }),
        ...(form.patientId && { id: form.patientId }),
        ...(form.age && { age: Number(form.age) }),
        ...(form.gender && { gender: form.gender }),
      },
      visitType: form.visitType as NonNullable<SessionMetadata['visitType']>,
      urgency: form.urgency as NonNullable<SessionMetadata['urgency']>,
      language: form.language,
      ...(form.speakers && { speakers: Number(form.speakers) }),
    }
    try {
      setSent({ loaded: 0, total: file.size })
      const created = await client.sessions.upload(file, metadata, {
        onProgress: (loaded, total) => setSent({ loaded, total }),
      })
      await queryClient.invalidateQueries({ queryKey: ['sessions'] })
      navigate(`/sessions/${created.id}`)
    } catch (caught) {
      setError(caught)
      setSent(null)
    }
  }
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="upload-title">
      <h2 id="upload-title" className="span-all">
        Upload a recording
      </h2>
      <label className="field span-all">
        <span>Audio file (mp3, wav, m4a, ogg, flac, webm; up to 500 MB)</span>
        <input
          name="file"
          type="file"
          accept=".mp3,.wav,.m4a,.ogg,.flac,.webm,audio/*"
          required
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
      </label>
      <label className="field">
        <span>Patient name</span>
        <input name="patientName" value={form.patientName} onChange={set('patientName')} autoComplete="off" />
      </label>
      <label className="field">
        <span>Patient id</span>
        <input name="patientId" value={form.patientId} onChange={set('patientId')} autoComplete="off" />
      </label>
      <label className="field">
        <span>Age</span>
        <input name="age" type="number" min={0} max={130} value={form.age} onChange={set('age')} />
      </label>
      <label className="field">
        <span>Gender</span>
        <input name="gender" value={form.gender} onChange={set('gender')} />
      </label>
      <label className="field">
        <span>Visit type</span>
        <select name="visitType" value={form.visitType} onChange={set('visitType')}>
          {['consultation', 'follow-up', 'emergency', 'routine'].map((v) => (
            <option key={v}>{v}</option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Urgency</span>
        <select name="urgency" value={form.urgency} onChange={set('urgency')}>
          {['immediate', 'same-day', 'next-day', 'routine'].map((v) => (
            <option key={v}>{v}</option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Language</span>
        <input name="language" value={form.language} onChange={set('language')} />
      </label>
      <label className="field">
        <span>Speakers (if known)</span>
        <input name="speakers" type="number" min={1} max={20} value={form.speakers} onChange={set('speakers')} />
      </label>
      {sent && (
        <div className="span-all" data-testid="upload-progress">
          <Progress
            percent={sent.total ? (sent.loaded / sent.total) * 100 : 0}
            label={`uploading ${(sent.loaded / 1e6).toFixed(1)} of ${(sent.total / 1e6).toFixed(1)} MB`}
          />
        </div>
      )}
      {error ? (
        <p className="error-text span-all" role="alert">
          {describeError(error)}
        </p>
      ) : null}
      <div className="row end span-all">
        <button type="submit" className="button primary" disabled={!file || sent !== null}>
          Upload and transcribe
        </button>
      </div>
    </form>
  )
}

/** The session's own event stream; true while it is connected (the page polls only otherwise). */
function useSessionLive(id: string): boolean {
  const client = useClient()
  const queryClient = useQueryClient()
  const [connected, setConnected] = useState(false)
  useEffect(() => {
    const sub = client.sessions.subscribe(id, () => void queryClient.invalidateQueries({ queryKey: ['session', id] }), {
      onOpen: () => setConnected(true),
      onError: () => setConnected(false),
    })
    return () => {
      sub.close()
      setConnected(false)
    }
  }, [client, id, queryClient])
  return connected
}

export function SessionDetailView({ id }: { id: string }) {
  const client = useClient()
  const me = useMe()
  const action = useAction()
  const confirm = useConfirm()
  const live = useSessionLive(id)
  const session = useQuery({
    queryKey: ['session', id],
    queryFn: () => client.sessions.get(id),
    refetchInterval: (query) =>
      live || (query.state.data && ['processed', 'failed'].includes(query.state.data.status)) ? false : 1000,
  })
  if (session.isPending) return <Loading what="Loading the session" />
  if (session.isError) return <ErrorBox error={session.error} retry={() => void session.refetch()} />
  const s = session.data
  const done = s.status === 'processed'
  const notesResult = s.results?.notes ?? null
  const notes = notesResult?.notes ?? null
  const risks = notes?.risk_flags ?? []
  const timings = s.timings ?? {}
  const title = s.filename || s.id
  const download = async (format: 'txt' | 'srt' | 'vtt' | 'json') => {
    const blob = await action(() => client.sessions.download(id, 'transcript', { format }))
    if (!blob) return
    const url = URL.createObjectURL(blob)
    const a = document.createElement('a')
    a.href = url
    a.download = `session-${id}.${format}`
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 1000)
  }
  return (
    <div className="stack">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/sessions">Sessions</Link> / <span>{title}</span>
      </nav>
      <div className="row between wrap">
        <h1>
          Session {title} <StateBadge state={s.status} />
        </h1>
        {me.can('produce') && (
          <div className="row">
            {s.status === 'failed' && (
              <button
                type="button"
                className="button primary small"
                onClick={() => void action(() => client.sessions.retry(id), 'Retrying').then(() => session.refetch())}
              >
                Retry
              </button>
            )}
            <button
              type="button"
              className="button small danger"
              onClick={async () => {
                if (
                  await confirm({
                    title: 'Delete this session?',
                    body: 'Its audio, transcript and patient data are purged.',
                    confirm: 'Delete',
                    danger: true,
                  })
                ) {
                  if ((await action(() => client.sessions.remove(id), 'Deleted')) !== undefined) navigate('/sessions')
                }
              }}
            >
              Delete
            </button>
          </div>
        )}
      </div>
      {s.results?.reliability && <ReliabilityNote reliability={s.results.reliability} />}
      <section aria-label="Progress" data-testid="session-progress">
        <Progress
          percent={s.progress}
          label={`${s.stage ?? s.status}${s.etaMs ? ` · about ${duration(s.etaMs)} left` : ''}`}
        />
      </section>
      {s.error && (
        <div className="error-box" role="alert">
          <strong>Failed:</strong> {s.error}
        </div>
      )}
      {risks.length > 0 && (
        <section className="risk" role="alert" aria-label="Risk flags">
          <h2>⚠ Risk flags</h2>
          <ul>
            {risks.map((risk, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
              <li key={i}>
                <strong>{risk.type.replace(/_/g, ' ')}</strong>{' '}
                <span className="badge state-failed">{risk.severity}</span> “{risk.evidence}”
                {risk.start !== null && ` at ${risk.start.toFixed(1)} s`}
                {risk.speaker && ` (${risk.speaker})`}{' '}
                <span className="muted small">{risk.source === 'lexicon' ? 'safety lexicon' : 'notes engine'}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {(s.warnings ?? []).length > 0 && (
        <section className="warnings" aria-label="Warnings">
          <ul>
            {(s.warnings ?? []).map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </section>
      )}
      <Player id={id} segments={s.results?.transcript?.segments ?? []} ready={done} />
      {done && (
        <section className="row wrap" aria-label="Downloads">
          <span>Download the transcript:</span>
          {(['txt', 'srt', 'vtt', 'json'] as const).map((format) => (
            <button key={format} type="button" className="button small" onClick={() => void download(format)}>
              {format}
            </button>
          ))}
        </section>
      )}
      {notes && (
        <Notes
          notes={notes as Record<string, unknown>}
          heuristic={notesResult?.heuristic === true}
          engine={notesResult?.engine}
          reliability={notesResult?.reliability}
        />
      )}
      <div className="two">
        {Object.keys(timings).length > 0 && (
          <section>
            <h2>Stage timings</h2>
            <dl className="facts">
              {Object.entries(timings).map(([stage, ms]) => (
                <div key={stage}>
                  <dt>{stage}</dt>
                  <dd>{duration(ms)}</dd>
                </div>
              ))}
            </dl>
          </section>
        )}
        {s.results?.quality && <Json label="Quality checks" value={s.results.quality} />}
      </div>
      {s.metadata && <Json label="Context" value={s.metadata} />}
    </div>
  )
}

/** The reliability statement, on top of the page: how far to trust what follows. */
function ReliabilityNote({ reliability }: { reliability: Reliability }) {
  const title =
    reliability.level === 'low'
      ? 'Low reliability'
      : reliability.level === 'moderate'
        ? 'Moderate reliability'
        : 'Reliability not measured'
  return (
    <section
      className={`reliability reliability-${reliability.level}`}
      role="note"
      aria-label="Reliability"
      data-testid="reliability"
      data-level={reliability.level}
    >
      <strong>{title}.</strong> {sentence(reliability.statement.replace(/^[^:]+: /, ''))}
      {reliability.flags.length > 0 && (
        <ul aria-label="Quality flags">
          {reliability.flags.map((flag) => (
            <li key={flag}>{flag}</li>
          ))}
        </ul>
      )}
    </section>
  )
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** A notes value with nothing in it: no heading is shown for it. */
function isEmptyNote(value: unknown): boolean {
  if (value === null || value === undefined) return true
  if (typeof value === 'string') return value.trim() === ''
  if (Array.isArray(value)) return value.length === 0
  const mood = value as { overall?: unknown; descriptors?: unknown; evidence?: unknown }
  if (typeof mood === 'object' && typeof mood.overall === 'string') {
    return mood.overall === 'unknown' && (!Array.isArray(mood.descriptors) || mood.descriptors.length === 0)
  }
  return false
}

function Notes({
  notes,
  heuristic,
  engine,
  reliability,
}: {
  notes: Record<string, unknown>
  heuristic: boolean
  engine: string | undefined
  reliability: string | undefined
}) {
  const order = ['patient_summary', 'therapist_notes', 'key_topics', 'patient_mood', 'strategies', 'action_items']
  const keys = [
    ...order.filter((k) => k in notes),
    ...Object.keys(notes).filter((k) => !order.includes(k) && k !== 'risk_flags'),
  ].filter((key) => !isEmptyNote(notes[key]))
  return (
    <section className="card" aria-label="Notes">
      <h2>Notes</h2>
      {reliability && (
        <p className="small" data-testid="notes-reliability">
          {reliability}
        </p>
      )}
      {heuristic && (
        <p className="muted small">
          Drafted by the {engine ?? 'extractive'} engine from rules, not a model: check before relying on it.
        </p>
      )}
      {keys.length === 0 && <p className="muted">No notes: nothing was found in the transcript.</p>}
      <dl className="notes">
        {keys.map((key) => {
          const value = notes[key]
          return (
            <div key={key}>
              <dt>{key.replace(/_/g, ' ')}</dt>
              <dd>
                {typeof value === 'string' ? (
                  value
                ) : Array.isArray(value) ? (
                  <ul>
                    {value.map((item, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list
                      <li key={i}>
                        {typeof item === 'string'
                          ? item
                          : Object.values(item as object)
                              .filter((v) => typeof v === 'string')
                              .join(' — ')}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <span>{describe(value)}</span>
                )}
              </dd>
            </div>
          )
        })}
      </dl>
    </section>
  )
}

/** Audio element, waveform (peaks from the decoded audio) and the transcript that follows playback. */
function Player({ id, segments, ready }: { id: string; segments: TranscriptSegment[]; ready: boolean }) {
  const client = useClient()
  const audio = useRef<HTMLAudioElement>(null)
  const canvas = useRef<HTMLCanvasElement>(null)
  const [src, setSrc] = useState<string | null>(null)
  const [peaks, setPeaks] = useState<number[] | null>(null)
  const [time, setTime] = useState(0)
  const [audioError, setAudioError] = useState<string | null>(null)
  const speakers = useMemo(() => [...new Set(segments.map((s) => s.speaker))], [segments])
  const colour = (speaker: string) =>
    speaker === 'Unknown' ? '#6e7781' : (SPEAKER_COLOURS[speakers.indexOf(speaker) % SPEAKER_COLOURS.length] as string)

  useEffect(() => {
    if (!ready) return
    let url: string | null = null
    let cancelled = false
    client.sessions
      .download(id, 'audio')
      .then(async (blob) => {
        if (cancelled) return
        url = URL.createObjectURL(blob)
        setSrc(url)
        try {
          const context = new AudioContext()
          const buffer = await context.decodeAudioData(await blob.arrayBuffer())
          const data = buffer.getChannelData(0)
          const bins = 600
          const step = Math.max(1, Math.floor(data.length / bins))
          const out: number[] = []
          for (let b = 0; b < bins; b++) {
            let max = 0
            for (let i = b * step; i < Math.min(data.length, (b + 1) * step); i++)
              max = Math.max(max, Math.abs(data[i] ?? 0))
            out.push(max)
          }
          void context.close()
          if (!cancelled) setPeaks(out)
        } catch {
          if (!cancelled) setPeaks(null)
        }
      })
      .catch((error: unknown) => setAudioError(describeError(error)))
    return () => {
      cancelled = true
      if (url) URL.revokeObjectURL(url)
    }
  }, [client, id, ready])

  const total = audio.current?.duration || segments.at(-1)?.end || 1
  useEffect(() => {
    const c = canvas.current
    if (!c || !peaks) return
    const ctx = c.getContext('2d')
    if (!ctx) return
    const width = c.clientWidth * devicePixelRatio
    const height = 64 * devicePixelRatio
    c.width = width
    c.height = height
    ctx.clearRect(0, 0, width, height)
    const played = time / total
    peaks.forEach((peak, i) => {
      const x = (i / peaks.length) * width
      const h = Math.max(1, peak * height)
      ctx.fillStyle = i / peaks.length < played ? '#2f6feb' : '#8c959f'
      ctx.fillRect(x, (height - h) / 2, Math.max(1, width / peaks.length - 1), h)
    })
  }, [peaks, time, total])

  const seek = (seconds: number) => {
    if (!audio.current) return
    audio.current.currentTime = seconds
    setTime(seconds)
    void audio.current.play().catch(() => {})
  }

  if (!ready) return <p className="muted">The transcript appears here when processing finishes.</p>
  return (
    <section className="player" aria-label="Recording and transcript">
      {audioError ? (
        <p className="muted">Audio unavailable: {audioError}</p>
      ) : (
        <>
          {/* biome-ignore lint/a11y/useMediaCaption: the transcript below is the caption */}
          <audio
            ref={audio}
            controls
            src={src ?? undefined}
            onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
            data-testid="audio"
          />
          {peaks && (
            <canvas
              ref={canvas}
              className="waveform"
              aria-label="Waveform: click to seek"
              role="slider"
              aria-valuemin={0}
              aria-valuemax={Math.round(total)}
              aria-valuenow={Math.round(time)}
              tabIndex={0}
              onKeyDown={(e) => {
                if (e.key === 'ArrowRight') seek(Math.min(total, time + 5))
                if (e.key === 'ArrowLeft') seek(Math.max(0, time - 5))
              }}
              onClick={(e) => {
                const rect = e.currentTarget.getBoundingClientRect()
                seek(((e.clientX - rect.left) / rect.width) * total)
              }}
            />
          )}
        </>
      )}
      <div className="legend">
        {speakers.map((speaker) => (
          <span key={speaker} className="chip" style={{ borderColor: colour(speaker), color: colour(speaker) }}>
            {speaker}
          </span>
        ))}
      </div>
      <div className="transcript" data-testid="transcript">
        {segments.length === 0 ? (
          <Empty title="No words were recognised" />
        ) : (
          segments.map((segment, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: segments are fixed once processed
            <p key={i} className="segment" style={{ borderLeftColor: colour(segment.speaker) }}>
              <span className="speaker" style={{ color: colour(segment.speaker) }}>
                {segment.speaker}
              </span>{' '}
              <span className="muted small">{segment.start.toFixed(1)} s</span>{' '}
              {wordsOf(segment).map((word, w) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: words are fixed once processed
                <span key={w}>
                  <button
                    type="button"
                    className={`word ${time >= word.start && time < word.end ? 'now' : ''}`}
                    data-start={word.start}
                    onClick={() => seek(word.start)}
                  >
                    {word.word}
                  </button>{' '}
                </span>
              ))}
            </p>
          ))
        )}
      </div>
    </section>
  )
}

/** A notes value that is neither text nor a list: the mood reads as "overall — descriptors". */
function describe(value: unknown): string {
  const mood = value as { overall?: unknown; descriptors?: unknown }
  if (mood && typeof mood === 'object' && typeof mood.overall === 'string') {
    return Array.isArray(mood.descriptors) && mood.descriptors.length
      ? `${mood.overall} — ${mood.descriptors.join(', ')}`
      : mood.overall
  }
  return JSON.stringify(value)
}

/** The words of a segment, or the segment as one clickable piece when its words have no times. */
function wordsOf(segment: TranscriptSegment): TranscriptWord[] {
  return segment.words.length ? segment.words : [{ word: segment.text, start: segment.start, end: segment.end }]
}

export type { Session }
