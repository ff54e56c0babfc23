/**
 * The VEN's webhook receiver (OpenADR 3 Definition §Subscriptions and §Security/Webhooks): the VTN
 * POSTs a `notification {objectType, operation, object, targets}` to the subscription's callbackUrl;
 * before it creates a subscription it verifies the URL with `GET callbackUrl?echo=<random>`, which
 * must be answered 200 with that value as the body.
 *
 * The URL path carries a random secret (3.0.1 has no other way to tell the VTN's requests from
 * anyone's); 3.1.0 subscriptions also carry a bearerToken, which a VTN "should" send back
 * (subscription.bearerToken): a request that carries another token is refused, one without a token
 * is let through on the secret path alone. Hostile input is refused without reaching the VEN: an
 * unknown path (404), a wrong bearer token (401), a body over `maxBodyBytes` (413), a body that is
 * not a JSON notification (400).
 *
 * Plain HTTP: put a TLS terminator in front for the HTTPS callback URL the Definition requires, and
 * give its URL as `publicUrl`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CallbackReceiverOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** The base URL the VTN should call (e.g. https://gateway.example:8443); default http://host:port. */
  publicUrl?: string;
  /** Largest notification accepted, bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface Oadr3Notification {
  objectType: string;
  operation: string;
  object: Record<string, unknown>;
  targets?: unknown;
}

export interface CallbackReceiver {
  /** The callbackUrl to give the VTN (with the secret path). */
  url: string;
  /** The bearer token a 3.1.0 subscription carries. */
  bearerToken: string;
  /** The base every callbackUrl of this VEN starts with (finds this VEN's subscriptions of earlier runs). */
  baseUrl: string;
  /** Notifications received; refused requests. */
  stats(): { notifications: number; refused: number; echoes: number };
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const MAX_ECHO = 1024;
export const CALLBACK_PATH_PREFIX = '/openadr3/notify/';

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export async function startCallbackReceiver(
  options: CallbackReceiverOptions,
  onNotification: (notification: Oadr3Notification) => void,
): Promise<CallbackReceiver> {
  const secret = randomBytes(16).toString('hex');
  const bearerToken = randomBytes(24).toString('base64url');
  const path = `${CALLBACK_PATH_PREFIX}${secret}`;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const counts = { notifications: 0, refused: 0, echoes: 0 };

  const answer = (res: http.ServerResponse, status: number, body = '') => {
    if (status >= 400) counts.refused++;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://receiver.invalid');
    } catch {
      answer(res, 400, 'bad request');
      return;
    }
    if (url.pathname !== path) {
      req.resume();
      answer(res, 404, 'not found');
      return;
    }
    if (req.method === 'GET') {
      // Definition §Security/Webhooks: the VTN's echo challenge before it creates a subscription.
      const echo = url.searchParams.get('echo');
      if (echo === null || echo.length > MAX_ECHO) {
        answer(res, 400, 'echo expected');
        return;
      }
      counts.echoes++;
      answer(res, 200, echo);
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      answer(res, 405, 'method not allowed');
      return;
    }
    const authorization = req.headers.authorization;
    if (authorization !== undefined && !safeEqual(authorization, `Bearer ${bearerToken}`)) {
      req.resume();
      answer(res, 401, 'unauthorized');
      return;
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      req.resume();
      answer(res, 413, 'too large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        answer(res, 413, 'too large');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (refused) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        answer(res, 400, 'not JSON');
        return;
      }
      const n = body as Partial<Oadr3Notification> | null;
      if (
        typeof n !== 'object' ||
        n === null ||
        typeof n.objectType !== 'string' ||
        typeof n.operation !== 'string' ||
        typeof n.object !== 'object' ||
        n.object === null
      ) {
        answer(res, 400, 'not a notification');
        return;
      }
      counts.notifications++;
      answer(res, 200, '');
      try {
        onNotification(n as Oadr3Notification);
      } catch {
        // The VEN's handler never throws by contract; a receiver must not fail on it either way.
      }
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const baseUrl = (options.publicUrl ?? `http://${host}:${address.port}`).replace(/\/+$/, '');
  return {
    url: `${baseUrl}${path}`,
    bearerToken,
    baseUrl,
    stats: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
