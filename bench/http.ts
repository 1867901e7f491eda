/**
 * HTTP benchmark: enqueues and job-status reads against `spool start` on SQLite, under load from
 * a second process on loopback (this one, with autocannon).
 *
 *   node --import tsx bench/http.ts [--seconds 10] [--connections 32] [--store sqlite|postgres]
 *
 * The server is the real command (`spool start --no-demo`, encryption at rest on, audit log on,
 * API-key auth) in a child process on 127.0.0.1 with a fresh SQLite file; this process only
 * drives the load. Scenarios, each after a 2 s warm-up:
 *
 * - `enqueue`: POST /v1/queues/bench/jobs with a small JSON payload (~100 bytes).
 * - `status`: GET /v1/jobs/:id/status over 2,000 existing jobs (no payload; not audited).
 * - `get`: GET /v1/jobs/:id over the same jobs (payload decrypted; audited as a sensitive read).
 * - `baseline`: a bare Fastify server answering a constant JSON, in its own child process, under
 *   the same load at the same time: the ceiling this machine allows an HTTP server right now
 *   (the machine is shared; compare the rows against it).
 *
 * Prints requests/s (mean), latency p50/p99 (ms), errors, and the machine; `--json` for one JSON
 * line. docs/performance.md has the figures.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    store: { type: 'string', default: 'sqlite' },
    json: { type: 'boolean' },
  },
})
const seconds = Number(values.seconds)
const connections = Number(values.connections)
const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname

interface Row {
  scenario: string
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  errors: number
  non2xx: number
  total: number
  /** CPU time the server process spent per request (user + system), in µs: steady under load from elsewhere. */
  serverCpuUsPerRequest: number
}

/** utime + stime of a process, in µs (from /proc; Linux). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks / 100) * 1e6
}

async function startServer(dir: string) {
  const store =
    values.store === 'postgres'
      ? `${process.env.SPOOL_BENCH_PG_URL ?? 'postgres://spool:spool@127.0.0.1:5433/spool_bench'}?schema=http_${Date.now()}`
      : `sqlite:${join(dir, 'spool.db')}`
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'start', '--no-demo', '--port', '0', '--store', store, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SPOOL_KEY_FILE: join(dir, 'spool.key') },
    },
  )
  let out = ''
  child.stdout.on('data', (chunk) => {
    out += chunk
  })
  child.stderr.on('data', () => {})
  const deadline = Date.now() + 60_000
  while (!/API on (http:\S+)/.test(out) || !/(spool_[a-z0-9]{10}_\S+)/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the server did not start:\n${out}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    child,
    url: /API on (http:\S+)/.exec(out)?.[1] as string,
    key: /(spool_[a-z0-9]{10}_\S+)/.exec(out)?.[1] as string,
  }
}

/** A bare Fastify server answering a constant JSON: the ceiling for comparison. */
async function startBaseline() {
  const script = `
    import Fastify from 'fastify'
    const app = Fastify()
    app.get('/x', async () => ({ id: '1', queue: 'q', state: 'waiting', progress: null, attempt: 0 }))
    console.log(await app.listen({ port: 0, host: '127.0.0.1' }))`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(String(chunk).trim()))
    child.once('exit', () => reject(new Error('the baseline server did not start')))
  })
  return { child, url }
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)))
  })
}

async function measure(name: string, base: autocannon.Options, pid: number): Promise<Row> {
  await run({ ...base, duration: 2 })
  const cpuBefore = cpuMicros(pid)
  const result = await run({ ...base, duration: seconds })
  const cpu = cpuMicros(pid) - cpuBefore
  return {
    scenario: name,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
    serverCpuUsPerRequest: Math.round(cpu / Math.max(1, result.requests.total)),
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'spool-bench-http-'))
  const server = await startServer(dir)
  try {
    const headers = { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' }
    const body = JSON.stringify({ payload: { visit: 'v-0001', file: 'recording.wav', minutes: 12, note: 'routine' } })
    const rows: Row[] = []
    const pid = server.child.pid as number
    rows.push(
      await measure(
        'enqueue',
        { url: `${server.url}/v1/queues/bench/jobs`, method: 'POST', headers, body, connections },
        pid,
      ),
    )

    const ids: string[] = []
    for (let batch = 0; batch < 2; batch++) {
      const response = await fetch(`${server.url}/v1/queues/reads/jobs/bulk`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jobs: Array.from({ length: 1000 }, (_, i) => ({ payload: { i } })) }),
      })
      ids.push(...((await response.json()) as { jobs: { id: string }[] }).jobs.map((job) => job.id))
    }
    let next = 0
    const paths = (suffix: string) => ({
      url: server.url,
      headers,
      connections,
      requests: [
        {
          method: 'GET' as const,
          setupRequest: (request: autocannon.Request) => ({
            ...request,
            path: `/v1/jobs/${ids[next++ % ids.length]}${suffix}`,
          }),
        },
      ],
    })
    rows.push(await measure('status', paths('/status'), pid))
    rows.push(await measure('get', paths(''), pid))

    const baseline = await startBaseline()
    try {
      rows.push(await measure('baseline', { url: `${baseline.url}/x`, connections }, baseline.child.pid as number))
    } finally {
      baseline.child.kill('SIGTERM')
    }

    const machine = {
      cpu: cpus()[0]?.model.trim(),
      cores: availableParallelism(),
      node: process.version,
      load: loadavg()[0]?.toFixed(2),
      store: values.store,
      connections,
      seconds,
    }
    if (values.json) console.log(JSON.stringify({ machine, rows }))
    else {
      console.log(
        `machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.load} at the end`,
      )
      console.log(`store: ${machine.store}; ${connections} connections; ${seconds} s per scenario after 2 s warm-up\n`)
      console.log('| scenario | requests/s | p50 ms | p99 ms | server CPU µs/request | errors | non-2xx |')
      console.log('|---|---:|---:|---:|---:|---:|---:|')
      for (const row of rows) {
        console.log(
          `| ${row.scenario} | ${row.requestsPerSecond.toLocaleString('en')} | ${row.p50Ms} | ${row.p99Ms} | ${row.serverCpuUsPerRequest} | ${row.errors} | ${row.non2xx} |`,
        )
      }
    }
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
