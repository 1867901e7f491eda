/**
 * A page for test/web/react-hooks.test.ts: the `spool/react` hooks in small components, their
 * values written as JSON for the test to read. Bundled with esbuild; its settings come from
 * `globalThis.SPOOL_TEST`.
 */
import { createElement as h } from 'react'
import { createRoot } from 'react-dom/client'
import { createClient } from '../../src/client/index.js'
import { SpoolProvider, useEvents, useJob, useQueueStats } from '../../src/client/react.js'

interface Settings {
  baseUrl: string
  apiKey: string
  jobId: string
  queue: string
}

const settings = (globalThis as unknown as { SPOOL_TEST: Settings }).SPOOL_TEST
const live = { retryMs: 200 }
const codeOf = (error: unknown) => (error ? ((error as { code?: string }).code ?? String(error)) : null)

function JobView(props: { id: string; testId: string }) {
  const { job, error, loading, connected } = useJob<unknown, { ok: boolean }>(props.id, live)
  const shown = {
    loading,
    connected,
    error: codeOf(error),
    state: job?.state ?? null,
    percent: job?.progress?.percent ?? null,
    stage: job?.progress?.stage ?? null,
    result: job?.result ?? null,
  }
  return h('pre', { 'data-testid': props.testId }, JSON.stringify(shown))
}

function StatsView(props: { queue: string }) {
  const { stats, connected } = useQueueStats(props.queue, { ...live, throttleMs: 100, intervalMs: 60_000 })
  return h('pre', { 'data-testid': 'stats' }, JSON.stringify({ connected, counts: stats?.counts[props.queue] ?? null }))
}

function EventsView(props: { queue: string }) {
  const { events, connected } = useEvents({ queue: props.queue }, { ...live, lastEventId: 0, limit: 50 })
  return h(
    'pre',
    { 'data-testid': 'events' },
    JSON.stringify({ connected, events: events.map((event) => `${event.type}:${event.jobId}`) }),
  )
}

const client = createClient({ baseUrl: settings.baseUrl, apiKey: settings.apiKey })
// The repository's TypeScript settings leave out the DOM library; the page runs in Chromium.
const page = globalThis as unknown as { document: { getElementById(id: string): unknown } }
createRoot(page.document.getElementById('root') as Parameters<typeof createRoot>[0]).render(
  h(
    SpoolProvider,
    { client },
    h(JobView, { id: settings.jobId, testId: 'job' }),
    h(JobView, { id: '999999999', testId: 'missing' }),
    h(StatsView, { queue: settings.queue }),
    h(EventsView, { queue: settings.queue }),
  ),
)
