/**
 * The signed-in client: the API key lives in sessionStorage (or localStorage when "remember"
 * was ticked), `/v1/me` tells the tenant and scopes, and `can()` hides what the key may not do
 * (the API refuses it anyway).
 */
import { useQuery } from '@tanstack/react-query'
import { createContext, type ReactNode, useContext, useMemo } from 'react'
import { createClient, type Scope, SpoolApiError, type SpoolClient } from 'spool/client'

const STORAGE_KEY = 'spool.key'

/**
 * `operate`: an admin of the operator tenant, who alone changes what every tenant shares (queue
 * settings and pauses, breakers, limit counters) and sees the workers.
 */
export type Permission = 'read' | 'produce' | 'manage' | 'admin' | 'operate'

const GRANTS: Record<Scope, Permission[]> = {
  admin: ['read', 'produce', 'manage', 'admin'],
  producer: ['read', 'produce'],
  worker: ['read'],
  reader: ['read'],
}

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY)
}

export function storeKey(key: string | null, remember = false): void {
  sessionStorage.removeItem(STORAGE_KEY)
  localStorage.removeItem(STORAGE_KEY)
  if (key) (remember ? localStorage : sessionStorage).setItem(STORAGE_KEY, key)
}

export function makeClient(apiKey: string): SpoolClient {
  return createClient({ baseUrl: window.location.origin, apiKey })
}

export interface Me {
  tenant: string
  scopes: Scope[]
  id: string
  can(permission: Permission): boolean
}

interface Session {
  client: SpoolClient
  me: Me
  signOut(): void
}

const SessionContext = createContext<Session | null>(null)

export function SessionProvider({ value, children }: { value: Session; children: ReactNode }) {
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}

export function useSession(): Session {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside SessionProvider')
  return session
}

export const useClient = () => useSession().client
export const useMe = () => useSession().me

export function toMe(raw: { tenant: string; scopes: Scope[]; id: string; operator?: boolean }): Me {
  return {
    ...raw,
    can: (permission) =>
      permission === 'operate'
        ? raw.operator === true && raw.scopes.includes('admin')
        : raw.scopes.some((scope) => GRANTS[scope]?.includes(permission)),
  }
}

/** A readable sentence for an error from the API or the network. */
export function describeError(error: unknown): string {
  if (error instanceof SpoolApiError) return `${error.problem.detail || error.problem.title} (${error.code})`
  if (error instanceof Error) return error.message
  return String(error)
}

/** Whether the server has the audio sessions API (the Sessions tab is hidden otherwise). */
export function useSessionsAvailable(): boolean {
  const client = useClient()
  const { data } = useQuery({
    queryKey: ['sessions-available'],
    queryFn: () => client.sessions.available().catch(() => false),
    staleTime: 60_000,
  })
  return data === true
}

export function useMemoClient(key: string | null) {
  return useMemo(() => (key ? makeClient(key) : null), [key])
}
