import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** The web app: root `src/web`, built into `web-dist/` at the repo root (served by the server at `/`). */
export default defineConfig({
  root: here('./src/web'),
  base: '/',
  plugins: [react()],
  build: {
    outDir: here('./web-dist'),
    emptyOutDir: true,
    // No inline scripts or data: URLs, so a strict CSP (`script-src 'self'`) holds.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // `npx vite` against a running `cis490-dashboard serve` on the default port.
    proxy: {
      '/api': 'http://127.0.0.1:8490',
      '/ws': { target: 'ws://127.0.0.1:8490', ws: true },
    },
  },
});
