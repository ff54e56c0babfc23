/**
 * Fixture of the VEN tests: the project's VTN (createVtn) on 127.0.0.1 with a BL client and VEN
 * clients, a small BL client over fetch, and a recorder of what a VEN emits with bounded waits.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { GridseamError } from '@gridseam/model';
import type { Oadr3Version } from '../../../src/v3/validate.ts';
import type { EventChange, ProgramChange, ReportPosted, SyncSummary, Ven3 } from '../../../src/v3/ven/index.ts';
import { createVtn, MemoryVtnStore, type Vtn, type VtnOptions } from '../../../src/v3/vtn/index.ts';

export const VERSIONS: readonly Oadr3Version[] = ['3.0.1', '3.1.0'];
export const TOKEN_SECRET = 'ven-tests-token-secret-of-at-least-32-bytes';
export const BL = { clientId: 'bl-1', secret: 'bl-secret' };
export const VEN = { clientId: 'ven-client-1', secret: 'ven-secret-1', venName: 'ven-1' };
export const OTHER_VEN = { clientId: 'ven-client-2', secret: 'ven-secret-2', venName: 'ven-2' };

export interface TestVtn {
  vtn: Vtn;
  url: string;
  port: number;
  store: MemoryVtnStore;
  version: Oadr3Version;
  bl: BlClient;
}

export function vtnOptions(
  version: Oadr3Version,
  store: MemoryVtnStore,
  overrides: Partial<VtnOptions> = {},
): VtnOptions {
  return {
    version,
    store,
    auth: {
      issuer: { kind: 'internal', key: { alg: 'HS256', secret: TOKEN_SECRET }, tokenTtlSeconds: 3600 },
      clients: [
        { clientId: BL.clientId, secret: BL.secret, role: 'bl' },
        { clientId: VEN.clientId, secret: VEN.secret, role: 'ven', venName: VEN.venName },
        { clientId: OTHER_VEN.clientId, secret: OTHER_VEN.secret, role: 'ven', venName: OTHER_VEN.venName },
      ],
    },
    webhooks: { allowLoopback: true, allowHttp: true, initialDelayMs: 20, maxDelayMs: 200, timeoutMs: 2000 },
    ...overrides,
  };
}

/** A VTN on 127.0.0.1 (port 0 unless given), closed after the test. */
export async function startTestVtn(
  t: TestContext,
  version: Oadr3Version,
  options: { store?: MemoryVtnStore; port?: number; overrides?: Partial<VtnOptions> } = {},
): Promise<TestVtn> {
  const store = options.store ?? new MemoryVtnStore();
  const vtn = await createVtn(vtnOptions(version, store, options.overrides));
  let closed = false;
  const close = vtn.close.bind(vtn);
  vtn.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  t.after(() => vtn.close());
  const { port, url } = await vtn.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  return { vtn, url, port, store, version, bl: new BlClient(url) };
}

type Json = Record<string, unknown>;

/** Business logic over HTTP: programs and events, read back what VENs wrote. */
export class BlClient {
  #token: string | undefined;
  constructor(readonly url: string) {}

  async #bearer(): Promise<string> {
    if (this.#token !== undefined) return this.#token;
    const response = await fetch(`${this.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: BL.clientId,
        client_secret: BL.secret,
      }).toString(),
    });
    assert.equal(response.status, 200, await response.clone().text());
    this.#token = ((await response.json()) as { access_token: string }).access_token;
    return this.#token;
  }

  async call<T = Json>(method: string, path: string, json?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await this.#bearer()}`,
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  async create(path: string, json: Json): Promise<Json & { id: string }> {
    const answer = await this.call<Json & { id: string }>('POST', path, json);
    assert.equal(answer.status, 201, `POST ${path}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  async put(path: string, json: Json): Promise<Json & { id: string }> {
    const answer = await this.call<Json & { id: string }>('PUT', path, json);
    assert.equal(answer.status, 200, `PUT ${path}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  async remove(path: string): Promise<void> {
    const answer = await this.call('DELETE', path);
    assert.equal(answer.status, 200, `DELETE ${path}: ${JSON.stringify(answer.body)}`);
  }

  async list<T = Json>(path: string): Promise<T[]> {
    const answer = await this.call<T[]>('GET', path);
    assert.equal(answer.status, 200, `GET ${path}`);
    return answer.body;
  }
}

/** What a VEN emitted, in order. */
export class Recorder {
  readonly programs: ProgramChange[] = [];
  readonly events: EventChange[] = [];
  readonly reports: ReportPosted[] = [];
  readonly errors: GridseamError[] = [];
  readonly connection: boolean[] = [];
  readonly syncs: SyncSummary[] = [];

  constructor(ven: Ven3) {
    ven.on('program', (c) => this.programs.push(c));
    ven.on('event', (c) => this.events.push(c));
    ven.on('report', (r) => this.reports.push(r));
    ven.on('error', (e) => this.errors.push(e));
    ven.on('connection', (s) => this.connection.push(s.online));
    ven.on('sync', (s) => this.syncs.push(s));
  }

  changesOf(eventId: string): EventChange[] {
    return this.events.filter((c) => c.event.id === eventId);
  }
}

/** Polls `check` every 25 ms until it returns a value; fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** An event body of the version: intervals of EXPORT_CAPACITY_LIMIT kW from `start`. */
export function capacityEvent(
  version: Oadr3Version,
  programID: string,
  options: { start: number; minutes?: number; limitsKw: number[]; name?: string; targets?: string[]; extra?: Json },
): Json {
  const minutes = options.minutes ?? 60;
  return {
    programID,
    eventName: options.name ?? 'capacity',
    intervalPeriod: { start: new Date(options.start).toISOString(), duration: `PT${minutes}M` },
    payloadDescriptors: [
      {
        ...(version === '3.1.0' ? { objectType: 'EVENT_PAYLOAD_DESCRIPTOR' } : {}),
        payloadType: 'EXPORT_CAPACITY_LIMIT',
        units: 'KW',
      },
    ],
    intervals: options.limitsKw.map((kw, id) => ({ id, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [kw] }] })),
    ...(options.targets === undefined
      ? {}
      : {
          targets:
            version === '3.1.0'
              ? options.targets
              : options.targets.map((value) => ({ type: 'VEN_NAME', values: [value] })),
        }),
    ...options.extra,
  };
}
