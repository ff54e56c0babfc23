/**
 * `gridseam sim sunspec --port P [--host 127.0.0.1] --profile NAME [--count N] [--speed X]`: serves
 * simulated SunSpec devices over Modbus TCP until SIGINT or SIGTERM, then exits 0. The simulator
 * itself is the SunSpec package's (runSunSpecSimulatorCli); it loads only when the command runs.
 *
 * `gridseam sim ocpp --url ws://HOST:PORT/PATH --count N --version 1.6|2.0.1 ...`: N simulated
 * charging stations (the OCPP package's SimulatorFleet) connected to a CSMS until SIGINT or SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import { GridseamError } from '@gridseam/model';
import { type Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../log.ts';
import type { CliIo } from './main.ts';
import { closeGracefully } from './shutdown.ts';

export const SIM_PROFILES = ['pv-inverter', 'battery', 'hybrid', 'meter', 'legacy-inverter'] as const;

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return Number(value);
  };
}

function positiveNumber(value: string): number {
  const speed = Number(value);
  if (value.trim() === '' || !Number.isFinite(speed) || speed <= 0)
    throw new InvalidArgumentError('--speed must be a number > 0');
  return speed;
}

/** One profile or a comma-separated list of them, each one of SIM_PROFILES. */
function profileList(value: string): string {
  const unknown = value.split(',').filter((p) => !(SIM_PROFILES as readonly string[]).includes(p.trim()));
  if (unknown.length > 0 || value.trim() === '')
    throw new InvalidArgumentError(`--profile must be one of ${SIM_PROFILES.join(', ')} (or a comma-separated list)`);
  return value;
}

function positive(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number <= 0)
      throw new InvalidArgumentError(`${name} must be a number > 0`);
    return number;
  };
}

function nonNegativeNumber(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number < 0)
      throw new InvalidArgumentError(`${name} must be a number >= 0`);
    return number;
  };
}

function ocppVersion(value: string): '1.6' | '2.0.1' {
  if (value !== '1.6' && value !== '2.0.1') throw new InvalidArgumentError('--version must be 1.6 or 2.0.1');
  return value;
}

function websocketUrl(value: string): string {
  if (!/^wss?:\/\/[^\s/]+/.test(value)) throw new InvalidArgumentError('--url must be a ws:// or wss:// URL');
  return value.replace(/\/+$/, '');
}

/** Identity prefixes: the characters an OCPP identity allows (2.0.1 Part 4 §3.1.1), at most 40. */
function identityPrefix(value: string): string {
  if (!/^[A-Za-z0-9*_=:+|@.-]{0,40}$/.test(value))
    throw new InvalidArgumentError('--prefix may hold letters, digits and *_=:+|@.- (at most 40)');
  return value;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export function registerSimCommands(program: Command, io: CliIo): void {
  const sim = program.command('sim').description('device simulators for tests, demos and benchmarks');
  sim
    .command('sunspec')
    .description('serve simulated SunSpec devices over Modbus TCP until SIGINT/SIGTERM')
    .requiredOption(
      '--port <port>',
      'TCP port; more than 247 units use the following ports too',
      integer('--port', 0, 65535),
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .requiredOption(
      '--profile <name>',
      `device profile: ${SIM_PROFILES.join(' | ')} (or a comma-separated list)`,
      profileList,
    )
    .option('--count <n>', 'number of devices (unit ids 1..N, 247 per port)', integer('--count', 1, 100_000), 1)
    .option('--speed <x>', 'simulated seconds per real second', positiveNumber, 1)
    .option('--base <address>', 'SunSpec base address: 40000, 0 or 50000', integer('--base', 0, 65535))
    .action(
      async (options: { port: number; host: string; profile: string; count: number; speed: number; base?: number }) => {
        // Listen before starting, so a signal during start-up still stops the simulator cleanly.
        const stopRequested = (io.waitForStop ?? waitForSignal)();
        const { runSunSpecSimulatorCli } = await import('@gridseam/sunspec');
        const simulator = await runSunSpecSimulatorCli(
          {
            host: options.host,
            port: options.port,
            profile: options.profile,
            count: options.count,
            speed: options.speed,
            ...(options.base !== undefined ? { base: options.base } : {}),
          },
          (line) => write(io.stdout, line),
        );
        const signal = await stopRequested;
        await simulator.stop();
        write(io.stdout, `sunspec simulator stopped (${signal})`);
      },
    );
  registerSimOcpp(sim, io);
}

interface SimOcppOptions {
  url: string;
  count: number;
  version: '1.6' | '2.0.1';
  prefix: string;
  password?: string;
  speed: number;
  evses: number;
  meterInterval: number;
  arrivalInterval: number;
  stay: number;
  statusInterval: number;
  seed: number;
  ca?: string;
  cert?: string;
  key?: string;
}

async function readTlsFile(option: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new GridseamError('GW_ERR_VALIDATION', `${option} ${path}: cannot read the file (${reason})`);
  }
}

function registerSimOcpp(sim: Command, io: CliIo): void {
  sim
    .command('ocpp')
    .description('run simulated OCPP charging stations against a CSMS until SIGINT/SIGTERM')
    .requiredOption(
      '--url <url>',
      'the CSMS endpoint, e.g. ws://127.0.0.1:9220/ocpp (the identity is appended)',
      websocketUrl,
    )
    .requiredOption('--version <version>', 'OCPP version: 1.6 | 2.0.1', ocppVersion)
    .option('--count <n>', 'number of stations', integer('--count', 1, 100_000), 1)
    .option('--prefix <id>', 'identity prefix: stations are PREFIX1..PREFIXN', identityPrefix, 'CP-')
    .option('--password <p>', 'HTTP Basic password of every station (security profiles 1 and 2)')
    .option('--speed <x>', 'simulated seconds per real second', positive('--speed'), 1)
    .option('--evses <n>', 'EVSEs per station', integer('--evses', 1, 64), 1)
    .option(
      '--meter-interval <s>',
      'meter values period until the CSMS sets one, seconds',
      positive('--meter-interval'),
      60,
    )
    .option(
      '--arrival-interval <s>',
      'mean simulated seconds between EV arrivals per EVSE (0: none)',
      nonNegativeNumber('--arrival-interval'),
      600,
    )
    .option('--stay <s>', 'mean simulated seconds an EV stays plugged in', positive('--stay'), 3600)
    .option(
      '--status-interval <s>',
      'print a status line this often, real seconds (0: at start only)',
      nonNegativeNumber('--status-interval'),
      10,
    )
    .option('--seed <n>', 'seed for EV arrivals', integer('--seed', 0, 2 ** 31 - 1), 1)
    .option('--ca <file>', 'PEM CA of the CSMS certificate (wss://)')
    .option('--cert <file>', 'PEM client certificate (security profile 3)')
    .option('--key <file>', 'PEM client key (security profile 3)')
    .action(async (options: SimOcppOptions) => {
      if ((options.cert === undefined) !== (options.key === undefined))
        throw new GridseamError('GW_ERR_VALIDATION', '--cert and --key go together');
      if (options.url.startsWith('wss://') && options.ca === undefined)
        throw new GridseamError('GW_ERR_VALIDATION', 'a wss:// URL needs --ca (the CA of the CSMS certificate)');
      const tls =
        options.ca === undefined
          ? undefined
          : {
              ca: await readTlsFile('--ca', options.ca),
              ...(options.cert !== undefined && options.key !== undefined
                ? { cert: await readTlsFile('--cert', options.cert), key: await readTlsFile('--key', options.key) }
                : {}),
            };
      const logger = createLogger({ level: 'warn', destination: io.stderr });
      // Listen before starting, so a signal during start-up still stops the stations cleanly.
      const stopRequested = (io.waitForStop ?? waitForSignal)();
      const { SimulatorFleet } = await import('@gridseam/ocpp');
      const fleet = new SimulatorFleet({
        url: options.url,
        version: options.version,
        count: options.count,
        prefix: options.prefix,
        speed: options.speed,
        seed: options.seed,
        meterIntervalS: options.meterInterval,
        evses: { count: options.evses },
        ...(options.arrivalInterval > 0
          ? { arrivals: { meanIntervalS: options.arrivalInterval, meanStayS: options.stay } }
          : {}),
        ...(options.password !== undefined ? { password: options.password } : {}),
        ...(tls !== undefined ? { tls } : {}),
      });
      // A refusal (401) or a lost CSMS is an 'error' event per station: each distinct message once.
      const reported = new Set<string>();
      for (const station of fleet.stations)
        station.on('error', (error: Error) => {
          if (reported.has(error.message) || reported.size >= 20) return;
          reported.add(error.message);
          write(io.stderr, `${station.identity}: ${error.message}`);
        });
      const last = options.count === 1 ? '' : `..${options.prefix}${options.count}`;
      const what = `${options.count} station(s) ${options.prefix}1${last} (OCPP ${options.version}) -> ${options.url}`;
      const status = () => {
        const s = fleet.stats();
        return `ocpp simulator: ${what}: ${s.connected} connected, ${s.booted} booted, ${s.activeSessions} in session, ${s.messagesSent} messages sent`;
      };
      await fleet.start();
      write(io.stdout, status());
      let previous = '';
      const timer =
        options.statusInterval > 0
          ? setInterval(() => {
              const line = status();
              if (line !== previous) write(io.stdout, line);
              previous = line;
            }, options.statusInterval * 1000)
          : undefined;
      const signal = await stopRequested;
      if (timer !== undefined) clearInterval(timer);
      await closeGracefully(() => fleet.close(), logger, 1);
      write(io.stdout, `ocpp simulator stopped (${signal})`);
    });
}
