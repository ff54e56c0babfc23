/**
 * Shared set-up for the CACTUS server procedures (test-procedures/cactus/server, S-ALL-* and S-OPT-*): a test
 * PKI with device and aggregator certificates, the utility server on 127.0.0.1:0 over real mutual TLS with a
 * MemoryStateStore and an injected clock, SepClients per certificate, the CACTUS admin instructions mapped
 * onto `server.admin`, and a local https notification receiver for subscriptions.
 *
 * Conventions taken from the CACTUS server README: `$setMaxW` is the client's configured DERSettings.setMaxW
 * (SET_MAX_W here); a "scheduled" control starts start_offset_seconds from now (default 300 s), an "active"
 * one started a moment ago; durations default to 300 s.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseSep } from '../../src/codec/index.ts';
import { createTestPki, type PkiClient, type TestPki } from '../../src/pki/index.ts';
import type { ActivePower, Notification } from '../../src/resources/types.ts';
import type {
  ControlBase,
  ControlRecord,
  EndDeviceRecord,
  UtilityServer,
  UtilityServerOptions,
} from '../../src/server/contract.ts';
import { MemoryStateStore } from '../../src/server/memory-store.ts';
import { createUtilityServer } from '../../src/server/server.ts';
import { SepClient } from '../helpers/sep-client.ts';

/** `$setMaxW` of the virtual clients (W). */
export const SET_MAX_W = 10_000;
export const HOST = '127.0.0.1';

/** Watts as a 2030.5 ActivePower (multiplier 0). */
export function watts(value: number): ActivePower {
  return { multiplier: 0, value };
}

/** The value of an ActivePower in W (value × 10^multiplier). */
export function activePowerW(power: ActivePower | undefined): number | undefined {
  return power === undefined ? undefined : power.value * 10 ** power.multiplier;
}

export interface Clock {
  /** Epoch seconds the server sees. */
  now: number;
  advance(seconds: number): void;
}

let shared: Promise<TestPki> | undefined;

/** One PKI per test file: device-a, device-b, device-c (devices) and aggregator, agg-b (aggregators). */
export function testPki(): Promise<TestPki> {
  shared ??= createTestPki({
    clients: [
      { name: 'device-a', kind: 'device' },
      { name: 'device-b', kind: 'device' },
      { name: 'device-c', kind: 'device' },
      { name: 'aggregator', kind: 'aggregator' },
      { name: 'agg-b', kind: 'aggregator' },
    ],
    serverHostnames: [HOST],
  });
  return shared;
}

export interface CactusEnv {
  pki: TestPki;
  server: UtilityServer;
  store: MemoryStateStore;
  port: number;
  clock: Clock;
  /** The PKI client by name. */
  identity(name: string): PkiClient;
  /** A SepClient presenting that certificate (closed by close()). */
  client(name: string): SepClient;
  close(): Promise<void>;
}

export async function startCactus(overrides: Partial<UtilityServerOptions> = {}): Promise<CactusEnv> {
  const pki = await testPki();
  const clock: Clock = {
    now: Math.floor(Date.now() / 1000),
    advance(seconds) {
      this.now += seconds;
    },
  };
  const store = new MemoryStateStore();
  const server = await createUtilityServer(
    {
      profile: 'csip-aus',
      tls: { key: pki.server.keyPem, cert: pki.server.certificatePem, ca: pki.ca.certificatePem },
      now: () => clock.now,
      notifications: { allowLoopback: true, retry: { attempts: 3, initialDelayMs: 50, maxDelayMs: 200 } },
      log: () => undefined,
      ...overrides,
    },
    store,
  );
  const { port } = await server.listen({ host: HOST, port: 0 });
  const clients: SepClient[] = [];
  const identity = (name: string): PkiClient => {
    const found = pki.clients.find((c) => c.name === name);
    if (!found) throw new Error(`no PKI client ${name}`);
    return found;
  };
  return {
    pki,
    server,
    store,
    port,
    clock,
    identity,
    client(name) {
      const id = identity(name);
      const client = new SepClient({ port, key: id.keyPem, cert: id.certificatePem, ca: pki.ca.certificatePem });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      await server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// CACTUS admin instructions

/** ensure-end-device registered: true (out-of-band registration by the utility). */
export async function ensureEndDevice(
  env: CactusEnv,
  name: string,
  options: { derCount?: number; pin?: number } = {},
): Promise<EndDeviceRecord> {
  const id = env.identity(name);
  const existing = env.server.admin.getEndDevice(id.lfdi);
  if (existing) return existing;
  return env.server.admin.registerEndDevice({
    lfdi: id.lfdi,
    role: id.kind,
    pin: options.pin ?? 111115,
    derCount: options.derCount ?? 1,
  });
}

/** ensure-end-device for an aggregator: its own EndDevice plus one managed site EndDevice (returned). */
export async function ensureAggregatorSite(
  env: CactusEnv,
  aggregator: string,
  siteLfdi: string,
): Promise<EndDeviceRecord> {
  await ensureEndDevice(env, aggregator);
  const existing = env.server.admin.getEndDevice(siteLfdi);
  if (existing) return existing;
  return env.server.admin.registerEndDevice({
    lfdi: siteLfdi,
    role: 'device',
    aggregatorLfdi: env.identity(aggregator).lfdi,
    pin: 111115,
    derCount: 1,
  });
}

/** ensure-fsa + ensure-der-program: a program (and its FSA) with this primacy. */
export async function ensureProgram(env: CactusEnv, id = 'derp1', primacy = 1, fsaId = 'fsa1'): Promise<string> {
  if (env.server.admin.listPrograms().some((p) => p.id === id)) return id;
  if (!env.server.admin.listFsas().some((f) => f.id === fsaId)) {
    await env.server.admin.createFsa({ id: fsaId, description: fsaId });
  }
  await env.server.admin.createProgram({ id, description: `program ${id}`, primacy, fsaId });
  return id;
}

export interface CreateControlParams {
  status: 'active' | 'scheduled';
  base: ControlBase;
  programId?: string;
  endDeviceIds?: number[];
  /** For scheduled controls; default 300 s. */
  startOffsetSeconds?: number;
  durationSeconds?: number;
  randomizeStart?: number;
  responseRequired?: string;
}

/** create-der-control (CACTUS admin instruction). */
export async function createDerControl(env: CactusEnv, params: CreateControlParams): Promise<ControlRecord> {
  const programId = params.programId ?? (await ensureProgram(env));
  const start = params.status === 'active' ? env.clock.now - 1 : env.clock.now + (params.startOffsetSeconds ?? 300);
  const result = await env.server.admin.createControl({
    programId,
    ...(params.endDeviceIds ? { endDeviceIds: params.endDeviceIds } : {}),
    start,
    duration: params.durationSeconds ?? 300,
    ...(params.randomizeStart === undefined ? {} : { randomizeStart: params.randomizeStart }),
    ...(params.responseRequired === undefined ? {} : { responseRequired: params.responseRequired }),
    base: params.base,
  });
  const created = result.controls[0];
  if (!created) throw new Error('createControl created nothing');
  return created;
}

// ---------------------------------------------------------------------------------------------------------------
// Notification receiver

export interface ReceivedNotification {
  path: string;
  contentType: string | undefined;
  body: string;
  notification?: Notification;
  parseError?: string;
}

export interface NotificationReceiver {
  /** Base URL, e.g. https://127.0.0.1:40123 */
  url: string;
  received: ReceivedNotification[];
  /** While true the receiver answers 503 (CACTUS `notifications disable: true`). */
  failing: boolean;
  /** Requests refused while failing. */
  refused: number;
  /** Resolves with the next notification whose path matches (or rejects after timeoutMs). */
  next(path?: string, timeoutMs?: number): Promise<ReceivedNotification>;
  /** Removes and returns everything received so far for that path. */
  take(path?: string): ReceivedNotification[];
  close(): Promise<void>;
}

/** An https server on 127.0.0.1:0 with the PKI's server certificate (IP SAN 127.0.0.1), taking Notification POSTs. */
export async function startNotificationReceiver(pki: TestPki): Promise<NotificationReceiver> {
  const waiters: Array<{ path: string | undefined; resolve: (n: ReceivedNotification) => void }> = [];
  const receiver = {
    url: '',
    received: [] as ReceivedNotification[],
    failing: false,
    refused: 0,
  } as NotificationReceiver;
  const server: Server = createServer(
    { key: pki.server.keyPem, cert: pki.server.certificatePem, ca: pki.ca.certificatePem },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (receiver.failing) {
          receiver.refused++;
          res.writeHead(503, { 'content-length': '0' });
          res.end();
          return;
        }
        const body = Buffer.concat(chunks).toString('utf8');
        const entry: ReceivedNotification = { path: req.url ?? '', contentType: req.headers['content-type'], body };
        try {
          const doc = parseSep(body);
          if (doc.name === 'Notification') entry.notification = doc.value;
          else entry.parseError = `root ${doc.name}`;
        } catch (error) {
          entry.parseError = (error as Error).message;
        }
        res.writeHead(201, { 'content-length': '0' });
        res.end();
        const waiter = waiters.findIndex((w) => w.path === undefined || w.path === entry.path);
        if (waiter >= 0) waiters.splice(waiter, 1)[0]!.resolve(entry);
        else receiver.received.push(entry);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  receiver.url = `https://${HOST}:${(server.address() as AddressInfo).port}`;
  receiver.next = (path, timeoutMs = 5000) => {
    const index = receiver.received.findIndex((n) => path === undefined || n.path === path);
    if (index >= 0) return Promise.resolve(receiver.received.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        path,
        resolve: (n: ReceivedNotification) => {
          clearTimeout(timer);
          resolve(n);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`no notification on ${path ?? 'any path'} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.push(waiter);
    });
  };
  receiver.take = (path) => {
    const taken = receiver.received.filter((n) => path === undefined || n.path === path);
    receiver.received = receiver.received.filter((n) => !taken.includes(n));
    return taken;
  };
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}
