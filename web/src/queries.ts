/** The queries several views share, with their keys (which live events mark stale). */
import { useQuery } from '@tanstack/react-query'
import { useClient, useMe } from './api'

export function useStats(queue?: string) {
  const client = useClient()
  return useQuery({
    queryKey: queue ? ['stats', queue] : ['stats'],
    queryFn: () => (queue ? client.queues.stats(queue) : client.stats()),
    refetchInterval: 15_000,
  })
}

export function useQueues() {
  const client = useClient()
  return useQuery({ queryKey: ['queues'], queryFn: () => client.queues.list(), refetchInterval: 15_000 })
}

export function useWorkers() {
  const client = useClient()
  const me = useMe()
  return useQuery({
    queryKey: ['workers'],
    queryFn: () => client.workers.list(),
    enabled: me.can('operate'),
    refetchInterval: 5_000,
  })
}

export function useBreakers() {
  const client = useClient()
  return useQuery({ queryKey: ['breakers'], queryFn: () => client.breakers.list(), refetchInterval: 10_000 })
}

/** The oldest waiting job: the last of the newest-first list (read in pages of 1000, at most five). */
export function useOldestWaiting() {
  const client = useClient()
  return useQuery({
    queryKey: ['oldest-waiting'],
    queryFn: async () => {
      let cursor: string | undefined
      let last: { id: string; queue: string; createdAt: string } | null = null
      for (let page = 0; page < 5; page++) {
        const result = await client.jobs.list({ state: 'waiting', limit: 1000, ...(cursor && { cursor }) })
        const tail = result.jobs.at(-1)
        if (tail) last = tail
        if (!result.nextCursor) return { job: last, more: false }
        cursor = result.nextCursor
      }
      return { job: last, more: true }
    },
    refetchInterval: 30_000,
  })
}
