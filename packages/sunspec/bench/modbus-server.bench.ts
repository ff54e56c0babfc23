/**
 * Modbus TCP server benchmark: `npx tsx packages/sunspec/bench/modbus-server.bench.ts
 * [--requests N] [--clients N] [--baseline-requests N] [--max-seconds S]`.
 *
 * The server under test runs in a child process (one Node thread, so at most about one core),
 * the load in this process, over 127.0.0.1. Every request is FC3 of 125 registers. Each run is
 * bounded by a request count and by --max-seconds, whichever comes first. Runs:
 * - ModbusTcpServer driven by N concurrent modbus-serial clients (the headline figure; target
 *   >= 10,000 req/s), by N of our own transports (openModbusTcp, both engines), by one transport
 *   alone (the latency-bound figure of a single connection), and by a raw pipelined MBAP driver
 *   (the server's ceiling when the load generator is cheap);
 * - modbus-serial's own ServerTCP, driven the same way, as the comparison figure.
 * For each run: req/s, the server's CPU use (share of one core) and requests per server CPU-second.
 * Prints PASS/FAIL against 10,000 req/s; exit code 1 on FAIL.
 */
import { type ChildProcess, fork } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import modbusSerial from 'modbus-serial';
import { type ModbusTcpEngine, openModbusTcp } from '../src/modbus/client.ts';
import { encodeReadHoldingRegistersRequest, FrameReader } from '../src/modbus/mbap.ts';
import { ModbusTcpServer } from '../src/modbus/server.ts';

const TARGET_RATE = 10_000;
const ADDRESS = 40000;
const COUNT = 125;
const UNIT = 1;

type ServerKind = 'ours' | 'modbus-serial';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '50000' },
    clients: { type: 'string', default: '8' },
    'baseline-requests': { type: 'string', default: '5000' },
    'max-seconds': { type: 'string', default: '15' },
    serve: { type: 'string' },
  },
});

/** The register image both servers serve: register n holds n & 0xffff. */
const registers = Uint16Array.from({ length: 65536 }, (_, i) => i);

// ---------------------------------------------------------------------------------------------
// Child: one server, reporting its port and CPU use over IPC.

async function serve(kind: ServerKind): Promise<void> {
  let served = 0;
  let close: () => Promise<void>;
  let port: number;
  if (kind === 'ours') {
    const server = new ModbusTcpServer({
      port: 0,
      handler: {
        readHoldingRegisters: (_unit, address, count) => {
          served++;
          return registers.subarray(address, address + count);
        },
        writeRegisters: (_unit, address, values) => {
          registers.set(values, address);
        },
      },
    });
    ({ port } = await server.listen());
    close = () => server.close();
  } else {
    // ServerTCP maps port 0 to 502, so find a free port first.
    port = await freePort();
    const server = new modbusSerial.ServerTCP(
      {
        getMultipleHoldingRegisters: (address: number, length: number) => {
          served++;
          return Array.from(registers.subarray(address, address + length));
        },
        getHoldingRegister: (address: number) => registers[address] ?? 0,
      },
      { host: '127.0.0.1', port },
    );
    server.on('error', () => {});
    server.on('socketError', () => {});
    await new Promise<void>((resolve) => server.on('initialized', () => resolve()));
    close = () => new Promise((resolve) => server.close(() => resolve()));
  }
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'usage') process.send?.({ cpu: process.cpuUsage(), served });
    if (message.cmd === 'stop') void close().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ port });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: start servers, drive them, print the table.

interface ChildServer {
  child: ChildProcess;
  port: number;
  usage(): Promise<{ cpuMicros: number; served: number }>;
  stop(): Promise<void>;
}

async function startServer(kind: ServerKind): Promise<ChildServer> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve(message.port));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return {
    child,
    port,
    usage: () =>
      new Promise((resolve) => {
        child.once('message', (message: { cpu: NodeJS.CpuUsage; served: number }) =>
          resolve({ cpuMicros: message.cpu.user + message.cpu.system, served: message.served }),
        );
        child.send({ cmd: 'usage' });
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ cmd: 'stop' });
      }),
  };
}

interface Load {
  completed: number;
  seconds: number;
}

type Driver = (port: number, total: number, deadline: number) => Promise<Load>;

function check(values: ArrayLike<number>, address: number): void {
  if (values.length !== COUNT || values[0] !== (address & 0xffff) || values[COUNT - 1] !== address + COUNT - 1) {
    throw new Error(`wrong registers for address ${address}`);
  }
}

/** Shares `total` requests among `workers` sequential loops; stops at the deadline. */
async function runWorkers(workers: number, total: number, deadline: number, request: (w: number) => Promise<void>) {
  let issued = 0;
  let completed = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (issued < total && performance.now() < deadline) {
        issued++;
        await request(w);
        completed++;
      }
    }),
  );
  return { completed, seconds: (performance.now() - start) / 1000 };
}

function modbusSerialClients(clients: number): Driver {
  return async (port, total, deadline) => {
    const conns = await Promise.all(
      Array.from({ length: clients }, async () => {
        const client = new modbusSerial.default();
        client.on('error', () => {});
        await client.connectTCP('127.0.0.1', { port });
        client.setID(UNIT);
        client.setTimeout(5000);
        return client;
      }),
    );
    try {
      return await runWorkers(clients, total, deadline, async (w) => {
        const { data } = await conns[w]!.readHoldingRegisters(ADDRESS, COUNT);
        check(data, ADDRESS);
      });
    } finally {
      await Promise.all(conns.map((c) => new Promise<void>((resolve) => c.close(() => resolve()))));
    }
  };
}

function ourTransports(clients: number, engine: ModbusTcpEngine): Driver {
  return async (port, total, deadline) => {
    const transports = await Promise.all(
      Array.from({ length: clients }, () => openModbusTcp({ host: '127.0.0.1', port, engine, timeoutMs: 5000 })),
    );
    try {
      return await runWorkers(clients, total, deadline, async (w) => {
        check(await transports[w]!.readHoldingRegisters(UNIT, ADDRESS, COUNT), ADDRESS);
      });
    } finally {
      await Promise.all(transports.map((t) => t.close()));
    }
  };
}

/** Raw MBAP over `sockets` connections, `depth` requests outstanding on each: a cheap load generator. */
function pipelined(sockets: number, depth: number): Driver {
  return async (port, total, deadline) => {
    const request = encodeReadHoldingRegistersRequest(1, UNIT, ADDRESS, COUNT);
    let issued = 0;
    let completed = 0;
    const start = performance.now();
    await Promise.all(
      Array.from(
        { length: sockets },
        () =>
          new Promise<void>((resolve, reject) => {
            const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
            const reader = new FrameReader();
            let outstanding = 0;
            const pump = (): void => {
              while (outstanding < depth && issued < total && performance.now() < deadline) {
                issued++;
                outstanding++;
                socket.write(request);
              }
              if (outstanding === 0) socket.end();
            };
            socket.on('connect', pump);
            socket.on('data', (chunk: Buffer) => {
              reader.push(chunk);
              for (let r = reader.read(); r !== undefined; r = reader.read()) {
                if (r.frame?.pdu[0] !== 3 || r.frame.pdu.length !== 2 + 2 * COUNT) {
                  reject(new Error('bad response'));
                  socket.destroy();
                  return;
                }
                outstanding--;
                completed++;
              }
              pump();
            });
            socket.on('error', reject);
            socket.on('close', () => resolve());
          }),
      ),
    );
    return { completed, seconds: (performance.now() - start) / 1000 };
  };
}

interface Row {
  server: ServerKind;
  load: string;
  completed: number;
  rate: number;
  serverCpu: number;
  perCpuSecond: number;
  driverCpu: number;
}

async function measure(server: ChildServer, kind: ServerKind, load: string, driver: Driver, total: number) {
  const maxSeconds = Number(args['max-seconds']);
  // A short warm-up so JIT compilation is not part of the figure.
  await driver(server.port, Math.min(2000, total), performance.now() + 2000);
  const before = await server.usage();
  const driverBefore = process.cpuUsage();
  const result = await driver(server.port, total, performance.now() + maxSeconds * 1000);
  const driverUsage = process.cpuUsage(driverBefore);
  const after = await server.usage();
  const cpuSeconds = (after.cpuMicros - before.cpuMicros) / 1e6;
  const row: Row = {
    server: kind,
    load,
    completed: result.completed,
    rate: result.completed / result.seconds,
    serverCpu: cpuSeconds / result.seconds,
    perCpuSecond: result.completed / Math.max(cpuSeconds, 1e-6),
    driverCpu: (driverUsage.user + driverUsage.system) / 1e6 / result.seconds,
  };
  if (after.served - before.served !== result.completed) {
    throw new Error(`server counted ${after.served - before.served} reads, the driver ${result.completed}`);
  }
  console.log(
    `${row.server.padEnd(14)} ${row.load.padEnd(40)} ${String(row.completed).padStart(7)} req ` +
      `${Math.round(row.rate).toLocaleString('en-US').padStart(8)} req/s   server CPU ${pct(row.serverCpu)}` +
      `   ${Math.round(row.perCpuSecond).toLocaleString('en-US').padStart(8)} req/CPU-s   driver CPU ${pct(row.driverCpu)}`,
  );
  return row;
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`.padStart(4);
}

async function main(): Promise<void> {
  const total = Number(args.requests);
  const clients = Number(args.clients);
  const baseline = Number(args['baseline-requests']);
  if (!(total > 0 && clients > 0 && baseline > 0 && Number(args['max-seconds']) > 0)) {
    console.error(
      'usage: modbus-server.bench.ts [--requests N] [--clients N] [--baseline-requests N] [--max-seconds S]',
    );
    process.exit(2);
  }
  console.log(
    `Modbus TCP server benchmark: FC3 x ${COUNT} registers over 127.0.0.1; server in a child process; ` +
      `${clients} clients; at most ${args['max-seconds']} s per run`,
  );
  const rows: Row[] = [];
  const ours = await startServer('ours');
  try {
    rows.push(await measure(ours, 'ours', `${clients} modbus-serial clients`, modbusSerialClients(clients), total));
    for (const engine of ['modbus-serial', 'mbap'] as const) {
      const load = `${clients} openModbusTcp (engine ${engine})`;
      rows.push(await measure(ours, 'ours', load, ourTransports(clients, engine), total));
    }
    for (const engine of ['modbus-serial', 'mbap'] as const) {
      const load = `1 openModbusTcp (engine ${engine})`;
      rows.push(await measure(ours, 'ours', load, ourTransports(1, engine), Math.ceil(total / 2)));
    }
    rows.push(await measure(ours, 'ours', '4 sockets x 16 pipelined (raw MBAP)', pipelined(4, 16), total * 2));
  } finally {
    await ours.stop();
  }
  const theirs = await startServer('modbus-serial');
  try {
    const load = `${clients} modbus-serial clients`;
    rows.push(await measure(theirs, 'modbus-serial', load, modbusSerialClients(clients), baseline));
    rows.push(await measure(theirs, 'modbus-serial', '1 modbus-serial client', modbusSerialClients(1), baseline / 5));
    const raw = '4 sockets x 16 pipelined (raw MBAP)';
    rows.push(await measure(theirs, 'modbus-serial', raw, pipelined(4, 16), baseline * 2));
  } finally {
    await theirs.stop();
  }

  const headline = rows[0]!;
  const sameLoad = (load: string) => {
    const a = rows.find((r) => r.server === 'ours' && r.load === load);
    const b = rows.find((r) => r.server === 'modbus-serial' && r.load === load);
    if (a && b) {
      console.log(
        `  ${load}: ModbusTcpServer ${fmt(a.rate)} req/s vs ServerTCP ${fmt(b.rate)} req/s ` +
          `(${(a.rate / b.rate).toFixed(1)}x)`,
      );
    }
  };
  console.log('\nSame load on both servers:');
  sameLoad(`${clients} modbus-serial clients`);
  sameLoad('4 sockets x 16 pipelined (raw MBAP)');
  const best = rows.filter((r) => r.server === 'ours').sort((a, b) => b.rate - a.rate)[0]!;
  console.log(
    `ModbusTcpServer capacity: up to ${fmt(best.rate)} req/s measured (${best.load}), ` +
      `${fmt(best.perCpuSecond)} requests per server CPU-second`,
  );
  const pass = headline.rate >= TARGET_RATE;
  console.log(
    `${pass ? 'PASS' : 'FAIL'}: ${fmt(headline.rate)} req/s with ${clients} modbus-serial clients ` +
      `(target >= ${fmt(TARGET_RATE)} req/s on one core)`,
  );
  if (!pass && headline.serverCpu < 0.9) {
    console.log(
      `  note: the server used ${pct(headline.serverCpu)} of a core in that run, so the modbus-serial clients ` +
        '(or other load on this machine) were the limit, not the server',
    );
  }
  if (!pass) process.exitCode = 1;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

if (args.serve === 'ours' || args.serve === 'modbus-serial') {
  await serve(args.serve);
} else {
  await main();
}
