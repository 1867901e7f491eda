/**
 * A real Spool (temp SQLite file, or a fresh PostgreSQL schema) behind a real server on
 * 127.0.0.1, port 0. Everything a test opens is closed by `close()`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pg from 'pg'
import '../../src/index.js'
import { Spool } from '../../src/engine/spool.js'
import type { TracingOption } from '../../src/engine/tracing.js'
import type { Scope } from '../../src/security/api-keys.js'
import { AesGcmCodec } from '../../src/security/codec.js'
import { buildServer, createLogger, type SpoolServer } from '../../src/server/app.js'
import type { ServerConfigInput } from '../../src/server/config.js'
import { createApiKey } from '../../src/server/keys.js'

export const PG_URL = process.env.SPOOL_TEST_PG_URL ?? 'postgres://spool:spool@127.0.0.1:5433/spool_test'

export interface TestServerOptions {
  database?: 'sqlite' | 'postgres'
  /** Reuse a store address (to restart a server on the same data). */
  store?: string
  config?: ServerConfigInput
  codec?: AesGcmCodec | null
  spool?: { maintenance?: boolean; tracing?: TracingOption }
}

export interface TestServer {
  spool: Spool
  server: SpoolServer
  url: string
  store: string
  dir: string
  codec: AesGcmCodec | null
  /** Every log line the server wrote. */
  logs: string[]
  adminKey: string
  /** A key with these scopes in this tenant. */
  key(tenant: string, scopes: Scope[]): Promise<string>
  request(
    method: string,
    path: string,
    options?: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers of every shape
  ): Promise<{ status: number; body: any; headers: Headers; text: string }>
  /** Stop the server and close the Spool (the data stays, for a restart). */
  stop(): Promise<void>
  /** stop(), then remove the data. */
  close(): Promise<void>
}

export async function freshPgSchema(): Promise<{ address: string; drop(): Promise<void> }> {
  const schema = `srv_${randomBytes(6).toString('hex')}`
  return {
    address: `${PG_URL}?schema=${schema}`,
    async drop() {
      const client = new pg.Client({ connectionString: PG_URL })
      await client.connect()
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      } finally {
        await client.end()
      }
    },
  }
}

export const testCodec = () => new AesGcmCodec([{ id: 't1', key: randomBytes(32) }])

export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-server-'))
  let dropPg: (() => Promise<void>) | null = null
  let store = options.store
  if (!store) {
    if (options.database === 'postgres') {
      const pgSchema = await freshPgSchema()
      store = pgSchema.address
      dropPg = pgSchema.drop
    } else store = `sqlite:${join(dir, 'spool.db')}`
  }
  const codec = options.codec === undefined ? testCodec() : options.codec
  const logs: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  const logger = createLogger('info', sink)
  const spool = await Spool.open({
    store,
    logger: logger.child({ component: 'engine' }),
    eventPollMs: 100,
    ...(codec && { codec }),
    ...(options.spool?.maintenance === false && { maintenance: false }),
    ...(options.spool?.tracing !== undefined && { tracing: options.spool.tracing }),
  })
  const server = await buildServer({
    spool,
    logger,
    config: {
      port: 0,
      ...options.config,
      webhooks: { enabled: false, ...options.config?.webhooks },
      streams: { heartbeatMs: 1_000, ...options.config?.streams },
      auth: { keyCacheMs: 0, ...options.config?.auth },
    },
  })
  const url = await server.listen()
  const admin = await createApiKey(spool, { name: 'test admin', tenant: 'default', scopes: ['admin'] })
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await server.close({ graceMs: 500 })
    await spool.close({ graceMs: 500 })
  }
  return {
    spool,
    server,
    url,
    store,
    dir,
    codec,
    logs,
    adminKey: admin.token,
    async key(tenant, scopes) {
      return (await createApiKey(spool, { name: `${tenant} ${scopes.join('+')}`, tenant, scopes })).token
    },
    async request(method, path, requestOptions = {}) {
      const headers: Record<string, string> = { ...requestOptions.headers }
      const key = requestOptions.key === undefined ? admin.token : requestOptions.key
      if (key !== null) headers.authorization = `Bearer ${key}`
      let body: string | undefined = requestOptions.raw
      if (requestOptions.body !== undefined) body = JSON.stringify(requestOptions.body)
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json'
      }
      const response = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined && { body }) })
      const text = await response.text()
      let parsed: unknown = text
      try {
        parsed = text ? JSON.parse(text) : undefined
      } catch {}
      return { status: response.status, body: parsed, headers: response.headers, text }
    },
    stop,
    async close() {
      await stop()
      if (dropPg) await dropPg()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Polls until `check` passes (a value or true), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
