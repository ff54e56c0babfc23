/**
 * The CSMS's own HTTP(S) listener and the security-profile checks made before a WebSocket opens.
 *
 * Security profiles (OCPP 1.6 Security Whitepaper ed. 3 §2; OCPP 2.0.1 Part 2 A00):
 *  0  ws://, no credentials; the identity (last path segment) must still be known to the authority.
 *  1  ws:// + HTTP Basic: the username must equal the identity, the password goes to the authority.
 *  2  wss:// (server certificate, TLS 1.2+) + HTTP Basic as in 1.
 *  3  wss:// with a client certificate that chains to the configured CA (refused in the TLS
 *     handshake otherwise); the certificate's subject CN must equal the identity; no password.
 * Refusals happen before the WebSocket opens: 401 for credentials, 404 for a wrong path, 400 for a
 * bad identity or no common subprotocol, 503 when the station limit is reached.
 */
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { GridseamError } from '@gridseam/model';
import type { CsmsTlsOptions, SecurityProfile } from '../contract.ts';

export type Listener = HttpServer | HttpsServer;

/** Creates the plain (profiles 0, 1) or TLS (2, 3) server; any request that is not an upgrade gets 426. */
export function createListener(profile: SecurityProfile, tls: CsmsTlsOptions | undefined): Listener {
  const answerPlainRequest = (_request: IncomingMessage, response: import('node:http').ServerResponse): void => {
    response.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Content-Type': 'text/plain' });
    response.end('OCPP-J endpoint: WebSocket upgrade required\n');
  };
  if (profile === 0 || profile === 1) return createHttpServer(answerPlainRequest);
  if (!tls) throw new GridseamError('GW_ERR_CONFIG', `security profile ${profile} needs a TLS certificate and key`);
  if (profile === 3 && tls.ca === undefined) {
    throw new GridseamError('GW_ERR_CONFIG', 'security profile 3 needs the CA that client certificates chain to');
  }
  return createHttpsServer(
    {
      cert: tls.cert,
      key: tls.key,
      // OCPP 2.0.1 A00.FR.301 / 1.6 whitepaper §2: TLS 1.2 or higher; Node's default suites include
      // the required ECDHE-ECDSA / ECDHE-RSA AES-GCM ones.
      minVersion: 'TLSv1.2',
      ...(profile === 3 ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
    },
    answerPlainRequest,
  );
}

/** Normalises the configured path prefix: leading slash, no trailing slash ('/' stays '/'). */
export function normalisePath(path: string | undefined): string {
  const trimmed = (path ?? '/ocpp').trim().replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/**
 * Identities: 1..48 printable ASCII characters without spaces (OCPP 2.0.1 Part 4 §3.1.1 limits the
 * identity to 48 characters; it travels as a URL path segment and as the Basic-auth username).
 */
const IDENTITY = /^[\x21-\x7e]{1,48}$/;

export function isValidIdentity(identity: string): boolean {
  return IDENTITY.test(identity);
}

export type PathCheck = { ok: true; identity: string } | { ok: false; status: number; message: string };

/** `<prefix>/<identity>` (OCPP-J 1.6 §3.1.1, 2.0.1 Part 4 §3.1.1), the identity percent-decoded. */
export function checkStationPath(url: string, prefix: string): PathCheck {
  let pathname: string;
  try {
    // Parsed the way ocpp-rpc parses it (lib/server.js handleUpgrade), so both agree on the identity.
    pathname = new URL(`http://localhost${url}`).pathname;
  } catch {
    return { ok: false, status: 400, message: 'malformed request URL' };
  }
  const cut = pathname.lastIndexOf('/');
  const endpoint = pathname.slice(0, cut) || '/';
  if (endpoint !== prefix) return { ok: false, status: 404, message: 'not an OCPP endpoint' };
  let identity: string;
  try {
    identity = decodeURIComponent(pathname.slice(cut + 1));
  } catch {
    return { ok: false, status: 400, message: 'malformed identity' };
  }
  if (!isValidIdentity(identity)) return { ok: false, status: 400, message: 'invalid station identity' };
  return { ok: true, identity };
}

/** Answers an upgrade request with an HTTP error and closes the socket (before any WebSocket exists). */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.writable) {
    const body = `${message}\n`;
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** The subject CN of the verified client certificate (profile 3), or undefined. */
export function verifiedClientCn(request: IncomingMessage): string | undefined {
  const socket = request.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
  // A certificate with several CNs names no single station.
  return typeof cn === 'string' ? cn : undefined;
}
