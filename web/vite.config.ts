/**
 * The dashboard's build: `npm run build` writes it to dist/web, which the server serves at `/`.
 * `npx vite --config web/vite.config.ts` serves it with reloads and sends /v1 to a Spool on
 * SPOOL_URL (default http://127.0.0.1:7700).
 */
import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [react()],
  resolve: { alias: { 'spool/client': here('../src/client/index.ts') } },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    sourcemap: false,
  },
  server: { proxy: { '/v1': { target: process.env.SPOOL_URL ?? 'http://127.0.0.1:7700', changeOrigin: true } } },
})
