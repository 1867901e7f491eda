/**
 * A session's queue priority from its medical context. The most urgent signal wins:
 *
 * | context | priority |
 * |---|---|
 * | visit type `emergency`, or urgency `immediate` | `urgent` |
 * | urgency `same-day` | `high` |
 * | urgency `next-day`, or nothing said | `normal` |
 * | urgency `routine` (and no emergency) | `low` |
 *
 * `metadata.priority` (a name or a number from −1000 to 1000) overrides the derivation, and
 * `PATCH /v1/sessions/:id` changes it later.
 */
import { PRIORITIES, type Priority, priorityValue } from '../../engine/priority.js'

export const VISIT_TYPES = ['consultation', 'follow-up', 'emergency', 'routine'] as const
export const URGENCIES = ['immediate', 'same-day', 'next-day', 'routine'] as const
export type VisitType = (typeof VISIT_TYPES)[number]
export type Urgency = (typeof URGENCIES)[number]

/**
 * @example
 * sessionPriority({ visitType: 'follow-up', urgency: 'same-day' }) // { priority: 10, name: 'high', reason: 'urgency same-day' }
 */
export function sessionPriority(context: { visitType?: VisitType; urgency?: Urgency; priority?: Priority }): {
  priority: number
  name: string
  reason: string
} {
  if (context.priority !== undefined) {
    const value = priorityValue(context.priority)
    return { priority: value, name: nameOf(value), reason: 'given' }
  }
  if (context.visitType === 'emergency')
    return { priority: PRIORITIES.urgent, name: 'urgent', reason: 'emergency visit' }
  switch (context.urgency) {
    case 'immediate':
      return { priority: PRIORITIES.urgent, name: 'urgent', reason: 'urgency immediate' }
    case 'same-day':
      return { priority: PRIORITIES.high, name: 'high', reason: 'urgency same-day' }
    case 'next-day':
      return { priority: PRIORITIES.normal, name: 'normal', reason: 'urgency next-day' }
    case 'routine':
      return { priority: PRIORITIES.low, name: 'low', reason: 'urgency routine' }
    default:
      return { priority: PRIORITIES.normal, name: 'normal', reason: 'no urgency given' }
  }
}

/** The level's name for a numeric priority, or the number as text. */
export function nameOf(priority: number): string {
  return Object.entries(PRIORITIES).find(([, value]) => value === priority)?.[0] ?? String(priority)
}
