/**
 * The queue-config and enqueue-option schemas are defined once, here; the HTTP API builds on them
 * (server/schemas.ts), so the library and the API refuse the same values.
 */
import { describe, expect, it } from 'vitest'
import { parseQueueOptions, toNewJob } from './options.js'

const context = { now: 0, maxPayloadBytes: 1 << 20 }

describe('option schemas', () => {
  it('caps a retention maxCount at 1e9, as the HTTP API always did', () => {
    expect(parseQueueOptions({ retention: { completed: { maxCount: 1_000_000_000 } } })).toMatchObject({
      retention: { completed: { maxCount: 1_000_000_000 } },
    })
    expect(() => parseQueueOptions({ retention: { completed: { maxCount: 2_000_000_000 } } })).toThrow(
      expect.objectContaining({ code: 'SPOOL_INVALID_OPTION', details: { field: 'retention.completed.maxCount' } }),
    )
  })

  it('refuses a time past what a Date holds', () => {
    expect(() => toNewJob('q', {}, { runAt: 8_640_000_000_000_001 }, context)).toThrow(
      expect.objectContaining({ code: 'SPOOL_INVALID_OPTION', details: { field: 'runAt' } }),
    )
    expect(toNewJob('q', {}, { runAt: 8_640_000_000_000_000 }, context).runAt).toBe(8_640_000_000_000_000)
  })
})
