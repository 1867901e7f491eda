/** The shell: sign-in, then navigation, the live connection and the routed view. */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, lazy, type ReactNode, Suspense, useEffect, useMemo, useState } from 'react'
import {
  describeError,
  type Me,
  makeClient,
  SessionProvider,
  storedKey,
  storeKey,
  toMe,
  useSessionsAvailable,
} from './api'
import { LiveProvider, useLive } from './live'
import { Link, match, navigate, useLocation } from './router'
import { applyTheme, initialTheme, type Theme } from './theme'
import { ConfirmProvider, ErrorBox, Loading, ToastProvider } from './ui/parts'
import { OverviewView } from './views/Overview'

// The overview loads with the shell; every other view loads when first opened.
const AuditView = lazy(() => import('./views/Audit').then((m) => ({ default: m.AuditView })))
const BreakersView = lazy(() => import('./views/Breakers').then((m) => ({ default: m.BreakersView })))
const CreateJobView = lazy(() => import('./views/CreateJob').then((m) => ({ default: m.CreateJobView })))
const JobDetailView = lazy(() => import('./views/JobDetail').then((m) => ({ default: m.JobDetailView })))
const JobsView = lazy(() => import('./views/Jobs').then((m) => ({ default: m.JobsView })))
const KeysView = lazy(() => import('./views/Keys').then((m) => ({ default: m.KeysView })))
const QueueDetailView = lazy(() => import('./views/Queues').then((m) => ({ default: m.QueueDetailView })))
const QueuesView = lazy(() => import('./views/Queues').then((m) => ({ default: m.QueuesView })))
const SchedulesView = lazy(() => import('./views/Schedules').then((m) => ({ default: m.SchedulesView })))
const SessionDetailView = lazy(() => import('./views/Sessions').then((m) => ({ default: m.SessionDetailView })))
const SessionsView = lazy(() => import('./views/Sessions').then((m) => ({ default: m.SessionsView })))
const ProvidersView = lazy(() => import('./views/Providers').then((m) => ({ default: m.ProvidersView })))
const WorkersView = lazy(() => import('./views/Workers').then((m) => ({ default: m.WorkersView })))

export function App() {
  const [key, setKey] = useState<string | null>(() => storedKey())
  const [theme, setTheme] = useState<Theme>(() => initialTheme())
  useEffect(() => applyTheme(theme), [theme])
  const toggleTheme = () => {
    const next = theme === 'dark' ? 'light' : 'dark'
    applyTheme(next, true)
    setTheme(next)
  }
  const client = useMemo(() => (key ? makeClient(key) : null), [key])
  const queryClient = useQueryClient()
  const me = useQuery({
    queryKey: ['me', key],
    queryFn: () => (client as NonNullable<typeof client>).me(),
    enabled: client !== null,
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  })
  const signOut = () => {
    storeKey(null)
    queryClient.clear()
    setKey(null)
  }
  const signIn = (next: string, remember: boolean) => {
    storeKey(next, remember)
    queryClient.clear()
    setKey(next)
  }

  return (
    <ToastProvider>
      <ConfirmProvider>
        {!client || me.isError ? (
          <SignIn onSignIn={signIn} error={me.isError ? me.error : null} theme={theme} toggleTheme={toggleTheme} />
        ) : !me.data ? (
          <Loading what="Signing in" />
        ) : (
          <SessionProvider value={{ client, me: toMe(me.data), signOut }}>
            <LiveProvider client={client}>
              <Shell me={toMe(me.data)} theme={theme} toggleTheme={toggleTheme} signOut={signOut} />
            </LiveProvider>
          </SessionProvider>
        )}
      </ConfirmProvider>
    </ToastProvider>
  )
}

function ThemeToggle({ theme, toggle }: { theme: Theme; toggle(): void }) {
  return (
    <button
      type="button"
      className="button ghost small"
      onClick={toggle}
      aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
    >
      {theme === 'dark' ? '☀' : '☾'}
      <span className="hide-narrow">{theme === 'dark' ? 'Light' : 'Dark'}</span>
    </button>
  )
}

function SignIn(props: {
  onSignIn(key: string, remember: boolean): void
  error: unknown
  theme: Theme
  toggleTheme(): void
}) {
  const [value, setValue] = useState('')
  const [remember, setRemember] = useState(false)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    if (value.trim()) props.onSignIn(value.trim(), remember)
  }
  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="row between">
          <h1 id="signin-title" className="brand">
            <span className="logo" aria-hidden="true" /> Spool
          </h1>
          <ThemeToggle theme={props.theme} toggle={props.toggleTheme} />
        </div>
        <p className="muted">
          Sign in with an API key. A reader key sees everything in its tenant and changes nothing.
        </p>
        <label className="field">
          <span>API key</span>
          <input
            name="apiKey"
            type="password"
            autoComplete="off"
            placeholder="spool_…"
            value={value}
            onChange={(event) => setValue(event.target.value)}
            required
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={remember} onChange={(event) => setRemember(event.target.checked)} /> Remember
          on this device
        </label>
        {props.error ? (
          <p className="error-text" role="alert">
            {describeError(props.error)}
          </p>
        ) : null}
        <button type="submit" className="button primary wide">
          Sign in
        </button>
        <p className="muted small">
          The first <code>spool start</code> prints an admin key; make more with <code>spool keys create</code>.
        </p>
      </form>
    </main>
  )
}

interface NavItem {
  to: string
  label: string
  show?: boolean
}

function Shell({ me, theme, toggleTheme, signOut }: { me: Me; theme: Theme; toggleTheme(): void; signOut(): void }) {
  const { path } = useLocation()
  const [menuOpen, setMenuOpen] = useState(false)
  const sessions = useSessionsAvailable()
  const live = useLive()
  // biome-ignore lint/correctness/useExhaustiveDependencies: close the menu on every navigation
  useEffect(() => setMenuOpen(false), [path])
  const items: NavItem[] = [
    { to: '/', label: 'Overview' },
    { to: '/queues', label: 'Queues' },
    { to: '/jobs', label: 'Jobs' },
    { to: '/sessions', label: 'Sessions', show: sessions },
    { to: '/create', label: 'Create job', show: me.can('produce') },
    { to: '/schedules', label: 'Schedules' },
    { to: '/breakers', label: 'Breakers & limits' },
    { to: '/workers', label: 'Workers', show: me.can('operate') },
    { to: '/providers', label: 'Providers', show: me.can('operate') },
    { to: '/audit', label: 'Audit log', show: me.can('admin') },
    { to: '/keys', label: 'API keys', show: me.can('admin') },
  ]
  const role = me.scopes.join(', ')
  return (
    <div className="shell">
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="button ghost small menu-button"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          ☰ Menu
        </button>
        <Link to="/" className="brand">
          <span className="logo" aria-hidden="true" /> Spool
        </Link>
        <span
          className={`live-dot ${live.connected ? 'on' : 'off'}`}
          title={live.connected ? 'Live: connected' : 'Live: reconnecting'}
        >
          {live.connected ? 'live' : 'offline'}
        </span>
        <span className="spacer" />
        <span className="who" data-testid="who">
          tenant <strong>{me.tenant}</strong> · <span className="role">{role}</span>
        </span>
        <ThemeToggle theme={theme} toggle={toggleTheme} />
        <button type="button" className="button ghost small" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav id="nav" className={`sidebar ${menuOpen ? 'open' : ''}`} aria-label="Main">
        <ul>
          {items
            .filter((item) => item.show !== false)
            .map((item) => {
              const active = item.to === '/' ? path === '/' : path === item.to || path.startsWith(`${item.to}/`)
              return (
                <li key={item.to}>
                  <Link to={item.to} aria-current={active ? 'page' : undefined} className={active ? 'active' : ''}>
                    {item.label}
                  </Link>
                </li>
              )
            })}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Routes path={path} me={me} />
        </Suspense>
      </main>
    </div>
  )
}

function Routes({ path, me }: { path: string; me: Me }): ReactNode {
  const routes: [string, (params: Record<string, string>) => ReactNode][] = [
    ['/', () => <OverviewView />],
    ['/queues', () => <QueuesView />],
    ['/queues/:name', (p) => <QueueDetailView name={p.name as string} />],
    ['/jobs', () => <JobsView />],
    ['/jobs/:id', (p) => <JobDetailView id={p.id as string} />],
    ['/create', () => <CreateJobView />],
    ['/schedules', () => <SchedulesView />],
    ['/breakers', () => <BreakersView />],
    ['/workers', () => <WorkersView />],
    ['/providers', () => <ProvidersView />],
    ['/audit', () => <AuditView />],
    ['/keys', () => <KeysView />],
    ['/sessions', () => <SessionsView />],
    ['/sessions/:id', (p) => <SessionDetailView id={p.id as string} />],
  ]
  for (const [pattern, render] of routes) {
    const params = match(pattern, path)
    if (params) return render(params)
  }
  void me
  return (
    <div>
      <h1>Not found</h1>
      <ErrorBox error={new Error(`No page at ${path}.`)} retry={() => navigate('/')} />
    </div>
  )
}
