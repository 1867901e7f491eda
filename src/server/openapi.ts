/**
 * OpenAPI 3.1 from the route declarations: the same zod schemas that validate requests describe
 * them (JSON Schema 2020-12, which 3.1 uses as it is). Schemas with `.meta({ id })` become
 * components. `docs/openapi.json` is this document, committed; a test fails when they differ
 * (regenerate with `spool openapi > docs/openapi.json`).
 */
import { z } from 'zod'
import type { AnyRoute } from './route.js'
import { allRoutes } from './routes/index.js'
import { problem } from './schemas.js'

const COMMON_ERRORS: Record<number, string> = {
  400: 'Invalid input (problem+json names the `field`)',
  401: 'No credential, or not a valid one',
  403: 'The credential may not do this, or not in that tenant',
  404: 'No such resource (in this tenant)',
  409: 'The resource is not in a state that allows this',
  413: 'The body or payload is too large',
  415: 'The body is not application/json',
  429: 'Over a rate limit (see Retry-After)',
  503: 'Not available now (see Retry-After)',
}

type JsonSchema = Record<string, unknown>

/**
 * @example
 * writeFileSync('docs/openapi.json', JSON.stringify(openApiDocument(), null, 2))
 */
export function openApiDocument(routes: AnyRoute[] = allRoutes): Record<string, unknown> {
  const components: Record<string, JsonSchema> = {}
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const raw = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema
    const json = JSON.parse(JSON.stringify(raw).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>
    for (const [id, def] of Object.entries(defs)) components[id] = def
    delete json.$defs
    delete json.$schema
    // A top-level schema with an id is a component too: refer to it. zod already answers such a
    // schema as a `$ref` to its own entry in `$defs`; keep that entry, not a reference to itself.
    const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id
    if (id) {
      const ref = `#/components/schemas/${id}`
      if (json.$ref !== ref) components[id] = json
      return { $ref: ref }
    }
    return json
  }
  const paths: Record<string, Record<string, unknown>> = {}
  for (const spec of routes) {
    const path = spec.url.replace(/:([A-Za-z_]+)/g, '{$1}')
    const operation: Record<string, unknown> = {
      operationId: spec.id,
      tags: [spec.tag],
      summary: spec.summary,
      ...(spec.description && { description: spec.description }),
    }
    const parameters: unknown[] = []
    for (const [where, schema] of [
      ['path', spec.params],
      ['query', spec.query],
    ] as const) {
      if (!schema) continue
      const json = convert(schema, 'input')
      const properties = (json.properties ?? {}) as Record<string, JsonSchema>
      const required = new Set((json.required ?? []) as string[])
      for (const [name, property] of Object.entries(properties)) {
        const { description, ...rest } = property
        parameters.push({
          name,
          in: where,
          required: where === 'path' || required.has(name),
          schema: rest,
          ...(typeof description === 'string' && { description }),
        })
      }
    }
    if (spec.stream || spec.permission !== 'public') {
      if (spec.permission !== 'public' && spec.permission !== 'metrics') {
        parameters.push({
          name: 'Spool-Tenant',
          in: 'header',
          required: false,
          schema: { type: 'string' },
          description: 'act in this tenant instead of the credential’s own (admins of the operator tenant only)',
        })
      }
    }
    if (parameters.length) operation.parameters = parameters
    if (spec.body) {
      const optional = spec.body.safeParse(undefined).success
      operation.requestBody = {
        required: !optional,
        content: { 'application/json': { schema: convert(spec.body, 'input') } },
      }
    }
    const status = String(spec.status ?? 200)
    const responses: Record<string, unknown> = {}
    if (spec.stream) {
      responses[status] = {
        description: 'A stream of server-sent events',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      }
    } else if (spec.download) {
      responses[status] = {
        description: 'A file (content-disposition: attachment), streamed',
        content: Object.fromEntries(spec.download.map((type) => [type, { schema: { type: 'string' } }])),
      }
    } else if (spec.id === 'metrics') {
      responses[status] = {
        description: 'Prometheus text exposition format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      }
    } else if (spec.response) {
      responses[status] = {
        description: 'OK',
        content: { 'application/json': { schema: convert(spec.response, 'output') } },
      }
    } else responses[status] = { description: 'No content' }
    const errors = new Set<number>(spec.errors ?? [])
    if (spec.permission !== 'public') {
      errors.add(401)
      errors.add(403)
    }
    if (spec.params || spec.query || spec.body) errors.add(400)
    if (spec.params) errors.add(404)
    if (spec.body) errors.add(415)
    for (const code of [...errors].sort()) {
      responses[String(code)] = {
        description: COMMON_ERRORS[code] ?? 'Error',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      }
    }
    operation.responses = responses
    if (spec.permission === 'public') operation.security = []
    operation['x-spool-permission'] = spec.permission
    paths[path] ??= {}
    ;(paths[path] as Record<string, unknown>)[spec.method.toLowerCase()] = operation
  }
  convert(problem, 'output')
  paths['/v1/ws'] = {
    get: {
      operationId: 'events.websocket',
      tags: ['events'],
      summary: 'WebSocket: subscribe and unsubscribe to event streams over one connection (see docs/api.md)',
      'x-spool-permission': 'read',
      responses: { '101': { description: 'Switching protocols' }, '401': { description: COMMON_ERRORS[401] } },
    },
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Spool',
      version: '1',
      description:
        'A durable job queue and pipeline server. Authenticate with `Authorization: Bearer <API key or JWT>`. Errors are RFC 9457 problem+json with a stable `code`. See docs/api.md.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: ['queues', 'jobs', 'events', 'workers', 'webhooks', 'admin', 'operations'].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key (spool_…) or a JWT' },
      },
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
    },
  }
}
