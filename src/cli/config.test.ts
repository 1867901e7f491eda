import { describe, expect, it } from 'vitest'
import { readConfig } from './config.js'

describe('readConfig', () => {
  it('takes flags over SPOOL_* variables over defaults', () => {
    expect(readConfig({}, {})).toEqual({ store: 'sqlite:./data/spool.db', demo: true, graceSeconds: 10 })
    const env = { SPOOL_STORE: 'sqlite:/env.db', SPOOL_DEMO: 'false', SPOOL_GRACE_SECONDS: '3' }
    expect(readConfig({}, env)).toEqual({ store: 'sqlite:/env.db', demo: false, graceSeconds: 3 })
    expect(readConfig({ store: 'sqlite:/flag.db', demo: true, grace: '1' }, env)).toEqual({
      store: 'sqlite:/flag.db',
      demo: true,
      graceSeconds: 1,
    })
  })

  it('fails fast on values it cannot read, naming the setting', () => {
    expect(() => readConfig({ grace: 'soon' }, {})).toThrow(
      expect.objectContaining({ code: 'SPOOL_INVALID_OPTION', field: 'grace' }),
    )
    expect(() => readConfig({}, { SPOOL_DEMO: 'maybe' })).toThrow(/SPOOL_DEMO/)
  })
})
