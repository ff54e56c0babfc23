/**
 * Shared pieces of the dispatch tests: one battery (bat-1 on site-1) in a real store, bus and
 * registry for the scheduler tests; for the end-to-end tests, a SunSpec battery simulator, the
 * gateway config with a `dispatch` section, and the plan, setpoint and SoC-slope reads they check.
 */
import assert from 'node:assert/strict';
import type { Reading } from '@gridseam/model';
import { SunSpecSimulator, type SunSpecSimulatorOptions } from '@gridseam/sunspec';
import type { Gateway } from '../../src/app.ts';
import { openBus } from '../../src/bus/index.ts';
import type { Bus } from '../../src/bus/types.ts';
import type { BatteryPlanDocument, DispatchPlanDocument } from '../../src/dispatch/index.ts';
import { FleetRegistry } from '../../src/registry/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { apiGet, batteryWSet, gatewayYaml, waitFor } from '../seams/support.ts';

export function planOf(plan: DispatchPlanDocument | undefined, deviceId: string): BatteryPlanDocument | undefined {
  return plan?.batteries.find((b) => b.deviceId === deviceId);
}

/** Least-squares slope of (t, y), per ms. */
export function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  const mt = points.reduce((s, [t]) => s + t, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return num / den;
}

export interface BatteryFleet {
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
}

/**
 * An in-memory SQLite store and memory bus holding site-1 and bat-1 (10 kWh, 5 kW, SoC 10-90 %),
 * with one SoC reading of 50 % at `socAt`. The caller closes the bus and the store.
 */
export async function openBatteryFleet(socAt: number): Promise<BatteryFleet> {
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  await store.migrate();
  const bus = await openBus({ kind: 'memory' });
  const registry = new FleetRegistry({ store, bus });
  await registry.createSite({ id: 'site-1', name: 'one' }, 'test');
  await registry.createDevice(
    {
      id: 'bat-1',
      siteId: 'site-1',
      class: 'battery',
      adapter: { kind: 'simulator', address: 'bat-1' },
      capabilities: {
        controls: ['fixedW'],
        storage: { capacityWh: 10_000, maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 90 },
      },
      enabled: true,
    },
    'test',
  );
  await store.telemetry.write([{ deviceId: 'bat-1', ts: socAt, measurand: 'stateOfCharge', value: 50, unit: '%' }]);
  return { store, bus, registry };
}

export interface BatterySpec {
  capacityWh: number;
  powerW: number;
  initialSocPct: number;
  roundTripEfficiency: number;
}

/** One SunSpec battery (unit 1) on 127.0.0.1, port 0, with real-time reversion timers. */
export async function startBatterySimulator(
  battery: BatterySpec,
  options: Partial<SunSpecSimulatorOptions> = {},
): Promise<{ simulator: SunSpecSimulator; port: number }> {
  const simulator = new SunSpecSimulator({
    port: 0,
    profile: 'battery',
    count: 1,
    ...options,
    realTimeTimers: true,
    physics: {
      capacityWh: battery.capacityWh,
      maxChargeW: battery.powerW,
      maxDischargeW: battery.powerW,
      initialSocPct: battery.initialSocPct,
      roundTripEfficiency: battery.roundTripEfficiency,
      sohPct: 100,
    },
  });
  const { port } = await simulator.start();
  return { simulator, port };
}

export interface DispatchYamlOptions {
  modbusPort: number;
  intervalSeconds: number;
  horizonMinutes: number;
  roundTripEfficiency: number;
  prices: { start: number; intervalSeconds: number; usdPerMwh: readonly number[] };
}

/**
 * The gateway config of the end-to-end dispatch tests: bat-1 (unit 1, 200 ms polls), the control
 * engine on a 1 s period, and a `dispatch` section re-planning every 2 s against inline prices.
 */
export function dispatchGatewayYaml(options: DispatchYamlOptions): string {
  const { prices } = options;
  return `${gatewayYaml({ devices: [{ id: 'bat-1', port: options.modbusPort, unit: 1 }] })}
control: { periodSeconds: 1, marginSeconds: 2 }
dispatch:
  enrol: { deviceIds: [bat-1] }
  cadenceSeconds: 2
  minReplanSeconds: 0
  intervalSeconds: ${options.intervalSeconds}
  horizonMinutes: ${options.horizonMinutes}
  terminal: free
  battery: { roundTripEfficiency: ${options.roundTripEfficiency} }
  prices:
    kind: inline
    start: ${new Date(prices.start).toISOString()}
    intervalSeconds: ${prices.intervalSeconds}
    usdPerMwh: [${prices.usdPerMwh.join(', ')}]
`;
}

export function latestPlan(gateway: Gateway): Promise<DispatchPlanDocument> {
  return apiGet(gateway.address, '/api/dispatch/plan') as Promise<DispatchPlanDocument>;
}

/** Waits for a plan whose first interval for bat-1 has `netW`, and for that power on the battery's register. */
export async function planAndSetpoint(
  gateway: Gateway,
  modbusPort: number,
  netW: number,
  what: string,
): Promise<DispatchPlanDocument> {
  const plan = await waitFor(async () => {
    const latest = await latestPlan(gateway);
    const first = planOf(latest, 'bat-1')?.intervals[0];
    return first !== undefined && Math.abs(first.netKw * 1000 - netW) < 1 ? latest : undefined;
  }, `a plan that ${what}`);
  await waitFor(async () => ((await batteryWSet(modbusPort, 1)) === netW ? true : undefined), `WSet ${netW} W`);
  return plan;
}

/**
 * bat-1's SoC slope (Wh per real ms, for a battery of `capacityWh`) while its measured power is
 * `powerW`, from at least `minPoints` readings after `from`; undefined until there are enough.
 */
export async function measuredSocSlope(
  gateway: Gateway,
  capacityWh: number,
  from: number,
  powerW: number,
  minPoints = 25,
): Promise<number | undefined> {
  const span = { deviceId: 'bat-1', from, to: Date.now() + 1 };
  const soc = await gateway.store.telemetry.query({ ...span, measurand: 'stateOfCharge' });
  const power = new Map(
    (await gateway.store.telemetry.query({ ...span, measurand: 'activePower' })).map((r: Reading) => [r.ts, r.value]),
  );
  const run: Array<[number, number]> = [];
  for (const reading of soc) {
    const w = power.get(reading.ts);
    if (typeof w !== 'number' || Math.abs(w - powerW) > Math.abs(powerW) * 0.01) {
      if (run.length < minPoints) run.length = 0;
      else break;
      continue;
    }
    run.push([reading.ts, ((reading.value as number) / 100) * capacityWh]);
  }
  return run.length >= minPoints ? slope(run) : undefined;
}

/** The plan's own SoC slope for bat-1 over its first interval, Wh per real ms (the document's instants are real). */
export function plannedSocSlope(plan: DispatchPlanDocument): number {
  const battery = planOf(plan, 'bat-1');
  assert.ok(battery);
  const first = battery.intervals[0];
  assert.ok(first);
  const startWh = (battery.soc0Pct / 100) * battery.usableKwh * 1000;
  return (first.energyKwh * 1000 - startWh) / (first.end - first.start);
}

/** Waits for bat-1's confirmed fixedW command at `valueW` (the engine confirms by read-back). */
export function confirmedFixedW(gateway: Gateway, valueW: number) {
  return waitFor(async () => {
    const commands = await gateway.registry.listCommands('bat-1', { status: 'confirmed' });
    return commands.find((c) => c.setpoint.kind === 'fixedW' && c.setpoint.value === valueW);
  }, 'a confirmed fixedW command at the planned power');
}
