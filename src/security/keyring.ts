/**
 * Where the data keys come from: `SPOOL_ENCRYPTION_KEY`, or a key file that the first start
 * creates with mode 0600.
 *
 * `SPOOL_ENCRYPTION_KEY` is one key (32 bytes as base64 or hex, id `env`) or a comma-separated
 * list `id:key,id:key` whose first entry encrypts and all decrypt. The key file is JSON:
 * `{ "version": 1, "keys": [{ "id": "k2", "key": "<base64>", "createdAt": "…" }, …] }`, newest
 * first. `rotateKeyFile` puts a fresh key in front; data written earlier stays readable as long
 * as its key stays in the list.
 */
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs'
import { dirname } from 'node:path'
import { AesGcmCodec, type DataKey } from './codec.js'

export interface KeyringSource {
  /** The value of `SPOOL_ENCRYPTION_KEY`, when set: wins over the file. */
  envKey?: string | undefined
  /** Path of the key file. */
  keyFile: string
  /** Create the file (mode 0600) when it is missing (default true). */
  create?: boolean
}

export interface Keyring {
  codec: AesGcmCodec
  /** Where the keys came from, for `spool doctor` and the start banner (never the key itself). */
  source: 'env' | 'file' | 'created'
}

interface KeyFile {
  version: 1
  keys: { id: string; key: string; createdAt: string }[]
}

export class KeyringError extends Error {
  override readonly name = 'KeyringError'
  readonly code = 'SPOOL_INVALID_ENCRYPTION_KEY'
}

/** Reads one key's material: 32 bytes as base64 (standard or url) or 64 hex digits. */
export function decodeKeyMaterial(text: string, what: string): Buffer {
  const trimmed = text.trim()
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64')
  if (bytes.length !== 32) throw new KeyringError(`${what} must be 32 bytes as base64 or 64 hex digits`)
  return bytes
}

/**
 * @example
 * parseKeySpec('k2:' + newKey + ',k1:' + oldKey) // [{ id: 'k2', … }, { id: 'k1', … }]
 */
export function parseKeySpec(spec: string): DataKey[] {
  const parts = spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  if (parts.length === 0) throw new KeyringError('SPOOL_ENCRYPTION_KEY is empty')
  return parts.map((part, i) => {
    const colon = part.indexOf(':')
    if (colon < 0) {
      if (parts.length > 1) throw new KeyringError('with several keys, write each as id:key')
      return { id: 'env', key: decodeKeyMaterial(part, 'SPOOL_ENCRYPTION_KEY') }
    }
    return {
      id: part.slice(0, colon),
      key: decodeKeyMaterial(part.slice(colon + 1), `key ${i + 1} of SPOOL_ENCRYPTION_KEY`),
    }
  })
}

/**
 * @example
 * const { codec } = loadKeyring({ envKey: process.env.SPOOL_ENCRYPTION_KEY, keyFile: './data/spool.key' })
 * const spool = await Spool.open({ store, codec })
 */
export function loadKeyring(source: KeyringSource): Keyring {
  if (source.envKey !== undefined && source.envKey !== '') {
    return { codec: codecOf(parseKeySpec(source.envKey)), source: 'env' }
  }
  if (!existsSync(source.keyFile)) {
    if (source.create === false) throw new KeyringError(`no key file at ${source.keyFile}`)
    writeKeyFile(source.keyFile, { version: 1, keys: [freshKey(1)] }, true)
    return { codec: codecOf(readKeyFile(source.keyFile)), source: 'created' }
  }
  return { codec: codecOf(readKeyFile(source.keyFile)), source: 'file' }
}

/** Adds a fresh key in front of the file's keys; returns its id. */
export function rotateKeyFile(path: string): string {
  const keys = readKeyFile(path)
  const next = Math.max(0, ...keys.map((k) => Number(/^k(\d+)$/.exec(k.id)?.[1] ?? 0))) + 1
  const fresh = freshKey(next)
  const file: KeyFile = {
    version: 1,
    keys: [fresh, ...keys.map((k) => ({ id: k.id, key: k.key.toString('base64'), createdAt: k.createdAt ?? '' }))],
  }
  writeKeyFile(path, file, false)
  return fresh.id
}

/** The file's mode bits, to warn when it is readable by others. */
export function keyFileMode(path: string): number {
  return statSync(path).mode & 0o777
}

function readKeyFile(path: string): (DataKey & { createdAt?: string })[] {
  let parsed: KeyFile
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as KeyFile
  } catch (error) {
    throw new KeyringError(`key file ${path} is not readable JSON: ${(error as Error).message}`)
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.keys) || parsed.keys.length === 0) {
    throw new KeyringError(`key file ${path} has no keys (expected { "version": 1, "keys": [...] })`)
  }
  return parsed.keys.map((k, i) => ({
    id: String(k.id),
    key: decodeKeyMaterial(String(k.key), `key ${i + 1} in ${path}`),
    createdAt: k.createdAt,
  }))
}

function freshKey(n: number) {
  return { id: `k${n}`, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }
}

/** Writes with mode 0600 from the first byte (a new file), or through a 0600 temp file and rename. */
function writeKeyFile(path: string, file: KeyFile, exclusive: boolean): void {
  mkdirSync(dirname(path), { recursive: true })
  const target = exclusive ? path : `${path}.tmp-${process.pid}`
  const fd = openSync(target, exclusive ? 'wx' : 'w', 0o600)
  try {
    writeSync(fd, `${JSON.stringify(file, null, 2)}\n`)
  } finally {
    closeSync(fd)
  }
  chmodSync(target, 0o600)
  if (!exclusive) renameSync(target, path)
}

function codecOf(keys: DataKey[]): AesGcmCodec {
  try {
    return new AesGcmCodec(keys)
  } catch (error) {
    throw new KeyringError((error as Error).message)
  }
}
