/**
 * Test helpers for the utility server tests: a shared test PKI, a server on 127.0.0.1 with an injectable
 * clock and a MemoryStateStore, and a small mutual-TLS client (node https, keep-alive) that returns the raw
 * exchange so tests can assert headers such as Content-Length and Transfer-Encoding.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { parseSep } from '../../src/codec/index.ts';
import { createTestPki, type PkiClient, type TestPki } from '../../src/pki/index.ts';
import type { ResourceName } from '../../src/resources/types.ts';
import type { UtilityServer, UtilityServerOptions } from '../../src/server/contract.ts';
import { MemoryStateStore } from '../../src/server/memory-store.ts';
import { createUtilityServer } from '../../src/server/server.ts';
import { sepClientTlsOptions } from '../../src/tls.ts';

export const HOST = '127.0.0.1';
export const SEP_XML = 'application/sep+xml';

let pkiPromise: Promise<TestPki> | undefined;

/** One PKI per test file: device-1..3, aggregator-1, stranger (never registered). */
export function sharedPki(): Promise<TestPki> {
  pkiPromise ??= createTestPki({
    clients: [
      { name: 'device-1' },
      { name: 'device-2' },
      { name: 'device-3' },
      { name: 'aggregator-1', kind: 'aggregator' },
      { name: 'stranger' },
    ],
  });
  return pkiPromise;
}

export function identity(pki: TestPki, name: string): PkiClient {
  const found = pki.clients.find((client) => client.name === name);
  if (found === undefined) throw new Error(`no PKI client ${name}`);
  return found;
}

export interface TestClock {
  now: number;
  advance(seconds: number): void;
}

export interface TestServer {
  pki: TestPki;
  server: UtilityServer;
  store: MemoryStateStore;
  port: number;
  clock: TestClock;
  client(name: string): TestClient;
  close(): Promise<void>;
}

/** A utility server over mutual TLS on 127.0.0.1:0 with an injected clock. */
export async function startServer(
  overrides: Partial<UtilityServerOptions> = {},
  store = new MemoryStateStore(),
  clock: TestClock = makeClock(),
): Promise<TestServer> {
  const pki = await sharedPki();
  const server = await createUtilityServer(
    {
      profile: 'csip-aus',
      tls: { key: pki.server.keyPem, cert: pki.server.certificatePem, ca: pki.ca.certificatePem },
      now: () => clock.now,
      log: () => undefined,
      ...overrides,
    },
    store,
  );
  const { port } = await server.listen({ host: HOST, port: 0 });
  const clients: TestClient[] = [];
  return {
    pki,
    server,
    store,
    port,
    clock,
    client(name) {
      const id = identity(pki, name);
      const client = new TestClient(port, id.keyPem, id.certificatePem, pki.ca.certificatePem);
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      await server.close();
    },
  };
}

export function makeClock(start = 1_800_000_000): TestClock {
  return {
    now: start,
    advance(seconds: number) {
      this.now += seconds;
    },
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names exactly as sent (lower-cased), to check what is absent. */
  headerNames: string[];
  body: string;
  /** The parsed 2030.5 document, when the body is one. */
  name?: ResourceName;
  doc?: Record<string, unknown>;
}

export class TestClient {
  readonly agent: Agent;

  constructor(
    readonly port: number,
    key: string,
    cert: string,
    ca: string,
  ) {
    this.agent = new Agent({ ...sepClientTlsOptions({ key, cert, ca }), keepAlive: true, maxSockets: 1 });
  }

  send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const req = request(
        {
          host: HOST,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            accept: `${SEP_XML}; level=-S1`,
            ...(payload ? { 'content-type': SEP_XML, 'content-length': String(payload.length) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const headerNames: string[] = [];
            for (let i = 0; i < res.rawHeaders.length; i += 2)
              headerNames.push(String(res.rawHeaders[i]).toLowerCase());
            const reply: Reply = { status: res.statusCode ?? 0, headers: res.headers, headerNames, body: text };
            if (text.length > 0 && res.headers['content-type']?.startsWith(SEP_XML)) {
              try {
                const parsed = parseSep(text);
                reply.name = parsed.name;
                reply.doc = parsed.value as unknown as Record<string, unknown>;
              } catch {
                // Error bodies (sep.xsd Error) are not codec resources; tests read them as text.
              }
            }
            resolve(reply);
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  get(path: string): Promise<Reply> {
    return this.send('GET', path);
  }

  /** GET that must answer 200 with the named resource; returns the resource. */
  async fetch<T = Record<string, unknown>>(path: string, name: ResourceName): Promise<T> {
    const reply = await this.get(path);
    assert.equal(reply.status, 200, `GET ${path}: ${reply.status} ${reply.body}`);
    assert.equal(reply.name, name, `GET ${path} answered ${reply.name}`);
    return reply.doc as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The Location header of a reply (asserts it is there). */
export function location(reply: Reply): string {
  const value = reply.headers.location;
  assert.equal(typeof value, 'string', `no Location on ${reply.status} ${reply.body}`);
  return value as string;
}

export function hrefOf(link: unknown): string {
  const href = (link as { href?: unknown } | undefined)?.href;
  assert.equal(typeof href, 'string', `not a link: ${JSON.stringify(link)}`);
  return href as string;
}

export function watts(value: number): { multiplier: number; value: number } {
  return { multiplier: 0, value };
}

/** The reasonCode of a sep.xsd Error body. */
export function reasonCode(reply: Reply): number | undefined {
  const match = /<reasonCode>(\d+)<\/reasonCode>/.exec(reply.body);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
