/**
 * IEEE 2030.5 utility server benchmark: `npm run bench:2030.5` (or `npx tsx packages/ieee2030-5/bench/server.bench.ts
 * [--seconds S] [--rounds N] [--connections N] [--devices N] [--certificates N] [--warmup S]`; the same settings can come from
 * GRIDSEAM_BENCH_SECONDS, GRIDSEAM_BENCH_CONNECTIONS, GRIDSEAM_BENCH_DEVICES, GRIDSEAM_BENCH_CERTIFICATES).
 *
 * Setup (not timed): a test PKI with N device certificates (default 64); the utility server in this process
 * (profile csip-aus, MemoryStateStore) with 10,000 EndDevices registered through the admin API by LFDI — the
 * first N are the LFDIs of the real certificates, the rest synthetic LFDIs (10,000 certificates would cost
 * minutes to make and prove nothing more: the server looks an EndDevice up by LFDI either way); two programs
 * (primacy 1 with a program-wide DefaultDERControl and one active per-device export-limit control for EVERY
 * EndDevice; primacy 2 with a program-wide active control and a scheduled one).
 *
 * Load: a child process (fork, its own event loop and core; this machine has 2 cores: the server's event
 * loop in this process, the load generator in the child) opens C connections (default 32) over mutual TLS 1.2
 * ECDHE-ECDSA-AES128-CCM8 with keep-alive, connection i presenting certificate i mod N. Each connection first
 * discovers its hrefs the way a CSIP client does (dcap → EndDeviceList → its EndDevice → FSA list → DERProgram
 * list → each program's DERControl list and DefaultDERControl), then for the run repeats that poll cycle —
 * dcap, edev, fsa, derp, and derc + dderc of each program: 8 GETs — with one request in flight per connection.
 * Lists are read with ?s=0&l=10 as a real client does. Every answer must be 200 with Content-Length.
 *
 * Floor, same run: a bare Node https server with the same TLS settings (sepServerTlsOptions, same certificate)
 * answering each path with the bytes the utility server gave for it during discovery, driven by the same
 * child, connections and duration. The duration is split into alternating rounds (default 2: ours, floor,
 * ours, floor; --rounds / GRIDSEAM_BENCH_ROUNDS), so that load from other work on a shared machine hits both
 * alike. Prints requests/s of both, the ratio, server CPU per request, and PASS/FAIL against >= 3,000 req/s
 * and ratio >= 0.5. Exit code 1 on FAIL.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSep } from '../src/codec/index.ts';
import { createTestPki } from '../src/pki/index.ts';
import { MemoryStateStore } from '../src/server/memory-store.ts';
import { createUtilityServer } from '../src/server/server.ts';
import { sepClientTlsOptions, sepServerTlsOptions } from '../src/tls.ts';
import { KeepAliveConnection, type RawResponse } from './http-keepalive.ts';

const TARGET_RATE = 3_000;
const TARGET_RATIO = 0.5;
const HOST = '127.0.0.1';
const LIST_QUERY = '?s=0&l=10';

interface Settings {
  seconds: number;
  warmupSeconds: number;
  /** Alternating rounds per server; each lasts seconds / rounds. */
  rounds: number;
  connections: number;
  devices: number;
  certificates: number;
}

function readSettings(): Settings & { loadChild: boolean } {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      devices: { type: 'string' },
      certificates: { type: 'string' },
      'load-child': { type: 'boolean', default: false },
    },
  });
  const pick = (arg: string | undefined, env: string, fallback: number, min: number): number => {
    const raw = arg ?? process.env[env];
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`${env} / option must be a number >= ${min}`);
    return value;
  };
  const settings = {
    seconds: pick(values.seconds, 'GRIDSEAM_BENCH_SECONDS', 10, 1),
    warmupSeconds: pick(values.warmup, 'GRIDSEAM_BENCH_WARMUP', 1, 0),
    rounds: Math.floor(pick(values.rounds, 'GRIDSEAM_BENCH_ROUNDS', 2, 1)),
    connections: Math.floor(pick(values.connections, 'GRIDSEAM_BENCH_CONNECTIONS', 32, 1)),
    devices: Math.floor(pick(values.devices, 'GRIDSEAM_BENCH_DEVICES', 10_000, 1)),
    certificates: Math.floor(pick(values.certificates, 'GRIDSEAM_BENCH_CERTIFICATES', 64, 1)),
    loadChild: values['load-child'] === true,
  };
  if (settings.certificates > settings.devices) settings.certificates = settings.devices;
  return settings;
}

// ---------------------------------------------------------------------------------------------------------------
// Messages between this process and the load child

interface ClientCredential {
  key: string;
  cert: string;
  lfdi: string;
}

interface DiscoverCommand {
  cmd: 'discover';
  port: number;
  ca: string;
  clients: ClientCredential[];
  connections: number;
}

interface RunCommand {
  cmd: 'run';
  port: number;
  ca: string;
  clients: ClientCredential[];
  cycles: string[][];
  seconds: number;
  warmupSeconds: number;
}

type Command = DiscoverCommand | RunCommand | { cmd: 'exit' };

interface DiscoverResult {
  kind: 'discovered';
  cycles: string[][];
  /** path → body (base64) as the server answered it. */
  bodies: Record<string, string>;
  cipher: string;
}

interface RunResult {
  kind: 'ran';
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  /** Latencies of the counted requests, ms (at most 200,000, rounded to 1 µs). */
  latenciesMs: number[];
}

type ChildMessage = DiscoverResult | RunResult | { kind: 'failed'; message: string };

// ---------------------------------------------------------------------------------------------------------------
// Load child

async function openConnections(
  command: { port: number; ca: string; clients: ClientCredential[] },
  count: number,
): Promise<KeepAliveConnection[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const client = command.clients[i % command.clients.length]!;
      return KeepAliveConnection.open(
        HOST,
        command.port,
        sepClientTlsOptions({ key: client.key, cert: client.cert, ca: command.ca }),
      );
    }),
  );
}

function linkHref(resource: unknown, link: string): string | undefined {
  const value = (resource as Record<string, unknown> | undefined)?.[link];
  const href = (value as { href?: unknown } | undefined)?.href;
  return typeof href === 'string' ? href : undefined;
}

async function discoverOne(
  connection: KeepAliveConnection,
  lfdi: string,
  bodies: Record<string, string>,
): Promise<string[]> {
  const cycle: string[] = [];
  const get = async (path: string, name: string): Promise<Record<string, unknown>> => {
    const response: RawResponse = await connection.get(path);
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
    const doc = parseSep(response.body);
    if (doc.name !== name) throw new Error(`GET ${path} answered ${doc.name}, not ${name}`);
    bodies[path] = response.body.toString('base64');
    return doc.value as unknown as Record<string, unknown>;
  };
  const need = (href: string | undefined, what: string): string => {
    if (!href) throw new Error(`no ${what} link`);
    return href;
  };
  const dcap = await get('/dcap', 'DeviceCapability');
  cycle.push('/dcap');
  const edevList = await get(need(linkHref(dcap, 'EndDeviceListLink'), 'EndDeviceList') + LIST_QUERY, 'EndDeviceList');
  const own = ((edevList.EndDevice ?? []) as Array<Record<string, unknown>>).find((e) => e.lFDI === lfdi);
  if (!own || typeof own.href !== 'string') throw new Error(`EndDevice ${lfdi} is not in its EndDeviceList`);
  const edev = await get(own.href, 'EndDevice');
  cycle.push(own.href);
  const fsaPath = need(linkHref(edev, 'FunctionSetAssignmentsListLink'), 'FSA list') + LIST_QUERY;
  const fsaList = await get(fsaPath, 'FunctionSetAssignmentsList');
  cycle.push(fsaPath);
  for (const fsa of (fsaList.FunctionSetAssignments ?? []) as unknown[]) {
    const derpPath = need(linkHref(fsa, 'DERProgramListLink'), 'DERProgram list') + LIST_QUERY;
    const derpList = await get(derpPath, 'DERProgramList');
    cycle.push(derpPath);
    for (const program of (derpList.DERProgram ?? []) as unknown[]) {
      const dercPath = need(linkHref(program, 'DERControlListLink'), 'DERControl list') + LIST_QUERY;
      await get(dercPath, 'DERControlList');
      cycle.push(dercPath);
      const ddercPath = linkHref(program, 'DefaultDERControlLink');
      if (ddercPath) {
        const response = await connection.get(ddercPath);
        // A program without a default control may answer 404 on its link; such a path is left out of the cycle.
        if (response.status === 200) {
          bodies[ddercPath] = response.body.toString('base64');
          cycle.push(ddercPath);
        }
      }
    }
  }
  return cycle;
}

async function childDiscover(command: DiscoverCommand): Promise<DiscoverResult> {
  const connections = await openConnections(command, command.connections);
  const bodies: Record<string, string> = {};
  try {
    const cycles: string[][] = [];
    for (let i = 0; i < connections.length; i++) {
      const client = command.clients[i % command.clients.length]!;
      cycles.push(await discoverOne(connections[i]!, client.lfdi, bodies));
    }
    return { kind: 'discovered', cycles, bodies, cipher: connections[0]!.cipher };
  } finally {
    for (const c of connections) c.close();
  }
}

async function childRun(command: RunCommand): Promise<RunResult> {
  const connections = await openConnections(command, command.cycles.length);
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const start = performance.now();
  const measureFrom = start + command.warmupSeconds * 1000;
  const end = measureFrom + command.seconds * 1000;
  try {
    await Promise.all(
      connections.map(async (connection, i) => {
        const cycle = command.cycles[i]!;
        let step = 0;
        for (;;) {
          const sent = performance.now();
          if (sent >= end) return;
          const path = cycle[step]!;
          step = (step + 1) % cycle.length;
          try {
            const response = await connection.get(path);
            if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
          } catch (error) {
            errors++;
            firstError ??= (error as Error).message;
            if (errors > 1000) throw new Error(`too many errors; first: ${firstError}`);
            continue;
          }
          const done = performance.now();
          if (sent >= measureFrom && done <= end) {
            requests++;
            if (latencies.length < 200_000) latencies.push(Math.round((done - sent) * 1000) / 1000);
          }
        }
      }),
    );
  } finally {
    for (const c of connections) c.close();
  }
  return {
    kind: 'ran',
    requests,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    seconds: command.seconds,
    latenciesMs: latencies,
  };
}

function runLoadChild(): void {
  process.on('message', (command: Command) => {
    if (command.cmd === 'exit') process.exit(0);
    const work = command.cmd === 'discover' ? childDiscover(command) : childRun(command);
    work.then(
      (result) => process.send?.(result),
      (error: Error) => process.send?.({ kind: 'failed', message: error.stack ?? error.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: server, floor, report

class LoadChild {
  private readonly child: ChildProcess;

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--load-child'], { stdio: 'inherit' });
  }

  request<T extends ChildMessage['kind']>(command: Command, kind: T): Promise<Extract<ChildMessage, { kind: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`load child exited with ${code}`));
      this.child.once('exit', onExit);
      this.child.once('message', (message: ChildMessage) => {
        this.child.off('exit', onExit);
        if (message.kind === 'failed') reject(new Error(`load child: ${message.message}`));
        else if (message.kind !== kind) reject(new Error(`load child answered ${message.kind}, expected ${kind}`));
        else resolve(message as Extract<ChildMessage, { kind: T }>);
      });
      this.child.send(command);
    });
  }

  stop(): void {
    if (this.child.connected) this.child.send({ cmd: 'exit' });
  }
}

function randomLfdi(): string {
  return randomBytes(20).toString('hex');
}

/** Totals of one server over all its rounds. */
class Measured {
  requests = 0;
  errors = 0;
  firstError: string | undefined;
  seconds = 0;
  cpuSeconds = 0;
  private latencies: number[] = [];

  add(run: RunResult, cpuSeconds: number): void {
    this.requests += run.requests;
    this.errors += run.errors;
    this.firstError ??= run.firstError;
    this.seconds += run.seconds;
    this.cpuSeconds += cpuSeconds;
    this.latencies = this.latencies.concat(run.latenciesMs);
  }

  get rate(): number {
    return this.seconds > 0 ? this.requests / this.seconds : 0;
  }

  /** Server CPU seconds per request (this process runs only the server; the load is in the child). */
  get cpuPerRequest(): number {
    return this.requests > 0 ? this.cpuSeconds / this.requests : 0;
  }

  percentile(q: number): number {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  }
}

async function measureRound(
  child: LoadChild,
  command: Omit<RunCommand, 'cmd' | 'port'>,
  port: number,
  into: Measured,
): Promise<void> {
  const cpuBefore = process.cpuUsage();
  const run = await child.request({ cmd: 'run', port, ...command }, 'ran');
  const cpu = process.cpuUsage(cpuBefore);
  into.add(run, (cpu.user + cpu.system) / 1e6);
}

async function main(settings: Settings): Promise<number> {
  const setupStart = performance.now();
  const pki = await createTestPki({ clients: settings.certificates });
  const store = new MemoryStateStore();
  const server = await createUtilityServer(
    {
      profile: 'csip-aus',
      tls: { key: pki.server.keyPem, cert: pki.server.certificatePem, ca: pki.ca.certificatePem },
      log: () => undefined,
    },
    store,
  );
  const admin = server.admin;
  const now = Math.floor(Date.now() / 1000);

  const doe = await admin.createProgram({ id: 'doe', description: 'Site dynamic operating envelopes', primacy: 1 });
  const network = await admin.createProgram({ id: 'network', description: 'Network support', primacy: 2 });
  await admin.setDefaultControl({
    programId: doe.id,
    description: 'Default export limit',
    base: { opModExpLimW: { multiplier: 0, value: 1500 }, opModGenLimW: { multiplier: 0, value: 10_000 } },
    setGradW: 27,
  });
  await admin.createControl({
    programId: network.id,
    description: 'Network-wide import limit',
    start: now - 60,
    duration: 24 * 3600,
    base: { opModImpLimW: { multiplier: 0, value: 20_000 } },
  });
  await admin.createControl({
    programId: network.id,
    description: 'Evening export limit',
    start: now + 3600,
    duration: 3600,
    base: { opModExpLimW: { multiplier: 0, value: 0 } },
  });

  const registerStart = performance.now();
  for (let i = 0; i < settings.devices; i++) {
    const lfdi = i < pki.clients.length ? pki.clients[i]!.lfdi : randomLfdi();
    const device = await admin.registerEndDevice({ lfdi, role: 'device', pin: 111115 });
    await admin.createControl({
      programId: doe.id,
      endDeviceIds: [device.id],
      description: `DOE ${i}`,
      start: now - 60,
      duration: 24 * 3600,
      base: { opModExpLimW: { multiplier: 0, value: 5000 + (i % 5) * 1000 } },
    });
  }
  const registerSeconds = (performance.now() - registerStart) / 1000;
  const { port } = await server.listen({ host: HOST, port: 0 });
  const setupSeconds = (performance.now() - setupStart) / 1000;

  const clients: ClientCredential[] = pki.clients.map((c) => ({ key: c.keyPem, cert: c.certificatePem, lfdi: c.lfdi }));
  const ca = pki.ca.certificatePem;
  const child = new LoadChild();
  let exitCode = 1;
  try {
    const discovered = await child.request(
      { cmd: 'discover', port, ca, clients, connections: settings.connections },
      'discovered',
    );
    const bodies = new Map(Object.entries(discovered.bodies).map(([path, b64]) => [path, Buffer.from(b64, 'base64')]));
    const floorServer = createHttpsServer(
      sepServerTlsOptions({ key: pki.server.keyPem, cert: pki.server.certificatePem, ca }),
      (req, res) => {
        const body = bodies.get(req.url ?? '');
        if (!body) {
          res.writeHead(404, { 'content-length': '0' });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/sep+xml', 'content-length': String(body.length) });
        res.end(body);
      },
    );
    floorServer.keepAliveTimeout = 3_600_000;
    await new Promise<void>((resolve) => floorServer.listen(0, HOST, resolve));
    const floorPort = (floorServer.address() as AddressInfo).port;

    // Both servers listen throughout; only one is loaded at a time. The duration is split into alternating
    // rounds (ours, floor, ours, floor ...) so that load from other work on the machine hits both alike.
    const runCommand = {
      ca,
      clients,
      cycles: discovered.cycles,
      seconds: settings.seconds / settings.rounds,
      warmupSeconds: settings.warmupSeconds,
    };
    const ours = new Measured();
    const floor = new Measured();
    for (let round = 0; round < settings.rounds; round++) {
      await measureRound(child, runCommand, port, ours);
      await measureRound(child, runCommand, floorPort, floor);
    }
    await server.close();
    await new Promise<void>((resolve) => {
      floorServer.close(() => resolve());
      floorServer.closeAllConnections();
    });

    const ratio = floor.rate > 0 ? ours.rate / floor.rate : 0;
    const ratePass = ours.rate >= TARGET_RATE;
    const ratioPass = ratio >= TARGET_RATIO;
    const cycleLength = discovered.cycles[0]?.length ?? 0;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log('IEEE 2030.5 utility server benchmark');
    console.log(
      `  ${fmt(settings.devices)} EndDevices (${settings.certificates} with real certificates), ` +
        `${fmt(settings.devices + 2)} DERControls; setup ${setupSeconds.toFixed(1)} s ` +
        `(registration + controls ${registerSeconds.toFixed(1)} s)`,
    );
    console.log(
      `  ${settings.connections} connections, ${discovered.cipher}, mutual TLS, keep-alive; ` +
        `poll cycle of ${cycleLength} GETs; ${settings.seconds} s per server in ${settings.rounds} alternating ` +
        `rounds (each after ${settings.warmupSeconds} s warm-up)`,
    );
    console.log('');
    console.log('| server | req/s | p50 ms | p99 ms | server CPU µs/req | errors |');
    console.log('|---|---|---|---|---|---|');
    for (const [label, m] of [
      ['Gridseam utility server', ours],
      ['floor: bare node https, same bytes', floor],
    ] as const) {
      console.log(
        `| ${label} | ${fmt(m.rate)} | ${m.percentile(0.5).toFixed(2)} | ${m.percentile(0.99).toFixed(2)} | ` +
          `${(m.cpuPerRequest * 1e6).toFixed(0)} | ${m.errors}${m.firstError ? ` (${m.firstError})` : ''} |`,
      );
    }
    const cpuRatio = ours.cpuPerRequest > 0 ? floor.cpuPerRequest / ours.cpuPerRequest : 0;
    console.log('');
    console.log(
      `server CPU per request, floor / ours: ${cpuRatio.toFixed(2)} (informative: the ratio when the load ` +
        'generator, not the server, limits throughput)',
    );
    console.log(`requests/s: ${fmt(ours.rate)} (target >= ${fmt(TARGET_RATE)}): ${ratePass ? 'PASS' : 'FAIL'}`);
    console.log(`ratio to floor: ${ratio.toFixed(2)} (target >= ${TARGET_RATIO}): ${ratioPass ? 'PASS' : 'FAIL'}`);
    const clean = ours.errors === 0 && floor.errors === 0;
    if (!clean) console.log('FAIL: requests failed during the run (see errors above)');
    exitCode = ratePass && ratioPass && clean ? 0 : 1;
  } finally {
    child.stop();
    await server.close().catch(() => undefined);
  }
  return exitCode;
}

const settings = readSettings();
if (settings.loadChild) {
  runLoadChild();
} else {
  main(settings).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
