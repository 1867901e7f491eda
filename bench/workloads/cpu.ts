/**
 * CPU time during a measurement, for telling apart a system whose client and server take turns
 * (wall time near the sum of their CPU) from one whose halves overlap (near the larger): this
 * process's own, from `process.cpuUsage`, and its store's server processes', from `/proc`
 * (Linux; the server on this machine). For PostgreSQL only the processes working for the bench's
 * database count (its backends and autovacuum workers, whose command lines name it): other
 * databases of the same cluster (a test run beside the bench) stay out of the figure. The
 * cluster's shared background processes (WAL writer, checkpointer, background writer) are left
 * out too; for Redis every `redis-server` counts (the harness runs its own).
 */

import { readdirSync, readFileSync } from 'node:fs'

/**
 * CPU time (user + system, ms) of every process whose name starts with `name` and, when `only` is
 * given, whose command line holds it as a word; null off Linux.
 */
function processesCpuMs(name: string, only?: string): number | null {
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return null
  }
  const msPerTick = 10 // USER_HZ is 100 on Linux
  let ticks = 0
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith(name)) continue
      if (only !== undefined) {
        const words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').split(/\s+/)
        if (!words.includes(only)) continue
      }
      // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
      const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks * msPerTick
}

/**
 * Starts reading; the function it returns gives the CPU ms used since, by this process and by
 * the processes named `server` (none for an embedded store), only those of database `only` when
 * given.
 */
export function cpuMeter(server: string | null, only?: string): () => { nodeCpuMs: number; serverCpuMs?: number } {
  const node = process.cpuUsage()
  const serverAtStart = server === null ? null : processesCpuMs(server, only)
  return () => {
    const used = process.cpuUsage(node)
    const serverNow = server === null ? null : processesCpuMs(server, only)
    return {
      nodeCpuMs: (used.user + used.system) / 1000,
      ...(serverAtStart !== null && serverNow !== null && { serverCpuMs: serverNow - serverAtStart }),
    }
  }
}
