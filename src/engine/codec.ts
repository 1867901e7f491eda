/**
 * How payloads, results and records are written at rest. The engine hands the store only what
 * `encode` returns and reads back through `decode`, so a codec that encrypts (the server's
 * AES-256-GCM envelope) keeps plaintext out of the database without the store knowing.
 */
export interface Codec {
  encode(text: string): string
  decode(stored: string): string
}

/** Stores JSON text as it is. */
export const PLAIN: Codec = {
  encode: (text) => text,
  decode: (stored) => stored,
}
