/**
 * Who is calling, in which tenant, and what they may do.
 *
 * A request carries `Authorization: Bearer <credential>` (or, for EventSource and WebSocket
 * clients that cannot set headers, `?access_token=` on the stream routes only). A credential is
 * an API key (`spool_…`, looked up by its hash, cached for `cacheMs`) or a JWT (HS256 with a
 * shared secret, or any algorithm jose accepts from a JWKS URL) whose claims name the tenant,
 * the user and the roles. Roles and key scopes are the same four words:
 *
 * | scope    | read | produce (enqueue, steer own jobs) | work (HTTP leases) | manage (queues, bulk, hooks) | admin (keys, audit, other tenants) |
 * |----------|------|-----------------------------------|--------------------|------------------------------|------------------------------------|
 * | reader   | ✓    |                                   |                    |                              |                                    |
 * | producer | ✓    | ✓                                 |                    |                              |                                    |
 * | worker   | ✓    |                                   | ✓                  |                              |                                    |
 * | admin    | ✓    | ✓                                 | ✓                  | ✓                            | ✓                                  |
 *
 * Every route acts in the caller's tenant. One tenant, `auth.operatorTenant` (`default`), is the
 * installation's own: what every tenant shares — queue settings, pausing, circuit breakers,
 * rate-limit counters, the connected workers, `/metrics` — is changed (or, for workers and
 * metrics, seen) only by its admins (the `operate` permission). They alone may also act in
 * another tenant, by naming it with the `Spool-Tenant` header (or `?tenant=` on streams);
 * anyone else who does gets 403.
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose'
import type { Spool } from '../engine/spool.js'
import { hashApiKey, SCOPES, type Scope } from '../security/api-keys.js'
import { findApiKeyByHash } from './keys.js'
import { HttpProblem } from './problem.js'
import { TENANT_NAME } from './schemas.js'

/**
 * What a route needs. `operate`: an admin of the operator tenant (installation-wide changes);
 * `metrics` is public or `operate` as `metrics.public` says.
 */
export type Permission = 'public' | 'read' | 'produce' | 'work' | 'manage' | 'admin' | 'operate' | 'metrics'

export interface Principal {
  kind: 'key' | 'jwt'
  /** The key id, or the JWT's subject. */
  id: string
  user: string | null
  /** The tenant the credential belongs to. */
  tenant: string
  scopes: Scope[]
  /** The credential belongs to the operator tenant (`auth.operatorTenant`). */
  operator: boolean
}

export interface JwtConfig {
  /** HS256 shared secret (at least 32 characters). */
  secret?: string | undefined
  /** A JWKS address for asymmetric tokens. */
  jwksUrl?: string | undefined
  issuer?: string | undefined
  audience?: string | undefined
  /** Claim holding the tenant (default `tenant`). */
  tenantClaim: string
  /** Claim holding the user (default `sub`). */
  userClaim: string
  /** Claim holding the roles, an array or a space-separated string (default `roles`). */
  rolesClaim: string
  /** Tenant for tokens without the tenant claim; without it such tokens are refused. */
  defaultTenant?: string | undefined
}

const GRANTS: Record<Scope, readonly Permission[]> = {
  admin: ['read', 'produce', 'work', 'manage', 'admin', 'operate'],
  producer: ['read', 'produce'],
  worker: ['read', 'work'],
  reader: ['read'],
}

/** Whether the scopes give the permission (`operate` also needs the operator tenant: see `authorize`). */
export function allows(scopes: readonly Scope[], permission: Permission): boolean {
  const needed = permission === 'metrics' ? 'operate' : permission
  return needed === 'public' || scopes.some((scope) => GRANTS[scope]?.includes(needed))
}

/**
 * Throws 403 unless the principal may use a route that needs `permission`.
 *
 * @example
 * authorize(principal, 'operate') // an admin key of the operator tenant passes; any other throws
 */
export function authorize(principal: Principal, permission: Exclude<Permission, 'metrics'>): void {
  if (!allows(principal.scopes, permission)) {
    throw new HttpProblem(
      'SPOOL_FORBIDDEN',
      `this route needs the ${permission === 'operate' ? 'admin' : permission} permission, which scopes ${principal.scopes.join(', ') || '(none)'} do not give`,
      { field: 'authorization' },
    )
  }
  if (permission === 'operate' && !principal.operator) {
    throw new HttpProblem(
      'SPOOL_FORBIDDEN',
      `this route changes what every tenant shares, so it needs an admin credential of the operator tenant, not of "${principal.tenant}"`,
      { field: 'authorization' },
    )
  }
}

/**
 * @example
 * const auth = new Authenticator(spool, { jwt: { secret, tenantClaim: 'tenant', userClaim: 'sub', rolesClaim: 'roles' } })
 * const principal = await auth.authenticate(request.headers.authorization)
 */
export class Authenticator {
  private readonly cache = new Map<string, { key: Principal | null; until: number }>()
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | null
  private readonly secret: Uint8Array | null

  constructor(
    private readonly spool: Spool,
    private readonly options: { jwt?: JwtConfig | undefined; cacheMs?: number; operatorTenant?: string },
  ) {
    const jwt = options.jwt
    this.secret = jwt?.secret ? new TextEncoder().encode(jwt.secret) : null
    this.jwks = jwt?.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5_000 }) : null
  }

  /** Reads the credential from a header value (`Bearer …`) or a stream's `access_token`. */
  async authenticate(header: string | undefined, queryToken?: string): Promise<Principal> {
    let credential: string | undefined
    if (header !== undefined) {
      const match = /^Bearer ([^\s]{1,4096})$/i.exec(header.trim())
      if (!match) throw new HttpProblem('SPOOL_UNAUTHENTICATED', 'Authorization must be "Bearer <key or token>"')
      credential = match[1]
    } else credential = queryToken
    if (!credential)
      throw new HttpProblem('SPOOL_UNAUTHENTICATED', 'send an API key or a JWT as "Authorization: Bearer …"')
    if (credential.startsWith('spool_')) return this.apiKey(credential)
    if (credential.split('.').length === 3) return this.token(credential)
    throw new HttpProblem('SPOOL_UNAUTHENTICATED', 'the credential is neither an API key nor a JWT')
  }

  /** Forget cached keys (after a revoke), so the change holds at once on this node. */
  forget(): void {
    this.cache.clear()
  }

  private async apiKey(token: string): Promise<Principal> {
    // Cached by the key itself (it is in this process's memory for the request anyway), so a
    // cached key costs no hashing.
    const now = Date.now()
    const cached = this.cache.get(token)
    let principal: Principal | null
    if (cached && cached.until > now) principal = cached.key
    else {
      const stored = await findApiKeyByHash(this.spool, hashApiKey(token))
      principal =
        stored && !stored.revoked
          ? {
              kind: 'key',
              id: stored.id,
              user: null,
              tenant: stored.tenant,
              scopes: stored.scopes,
              operator: this.isOperator(stored.tenant),
            }
          : null
      if (this.cache.size > 10_000) this.cache.clear()
      this.cache.set(token, { key: principal, until: now + (this.options.cacheMs ?? 5_000) })
    }
    if (!principal) throw new HttpProblem('SPOOL_UNAUTHENTICATED', 'the API key is unknown or revoked')
    return principal
  }

  private async token(token: string): Promise<Principal> {
    const jwt = this.options.jwt
    if (!jwt || (!this.secret && !this.jwks)) {
      throw new HttpProblem('SPOOL_UNAUTHENTICATED', 'this server does not accept JWTs')
    }
    let payload: JWTPayload
    try {
      const verify = { ...(jwt.issuer && { issuer: jwt.issuer }), ...(jwt.audience && { audience: jwt.audience }) }
      payload = this.secret
        ? (await jwtVerify(token, this.secret, { ...verify, algorithms: ['HS256'] })).payload
        : (await jwtVerify(token, this.jwks as NonNullable<typeof this.jwks>, verify)).payload
    } catch (error) {
      const code = (error as { code?: string }).code
      const why = code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token is not valid'
      throw new HttpProblem('SPOOL_UNAUTHENTICATED', why)
    }
    const tenant = claim(payload, jwt.tenantClaim) ?? jwt.defaultTenant
    if (typeof tenant !== 'string' || !TENANT_NAME.test(tenant)) {
      throw new HttpProblem('SPOOL_UNAUTHENTICATED', `the token has no valid "${jwt.tenantClaim}" claim`)
    }
    const rawRoles = claim(payload, jwt.rolesClaim)
    const roles = Array.isArray(rawRoles) ? rawRoles : typeof rawRoles === 'string' ? rawRoles.split(/\s+/) : []
    const scopes = roles.filter((role): role is Scope => SCOPES.includes(role as Scope))
    const user = claim(payload, jwt.userClaim)
    return {
      kind: 'jwt',
      id: typeof payload.sub === 'string' ? payload.sub : 'jwt',
      user: typeof user === 'string' ? user : null,
      tenant,
      scopes,
      operator: this.isOperator(tenant),
    }
  }

  private isOperator(tenant: string): boolean {
    return tenant === (this.options.operatorTenant ?? 'default')
  }
}

/** Reads a claim by name, or by a dotted path (`https://example.com/claims.tenant` is one name). */
function claim(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name]
  let value: unknown = payload
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/**
 * The tenant a request acts in: the credential's own, or (admins of the operator tenant only)
 * the one asked for.
 */
export function resolveTenant(principal: Principal, asked: string | undefined): string {
  if (asked === undefined || asked === principal.tenant) return principal.tenant
  if (!TENANT_NAME.test(asked)) {
    throw new HttpProblem('SPOOL_INVALID_REQUEST', 'Spool-Tenant is not a valid tenant name', { field: 'spool-tenant' })
  }
  if (!principal.scopes.includes('admin') || !principal.operator) {
    throw new HttpProblem(
      'SPOOL_TENANT_FORBIDDEN',
      `only an admin of the operator tenant may act in another tenant than "${principal.tenant}"`,
      { field: 'spool-tenant' },
    )
  }
  return asked
}
