import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const assetsDir = new URL('../dist/', import.meta.url);

// Workers static assets read `_headers` at the root of the assets directory (dist/), above the
// dashboard's own output (dist/dashboard), which Vite's public dir would land in: copy it there.
const assetsHeaders: Plugin = {
  name: 'assets-headers',
  apply: 'build',
  writeBundle() {
    copyFileSync(new URL('./_headers', import.meta.url), new URL('_headers', assetsDir));
  },
};

// The dashboard is plain static files under /dashboard/ of the Worker's static assets
// (wrangler.jsonc "assets"), so no request for it ever runs Worker code.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  // Preact's automatic JSX runtime, without a framework plugin (no HMR needed for this size).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  plugins: [assetsHeaders],
  build: {
    outDir: fileURLToPath(new URL('dashboard', assetsDir)),
    emptyOutDir: true,
    target: 'es2022',
    // chart.js is most of the bundle; one file per build keeps the asset list short.
    chunkSizeWarningLimit: 400,
  },
});
