import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AesGcmCodec } from './codec.js'

const ivOf = (sealed: string) =>
  Buffer.from(sealed.split(':').at(-1) ?? '', 'base64url')
    .subarray(0, 12)
    .toString('hex')

describe('AesGcmCodec', () => {
  it('round-trips text under the active key and decrypts with any loaded key', () => {
    const k1 = { id: 'k1', key: randomBytes(32) }
    const k2 = { id: 'k2', key: randomBytes(32) }
    const old = new AesGcmCodec([k1])
    const rotated = new AesGcmCodec([k2, k1])
    const sealed = old.encode('{"patient":"Ada"}')
    expect(sealed).toMatch(/^spool:enc:1:k1:/)
    expect(sealed).not.toContain('Ada')
    expect(rotated.decode(sealed)).toBe('{"patient":"Ada"}')
    expect(rotated.encode('x')).toMatch(/^spool:enc:1:k2:/)
    expect(rotated.decode('plain text from before encryption')).toBe('plain text from before encryption')
  })

  it('never uses an IV twice, across refills of its random pool', () => {
    const codec = new AesGcmCodec([{ id: 'k1', key: randomBytes(32) }])
    const ivs = new Set<string>()
    for (let i = 0; i < 2_000; i++) ivs.add(ivOf(codec.encode('same text')))
    expect(ivs.size).toBe(2_000)
  })

  it('refuses a tampered envelope and one moved to another key id', () => {
    const key = randomBytes(32)
    const codec = new AesGcmCodec([
      { id: 'a', key },
      { id: 'b', key },
    ])
    const sealed = codec.encode('secret')
    const body = Buffer.from(sealed.split(':').at(-1) ?? '', 'base64url')
    body[20] = (body[20] ?? 0) ^ 1
    expect(() => codec.decode(`spool:enc:1:a:${body.toString('base64url')}`)).toThrow()
    expect(() => codec.decode(sealed.replace(':a:', ':b:'))).toThrow()
  })
})
