/**
 * The operator console's files (packages/console, built by Vite into its build/ folder): `GET /`
 * answers index.html, `GET /assets/*` the bundled files under build/assets and `GET /favicon.ico`
 * the build's icon (204 without one, so browsers log no 404). Public: the console
 * asks for a token itself and every API call it makes carries it. The console routes by URL
 * fragment (#/devices/ID), so no other path is needed.
 *
 * Safety: an asset path is split into segments and refused (404) when a segment is empty, `.`, `..`,
 * hidden or holds a backslash or NUL; the resolved path, symbolic links followed, must stay inside
 * build/assets and be a regular file. Hashed names (Vite's `name-HASH.ext`) are cached as immutable
 * for a year; index.html and other names are revalidated by ETag. Without a build, `/` answers 503.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { GridseamError } from '@gridseam/model';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Api } from './context.ts';

export const CONSOLE_NOT_BUILT = 'the console is not built: run npm run build:console';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** Vite's hashed names: `index-BQ3kJ8x_.js`, `chunk.3f2a9c1b.css`. */
const HASHED_NAME = /[-.][A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const MAX_PATH_CHARS = 512;
/** Files larger than this are not served (a bundle is far smaller). */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/**
 * The page's own policy: everything from this origin (the live feed too: CSP 3 'self' covers ws: and
 * wss: of the same host), inline styles (charting libraries set them), no framing.
 */
const INDEX_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** The file an asset path names inside `assetsDir`, or undefined when it is refused or absent. */
export async function assetFile(assetsDir: string, relative: string): Promise<string | undefined> {
  if (relative.length === 0 || relative.length > MAX_PATH_CHARS) return undefined;
  const segments = relative.split('/');
  const refused = (segment: string) =>
    segment === '' || segment.startsWith('.') || segment.includes('\\') || segment.includes('\0');
  if (segments.some(refused)) return undefined;
  const root = resolve(assetsDir);
  const candidate = resolve(root, ...segments);
  if (!candidate.startsWith(root + sep)) return undefined;
  try {
    const [real, realRoot] = await Promise.all([realpath(candidate), realpath(root)]);
    if (!real.startsWith(realRoot + sep)) return undefined;
    const info = await stat(real);
    return info.isFile() && info.size <= MAX_FILE_BYTES ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Sends a file with its content type and a weak ETag (size and modification time); 304 when unchanged. */
async function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  cacheControl: string,
): Promise<FastifyReply> {
  const info = await stat(path);
  const etag = `W/"${info.size.toString(16)}-${Math.trunc(info.mtimeMs).toString(16)}"`;
  reply.header('cache-control', cacheControl).header('etag', etag).header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type(contentTypeOf(path)).send(await readFile(path));
}

/** GET / and GET /assets/* from a built console folder (index.html, assets/). */
export function consoleRoutes(app: Api, consoleDir: string): void {
  const root = resolve(consoleDir);
  const assetsDir = resolve(root, 'assets');
  const indexFile = resolve(root, 'index.html');

  app.get(
    '/',
    {
      schema: {
        tags: ['console'],
        operationId: 'console',
        summary: 'The operator console (index.html); 503 text/plain when it is not built',
        response: { 200: Type.String(), 503: Type.String() },
      },
    },
    async (request, reply) => {
      const built = await stat(indexFile).then(
        (info) => info.isFile(),
        () => false,
      );
      if (!built)
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(CONSOLE_NOT_BUILT);
      for (const [name, value] of Object.entries(INDEX_HEADERS)) reply.header(name, value);
      return sendFile(request, reply, indexFile, 'no-cache');
    },
  );

  // Browsers ask for it whatever the page says: the build's, else 204 rather than a 404 in their console.
  app.get(
    '/favicon.ico',
    {
      schema: {
        tags: ['console'],
        operationId: 'consoleFavicon',
        summary: "The console's favicon.ico, or 204 when the build has none",
        response: { 200: Type.String(), 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const file = await assetFile(root, 'favicon.ico');
      if (file === undefined) return reply.code(204).header('cache-control', 'public, max-age=86400').send(null);
      return sendFile(request, reply, file, 'no-cache');
    },
  );

  app.get(
    '/assets/*',
    {
      schema: {
        tags: ['console'],
        operationId: 'consoleAsset',
        summary: "The console's bundled files (scripts, styles, fonts, images)",
        params: Type.Object({ '*': Type.String() }),
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const relative = request.params['*'];
      const file = await assetFile(assetsDir, relative);
      if (file === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', 'no such console file');
      const name = relative.slice(relative.lastIndexOf('/') + 1);
      return sendFile(request, reply, file, HASHED_NAME.test(name) ? IMMUTABLE : 'no-cache');
    },
  );
}
