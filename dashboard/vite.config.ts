import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is plain static files under /dashboard/ of the Worker's static assets
// (wrangler.jsonc "assets"), so no request for it ever runs Worker code.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  // Preact's automatic JSX runtime, without a framework plugin (no HMR needed for this size).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // chart.js is most of the bundle; one file per build keeps the asset list short.
    chunkSizeWarningLimit: 400,
  },
});
