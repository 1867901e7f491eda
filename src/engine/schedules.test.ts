import { describe, expect, it } from 'vitest'
import { SpoolError } from './errors.js'
import { dueTicks, MAX_CATCH_UP, nextTick, parseCron } from './schedules.js'

const at = (iso: string) => Date.parse(iso)
const iso = (ms: number) => new Date(ms).toISOString()

describe('parseCron', () => {
  it('reads 5, 6 and 7 fields and nicknames', () => {
    const from = at('2024-01-01T12:00:30Z')
    expect(iso(nextTick(parseCron('*/5 * * * *', 'UTC'), from) as number)).toBe('2024-01-01T12:05:00.000Z')
    expect(iso(nextTick(parseCron('*/10 * * * * *', 'UTC'), from) as number)).toBe('2024-01-01T12:00:40.000Z')
    expect(iso(nextTick(parseCron('0 0 0 1 1 * 2030', 'UTC'), from) as number)).toBe('2030-01-01T00:00:00.000Z')
    expect(iso(nextTick(parseCron('@hourly', 'UTC'), from) as number)).toBe('2024-01-01T13:00:00.000Z')
  })

  it('computes ticks in the time zone, across a DST change', () => {
    const berlin = parseCron('0 9 * * *', 'Europe/Berlin')
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer (DST began 2024-03-31).
    expect(iso(nextTick(berlin, at('2024-03-30T00:00:00Z')) as number)).toBe('2024-03-30T08:00:00.000Z')
    expect(iso(nextTick(berlin, at('2024-03-31T00:00:00Z')) as number)).toBe('2024-03-31T07:00:00.000Z')
  })

  it('names the field at fault', () => {
    const fault = (cron: string, timezone: string) => {
      try {
        parseCron(cron, timezone)
      } catch (error) {
        expect(error).toBeInstanceOf(SpoolError)
        return [(error as SpoolError).code, (error as SpoolError).field]
      }
      return null
    }
    expect(fault('61 * * * *', 'UTC')).toEqual(['SPOOL_INVALID_OPTION', 'cron'])
    expect(fault('every day', 'UTC')).toEqual(['SPOOL_INVALID_OPTION', 'cron'])
    expect(fault('* * * * *', 'Mars/Olympus_Mons')).toEqual(['SPOOL_INVALID_OPTION', 'timezone'])
  })

  it('has no next tick for an expression that never fires again', () => {
    expect(nextTick(parseCron('0 0 0 1 1 * 2020', 'UTC'), Date.now())).toBeNull()
  })
})

describe('dueTicks', () => {
  const hourly = parseCron('0 * * * *', 'UTC')
  const from = at('2024-01-01T10:00:00Z')
  const grace = 10_000
  const ticks = (policy: 'none' | 'latest' | 'all', now: number) =>
    dueTicks(hourly, from, now, policy, grace).map((t) => `${iso(t.at).slice(11, 16)}${t.missed ? ' missed' : ''}`)

  it('is empty before the next run', () => {
    expect(ticks('all', from - 1)).toEqual([])
  })

  it('enqueues a late tick whatever the policy', () => {
    for (const policy of ['none', 'latest', 'all'] as const) {
      expect(ticks(policy, from + 9_000)).toEqual(['10:00'])
    }
  })

  it('applies the policy to ticks older than the grace period', () => {
    const now = at('2024-01-01T13:30:00Z')
    expect(ticks('none', now)).toEqual([])
    expect(ticks('latest', now)).toEqual(['13:00 missed'])
    expect(ticks('all', now)).toEqual(['10:00 missed', '11:00 missed', '12:00 missed', '13:00 missed'])
  })

  it('enqueues late ticks beside the missed ones', () => {
    const now = at('2024-01-01T13:00:05Z')
    expect(ticks('none', now)).toEqual(['13:00'])
    expect(ticks('latest', now)).toEqual(['12:00 missed', '13:00'])
    expect(ticks('all', now)).toEqual(['10:00 missed', '11:00 missed', '12:00 missed', '13:00'])
  })

  it('catches up at most the newest 100 ticks of a long outage, cheaply', () => {
    const everySecond = parseCron('* * * * * *', 'UTC')
    const start = performance.now()
    const due = dueTicks(everySecond, from, from + 86_400_000, 'all', grace)
    expect(performance.now() - start).toBeLessThan(1_000)
    const missed = due.filter((t) => t.missed)
    expect(missed).toHaveLength(MAX_CATCH_UP)
    expect(missed.at(-1)?.at).toBe(from + 86_400_000 - grace - 1_000)
    expect(due.filter((t) => !t.missed)).toHaveLength(11)
    const times = due.map((t) => t.at)
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    expect(new Set(times).size).toBe(times.length)
  })
})
