/**
 * A small router over the History API: the path picks the view, the query string holds a
 * view's filters (so a filtered list survives a reload and can be shared as a link).
 */
import { type AnchorHTMLAttributes, type MouseEvent, useCallback, useSyncExternalStore } from 'react'

const listeners = new Set<() => void>()
const notify = () => {
  for (const listener of listeners) listener()
}
window.addEventListener('popstate', notify)

function subscribe(listener: () => void) {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

const snapshot = () => window.location.pathname + window.location.search

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return
  if (options.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  notify()
}

/** The current path and query, re-rendering on every change. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot)
  const url = new URL(href, window.location.origin)
  return { path: url.pathname.replace(/\/+$/, '') || '/', query: url.searchParams }
}

/** Query-string state: read a view's filters, and set them (dropping empty values). */
export function useQueryState(): [
  URLSearchParams,
  (changes: Record<string, string | undefined | null>, replace?: boolean) => void,
] {
  const { query, path } = useLocation()
  const set = useCallback(
    (changes: Record<string, string | undefined | null>, replace = false) => {
      const next = new URLSearchParams(window.location.search)
      for (const [key, value] of Object.entries(changes)) {
        if (value === undefined || value === null || value === '') next.delete(key)
        else next.set(key, value)
      }
      const text = next.toString()
      navigate(`${path}${text ? `?${text}` : ''}`, { replace })
    },
    [path],
  )
  return [query, set]
}

/** Matches `/jobs/:id` against a path; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const names: string[] = []
  const regex = new RegExp(
    `^${pattern.replace(/:([A-Za-z]+)/g, (_all, name: string) => {
      names.push(name)
      return '([^/]+)'
    })}$`,
  )
  const found = regex.exec(path)
  if (!found) return null
  return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1] ?? '')]))
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event)
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return
    event.preventDefault()
    navigate(to)
    window.scrollTo(0, 0)
  }
  return <a href={to} onClick={handle} {...rest} />
}
