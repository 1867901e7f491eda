/** Who the credential is: its tenant and scopes, so a client (the dashboard) shows only what it may do. */
import { z } from 'zod'
import { SCOPES } from '../../security/api-keys.js'
import { route } from '../route.js'

export const meRoutes = [
  route({
    id: 'auth.me',
    method: 'GET',
    url: '/v1/me',
    tag: 'admin',
    summary: 'The caller: credential kind and id, user, the tenant this request acts in, and scopes',
    permission: 'read',
    response: z
      .object({
        kind: z.enum(['key', 'jwt']),
        id: z.string(),
        user: z.string().nullable(),
        tenant: z.string(),
        scopes: z.array(z.enum(SCOPES)),
        operator: z
          .boolean()
          .describe('the credential belongs to the operator tenant (its admins change shared queues and breakers)'),
      })
      .meta({ id: 'Me' }),
    async handler({ principal, tenant }) {
      return {
        kind: principal.kind,
        id: principal.id,
        user: principal.user,
        tenant,
        scopes: principal.scopes,
        operator: principal.operator,
      }
    },
  }),
]
