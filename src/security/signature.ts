/**
 * HMAC-SHA256 signatures for webhook deliveries, in the style receivers already know:
 *
 *   Spool-Signature: t=1700000000,v1=<hex of HMAC-SHA256(secret, "<t>.<body>")>
 *
 * The timestamp is signed too, so a receiver can refuse old replays (`toleranceSeconds`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** A fresh webhook secret (`whsec_` + 32 random bytes). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`
}

/**
 * @example
 * const header = signPayload(secret, body) // 't=1700000000,v1=…'
 */
export function signPayload(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
  return `t=${timestamp},v1=${mac}`
}

/**
 * What a receiver runs: true when `header` signs `body` with `secret` within the tolerance.
 *
 * @example
 * if (!verifySignature(secret, rawBody, req.headers['spool-signature'])) return res.writeHead(401).end()
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  toleranceSeconds = 300,
  now = Math.floor(Date.now() / 1000),
): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '')
  if (!match) return false
  const timestamp = Number(match[1])
  if (Math.abs(now - timestamp) > toleranceSeconds) return false
  const expected = Buffer.from(signPayload(secret, body, timestamp).slice(-64), 'hex')
  return timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex'))
}
