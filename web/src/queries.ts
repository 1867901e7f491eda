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

/** The gateway's providers, every 2 s while the view is open (operators only). */
export function useAiProviders() {
  const client = useClient()
  const me = useMe()
  return useQuery({
    queryKey: ['ai-providers'],
    queryFn: () => client.ai.providers(),
    enabled: me.can('operate'),
    refetchInterval: 2_000,
  })
}

export function useBreakers() {
  const client = useClient()
  return useQuery({ queryKey: ['breakers'], queryFn: () => client.breakers.list(), refetchInterval: 10_000 })
}
