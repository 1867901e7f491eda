/** Named priorities; any integer works too. Lower runs first, FIFO within one value. */
export const PRIORITIES = { urgent: 0, high: 10, normal: 20, low: 30 } as const
export type PriorityName = keyof typeof PRIORITIES
export type Priority = PriorityName | number

/**
 * @example
 * priorityValue('high') // 10
 * priorityValue(15)     // 15
 */
export function priorityValue(priority: Priority): number {
  return typeof priority === 'number' ? priority : PRIORITIES[priority]
}
