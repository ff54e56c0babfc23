/**
 * Shared fixture of the VTN tests: a VTN on 127.0.0.1:0 with one BL client and two VEN clients, an HTTP
 * client that checks every answer against the version's OpenAPI document (declared statuses against their
 * response schema, others against `problem`), and a webhook receiver that answers the echo challenge.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import {
  createVtn,
  type VtnJsonObject as JsonObject,
  type Oadr3Version,
  openapiValidator,
  operationsFor,
  type Vtn,
  type VtnOptions,
} from '../../../src/index.ts';

export const VERSIONS: readonly Oadr3Version[] = ['3.0.1', '3.1.0'];
export const TOKEN_SECRET = 'a-test-token-secret-of-at-least-32-bytes!';
export const BL = { clientId: 'bl-1', secret: 'bl-secret' };
export const VEN1 = { clientId: 'ven-client-1', secret: 'ven-secret-1', venName: 'ven-1' };
export const VEN2 = { clientId: 'ven-client-2', secret: 'ven-secret-2', venName: 'ven-2' };

export function vtnOptions(version: Oadr3Version, overrides: Partial<VtnOptions> = {}): VtnOptions {
  return {
    version,
    auth: {
      issuer: { kind: 'internal', key: { alg: 'HS256', secret: TOKEN_SECRET } },
      clients: [
        { clientId: BL.clientId, secret: BL.secret, role: 'bl' },
        { clientId: VEN1.clientId, secret: VEN1.secret, role: 'ven', venName: VEN1.venName },
        { clientId: VEN2.clientId, secret: VEN2.secret, role: 'ven', venName: VEN2.venName },
      ],
    },
    webhooks: { allowLoopback: true, allowHttp: true, initialDelayMs: 20, maxDelayMs: 100, timeoutMs: 2000 },
    ...overrides,
  };
}

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Harness {
  vtn: Vtn;
  version: Oadr3Version;
  url: string;
  /** A bearer token from POST /auth/token. */
  token(client: { clientId: string; secret: string }): Promise<string>;
  /** A request whose answer is checked against the OpenAPI document. */
  call<T = unknown>(
    method: string,
    path: string,
    options?: { token?: string; json?: unknown; body?: string; headers?: Record<string, string> },
  ): Promise<Answer<T>>;
}

/** The OpenAPI path template a concrete path (without base path and query) belongs to. */
export function templateOf(version: Oadr3Version, path: string): string | undefined {
  for (const operation of operationsFor(version)) {
    const pattern = new RegExp(`^${operation.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(path)) return operation.path;
  }
  return undefined;
}

/** Problems of an answer: against the declared response, or against `problem` for undeclared error statuses. */
export function answerProblems(
  version: Oadr3Version,
  method: string,
  path: string,
  status: number,
  body: unknown,
): string[] {
  const validator = openapiValidator(version);
  const template = templateOf(version, path);
  const declared = template === undefined ? undefined : validator.operation(method, template);
  if (declared?.statuses.includes(String(status)))
    return validator.response(method, template ?? '', status, body).map((p) => `${p.path} ${p.message}`);
  if (status < 400) return [`status ${status} is not declared for ${method} ${path}`];
  return validator.schema('problem', body).map((p) => `${p.path} ${p.message}`);
}

export async function startVtn(t: TestContext, version: Oadr3Version, overrides: Partial<VtnOptions> = {}) {
  const vtn = await createVtn(vtnOptions(version, overrides));
  t.after(() => vtn.close());
  const { url } = await vtn.listen({ host: '127.0.0.1', port: 0 });
  return harness(vtn, version, url);
}

export function harness(vtn: Vtn, version: Oadr3Version, url: string): Harness {
  const call = async <T>(
    method: string,
    path: string,
    options: { token?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
    if (method !== 'HEAD') {
      const problems = answerProblems(version, method, path.split('?')[0] ?? '', response.status, parsed);
      assert.deepEqual(problems, [], `${method} ${path} -> ${response.status} ${text.slice(0, 500)}`);
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  };
  const token = async (client: { clientId: string; secret: string }): Promise<string> => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.secret,
    });
    const answer = await call<{ access_token: string }>('POST', '/auth/token', {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(answer.status, 200, answer.text);
    return answer.body.access_token;
  };
  return { vtn, version, url, token, call };
}

/** A program body of the version. */
export function programBody(version: Oadr3Version, name: string, targets?: string[]): JsonObject {
  const body: JsonObject = { programName: name };
  if (targets !== undefined)
    body.targets = version === '3.1.0' ? targets : targets.map((value) => ({ type: 'VEN_NAME', values: [value] }));
  return body;
}

/** An event body of the version: one hour of SIMPLE level 1 starting at `start`. */
export function eventBody(
  version: Oadr3Version,
  programID: string,
  options: { name?: string; targets?: string[]; start?: string; duration?: string } = {},
): JsonObject {
  const body: JsonObject = {
    programID,
    eventName: options.name ?? 'event',
    intervalPeriod: { start: options.start ?? '2030-01-01T00:00:00Z', duration: options.duration ?? 'PT1H' },
    intervals: [{ id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] }],
  };
  if (options.targets !== undefined)
    body.targets =
      version === '3.1.0' ? options.targets : options.targets.map((value) => ({ type: 'VEN_NAME', values: [value] }));
  return body;
}

/** A ven body of the version as BL writes it (3.1.0 BL_VEN_REQUEST with a clientID). */
export function blVenBody(version: Oadr3Version, venName: string, clientID: string, targets?: string[]): JsonObject {
  if (version === '3.0.1')
    return {
      venName,
      ...(targets === undefined ? {} : { targets: [{ type: 'GROUP', values: targets }] }),
    };
  return { objectType: 'BL_VEN_REQUEST', venName, clientID, ...(targets === undefined ? {} : { targets }) };
}

/** A ven body as a VEN writes it. */
export function venVenBody(version: Oadr3Version, venName: string): JsonObject {
  return version === '3.0.1' ? { venName } : { objectType: 'VEN_VEN_REQUEST', venName };
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers to give to POSTs, in order (then 200). */
  failNext(statuses: number[]): void;
  /** Resolves once `count` POSTs arrived. */
  waitFor(count: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1: answers GET ?echo=X with X, POSTs with 200 (or the queued failures). */
export async function startReceiver(t: TestContext, path = '/callback'): Promise<Receiver> {
  const received: Received[] = [];
  const failures: number[] = [];
  const waiters: Array<{ count: number; resolve: (list: Received[]) => void }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'text/plain' }).end(url.searchParams.get('echo') ?? '');
        return;
      }
      const failure = failures.shift();
      if (failure !== undefined) {
        response.writeHead(failure).end();
        return;
      }
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(200).end();
      for (const waiter of waiters.splice(0)) {
        if (received.length >= waiter.count) waiter.resolve([...received]);
        else waiters.push(waiter);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.after(close);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    failNext: (statuses) => failures.push(...statuses),
    waitFor: (count) =>
      received.length >= count
        ? Promise.resolve([...received])
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close,
  };
}
