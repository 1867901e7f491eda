import { describe, expect, it } from 'vitest'
import { sessionPriority } from './priority.js'

describe('session priority from the medical context', () => {
  it('takes the most urgent signal, and a given priority over both', () => {
    expect(sessionPriority({ visitType: 'emergency', urgency: 'routine' })).toMatchObject({
      name: 'urgent',
      priority: 0,
    })
    expect(sessionPriority({ urgency: 'immediate' })).toMatchObject({ name: 'urgent' })
    expect(sessionPriority({ visitType: 'follow-up', urgency: 'same-day' })).toMatchObject({
      name: 'high',
      priority: 10,
    })
    expect(sessionPriority({ urgency: 'next-day' })).toMatchObject({ name: 'normal', priority: 20 })
    expect(sessionPriority({})).toMatchObject({ name: 'normal', reason: 'no urgency given' })
    expect(sessionPriority({ visitType: 'routine', urgency: 'routine' })).toMatchObject({ name: 'low', priority: 30 })
    expect(sessionPriority({ urgency: 'routine', priority: 'urgent' })).toMatchObject({
      name: 'urgent',
      reason: 'given',
    })
    expect(sessionPriority({ priority: 15 })).toMatchObject({ name: '15', priority: 15 })
  })
})
