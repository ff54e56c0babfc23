/**
 * Fan-out of one control to 10,000 simulated devices through an in-process adapter.
 *
 * - floor: the same 10,000 writes (generationLimit) issued straight to the adapters, at most
 *   CONCURRENCY at a time, no store, no bus, no engine;
 * - engine: a group-scope generationLimit event (2030.5 opModGenLimW fanned out per device) submitted to the ControlEngine, one tick, then every
 *   command through the real path (pending Command in SQLite with its audit row, bus 'command',
 *   CommandExecutor with the same concurrency, adapter.apply, read-back, confirmed) until the
 *   engine has no command in flight.
 *
 * Each simulated device answers a write after LATENCY_MS (a timer: the time a real device takes
 * to write and read back). Prints both times and the ratio floor / engine; target >= 0.5, and the
 * CPU time the engine side used (user + system, from process.cpuUsage) for issuing and for
 * settling, per command, with the event loop's utilisation over the engine run.
 * Environment: CONTROL_BENCH_DEVICES (10000), CONTROL_BENCH_LATENCY_MS (20), CONTROL_BENCH_CONCURRENCY (64).
 */
import type { ApplyOutcome, DeviceAdapter, DeviceDescription, Reading, Setpoint } from '@gridseam/model';
import pino from 'pino';
import { openBus } from '../src/bus/index.ts';
import { ControlEngine } from '../src/control/engine.ts';
import { CommandExecutor, directoryOf } from '../src/edge/executor.ts';
import { openStore } from '../src/store/index.ts';

const DEVICES = Number(process.env.CONTROL_BENCH_DEVICES ?? 10_000);
const LATENCY_MS = Number(process.env.CONTROL_BENCH_LATENCY_MS ?? 20);
const CONCURRENCY = Number(process.env.CONTROL_BENCH_CONCURRENCY ?? 64);
const TARGET_RATIO = 0.5;
const logger = pino({ level: 'silent' });

const DESCRIPTION: DeviceDescription = {
  class: 'pv-inverter',
  capabilities: { controls: ['generationLimit'], ratings: { maxW: 5000 } },
};

class SimulatedDevice implements DeviceAdapter {
  writes = 0;
  constructor(readonly deviceId: string) {}
  async describe(): Promise<DeviceDescription> {
    return DESCRIPTION;
  }
  async poll(): Promise<Reading[]> {
    return [];
  }
  apply(setpoint: Setpoint): Promise<ApplyOutcome> {
    return new Promise((resolve) =>
      setTimeout(() => {
        this.writes++;
        resolve({ readBack: { at: Date.now(), value: setpoint.value } });
      }, LATENCY_MS),
    );
  }
  async close(): Promise<void> {}
}

async function floor(adapters: SimulatedDevice[]): Promise<number> {
  const now = Date.now();
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < adapters.length) {
      const adapter = adapters[next++]!;
      await adapter.apply({
        id: `floor-${adapter.deviceId}`,
        deviceId: adapter.deviceId,
        kind: 'generationLimit',
        value: 2500,
        start: now,
        expiry: now + 90_000,
        source: { kind: 'program', ref: 'bench', primacy: 1 },
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - started;
}

async function main(): Promise<void> {
  const store = await openStore({ kind: 'sqlite', path: ':memory:' }, { logger });
  await store.migrate();
  const bus = await openBus({ kind: 'memory' }, { logger });
  const now = Date.now();
  await store.sites.create({ id: 'site', name: 'Bench' });
  await store.programs.create({ id: 'p', name: 'Bench', kind: 'grid-support', source: 'ieee2030.5', primacy: 1 });
  await store.groups.create({ id: 'fleet', name: 'Fleet', kind: 'group' });
  const adapters = new Map<string, SimulatedDevice>();
  for (let i = 0; i < DEVICES; i++) {
    const id = `pv-${i}`;
    await store.devices.create({
      id,
      siteId: 'site',
      class: 'pv-inverter',
      adapter: { kind: 'sim', address: id },
      capabilities: DESCRIPTION.capabilities,
      enabled: true,
    });
    await store.memberships.add({ groupId: 'fleet', deviceId: id, validFrom: now - 1000 });
    adapters.set(id, new SimulatedDevice(id));
  }

  const floorMs = await floor([...adapters.values()]);
  for (const adapter of adapters.values()) adapter.writes = 0;

  const executor = new CommandExecutor({
    bus,
    store,
    adapters: directoryOf(adapters),
    logger,
    concurrency: CONCURRENCY,
  });
  await executor.start();
  const engine = new ControlEngine({ store, bus, logger, autoTick: false });
  await engine.start();
  const cpuAtStart = process.cpuUsage();
  const loopAtStart = performance.eventLoopUtilization();
  const started = performance.now();
  await engine.submitEvent({
    id: 'fanout',
    programId: 'p',
    source: 'ieee2030.5',
    primacy: 1,
    intervals: [{ start: now, durationS: 3600, signals: [{ kind: 'generationLimit', value: 2500 }] }],
    targets: { groupIds: ['fleet'] },
    status: 'scheduled',
    statusHistory: [],
    createdAt: now,
  });
  const report = await engine.tick();
  const issuedMs = performance.now() - started;
  const cpuIssue = process.cpuUsage(cpuAtStart);
  await engine.whenSettled();
  const engineMs = performance.now() - started;
  const cpuTotal = process.cpuUsage(cpuAtStart);
  const loop = performance.eventLoopUtilization(loopAtStart);

  let writes = 0;
  for (const adapter of adapters.values()) writes += adapter.writes;
  const confirmed = executor.stats().confirmed;
  const ratio = floorMs / engineMs;
  console.log(`control fan-out: ${DEVICES} devices, device latency ${LATENCY_MS} ms, concurrency ${CONCURRENCY}`);
  console.log(`  floor (direct adapter writes): ${floorMs.toFixed(0)} ms`);
  console.log(
    `  engine (event -> ${report.issued} commands -> confirmed): ${engineMs.toFixed(0)} ms (commands issued after ${issuedMs.toFixed(0)} ms); ${confirmed} confirmed, ${writes} device writes`,
  );
  const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;
  const issueCpuMs = cpuMs(cpuIssue);
  const settleCpuMs = cpuMs(cpuTotal) - issueCpuMs;
  const perCommandUs = (ms: number): string => ((ms * 1000) / Math.max(1, report.issued)).toFixed(0);
  console.log(
    `  engine CPU: issue ${issueCpuMs.toFixed(0)} ms (${perCommandUs(issueCpuMs)} us/command), settle ${settleCpuMs.toFixed(0)} ms (${perCommandUs(settleCpuMs)} us/command), total ${cpuMs(cpuTotal).toFixed(0)} ms; event loop ${(loop.utilization * 100).toFixed(0)}% busy`,
  );
  const ok = ratio >= TARGET_RATIO && confirmed === DEVICES;
  console.log(`  ratio floor/engine ${ratio.toFixed(2)} (target >= ${TARGET_RATIO}): ${ok ? 'PASS' : 'FAIL'}`);
  await engine.close();
  await executor.close();
  await bus.close();
  await store.close();
  if (!ok) process.exitCode = 1;
}

await main();
