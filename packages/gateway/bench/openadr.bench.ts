/**
 * OpenADR 3 VTN benchmark (issue 7): `npm run bench:openadr`.
 *
 * 10,000 VENs registered on ONE VTN, N concurrent clients cycling through the VENs' tokens and doing the VEN
 * loop: GET /events (the VEN's visible events) and POST /reports (a small report for one of them), 4 polls to
 * 1 report. Settings from the environment:
 *   OADR_BENCH_CLIENTS          concurrent clients (one request in flight each), default 64
 *   OADR_BENCH_SECONDS          measured seconds per server, default 20 (split into the rounds)
 *   OADR_BENCH_VERSION          3.1.0 (default) or 3.0.1
 *   OADR_BENCH_VENS             VENs registered, default 10000
 *   OADR_BENCH_ROUNDS           alternating rounds per server, default 2 (VTN, floor, VTN, floor)
 *   OADR_BENCH_WARMUP           unmeasured seconds per server before the first round, default 3
 *   OADR_BENCH_POLLS_PER_REPORT default 4
 *   OADR_BENCH_MEMORY           1 (default): also measure the same VTN on the in-memory MemoryVtnStore, to show
 *                               what the SQLite persistence costs (no target); 0 skips it
 *   OADR_BENCH_LOG_LEVEL        the VTN's log level, default warn (its log goes to a temporary file)
 *   OADR_BENCH_CPU_PROF         a folder: each server writes the CPU profile of its main thread over the rounds
 *
 * Processes (this machine has 2 cores): the servers under test each in a child process, the load generator in
 * another (openadr/load.ts: node:http, one keep-alive http.Agent per server), this process only coordinates.
 * - The VTN (openadr/vtn-server.ts): `startOpenAdrVtn`, what `gridseam openadr vtn` runs, with the gateway's
 *   store-backed VtnStore (`documentVtnStore` over store.documents) on a SQLite file in a temporary folder; its
 *   clients are one BL client and the N VEN clients, each with its own client id and secret (SHA-256 digest),
 *   tokens HS256 from its own token endpoint.
 * - Set-up through the API by the load generator: BL gets a token, creates one program, three events targeted
 *   at the fleet group and one targeted elsewhere, then the N ven objects (granting each VEN the fleet group);
 *   each VEN gets its own token. Not timed as load.
 * - The floor (openadr/floor-server.ts): a bare fastify server whose GET {base}/events answers the exact bytes
 *   the VTN answered a VEN and whose POST {base}/reports answers the bytes of a report creation (201), loaded by
 *   the same generator with the same clients, tokens, paths and bodies.
 * The measured time is split into alternating rounds (VTN, floor, VTN, floor) so that other work on a shared
 * machine hits both alike; the machine's CPU pressure in each is printed (Linux PSI).
 *
 * Printed per server: requests/s (answered within the rounds), polls/s and reports/s, latency p50/p99 (client
 * side, request call to last byte), errors by kind, server CPU per request (all threads), event loop delay and
 * GC pauses; for the VTN the documents committed to SQLite (every 201 report must be there). Targets: VTN
 * >= 2,000 requests/s, >= 0.5 of the floor, no errors, every acknowledged report stored. PASS/FAIL per
 * target; exit code 1 on a FAIL. Everything listens on 127.0.0.1 port 0, stops by itself, and the temporary
 * folder (os.tmpdir()) is removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BenchChild } from './ocpp/child.ts';
import type {
  FloorServerSettings,
  GcPauses,
  LoadCommand,
  LoadMessage,
  LoadSettings,
  Oadr3Version,
  Percentiles,
  RoundDone,
  ServerCommand,
  ServerMessage,
  ServerReady,
  ServerRound,
  ServerStopped,
  SetupDone,
  Summary,
  TargetKind,
  VtnServerSettings,
} from './openadr/protocol.ts';

const TARGET_RATE = 2_000;
const TARGET_RATIO = 0.5;
const MINUTE = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;

interface Settings {
  clients: number;
  seconds: number;
  version: Oadr3Version;
  vens: number;
  rounds: number;
  warmupSeconds: number;
  pollsPerReport: number;
  memory: boolean;
  logLevel: string;
  cpuProfileDir: string | undefined;
}

function readSettings(): Settings {
  const number = (name: string, fallback: number, min: number): number => {
    const raw = process.env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got '${raw}'`);
    return value;
  };
  const version = process.env.OADR_BENCH_VERSION || '3.1.0';
  if (version !== '3.1.0' && version !== '3.0.1')
    throw new Error(`OADR_BENCH_VERSION must be 3.1.0 or 3.0.1, got '${version}'`);
  const logLevel = process.env.OADR_BENCH_LOG_LEVEL || 'warn';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new Error(`OADR_BENCH_LOG_LEVEL must be a pino level, got '${logLevel}'`);
  const memory = process.env.OADR_BENCH_MEMORY || '1';
  if (!['0', '1'].includes(memory)) throw new Error(`OADR_BENCH_MEMORY must be 0 or 1, got '${memory}'`);
  return {
    clients: Math.floor(number('OADR_BENCH_CLIENTS', 64, 1)),
    seconds: number('OADR_BENCH_SECONDS', 20, 1),
    version,
    vens: Math.floor(number('OADR_BENCH_VENS', 10_000, 1)),
    rounds: Math.floor(number('OADR_BENCH_ROUNDS', 2, 1)),
    warmupSeconds: number('OADR_BENCH_WARMUP', 3, 0),
    pollsPerReport: Math.floor(number('OADR_BENCH_POLLS_PER_REPORT', 4, 0)),
    memory: memory === '1',
    logLevel,
    cpuProfileDir: process.env.OADR_BENCH_CPU_PROF ? resolve(process.env.OADR_BENCH_CPU_PROF) : undefined,
  };
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

type ServerChild = BenchChild<ServerCommand, ServerMessage>;
type LoadChild = BenchChild<LoadCommand, LoadMessage>;

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MB`;

/** What one server did over all its measured rounds. */
interface Side {
  kind: TargetKind;
  label: string;
  server: ServerChild;
  ready: ServerReady;
  rounds: Array<{ load: RoundDone; server: ServerRound; pressure: number | undefined }>;
  /** 201 reports answered, warm-up and rounds (the capture's one report not included). */
  reportsCreated: number;
  summary?: Summary;
  memoryRss?: number;
  stopped?: ServerStopped;
}

interface Totals {
  ms: number;
  polls: number;
  reports: number;
  errors: number;
  errorKinds: Record<string, number>;
  firstError: string | undefined;
  rate: number;
  cpuPerRequest: number;
  coreShare: number;
  pressure: number | undefined;
  gc: GcPauses;
  loopP99: number;
  loopMax: number;
  loadLoopP99: number;
  /** The load generator's CPU over the rounds, as a share of one core. */
  loadCoreShare: number;
  vensUsed: number;
}

function totalsOf(side: Side): Totals {
  const sum = (pick: (round: Side['rounds'][number]) => number) =>
    side.rounds.reduce((total, round) => total + pick(round), 0);
  const ms = sum((r) => r.load.ms);
  const polls = sum((r) => r.load.polls);
  const reports = sum((r) => r.load.reports);
  const cpu = sum((r) => r.server.cpuMicros);
  const serverMs = sum((r) => r.server.ms);
  const errorKinds: Record<string, number> = {};
  for (const round of side.rounds)
    for (const [kind, count] of Object.entries(round.load.errorKinds))
      errorKinds[kind] = (errorKinds[kind] ?? 0) + count;
  const pressures = side.rounds.map((r) => r.pressure).filter((p): p is number => p !== undefined);
  const gcSum = (key: keyof GcPauses) => ({
    count: sum((r) => r.server.gc[key].count),
    totalMs: sum((r) => r.server.gc[key].totalMs),
    maxMs: Math.max(...side.rounds.map((r) => r.server.gc[key].maxMs)),
  });
  return {
    ms,
    polls,
    reports,
    errors: sum((r) => r.load.errors),
    errorKinds,
    firstError: side.rounds.find((r) => r.load.firstError !== undefined)?.load.firstError,
    rate: ((polls + reports) * 1000) / Math.max(1, ms),
    cpuPerRequest: cpu / Math.max(1, polls + reports),
    coreShare: cpu / 1000 / Math.max(1, serverMs),
    pressure: pressures.length === 0 ? undefined : pressures.reduce((a, b) => a + b, 0) / pressures.length,
    gc: { minor: gcSum('minor'), major: gcSum('major'), other: gcSum('other') },
    loopP99: Math.max(...side.rounds.map((r) => r.server.loopDelay.p99)),
    loopMax: Math.max(...side.rounds.map((r) => r.server.loopDelay.max)),
    loadLoopP99: Math.max(...side.rounds.map((r) => r.load.loopDelay.p99)),
    loadCoreShare: sum((r) => r.load.cpuMicros) / 1000 / Math.max(1, ms),
    vensUsed: Math.max(...side.rounds.map((r) => r.load.vensUsed)),
  };
}

function printSetup(label: string, done: SetupDone): void {
  console.log(
    `${label} set up through its API: ${done.phases
      .map(
        (p) => `${p.name} ${fmt(p.ms / 1000, 1)} s${p.requests > 1 ? ` (${fmt((p.requests * 1000) / p.ms)}/s)` : ''}`,
      )
      .join('; ')}`,
  );
}

function printSide(side: Side, t: Totals): void {
  const lat = (p: Percentiles | undefined) =>
    p === undefined || p.count === 0
      ? 'none'
      : `p50 ${fmt(p.p50, 2)} ms, p99 ${fmt(p.p99, 2)} ms, max ${fmt(p.max, 1)} ms`;
  console.log('');
  console.log(
    `${side.label}: (machine during its rounds: ${
      t.pressure === undefined ? '' : `CPU pressure ${fmt(t.pressure * 100)}% (PSI some), `
    }load average ${fmt(loadavg()[0] ?? 0, 2)} now)`,
  );
  console.log(
    `  ${fmt(t.polls + t.reports)} requests answered in ${fmt(t.ms / 1000, 1)} s = ${fmt(t.rate)} requests/s ` +
      `(GET /events ${fmt((t.polls * 1000) / Math.max(1, t.ms))}/s, POST /reports ${fmt((t.reports * 1000) / Math.max(1, t.ms))}/s); ` +
      `${fmt(t.errors)} errors${t.errors > 0 ? ` ${JSON.stringify(t.errorKinds)} (first: ${t.firstError})` : ''}; ` +
      `${fmt(t.vensUsed)} VENs' tokens used per round`,
  );
  console.log(
    `  rounds: ${side.rounds.map((r) => `${fmt(((r.load.polls + r.load.reports) * 1000) / r.load.ms)}/s`).join(', ')}`,
  );
  console.log(`  latency (client side): all ${lat(side.summary?.all)}`);
  console.log(`    GET /events ${lat(side.summary?.polls)}; POST /reports ${lat(side.summary?.reports)}`);
  console.log(
    `  server: ${fmt(t.cpuPerRequest)} µs CPU per request (${fmt(t.coreShare * 100)}% of a core, all threads); ` +
      `event loop delay p99 ${fmt(t.loopP99, 1)} ms, max ${fmt(t.loopMax, 1)} ms; ` +
      `GC minor ${fmt(t.gc.minor.count)} (${fmt(t.gc.minor.totalMs)} ms), major ${fmt(t.gc.major.count)} ` +
      `(${fmt(t.gc.major.totalMs)} ms, max ${fmt(t.gc.major.maxMs, 1)} ms); RSS ${mb(side.ready.baseline.rss)} idle -> ` +
      `${side.memoryRss === undefined ? '?' : mb(side.memoryRss)} at the end`,
  );
  console.log(
    `  load generator: ${fmt(t.loadCoreShare * 100)}% of a core, event loop delay p99 ${fmt(t.loadLoopP99, 1)} ms`,
  );
  const stored = side.stopped?.storedDocuments;
  if (stored !== undefined)
    console.log(
      `  SQLite (${side.ready.databasePath ?? '?'}): ${Object.entries(stored)
        .map(([kind, n]) => `${fmt(n)} ${kind}`)
        .join(', ')} documents committed; ${fmt(side.reportsCreated + 1)} reports acknowledged (201)`,
    );
  if (side.stopped?.warnLines !== undefined)
    console.log(
      `  log: ${fmt(side.stopped.warnLines)} lines at warn or above${(side.stopped.firstWarnings ?? [])
        .map((line) => `\n    ${line}`)
        .join('')}`,
    );
}

async function main(): Promise<number> {
  const settings = readSettings();
  const here = import.meta.dirname;
  console.log(
    `OpenADR ${settings.version} VTN benchmark: ${fmt(settings.vens)} VENs (each its own client credentials and token), ` +
      `${fmt(settings.clients)} concurrent clients, ${settings.pollsPerReport} GET /events : 1 POST /reports, ` +
      `${fmt(settings.seconds)} s per server in ${settings.rounds} alternating rounds (after ${fmt(settings.warmupSeconds)} s warm-up)`,
  );
  console.log(
    `persistence: the gateway's store-backed VtnStore (documentVtnStore over store.documents, as 'gridseam openadr vtn' ` +
      `runs it) on a SQLite file (WAL, synchronous=NORMAL) in a temporary folder; every write committed before it is answered`,
  );
  console.log(
    `machine: ${availableParallelism()} cores, load average ${fmt(loadavg()[0] ?? 0, 2)}, Node ${process.version}; ` +
      'servers and load generator in separate processes, loopback',
  );
  console.log('');

  if (settings.cpuProfileDir !== undefined) mkdirSync(settings.cpuProfileDir, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'gridseam-bench-openadr-'));
  const secret = randomBytes(12).toString('hex');
  const children = new Set<ServerChild | LoadChild>();
  const onSignal = () => {
    for (const child of children) void child.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const profile = (name: string) =>
    settings.cpuProfileDir === undefined ? {} : { cpuProfilePath: join(settings.cpuProfileDir, `${name}.cpuprofile`) };

  const sides: Side[] = [];
  let load: LoadChild | undefined;
  try {
    const startVtn = async (kind: 'vtn' | 'vtn-memory', label: string): Promise<Side> => {
      const sideDir = join(dir, kind);
      mkdirSync(sideDir);
      const serverSettings: VtnServerSettings = {
        version: settings.version,
        vens: settings.vens,
        secret,
        store: kind === 'vtn' ? 'sqlite' : 'memory',
        dir: sideDir,
        logLevel: settings.logLevel,
        ...profile(kind),
      };
      const server: ServerChild = new BenchChild(label, join(here, 'openadr', 'vtn-server.ts'), serverSettings, [
        '--expose-gc',
      ]);
      children.add(server);
      const ready = await server.next('ready', 5 * MINUTE);
      console.log(
        `${label}: pid ${server.pid} listening at ${ready.url} after ${fmt(ready.startupMs / 1000, 1)} s; idle RSS ${mb(ready.baseline.rss)}`,
      );
      return { kind, label, server, ready, rounds: [], reportsCreated: 0 };
    };

    const vtn = await startVtn('vtn', 'VTN (SQLite store)');
    sides.push(vtn);
    const loadSettings: LoadSettings = {
      version: settings.version,
      vens: settings.vens,
      clients: settings.clients,
      secret,
      pollsPerReport: settings.pollsPerReport,
      setupConcurrency: 64,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    };
    load = new BenchChild('load generator', join(here, 'openadr', 'load.ts'), loadSettings);
    children.add(load);
    load.send({ type: 'setup', target: 'vtn', url: vtn.ready.url });
    const setup = await load.next('setup-done', 15 * MINUTE);
    printSetup(vtn.label, setup);
    console.log(
      `  each VEN sees ${setup.visibleEventIds.length} events: GET /events answers ${fmt(Buffer.byteLength(setup.eventsBody))} bytes ` +
        `(the same for every VEN); a report creation answers ${fmt(Buffer.byteLength(setup.reportBody))} bytes`,
    );

    if (settings.memory) {
      const memory = await startVtn('vtn-memory', 'VTN (MemoryVtnStore, comparison)');
      sides.push(memory);
      load.send({ type: 'setup', target: 'vtn-memory', url: memory.ready.url });
      printSetup(memory.label, await load.next('setup-done', 15 * MINUTE));
    }

    const floorSettings: FloorServerSettings = {
      basePath: setup.basePath,
      eventsBody: setup.eventsBody,
      reportBody: setup.reportBody,
      contentType: setup.contentType,
      ...profile('floor'),
    };
    const floorServer: ServerChild = new BenchChild('floor', join(here, 'openadr', 'floor-server.ts'), floorSettings, [
      '--expose-gc',
    ]);
    children.add(floorServer);
    const floorReady = await floorServer.next('ready', MINUTE);
    console.log(`floor (bare fastify, same bytes): pid ${floorServer.pid} listening at ${floorReady.url}`);
    load.send({ type: 'alias', target: 'floor', url: floorReady.url, as: 'vtn' });
    sides.push({
      kind: 'floor',
      label: 'floor (bare fastify)',
      server: floorServer,
      ready: floorReady,
      rounds: [],
      reportsCreated: 0,
    });
    console.log(`load generator: pid ${load.pid}`);
    console.log('');

    const roundTimeout = (seconds: number) => seconds * 1000 + REQUEST_TIMEOUT_MS + MINUTE;
    if (settings.warmupSeconds > 0)
      for (const side of sides) {
        load.send({ type: 'round', target: side.kind, seconds: settings.warmupSeconds, record: false });
        const warm = await load.next('round-done', roundTimeout(settings.warmupSeconds));
        side.reportsCreated += warm.reportsCreated;
        console.log(
          `warm-up ${side.label}: ${fmt(((warm.polls + warm.reports) * 1000) / warm.ms)} requests/s, ${fmt(warm.errors)} errors`,
        );
      }
    const roundSeconds = settings.seconds / settings.rounds;
    for (let round = 1; round <= settings.rounds; round++)
      for (const side of sides) {
        side.server.send({ type: 'round-start' });
        const stallStart = cpuStallMicros();
        const started = performance.now();
        load.send({ type: 'round', target: side.kind, seconds: roundSeconds, record: true });
        const done = await load.next('round-done', roundTimeout(roundSeconds));
        const stallEnd = cpuStallMicros();
        const elapsed = performance.now() - started;
        side.server.send({ type: 'round-end' });
        const serverRound = await side.server.next('round', MINUTE);
        const pressure =
          stallStart === undefined || stallEnd === undefined ? undefined : (stallEnd - stallStart) / 1000 / elapsed;
        side.rounds.push({ load: done, server: serverRound, pressure });
        side.reportsCreated += done.reportsCreated;
        console.log(
          `round ${round} ${side.label}: ${fmt(((done.polls + done.reports) * 1000) / done.ms)} requests/s, ` +
            `${fmt(done.errors)} errors${pressure === undefined ? '' : `, CPU pressure ${fmt(pressure * 100)}%`}`,
        );
      }

    for (const side of sides) {
      load.send({ type: 'summary', target: side.kind });
      side.summary = await load.next('summary', MINUTE);
      side.server.send({ type: 'measure' });
      side.memoryRss = (await side.server.next('measured', MINUTE)).memory.rss;
    }
    load.send({ type: 'close' });
    await load.next('closed', MINUTE);
    await load.stop();
    for (const side of sides) {
      side.server.send({ type: 'stop' });
      side.stopped = await side.server.next('stopped', 2 * MINUTE);
      await side.server.exited;
    }
  } finally {
    for (const child of children) await child.stop();
    rmSync(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const totals = new Map(sides.map((side) => [side.kind, totalsOf(side)]));
  for (const side of sides) printSide(side, totals.get(side.kind) as Totals);
  if (settings.cpuProfileDir !== undefined)
    console.log(`\nCPU profiles of the rounds: ${settings.cpuProfileDir}/*.cpuprofile`);

  const vtn = sides.find((side) => side.kind === 'vtn') as Side;
  const v = totals.get('vtn') as Totals;
  const f = totals.get('floor') as Totals;
  const m = totals.get('vtn-memory');
  const ratio = v.rate / f.rate;
  const storedReports = vtn.stopped?.storedDocuments?.report ?? 0;
  const acknowledged = vtn.reportsCreated + 1;
  const checks: Array<[boolean, string]> = [
    [v.errors === 0, `VTN errors: ${fmt(v.errors)} (target: none)`],
    [
      storedReports === acknowledged && (vtn.stopped?.storedDocuments?.ven ?? 0) === settings.vens,
      `VTN persistence: ${fmt(storedReports)} report documents in SQLite for ${fmt(acknowledged)} acknowledged, ` +
        `${fmt(vtn.stopped?.storedDocuments?.ven ?? 0)} ven documents for ${fmt(settings.vens)} VENs (target: all)`,
    ],
    [v.rate >= TARGET_RATE, `VTN rate ${fmt(v.rate)} requests/s (target >= ${fmt(TARGET_RATE)})`],
    [
      ratio >= TARGET_RATIO,
      `ratio VTN / floor ${fmt(v.rate)} / ${fmt(f.rate)} requests/s = ${ratio.toFixed(2)} (target >= ${TARGET_RATIO})`,
    ],
  ];
  const row = (side: Side, t: Totals) =>
    `| ${side.label} | ${fmt(t.rate)} | ${fmt(side.summary?.all.p50 ?? 0, 2)} | ${fmt(side.summary?.all.p99 ?? 0, 2)} | ` +
    `${fmt(t.errors)} | ${fmt(t.cpuPerRequest)} | ${fmt(t.loadCoreShare * 100)}% | ${t.pressure === undefined ? '' : `${fmt(t.pressure * 100)}%`} |`;
  console.log('');
  console.log(
    '| server | requests/s | p50 ms | p99 ms | errors | server CPU µs / req | load generator CPU | CPU pressure |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const side of sides) console.log(row(side, totals.get(side.kind) as Totals));
  if (m !== undefined)
    console.log(`\nSQLite store / memory store: ${(v.rate / m.rate).toFixed(2)} (comparison, no target)`);
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
