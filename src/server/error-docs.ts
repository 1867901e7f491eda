/**
 * The error-code tables of docs/concepts.md and docs/api.md, written from the catalogue
 * (`server/errors.ts`) between marker comments by `npm run docs:errors`; `error-docs.test.ts`
 * fails when the files and the catalogue differ.
 */
import type { ErrorEntry } from '../engine/errors.js'
import { ERROR_AREAS } from './errors.js'

/** Where each block goes: the file (from the repository root) and the areas its table lists. */
export const ERROR_DOC_BLOCKS = [
  { file: 'docs/concepts.md', block: 'engine', areas: ['engine'] },
  { file: 'docs/api.md', block: 'all', areas: ERROR_AREAS.map((a) => a.area) },
] as const

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

function table(codes: Record<string, ErrorEntry>): string {
  const rows = Object.entries(codes).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${cell(e.title)} | ${cell(e.when)} | ${cell(e.fix)} |`,
  )
  return ['| code | status | title | when | what to do |', '|---|---|---|---|---|', ...rows].join('\n')
}

/** The Markdown of one block (without its markers). */
export function renderErrorBlock(areas: readonly string[]): string {
  const chosen = ERROR_AREAS.filter((a) => areas.includes(a.area))
  if (chosen.length === 1) return table((chosen[0] as (typeof ERROR_AREAS)[number]).codes)
  return chosen.map((a) => `#### ${a.title}\n\n${table(a.codes)}`).join('\n\n')
}

const begin = (block: string) =>
  `<!-- BEGIN GENERATED: error codes (${block}); edit src/*/errors.ts, then npm run docs:errors -->`
const end = (block: string) => `<!-- END GENERATED: error codes (${block}) -->`

/**
 * `text` with the block between its markers replaced by `content`.
 *
 * @example
 * spliceBlock(readFileSync('docs/api.md', 'utf8'), 'all', renderErrorBlock(['engine', 'http']))
 */
export function spliceBlock(text: string, block: string, content: string): string {
  const from = text.indexOf(begin(block))
  const to = text.indexOf(end(block))
  if (from < 0 || to < from) throw new Error(`the markers of the "${block}" error table are missing`)
  return `${text.slice(0, from)}${begin(block)}\n\n${content}\n\n${text.slice(to)}`
}

/** Every documentation file with its generated blocks brought up to date. */
export function renderErrorDocs(read: (file: string) => string): Map<string, string> {
  const out = new Map<string, string>()
  for (const { file, block, areas } of ERROR_DOC_BLOCKS) {
    out.set(file, spliceBlock(out.get(file) ?? read(file), block, renderErrorBlock(areas)))
  }
  return out
}
