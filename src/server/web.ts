/**
 * The dashboard (`web/`, built by Vite into `dist/web`) served at `/`: hashed files under
 * `/assets/` are cached for a year (`immutable`: their names change with their content), every
 * other file and `index.html` are revalidated on each load (`no-cache` with an ETag), and any
 * other GET that is not an API path answers `index.html`, so the dashboard's own paths
 * (`/jobs/42`) survive a reload. The files are read once at start; a server started without a
 * build serves the API alone.
 *
 * Text files (HTML, JS, CSS, SVG, JSON) of 1 KiB or more are served compressed when the client
 * accepts it — brotli, else gzip — with `Vary: Accept-Encoding` and an ETag per encoding. The
 * build writes the compressed copies beside each file (`app-3f2a.js.br`, `.gz`: brotli at its
 * best quality, ~2 s a MB, too slow for a start); a root without them (a build by other means,
 * a test) is compressed in memory at start with fast settings (brotli 5, gzip 6). Measured on
 * this build: the 339 KB main bundle goes out as 97 KB of brotli (111 KB gzip), all 458 KB of
 * text as 128 KB.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpProblem } from './problem.js'

type Encoding = 'br' | 'gzip'

interface Representation {
  body: Buffer
  etag: string
}

interface WebFile {
  body: Buffer
  type: string
  etag: string
  immutable: boolean
  /** Compressed copies, when the file is text and compressing pays. */
  encoded: Partial<Record<Encoding, Representation>>
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

/** Worth compressing: text, of at least this size. */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.webmanifest', '.txt'])
const MIN_COMPRESS_BYTES = 1024
/** The suffix of each encoding's file beside the original. */
const SUFFIX: Record<Encoding, string> = { br: '.br', gzip: '.gz' }

/** The longest path parameter the router takes (its `maxParamLength`). */
export const MAX_PATH_SEGMENT = 256

/** Paths that belong to the API: never answered with the dashboard. */
const API_PATH = /^\/(v1|docs|openapi\.json|metrics|livez|readyz|healthz|ws)(\/|$)/

function compressible(name: string, size: number): boolean {
  return COMPRESSIBLE.has(extname(name)) && size >= MIN_COMPRESS_BYTES
}

function compress(body: Buffer, encoding: Encoding, best: boolean): Buffer {
  return encoding === 'br'
    ? brotliCompressSync(body, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: best ? constants.BROTLI_MAX_QUALITY : 5,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      })
    : gzipSync(body, { level: best ? 9 : 6 })
}

/**
 * Writes `<file>.br` and `<file>.gz` beside every text file of a built dashboard (the build runs
 * it: scripts/compress-web.mjs), at the best compression; returns the bytes before and after
 * brotli.
 *
 * @example
 * precompressTree('dist/web')
 */
export function precompressTree(root: string): { files: number; bytes: number; compressedBytes: number } {
  const totals = { files: 0, bytes: 0, compressedBytes: 0 }
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (compressible(name, statSync(path).size)) {
        const body = readFileSync(path)
        totals.files += 1
        totals.bytes += body.length
        for (const encoding of ['br', 'gzip'] as const) {
          const packed = compress(body, encoding, true)
          if (encoding === 'br') totals.compressedBytes += packed.length
          writeFileSync(path + SUFFIX[encoding], packed)
        }
      }
    }
  }
  walk(root)
  return totals
}

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
    const names = new Set(readdirSync(dir))
    for (const name of names) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else {
        // A compressed copy is served as its original's encoding, never on its own.
        const original = name.replace(/\.(br|gz)$/, '')
        if (original !== name && names.has(original) && compressible(original, statSync(join(dir, original)).size)) {
          continue
        }
        const body = readFileSync(path)
        const url = `/${relative(root, path).split(sep).join('/')}`
        const hash = createHash('sha1').update(body).digest('base64url').slice(0, 22)
        const encoded: WebFile['encoded'] = {}
        if (compressible(name, body.length)) {
          for (const encoding of ['br', 'gzip'] as const) {
            // The build's copy, unless the file changed after it was made.
            const copy = path + SUFFIX[encoding]
            const fresh = names.has(name + SUFFIX[encoding]) && statSync(copy).mtimeMs >= statSync(path).mtimeMs
            const built = fresh ? readFileSync(copy) : null
            const packed = built ?? compress(body, encoding, false)
            if (packed.length < body.length * 0.9) encoded[encoding] = { body: packed, etag: `"${hash}-${encoding}"` }
          }
        }
        files.set(url, {
          body,
          type: TYPES[extname(name)] ?? 'application/octet-stream',
          etag: `"${hash}"`,
          immutable: url.startsWith('/assets/'),
          encoded,
        })
      }
    }
  }
  walk(root)
  return files
}

/** The best encoding the client accepts among those the file has (`Accept-Encoding`, q-values honoured). */
export function chooseEncoding(header: string | undefined, available: readonly Encoding[]): Encoding | null {
  if (!header || available.length === 0) return null
  const weights = new Map<string, number>()
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined)
    if (token) weights.set(token, q === undefined ? 1 : Number(q))
  }
  let best: Encoding | null = null
  let bestWeight = 0
  for (const encoding of available) {
    const weight = weights.get(encoding) ?? weights.get('*') ?? 0
    if (weight > bestWeight) {
      best = encoding
      bestWeight = weight
    }
  }
  return best
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
    const available = Object.keys(file.encoded) as Encoding[]
    const encoding = chooseEncoding(request.headers['accept-encoding'], available)
    const chosen: Representation = encoding ? (file.encoded[encoding] as Representation) : file
    reply.header('etag', chosen.etag)
    reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    reply.header('x-content-type-options', 'nosniff')
    if (available.length > 0) reply.header('vary', 'accept-encoding')
    if (file === index) {
      reply.header('x-frame-options', 'DENY')
      reply.header('referrer-policy', 'no-referrer')
    }
    if (request.headers['if-none-match'] === chosen.etag) return reply.code(304).send()
    if (encoding) reply.header('content-encoding', encoding)
    return reply.type(file.type).send(chosen.body)
  }

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    let path: string
    try {
      path = decodeURIComponent((request.url.split('?')[0] ?? '/').replace(/\/+$/, '') || '/')
    } catch {
      throw new HttpProblem('SPOOL_INVALID_URL', 'the path has a malformed percent-encoding', { field: 'path' })
    }
    if (API_PATH.test(path)) {
      // The router falls back here when a segment is over its limit; say so, as it would
      // without a dashboard.
      if (path.split('/').some((segment) => segment.length > MAX_PATH_SEGMENT)) {
        throw new HttpProblem('SPOOL_URI_TOO_LONG', `a path segment is longer than ${MAX_PATH_SEGMENT} characters`, {
          field: 'path',
          location: 'path',
        })
      }
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
