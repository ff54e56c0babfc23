/**
 * A gateway in this process with a small seeded fleet for the console's browser tests: two sites,
 * a battery, a PV inverter, a meter and a charger, a group, a viewer and an operator token, an
 * hour of telemetry published on the bus (so it goes the real way: bus -> writer -> store), one
 * device announced offline, and a program event created through the API.
 *
 * With `{ dispatch: true }` the gateway also runs the rolling-horizon dispatch (a `dispatch`
 * section: the shipped CAISO sample prices with regulation, degradation costs, a 5 s cadence) over
 * three enrolled batteries: bat-1 and bat-2 (with SoC and SoH telemetry) are planned, bat-3 has no
 * SoC reading and is left out.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Reading } from '@gridseam/model';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig, sha256Hex } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CONSOLE_INDEX = join(REPO_ROOT, 'packages/console/build/index.html');

export const TOKENS = {
  viewer: 'console-viewer-token-0123456789',
  operator: 'console-operator-token-0123456789',
} as const;

export const EVENT_ID = 'evt-peak-1';
export const PROGRAM_ID = 'prog-peak';

const FLEET = `
fleet:
  sites:
    - { id: site-a, name: Depot A, timezone: Australia/Sydney, connection: { exportLimitW: 5000, importLimitW: 20000, phases: 1 } }
    - { id: site-b, name: Depot B, timezone: Australia/Sydney }
  devices:
    - { id: bat-1, name: Battery one, siteId: site-a, class: battery, adapter: { kind: simulator, address: "sim:bat-1" },
        capabilities: { controls: [chargeLimit, dischargeLimit, fixedW, targetSoc],
                        ratings: { maxW: 5000 },
                        storage: { capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 95 } } }
    - { id: pv-1, siteId: site-a, class: pv-inverter, adapter: { kind: simulator, address: "sim:pv-1" },
        capabilities: { controls: [generationLimit, exportLimit], ratings: { maxW: 8000 } } }
    - { id: meter-1, siteId: site-a, class: meter, adapter: { kind: simulator, address: "sim:meter-1" },
        capabilities: { controls: [] } }
    - { id: ev-1, siteId: site-b, class: ev-charger, adapter: { kind: simulator, address: "sim:ev-1" },
        capabilities: { controls: [evChargingLimit], ev: { minCurrentA: 6, maxCurrentA: 32, phases: 1 } } }
  groups:
    - { id: grp-a, name: Depot A fleet, kind: group, members: [bat-1, pv-1] }
`;

/** Batteries the dispatch variant adds: one with SoC and SoH telemetry, one without any SoC. */
const DISPATCH_DEVICES = `
    - { id: bat-2, name: Battery two, siteId: site-b, class: battery, adapter: { kind: simulator, address: "sim:bat-2" },
        capabilities: { controls: [chargeLimit, dischargeLimit, fixedW], ratings: { maxW: 3300 },
                        storage: { capacityWh: 10000, maxChargeW: 3300, maxDischargeW: 3300, socMinPct: 5, socMaxPct: 100,
                                   roundTripEfficiency: 0.88 } } }
    - { id: bat-3, name: Battery three, siteId: site-b, class: battery, adapter: { kind: simulator, address: "sim:bat-3" },
        capabilities: { controls: [fixedW], storage: { capacityWh: 5000, maxChargeW: 2500, maxDischargeW: 2500 } } }
`;

/** The dispatch variant's section: a short cadence, the shipped sample prices, regulation and wear priced. */
const DISPATCH_SECTION = `
dispatch:
  enrol: { deviceIds: [bat-1, bat-2, bat-3] }
  cadenceSeconds: 5
  minReplanSeconds: 1
  intervalSeconds: 900
  horizonMinutes: 1440
  socStaleSeconds: 3600
  prices: { kind: sample }
  regulation: { sustainHours: 0.25 }
  degradation:
    throughputUsdPerMwh: 2
    cycleDepth: { segments: 4, replacementUsdPerMwh: 100000, stress: { k: 0.000167, b: 2 } }
`;

export interface ConsoleFleetOptions {
  /** Run the rolling-horizon dispatch over bat-1, bat-2 and bat-3 (see the header). */
  dispatch?: boolean;
}

function config(dir: string, options: ConsoleFleetOptions) {
  const fleet = options.dispatch ? FLEET.replace('  groups:', `${DISPATCH_DEVICES.slice(1)}  groups:`) : FLEET;
  return parseConfig(
    `
store: { kind: sqlite, path: ':memory:' }
bus: { kind: memory }
api:
  port: 0
  tokens:
    - { name: console-viewer, role: viewer, tokenSha256: ${sha256Hex(TOKENS.viewer)} }
    - { name: console-operator, role: operator, tokenSha256: ${sha256Hex(TOKENS.operator)} }
telemetry: { flushIntervalMs: 20, batchSize: 500 }
${fleet}${options.dispatch ? DISPATCH_SECTION : ''}`,
    join(dir, 'gateway.yaml'),
  );
}

/** Builds the console once when packages/console/build is missing (`npm run build:console`). */
export async function ensureConsoleBuilt(): Promise<void> {
  if (existsSync(CONSOLE_INDEX)) return;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('npm', ['run', 'build:console'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`npm run build:console exited ${code}: ${errors.slice(-2000)}`)),
    );
  });
}

/** An hour of minute readings ending now: a battery cycling, PV on a curve, a meter, a charger. */
function hourOfReadings(now: number, options: ConsoleFleetOptions): Reading[] {
  const readings: Reading[] = [];
  for (let minute = 60; minute >= 0; minute--) {
    const ts = now - minute * 60_000;
    const phase = (60 - minute) / 60;
    readings.push(
      { deviceId: 'bat-1', ts, measurand: 'activePower', value: Math.round(2000 * Math.sin(phase * 6)), unit: 'W' },
      { deviceId: 'bat-1', ts, measurand: 'stateOfCharge', value: 40 + 20 * phase, unit: '%' },
      { deviceId: 'bat-1', ts, measurand: 'voltage', value: 230 + Math.sin(phase * 9) * 2, unit: 'V' },
      { deviceId: 'pv-1', ts, measurand: 'activePower', value: Math.round(4000 + 1000 * phase), unit: 'W' },
      { deviceId: 'pv-1', ts, measurand: 'voltage', value: 241, unit: 'V' },
      { deviceId: 'meter-1', ts, measurand: 'activePower', value: 3500, unit: 'W' },
      { deviceId: 'ev-1', ts, measurand: 'activePower', value: -7200, unit: 'W' },
    );
    if (options.dispatch)
      readings.push(
        { deviceId: 'bat-2', ts, measurand: 'activePower', value: -1500, unit: 'W' },
        { deviceId: 'bat-2', ts, measurand: 'stateOfCharge', value: 30 + 15 * phase, unit: '%' },
        { deviceId: 'bat-2', ts, measurand: 'stateOfHealth', value: 92, unit: '%' },
        { deviceId: 'bat-3', ts, measurand: 'activePower', value: 0, unit: 'W' },
      );
  }
  readings.push(
    { deviceId: 'bat-1', ts: now, measurand: 'operatingState', value: 'discharging', unit: 'state' },
    { deviceId: 'pv-1', ts: now, measurand: 'operatingState', value: 'running', unit: 'state' },
    { deviceId: 'ev-1', ts: now, measurand: 'operatingState', value: 'charging', unit: 'state' },
  );
  return readings;
}

/** Polls until check answers something; the bound only stops a broken test from hanging. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export interface ConsoleFleet {
  gateway: Gateway;
  /** The gateway's API, e.g. http://127.0.0.1:40123. */
  address: string;
  api<T>(path: string, init?: { method?: string; body?: unknown; role?: keyof typeof TOKENS }): Promise<T>;
  close(): Promise<void>;
}

export async function startConsoleFleet(dir: string, options: ConsoleFleetOptions = {}): Promise<ConsoleFleet> {
  const logger = createLogger({ level: 'warn', destination: new PassThrough().resume() });
  const gateway = await startGateway(config(dir, options), { logger });
  const address = gateway.address;
  const api = async <T>(
    path: string,
    init: { method?: string; body?: unknown; role?: keyof typeof TOKENS } = {},
  ): Promise<T> => {
    const response = await fetch(`${address}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${TOKENS[init.role ?? 'operator']}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  try {
    const now = Date.now();
    const readings = hourOfReadings(now, options);
    for (const deviceId of new Set(readings.map((r) => r.deviceId)))
      await gateway.bus.publish(
        'telemetry',
        { readings: readings.filter((r) => r.deviceId === deviceId) },
        { key: deviceId },
      );
    // The edge's word for a device it lost: the meter is offline (the fleet summary counts it so).
    await gateway.bus.publish('device.state', { deviceId: 'meter-1', at: now, online: false }, { key: 'meter-1' });
    await eventually(async () => {
      const latest = await api<Reading[]>('/api/devices/ev-1/telemetry/latest', { role: 'viewer' });
      return latest.some((r) => r.measurand === 'operatingState') ? latest : undefined;
    }, 'the seeded telemetry in the store');
    if (options.dispatch)
      await eventually(async () => {
        // 404 until the first plan is stored
        const plan = await api<{ batteries: Array<{ deviceId: string }> }>('/api/dispatch/plan', {
          role: 'viewer',
        }).catch(() => undefined);
        return plan?.batteries.length === 2 ? plan : undefined;
      }, 'a dispatch plan of bat-1 and bat-2');
    await api('/api/programs', {
      method: 'POST',
      body: { id: PROGRAM_ID, name: 'Evening peak', kind: 'demand-response', source: 'operator', primacy: 20 },
    });
    await api('/api/enrolments', {
      method: 'POST',
      body: { id: 'enr-site-a', programId: PROGRAM_ID, siteId: 'site-a', validFrom: now - 3_600_000, status: 'active' },
    });
    await api('/api/events', {
      method: 'POST',
      body: {
        id: EVENT_ID,
        programId: PROGRAM_ID,
        intervals: [{ start: now - 10 * 60_000, durationS: 2 * 3600, signals: [{ kind: 'exportLimit', value: 2000 }] }],
        targets: { siteIds: ['site-a'] },
      },
    });
  } catch (error) {
    await gateway.close();
    throw error;
  }
  return { gateway, address, api, close: () => gateway.close() };
}
