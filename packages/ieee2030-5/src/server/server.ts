/**
 * The IEEE 2030.5 utility server (issue 4): CSIP and CSIP-AUS headend on fastify.
 *
 * Transport: TLS 1.2, ECDHE-ECDSA-AES128-CCM8, mutual TLS (../tls.ts), or plain HTTP behind a TLS terminator that
 * forwards the client certificate (PEM), its fingerprint or an LFDI in a header. Every answer carries
 * Content-Length (never chunked: the EPRI client cannot parse chunked bodies) and `Content-Type:
 * application/sep+xml`; idle keep-alive connections stay open at least an hour and longer than the longest
 * pollRate (a client that finds its connection closed may give up).
 *
 * Reads are answered from memory (ServerCore) through a cache of emitted bodies; writes are persisted to the
 * SepStateStore before they are acknowledged (SepState.transact).
 */
import { randomBytes } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { GridseamError } from '@gridseam/model';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { emitSep } from '../codec/index.ts';
import { identityFromForwardedHeader } from '../identity/certificate.ts';
import { peerLfdi, sepServerTlsOptions } from '../tls.ts';
import { Admin } from './admin.ts';
import { ResponseCache, type Stamp } from './cache.ts';
import type { InjectRequest, InjectResponse, SepStateStore, UtilityServer, UtilityServerOptions } from './contract.ts';
import { type ClientAccess, ServerCore } from './core.ts';
import { Notifier } from './notifications.ts';
import { resolveOptions } from './options.ts';
import { type DeviceRoute, isDeviceRoute, parsePaging, parsePath, type Route } from './routes.ts';
import { SepState } from './state.ts';
import { headerSafe } from './util.ts';
import { ClientWrites, type WriteResult } from './writes.ts';

export const SEP_CONTENT_TYPE = 'application/sep+xml';
const ACCEPTED_BODY_TYPES = new Set(['application/sep+xml', 'application/xml', 'text/xml']);
const INJECT_HEADER = 'x-gridseam-inject';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** Methods each resource answers (anything else is 405 with Allow). */
const ALLOWED: Readonly<Record<Route['kind'], readonly Method[]>> = {
  dcap: ['GET', 'HEAD'],
  tm: ['GET', 'HEAD'],
  edevList: ['GET', 'HEAD', 'POST'],
  edev: ['GET', 'HEAD'],
  rg: ['GET', 'HEAD'],
  cp: ['GET', 'HEAD', 'PUT'],
  fsaList: ['GET', 'HEAD'],
  fsa: ['GET', 'HEAD'],
  fsaDerpList: ['GET', 'HEAD'],
  derpList: ['GET', 'HEAD'],
  derp: ['GET', 'HEAD'],
  dercList: ['GET', 'HEAD'],
  derc: ['GET', 'HEAD'],
  actdercList: ['GET', 'HEAD'],
  dderc: ['GET', 'HEAD'],
  curveList: ['GET', 'HEAD'],
  curve: ['GET', 'HEAD'],
  derList: ['GET', 'HEAD'],
  der: ['GET', 'HEAD'],
  derDoc: ['GET', 'HEAD', 'PUT'],
  subList: ['GET', 'HEAD', 'POST'],
  sub: ['GET', 'HEAD', 'DELETE'],
  lelList: ['GET', 'HEAD', 'POST'],
  lel: ['GET', 'HEAD'],
  mupList: ['GET', 'HEAD', 'POST'],
  mup: ['GET', 'HEAD', 'POST', 'DELETE'],
  rspsList: ['GET', 'HEAD'],
  rsps: ['GET', 'HEAD'],
  rspList: ['GET', 'HEAD', 'POST'],
  rsp: ['GET', 'HEAD'],
};

/** Device routes whose body changes without a revision bump (not cached). */
const UNCACHED_DEVICE_ROUTES = new Set<Route['kind']>(['derDoc']);

interface Answer {
  status: number;
  /** '' for no body. */
  body: string | Buffer;
  headers?: Record<string, string>;
}

/** 2030.5 Error resource (sep.xsd Error: reasonCode 0 invalid request format, 1 invalid request values, ...). */
function errorBody(reasonCode: number): string {
  return `<Error xmlns="urn:ieee:std:2030.5:ns"><reasonCode>${reasonCode}</reasonCode></Error>`;
}

function errorAnswer(status: number, reasonCode: number, message: string, extra: Record<string, string> = {}): Answer {
  return { status, body: errorBody(reasonCode), headers: { 'x-gridseam-error': headerSafe(message), ...extra } };
}

/** Maps any error to an HTTP answer; unexpected ones are 500 and logged. */
function answerFor(error: unknown, log: ReturnType<typeof resolveOptions>['log']): Answer {
  if (GridseamError.is(error)) {
    const code: string = error.code;
    if (code === 'GW_ERR_MALFORMED' || code === 'GW_ERR_HOSTILE_INPUT') return errorAnswer(400, 0, error.message);
    if (code === 'GW_ERR_VALIDATION') return errorAnswer(400, 1, error.message);
    if (code === 'GW_ERR_BODY_TOO_LARGE') return errorAnswer(413, 2, error.message);
    if (code === 'GW_ERR_CONFLICT') return errorAnswer(409, 1, error.message);
    if (code === 'GW_ERR_FORBIDDEN') return errorAnswer(403, 1, error.message);
    if (code === 'GW_ERR_NOT_FOUND') return errorAnswer(404, 1, error.message);
    if (code === 'GW_ERR_UNAUTHORIZED') return errorAnswer(401, 1, error.message);
    if (code === 'GW_ERR_STORE_UNAVAILABLE') {
      log('error', '2030.5 state store write failed', { error: String(error.cause ?? error) });
      return errorAnswer(503, 2, error.message, { 'retry-after': '30' });
    }
    if (error.statusCode >= 400 && error.statusCode < 500) return errorAnswer(error.statusCode, 1, error.message);
  }
  log('error', 'unexpected error in the 2030.5 server', {
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  return errorAnswer(500, 0, 'internal error');
}

function writeAnswer(result: WriteResult): Answer {
  return {
    status: result.status,
    body: '',
    headers: result.location === undefined ? {} : { location: result.location },
  };
}

export async function createUtilityServer(options: UtilityServerOptions, store: SepStateStore): Promise<UtilityServer> {
  const resolved = resolveOptions(options);
  const state = new SepState(store);
  await state.load();
  const core = new ServerCore(resolved, state);
  const notifier = new Notifier(
    core,
    resolved.tls === undefined ? undefined : { key: resolved.tls.key, cert: resolved.tls.cert },
  );
  const onChange = (event: Parameters<Notifier['changed']>[0]) => notifier.changed(event);
  const writes = new ClientWrites(core, onChange);
  const admin = new Admin(core, onChange);
  const cache = new ResponseCache(resolved.responseCacheEntries);
  const emitOptions = { csipaus: resolved.csipausVersion };
  const injectToken = randomBytes(18).toString('base64url');
  const socketIdentity = new WeakMap<object, string | null>();
  const forwardedIdentity = new Map<string, string>();

  const serverFactory = (handler: (request: IncomingMessage, response: ServerResponse) => void): Server => {
    const dispatch = (request: IncomingMessage, response: ServerResponse): void => {
      if (request.method === 'GET' || request.method === 'HEAD') fastGet(request, response);
      else handler(request, response);
    };
    let server: Server;
    if (resolved.tls !== undefined) {
      const tls = sepServerTlsOptions({ key: resolved.tls.key, cert: resolved.tls.cert, ca: resolved.tls.ca });
      if (resolved.tls.ciphers !== undefined) tls.ciphers = resolved.tls.ciphers;
      // An https.Server answers the same request/response API; fastify only needs that.
      server = createHttpsServer(tls, dispatch) as unknown as Server;
    } else server = createHttpServer(dispatch);
    server.keepAliveTimeout = resolved.keepAliveTimeoutMs;
    // Headers must arrive within 60 s of a request starting; idle keep-alive time is governed by keepAliveTimeout.
    server.headersTimeout = 60_000;
    server.requestTimeout = 120_000;
    server.timeout = 0;
    return server;
  };

  const app = Fastify({
    serverFactory,
    logger: false,
    bodyLimit: resolved.bodyLimit,
    forceCloseConnections: true,
    return503OnClosing: true,
    exposeHeadRoutes: false,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: resolved.bodyLimit }, (_request, body, done) => {
    done(null, body);
  });

  /** The client's LFDI, or an error answer. */
  function identify(headers: IncomingHttpHeaders, socket: Socket): string | Answer {
    const injected = headers[INJECT_HEADER];
    if (typeof injected === 'string') {
      const [token, lfdi] = injected.split(' ');
      if (token === injectToken && lfdi !== undefined && /^[0-9a-f]{40}$/.test(lfdi)) return lfdi;
    }
    if (resolved.terminator !== undefined) {
      if (!resolved.terminator.trustedProxies.has(socket.remoteAddress ?? ''))
        return errorAnswer(403, 1, 'requests must come through the configured TLS terminator');
      const header = headers[resolved.terminator.header];
      const key = Array.isArray(header) ? header.join('\n') : (header ?? '');
      const known = forwardedIdentity.get(key);
      if (known !== undefined) return known;
      try {
        const identity = identityFromForwardedHeader(header);
        if (forwardedIdentity.size >= 50_000) forwardedIdentity.clear();
        forwardedIdentity.set(key, identity.lfdi);
        return identity.lfdi;
      } catch (error) {
        return answerFor(error, resolved.log);
      }
    }
    if (!(socket instanceof TLSSocket)) return errorAnswer(401, 1, 'no client certificate');
    let lfdi = socketIdentity.get(socket);
    if (lfdi === undefined) {
      lfdi = peerLfdi(socket)?.lfdi ?? null;
      socketIdentity.set(socket, lfdi);
    }
    return lfdi ?? errorAnswer(401, 1, 'no verified client certificate');
  }

  function get(route: Route, path: string, query: string, access: ClientAccess): Answer {
    const paging = parsePaging(query, resolved.defaultListLimit, resolved.maxListLimit);
    if (typeof paging === 'string') return errorAnswer(400, 0, paging);
    const now = core.now();
    let key: string | undefined;
    let stamp: Stamp | undefined;
    if (isDeviceRoute(route)) {
      const device = state.endDevices.get(route.deviceId);
      if (!core.canAccess(access, device)) return errorAnswer(404, 1, 'no such EndDevice');
      if (!UNCACHED_DEVICE_ROUTES.has(route.kind)) {
        key = `${path}?${paging.s},${paging.l},${paging.a ?? ''}`;
        stamp = { g: state.globalRev, s: state.deviceRev(device.id) };
      }
    } else if (route.kind === 'dcap' || route.kind === 'edevList' || route.kind === 'mupList') {
      key = `${access.lfdi}|${path}?${paging.s},${paging.l},${paging.a ?? ''}`;
      stamp = { g: state.globalRev, s: state.ownerRev(access.lfdi) };
    } else if (route.kind === 'tm') {
      key = '/tm';
      stamp = { g: state.globalRev, s: 0 };
    }
    if (key !== undefined && stamp !== undefined) {
      const cached = cache.get(key, stamp, now);
      if (cached !== undefined) return { status: 200, body: cached };
    }
    const rendered = core.resolve(route, access, paging, now);
    const body = Buffer.from(emitSep(rendered.doc.name, rendered.doc.value as never, emitOptions), 'utf8');
    if (key !== undefined && stamp !== undefined) cache.set(key, stamp, rendered.until, body);
    return { status: 200, body };
  }

  async function write(route: Route, method: Method, request: FastifyRequest, access: ClientAccess): Promise<Answer> {
    if (method === 'POST' || method === 'PUT') {
      const type = request.headers['content-type'];
      const media = typeof type === 'string' ? (type.split(';')[0] ?? '').trim().toLowerCase() : '';
      if (!ACCEPTED_BODY_TYPES.has(media)) return errorAnswer(415, 0, 'send application/sep+xml (or application/xml)');
    }
    const body = typeof request.body === 'string' ? request.body : '';
    if (isDeviceRoute(route)) {
      const device = core.deviceFor(route, access);
      return writeDevice(route, method, device, body, access);
    }
    switch (route.kind) {
      case 'edevList':
        return writeAnswer(await writes.registerEndDevice(access, body));
      case 'mupList':
        return writeAnswer(await writes.postMirrorUsagePoint(access, body));
      case 'mup':
        if (method === 'DELETE') {
          await writes.deleteMirrorUsagePoint(access, route.mupId);
          return { status: 204, body: '' };
        }
        return writeAnswer(await writes.postMirrorMeterReadings(access, route.mupId, body));
      case 'rspList':
        return writeAnswer(await writes.postResponse(access, route.setId, body));
      default:
        return errorAnswer(405, 0, 'method not allowed');
    }
  }

  async function writeDevice(
    route: DeviceRoute,
    method: Method,
    device: ReturnType<ServerCore['deviceFor']>,
    body: string,
    access: ClientAccess,
  ): Promise<Answer> {
    switch (route.kind) {
      case 'derDoc': {
        const count = device.role === 'device' ? (device.derCount ?? 1) : 0;
        if (route.derId > count) return errorAnswer(404, 1, 'no such DER');
        return writeAnswer(await writes.putDerDocument(device, route.derId, route.docKind, body));
      }
      case 'cp':
        if (!resolved.csipaus || device.role !== 'device') return errorAnswer(404, 1, 'no ConnectionPoint here');
        return writeAnswer(await writes.putConnectionPoint(device, body));
      case 'subList':
        return writeAnswer(await writes.createSubscription(access, device, body));
      case 'sub':
        await writes.deleteSubscription(device, route.subId);
        return { status: 204, body: '' };
      case 'lelList':
        return writeAnswer(await writes.postLogEvent(device, body));
      default:
        return errorAnswer(405, 0, `${method} is not allowed here`);
    }
  }

  /** Parses the URL and checks the method; the route, or an error answer. */
  function routeOf(method: string, url: string): { route: Route; path: string; query: string } | Answer {
    const mark = url.indexOf('?');
    const path = (mark < 0 ? url : url.slice(0, mark)).toLowerCase();
    const query = mark < 0 ? '' : url.slice(mark + 1);
    const route = parsePath(path);
    if (route === undefined) return errorAnswer(404, 1, 'no such resource');
    const allowed = ALLOWED[route.kind];
    if (!allowed.includes(method as Method))
      return errorAnswer(405, 0, `${method} is not allowed here`, { allow: allowed.join(', ') });
    return { route, path, query };
  }

  function handleGet(method: 'GET' | 'HEAD', url: string, headers: IncomingHttpHeaders, socket: Socket): Answer {
    const target = routeOf(method, url);
    if ('status' in target) return target;
    const identity = identify(headers, socket);
    if (typeof identity !== 'string') return identity;
    return get(target.route, target.path, target.query, core.accessFor(identity));
  }

  async function handle(request: FastifyRequest): Promise<Answer> {
    const method = request.method;
    if (method === 'GET' || method === 'HEAD')
      return handleGet(method, request.raw.url ?? '/', request.headers, request.raw.socket);
    const target = routeOf(method, request.raw.url ?? '/');
    if ('status' in target) return target;
    const identity = identify(request.headers, request.raw.socket);
    if (typeof identity !== 'string') return identity;
    return write(target.route, method as Method, request, core.accessFor(identity));
  }

  function send(reply: FastifyReply, answer: Answer): void {
    reply.code(answer.status);
    if (answer.headers !== undefined) reply.headers(answer.headers);
    // A string or Buffer payload makes fastify set Content-Length (no chunked encoding).
    if (answer.body.length === 0) reply.send('');
    else reply.header('content-type', SEP_CONTENT_TYPE).send(answer.body);
  }

  /**
   * The poll path without fastify's per-request machinery: GET and HEAD are answered here, on the raw
   * request, by the same `handle` the fastify route uses (fastify keeps writes, body limits and parsing).
   */
  function sendRaw(response: ServerResponse, answer: Answer): void {
    const headers: Record<string, string | number> = { ...(answer.headers ?? {}) };
    headers['content-length'] = typeof answer.body === 'string' ? Buffer.byteLength(answer.body) : answer.body.length;
    if (answer.body.length > 0) headers['content-type'] = SEP_CONTENT_TYPE;
    response.writeHead(answer.status, headers);
    response.end(answer.body);
  }

  function fastGet(request: IncomingMessage, response: ServerResponse): void {
    let answer: Answer;
    try {
      answer = handleGet(
        request.method === 'HEAD' ? 'HEAD' : 'GET',
        request.url ?? '/',
        request.headers,
        request.socket,
      );
    } catch (error) {
      answer = answerFor(error, resolved.log);
    }
    sendRaw(response, answer);
  }

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '*',
    handler: (request, reply) => {
      let answer: Answer | Promise<Answer>;
      try {
        answer = handle(request);
      } catch (error) {
        answer = answerFor(error, resolved.log);
      }
      if (answer instanceof Promise) {
        return answer.then(
          (value) => send(reply, value),
          (error: unknown) => send(reply, answerFor(error, resolved.log)),
        );
      }
      send(reply, answer);
      return reply;
    },
  });

  app.setErrorHandler((error: { code?: string; statusCode?: number; message?: string }, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, errorAnswer(413, 2, 'request body too large'));
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
      return send(reply, errorAnswer(error.statusCode ?? 415, 0, error.message ?? 'bad request body'));
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500)
      return send(reply, errorAnswer(error.statusCode, 0, error.message ?? 'bad request'));
    return send(reply, answerFor(error, resolved.log));
  });

  await app.ready();
  const housekeeping = setInterval(() => {
    admin.pruneExpiredControls().catch((error: unknown) => {
      resolved.log('warn', 'pruning expired 2030.5 controls failed', { error: String(error) });
    });
  }, 3_600_000);
  housekeeping.unref();

  return {
    admin,
    async listen(address) {
      await app.listen({ host: address.host, port: address.port });
      return { port: (app.server.address() as AddressInfo).port };
    },
    async close() {
      clearInterval(housekeeping);
      notifier.close();
      cache.clear();
      await app.close();
    },
    async inject(request: InjectRequest): Promise<InjectResponse> {
      const headers: Record<string, string> = { ...(request.headers ?? {}) };
      if (request.lfdi !== undefined) headers[INJECT_HEADER] = `${injectToken} ${request.lfdi.toLowerCase()}`;
      if (request.body !== undefined && headers['content-type'] === undefined)
        headers['content-type'] = SEP_CONTENT_TYPE;
      const response = await app.inject({
        method: request.method,
        url: request.url,
        headers,
        ...(request.body === undefined ? {} : { payload: request.body }),
      });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    },
    drainNotifications() {
      return notifier.drain();
    },
  };
}
