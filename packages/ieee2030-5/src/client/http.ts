/**
 * The 2030.5 client's HTTP layer: a thin, injectable transport (`SepTransport`) and `SepHttp`, which resolves
 * hrefs against the dcap URL, emits/parses `application/sep+xml` with the package codec, pages lists and maps
 * failures onto GridseamError codes.
 *
 * Error codes (no utility-specific code exists yet; the utility server is treated as a remote peer like a
 * device, with `details.peer = 'utility'`): no answer, connection refused/reset, timeout or 5xx →
 * GW_ERR_DEVICE_UNREACHABLE (retryable); a body that is not a 2030.5 resource or not the expected one, or a link
 * to another origin → GW_ERR_DEVICE_PROTOCOL; 404 → GW_ERR_NOT_FOUND; any other non-2xx →
 * GW_ERR_DEVICE_REJECTED. An answer larger than `maxBodyBytes` is GW_ERR_BODY_TOO_LARGE.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { GridseamError } from '@gridseam/model';
import { emitSep } from '../codec/emit.ts';
import { parseSep } from '../codec/parse.ts';
import type { CsipAusVersion, ResourceName, ResourceTypes } from '../resources/types.ts';
import { type SepTlsCredentials, sepClientTlsOptions } from '../tls.ts';

export const SEP_MEDIA_TYPE = 'application/sep+xml';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One raw exchange. */
export interface TransportReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What SepHttp needs from the network; tests and other transports inject their own. */
export interface SepTransport {
  /** `url` is absolute. Rejects only when there is no HTTP answer (connect, TLS, timeout, body too large). */
  request(method: HttpMethod, url: string, body?: string): Promise<TransportReply>;
  close(): void;
}

export interface HttpsTransportOptions extends SepTlsCredentials {
  /** Require the server certificate to follow the 2030.5 profile (critical extensions...). Default false. */
  requireSepProfile?: boolean;
  /** Per request, ms. Default 15000. */
  timeoutMs?: number;
  /** Largest answer accepted, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Keep-alive connections to the server. Default 1 (one 2030.5 client is one TLS session). */
  maxSockets?: number;
}

function unreachable(message: string, details: Record<string, unknown>, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_UNREACHABLE', message, { details: { peer: 'utility', ...details }, cause });
}

/**
 * node https with a keep-alive Agent and the 2030.5 mutual-TLS settings (TLS 1.2, ECDHE-ECDSA-AES128-CCM8, P-256).
 */
export function createHttpsTransport(options: HttpsTransportOptions): SepTransport {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const tls = sepClientTlsOptions({
    key: options.key,
    cert: options.cert,
    ca: options.ca,
    ...(options.requireSepProfile === undefined ? {} : { requireSepProfile: options.requireSepProfile }),
  });
  const agent = new Agent({ ...tls, keepAlive: true, maxSockets: options.maxSockets ?? 1 });
  return {
    request(method, url, body) {
      return new Promise<TransportReply>((resolve, reject) => {
        const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
        const target = new URL(url);
        const req = request(
          {
            protocol: 'https:',
            host: target.hostname,
            port: target.port === '' ? 443 : Number(target.port),
            method,
            path: target.pathname + target.search,
            agent,
            headers: {
              accept: SEP_MEDIA_TYPE,
              ...(payload ? { 'content-type': SEP_MEDIA_TYPE, 'content-length': String(payload.length) } : {}),
            },
            timeout: timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > maxBodyBytes) {
                res.destroy();
                reject(
                  new GridseamError(
                    'GW_ERR_BODY_TOO_LARGE',
                    `${method} ${target.pathname}: answer over ${maxBodyBytes} bytes`,
                    {
                      details: { peer: 'utility', path: target.pathname },
                    },
                  ),
                );
                return;
              }
              chunks.push(chunk);
            });
            res.on('error', (error) =>
              reject(unreachable(`${method} ${target.pathname}: ${error.message}`, {}, error)),
            );
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
            );
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
        req.on('error', (error) =>
          reject(unreachable(`${method} ${target.pathname}: ${error.message}`, { path: target.pathname }, error)),
        );
        req.end(payload);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/** A parsed answer. */
export interface SepReply<T = unknown> {
  status: number;
  /** Location header resolved to a path on the server (POST answers). */
  location?: string;
  resource?: T;
}

export interface SepHttpOptions {
  /** Largest answer parsed, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** CSIP-AUS namespace version written into bodies. Default 'v1.2'. */
  csipaus?: CsipAusVersion;
}

/** The item element name of a list resource ('EndDeviceList' → 'EndDevice'). */
export function listItemName(listName: string): string {
  return listName.endsWith('List') ? listName.slice(0, -4) : listName;
}

type ListName = {
  [K in ResourceName]: K extends `${string}List` ? K : never;
}[ResourceName];

/** A list with every page joined. */
export interface FetchedList<T> {
  items: T[];
  /** The first page (href, pollRate, subscribable, all). */
  first: Record<string, unknown>;
  pages: number;
}

/** 2030.5 requests relative to the server's origin. */
export class SepHttp {
  readonly origin: string;
  readonly #transport: SepTransport;
  readonly #maxBytes: number;
  readonly #csipaus: CsipAusVersion;

  constructor(baseUrl: string, transport: SepTransport, options: SepHttpOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch (cause) {
      throw new GridseamError('GW_ERR_CONFIG', `not a URL: ${baseUrl}`, { cause });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new GridseamError('GW_ERR_CONFIG', `the dcap URL must be https: ${baseUrl}`);
    }
    this.origin = url.origin;
    this.#transport = transport;
    this.#maxBytes = options.maxBodyBytes ?? 1024 * 1024;
    this.#csipaus = options.csipaus ?? 'v1.2';
  }

  /** An href (absolute or a path) as an absolute URL on this server; links to other origins are refused. */
  resolve(href: string): string {
    let url: URL;
    try {
      url = new URL(href, this.origin);
    } catch (cause) {
      throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `the server gave an invalid href ${JSON.stringify(href)}`, {
        details: { peer: 'utility' },
        cause,
      });
    }
    if (url.origin !== this.origin) {
      throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `the server linked to another origin: ${url.origin}`, {
        details: { peer: 'utility', href },
      });
    }
    return url.href;
  }

  /** The path (and query) of an href, as the cache key. */
  pathOf(href: string): string {
    const url = new URL(this.resolve(href));
    return url.pathname + url.search;
  }

  async #exchange(method: HttpMethod, href: string, body?: string): Promise<TransportReply> {
    const url = this.resolve(href);
    return this.#transport.request(method, url, body);
  }

  #check(method: HttpMethod, href: string, reply: TransportReply): void {
    if (reply.status >= 200 && reply.status < 300) return;
    const details = { peer: 'utility', method, path: href, status: reply.status };
    const text = reply.body.subarray(0, 300).toString('utf8');
    const message = `${method} ${href} answered ${reply.status}${text ? `: ${text}` : ''}`;
    if (reply.status === 404) throw new GridseamError('GW_ERR_NOT_FOUND', message, { details });
    if (reply.status >= 500) throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', message, { details });
    throw new GridseamError('GW_ERR_DEVICE_REJECTED', message, { details });
  }

  /** GET one resource that must be `name` (or one of `name`). */
  async get<N extends ResourceName>(href: string, name: N | readonly N[]): Promise<ResourceTypes[N]> {
    const reply = await this.#exchange('GET', href);
    this.#check('GET', href, reply);
    try {
      return parseSep(reply.body, { expect: name, maxBytes: this.#maxBytes }).value as ResourceTypes[N];
    } catch (cause) {
      const code = cause instanceof GridseamError && cause.code === 'GW_ERR_HOSTILE_INPUT' ? cause.code : undefined;
      throw new GridseamError(
        code ?? 'GW_ERR_DEVICE_PROTOCOL',
        `GET ${href}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { details: { peer: 'utility', path: href }, cause },
      );
    }
  }

  /**
   * Every page of a list (2030.5 §8.2.3: `s` start, `l` limit; a server answers a window, default one item).
   * Stops when `all` items were read or a page comes back empty; at most `maxPages`.
   */
  async getList<N extends ListName>(
    href: string,
    name: N,
    pageSize: number,
    maxPages = 1000,
  ): Promise<FetchedList<Record<string, unknown>>> {
    const itemName = listItemName(name);
    const items: Record<string, unknown>[] = [];
    let first: Record<string, unknown> | undefined;
    let pages = 0;
    for (;;) {
      const url = new URL(this.resolve(href));
      url.searchParams.set('s', String(items.length));
      url.searchParams.set('l', String(pageSize));
      const page = (await this.get(url.pathname + url.search, name)) as unknown as Record<string, unknown>;
      pages++;
      first ??= page;
      const pageItems = (page[itemName] ?? []) as Record<string, unknown>[];
      items.push(...pageItems);
      const all = typeof page.all === 'number' ? page.all : items.length;
      if (pageItems.length === 0 || items.length >= all || pages >= maxPages) break;
    }
    return { items, first: first ?? {}, pages };
  }

  async #send<N extends ResourceName>(
    method: 'POST' | 'PUT',
    href: string,
    name: N,
    value: ResourceTypes[N],
  ): Promise<SepReply> {
    const body = emitSep(name, value, { csipaus: this.#csipaus });
    const reply = await this.#exchange(method, href, body);
    this.#check(method, href, reply);
    const location = reply.headers.location;
    const out: SepReply = { status: reply.status };
    if (typeof location === 'string' && location !== '') out.location = this.pathOf(location);
    return out;
  }

  post<N extends ResourceName>(href: string, name: N, value: ResourceTypes[N]): Promise<SepReply> {
    return this.#send('POST', href, name, value);
  }

  put<N extends ResourceName>(href: string, name: N, value: ResourceTypes[N]): Promise<SepReply> {
    return this.#send('PUT', href, name, value);
  }

  async delete(href: string): Promise<SepReply> {
    const reply = await this.#exchange('DELETE', href);
    this.#check('DELETE', href, reply);
    return { status: reply.status };
  }

  close(): void {
    this.#transport.close();
  }
}
