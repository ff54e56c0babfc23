/**
 * The VEN's HTTP(S) transport to a VTN: JSON requests over keep-alive sockets, a timeout per
 * request, a cap on the answer's size. Thin: no retries (the VEN decides), no auth logic.
 *
 * Error codes (no VTN-specific code exists; the VTN is a remote peer like a device, with
 * `details.peer = 'vtn'`): no answer, connection refused/reset, timeout or 5xx ->
 * GW_ERR_DEVICE_UNREACHABLE (retryable); an answer too large -> GW_ERR_BODY_TOO_LARGE; an answer that
 * is not JSON where JSON is expected -> GW_ERR_DEVICE_PROTOCOL. Other statuses are returned to the
 * caller (401, 403, 404, 409, 400 mean different things per call).
 */
import http from 'node:http';
import https from 'node:https';
import { GridseamError } from '@gridseam/model';

export interface VtnHttpOptions {
  /** Per request, ms (default 15000). */
  timeoutMs?: number;
  /** Largest answer accepted, bytes (default 8 MiB). */
  maxBodyBytes?: number;
  /** PEM CA(s) the VTN's certificate must chain to (default: the system's). */
  ca?: string | readonly string[];
  /** false accepts any VTN certificate (OpenADR 3 Definition §Security: configurable, verify by default). */
  rejectUnauthorized?: boolean;
}

export interface VtnRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** JSON body (serialised) or a form body (application/x-www-form-urlencoded). */
  json?: unknown;
  form?: Record<string, string>;
}

export interface VtnResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON answer; undefined for an empty body. */
  body: unknown;
  /** The raw text (first 300 characters), for messages. */
  text: string;
}

export interface VtnHttp {
  request(request: VtnRequest): Promise<VtnResponse>;
  close(): void;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

function unreachable(message: string, details: Record<string, unknown>, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_UNREACHABLE', message, { details: { peer: 'vtn', ...details }, cause });
}

export function createVtnHttp(options: VtnHttpOptions = {}): VtnHttp {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const httpsAgent = new https.Agent({
    keepAlive: true,
    maxSockets: 8,
    minVersion: 'TLSv1.2',
    ...(options.ca === undefined ? {} : { ca: Array.isArray(options.ca) ? [...options.ca] : (options.ca as string) }),
    rejectUnauthorized: options.rejectUnauthorized !== false,
  });

  const request = (req: VtnRequest): Promise<VtnResponse> =>
    new Promise((resolve, reject) => {
      const secure = req.url.protocol === 'https:';
      let payload: Buffer | undefined;
      const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
      if (req.json !== undefined) {
        payload = Buffer.from(JSON.stringify(req.json), 'utf8');
        headers['content-type'] = 'application/json';
      } else if (req.form !== undefined) {
        payload = Buffer.from(new URLSearchParams(req.form).toString(), 'utf8');
        headers['content-type'] = 'application/x-www-form-urlencoded';
      }
      if (payload !== undefined) headers['content-length'] = String(payload.length);
      const details = { method: req.method, path: req.url.pathname };
      const outgoing = (secure ? https : http).request(
        req.url,
        { method: req.method, headers, agent: secure ? httpsAgent : httpAgent, timeout: timeoutMs },
        (incoming) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let tooLarge = false;
          incoming.on('data', (chunk: Buffer) => {
            if (tooLarge) return;
            size += chunk.length;
            if (size > maxBodyBytes) {
              tooLarge = true;
              incoming.destroy();
              reject(
                new GridseamError(
                  'GW_ERR_BODY_TOO_LARGE',
                  `${req.method} ${req.url.pathname}: the VTN's answer exceeds ${maxBodyBytes} bytes`,
                  { details: { peer: 'vtn', ...details } },
                ),
              );
              return;
            }
            chunks.push(chunk);
          });
          incoming.on('error', (error) => {
            if (!tooLarge) reject(unreachable(`${req.method} ${req.url.pathname}: ${error.message}`, details, error));
          });
          incoming.on('end', () => {
            if (tooLarge) return;
            const raw = Buffer.concat(chunks).toString('utf8');
            const status = incoming.statusCode ?? 0;
            const text = raw.slice(0, 300);
            let body: unknown;
            if (raw.trim() !== '') {
              try {
                body = JSON.parse(raw);
              } catch (error) {
                if (status >= 200 && status < 300) {
                  reject(
                    new GridseamError(
                      'GW_ERR_DEVICE_PROTOCOL',
                      `${req.method} ${req.url.pathname}: the answer is not JSON`,
                      {
                        details: { peer: 'vtn', ...details, status },
                        cause: error,
                      },
                    ),
                  );
                  return;
                }
                body = undefined;
              }
            }
            if (status >= 500)
              reject(
                unreachable(`${req.method} ${req.url.pathname} answered ${status}${text ? `: ${text}` : ''}`, {
                  ...details,
                  status,
                }),
              );
            else resolve({ status, headers: incoming.headers, body, text });
          });
        },
      );
      outgoing.on('timeout', () => {
        outgoing.destroy(unreachable(`${req.method} ${req.url.pathname}: no answer within ${timeoutMs} ms`, details));
      });
      outgoing.on('error', (error) => {
        reject(
          GridseamError.is(error)
            ? error
            : unreachable(`${req.method} ${req.url.href}: ${error.message}`, details, error),
        );
      });
      outgoing.end(payload);
    });

  return {
    request,
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
