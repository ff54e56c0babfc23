/**
 * Shared pieces of the fault tests (faults.test.ts): bounded waits, register and meter reads over
 * Modbus, a TCP proxy that can make the utility unreachable, the utility server with a test PKI,
 * the gateway config text, and a read-only look at the Responses the 2030.5 client persisted in a
 * gateway's SQLite file (for a gateway running in another process).
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { createTestPki, writeTestPki } from '@gridseam/ieee2030-5';
import { encodePointWrite, getModelDefinition, openModbusTcp, readModels, scanSunSpec } from '@gridseam/sunspec';
import BetterSqlite3 from 'better-sqlite3';
import { DEFAULT_CLIENT_STATE_NAMESPACE } from '../../src/config/utility.ts';
import {
  parseScenario,
  parseUtilityConfig,
  type RunningUtilityServer,
  startUtilityServer,
} from '../../src/utility/index.ts';

/** Polls `check` every 100 ms until it returns a value (not undefined); gives up after `timeoutMs` (60 s). */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

/** Reads the given models of a unit with the SunSpec scanner: "model.point" -> value (scaled). */
export async function readPoints(
  port: number,
  unit: number,
  modelIds: readonly number[],
): Promise<Map<string, unknown>> {
  const transport = await openModbusTcp({ host: '127.0.0.1', port, timeoutMs: 2000 });
  try {
    const scan = await scanSunSpec(transport, unit);
    const ids = scan.models.map((m) => m.id).filter((id) => modelIds.includes(id));
    const models = await readModels(transport, unit, scan, { ids });
    const points = new Map<string, unknown>();
    for (const model of models)
      for (const [name, value] of Object.entries(model.points ?? {})) points.set(`${model.id}.${name}`, value);
    return points;
  } finally {
    await transport.close();
  }
}

/** Writes one point of one model of a unit (scaled with the model's scale factors, as read now). */
export async function writePoint(
  port: number,
  unit: number,
  modelId: number,
  path: string,
  value: number,
): Promise<void> {
  const transport = await openModbusTcp({ host: '127.0.0.1', port, timeoutMs: 2000 });
  try {
    const scan = await scanSunSpec(transport, unit);
    const [model] = await readModels(transport, unit, scan, { ids: [modelId] });
    const def = getModelDefinition(modelId);
    if (model === undefined || def === undefined) throw new Error(`unit ${unit} has no model ${modelId}`);
    const write = encodePointWrite(def, model, path, value);
    await transport.writeRegisters(unit, model.start + write.offset, Array.from(write.registers));
  } finally {
    await transport.close();
  }
}

/** A number point, or an error naming it. */
export function numberPoint(points: Map<string, unknown>, key: string): number {
  const value = points.get(key);
  if (typeof value !== 'number') throw new Error(`${key} is not a number: ${String(value)}`);
  return value;
}

/** Net export at a SunSpec meter (model 203: W is positive for import), W. */
export async function siteExportW(port: number, unit: number): Promise<number> {
  return -numberPoint(await readPoints(port, unit, [203]), '203.W');
}

/** A battery's 704 power setpoint: the WSet value when WSetEna is on, else undefined. */
export async function batteryWSet(port: number, unit: number): Promise<number | undefined> {
  const points = await readPoints(port, unit, [704]);
  return numberPoint(points, '704.WSetEna') === 1 ? numberPoint(points, '704.WSet') : undefined;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a server. `down()` destroys every open connection and
 * resets every new one (the utility is unreachable) until `up()`; TLS passes through untouched.
 */
export class FaultProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  #down = false;
  /** Connections refused while down. */
  refused = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async start(): Promise<number> {
    const server = net.createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
    return address.port;
  }

  down(): void {
    this.#down = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  up(): void {
    this.#down = false;
  }

  async close(): Promise<void> {
    this.down();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    if (this.#down) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.#target.port, this.#target.host);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/** Simulated noon today, so the PV exports well above the limits the tests use. */
export function noonToday(): number {
  return Math.floor(Date.now() / 86_400_000) * 86_400_000 + 12 * 3_600_000;
}

export interface TestUtility {
  utility: RunningUtilityServer;
  /** The gateway's client certificate LFDI (its EndDevice at the utility). */
  gatewayLfdi: string;
}

/**
 * A test PKI in `dir/pki` (client 'gateway-1') and a CSIP-AUS utility server on 127.0.0.1:0 with a
 * memory store, 1 s poll and post rates, the gateway's EndDevice and a program 'doe' (primacy 10).
 * `notifications`: the server may POST Notifications to loopback subscribers (tests only).
 */
export async function startTestUtility(dir: string, options: { notifications?: boolean } = {}): Promise<TestUtility> {
  const pki = await createTestPki({ clients: [{ name: 'gateway-1' }] });
  await writeTestPki(pki, join(dir, 'pki'));
  const gatewayLfdi = pki.clients[0]?.lfdi ?? '';
  const utilityFile = join(dir, 'utility.yaml');
  const config = parseUtilityConfig(
    `
profile: csip-aus
listen: { host: 127.0.0.1, port: 0 }
tls: { key: pki/server.key.pem, cert: pki/server.cert.pem, ca: pki/ca.cert.pem }
variances:
  pollRates: { DeviceCapability: 1, Time: 1, EndDeviceList: 1, FunctionSetAssignmentsList: 1, DERProgramList: 1, DERList: 1 }
  postRate: 1
store: { kind: sqlite, path: ':memory:' }
admin: { host: 127.0.0.1, port: 0 }
log: { level: silent }
${options.notifications === true ? 'notifications: { allowLoopback: true }' : ''}
`,
    utilityFile,
  );
  const scenario = parseScenario(
    `
endDevices:
  - { lfdi: ${gatewayLfdi}, nmi: '4102345678', postRate: 1 }
programs:
  - { id: doe, description: Dynamic exports, primacy: 10 }
`,
    join(dir, 'scenario.yaml'),
  );
  const utility = await startUtilityServer(config, { scenario, configFile: utilityFile });
  return { utility, gatewayLfdi };
}

/** The viewer token of the gateway configs below, and its digest. */
export const VIEWER_TOKEN = 'faults-viewer';
const VIEWER_TOKEN_SHA256 = createHash('sha256').update(VIEWER_TOKEN).digest('hex');

export interface GatewayYamlOptions {
  /** Where the 2030.5 client connects (the utility, or a proxy in front of it). */
  sepPort?: number;
  /** SunSpec devices: id, port, unit (site-1, 200 ms polls). */
  devices: ReadonlyArray<{ id: string; port: number; unit: number }>;
  logLevel?: 'silent' | 'info';
  /** The 2030.5 client's request timeout (3000 ms). */
  utilityTimeoutMs?: number;
}

/** A gateway config: SQLite file `gateway.sqlite` next to the config, site-1, the devices (if any), the 2030.5 client. */
export function gatewayYaml(options: GatewayYamlOptions): string {
  const devices = options.devices
    .map(
      (d) =>
        `    - { id: ${d.id}, siteId: site-1, host: 127.0.0.1, port: ${d.port}, unit: ${d.unit}, pollIntervalMs: 200 }`,
    )
    .join('\n');
  // No devices, no sunspec section (a gateway with only the 2030.5 client).
  const sunspec = devices === '' ? '' : `sunspec:\n  timeoutMs: 2000\n  devices:\n${devices}\n`;
  const utility =
    options.sepPort === undefined
      ? ''
      : `
utility:
  ieee2030_5:
    dcapUrl: https://127.0.0.1:${options.sepPort}/dcap
    certificate: pki/clients/gateway-1.cert.pem
    key: pki/clients/gateway-1.key.pem
    ca: pki/ca.cert.pem
    mode: direct
    profile: csip-aus
    siteId: site-1
    nmi: '4102345678'
    pen: 12345
    minPollSeconds: 1
    retrySeconds: 1
    postRateSeconds: 1
    reportIntervalSeconds: 1
    timeoutMs: ${options.utilityTimeoutMs ?? 3000}
`;
  return `
store: { kind: sqlite, path: gateway.sqlite }
bus: { kind: memory }
api:
  host: 127.0.0.1
  port: 0
  tokens:
    - { name: faults, role: viewer, tokenSha256: ${VIEWER_TOKEN_SHA256} }
telemetry: { flushIntervalMs: 20, batchSize: 100 }
log: { level: ${options.logLevel ?? 'silent'} }
fleet:
  sites: [{ id: site-1, name: Site one }]
${sunspec}${utility}`;
}

/** GET on a gateway's operator API with the viewer token; the JSON body, or an error with the status. */
export async function apiGet(address: string, path: string): Promise<unknown> {
  const response = await fetch(`${address}${path}`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
  const body: unknown = await response.json();
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export interface PersistedResponse {
  mRID: string;
  status: number;
  state: string;
}

/**
 * The Responses the 2030.5 client recorded in a gateway's SQLite file (documents of its state
 * namespace, `response/<lfdi>:<mRID>:<status>`), read with a separate read-only connection.
 */
export function persistedResponses(sqlitePath: string): PersistedResponse[] {
  const db = new BetterSqlite3(sqlitePath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db
      .prepare('SELECT doc FROM documents WHERE namespace = ? AND id LIKE ? ORDER BY id')
      .all(DEFAULT_CLIENT_STATE_NAMESPACE, 'response/%') as Array<{ doc: string }>;
    return rows.map((row) => {
      const doc = JSON.parse(row.doc) as { mRID?: unknown; status?: unknown; state?: unknown };
      return { mRID: String(doc.mRID), status: Number(doc.status), state: String(doc.state) };
    });
  } finally {
    db.close();
  }
}
