/**
 * The quick start's offline gateway demo, and the engine's weighted limits (`spool.limits.take`,
 * `giveBack`) on both stores, which the gateway's tokens-per-minute limit is built on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import '../../src/index.js'
import { readConfig } from '../../src/cli/config.js'
import { startGateway } from '../../src/cli/gateway.js'
import { Spool } from '../../src/engine/spool.js'
import { eventually, freshPgSchema } from '../server/helpers.js'

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never

describe('spool start’s gateway demo', () => {
  it('starts a labelled local fake provider and a trickle of requests that flow through ai.demo', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-gw-demo-'))
    const spool = await Spool.open({ store: `sqlite:${join(dir, 'spool.db')}`, logger: quiet })
    const lines: string[] = []
    const ai = await startGateway(spool, readConfig({}, {}), (line) => lines.push(line))
    try {
      expect(lines.join('\n')).toMatch(/LOCAL FAKE provider/)
      expect(Object.keys(ai.config.providers)).toEqual(['demo'])
      const stats = await eventually(async () => {
        const s = await spool.stats('ai.demo')
        return (s.counts['ai.demo']?.completed ?? 0) >= 2 && s
      }, 'demo requests to complete')
      expect(stats.counts['ai.demo']?.failed).toBe(0)
    } finally {
      await ai.close({ graceMs: 100 })
      await spool.close({ graceMs: 100 })
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('starts nothing when the demo is off and no provider is configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-gw-demo-'))
    const spool = await Spool.open({ store: `sqlite:${join(dir, 'spool.db')}`, logger: quiet })
    try {
      const ai = await startGateway(spool, readConfig({ 'no-demo': true }, {}), () => {})
      expect(ai.config.providers).toEqual({})
      await ai.close({ graceMs: 0 })
    } finally {
      await spool.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('fails the start naming a missing API key variable, never a value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-gw-demo-'))
    const spool = await Spool.open({ store: `sqlite:${join(dir, 'spool.db')}`, logger: quiet })
    try {
      const config = readConfig({}, {})
      config.providers = {
        openai: {
          kind: 'openai',
          baseUrl: 'http://127.0.0.1:9/v1',
          apiKeyEnv: 'SPOOL_TEST_SURELY_UNSET_KEY',
          models: ['gpt-x'],
          timeoutMs: 1_000,
          maxAttempts: 1,
          defaultMaxTokens: 10,
        },
      }
      await expect(startGateway(spool, config, () => {})).rejects.toThrow(/SPOOL_TEST_SURELY_UNSET_KEY/)
    } finally {
      await spool.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('providers in the settings file', () => {
  it('refuses unknown fields, bad URLs and fallbacks to providers that do not exist, naming the setting', () => {
    const parse = (providers: unknown) => () => readConfigWith(providers)
    expect(parse({ a: { kind: 'openai', baseUrl: 'not a url', models: ['m'] } })).toThrow(/providers\.a\.baseUrl/)
    expect(parse({ a: { kind: 'openai', baseUrl: 'http://x/v1', models: ['m'], apiKey: 'sk-inline' } })).toThrow(
      /providers\.a.*apiKey/,
    )
    expect(parse({ a: { kind: 'openai', baseUrl: 'http://x/v1', models: ['m'], fallbacks: ['b'] } })).toThrow(
      /providers\.a\.fallbacks\.0: no provider named b/,
    )
    expect(parse({ A: { kind: 'openai', baseUrl: 'http://x/v1', models: ['m'] } })).toThrow(/providers\.A/)
    expect(
      readConfigWith({ a: { kind: 'openai', baseUrl: 'http://x/v1', models: ['m'], rpm: 60 } }).providers.a,
    ).toMatchObject({
      rpm: 60,
      timeoutMs: 120_000,
      maxAttempts: 5,
    })
  })
})

function readConfigWith(providers: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'spool-gw-config-'))
  try {
    const file = join(dir, 'spool.json')
    writeFileSync(file, JSON.stringify({ providers }))
    return readConfig({ config: file }, {})
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe.each(['sqlite', 'postgres'] as const)('weighted limits on %s', (database) => {
  it('takes a cost when the bucket has it, says how long to wait when not, and takes back what was unused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-gw-limits-'))
    const pg = database === 'postgres' ? await freshPgSchema() : null
    const spool = await Spool.open({
      store: pg ? pg.address : `sqlite:${join(dir, 'spool.db')}`,
      logger: quiet,
      maintenance: false,
    })
    try {
      const limit = { perMinute: 600 }
      expect(await spool.limits.take('ai.test.tpm', limit, 500)).toEqual({ ok: true, retryAfterMs: 0 })
      const refused = await spool.limits.take('ai.test.tpm', limit, 500)
      expect(refused.ok).toBe(false)
      // 400 short at 10 a second.
      expect(refused.retryAfterMs).toBeGreaterThan(35_000)
      expect(refused.retryAfterMs).toBeLessThanOrEqual(40_000)
      await spool.limits.giveBack('ai.test.tpm', limit, 450)
      expect((await spool.limits.take('ai.test.tpm', limit, 500)).ok).toBe(true)
      // A cost above the burst waits for a full bucket rather than forever.
      expect((await spool.limits.take('ai.other.tpm', limit, 10_000)).ok).toBe(true)
      await expect(spool.limits.take('bad key!', limit, 1)).rejects.toMatchObject({ code: 'SPOOL_INVALID_OPTION' })
      await expect(spool.limits.take('ok', { perMinute: 0 }, 1)).rejects.toMatchObject({ field: 'perMinute' })
    } finally {
      await spool.close()
      await pg?.drop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
