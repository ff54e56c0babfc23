/**
 * SunSpec fleet polling benchmark: `npm run bench:sunspec [-- --devices N] [--profile battery]
 * [--seconds S] [--concurrency C]`.
 *
 * The simulator runs in a CHILD PROCESS (`gridseam sim sunspec`, as in production it runs beside
 * the gateway, on its own core): N units (default 1,000 batteries), 247 unit ids per port, so
 * 1,000 units are 5 ports. The gateway side runs in this process exactly as the gateway wires it:
 * one shared Modbus TCP transport per host:port (SunSpecConnections), one SunSpecAdapter per unit,
 * the PollScheduler (every device always due: pollIntervalMs 1, so it runs flat out, bounded by
 * its concurrency limit), decoding and canonical readings (readingsOf), then the TelemetryWriter
 * into a SQLite file (its writes run in the store's writer thread, as in the gateway). The bus is
 * bypassed: the scheduler's sink hands the readings to the writer (with back-pressure above 50,000
 * buffered readings). A run lasts --seconds after a 1 s warm-up; device polls/s = polls completed /
 * (time from the start of the window until every reading of those polls is committed). CPU per
 * poll counts every thread of this process; the simulator's CPU per poll is read from /proc.
 *
 * The FLOOR, measured in the same run against the same simulator: modbus-serial's ModbusRTU client,
 * the same number of connections (one per port), each a sequential read loop over its units reading
 * exactly the register blocks of one device poll (same addresses and counts, from the scans), no
 * decoding and no storage. Targets: >= 2,000 device polls/s and >= 0.7 of the floor. Prints
 * PASS/FAIL; exit code 1 on a FAIL. Every process and connection is stopped at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Reading } from '@gridseam/model';
import {
  planReads,
  type ReadRequest,
  SUNSPEC_POLL_MODELS,
  SunSpecAdapter,
  SunSpecConnections,
} from '@gridseam/sunspec';
import BetterSqlite3 from 'better-sqlite3';
import modbusSerial from 'modbus-serial';
import pino from 'pino';
import { PollScheduler } from '../src/edge/scheduler.ts';
import { openStore } from '../src/store/index.ts';
import { TelemetryWriter } from '../src/telemetry/index.ts';

const TARGET_RATE = 2000;
const TARGET_RATIO = 0.7;
const UNITS_PER_PORT = 247;
const WRITER_HIGH_WATER = 50_000;
const HOST = '127.0.0.1';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    profile: { type: 'string', default: 'battery' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '256' },
    /** Profiling aids: run only one side, or drop the readings instead of storing them (no PASS/FAIL then). */
    only: { type: 'string' },
    'no-store': { type: 'boolean', default: false },
  },
});
const deviceCount = Number(args.devices);
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);
const profile = String(args.profile);
if (!(deviceCount > 0 && seconds > 0 && concurrency > 0) || !['battery', 'hybrid'].includes(profile)) {
  console.error('usage: sunspec.bench.ts [--devices N] [--profile battery|hybrid] [--seconds S] [--concurrency C]');
  process.exit(2);
}
const portCount = Math.ceil(deviceCount / UNITS_PER_PORT);
const repoRoot = resolve(import.meta.dirname, '../../..');

const ModbusRTU = modbusSerial.default;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, HOST, () => server.close(() => done(true)));
  });
}

/** A run of `count` consecutive free ports (the simulator takes port, port+1, ...). */
async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let p = first; p < first + count && ok; p++) ok = await portFree(p);
    if (ok) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** Starts `gridseam sim sunspec` and resolves once it serves. */
async function startSimulator(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'packages/gateway/bin/gridseam.js'),
      'sim',
      'sunspec',
      '--port',
      String(port),
      '--profile',
      profile,
      '--count',
      String(deviceCount),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`the simulator did not start: ${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('sunspec simulator:')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the simulator exited (${code}): ${output}`));
    });
  });
  console.log(`simulator (child pid ${child.pid}): ${output.trim().split('\n')[0]}`);
  return child;
}

async function stopSimulator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** CPU time (user + system) in µs of a /proc stat file (a process or one thread); undefined if unreadable. */
function statCpuMicros(path: string): number | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU time of a child process in µs, from /proc (Linux); undefined elsewhere. */
function childCpuMicros(child: ChildProcess): number | undefined {
  return statCpuMicros(`/proc/${child.pid}/stat`);
}

/** CPU time of this process's main thread in µs (Linux: its thread id is the process id). */
function mainThreadCpuMicros(): number | undefined {
  return statCpuMicros(`/proc/self/task/${process.pid}/stat`);
}
/** USER_HZ: 100 on Linux for every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

interface Unit {
  port: number;
  unit: number;
  plan: ReadRequest[];
}

/** Floor: per connection, a sequential modbus-serial read loop over its units' poll blocks. */
async function runFloor(
  units: readonly Unit[],
  ports: readonly number[],
): Promise<{ polls: number; ms: number; cpuPerPoll: number; simulatorCpuPerPoll: number | undefined }> {
  const clients = await Promise.all(
    ports.map(async (port) => {
      const client = new ModbusRTU();
      client.on('error', () => undefined);
      await client.connectTCP(HOST, { port });
      client.setTimeout(5000);
      return client;
    }),
  );
  let polls = 0;
  let counting = false;
  let stop = false;
  const loops = ports.map(async (port, index) => {
    const client = clients[index]!;
    const mine = units.filter((u) => u.port === port);
    for (let i = 0; !stop; i = (i + 1) % mine.length) {
      const unit = mine[i]!;
      client.setID(unit.unit);
      for (const block of unit.plan) await client.readHoldingRegisters(block.address, block.count);
      if (counting) polls++;
    }
  });
  await sleep(1000); // warm-up
  counting = true;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const simulatorStart = childCpuMicros(simulator);
  await sleep(seconds * 1000);
  counting = false;
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const simulatorCpu = since(simulatorStart, childCpuMicros(simulator));
  stop = true;
  await Promise.all(loops);
  await Promise.all(clients.map((c) => new Promise<void>((r) => c.close(() => r()))));
  return {
    polls,
    ms,
    cpuPerPoll: (cpu.user + cpu.system) / polls,
    simulatorCpuPerPoll: simulatorCpu === undefined ? undefined : simulatorCpu / polls,
  };
}

function since(start: number | undefined, end: number | undefined): number | undefined {
  return start === undefined || end === undefined ? undefined : end - start;
}

interface GatewayResult {
  polls: number;
  ms: number;
  /** CPU time of this process per poll, µs (user + system, all threads). */
  cpuPerPoll: number;
  /** CPU time of the simulator process per poll, µs (Linux only). */
  simulatorCpuPerPoll: number | undefined;
  /** Of cpuPerPoll, the main thread's share (Linux only); the rest is the store's writer thread and V8's helpers. */
  mainThreadCpuPerPoll: number | undefined;
  readings: number;
  stored: number;
  failures: number;
  maxInFlight: number;
}

async function runGateway(adapters: readonly SunSpecAdapter[], dir: string): Promise<GatewayResult> {
  const path = join(dir, 'bench.sqlite');
  const logger = pino({ level: 'warn' });
  const store = await openStore({ kind: 'sqlite', path }, { logger });
  await store.migrate();
  const writer = new TelemetryWriter(store.telemetry, { batchSize: 5000, flushIntervalMs: 100, idleFlushMs: 5 });
  let writeErrors = 0;
  let readingsIn = 0;
  const scheduler = new PollScheduler({
    concurrency,
    jitter: 0,
    logger,
    sink: {
      readings: async (_deviceId, readings: Reading[]) => {
        readingsIn += readings.length;
        if (args['no-store']) return;
        const committed = writer.add(readings).catch(() => {
          writeErrors++;
        });
        if (writer.buffered > WRITER_HIGH_WATER) await committed;
      },
      state: async () => undefined,
    },
  });
  for (const adapter of adapters) scheduler.add(adapter, { pollIntervalMs: 1 });
  scheduler.start();
  await sleep(1000); // warm-up
  await writer.flush();
  const before = scheduler.stats();
  const readingsBefore = readingsIn;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const simulatorStart = childCpuMicros(simulator);
  const mainThreadStart = mainThreadCpuMicros();
  await sleep(seconds * 1000);
  await scheduler.stop();
  await writer.flush();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const simulatorCpu = since(simulatorStart, childCpuMicros(simulator));
  const mainThreadCpu = since(mainThreadStart, mainThreadCpuMicros());
  const after = scheduler.stats();
  await writer.close();
  await store.close();
  if (writeErrors > 0) throw new Error(`${writeErrors} telemetry batches failed`);
  const db = new BetterSqlite3(path, { readonly: true });
  // Committed readings are in readings or still in the inbox that is merged into it.
  const stored = (
    db.prepare('SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM readings_inbox) AS n').get() as {
      n: number;
    }
  ).n;
  db.close();
  return {
    polls: after.polls - before.polls,
    ms,
    cpuPerPoll: (cpu.user + cpu.system) / (after.polls - before.polls),
    simulatorCpuPerPoll: simulatorCpu === undefined ? undefined : simulatorCpu / (after.polls - before.polls),
    mainThreadCpuPerPoll: mainThreadCpu === undefined ? undefined : mainThreadCpu / (after.polls - before.polls),
    readings: readingsIn - readingsBefore,
    stored,
    failures: after.failures,
    maxInFlight: after.maxInFlight,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'gridseam-bench-sunspec-'));
const firstPort = await freePorts(portCount);
const ports = Array.from({ length: portCount }, (_, i) => firstPort + i);
const simulator = await startSimulator(firstPort);
// An interrupted run must not leave the simulator behind.
process.once('SIGINT', () => {
  simulator.kill('SIGTERM');
  process.exit(130);
});
const connections = new SunSpecConnections({ timeoutMs: 5000 });
let failed = false;
try {
  // Untimed: connect, then scan every unit once (as the gateway does at start).
  const adapters: SunSpecAdapter[] = [];
  const units: Unit[] = [];
  const portOf: number[] = [];
  for (let u = 0; u < deviceCount; u++) {
    const port = ports[Math.floor(u / UNITS_PER_PORT)]!;
    const unit = (u % UNITS_PER_PORT) + 1;
    const transport = await connections.get(HOST, port);
    adapters.push(new SunSpecAdapter({ deviceId: `${profile}-${u + 1}`, transport, unit }));
    portOf.push(port);
  }
  const describeStarted = performance.now();
  await Promise.all(adapters.map((a) => a.describe()));
  adapters.forEach((adapter, u) => {
    const scan = adapter.scan;
    if (!scan) throw new Error(`${adapter.deviceId}: no scan`);
    // The floor reads exactly what one poll reads: the same models, planned the same way.
    const polled = scan.models.filter((m) => SUNSPEC_POLL_MODELS.includes(m.id));
    units.push({ port: portOf[u]!, unit: adapter.unit, plan: planReads(polled) });
  });
  const plan = units[0]!.plan;
  console.log(
    `${deviceCount} ${profile} devices on ${portCount} port(s), described in ${Math.round(performance.now() - describeStarted)} ms; ` +
      `one poll = ${plan.length} reads (${plan.map((r) => `${r.count}@${r.address}`).join(', ')})`,
  );
  console.log(
    `window ${seconds} s after 1 s warm-up; scheduler concurrency ${concurrency}; bus bypassed (sink -> TelemetryWriter)`,
  );

  if (args.only === 'gateway' || args.only === 'floor') {
    const side = args.only === 'gateway' ? await runGateway(adapters, dir) : await runFloor(units, ports);
    console.log(`${args.only}: ${Math.round((side.polls * 1000) / side.ms)} polls/s (${JSON.stringify(side)})`);
  } else {
    await compare(adapters, units);
  }
} finally {
  await connections.close();
  await stopSimulator(simulator);
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

async function compare(adapters: readonly SunSpecAdapter[], units: readonly Unit[]): Promise<void> {
  const gateway = await runGateway(adapters, dir);
  await connections.close();
  const floor = await runFloor(units, ports);

  const gatewayRate = (gateway.polls * 1000) / gateway.ms;
  const floorRate = (floor.polls * 1000) / floor.ms;
  const ratio = gatewayRate / floorRate;
  const rateOk = gatewayRate >= TARGET_RATE;
  const ratioOk = ratio >= TARGET_RATIO;
  failed = !rateOk || !ratioOk;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const simulatorShare = (micros: number | undefined) => (micros === undefined ? '' : `, simulator ${fmt(micros)} µs`);
  console.log('');
  console.log(
    `gateway: ${fmt(gateway.polls)} device polls in ${fmt(gateway.ms)} ms (committed) = ${fmt(gatewayRate)} polls/s`,
  );
  console.log(
    `         ${fmt((gateway.readings * 1000) / gateway.ms)} readings/s stored; ${gateway.failures} failed polls; ` +
      `max ${gateway.maxInFlight} polls in flight; ${fmt(gateway.stored)} rows in the SQLite file; ` +
      `${fmt(gateway.cpuPerPoll)} µs CPU per poll` +
      `${gateway.mainThreadCpuPerPoll === undefined ? '' : ` (main thread ${fmt(gateway.mainThreadCpuPerPoll)} µs)`}` +
      `${simulatorShare(gateway.simulatorCpuPerPoll)}`,
  );
  console.log(
    `floor:   ${fmt(floor.polls)} device polls in ${fmt(floor.ms)} ms = ${fmt(floorRate)} polls/s ` +
      `(modbus-serial, ${ports.length} connection(s), no decode/store; ${fmt(floor.cpuPerPoll)} µs CPU per poll` +
      `${simulatorShare(floor.simulatorCpuPerPoll)})`,
  );
  console.log(`ratio:   ${ratio.toFixed(2)} of the floor`);
  console.log('');
  console.log(`${rateOk ? 'PASS' : 'FAIL'} device polls/s ${fmt(gatewayRate)} (target >= ${fmt(TARGET_RATE)})`);
  console.log(`${ratioOk ? 'PASS' : 'FAIL'} ratio to the floor ${ratio.toFixed(2)} (target >= ${TARGET_RATIO})`);
}
