/** Small shared pieces: state badges, empty/error/loading states, JSON, times, progress, dialogs, toasts. */

import {
  createContext,
  type KeyboardEvent,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
} from 'react'
import type { JobState } from 'spool/client'
import { describeError } from '../api'

export const STATES: JobState[] = ['waiting', 'scheduled', 'blocked', 'active', 'completed', 'failed', 'cancelled']

/** A coloured badge: `state` picks the colour (`state-<state>` in styles.css), `label` the words (default: the state). */
export function StateBadge({ state, label }: { state: string; label?: string }) {
  return <span className={`badge state-${state}`}>{label ?? state.replace('_', ' ')}</span>
}

/**
 * Tabs after the WAI-ARIA pattern: one tab stop (the selected tab); ←/→ move and select,
 * Home/End go to the first and last.
 */
export function Tabs<T extends string>({
  label,
  tabs,
  selected,
  onSelect,
}: {
  label: string
  tabs: { id: T; content: ReactNode }[]
  selected: T
  onSelect: (id: T) => void
}) {
  const buttons = useRef<(HTMLButtonElement | null)[]>([])
  const move = (event: KeyboardEvent<HTMLButtonElement>, index: number) => {
    const last = tabs.length - 1
    const to = {
      ArrowRight: index === last ? 0 : index + 1,
      ArrowLeft: index === 0 ? last : index - 1,
      Home: 0,
      End: last,
    }[event.key]
    const tab = to === undefined ? undefined : tabs[to]
    if (to === undefined || !tab) return
    event.preventDefault()
    onSelect(tab.id)
    buttons.current[to]?.focus()
  }
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((tab, i) => (
        <button
          key={tab.id}
          ref={(element) => {
            buttons.current[i] = element
          }}
          type="button"
          role="tab"
          aria-selected={selected === tab.id}
          tabIndex={selected === tab.id ? 0 : -1}
          className={selected === tab.id ? 'tab active' : 'tab'}
          onClick={() => onSelect(tab.id)}
          onKeyDown={(event) => move(event, i)}
        >
          {tab.content}
        </button>
      ))}
    </div>
  )
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty" role="status">
      <strong>{title}</strong>
      {children && <p>{children}</p>}
    </div>
  )
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="error-box" role="alert">
      <strong>Something went wrong.</strong> <span>{describeError(error)}</span>
      {retry && (
        <button type="button" className="button small" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  )
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </div>
  )
}

export function Progress({ percent, label }: { percent: number; label?: string }) {
  const value = Math.max(0, Math.min(100, percent))
  return (
    <div className="progress-wrap">
      <div
        className="progress"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(value)}
        aria-label={label ?? 'progress'}
      >
        <div className="progress-bar" style={{ width: `${value}%` }} />
      </div>
      <span className="progress-text">
        {Math.round(value)}%{label ? ` · ${label}` : ''}
      </span>
    </div>
  )
}

/** Pretty JSON with keys, strings and numbers coloured, and a copy button. */
export function Json({ value, label }: { value: unknown; label: string }) {
  const text = value === undefined ? 'undefined' : JSON.stringify(value, null, 2)
  const parts = text.split(
    /("(?:[^"\\]|\\.)*"(?=\s*:)|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\btrue\b|\bfalse\b|\bnull\b)/g,
  )
  return (
    <div className="json">
      <div className="json-head">
        <span>{label}</span>
        <button type="button" className="button small ghost" onClick={() => void navigator.clipboard?.writeText(text)}>
          Copy
        </button>
      </div>
      <pre>
        {parts.map((part, i) => {
          if (i % 2 === 0) return part
          const next = parts[i + 1] ?? ''
          const kind = part.startsWith('"') ? (/^\s*:/.test(next) ? 'k' : 's') : /^[-\d]/.test(part) ? 'n' : 'b'
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: the pieces never move
            <span key={i} className={`j-${kind}`}>
              {part}
            </span>
          )
        })}
      </pre>
    </div>
  )
}

export function ago(time: number | string | null | undefined): string {
  if (time === null || time === undefined) return '—'
  const ms = Date.now() - (typeof time === 'number' ? time : Date.parse(time))
  const future = ms < 0
  const s = Math.abs(ms) / 1000
  const text =
    s < 1
      ? 'now'
      : s < 60
        ? `${Math.floor(s)} s`
        : s < 3600
          ? `${Math.floor(s / 60)} min`
          : s < 86_400
            ? `${Math.floor(s / 3600)} h`
            : `${Math.floor(s / 86_400)} d`
  if (text === 'now') return text
  return future ? `in ${text}` : `${text} ago`
}

export function Time({ at }: { at: number | string | null | undefined }) {
  if (at === null || at === undefined) return <span className="muted">—</span>
  const date = new Date(at)
  return (
    <time dateTime={date.toISOString()} title={date.toLocaleString()}>
      {ago(at)}
    </time>
  )
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`
}

/** A setting's duration for people: `30 s`, `1.5 s`, `2 min`, `1 h 30 min` (no trailing `.0`). */
export function shortDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—'
  const trim = (value: number) => String(Number(value.toFixed(1)))
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${trim(ms / 1000)} s`
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000)
    const seconds = Math.round((ms % 60_000) / 1000)
    return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`
  }
  const hours = Math.floor(ms / 3_600_000)
  const minutes = Math.round((ms % 3_600_000) / 60_000)
  return minutes ? `${hours} h ${minutes} min` : `${hours} h`
}

// ── Confirmation dialog ──────────────────────────────────────────────────────────────────────

interface ConfirmRequest {
  title: string
  body: ReactNode
  confirm: string
  danger?: boolean
  resolve(ok: boolean): void
}

const ConfirmContext = createContext<(request: Omit<ConfirmRequest, 'resolve'>) => Promise<boolean>>(async () => false)

export function useConfirm() {
  return useContext(ConfirmContext)
}

export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [request, setRequest] = useState<ConfirmRequest | null>(null)
  const dialog = useRef<HTMLDialogElement>(null)
  const ask = useCallback(
    (next: Omit<ConfirmRequest, 'resolve'>) => new Promise<boolean>((resolve) => setRequest({ ...next, resolve })),
    [],
  )
  useEffect(() => {
    if (request && dialog.current && !dialog.current.open) dialog.current.showModal()
  }, [request])
  const close = (ok: boolean) => {
    request?.resolve(ok)
    dialog.current?.close()
    setRequest(null)
  }
  return (
    <ConfirmContext.Provider value={ask}>
      {children}
      <dialog ref={dialog} className="dialog" aria-labelledby="confirm-title" onCancel={() => close(false)}>
        {request && (
          <form
            method="dialog"
            onSubmit={(event) => {
              event.preventDefault()
              close(true)
            }}
          >
            <h2 id="confirm-title">{request.title}</h2>
            <div className="dialog-body">{request.body}</div>
            <div className="row end">
              <button type="button" className="button ghost" onClick={() => close(false)}>
                Cancel
              </button>
              {/* biome-ignore lint/a11y/noAutofocus: a dialog focuses its action */}
              <button type="submit" className={`button ${request.danger ? 'danger' : 'primary'}`} autoFocus>
                {request.confirm}
              </button>
            </div>
          </form>
        )}
      </dialog>
    </ConfirmContext.Provider>
  )
}

// ── Toasts ───────────────────────────────────────────────────────────────────────────────────

interface Toast {
  id: number
  text: string
  kind: 'ok' | 'error'
}

const ToastContext = createContext<(text: string, kind?: Toast['kind']) => void>(() => {})

export function useToast() {
  return useContext(ToastContext)
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([])
  const next = useRef(1)
  const push = useCallback((text: string, kind: Toast['kind'] = 'ok') => {
    const id = next.current++
    setToasts((list) => [...list.slice(-3), { id, text, kind }])
    setTimeout(() => setToasts((list) => list.filter((toast) => toast.id !== id)), kind === 'error' ? 8000 : 4000)
  }, [])
  return (
    <ToastContext.Provider value={push}>
      {children}
      <div className="toasts" aria-live="polite">
        {toasts.map((toast) => (
          <div key={toast.id} className={`toast ${toast.kind}`} role={toast.kind === 'error' ? 'alert' : 'status'}>
            {toast.text}
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  )
}

/** Runs an API action, toasting its outcome. */
export function useAction() {
  const toast = useToast()
  return useCallback(
    async <T,>(run: () => Promise<T>, done?: string | ((result: T) => string)): Promise<T | undefined> => {
      try {
        const result = await run()
        if (done) toast(typeof done === 'string' ? done : done(result))
        return result
      } catch (error) {
        toast(describeError(error), 'error')
        return undefined
      }
    },
    [toast],
  )
}
