/**
 * What must never reach a log line: credentials (keys, tokens, cookies, webhook secrets) and
 * job data (payloads, results, patient details). The server logs requests by method, route,
 * status and ids only; these helpers cover what could still slip through.
 */

/** pino `redact` paths for the server's logger. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'authorization',
  'token',
  'apiKey',
  'secret',
  'password',
  'payload',
  'result',
  'data',
  'body',
  '*.token',
  '*.apiKey',
  '*.secret',
  '*.password',
  '*.payload',
  '*.result',
  '*.body',
]

const SECRET_QUERY = /([?&](?:access_token|token|api_key|apikey|key)=)[^&#]*/gi

/**
 * Removes credentials from a URL's query string.
 *
 * @example
 * redactUrl('/v1/events/stream?access_token=abc&queue=q') // '/v1/events/stream?access_token=[redacted]&queue=q'
 */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]')
}

/** Hides the password in a database address. */
export function redactAddress(address: string): string {
  return address.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
}

/**
 * A copy of a settings object with every secret-looking field replaced by `[redacted]`.
 *
 * @example
 * redactSecrets({ store: 'postgres://u:pw@h/db', auth: { jwtSecret: 'x' } })
 * // { store: 'postgres://u:***@h/db', auth: { jwtSecret: '[redacted]' } }
 */
export function redactSecrets<T>(value: T): T {
  return walk(value, '') as T
}

const SECRET_KEY = /(secret|password|token|encryptionkey|apikey|adminkey|privatekey|^key)$/i

function walk(value: unknown, key: string): unknown {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key)) return value === '' ? value : '[redacted]'
    return redactAddress(value)
  }
  if (Array.isArray(value)) return value.map((item) => walk(item, key))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]))
  }
  return value
}
