/**
 * Settings for the `spool` command, from (highest first) flags, `SPOOL_*` environment
 * variables, a JSON file (`--config FILE` or `SPOOL_CONFIG`) and defaults; checked at start so a
 * typo fails fast instead of half-starting. The shape is the server's (src/server/config.ts).
 *
 * | setting | flag | variable |
 * |---|---|---|
 * | store | `--store` | `SPOOL_STORE` |
 * | host, port | `--host`, `--port` | `SPOOL_HOST`, `SPOOL_PORT` |
 * | dataDir | `--data-dir` | `SPOOL_DATA_DIR` |
 * | demo | `--demo`, `--no-demo` | `SPOOL_DEMO` |
 * | graceSeconds | `--grace` | `SPOOL_GRACE_SECONDS` |
 * | logLevel | `--log-level` | `SPOOL_LOG_LEVEL` |
 * | encryption.enabled | `--no-encryption` | `SPOOL_ENCRYPTION` |
 * | encryption.key | — | `SPOOL_ENCRYPTION_KEY` |
 * | encryption.keyFile | `--key-file` | `SPOOL_KEY_FILE` |
 * | auth.jwt.secret / jwksUrl / issuer / audience | — / `--jwks-url` | `SPOOL_JWT_SECRET`, `SPOOL_JWKS_URL`, `SPOOL_JWT_ISSUER`, `SPOOL_JWT_AUDIENCE` |
 * | auth.jwt.tenantClaim / userClaim / rolesClaim | — | `SPOOL_JWT_TENANT_CLAIM`, `SPOOL_JWT_USER_CLAIM`, `SPOOL_JWT_ROLES_CLAIM` |
 * | metrics.public | — | `SPOOL_METRICS_PUBLIC` |
 * | tracing.enabled | — | `SPOOL_TRACING` |
 * | limits.enqueuePerSecond, limits.maxQueueDepth | — | `SPOOL_ENQUEUE_RATE`, `SPOOL_MAX_QUEUE_DEPTH` |
 * | audio.enabled | — | `SPOOL_AUDIO` |
 * | audio.dir, maxUploadBytes, audioRetentionHours | — | `SPOOL_AUDIO_DIR`, `SPOOL_AUDIO_MAX_UPLOAD_BYTES`, `SPOOL_AUDIO_RETENTION_HOURS` |
 * | audio.transcriptionEngine / diarizationEngine / notesEngine | — | `SPOOL_AUDIO_TRANSCRIPTION_ENGINE`, `SPOOL_AUDIO_DIARIZATION_ENGINE`, `SPOOL_AUDIO_NOTES_ENGINE` |
 * | audio.transcriptionConcurrency | — | `SPOOL_AUDIO_TRANSCRIPTION_CONCURRENCY` |
 *
 * Secrets are taken from the environment or the file only, never from flags (which other users
 * of the machine can read in the process list).
 */
import { readFileSync } from 'node:fs'
import type { z } from 'zod'
import { SpoolError } from '../engine/errors.js'
import { type ServerConfig, serverConfigSchema } from '../server/config.js'

export type CliConfig = ServerConfig

type Flags = Record<string, string | boolean | undefined>
type Tree = Record<string, unknown>

export function readConfig(flags: Flags, env: NodeJS.ProcessEnv = process.env): CliConfig {
  const file = str(flags.config) ?? env.SPOOL_CONFIG
  const fromFile = file ? readFile(file) : {}
  const fromEnv: Tree = {}
  const fromFlags: Tree = {}
  const set = (tree: Tree, path: string, value: unknown) => {
    if (value === undefined) return
    const parts = path.split('.')
    let node = tree
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {}
      node = node[part] as Tree
    }
    node[parts.at(-1) as string] = value
  }
  // Environment.
  set(fromEnv, 'store', nonEmpty(env.SPOOL_STORE))
  set(fromEnv, 'host', nonEmpty(env.SPOOL_HOST))
  set(fromEnv, 'port', num(env.SPOOL_PORT, 'SPOOL_PORT'))
  set(fromEnv, 'dataDir', nonEmpty(env.SPOOL_DATA_DIR))
  set(fromEnv, 'demo', bool(env.SPOOL_DEMO, 'SPOOL_DEMO'))
  set(fromEnv, 'graceSeconds', num(env.SPOOL_GRACE_SECONDS, 'SPOOL_GRACE_SECONDS', 'grace'))
  set(fromEnv, 'logLevel', nonEmpty(env.SPOOL_LOG_LEVEL))
  set(fromEnv, 'encryption.enabled', bool(env.SPOOL_ENCRYPTION, 'SPOOL_ENCRYPTION'))
  set(fromEnv, 'encryption.key', nonEmpty(env.SPOOL_ENCRYPTION_KEY))
  set(fromEnv, 'encryption.keyFile', nonEmpty(env.SPOOL_KEY_FILE))
  set(fromEnv, 'auth.jwt.secret', nonEmpty(env.SPOOL_JWT_SECRET))
  set(fromEnv, 'auth.jwt.jwksUrl', nonEmpty(env.SPOOL_JWKS_URL))
  set(fromEnv, 'auth.jwt.issuer', nonEmpty(env.SPOOL_JWT_ISSUER))
  set(fromEnv, 'auth.jwt.audience', nonEmpty(env.SPOOL_JWT_AUDIENCE))
  set(fromEnv, 'auth.jwt.tenantClaim', nonEmpty(env.SPOOL_JWT_TENANT_CLAIM))
  set(fromEnv, 'auth.jwt.userClaim', nonEmpty(env.SPOOL_JWT_USER_CLAIM))
  set(fromEnv, 'auth.jwt.rolesClaim', nonEmpty(env.SPOOL_JWT_ROLES_CLAIM))
  set(fromEnv, 'metrics.public', bool(env.SPOOL_METRICS_PUBLIC, 'SPOOL_METRICS_PUBLIC'))
  set(fromEnv, 'tracing.enabled', bool(env.SPOOL_TRACING, 'SPOOL_TRACING'))
  set(fromEnv, 'limits.enqueuePerSecond', num(env.SPOOL_ENQUEUE_RATE, 'SPOOL_ENQUEUE_RATE'))
  set(fromEnv, 'limits.maxQueueDepth', num(env.SPOOL_MAX_QUEUE_DEPTH, 'SPOOL_MAX_QUEUE_DEPTH'))
  set(fromEnv, 'audio.enabled', bool(env.SPOOL_AUDIO, 'SPOOL_AUDIO'))
  set(fromEnv, 'audio.dir', nonEmpty(env.SPOOL_AUDIO_DIR))
  set(fromEnv, 'audio.maxUploadBytes', num(env.SPOOL_AUDIO_MAX_UPLOAD_BYTES, 'SPOOL_AUDIO_MAX_UPLOAD_BYTES'))
  set(fromEnv, 'audio.audioRetentionHours', num(env.SPOOL_AUDIO_RETENTION_HOURS, 'SPOOL_AUDIO_RETENTION_HOURS'))
  set(fromEnv, 'audio.transcriptionEngine', nonEmpty(env.SPOOL_AUDIO_TRANSCRIPTION_ENGINE))
  set(fromEnv, 'audio.diarizationEngine', nonEmpty(env.SPOOL_AUDIO_DIARIZATION_ENGINE))
  set(fromEnv, 'audio.notesEngine', nonEmpty(env.SPOOL_AUDIO_NOTES_ENGINE))
  set(
    fromEnv,
    'audio.transcriptionConcurrency',
    num(env.SPOOL_AUDIO_TRANSCRIPTION_CONCURRENCY, 'SPOOL_AUDIO_TRANSCRIPTION_CONCURRENCY'),
  )
  // Flags.
  set(fromFlags, 'store', str(flags.store))
  set(fromFlags, 'host', str(flags.host))
  set(fromFlags, 'port', num(str(flags.port), '--port', 'port'))
  set(fromFlags, 'dataDir', str(flags['data-dir']))
  set(fromFlags, 'demo', flags['no-demo'] === true ? false : flags.demo === true ? true : undefined)
  set(fromFlags, 'graceSeconds', num(str(flags.grace), '--grace', 'grace'))
  set(fromFlags, 'logLevel', str(flags['log-level']))
  set(fromFlags, 'encryption.enabled', flags['no-encryption'] === true ? false : undefined)
  set(fromFlags, 'encryption.keyFile', str(flags['key-file']))
  set(fromFlags, 'auth.jwt.jwksUrl', str(flags['jwks-url']))

  const merged = merge(merge(fromFile, fromEnv), fromFlags)
  const parsed = serverConfigSchema.safeParse(merged)
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue
    const field = issue.path.map(String).join('.') || 'config'
    const extra = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : ''
    throw new SpoolError('SPOOL_INVALID_OPTION', `setting ${field}: ${issue.message}${extra}`, { field })
  }
  return parsed.data
}

function readFile(path: string): Tree {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new SpoolError('SPOOL_INVALID_OPTION', `cannot read config file ${path}: ${(error as Error).message}`, {
      field: 'config',
    })
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object')
    return parsed as Tree
  } catch (error) {
    throw new SpoolError(
      'SPOOL_INVALID_OPTION',
      `config file ${path} is not a JSON object: ${(error as Error).message}`,
      {
        field: 'config',
      },
    )
  }
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const current = out[key]
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? merge(current as Tree, value as Tree)
        : value
  }
  return out
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function num(value: string | undefined, name: string, field = name): number | undefined {
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!Number.isFinite(n)) {
    throw new SpoolError('SPOOL_INVALID_OPTION', `${name.replace(/^--/, '')} must be a number, not "${value}"`, {
      field,
    })
  }
  return n
}

function bool(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined || value === '') return undefined
  if (/^(1|true|yes|on)$/i.test(value)) return true
  if (/^(0|false|no|off)$/i.test(value)) return false
  throw new SpoolError('SPOOL_INVALID_OPTION', `${field} must be true or false, not "${value}"`, { field })
}
