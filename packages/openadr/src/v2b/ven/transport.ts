/**
 * The 2.0b VEN's HTTP layer: simple HTTP pull (OpenADR 2.0b Profile Specification §9.1), every message a POST of
 * an oadrPayload to `{vtnUrl}/OpenADR2/Simple/2.0b/{service}`, the answer in the response body. Thin and
 * injectable (`Ven2bTransport`); `createVen2bHttpTransport` speaks HTTPS with the VEN's client certificate (or
 * plain HTTP for a lab VTN) over one keep-alive connection.
 *
 * TLS (Profile Specification §10.1): TLS 1.2 with mutual certificates and the suites TLS_RSA_WITH_AES_128_CBC_SHA256
 * and TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (`tlsProfile: 'openadr2b'`, the default); 'node-default' leaves
 * version and suites to Node (for VTNs that moved on to TLS 1.3).
 *
 * Failures: no answer, refused, reset, timeout -> GW_ERR_DEVICE_UNREACHABLE (retryable); an answer over
 * `maxBodyBytes` -> GW_ERR_BODY_TOO_LARGE. An HTTP status is returned as it is (the VEN decides).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { GridseamError } from '@gridseam/model';
import type { OadrServiceName } from '../codec/types.ts';

export const OADR2B_PATH = '/OpenADR2/Simple/2.0b';
export const OADR2B_CIPHERS = 'ECDHE-ECDSA-AES128-SHA256:AES128-SHA256';
export const OADR2B_MEDIA_TYPE = 'application/xml';

export interface Ven2bReply {
  status: number;
  body: string;
}

export interface Ven2bTransport {
  /** Rejects only when there is no HTTP answer (connect, TLS, timeout, body too large). */
  post(service: OadrServiceName, body: string): Promise<Ven2bReply>;
  close(): void;
}

export interface Ven2bTlsOptions {
  /** PEM client certificate (chain) and key. */
  cert: string;
  key: string;
  /** PEM CA certificate(s) the VTN's certificate must chain to. */
  ca: string | string[];
  /** Default 'openadr2b'. */
  tlsProfile?: 'openadr2b' | 'node-default';
  /** Server name to check the VTN certificate against; default the URL's host. */
  servername?: string;
}

export interface Ven2bHttpTransportOptions {
  /** The VTN's base URL: https://vtn.example:8443 or https://vtn.example/prefix (the 2.0b path is appended). */
  vtnUrl: string;
  /** Required for https URLs. */
  tls?: Ven2bTlsOptions;
  /** Per request, ms. Default 15000. */
  timeoutMs?: number;
  /** Largest answer accepted, bytes. Default 4 MiB. */
  maxBodyBytes?: number;
}

/** The endpoint URL of a service: the base URL without a trailing slash or 2.0b path, plus the 2.0b path. */
export function serviceUrl(vtnUrl: string, service: OadrServiceName): string {
  let base = vtnUrl.replace(/\/+$/, '');
  if (base.endsWith(OADR2B_PATH)) base = base.slice(0, -OADR2B_PATH.length);
  return `${base}${OADR2B_PATH}/${service}`;
}

function unreachable(message: string, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_UNREACHABLE', message, { details: { peer: 'vtn' }, cause });
}

export function createVen2bHttpTransport(options: Ven2bHttpTransportOptions): Ven2bTransport {
  let url: URL;
  try {
    url = new URL(options.vtnUrl);
  } catch (cause) {
    throw new GridseamError('GW_ERR_CONFIG', `not a URL: ${options.vtnUrl}`, { cause });
  }
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:')
    throw new GridseamError('GW_ERR_CONFIG', `the VTN URL must be http or https: ${options.vtnUrl}`);
  if (secure && options.tls === undefined)
    throw new GridseamError('GW_ERR_CONFIG', 'an https VTN URL needs a client certificate, key and CA');
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const tls = options.tls;
  const strict = (tls?.tlsProfile ?? 'openadr2b') === 'openadr2b';
  const agent: HttpAgent | HttpsAgent = secure
    ? new HttpsAgent({
        keepAlive: true,
        maxSockets: 1,
        cert: tls?.cert,
        key: tls?.key,
        ca: tls?.ca,
        rejectUnauthorized: true,
        ...(tls?.servername === undefined ? {} : { servername: tls.servername }),
        ...(strict ? { minVersion: 'TLSv1.2' as const, maxVersion: 'TLSv1.2' as const, ciphers: OADR2B_CIPHERS } : {}),
      })
    : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const send = secure ? httpsRequest : httpRequest;
  return {
    post(service, body) {
      const target = new URL(serviceUrl(options.vtnUrl, service));
      const payload = Buffer.from(body, 'utf8');
      return new Promise<Ven2bReply>((resolve, reject) => {
        const req = send(
          {
            protocol: target.protocol,
            host: target.hostname,
            port: target.port === '' ? (secure ? 443 : 80) : Number(target.port),
            method: 'POST',
            path: target.pathname + target.search,
            agent,
            headers: {
              accept: OADR2B_MEDIA_TYPE,
              'content-type': OADR2B_MEDIA_TYPE,
              'content-length': String(payload.length),
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
                  new GridseamError('GW_ERR_BODY_TOO_LARGE', `${service}: answer over ${maxBodyBytes} bytes`, {
                    details: { peer: 'vtn', service },
                  }),
                );
                return;
              }
              chunks.push(chunk);
            });
            res.on('error', (error) => reject(unreachable(`${service}: ${error.message}`, error)));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
        req.on('error', (error) => reject(unreachable(`${service}: ${error.message}`, error)));
        req.end(payload);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
