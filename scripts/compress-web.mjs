// Writes brotli and gzip copies beside the built dashboard's text files (dist/web), which the
// server sends to clients that accept them (src/server/web.ts). Runs after `vite build`.
import { precompressTree } from '../dist/server/web.js'

const { files, bytes, compressedBytes } = precompressTree('dist/web')
const kb = (n) => `${Math.round(n / 1024)} KB`
console.log(`dashboard: ${files} text files, ${kb(bytes)} → ${kb(compressedBytes)} brotli`)
