/**
 * Bad input of every kind gets the right 4xx as problem+json with a stable code (and the field
 * at fault where there is one), writes nothing, and leaves the server healthy.
 */
import { connect } from 'node:net'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './helpers.js'

const SECRET = 'a-test-secret-that-is-long-enough-1234567890'

async function jwt(claims: Record<string, unknown>, options: { secret?: string; exp?: string | number } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? SECRET))
}

/** Writes bytes no HTTP client would send and reads the answer until the server closes. */
function exchangeRaw(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(raw))
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      text += chunk
    })
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer')))
  })
}

interface Case {
  name: string
  method?: string
  path: string
  body?: unknown
  raw?: string
  headers?: Record<string, string>
  /** 'reader' / 'none' / a literal credential; default the admin key. */
  as?: string | (() => Promise<string>)
  status: number
  code: string
  field?: string
  /** What the problem's detail must say. */
  detail?: RegExp
}

const JOBS = '/v1/queues/inputs/jobs'
const FORM = [
  '--spoolform',
  'Content-Disposition: form-data; name="payload"',
  '',
  '{"ok":1}',
  '--spoolform--',
  '',
].join('\r\n')
const job = (options: unknown) => ({ payload: { ok: 1 }, options })

describe('bad input', () => {
  let t: TestServer
  let reader: string
  let jobId: string
  const cases: Case[] = [
    // Malformed JSON and media types
    {
      name: 'truncated JSON',
      method: 'POST',
      path: JOBS,
      raw: '{',
      status: 400,
      code: 'SPOOL_INVALID_JSON',
      field: 'body',
    },
    {
      name: 'JSON with a hole',
      method: 'POST',
      path: JOBS,
      raw: '{"payload": }',
      status: 400,
      code: 'SPOOL_INVALID_JSON',
    },
    {
      name: 'trailing garbage',
      method: 'POST',
      path: JOBS,
      raw: '{"payload":1} x',
      status: 400,
      code: 'SPOOL_INVALID_JSON',
    },
    {
      name: 'JSON null body',
      method: 'POST',
      path: JOBS,
      raw: 'null',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'body',
    },
    { name: 'JSON array body', method: 'POST', path: JOBS, raw: '[]', status: 400, code: 'SPOOL_INVALID_REQUEST' },
    { name: 'JSON string body', method: 'POST', path: JOBS, raw: '"x"', status: 400, code: 'SPOOL_INVALID_REQUEST' },
    { name: 'no body', method: 'POST', path: JOBS, status: 400, code: 'SPOOL_INVALID_REQUEST', field: 'body' },
    {
      name: 'text/plain',
      method: 'POST',
      path: JOBS,
      raw: '{"payload":1}',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      code: 'SPOOL_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'XML',
      method: 'POST',
      path: JOBS,
      raw: '<payload/>',
      headers: { 'content-type': 'application/xml' },
      status: 415,
      code: 'SPOOL_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'multipart on a JSON route',
      method: 'POST',
      path: JOBS,
      raw: FORM,
      headers: { 'content-type': 'multipart/form-data; boundary=spoolform' },
      status: 415,
      code: 'SPOOL_UNSUPPORTED_MEDIA_TYPE',
      field: 'content-type',
    },
    {
      name: 'multipart on an upload route is read (a text file is no recording)',
      method: 'POST',
      path: '/v1/sessions',
      raw: [
        '--spoolform',
        'Content-Disposition: form-data; name="file"; filename="notes.txt"',
        'Content-Type: text/plain',
        '',
        'not audio',
        '--spoolform--',
        '',
      ].join('\r\n'),
      headers: { 'content-type': 'multipart/form-data; boundary=spoolform' },
      status: 415,
      code: 'AUDIO_UNSUPPORTED_TYPE',
      field: 'file',
    },
    {
      name: 'multipart on a JSON route without a credential',
      method: 'POST',
      path: '/v1/keys',
      raw: FORM,
      headers: { 'content-type': 'multipart/form-data; boundary=spoolform' },
      as: 'none',
      status: 415,
      code: 'SPOOL_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: '__proto__ key',
      method: 'POST',
      path: JOBS,
      raw: '{"payload":1,"__proto__":{"admin":true}}',
      status: 400,
      code: 'SPOOL_INVALID_JSON',
    },
    {
      name: 'constructor key',
      method: 'POST',
      path: JOBS,
      raw: '{"payload":{"constructor":{"prototype":{"x":1}}}}',
      status: 400,
      code: 'SPOOL_INVALID_JSON',
    },
    // Wrong types and ranges
    {
      name: 'unknown priority',
      method: 'POST',
      path: JOBS,
      body: job({ priority: 'soonish' }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.priority',
    },
    {
      name: 'priority out of range',
      method: 'POST',
      path: JOBS,
      body: job({ priority: 5000 }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.priority',
    },
    {
      name: 'fractional priority',
      method: 'POST',
      path: JOBS,
      body: job({ priority: 1.5 }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.priority',
    },
    {
      name: 'maxAttempts 0',
      method: 'POST',
      path: JOBS,
      body: job({ maxAttempts: 0 }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.maxAttempts',
    },
    {
      name: 'maxAttempts as text',
      method: 'POST',
      path: JOBS,
      body: job({ maxAttempts: '3' }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.maxAttempts',
    },
    {
      name: 'negative delay',
      method: 'POST',
      path: JOBS,
      body: job({ delayMs: -1 }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.delayMs',
    },
    {
      name: 'delay and runAt',
      method: 'POST',
      path: JOBS,
      body: job({ delayMs: 5, runAt: Date.now() }),
      status: 400,
      code: 'SPOOL_INVALID_OPTION',
      field: 'runAt',
    },
    {
      name: 'runAt not a date',
      method: 'POST',
      path: JOBS,
      body: job({ runAt: 'yesterday' }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.runAt',
    },
    {
      name: 'timeout 0',
      method: 'POST',
      path: JOBS,
      body: job({ timeoutMs: 0 }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.timeoutMs',
    },
    {
      name: 'tags not a list',
      method: 'POST',
      path: JOBS,
      body: job({ tags: 'a' }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.tags',
    },
    {
      name: '33 tags',
      method: 'POST',
      path: JOBS,
      body: job({ tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.tags',
    },
    {
      name: 'empty tag',
      method: 'POST',
      path: JOBS,
      body: job({ tags: [''] }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.tags.0',
    },
    {
      name: 'empty idempotency key',
      method: 'POST',
      path: JOBS,
      body: job({ idempotencyKey: '' }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.idempotencyKey',
    },
    {
      name: 'idempotency key of 256',
      method: 'POST',
      path: JOBS,
      body: job({ idempotencyKey: 'k'.repeat(256) }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.idempotencyKey',
    },
    {
      name: 'unknown backoff',
      method: 'POST',
      path: JOBS,
      body: job({ backoff: { type: 'linear' } }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.backoff.type',
    },
    {
      name: 'fixed backoff without delay',
      method: 'POST',
      path: JOBS,
      body: job({ backoff: { type: 'fixed' } }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.backoff.delayMs',
    },
    {
      name: 'jitter 2',
      method: 'POST',
      path: JOBS,
      body: job({ backoff: { type: 'exponential', jitter: 2 } }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.backoff.jitter',
    },
    {
      name: 'metadata a list',
      method: 'POST',
      path: JOBS,
      body: job({ metadata: [1] }),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options.metadata',
    },
    {
      name: 'options a string',
      method: 'POST',
      path: JOBS,
      body: job('high'),
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'options',
    },
    {
      name: 'dependency on a missing job',
      method: 'POST',
      path: JOBS,
      body: job({ dependsOn: ['987654'] }),
      status: 422,
      code: 'SPOOL_DEPENDENCY_NOT_FOUND',
      field: 'options.dependsOn.0',
    },
    // Unknown fields
    {
      name: 'unknown top-level field',
      method: 'POST',
      path: JOBS,
      body: { payload: 1, extra: 1 },
      status: 400,
      code: 'SPOOL_UNKNOWN_FIELD',
      field: 'extra',
    },
    {
      name: 'unknown option',
      method: 'POST',
      path: JOBS,
      body: job({ colour: 'red' }),
      status: 400,
      code: 'SPOOL_UNKNOWN_FIELD',
      field: 'options.colour',
    },
    {
      name: 'tenant smuggled in options',
      method: 'POST',
      path: JOBS,
      body: job({ tenant: 'other' }),
      status: 400,
      code: 'SPOOL_UNKNOWN_FIELD',
      field: 'options.tenant',
    },
    {
      name: 'unknown backoff field',
      method: 'POST',
      path: JOBS,
      body: job({ backoff: { type: 'fixed', delayMs: 1, extra: 1 } }),
      status: 400,
      code: 'SPOOL_UNKNOWN_FIELD',
      field: 'options.backoff.extra',
    },
    {
      name: 'unknown query parameter',
      path: '/v1/jobs?colour=red',
      status: 400,
      code: 'SPOOL_UNKNOWN_FIELD',
      field: 'colour',
    },
    {
      name: 'token in the query of a plain route',
      path: '/v1/jobs?access_token=x',
      status: 400,
      code: 'SPOOL_UNKNOWN_FIELD',
      field: 'access_token',
    },
    {
      name: 'body on a route that takes none',
      method: 'POST',
      path: '/v1/jobs/1/cancel',
      body: { x: 1 },
      status: 400,
      code: 'SPOOL_UNKNOWN_FIELD',
      field: 'body',
    },
    {
      name: 'unknown queue setting',
      method: 'PUT',
      path: '/v1/queues/inputs',
      body: { colour: 'red' },
      status: 400,
      code: 'SPOOL_UNKNOWN_FIELD',
      field: 'colour',
    },
    {
      name: 'negative retention',
      method: 'PUT',
      path: '/v1/queues/inputs',
      body: { retention: { completed: { maxAgeMs: -1 } } },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'retention.completed.maxAgeMs',
    },
    // Huge bodies
    {
      name: 'body over the limit',
      method: 'POST',
      path: JOBS,
      raw: JSON.stringify({ payload: 'x'.repeat(1_300_000) }),
      status: 413,
      code: 'SPOOL_BODY_TOO_LARGE',
    },
    {
      name: 'payload over the payload limit',
      method: 'POST',
      path: JOBS,
      body: { payload: 'x'.repeat(1_100_000) },
      status: 413,
      code: 'SPOOL_PAYLOAD_TOO_LARGE',
      field: 'payload',
    },
    {
      name: '1001 jobs in one bulk',
      method: 'POST',
      path: `${JOBS}/bulk`,
      body: { jobs: Array.from({ length: 1001 }, () => ({ payload: 1 })) },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'jobs',
    },
    {
      name: 'empty bulk',
      method: 'POST',
      path: `${JOBS}/bulk`,
      body: { jobs: [] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'jobs',
    },
    // Malformed paths: the router answers before any route runs
    {
      name: 'malformed percent-encoding in a queue name',
      method: 'POST',
      path: '/v1/queues/a%zzb/jobs',
      body: { payload: 1 },
      status: 400,
      code: 'SPOOL_INVALID_URL',
      field: 'path',
    },
    {
      name: 'cut-off UTF-8 percent-encoding in a job id',
      path: '/v1/jobs/%E0%A4%A',
      status: 400,
      code: 'SPOOL_INVALID_URL',
      field: 'path',
    },
    {
      name: 'malformed percent-encoding without a credential',
      path: '/v1/jobs/%zz',
      as: 'none',
      status: 400,
      code: 'SPOOL_INVALID_URL',
    },
    {
      name: 'path segment of 300 characters',
      path: `/v1/jobs/${'1'.repeat(300)}`,
      status: 414,
      code: 'SPOOL_URI_TOO_LONG',
      field: 'path',
    },
    // Bad ids and names
    { name: 'job id not a number', path: '/v1/jobs/abc', status: 400, code: 'SPOOL_INVALID_REQUEST', field: 'id' },
    { name: 'negative job id', path: '/v1/jobs/-1', status: 400, code: 'SPOOL_INVALID_REQUEST', field: 'id' },
    { name: 'job id 0', path: '/v1/jobs/0', status: 400, code: 'SPOOL_INVALID_REQUEST', field: 'id' },
    {
      name: 'job id of 20 digits',
      path: '/v1/jobs/99999999999999999999',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'id',
    },
    { name: 'missing job', path: '/v1/jobs/7654321', status: 404, code: 'SPOOL_JOB_NOT_FOUND', field: 'id' },
    {
      name: 'bad key id',
      method: 'DELETE',
      path: '/v1/keys/XYZ',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'id',
    },
    {
      name: 'missing key',
      method: 'DELETE',
      path: '/v1/keys/abcdefghij',
      status: 404,
      code: 'SPOOL_NOT_FOUND',
      field: 'id',
    },
    {
      name: 'bad webhook id',
      method: 'DELETE',
      path: '/v1/webhooks/not-a-uuid',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'id',
    },
    {
      name: 'queue name with a space',
      method: 'POST',
      path: '/v1/queues/bad%20name/jobs',
      body: { payload: 1 },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'queue',
    },
    {
      name: 'queue name of 129',
      method: 'POST',
      path: `/v1/queues/${'q'.repeat(129)}/jobs`,
      body: { payload: 1 },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'queue',
    },
    {
      name: 'queue name starting with a dot',
      method: 'POST',
      path: '/v1/queues/.hidden/jobs',
      body: { payload: 1 },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'queue',
    },
    // Path traversal and injection strings
    {
      name: 'traversal in a queue name',
      method: 'POST',
      path: '/v1/queues/..%2F..%2Fetc%2Fpasswd/jobs',
      body: { payload: 1 },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'queue',
    },
    {
      name: 'traversal in a job id',
      path: '/v1/jobs/..%2F..%2Fetc%2Fpasswd',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'id',
    },
    {
      name: 'NUL in a queue name',
      method: 'POST',
      path: '/v1/queues/a%00b/jobs',
      body: { payload: 1 },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'queue',
    },
    {
      name: 'SQL in a queue filter',
      path: "/v1/jobs?queue=x'%20OR%201%3D1--",
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'queue',
    },
    {
      name: 'SQL in a state filter',
      path: '/v1/jobs?state=waiting%3BDROP%20TABLE%20jobs',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'state',
    },
    {
      name: 'script in a queue name',
      method: 'PUT',
      path: '/v1/queues/%3Cscript%3E',
      body: {},
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'name',
    },
    { name: 'limit 0', path: '/v1/jobs?limit=0', status: 400, code: 'SPOOL_INVALID_REQUEST', field: 'limit' },
    { name: 'limit 1001', path: '/v1/jobs?limit=1001', status: 400, code: 'SPOOL_INVALID_REQUEST', field: 'limit' },
    {
      name: 'limit not a number',
      path: '/v1/jobs?limit=ten',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'limit',
    },
    {
      name: 'limit in exponent form',
      path: '/v1/jobs?limit=1e3',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'limit',
    },
    {
      name: 'forged cursor',
      path: '/v1/jobs?cursor=Zm9yZ2Vk',
      status: 400,
      code: 'SPOOL_INVALID_OPTION',
      field: 'cursor',
    },
    {
      name: 'bad time',
      path: '/v1/jobs?createdAfter=last-tuesday',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'createdAfter',
    },
    {
      name: 'negative createdBefore',
      path: '/v1/jobs?createdBefore=-1',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'createdBefore',
    },
    {
      name: 'createdAfter before 1970',
      path: '/v1/jobs?createdAfter=1969-12-31T23:59:59Z',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'createdAfter',
    },
    {
      name: 'negative createdBefore on sessions',
      path: '/v1/sessions?createdBefore=-5',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'createdBefore',
    },
    {
      name: 'negative createdAfter on sessions',
      path: '/v1/sessions?createdAfter=-1',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'createdAfter',
    },
    {
      name: 'repeated filter',
      path: '/v1/jobs?queue=a&queue=b',
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'queue',
    },
    // Credentials
    {
      name: 'token in the query of a plain route, without a header',
      path: '/v1/jobs?access_token=spool_abcdefghij_x',
      as: 'none',
      status: 401,
      code: 'SPOOL_UNAUTHENTICATED',
      field: 'access_token',
      detail: /only on the stream routes.*GET \/v1\/events\/stream.*GET \/v1\/ws.*Authorization: Bearer/,
    },
    { name: 'no credential', path: '/v1/jobs', as: 'none', status: 401, code: 'SPOOL_UNAUTHENTICATED' },
    {
      name: 'Basic auth',
      path: '/v1/jobs',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
      as: 'none',
      status: 401,
      code: 'SPOOL_UNAUTHENTICATED',
    },
    {
      name: 'unknown API key',
      path: '/v1/jobs',
      as: `spool_abcdefghij_${'A'.repeat(43)}`,
      status: 401,
      code: 'SPOOL_UNAUTHENTICATED',
    },
    { name: 'garbage credential', path: '/v1/jobs', as: 'not-a-key', status: 401, code: 'SPOOL_UNAUTHENTICATED' },
    {
      name: 'forged JWT',
      path: '/v1/jobs',
      as: () => jwt({ tenant: 'default', roles: ['admin'] }, { secret: 'another-secret-of-enough-length-0987654321' }),
      status: 401,
      code: 'SPOOL_UNAUTHENTICATED',
    },
    {
      name: 'expired JWT',
      path: '/v1/jobs',
      as: () => jwt({ tenant: 'default', roles: ['admin'] }, { exp: Math.floor(Date.now() / 1000) - 60 }),
      status: 401,
      code: 'SPOOL_UNAUTHENTICATED',
    },
    {
      name: 'unsigned JWT (alg none)',
      path: '/v1/jobs',
      as: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"tenant":"default","roles":["admin"]}').toString('base64url')}.`,
      status: 401,
      code: 'SPOOL_UNAUTHENTICATED',
    },
    {
      name: 'JWT without a tenant',
      path: '/v1/jobs',
      as: () => jwt({ roles: ['admin'] }),
      status: 401,
      code: 'SPOOL_UNAUTHENTICATED',
    },
    {
      name: 'JWT without roles',
      method: 'POST',
      path: JOBS,
      body: { payload: 1 },
      as: () => jwt({ tenant: 'default' }),
      status: 403,
      code: 'SPOOL_FORBIDDEN',
    },
    {
      name: 'reader enqueues',
      method: 'POST',
      path: JOBS,
      body: { payload: 1 },
      as: 'reader',
      status: 403,
      code: 'SPOOL_FORBIDDEN',
    },
    {
      name: 'reader crosses tenants',
      path: '/v1/jobs',
      as: 'reader',
      headers: { 'spool-tenant': 'other' },
      status: 403,
      code: 'SPOOL_TENANT_FORBIDDEN',
      field: 'spool-tenant',
    },
    {
      name: 'invalid tenant name',
      path: '/v1/jobs',
      headers: { 'spool-tenant': '../x' },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'spool-tenant',
    },
    {
      name: 'bad Last-Event-ID',
      path: '/v1/events/stream',
      headers: { 'last-event-id': 'abc' },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'last-event-id',
    },
    // Other routes
    {
      name: 'bad new priority',
      method: 'PATCH',
      path: '/v1/jobs/1',
      body: { priority: 'x' },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'priority',
    },
    {
      name: 'bulk with ids and filter',
      method: 'POST',
      path: '/v1/jobs/actions',
      body: { action: 'cancel', ids: ['1'], filter: {} },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'ids',
    },
    {
      name: 'bulk reprioritize without priority',
      method: 'POST',
      path: '/v1/jobs/actions',
      body: { action: 'reprioritize', ids: ['1'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'priority',
    },
    {
      name: 'bulk with a bad id',
      method: 'POST',
      path: '/v1/jobs/actions',
      body: { action: 'cancel', ids: ['1; DROP'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'ids.0',
    },
    {
      name: 'unknown bulk action',
      method: 'POST',
      path: '/v1/jobs/actions',
      body: { action: 'explode', ids: ['1'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'action',
    },
    {
      name: 'unknown scope',
      method: 'POST',
      path: '/v1/keys',
      body: { name: 'x', scopes: ['root'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'scopes.0',
    },
    {
      name: 'webhook to ftp',
      method: 'POST',
      path: '/v1/webhooks',
      body: { url: 'ftp://example.com/x', events: ['job.failed'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'url',
    },
    {
      name: 'webhook to javascript:',
      method: 'POST',
      path: '/v1/webhooks',
      body: { url: 'javascript:alert(1)', events: ['job.failed'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'url',
    },
    {
      name: 'webhook URL with CR LF (header injection)',
      method: 'POST',
      path: '/v1/webhooks',
      body: { url: 'http://127.0.0.1:9/hook\r\nX-Injected: 1', events: ['job.failed'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'url',
    },
    {
      name: 'webhook URL with a tab',
      method: 'POST',
      path: '/v1/webhooks',
      body: { url: 'http://127.0.0.1:9/ho\tok', events: ['job.failed'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'url',
    },
    {
      name: 'webhook event type',
      method: 'POST',
      path: '/v1/webhooks',
      body: { url: 'http://127.0.0.1:9/x', events: ['DROP TABLE'] },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'events.0',
    },
    {
      name: 'failure-rate threshold above 1',
      method: 'POST',
      path: '/v1/alerts',
      body: { kind: 'failure_rate', threshold: 5 },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'threshold',
    },
    {
      name: 'claim waiting too long',
      method: 'POST',
      path: '/v1/queues/inputs/claim',
      body: { workerId: 'w', waitMs: 1_000_000 },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'waitMs',
    },
    {
      name: 'claim with a bad worker id',
      method: 'POST',
      path: '/v1/queues/inputs/claim',
      body: { workerId: 'a b' },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'workerId',
    },
    {
      name: 'heartbeat with a text token',
      method: 'POST',
      path: '/v1/jobs/1/heartbeat',
      body: { leaseToken: 'abc' },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'leaseToken',
    },
    {
      name: 'progress over 100',
      method: 'POST',
      path: '/v1/jobs/1/progress',
      body: { leaseToken: 1, percent: 101 },
      status: 400,
      code: 'SPOOL_INVALID_REQUEST',
      field: 'percent',
    },
    {
      name: 'stale lease token',
      method: 'POST',
      path: '/v1/jobs/{job}/complete',
      body: { leaseToken: 99, result: 1 },
      status: 409,
      code: 'SPOOL_LEASE_LOST',
    },
    { name: 'no such route', path: '/v1/nothing-here', status: 404, code: 'SPOOL_NOT_FOUND' },
    { name: 'method the route lacks', method: 'PUT', path: '/v1/jobs', body: {}, status: 404, code: 'SPOOL_NOT_FOUND' },
  ]

  beforeAll(async () => {
    t = await startServer({ config: { auth: { jwt: { secret: SECRET } } } })
    reader = await t.key('default', ['reader'])
    jobId = (await t.request('POST', '/v1/queues/inputs/jobs', { body: { payload: { seed: true } } })).body.id
  })
  afterAll(async () => {
    await t?.close()
  })

  it(`has at least 60 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(60)
  })

  async function snapshot() {
    const jobs = await t.spool.jobs.list({ limit: 1000 })
    const collections = await Promise.all(
      ['api_keys', 'webhooks', 'alerts'].map((c) => t.spool.records.list(c, { limit: 1000 })),
    )
    const queues = await t.spool.queues.list()
    return JSON.stringify({
      jobs: jobs.jobs.map((j) => [j.id, j.state, j.priority, j.attempt]),
      records: collections.map((list) => list.map((r) => [r.id, r.updatedAt.getTime()])),
      queues: queues.map((q) => [q.name, q.paused, q.config]),
    })
  }

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await snapshot()
    let key: string | null
    if (c.as === undefined) key = t.adminKey
    else if (c.as === 'none') key = null
    else if (c.as === 'reader') key = reader
    else if (typeof c.as === 'function') key = await c.as()
    else key = c.as
    const headers = { ...c.headers }
    if (key === null && headers.authorization === undefined) delete headers.authorization
    const response = await t.request(c.method ?? 'GET', c.path.replace('{job}', jobId), {
      key: headers.authorization ? null : key,
      headers,
      ...(c.body !== undefined && { body: c.body }),
      ...(c.raw !== undefined && { raw: c.raw }),
    })
    expect(response.status, response.text.slice(0, 300)).toBe(c.status)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(response.body).toMatchObject({
      status: c.status,
      code: c.code,
      type: expect.any(String),
      title: expect.any(String),
      detail: expect.any(String),
    })
    expect(response.body.requestId).toBe(response.headers.get('x-request-id'))
    if (c.field !== undefined) expect(response.body.field).toBe(c.field)
    if (c.detail !== undefined) expect(response.body.detail).toMatch(c.detail)
    expect(await snapshot()).toBe(before)
  })

  it.each([
    ['a bare LF in a header value', 'GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Note: a\nb\r\n\r\n'],
    ['a NUL in a header value', 'GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Note: a\u0000b\r\n\r\n'],
    [
      'two Content-Length headers',
      `POST ${JOBS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\nContent-Length: 14\r\n\r\n{"payload":1}`,
    ],
  ])('HTTP framing error answers problem+json: %s', async (_name, raw) => {
    const before = await snapshot()
    const answer = await exchangeRaw(t.url, raw)
    const split = answer.indexOf('\r\n\r\n')
    const head = answer.slice(0, split)
    expect(head).toMatch(/^HTTP\/1\.1 400 /)
    expect(head).toMatch(/^content-type: application\/problem\+json/im)
    const problem = JSON.parse(answer.slice(split + 4))
    expect(problem).toMatchObject({
      status: 400,
      code: 'SPOOL_MALFORMED_HTTP',
      type: 'https://spool.dev/problems/spool_malformed_http',
      title: expect.any(String),
      detail: expect.any(String),
      parserCode: expect.stringMatching(/^HPE_/),
    })
    expect(head).toMatch(new RegExp(`^x-request-id: ${problem.requestId}$`, 'im'))
    expect(await snapshot()).toBe(before)
  })

  it('a bulk body over the limit, streamed by fetch, gets a 413 the client can read', async () => {
    const before = await snapshot()
    const total = 20 * 1024 * 1024 // over the bulk limit of 16 MiB
    const chunk = new Uint8Array(256 * 1024).fill(0x20)
    const slowBody = () => {
      let sent = 0
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= total) return controller.close()
          await new Promise((resolve) => setTimeout(resolve, 2))
          controller.enqueue(chunk)
          sent += chunk.length
        },
      })
    }
    for (const declared of [true, false]) {
      // Before the fix, the declared-length upload failed with EPIPE: the server answered and
      // closed while the body was still on its way.
      const response = await fetch(`${t.url}${JOBS}/bulk`, {
        method: 'POST',
        body: slowBody(),
        duplex: 'half',
        headers: {
          authorization: `Bearer ${t.adminKey}`,
          'content-type': 'application/json',
          ...(declared && { 'content-length': String(total) }),
        },
      } as RequestInit)
      expect(response.status).toBe(413)
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(await response.json()).toMatchObject({ code: 'SPOOL_BODY_TOO_LARGE', limit: 16 * 1024 * 1024 })
    }
    expect(await snapshot()).toBe(before)
  })

  it('a body declared larger than the server drains is answered at once', async () => {
    const answer = await exchangeRaw(
      t.url,
      `POST ${JOBS}/bulk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${2 ** 30}\r\n\r\n{"jobs":[`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'SPOOL_BODY_TOO_LARGE' })
  })

  it('an injection string in a text search is just text', async () => {
    const response = await t.request('GET', `/v1/jobs?text=${encodeURIComponent("' OR 1=1; DROP TABLE jobs; --")}`)
    expect(response.status).toBe(200)
    expect(response.body.jobs).toEqual([])
  })

  it('the server is healthy afterwards', async () => {
    expect((await t.request('GET', '/livez', { key: null })).status).toBe(200)
    expect((await t.request('GET', '/readyz', { key: null })).status).toBe(200)
    const created = await t.request('POST', JOBS, { body: { payload: { after: true } } })
    expect(created.status).toBe(201)
    expect(t.logs.filter((line) => line.includes('"level":50'))).toEqual([])
  })
})
