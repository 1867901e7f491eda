/**
 * Settings for the `spool` command, from (highest first) flags, `SPOOL_*` environment variables
 * and defaults; checked at start so a typo fails fast instead of half-starting.
 */
import { SpoolError } from '../engine/errors.js'

export interface CliConfig {
  /** Store address (`--store`, `SPOOL_STORE`; default `sqlite:./data/spool.db`). */
  store: string
  /** Run the demo queue and worker (`--demo`/`--no-demo`, `SPOOL_DEMO`; default on for `start`). */
  demo: boolean
  /** Seconds running jobs get to finish on shutdown (`--grace`, `SPOOL_GRACE_SECONDS`; default 10). */
  graceSeconds: number
}

export function readConfig(flags: Record<string, string | boolean | undefined>, env = process.env): CliConfig {
  const store = str(flags.store) ?? env.SPOOL_STORE ?? 'sqlite:./data/spool.db'
  const demo =
    flags['no-demo'] === true ? false : flags.demo === true ? true : (bool(env.SPOOL_DEMO, 'SPOOL_DEMO') ?? true)
  const graceRaw = str(flags.grace) ?? env.SPOOL_GRACE_SECONDS ?? '10'
  const graceSeconds = Number(graceRaw)
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) {
    throw new SpoolError('SPOOL_INVALID_OPTION', `grace must be a number of seconds, not "${graceRaw}"`, {
      field: 'grace',
    })
  }
  return { store, demo, graceSeconds }
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function bool(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined || value === '') return undefined
  if (/^(1|true|yes|on)$/i.test(value)) return true
  if (/^(0|false|no|off)$/i.test(value)) return false
  throw new SpoolError('SPOOL_INVALID_OPTION', `${field} must be true or false, not "${value}"`, { field })
}
