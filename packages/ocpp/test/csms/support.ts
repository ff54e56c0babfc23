/**
 * Test support for the CSMS: an authority with a fixed station list, an event recorder that tests
 * can wait on, and stations played by ocpp-rpc's own RPCClient in strict mode (an independent
 * implementation of OCPP-J that validates both directions against the schemas).
 */
import { timingSafeEqual } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { Reading } from '@gridseam/model';
import ocppRpc from 'ocpp-rpc';
import type {
  ChargingSession,
  Csms,
  CsmsEvents,
  CsmsOptions,
  EvseStatus,
  OcppVersion,
  StationAuthority,
  StationInfo,
} from '../../src/contract.ts';
import { createCsms } from '../../src/csms/index.ts';

export type RecordedEvent =
  | { kind: 'connected'; identity: string; version: OcppVersion }
  | { kind: 'disconnected'; identity: string }
  | { kind: 'booted'; station: StationInfo }
  | { kind: 'status'; identity: string; evseId: number; status: EvseStatus; at: number }
  | { kind: 'readings'; identity: string; readings: Reading[] }
  | { kind: 'session'; session: ChargingSession };

type EventOf<K extends RecordedEvent['kind']> = Extract<RecordedEvent, { kind: K }>;

/** CsmsEvents that keep everything and let a test wait for the event it expects. */
export class EventRecorder implements CsmsEvents {
  readonly all: RecordedEvent[] = [];
  private waiters: Array<{ test: (event: RecordedEvent) => boolean; resolve: (event: RecordedEvent) => void }> = [];

  private push(event: RecordedEvent): void {
    this.all.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.test(event)) return true;
      waiter.resolve(event);
      return false;
    });
  }

  of<K extends RecordedEvent['kind']>(kind: K): EventOf<K>[] {
    return this.all.filter((event): event is EventOf<K> => event.kind === kind);
  }

  /** The first event of `kind` (already recorded or still to come) that satisfies `test`. */
  next<K extends RecordedEvent['kind']>(
    kind: K,
    test: (event: EventOf<K>) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<EventOf<K>> {
    const match = (event: RecordedEvent): event is EventOf<K> => event.kind === kind && test(event as EventOf<K>);
    const seen = this.all.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${kind}' event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        test: match,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event as EventOf<K>);
        },
      });
    });
  }

  connected(identity: string, version: OcppVersion): void {
    this.push({ kind: 'connected', identity, version });
  }
  disconnected(identity: string): void {
    this.push({ kind: 'disconnected', identity });
  }
  booted(station: StationInfo): void {
    this.push({ kind: 'booted', station });
  }
  status(identity: string, evseId: number, status: EvseStatus, at: number): void {
    this.push({ kind: 'status', identity, evseId, status, at });
  }
  readings(identity: string, readings: Reading[]): void {
    this.push({ kind: 'readings', identity, readings });
  }
  session(session: ChargingSession): void {
    this.push({ kind: 'session', session });
  }
}

export interface TestAuthorityOptions {
  /** identity -> password (undefined: no password, e.g. profile 0 or 3). */
  stations: Record<string, string | Buffer | undefined>;
  boot?: (station: StationInfo) => 'Accepted' | 'Pending' | 'Rejected';
  idTags?: Record<string, 'Accepted' | 'Blocked' | 'Invalid' | 'Expired'>;
}

export class TestAuthority implements StationAuthority {
  readonly seen: Array<{ identity: string; password: string | undefined; certificateCn: string | undefined }> = [];
  bootAnswer: (station: StationInfo) => 'Accepted' | 'Pending' | 'Rejected';

  constructor(private readonly options: TestAuthorityOptions) {
    this.bootAnswer = options.boot ?? (() => 'Accepted');
  }

  async authenticate(
    identity: string,
    password: Buffer | undefined,
    certificateCn: string | undefined,
  ): Promise<boolean> {
    this.seen.push({ identity, password: password?.toString('utf8'), certificateCn });
    if (!Object.hasOwn(this.options.stations, identity)) return false;
    const expected = this.options.stations[identity];
    if (expected === undefined || password === undefined) return true;
    const want = typeof expected === 'string' ? Buffer.from(expected, 'utf8') : expected;
    return want.length === password.length && timingSafeEqual(want, password);
  }

  async boot(station: StationInfo): Promise<'Accepted' | 'Pending' | 'Rejected'> {
    return this.bootAnswer(station);
  }

  async authorize(_identity: string, idTag: string): Promise<'Accepted' | 'Blocked' | 'Invalid' | 'Expired'> {
    return this.options.idTags?.[idTag] ?? 'Accepted';
  }
}

export interface StartedCsms {
  csms: Csms;
  events: EventRecorder;
  authority: TestAuthority;
}

/** A CSMS on 127.0.0.1, port 0, closed when the test ends. */
export async function startCsms(
  t: TestContext,
  authority: TestAuthorityOptions,
  options: Partial<CsmsOptions> = {},
): Promise<StartedCsms> {
  const events = new EventRecorder();
  const testAuthority = new TestAuthority(authority);
  const csms = await createCsms({
    host: '127.0.0.1',
    port: 0,
    securityProfile: 0,
    authority: testAuthority,
    events,
    bootTriggerDelayMs: 0,
    callTimeoutMs: 5_000,
    ...options,
  });
  t.after(() => csms.close());
  return { csms, events, authority: testAuthority };
}

// ---------------------------------------------------------------------------------------------
// Stations: ocpp-rpc RPCClient

export interface StationHandlerCall {
  method: string;
  params: unknown;
}

/** The part of ocpp-rpc's RPCClient the tests use. */
export interface TestStation {
  readonly identity: string;
  readonly protocol: string | undefined;
  readonly state: number;
  connect(): Promise<unknown>;
  call(method: string, params?: unknown, options?: { callTimeoutMs?: number }): Promise<unknown>;
  handle(method: string, handler: (call: StationHandlerCall) => unknown): void;
  sendRaw(message: string): void;
  close(options?: { code?: number; reason?: string; force?: boolean }): Promise<unknown>;
  on(event: 'close' | 'message' | 'strictValidationFailure', listener: (event: never) => void): unknown;
}

export interface StationOptions {
  versions?: OcppVersion[];
  password?: string | Buffer;
  /** TLS options for wss:// (ca, cert, key). */
  tls?: { ca?: string; cert?: string; key?: string };
  /** URL to use instead of the CSMS's. */
  endpoint?: string;
}

const SUBPROTOCOL: Record<OcppVersion, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1' };

/** An RPCClient for `identity`, not yet connected; closed when the test ends. */
export function station(t: TestContext, csms: Csms, identity: string, options: StationOptions = {}): TestStation {
  const client = new ocppRpc.RPCClient({
    endpoint: options.endpoint ?? endpointOf(csms),
    identity,
    protocols: (options.versions ?? ['1.6']).map((v) => SUBPROTOCOL[v]),
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 5_000,
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.tls ? { wsOpts: { ...options.tls, minVersion: 'TLSv1.2' } } : {}),
  } as unknown as ConstructorParameters<typeof ocppRpc.RPCClient>[0]) as unknown as TestStation;
  t.after(() => client.close({ force: true }));
  return client;
}

/** Connects and sends an accepted-looking BootNotification of the station's version; returns the answer. */
export async function connectAndBoot(client: TestStation): Promise<Record<string, unknown>> {
  await client.connect();
  return (await client.call(
    'BootNotification',
    client.protocol === 'ocpp1.6'
      ? {
          chargePointVendor: 'Acme',
          chargePointModel: 'Wallbox 22',
          chargePointSerialNumber: 'SN-1',
          firmwareVersion: '1.2.3',
        }
      : {
          reason: 'PowerUp',
          chargingStation: { vendorName: 'Acme', model: 'DC 50', serialNumber: 'SN-2', firmwareVersion: '2.0' },
        },
  )) as Record<string, unknown>;
}

/** Rejects unless `promise` rejects with a GridseamError of `code`; returns it. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
): Promise<Error & { code: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    const found = error as Error & { code: string; details?: Record<string, unknown> };
    if (found.code !== code) throw new Error(`expected ${code}, got ${found.code ?? ''}: ${found.message}`);
    return found;
  }
  throw new Error(`expected a rejection with ${code}`);
}

/** Where stations connect: the CSMS's origin plus the default path (the identity is appended). */
export function endpointOf(csms: Csms): string {
  return `${csms.url}/ocpp`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
