/** Small statistics helpers for the benchmark: percentiles and per-field medians. */

/** The p-th percentile (0–100) with linear interpolation between closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (p / 100) * (sorted.length - 1)
  const lower = Math.floor(rank)
  const upper = Math.ceil(rank)
  const low = sorted[lower] as number
  const high = sorted[upper] as number
  return low + (high - low) * (rank - lower)
}

export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

/**
 * The median of every numeric field across runs; other fields are taken from the first run.
 *
 * @example
 * medianFields([{ ms: 3, kind: 'x' }, { ms: 1, kind: 'x' }, { ms: 2, kind: 'x' }]) // { ms: 2, kind: 'x' }
 */
export function medianFields<T extends object>(runs: readonly T[]): T {
  const first = runs[0]
  if (first === undefined) throw new Error('medianFields needs at least one run')
  const out: Record<string, unknown> = { ...(first as Record<string, unknown>) }
  for (const [key, value] of Object.entries(first)) {
    if (typeof value !== 'number') continue
    out[key] = median(runs.map((run) => (run as Record<string, unknown>)[key] as number))
  }
  return out as T
}
