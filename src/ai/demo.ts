/**
 * The gateway's part of the quick-start demo: a LOCAL FAKE provider (src/ai/fake-upstream.ts —
 * made-up answers, no model, no API key, nothing leaves the machine) that misbehaves like a
 * hosted one (a request-per-minute limit, some 429s with Retry-After, some 503 overloads, slow
 * answers), and a trickle of chat requests from tenant `default` through the gateway, so the
 * dashboard shows the `ai.demo` queue waiting, pausing on 429s and flowing without any setup.
 * Clients can call it too: `model: "demo-chat"` at /v1/chat/completions.
 */
import type { ProviderConfig } from './config.js'
import { startFakeUpstream } from './fake-upstream.js'
import type { Gateway } from './gateway.js'

export const DEMO_PROVIDER = 'demo'
export const DEMO_MODEL = 'demo-chat'

/**
 * Starts the fake provider; returns its provider settings and a stop.
 *
 * @example
 * const fake = await startDemoProvider()
 * config.providers = { [DEMO_PROVIDER]: fake.provider }
 */
export async function startDemoProvider(): Promise<{ provider: ProviderConfig; close(): Promise<void> }> {
  const fake = await startFakeUpstream({
    rpm: 150,
    rateLimitRate: 0.08,
    retryAfterSeconds: [1, 3],
    overloadRate: 0.03,
    latencyMs: 400,
    tokenGapMs: 40,
    reply: (body) => `(fake provider) you said: ${lastText(body).slice(0, 80)}`,
  })
  return {
    provider: {
      kind: 'openai',
      baseUrl: fake.url,
      models: [DEMO_MODEL],
      rpm: 120,
      timeoutMs: 30_000,
      maxAttempts: 5,
      defaultMaxTokens: 256,
    },
    close: () => fake.close(),
  }
}

/**
 * Submits requests in waves: 4 a second for 10 s, then one every 2 s for 20 s (about 100 a
 * minute on average against a limit of 120), so each wave queues up, waits out the limit and
 * 429 pauses, and drains before the next. Some are urgent, some low. Returns the stop.
 */
export function startDemoTraffic(gateway: Gateway, onError: (error: unknown) => void): () => void {
  let n = 0
  let tick = 0
  const timer = setInterval(() => {
    tick += 1
    const burst = tick % 60 < 20
    const count = burst ? 2 : tick % 4 === 0 ? 1 : 0
    for (let i = 0; i < count; i++) {
      n += 1
      const priority = n % 9 === 0 ? 'urgent' : n % 4 === 0 ? 'low' : 'normal'
      gateway
        .submit({
          endpoint: 'chat',
          provider: DEMO_PROVIDER,
          tenant: 'default',
          user: 'demo',
          priority,
          body: { model: DEMO_MODEL, max_tokens: 64, messages: [{ role: 'user', content: `demo request ${n}` }] },
        })
        .catch(onError)
    }
  }, 500)
  return () => clearInterval(timer)
}

function lastText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages : []
  const content = (messages.at(-1) as { content?: unknown } | undefined)?.content
  return typeof content === 'string' ? content : ''
}
