/** What the figures were measured on, printed with them and saved in the results file. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os'
import Database from 'better-sqlite3'

export interface MachineInfo {
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  spoolCommit: string
  /** Uncommitted changes under src/ when the bench ran (the figures then are of the work tree). */
  spoolSrcDirty: boolean
  sqlite: string
  betterSqlite3: string
  bullmq: string
  ioredis: string
  redis: string
  graphileWorker: string
  pgBoss: string
  pg: string
  postgres: string
  postgresSettings: Record<string, string>
  /** 1-minute load average when the bench started: other work on the machine skews the figures. */
  loadAtStart: number
}

export function machineInfo(
  redisVersion: string,
  postgres: { version: string; settings: Record<string, string> },
): MachineInfo {
  const db = new Database(':memory:')
  const sqlite = (db.prepare('select sqlite_version() as v').get() as { v: string }).v
  db.close()
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
    spoolCommit: git(['rev-parse', '--short', 'HEAD']),
    spoolSrcDirty: git(['status', '--porcelain', '--', 'src']) !== '',
    sqlite,
    betterSqlite3: packageVersion('better-sqlite3'),
    bullmq: packageVersion('bullmq'),
    ioredis: packageVersion('ioredis'),
    redis: redisVersion,
    graphileWorker: packageVersion('graphile-worker'),
    pgBoss: packageVersion('pg-boss'),
    pg: packageVersion('pg'),
    postgres: postgres.version,
    postgresSettings: postgres.settings,
    loadAtStart: loadAverage(),
  }
}

export function formatMachine(info: MachineInfo): string {
  return [
    `CPU:     ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB`,
    `OS:      ${info.os}; Node ${info.node}`,
    `Spool:   ${info.spoolCommit}${info.spoolSrcDirty ? ' + uncommitted changes in src/' : ''} (SQLite ${info.sqlite}, better-sqlite3 ${info.betterSqlite3})`,
    `BullMQ:  ${info.bullmq} (ioredis ${info.ioredis}) on Redis ${info.redis}, and on PostgreSQL`,
    `Peers:   Graphile Worker ${info.graphileWorker}, pg-boss ${info.pgBoss}; pg ${info.pg}`,
    `PostgreSQL: ${info.postgres} (${Object.entries(info.postgresSettings)
      .map(([name, value]) => `${name} ${value}`)
      .join(', ')})`,
    `Load:    ${info.loadAtStart} (1-minute average at start)${info.loadAtStart > info.cores / 2 ? ' — the machine is busy; expect noisy figures' : ''}`,
  ].join('\n')
}

export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'unknown'
  }
}

function packageVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url)
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
}
