/**
 * OpenAI's Batch API through the gateway, end to end with the `openai` SDK: files.create,
 * batches.create/retrieve/list/cancel, files.content, against a real Spool server (SQLite and
 * PostgreSQL, encrypted at rest) and the fake OpenAI upstream, which counts every call per request.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBatch } from '../../src/ai/batches.js'
import { type FakeUpstream, startFakeUpstream } from '../../src/ai/fake-upstream.js'
import type { Gateway } from '../../src/ai/gateway.js'
import { eventually, type TestServer } from '../server/helpers.js'
import { startGatewayServer } from './helpers.js'

const line = (custom_id: string, content: string, model = 'gpt-batch') =>
  JSON.stringify({
    custom_id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content }] },
  })

describe.each(['sqlite', 'postgres'] as const)('AI gateway: Batch API (%s)', (database) => {
  let t: TestServer
  let gateway: Gateway
  let fake: FakeUpstream
  let held: FakeUpstream
  let tenantA: string
  let tenantB: string

  beforeAll(async () => {
    fake = await startFakeUpstream()
    held = await startFakeUpstream()
    const provider = (f: FakeUpstream, models: string[]) => ({
      kind: 'openai' as const,
      baseUrl: f.url,
      apiKeyEnv: 'FAKE_UPSTREAM_KEY',
      models,
      breaker: { failureThreshold: 5, cooldownMs: 600 },
    })
    ;({ t, gateway } = await startGatewayServer(
      {
        database,
        config: {
          providers: { batch: provider(fake, ['gpt-batch']), held: provider(held, ['gpt-held']) },
          gateway: { maxWaitSeconds: 30 },
        },
      },
      { FAKE_UPSTREAM_KEY: 'sk-batch-secret' },
    ))
    tenantA = await t.key('tenant-a', ['producer'])
    tenantB = await t.key('tenant-b', ['producer'])
  })

  afterAll(async () => {
    await gateway?.close({ graceMs: 100 })
    await t?.close()
    await fake?.close()
    await held?.close()
  })

  const client = (key = tenantA) => new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 })
  const upload = async (text: string, key = tenantA) =>
    client(key).files.create({ file: await toFile(Buffer.from(text), 'input.jsonl'), purpose: 'batch' })

  it('runs a batch to completed: output and error files by custom_id, request_counts, one upstream call a line', async () => {
    fake.script({
      status: 400,
      body: { error: { message: 'bad value', type: 'invalid_request_error', code: 'invalid_value', param: null } },
    })
    const file = await upload([line('a', 'batch one'), line('b', 'batch two'), line('c', 'batch three')].join('\n'))
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'input.jsonl' })
    const created = await client().batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { job: 'nightly' },
    })
    expect(created).toMatchObject({ object: 'batch', status: 'in_progress', metadata: { job: 'nightly' } })
    const done = await eventually(async () => {
      const batch = await client().batches.retrieve(created.id)
      return batch.status === 'completed' && batch
    }, 'the batch to complete')
    expect(done.request_counts).toEqual({ total: 3, completed: 2, failed: 1 })
    expect(done.completed_at).toBeGreaterThan(0)
    const output = (await (await client().files.content(done.output_file_id as string)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const errors = (await (await client().files.content(done.error_file_id as string)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(output).toHaveLength(2)
    expect(errors).toHaveLength(1)
    const contents = { a: 'batch one', b: 'batch two', c: 'batch three' } as Record<string, string>
    for (const row of output) {
      expect(row.response.status_code).toBe(200)
      expect(row.response.body.choices[0].message.content).toBe(`echo: ${contents[row.custom_id]}`)
    }
    expect(errors[0].response).toMatchObject({ status_code: 400, body: { error: { code: 'invalid_value' } } })
    for (const text of Object.values(contents)) expect(fake.callsFor(text)).toBe(1)
    // Encrypted at rest: the input and output lines are nowhere in the database file in clear.
    const db = readdirSync(t.dir)
      .filter((name) => name.startsWith('spool.db'))
      .map((name) => readFileSync(join(t.dir, name)).toString('latin1'))
      .join('')
    if (database === 'sqlite') expect(db.length).toBeGreaterThan(0)
    expect(db).not.toContain('batch three')
    const listed = await client().batches.list()
    expect(listed.data.map((b) => b.id)).toContain(created.id)
  })

  it('refuses a bad file naming its line, and a model nobody serves fails the batch naming the line', async () => {
    const bad = await upload(
      [line('a', 'x'), JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: {} })].join('\n'),
    ).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError)
    expect(bad).toMatchObject({ param: 'file' })
    expect((bad as Error).message).toContain('line 2')
    const dup = await upload([line('a', 'x'), line('a', 'y')].join('\n')).catch((e: unknown) => e)
    expect((dup as Error).message).toContain('used twice')
    const file = await upload([line('a', 'fine'), line('b', 'nobody', 'gpt-nope')].join('\n'))
    const batch = await client().batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    expect(batch.status).toBe('failed')
    expect(batch.errors?.data?.[0]).toMatchObject({ code: 'model_not_found', line: 2 })
    expect(fake.callsFor('fine')).toBe(0)
  })

  it('keeps files and batches in their tenant', async () => {
    const file = await upload(line('a', 'private'))
    const batch = await client().batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    const other = client(tenantB)
    await expect(other.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(other.files.content(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(other.batches.retrieve(batch.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(other.batches.cancel(batch.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(
      other.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await other.batches.list()).data).toHaveLength(0)
  })

  it('cancels a batch whose lines wait: cancelling, then cancelled, with no upstream call', async () => {
    await t.spool.queues.pause('ai.held')
    const file = await upload([line('x', 'held one', 'gpt-held'), line('y', 'held two', 'gpt-held')].join('\n'))
    const batch = await client().batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    expect(batch.status).toBe('in_progress')
    const cancelling = await client().batches.cancel(batch.id)
    expect(['cancelling', 'cancelled']).toContain(cancelling.status)
    const cancelled = await eventually(async () => {
      const b = await client().batches.retrieve(batch.id)
      return b.status === 'cancelled' && b
    }, 'the batch to be cancelled')
    expect(cancelled.request_counts).toEqual({ total: 2, completed: 0, failed: 2 })
    const errors = (await (await client().files.content(cancelled.error_file_id as string)).text()).trim().split('\n')
    expect(errors.map((l) => JSON.parse(l).error.code)).toEqual(['batch_cancelled', 'batch_cancelled'])
    expect(held.calls).toHaveLength(0)
    await t.spool.queues.resume('ai.held')
  })

  it('expires the lines its completion window did not reach: expired, batch_expired, no upstream call', async () => {
    await t.spool.queues.pause('ai.held')
    const content = [line('p', 'late one', 'gpt-held'), line('q', 'late two', 'gpt-held')].join('\n')
    // The route takes windows of 1 h and more; the deadline itself is what this test shortens.
    const batch = await createBatch(gateway, {
      tenant: 'tenant-a',
      fileId: 'file-000000000000000000000000',
      file: { filename: 'in.jsonl', purpose: 'batch', bytes: content.length, created_at: 0, content },
      endpoint: '/v1/chat/completions',
      completionWindow: '1h',
      windowMs: 200,
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await t.spool.queues.resume('ai.held')
    const expired = await eventually(async () => {
      const b = await client().batches.retrieve(batch.id)
      return b.status === 'expired' && b
    }, 'the batch to expire')
    expect(expired.expired_at).toBeGreaterThan(0)
    expect(expired.request_counts).toEqual({ total: 2, completed: 0, failed: 2 })
    const errors = (await (await client().files.content(expired.error_file_id as string)).text()).trim().split('\n')
    expect(errors.map((l) => JSON.parse(l).error.code)).toEqual(['batch_expired', 'batch_expired'])
    expect(held.callsFor('late one') + held.callsFor('late two')).toBe(0)
  })
})
