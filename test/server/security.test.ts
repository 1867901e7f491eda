/**
 * Encryption at rest (the raw database bytes hold no plaintext), the key file, key rotation,
 * JWT authentication (HS256 and JWKS) and the logs of a full run (no secrets, no payloads).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { AesGcmCodec } from '../../src/security/codec.js'
import { loadKeyring, rotateKeyFile } from '../../src/security/keyring.js'
import { startServer, type TestServer } from './helpers.js'

const servers: TestServer[] = []
afterEach(async () => {
  for (const t of servers.splice(0)) await t.close()
})

function rawBytes(dir: string): string {
  return ['spool.db', 'spool.db-wal', 'spool.db-shm']
    .map((name) => join(dir, name))
    .filter((path) => existsSync(path))
    .map((path) => readFileSync(path).toString('latin1'))
    .join('')
}

async function writeSensitiveData(t: TestServer, marker: string) {
  const worker = await t.key('default', ['worker'])
  const { body } = await t.request('POST', '/v1/queues/clinic/jobs', {
    body: { payload: { patient: `${marker}-PATIENT`, notes: `${marker}-NOTES` } },
  })
  const [job] = (await t.request('POST', '/v1/queues/clinic/claim', { key: worker, body: { workerId: 'w' } })).body.jobs
  expect(job.payload.patient).toBe(`${marker}-PATIENT`)
  await t.request('POST', `/v1/jobs/${body.id}/complete`, {
    key: worker,
    body: { leaseToken: job.leaseToken, result: { transcript: `${marker}-TRANSCRIPT` } },
  })
  await t.request('POST', '/v1/webhooks', {
    body: { url: 'http://127.0.0.1:9/hook', events: ['job.failed'], description: `${marker}-HOOK` },
  })
  await t.request('POST', '/v1/keys', { body: { name: `${marker}-KEYNAME`, scopes: ['reader'] } })
  const read = await t.request('GET', `/v1/jobs/${body.id}`)
  expect(read.body.result).toEqual({ transcript: `${marker}-TRANSCRIPT` })
  return body.id as string
}

describe('encryption at rest', () => {
  it('leaves no plaintext payload, result or record in the database file', async () => {
    const marker = `PLAINTEXT${randomBytes(4).toString('hex')}`
    const t = await startServer()
    servers.push(t)
    await writeSensitiveData(t, marker)
    await t.stop()
    const bytes = rawBytes(t.dir)
    expect(bytes.length).toBeGreaterThan(10_000)
    expect(bytes).toContain('spool:enc:1:t1:')
    for (const part of ['PATIENT', 'NOTES', 'TRANSCRIPT', 'HOOK', 'KEYNAME'])
      expect(bytes).not.toContain(`${marker}-${part}`)
    expect(bytes).not.toContain(marker)
  })

  it('(control) without a codec the same bytes are found, so the check above can see them', async () => {
    const marker = `PLAINTEXT${randomBytes(4).toString('hex')}`
    const t = await startServer({ codec: null })
    servers.push(t)
    await writeSensitiveData(t, marker)
    await t.stop()
    expect(rawBytes(t.dir)).toContain(`${marker}-TRANSCRIPT`)
  })

  it('creates the key file with mode 0600 once, and reads old data after a rotation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-keys-'))
    try {
      const keyFile = join(dir, 'nested', 'spool.key')
      const first = loadKeyring({ keyFile })
      expect(first.source).toBe('created')
      expect(statSync(keyFile).mode & 0o777).toBe(0o600)
      expect(loadKeyring({ keyFile }).source).toBe('file')
      const old = first.codec.encode('{"a":1}')
      expect(old.startsWith('spool:enc:1:k1:')).toBe(true)
      expect(rotateKeyFile(keyFile)).toBe('k2')
      expect(statSync(keyFile).mode & 0o777).toBe(0o600)
      const rotated = loadKeyring({ keyFile }).codec
      expect(rotated.activeKeyId).toBe('k2')
      expect(rotated.decode(old)).toBe('{"a":1}')
      expect(rotated.encode('x').startsWith('spool:enc:1:k2:')).toBe(true)
      const env = loadKeyring({ keyFile, envKey: `new:${randomBytes(32).toString('base64')}` })
      expect(env.source).toBe('env')
      expect(() => env.codec.decode(old)).toThrow(/no data key "k1"/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses tampered ciphertext and envelopes moved to another key id', () => {
    const key = randomBytes(32)
    const codec = new AesGcmCodec([
      { id: 'a', key },
      { id: 'b', key },
    ])
    const sealed = codec.encode('secret')
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}${sealed.slice(-1)}`
    expect(() => codec.decode(tampered)).toThrow(/authentication/)
    expect(() => codec.decode(sealed.replace(':a:', ':b:'))).toThrow(/authentication/)
    expect(codec.decode('{"plain":true}')).toBe('{"plain":true}')
  })
})

describe('audit log', () => {
  it('stores the entry of a change or a sensitive read before the answer leaves, one write per burst', async () => {
    const t = await startServer()
    servers.push(t)
    // A slow disk: every record write takes 150 ms. The answer must still come after the entry.
    const records = t.spool.records
    const put = records.put.bind(records)
    let auditWrites = 0
    records.put = (async (collection: string, record: Parameters<typeof put>[1]) => {
      if (collection === 'audit') {
        auditWrites += 1
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
      return put(collection, record)
    }) as typeof records.put
    const stored = async () =>
      (await records.list('audit', { limit: 1000 })).flatMap(
        (record) => (record.data as { entries: { action: string; target: string | null }[] }).entries,
      )

    const created = await t.request('POST', '/v1/queues/audited/jobs', { body: { payload: { n: 1 } } })
    expect(created.status).toBe(201)
    expect(await stored()).toContainEqual(expect.objectContaining({ action: 'jobs.create', target: created.body.id }))
    for (const [path, action] of [
      ['/v1/jobs?queue=audited', 'jobs.list'],
      // A job's children are part of viewing the job (one entry per view: docs/security.md).
      [`/v1/jobs/${created.body.id}/children`, 'jobs.get'],
      ['/v1/keys', 'keys.list'],
    ] as const) {
      expect((await t.request('GET', path)).status).toBe(200)
      expect((await stored()).map((entry) => entry.action)).toContain(action)
    }
    // Ten changes answered together share the writes of their turn, not one each.
    auditWrites = 0
    const burst = await Promise.all(
      Array.from({ length: 10 }, (_, i) => t.request('POST', '/v1/queues/audited/jobs', { body: { payload: i } })),
    )
    expect(burst.map((r) => r.status)).toEqual(Array(10).fill(201))
    expect((await stored()).filter((entry) => entry.action === 'jobs.create')).toHaveLength(11)
    expect(auditWrites).toBeLessThan(10)
  })
})

describe('JWT', () => {
  const secret = 'hs256-secret-for-tests-0123456789abcdef'
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret))

  it('maps HS256 claims to tenant, user and roles', async () => {
    const t = await startServer({ config: { auth: { jwt: { secret, rolesClaim: 'https://spool.dev/roles' } } } })
    servers.push(t)
    const token = await sign({ sub: 'u-7', tenant: 'acme', 'https://spool.dev/roles': 'producer reader' })
    const created = await t.request('POST', '/v1/queues/jwt/jobs', { key: token, body: { payload: 1 } })
    expect(created.status).toBe(201)
    expect((await t.spool.jobs.get(created.body.id))?.tenant).toBe('acme')
    expect((await t.request('POST', '/v1/queues/jwt/pause', { key: token })).status).toBe(403)
    await t.server.context.audit.flush()
    const audit = await t.request('GET', '/v1/audit?action=jobs.create', { headers: { 'spool-tenant': 'acme' } })
    expect(audit.body.entries[0]).toMatchObject({ actor: { kind: 'jwt', id: 'u-7', user: 'u-7' }, tenant: 'acme' })
  })

  it('verifies RS256 tokens against a JWKS URL', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
    const jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ keys: [jwk] }))
    })
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`
      const t = await startServer({
        config: { auth: { jwt: { jwksUrl: url, issuer: 'https://idp.test', audience: 'spool' } } },
      })
      servers.push(t)
      const token = (kid: string, issuer = 'https://idp.test') =>
        new SignJWT({ tenant: 'acme', roles: ['reader'] })
          .setProtectedHeader({ alg: 'RS256', kid })
          .setIssuer(issuer)
          .setAudience('spool')
          .setSubject('svc')
          .setExpirationTime('5m')
          .sign(privateKey)
      expect((await t.request('GET', '/v1/jobs', { key: await token('k1') })).status).toBe(200)
      expect((await t.request('GET', '/v1/jobs', { key: await token('unknown') })).status).toBe(401)
      expect((await t.request('GET', '/v1/jobs', { key: await token('k1', 'https://evil.test') })).status).toBe(401)
    } finally {
      await new Promise((resolve) => jwks.close(resolve))
    }
  })
})

describe('logs', () => {
  it('a full run logs request ids and outcomes, and no credential, payload or result', async () => {
    const marker = `LOGSECRET${randomBytes(4).toString('hex')}`
    const secret = 'jwt-secret-for-the-log-test-0123456789'
    const t = await startServer({ config: { auth: { jwt: { secret } } } })
    servers.push(t)
    const token = await new SignJWT({ tenant: 'default', roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret))
    const worker = await t.key('default', ['worker'])
    const id = await writeSensitiveData(t, marker)
    const hook = await t.request('POST', '/v1/webhooks', {
      key: token,
      body: { url: 'http://127.0.0.1:9/h', events: ['*'] },
    })
    await t.request('GET', `/v1/jobs/${id}`, { key: token, headers: { 'x-request-id': 'trace-me-123' } })
    await t.request('POST', '/v1/queues/clinic/jobs', { raw: `{"payload": "${marker}-BROKEN`, key: token })
    await t.request('POST', '/v1/queues/clinic/jobs', { body: { payload: `${marker}-UNKNOWN`, bogus: marker } })
    await t.request('GET', `/v1/jobs?text=${marker}-QUERY`, {
      key: `spool_abcdefghij_${marker}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
    })
    const sse = await fetch(`${t.url}/v1/events/stream?access_token=${worker}`, {
      signal: AbortSignal.timeout(300),
    }).catch(() => null)
    await sse?.body?.cancel().catch(() => {})
    await t.stop()
    const logs = t.logs.join('\n')
    expect(t.logs.length).toBeGreaterThan(10)
    expect(logs).toContain('"reqId":"trace-me-123"')
    expect(logs).toMatch(/"route":"\/v1\/jobs\/:id","status":200/)
    for (const secretText of [
      t.adminKey,
      worker,
      token,
      hook.body.secret,
      `${marker}-PATIENT`,
      `${marker}-NOTES`,
      `${marker}-TRANSCRIPT`,
      `${marker}-BROKEN`,
      `${marker}-UNKNOWN`,
      `${marker}-QUERY`,
      marker,
    ]) {
      expect(logs).not.toContain(secretText)
    }
    expect(logs).not.toContain('authorization')
    expect(logs).not.toContain('access_token=')
  })
})
