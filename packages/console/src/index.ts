/**
 * @gridseam/console: the operator console (web UI) the gateway serves at `/`.
 *
 * This is the package's Node entry: it only says where the built console lives. The browser app
 * is in `web/` (Preact + uPlot), built by Vite (`npm run build:console` at the repository root)
 * into `build/`: `index.html` plus hashed files under `build/assets/`. It talks to the gateway
 * over the operator API only (docs/reference/api.md).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of the built console (packages/console/build), whether or not it was built. */
export function consoleAssetsDir(): string {
  return fileURLToPath(new URL('../build', import.meta.url));
}

/** Whether the console has been built (its index.html is there). */
export function consoleBuilt(): boolean {
  return existsSync(fileURLToPath(new URL('../build/index.html', import.meta.url)));
}
