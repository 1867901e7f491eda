/**
 * A page for test/web/react-gateway.test.ts: `useGatewayRequests` in one component, its state
 * written as JSON for the test to read, its `submit` exposed as `globalThis.submitRequest`.
 * Bundled with esbuild; its settings come from `globalThis.SPOOL_TEST`.
 */
import { createElement as h, useEffect } from 'react'
import { createRoot } from 'react-dom/client'
import { createClient } from '../../src/client/index.js'
import { SpoolProvider, useGatewayRequests } from '../../src/client/react.js'

interface Settings {
  baseUrl: string
  apiKey: string
}
interface ChatAnswer {
  choices: { message: { content: string } }[]
}

const root = globalThis as unknown as {
  SPOOL_TEST: Settings
  submitRequest?: (model: string, content: string, priority?: string) => Promise<string | null>
  document: { getElementById(id: string): unknown }
}

function Requests() {
  const { submit, requests, stats, rateLimit, isLoading, hasActive } = useGatewayRequests<ChatAnswer>({
    retryMs: 200,
    intervalMs: 300,
  })
  useEffect(() => {
    root.submitRequest = (model, content, priority) =>
      submit({ model, messages: [{ role: 'user', content }] }, priority === undefined ? {} : { priority })
  }, [submit])
  const shown = {
    isLoading,
    hasActive,
    rateLimit,
    stats: stats ? (Object.values(stats.counts)[0] ?? null) : null,
    requests: requests.map((r) => ({
      id: r.id,
      status: r.status,
      position: r.position,
      estimatedWaitMs: r.estimatedWaitMs,
      content: r.result?.choices[0]?.message.content ?? null,
      error: r.error,
    })),
  }
  return h('pre', { 'data-testid': 'requests' }, JSON.stringify(shown))
}

const client = createClient({ baseUrl: root.SPOOL_TEST.baseUrl, apiKey: root.SPOOL_TEST.apiKey })
createRoot(root.document.getElementById('root') as Parameters<typeof createRoot>[0]).render(
  h(SpoolProvider, { client }, h(Requests)),
)
