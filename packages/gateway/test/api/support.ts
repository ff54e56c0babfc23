import { Writable } from 'node:stream';
import type { Device, Enrolment, Group, Program, Site } from '@gridseam/model';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { sha256Hex } from '../../src/api/auth.ts';
import { buildApi } from '../../src/api/server.ts';
import type { ApiOptions, Role } from '../../src/api/types.ts';
import { openBus } from '../../src/bus/index.ts';
import type { Bus } from '../../src/bus/types.ts';
import type { EventInput } from '../../src/registry/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

/** The fixed instant the test clock starts at: 2023-11-14T22:13:20Z. */
export const T0 = 1_700_000_000_000;

export const SECRETS: Readonly<Record<Role, string>> = {
  viewer: 'viewer-secret-0123456789',
  operator: 'operator-secret-0123456789',
  admin: 'admin-secret-0123456789',
};

export interface Harness {
  app: FastifyInstance;
  store: Store;
  bus: Bus;
  metrics: Registry;
  /** Captured log lines (JSON text). */
  logs: string[];
  clock: { now: number };
  headers(role: Role): Record<string, string>;
  /** inject with a role's token (or none when role is undefined). */
  call(role: Role | undefined, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store?: Store;
  api?: Partial<ApiOptions>;
}

/** A fresh in-memory SQLite store, memory bus and API with one token per role. */
export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const store = options.store ?? (await openStore({ kind: 'sqlite', path: ':memory:' }));
  if (!options.store) await store.migrate();
  const bus = await openBus({ kind: 'memory' });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const clock = { now: T0 };
  const metrics = new Registry();
  const app = await buildApi({
    store,
    bus,
    logger,
    metrics,
    now: () => clock.now,
    tokens: (['viewer', 'operator', 'admin'] as const).map((role) => ({
      name: `${role}-token`,
      role,
      tokenSha256: sha256Hex(SECRETS[role]),
    })),
    ...options.api,
  });
  const headers = (role: Role) => ({ authorization: `Bearer ${SECRETS[role]}` });
  return {
    app,
    store,
    bus,
    metrics,
    logs,
    clock,
    headers,
    call: (role, inject) =>
      app.inject({ ...inject, headers: { ...(role ? headers(role) : {}), ...(inject.headers ?? {}) } }),
    close: async () => {
      await app.close();
      await bus.close();
      await store.close();
    },
  };
}

export function site(id = 'site-1', extra: Partial<Site> = {}): Site {
  return { id, name: `Site ${id}`, timezone: 'Australia/Sydney', ...extra };
}

export function battery(id = 'bat-1', siteId = 'site-1', extra: Partial<Device> = {}): Device {
  return {
    id,
    siteId,
    class: 'battery',
    adapter: { kind: 'simulator', address: `sim://${id}` },
    capabilities: {
      ratings: { maxW: 5000 },
      storage: { capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 95 },
      controls: ['chargeLimit', 'dischargeLimit', 'fixedW', 'targetSoc'],
    },
    enabled: true,
    ...extra,
  };
}

export function pvInverter(id = 'pv-1', siteId = 'site-1'): Device {
  return {
    id,
    siteId,
    class: 'pv-inverter',
    adapter: { kind: 'simulator', address: `sim://${id}` },
    capabilities: { ratings: { maxW: 8000 }, controls: ['exportLimit', 'generationLimit'] },
    enabled: true,
  };
}

export function group(id = 'grp-1', extra: Partial<Group> = {}): Group {
  return { id, name: `Group ${id}`, kind: 'group', ...extra };
}

export function program(id = 'prog-1', extra: Partial<Program> = {}): Program {
  return { id, name: `Program ${id}`, kind: 'demand-response', source: 'operator', primacy: 20, ...extra };
}

export function event(id = 'evt-1', programId = 'prog-1', extra: Partial<EventInput> = {}): EventInput {
  return {
    id,
    programId,
    intervals: [{ start: T0 + 3_600_000, durationS: 1800, signals: [{ kind: 'exportLimit', value: 0 }] }],
    targets: {},
    ...extra,
  };
}

export function enrolment(id = 'enr-1', extra: Partial<Enrolment> = {}): Enrolment {
  return { id, programId: 'prog-1', deviceId: 'bat-1', validFrom: T0, status: 'active', ...extra };
}

/** The JSON body of a response, typed loosely for assertions. */
export function json<T = Record<string, unknown>>(response: LightMyRequestResponse): T {
  return JSON.parse(response.body) as T;
}
