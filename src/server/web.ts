/**
 * The dashboard (`web/`, built by Vite into `dist/web`) served at `/`: hashed files under
 * `/assets/` are cached for a year (`immutable`: their names change with their content), every
 * other file and `index.html` are revalidated on each load (`no-cache` with an ETag), and any
 * other GET that is not an API path answers `index.html`, so the dashboard's own paths
 * (`/jobs/42`) survive a reload. The files are read once at start; a server started without a
 * build serves the API alone.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpProblem } from './problem.js'

interface WebFile {
  body: Buffer
  type: string
  etag: string
  immutable: boolean
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/** Paths that belong to the API: never answered with the dashboard. */
const API_PATH = /^\/(v1|docs|openapi\.json|metrics|livez|readyz|healthz|ws)(\/|$)/

/**
 * Where the built dashboard is: beside the compiled server (`dist/web`), or, when the server
 * runs from source, the build in `dist/web` of the package.
 */
export function defaultWebRoot(): string | null {
  for (const candidate of ['../web/', '../../dist/web/']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(join(path, 'index.html'))) return path
  }
  return null
}

function readTree(root: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>()
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else {
        const body = readFileSync(path)
        const url = `/${relative(root, path).split(sep).join('/')}`
        files.set(url, {
          body,
          type: TYPES[extname(name)] ?? 'application/octet-stream',
          etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`,
          immutable: url.startsWith('/assets/'),
        })
      }
    }
  }
  walk(root)
  return files
}

/**
 * @example
 * const root = defaultWebRoot()
 * if (root) registerWeb(app, root)
 */
export function registerWeb(app: FastifyInstance, root: string): void {
  const files = readTree(root)
  const index = files.get('/index.html')
  if (!index) return

  const send = (request: FastifyRequest, reply: FastifyReply, file: WebFile) => {
    reply.header('etag', file.etag)
    reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    reply.header('x-content-type-options', 'nosniff')
    if (file === index) {
      reply.header('x-frame-options', 'DENY')
      reply.header('referrer-policy', 'no-referrer')
    }
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send()
    return reply.type(file.type).send(file.body)
  }

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = decodeURIComponent((request.url.split('?')[0] ?? '/').replace(/\/+$/, '') || '/')
    if (API_PATH.test(path)) {
      throw new HttpProblem('SPOOL_NOT_FOUND', `no route ${request.method} ${path}`)
    }
    const file = files.get(path)
    if (file) return send(request, reply, file)
    // A missing hashed file is a 404, not the page: a stale tab asking for an old build.
    if (path.startsWith('/assets/') || extname(path) !== '') {
      throw new HttpProblem('SPOOL_NOT_FOUND', `no file ${path}`)
    }
    return send(request, reply, index)
  }
  app.get('/', handler)
  app.get('/*', handler)
}
