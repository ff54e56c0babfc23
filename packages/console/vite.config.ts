/**
 * Builds the console (web/, entry index.html) into build/: one hashed JS and CSS file under
 * build/assets/, nothing fetched from a CDN. JSX goes through Vite's own oxc transform with
 * Preact's automatic runtime (no plugin). `npm run dev -w @gridseam/console` serves it with
 * /api proxied to a running gateway (GRIDSEAM_API, default http://127.0.0.1:8080).
 */
import { defineConfig } from 'vite';

const api = process.env.GRIDSEAM_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'build',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  server: { host: '127.0.0.1', proxy: { '/api': { target: api, ws: true } } },
});
