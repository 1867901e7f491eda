/**
 * Writes the error-code tables in docs/concepts.md and docs/api.md from the catalogue
 * (src/server/errors.ts). `--check` writes nothing and exits 1 when a file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { renderErrorDocs } from '../src/server/error-docs.js'

const check = process.argv.includes('--check')
let stale = 0
for (const [file, text] of renderErrorDocs((f) => readFileSync(f, 'utf8'))) {
  if (readFileSync(file, 'utf8') === text) continue
  stale += 1
  if (check) console.error(`${file}: the error-code table differs from the catalogue; run npm run docs:errors`)
  else writeFileSync(file, text)
}
if (check && stale > 0) process.exit(1)
