/**
 * An in-process control loop for the engine tests: SQLite in memory, the memory bus, the registry,
 * the edge's CommandExecutor over fake adapters that record writes and can fail, and a manual
 * clock. Ticks are driven explicitly (autoTick off); nothing depends on wall-clock time.
 */
import {
  type ApplyOutcome,
  type DeviceAdapter,
  type DeviceDescription,
  GridseamError,
  type ProgramEvent,
  type Reading,
  type Setpoint,
} from '@gridseam/model';
import pino from 'pino';
import { openBus } from '../../src/bus/index.ts';
import type { Bus } from '../../src/bus/types.ts';
import { ControlEngine, type ControlEngineOptions, type EventOutcome } from '../../src/control/engine.ts';
import type { EdgeClock } from '../../src/edge/clock.ts';
import { CommandExecutor, directoryOf } from '../../src/edge/executor.ts';
import { FleetRegistry } from '../../src/registry/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
export const HOUR = 3_600_000;
const logger = pino({ level: 'silent' });

/** Lets queued bus deliveries and promise chains run. */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A device behind a fake adapter: records every setpoint; `failWith` makes writes fail. */
export class FakeDevice implements DeviceAdapter {
  readonly applied: Setpoint[] = [];
  failWith: GridseamError | undefined;
  constructor(
    readonly deviceId: string,
    readonly description: DeviceDescription,
  ) {}
  async describe(): Promise<DeviceDescription> {
    return this.description;
  }
  async poll(): Promise<Reading[]> {
    return [];
  }
  async apply(setpoint: Setpoint): Promise<ApplyOutcome> {
    if (this.failWith) throw this.failWith;
    this.applied.push(setpoint);
    return { readBack: { at: setpoint.start, value: setpoint.value }, detail: 'fake write' };
  }
  async close(): Promise<void> {}
  /** The last value written of a kind. */
  last(kind: Setpoint['kind']): number | undefined {
    return this.applied.filter((s) => s.kind === kind).at(-1)?.value;
  }
}

export const PV: DeviceDescription = {
  class: 'pv-inverter',
  capabilities: { controls: ['generationLimit'], ratings: { maxW: 10_000 } },
};
export const BATTERY: DeviceDescription = {
  class: 'battery',
  capabilities: {
    controls: ['fixedW'],
    ratings: { maxW: 5000 },
    storage: { capacityWh: 20_000, maxChargeW: 3000, maxDischargeW: 5000 },
  },
};
export const METER: DeviceDescription = { class: 'meter', capabilities: { controls: [] } };

export interface Loop {
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
  engine: ControlEngine;
  executor: CommandExecutor;
  devices: Map<string, FakeDevice>;
  outcomes: EventOutcome[];
  clock: { t: number };
  addDevice(id: string, siteId: string, description: DeviceDescription): Promise<FakeDevice>;
  /** An adapter for a device already in the store (after a restart). */
  attach(id: string, description: DeviceDescription): FakeDevice;
  /** Stores total readings stamped `ts` (default now; the engine reads the latest from the store). */
  feed(deviceId: string, values: Record<string, number>, ts?: number): Promise<void>;
  /** A tick, then every command it issued settled. */
  tick(): ReturnType<ControlEngine['tick']>;
  event(id: string, input: Partial<ProgramEvent> & Pick<ProgramEvent, 'intervals'>): ProgramEvent;
  close(): Promise<void>;
}

const UNITS: Record<string, string> = {
  activePower: 'W',
  stateOfCharge: '%',
  maxChargePower: 'W',
  maxDischargePower: 'W',
};

export interface LoopOptions {
  /** A SQLite file (to restart over the same store); default ':memory:'. */
  storePath?: string;
  /** The clock's start; default T0. */
  startAt?: number;
  /** Engine options besides the store, bus, clock and ids. */
  engine?: Pick<
    ControlEngineOptions,
    'staleAfterMs' | 'pollIntervalMs' | 'overrideNamespace' | 'marginMs' | 'periodMs'
  >;
}

export async function loop(options: LoopOptions = {}): Promise<Loop> {
  const clock = { t: options.startAt ?? T0 };
  const edgeClock: EdgeClock = { now: () => clock.t, setTimeout: () => 0, clearTimeout: () => undefined };
  const store = await openStore({ kind: 'sqlite', path: options.storePath ?? ':memory:' }, { logger });
  await store.migrate();
  const bus = await openBus({ kind: 'memory' }, { logger });
  // Ids stay unique across loops over one file store (a restart).
  let seq = 0;
  const prefix = options.storePath === undefined ? '' : `${clock.t.toString(36)}-`;
  const registry = new FleetRegistry({ store, bus, now: () => clock.t, newId: () => `${prefix}id-${++seq}` });
  const devices = new Map<string, FakeDevice>();
  const executor = new CommandExecutor({
    bus,
    store,
    adapters: directoryOf(devices),
    now: () => clock.t,
    logger,
    retryDelayMs: 1,
    maxAttempts: 1,
  });
  await executor.start();
  const engine = new ControlEngine({
    store,
    bus,
    logger,
    clock: edgeClock,
    autoTick: false,
    periodMs: 60_000,
    newId: () => `${prefix}c-${++seq}`,
    ...options.engine,
  });
  await engine.start();
  const outcomes: EventOutcome[] = [];
  engine.on('outcome', (outcome) => outcomes.push(outcome));
  const attach = (id: string, description: DeviceDescription): FakeDevice => {
    const device = new FakeDevice(id, description);
    if (description.class !== 'meter') devices.set(id, device);
    return device;
  };
  return {
    store,
    bus,
    registry,
    engine,
    executor,
    devices,
    outcomes,
    clock,
    async addDevice(id, siteId, description) {
      await registry.createDevice(
        {
          id,
          siteId,
          class: description.class,
          adapter: { kind: 'fake', address: id },
          capabilities: description.capabilities,
        },
        'test',
      );
      return attach(id, description);
    },
    attach,
    async feed(deviceId, values, ts = clock.t) {
      const readings = Object.entries(values).map(([measurand, value]) => ({
        deviceId,
        ts,
        measurand,
        value,
        unit: UNITS[measurand] ?? 'W',
      })) as Reading[];
      await store.telemetry.write(readings);
    },
    async tick() {
      const report = await engine.tick();
      await engine.whenSettled();
      await settle();
      return report;
    },
    event(id, input) {
      return {
        id,
        programId: 'p-utility',
        source: 'ieee2030.5',
        externalId: `mrid-${id}`,
        primacy: 1,
        targets: { siteIds: ['s1'] },
        status: 'scheduled',
        statusHistory: [],
        createdAt: T0 - 1000,
        ...input,
      };
    },
    async close() {
      await engine.close();
      await executor.close();
      await bus.close();
      await store.close();
    },
  };
}

/** The site s1 with a meter, PV and a battery; the utility's program; readings: PV 6 kW, load 1 kW, SoC 50 %. */
export async function pvBatterySite(l: Loop): Promise<{ pv: FakeDevice; battery: FakeDevice }> {
  await l.registry.createSite({ id: 's1', name: 'Site 1' }, 'test');
  await l.registry.createProgram(
    { id: 'p-utility', name: 'Utility', kind: 'dynamic-export', source: 'ieee2030.5', primacy: 1 },
    'test',
  );
  await l.addDevice('m1', 's1', METER);
  const pv = await l.addDevice('pv1', 's1', PV);
  const battery = await l.addDevice('bat1', 's1', BATTERY);
  await l.feed('m1', { activePower: 5000 });
  await l.feed('pv1', { activePower: 6000 });
  await l.feed('bat1', { activePower: 0, stateOfCharge: 50 });
  return { pv, battery };
}

export { GridseamError };
