/**
 * A throwaway redis-server for the benchmark: 127.0.0.1 on a free port, no persistence
 * (`--save '' --appendonly no`), its working dir in a temp folder that is removed on stop.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

export interface RedisServer {
  port: number
  version: string
  /** Empties every database (between measurements). */
  flush(): Promise<void>
  /** Stops the server and removes its folder; safe to call twice. */
  stop(): Promise<void>
  /** Synchronous last resort for process exit handlers. */
  kill(): void
}

const READY = /Ready to accept connections/
const VERSION = /Redis version=(\S+?),/

export async function startRedis(binary = 'redis-server'): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-bench-redis-'))
  const port = await freePort()
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let log = ''
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${log}`)), 10_000)
      const onData = (chunk: Buffer) => {
        log += chunk.toString()
        if (READY.test(log)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(new Error(`cannot run ${binary} (scripts/setup installs it): ${error.message}`))
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with code ${code}:\n${log}`))
      })
    })
  } catch (error) {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  child.stdout?.removeAllListeners('data').resume()
  child.stderr?.removeAllListeners('data').resume()
  const version = VERSION.exec(log)?.[1] ?? versionFromBinary(binary)
  return {
    port,
    version,
    async flush() {
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 })
      try {
        await client.connect()
        await client.flushall()
      } finally {
        client.disconnect()
      }
    },
    stop: () => stop(child, dir),
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function stop(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  rmSync(dir, { recursive: true, force: true })
}

/** A port the OS says is free now (the tiny race until redis binds it is accepted). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}

function versionFromBinary(binary: string): string {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8' })
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim()
}
