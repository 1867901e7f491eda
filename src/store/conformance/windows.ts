/** Counting in time windows, for the rate-limit checks of tests and benchmarks. */

/**
 * The most of `starts` (ms) inside any window of `windowMs`.
 *
 * @example
 * maxInWindow([0, 100, 900, 1000], 1000) // 3
 */
export function maxInWindow(starts: number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b)
  let most = 0
  let from = 0
  for (let to = 0; to < sorted.length; to++) {
    while ((sorted[to] as number) - (sorted[from] as number) >= windowMs) from += 1
    most = Math.max(most, to - from + 1)
  }
  return most
}
