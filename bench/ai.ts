/**
 * The AI gateway under load, against the local fake OpenAI upstream (src/ai/fake-upstream.ts), a
 * Spool server on SQLite and `openai` SDK clients, all in this process on loopback:
 *
 * - storm: the upstream allows 600 RPM / 200k TPM (failed requests count too) and answers 30 % of
 *   requests 429 with Retry-After 1–5 s; N requests from C SDK clients with `maxRetries: 0`.
 *   Reports errors that reached clients, the most upstream calls in any 60 s window, upstream
 *   429s from its own limits (as against the random storm's), and successful calls per minute
 *   against the 600 allowed.
 * - overhead: one request at a time, the same chat request sent to the fake directly and through
 *   Spool (sync, no queueing), interleaved; p50/p99 of each and the difference.
 *
 *   npm run bench:ai [-- --scenario storm,overhead] [--requests 3000] [--clients 100] [--overhead-requests 500]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import OpenAI from 'openai'
import { type FakeUpstream, startFakeUpstream } from '../src/ai/fake-upstream.js'
import { gatewayFor } from '../src/ai/gateway.js'
import { Spool } from '../src/index.js'
import { buildServer, createLogger } from '../src/server/app.js'
import { createApiKey } from '../src/server/keys.js'
import { loadAverage } from './machine.js'
import { percentile } from './stats.js'

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'storm,overhead' },
    requests: { type: 'string', default: '3000' },
    clients: { type: 'string', default: '100' },
    'overhead-requests': { type: 'string', default: '500' },
  },
})

async function withServer<T>(
  providers: Record<string, unknown>,
  run: (url: string, key: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-bench-ai-'))
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() })
  const logger = createLogger('warn', quiet)
  const spool = await Spool.open({ store: `sqlite:${join(dir, 'spool.db')}`, logger, maintenance: false })
  const server = await buildServer({
    spool,
    logger,
    config: { port: 0, providers: providers as never, gateway: { maxWaitSeconds: 3_600 } },
  })
  const gateway = gatewayFor(spool, { providers: server.config.providers, gateway: server.config.gateway })
  try {
    const url = await server.listen()
    await gateway.start()
    const { token } = await createApiKey(spool, { name: 'bench', tenant: 'bench', scopes: ['producer'] })
    return await run(url, token)
  } finally {
    await gateway.close({ graceMs: 500 })
    await server.close({ graceMs: 500 })
    await spool.close({ graceMs: 500 })
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The most calls in any window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let best = 0
  let from = 0
  for (let to = 0; to < sorted.length; to++) {
    while ((sorted[to] as number) - (sorted[from] as number) >= windowMs) from++
    best = Math.max(best, to - from + 1)
  }
  return best
}

async function storm(requests: number, clients: number): Promise<void> {
  const fake: FakeUpstream = await startFakeUpstream({
    rpm: 600,
    tpm: 200_000,
    rateLimitRate: 0.3,
    retryAfterSeconds: [1, 5],
  })
  try {
    await withServer(
      {
        upstream: {
          kind: 'openai',
          baseUrl: fake.url,
          models: ['gpt-storm'],
          rpm: 600,
          tpm: 200_000,
          maxAttempts: 20,
        },
      },
      async (url, key) => {
        const started = Date.now()
        let next = 0
        let errors = 0
        const errorKinds = new Map<string, number>()
        const worker = async () => {
          const client = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, timeout: 3_600_000 })
          for (;;) {
            const i = next++
            if (i >= requests) return
            try {
              await client.chat.completions.create({
                model: 'gpt-storm',
                max_tokens: 64,
                messages: [{ role: 'user', content: `storm request ${i}` }],
              })
            } catch (error) {
              errors++
              const kind = String((error as { status?: number }).status ?? (error as Error).name)
              errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1)
            }
          }
        }
        await Promise.all(Array.from({ length: clients }, worker))
        const elapsedMin = (Date.now() - started) / 60_000
        const calls = fake.calls.filter((call) => call.path.endsWith('/chat/completions'))
        const succeeded = calls.filter((call) => call.status === 200).length
        const storm429 = calls.filter((call) => call.status === 429).length
        const maxWindow = maxInWindow(
          calls.map((call) => call.at),
          60_000,
        )
        const duplicates = [...new Set(calls.map((call) => call.key))].filter(
          (k) => calls.filter((call) => call.key === k && call.status === 200).length > 1,
        ).length
        console.log(
          JSON.stringify(
            {
              scenario: 'storm',
              requests,
              clients,
              elapsedMinutes: Number(elapsedMin.toFixed(2)),
              errorsReachingClients: errors,
              errorKinds: Object.fromEntries(errorKinds),
              upstreamCalls: calls.length,
              upstream429s: storm429,
              maxUpstreamCallsIn60s: maxWindow,
              allowedPerMinute: 600,
              successfulCallsPerMinute: Number((succeeded / elapsedMin).toFixed(1)),
              upstreamCallsPerMinute: Number((calls.length / elapsedMin).toFixed(1)),
              requestsAnsweredTwice: duplicates,
              loadAverage: loadAverage(),
            },
            null,
            2,
          ),
        )
      },
    )
  } finally {
    await fake.close()
  }
}

async function overhead(n: number): Promise<void> {
  const fake = await startFakeUpstream()
  try {
    await withServer({ direct: { kind: 'openai', baseUrl: fake.url, models: ['gpt-overhead'] } }, async (url, key) => {
      const viaSpool = new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 })
      const direct = new OpenAI({ apiKey: 'unused', baseURL: fake.url, maxRetries: 0 })
      const body = (i: number) => ({
        model: 'gpt-overhead',
        max_tokens: 16,
        messages: [{ role: 'user' as const, content: `overhead ${i}` }],
      })
      const timed = async (client: OpenAI, i: number) => {
        const start = performance.now()
        await client.chat.completions.create(body(i))
        return performance.now() - start
      }
      // Warm both paths (JIT, connections, the SQLite file).
      for (let i = 0; i < 30; i++) {
        await timed(direct, -i)
        await timed(viaSpool, -i - 1_000)
      }
      const directMs: number[] = []
      const spoolMs: number[] = []
      for (let i = 0; i < n; i++) {
        directMs.push(await timed(direct, i))
        spoolMs.push(await timed(viaSpool, n + i))
      }
      const figures = (values: number[]) => ({
        p50: Number(percentile(values, 50).toFixed(2)),
        p99: Number(percentile(values, 99).toFixed(2)),
      })
      const d = figures(directMs)
      const s = figures(spoolMs)
      console.log(
        JSON.stringify(
          {
            scenario: 'overhead',
            store: 'sqlite',
            requests: n,
            directMs: d,
            throughSpoolMs: s,
            addedMs: { p50: Number((s.p50 - d.p50).toFixed(2)), p99: Number((s.p99 - d.p99).toFixed(2)) },
            loadAverage: loadAverage(),
          },
          null,
          2,
        ),
      )
    })
  } finally {
    await fake.close()
  }
}

const scenarios = new Set((args.scenario ?? '').split(','))
if (scenarios.has('overhead')) await overhead(Number(args['overhead-requests']))
if (scenarios.has('storm')) await storm(Number(args.requests), Number(args.clients))
