import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { redactSecrets } from '../security/redact.js'
import { readConfig } from './config.js'

describe('readConfig', () => {
  it('takes flags over SPOOL_* variables over the file over defaults', () => {
    expect(readConfig({}, {})).toMatchObject({
      store: 'sqlite:./data/spool.db',
      demo: true,
      graceSeconds: 10,
      port: 7700,
    })
    const env = { SPOOL_STORE: 'sqlite:/env.db', SPOOL_DEMO: 'false', SPOOL_GRACE_SECONDS: '3', SPOOL_PORT: '8000' }
    expect(readConfig({}, env)).toMatchObject({ store: 'sqlite:/env.db', demo: false, graceSeconds: 3, port: 8000 })
    expect(readConfig({}, {}).tracing.enabled).toBe(false)
    expect(readConfig({}, { SPOOL_TRACING: 'true' }).tracing.enabled).toBe(true)
    expect(readConfig({ store: 'sqlite:/flag.db', demo: true, grace: '1', port: '9000' }, env)).toMatchObject({
      store: 'sqlite:/flag.db',
      demo: true,
      graceSeconds: 1,
      port: 9000,
    })
    const dir = mkdtempSync(join(tmpdir(), 'spool-config-'))
    try {
      const file = join(dir, 'spool.json')
      writeFileSync(file, JSON.stringify({ port: 7000, host: '0.0.0.0', auth: { jwt: { secret: 'x'.repeat(40) } } }))
      const fromFile = readConfig({ config: file }, { SPOOL_PORT: '7100' })
      expect(fromFile).toMatchObject({ port: 7100, host: '0.0.0.0' })
      expect(fromFile.auth.jwt.secret).toBe('x'.repeat(40))
      expect(redactSecrets(fromFile).auth.jwt.secret).toBe('[redacted]')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('fails fast on values it cannot read, naming the setting', () => {
    expect(() => readConfig({ grace: 'soon' }, {})).toThrow(
      expect.objectContaining({ code: 'SPOOL_INVALID_OPTION', field: 'grace' }),
    )
    expect(() => readConfig({}, { SPOOL_DEMO: 'maybe' })).toThrow(/SPOOL_DEMO/)
    expect(() => readConfig({}, { SPOOL_TRACING: 'sometimes' })).toThrow(/SPOOL_TRACING/)
    expect(() => readConfig({}, { SPOOL_PORT: '99999' })).toThrow(/port/)
    expect(() => readConfig({}, { SPOOL_JWT_SECRET: 'short' })).toThrow(/auth\.jwt\.secret/)
  })
})
