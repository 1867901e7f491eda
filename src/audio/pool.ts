/**
 * Runs async tasks with at most `concurrency` in flight, results in input order. The first
 * failure stops new tasks from starting and is thrown once the running ones settle, so no
 * child process outlives the call.
 *
 * @example
 * const texts = await mapConcurrent(chunks, 2, (chunk) => engine.transcribe(chunk.path))
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let failure: { error: unknown } | undefined
  const lane = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++
      try {
        results[index] = await task(items[index] as T, index)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane))
  if (failure) throw failure.error
  return results
}
