/**
 * OCPP CSMS benchmark (issue 6): `npm run bench:ocpp`.
 *
 * N simulated charge points (OCPP 1.6J, security profile 1: HTTP Basic, passwords checked by
 * SHA-256 digest) connected to ONE gateway process, each sending MeterValues every I seconds,
 * measured over a window of S seconds. Settings from the environment:
 *   OCPP_BENCH_STATIONS    stations, default 5000
 *   OCPP_BENCH_SECONDS     measured window, default 60
 *   OCPP_BENCH_INTERVAL_S  MeterValues period per station, default 10
 *   OCPP_BENCH_CONCURRENCY connection attempts in flight while connecting, default 64
 *   OCPP_BENCH_POLL_MS     the gateway's ocpp.pollIntervalMs, default 5000 (the config default)
 *   OCPP_BENCH_LOG_LEVEL   the gateway's log level, default warn (its log goes to a temporary file)
 *   OCPP_BENCH_ONLY        gateway | floor: run one side only (no ratio, no PASS/FAIL)
 *   OCPP_BENCH_CPU_PROF    a folder: each server writes the CPU profile of its main thread during the window
 *                          there (gateway-window.cpuprofile, floor-window.cpuprofile; node:inspector)
 *   OCPP_BENCH_HEAP_SNAPSHOT a folder: each server writes a heap snapshot there at the end of the window
 *
 * Processes (this machine has 2 cores; each side runs alone, one after the other):
 * - the server under test in a child: the real gateway (ocpp/gateway-server.ts: startGateway with
 *   an `ocpp` section listing every station, SQLite file store, in-process bus; meter values go
 *   CSMS -> adapter -> edge poll -> bus -> telemetry writer -> store), then the floor
 *   (ocpp/floor-server.ts: a bare ocpp-rpc RPCServer, strict mode, ocpp1.6, that only acknowledges);
 * - the stations in another child (ocpp/stations.ts: one ocpp-rpc RPCClient per station, strict
 *   mode), so the server's memory and CPU are its own. Each side needs about N + 100 open files:
 *   Node raises its soft limit to the hard limit at start, so the hard limit (`ulimit -Hn`) must
 *   allow that; it is checked and printed, and each child reports the limit it runs with.
 *
 * Per side: connect every station (BootNotification + StatusNotification), then the window: station
 * i sends at (i / N + k) x I, so the load is an even N / I messages/s. Printed: connections held at
 * the end (station side and server side), MeterValues answered per second within the window,
 * latency p50/p99 (station side: call sent -> CALLRESULT received) and the five slowest seconds of
 * the window with the server's CPU per thread in each, server CPU per message, its event loop delay
 * and GC pauses, the machine's CPU pressure (Linux PSI: the share of the window in which some task
 * waited for a CPU; the machine is shared, so this says how much of the latency is contention),
 * memory per connection (the server's RSS and heap after a full GC at the end of the window, minus
 * its idle baseline before any station connected, divided by the connections it holds), and for
 * the gateway the readings committed to the store. Targets: every station connected and held,
 * p99 < 50 ms, < 100 KB (1,024 bytes) RSS per connection, gateway rate >= 0.5 x floor rate.
 * PASS/FAIL per target; exit code 1 on a FAIL. Everything listens on 127.0.0.1 port 0, stops by
 * itself, and the temporary folder (os.tmpdir()) is removed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BenchChild } from './ocpp/child.ts';
import type {
  MemorySample,
  ServerCommand,
  ServerDrained,
  ServerMeasured,
  ServerMessage,
  ServerReady,
  ServerSettings,
  ServerStopped,
  StationCommand,
  StationMessage,
  StationSettings,
  StationsConnected,
  StationsWindow,
} from './ocpp/protocol.ts';
import { ThreadSampler, type ThreadSecond } from './ocpp/threads.ts';

const TARGET_P99_MS = 50;
const TARGET_BYTES_PER_CONNECTION = 100 * 1024;
const TARGET_RATIO = 0.5;
const CALL_TIMEOUT_MS = 30_000;
const MINUTE = 60_000;

interface Settings {
  stations: number;
  seconds: number;
  intervalS: number;
  concurrency: number;
  pollIntervalMs: number;
  logLevel: string;
  only: 'gateway' | 'floor' | undefined;
  cpuProfileDir: string | undefined;
  heapSnapshotDir: string | undefined;
}

function readSettings(): Settings {
  const number = (name: string, fallback: number, min: number): number => {
    const raw = process.env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got '${raw}'`);
    return value;
  };
  const only = process.env.OCPP_BENCH_ONLY;
  if (only !== undefined && only !== '' && only !== 'gateway' && only !== 'floor')
    throw new Error(`OCPP_BENCH_ONLY must be gateway or floor, got '${only}'`);
  const logLevel = process.env.OCPP_BENCH_LOG_LEVEL || 'warn';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new Error(`OCPP_BENCH_LOG_LEVEL must be a pino level, got '${logLevel}'`);
  return {
    stations: Math.floor(number('OCPP_BENCH_STATIONS', 5000, 1)),
    seconds: number('OCPP_BENCH_SECONDS', 60, 1),
    intervalS: Math.floor(number('OCPP_BENCH_INTERVAL_S', 10, 1)),
    concurrency: Math.floor(number('OCPP_BENCH_CONCURRENCY', 64, 1)),
    pollIntervalMs: Math.floor(number('OCPP_BENCH_POLL_MS', 5000, 100)),
    logLevel,
    only: only === 'gateway' || only === 'floor' ? only : undefined,
    cpuProfileDir: process.env.OCPP_BENCH_CPU_PROF ? resolve(process.env.OCPP_BENCH_CPU_PROF) : undefined,
    heapSnapshotDir: process.env.OCPP_BENCH_HEAP_SNAPSHOT ? resolve(process.env.OCPP_BENCH_HEAP_SNAPSHOT) : undefined,
  };
}

/** The shell's soft and hard limits on open files (what the children start from), or undefined. */
function shellOpenFileLimits(): { soft: string; hard: string } | undefined {
  if (process.platform === 'win32') return undefined;
  try {
    const [soft = '?', hard = '?'] = execFileSync('/bin/sh', ['-c', 'ulimit -S -n; ulimit -H -n'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    return { soft, hard };
  } catch {
    return undefined;
  }
}

/** Linux pressure stall information: µs during which some runnable task waited for a CPU (cumulative). */
function cpuStallMicros(): number | undefined {
  try {
    const some = readFileSync('/proc/pressure/cpu', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('some '));
    const total = some?.match(/total=(\d+)/)?.[1];
    return total === undefined ? undefined : Number(total);
  } catch {
    return undefined;
  }
}

interface SideResult {
  kind: 'gateway' | 'floor';
  /** Share of the window in which some task on the machine waited for a CPU (PSI), 0..1. */
  cpuPressure: number | undefined;
  loadAverage: number;
  /** The server's CPU per thread group, per second of the window (Linux). */
  threads: ThreadSecond[];
  /** The load generator's, likewise. */
  loadThreads: ThreadSecond[];
  ready: ServerReady;
  connected: StationsConnected;
  window: StationsWindow;
  measured: ServerMeasured;
  drained: ServerDrained | undefined;
  stopped: ServerStopped;
}

type ServerChild = BenchChild<ServerCommand, ServerMessage>;
type StationsChild = BenchChild<StationCommand, StationMessage>;
const running = new Set<ServerChild | StationsChild>();

async function runSide(
  kind: 'gateway' | 'floor',
  settings: Settings,
  dir: string,
  secret: string,
): Promise<SideResult> {
  const here = import.meta.dirname;
  const sideDir = join(dir, kind);
  mkdirSync(sideDir);
  const serverSettings: ServerSettings = {
    stations: settings.stations,
    intervalS: settings.intervalS,
    secret,
    dir: sideDir,
    pollIntervalMs: settings.pollIntervalMs,
    logLevel: settings.logLevel,
    ...(settings.cpuProfileDir !== undefined
      ? { cpuProfilePath: join(settings.cpuProfileDir, `${kind}-window.cpuprofile`) }
      : {}),
    ...(settings.heapSnapshotDir !== undefined
      ? { heapSnapshotPath: join(settings.heapSnapshotDir, `${kind}-end.heapsnapshot`) }
      : {}),
  };
  const server: ServerChild = new BenchChild(
    `${kind} server`,
    join(here, 'ocpp', kind === 'gateway' ? 'gateway-server.ts' : 'floor-server.ts'),
    serverSettings,
    ['--expose-gc'],
  );
  running.add(server);
  let stations: StationsChild | undefined;
  try {
    const ready = await server.next('ready', 10 * MINUTE);
    console.log(
      `${kind}: pid ${server.pid} ready in ${(ready.startupMs / 1000).toFixed(1)} s` +
        `${ready.devices !== undefined ? ` (${fmt(ready.devices)} devices registered)` : ''}; ` +
        `idle RSS ${mb(ready.baseline.rss)}, heap ${mb(ready.baseline.heapUsed)}; open files limit ${ready.openFilesLimit ?? '?'}`,
    );
    const stationSettings: StationSettings = {
      endpoint: ready.endpoint,
      stations: settings.stations,
      intervalS: settings.intervalS,
      seconds: settings.seconds,
      concurrency: settings.concurrency,
      secret,
      callTimeoutMs: CALL_TIMEOUT_MS,
    };
    stations = new BenchChild('stations', join(here, 'ocpp', 'stations.ts'), stationSettings, ['--expose-gc']);
    running.add(stations);
    const connected = await stations.next('connected', 10 * MINUTE);
    console.log(
      `${kind}: ${fmt(connected.booted)} / ${fmt(settings.stations)} stations connected and booted in ` +
        `${(connected.ms / 1000).toFixed(1)} s (${fmt(settings.concurrency)} at a time)` +
        `${connected.failed > 0 ? `; ${fmt(connected.failed)} failed, first: ${connected.firstError}` : ''}; ` +
        `load generator pid ${stations.pid}, ${kb(connected.memory.rss / Math.max(1, connected.booted))} RSS per station`,
    );
    if (connected.booted === 0) throw new Error(`${kind}: no station connected: ${connected.firstError}`);

    const serverThreads = new ThreadSampler(server.pid);
    const stationThreads = new ThreadSampler(stations.pid);
    server.send({ type: 'window-start' });
    stations.send({ type: 'run' });
    serverThreads.start();
    stationThreads.start();
    const stallStart = cpuStallMicros();
    const windowStart = performance.now();
    const window = await stations.next('window', settings.seconds * 1000 + CALL_TIMEOUT_MS + MINUTE);
    const stallEnd = cpuStallMicros();
    const threads = serverThreads.stop();
    const loadThreads = stationThreads.stop();
    const cpuPressure =
      stallStart === undefined || stallEnd === undefined
        ? undefined
        : (stallEnd - stallStart) / 1000 / (performance.now() - windowStart);
    const loadAverage = loadavg()[0] ?? 0;
    server.send({ type: 'measure' });
    const measured = await server.next('measured', 5 * MINUTE);
    let drained: ServerDrained | undefined;
    if (kind === 'gateway') {
      server.send({ type: 'drain' });
      drained = await server.next('drained', 3 * settings.pollIntervalMs + 2 * MINUTE);
    }
    stations.send({ type: 'close' });
    await stations.next('closed', MINUTE);
    await stations.exited;
    server.send({ type: 'stop' });
    const stopped = await server.next('stopped', 2 * MINUTE);
    await server.exited;
    return {
      kind,
      cpuPressure,
      loadAverage,
      threads,
      loadThreads,
      ready,
      connected,
      window,
      measured,
      drained,
      stopped,
    };
  } finally {
    await stations?.stop();
    await server.stop();
    if (stations) running.delete(stations);
    running.delete(server);
  }
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MB`;
const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KB`;

interface Figures {
  rate: number;
  held: number;
  serverHeld: number;
  rssPerConnection: number;
  heapPerConnection: number;
  cpuPerMessage: number;
  coreShare: number;
}

function figuresOf(side: SideResult): Figures {
  const { window, measured, ready } = side;
  const perConnection = (after: number, before: number) => (after - before) / Math.max(1, measured.connections);
  return {
    rate: (window.answeredInWindow * 1000) / window.windowMs,
    held: window.open,
    serverHeld: measured.connections,
    rssPerConnection: perConnection(measured.memory.rss, ready.baseline.rss),
    heapPerConnection: perConnection(measured.memory.heapUsed, ready.baseline.heapUsed),
    cpuPerMessage: measured.cpuMicros / Math.max(1, window.answered),
    coreShare: measured.cpuMicros / 1000 / measured.windowMs,
  };
}

function printSide(side: SideResult): Figures {
  const f = figuresOf(side);
  const { window, measured, ready } = side;
  const lat = window.latency;
  console.log('');
  console.log(
    `${side.kind}: (machine during the window: ${
      side.cpuPressure === undefined ? '' : `CPU pressure ${fmt(side.cpuPressure * 100)}% (PSI some), `
    }load average ${fmt(side.loadAverage, 2)} at its end)`,
  );
  console.log(
    `  connections held at the end: ${fmt(f.held)} (station side), ${fmt(f.serverHeld)} (server side); ` +
      `${fmt(window.disconnects)} lost during the window`,
  );
  console.log(
    `  MeterValues: ${fmt(window.sent)} sent, ${fmt(window.answeredInWindow)} answered within ${fmt(window.windowMs / 1000)} s ` +
      `= ${fmt(f.rate, 1)} msg/s; ${fmt(window.errors)} errors${window.firstError ? ` (first: ${window.firstError})` : ''}`,
  );
  console.log(
    `  latency (station side): p50 ${fmt(lat.p50, 2)} ms, p90 ${fmt(lat.p90, 2)} ms, p99 ${fmt(lat.p99, 2)} ms, ` +
      `p99.9 ${fmt(lat.p999, 2)} ms, max ${fmt(lat.max, 1)} ms (${fmt(lat.count)} samples); ` +
      `load generator loop delay p99 ${fmt(window.loopDelay.p99, 1)} ms`,
  );
  const cpuIn = (second: number) => {
    const t = side.threads[second];
    return t === undefined
      ? ''
      : ` [server CPU ms in that second: main ${fmt(t.main)}, busiest other thread ${fmt(t.busiestOther)}, others ${fmt(t.others - t.busiestOther)}]`;
  };
  console.log(
    `  slowest seconds of the window (by send time):${window.slowestSeconds
      .map((s) => `\n    ${s.second} s: max ${fmt(s.maxMs, 1)} ms, ${s.over50Ms} over 50 ms${cpuIn(s.second)}`)
      .join('')}`,
  );
  if (side.threads.length > 0) {
    const sum = (list: ThreadSecond[], key: keyof ThreadSecond) => list.reduce((total, t) => total + t[key], 0);
    const busiest = Math.max(...side.threads.map((t) => t.main));
    console.log(
      `  server threads over the window: main ${fmt(sum(side.threads, 'main'))} ms CPU (busiest second ${fmt(busiest)} ms), ` +
        `other threads ${fmt(sum(side.threads, 'others'))} ms; load generator ${fmt(sum(side.loadThreads, 'main'))} ms main + ` +
        `${fmt(sum(side.loadThreads, 'others'))} ms other threads`,
    );
  }
  console.log(
    `  server: ${fmt(f.cpuPerMessage)} µs CPU per message (${fmt(f.coreShare * 100, 1)}% of a core, all threads); ` +
      `event loop delay p50 ${fmt(measured.loopDelay.p50, 1)} ms, p99 ${fmt(measured.loopDelay.p99, 1)} ms, max ${fmt(measured.loopDelay.max, 1)} ms`,
  );
  const pauses = (b: ServerMeasured['gc']['minor']) =>
    `${fmt(b.count)} (total ${fmt(b.totalMs)} ms, max ${fmt(b.maxMs, 1)} ms)`;
  console.log(
    `  GC pauses (main thread): minor ${pauses(measured.gc.minor)}, major ${pauses(measured.gc.major)}, ` +
      `incremental/weak ${pauses(measured.gc.other)}`,
  );
  const delta = (a: MemorySample, b: MemorySample, key: keyof MemorySample) => mb(a[key] - b[key]);
  console.log(
    `  memory: RSS ${mb(ready.baseline.rss)} idle -> ${mb(measured.memory.rss)} (+${delta(measured.memory, ready.baseline, 'rss')}) ` +
      `= ${kb(f.rssPerConnection)} per connection; heap ${mb(ready.baseline.heapUsed)} -> ${mb(measured.memory.heapUsed)} ` +
      `(+${delta(measured.memory, ready.baseline, 'heapUsed')}) = ${kb(f.heapPerConnection)} per connection; ` +
      `external + array buffers +${mb(
        measured.memory.external - ready.baseline.external + measured.memory.arrayBuffers - ready.baseline.arrayBuffers,
      )}`,
  );
  if (side.kind === 'gateway') {
    const stored = side.stopped.storedReadings ?? 0;
    console.log(
      `  store: ${fmt(stored)} readings committed to SQLite = ${fmt(stored / Math.max(1, window.answered), 2)} per MeterValues ` +
        `answered (${window.sampledValues} sampled values each); at the end of the window ${fmt(measured.buffered ?? 0)} ` +
        `readings were buffered, all committed ${fmt((side.drained?.ms ?? 0) / 1000, 1)} s later` +
        `${(side.drained?.buffered ?? 0) > 0 ? ` except ${fmt(side.drained?.buffered ?? 0)}` : ''}; ` +
        `${fmt(measured.dropped ?? 0)} dropped`,
    );
    console.log(
      `  log: ${fmt(side.stopped.warnLines ?? 0)} lines at warn or above` +
        `${(side.stopped.firstWarnings ?? []).map((line) => `\n    ${line}`).join('')}`,
    );
  }
  return f;
}

async function main(): Promise<number> {
  const settings = readSettings();
  const limits = shellOpenFileLimits();
  const [load1] = loadavg();
  console.log(
    `OCPP benchmark: ${fmt(settings.stations)} stations (OCPP 1.6J, ocpp-rpc strict mode, security profile 1), ` +
      `MeterValues every ${settings.intervalS} s (${fmt(settings.stations / settings.intervalS, 1)} msg/s offered), ` +
      `${fmt(settings.seconds)} s window; gateway poll interval ${fmt(settings.pollIntervalMs)} ms`,
  );
  console.log(
    `machine: ${availableParallelism()} cores, load average ${fmt(load1 ?? 0, 2)}, Node ${process.version}; ` +
      `open files: soft ${limits?.soft ?? '?'}, hard ${limits?.hard ?? '?'} ` +
      `(Node raises the soft limit to the hard one; each side needs about ${fmt(settings.stations + 100)})`,
  );
  if (limits && limits.hard !== 'unlimited' && Number(limits.hard) < settings.stations + 100)
    console.log(
      `warning: the hard limit on open files (${limits.hard}) is below what ${fmt(settings.stations)} connections need; ` +
        'raise it (ulimit -Hn, as root) or run fewer stations',
    );
  console.log('');

  for (const folder of [settings.cpuProfileDir, settings.heapSnapshotDir])
    if (folder !== undefined) mkdirSync(folder, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'gridseam-bench-ocpp-'));
  const secret = randomBytes(12).toString('hex');
  const onSignal = () => {
    for (const child of running) void child.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let gateway: SideResult | undefined;
  let floor: SideResult | undefined;
  try {
    if (settings.only !== 'floor') gateway = await runSide('gateway', settings, dir, secret);
    if (settings.only !== 'gateway') floor = await runSide('floor', settings, dir, secret);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const g = gateway ? printSide(gateway) : undefined;
  const f = floor ? printSide(floor) : undefined;
  if (settings.cpuProfileDir)
    console.log(`\nCPU profiles of the window: ${settings.cpuProfileDir}/*-window.cpuprofile`);
  if (!gateway || !g || !f || !floor) return 0;

  const ratio = g.rate / f.rate;
  const p99 = gateway.window.latency.p99;
  const checks: Array<[boolean, string]> = [
    [
      g.held === settings.stations && g.serverHeld === settings.stations && gateway.window.errors === 0,
      `connections held ${fmt(g.held)} of ${fmt(settings.stations)} (server side ${fmt(g.serverHeld)}), ${fmt(gateway.window.errors)} failed calls (target: all held, none failed)`,
    ],
    [p99 < TARGET_P99_MS, `p99 latency ${fmt(p99, 2)} ms (target < ${TARGET_P99_MS} ms)`],
    [
      g.rssPerConnection < TARGET_BYTES_PER_CONNECTION,
      `memory ${kb(g.rssPerConnection)} RSS per connection, heap ${kb(g.heapPerConnection)} (target < ${kb(TARGET_BYTES_PER_CONNECTION)})`,
    ],
    [
      ratio >= TARGET_RATIO,
      `ratio gateway / floor ${fmt(g.rate, 1)} / ${fmt(f.rate, 1)} msg/s = ${ratio.toFixed(2)} (target >= ${TARGET_RATIO})`,
    ],
  ];
  const row = (name: string, x: Figures, side: SideResult) =>
    `| ${name} | ${fmt(x.held)} | ${fmt(x.rate, 1)} | ${fmt(side.window.latency.p50, 2)} | ` +
    `${fmt(side.window.latency.p99, 2)} | ${kb(x.rssPerConnection)} | ${kb(x.heapPerConnection)} | ${fmt(x.cpuPerMessage)} |`;
  console.log('');
  console.log('| side | held | msg/s | p50 ms | p99 ms | RSS / conn | heap / conn | CPU µs / msg |');
  console.log('|---|---|---|---|---|---|---|---|');
  console.log(row('gateway', g, gateway));
  console.log(row('floor', f, floor));
  console.log('');
  for (const [ok, text] of checks) console.log(`${ok ? 'PASS' : 'FAIL'} ${text}`);
  return checks.every(([ok]) => ok) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
