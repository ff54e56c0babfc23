/**
 * `gridseam demo [--sites N] [--speed X] [--duration S] [--start HH:MM] [--port P] [--data DIR]
 * [--profile csip-aus|csip] [--seed N] [--json] [--verbose]`: the whole chain on this machine (the
 * 2030.5 utility server, the OpenADR 3 VTN, SunSpec and OCPP simulators, the gateway and its console)
 * playing one simulated day (src/demo/, docs/demo.md). Progress and status go to stderr; the summary
 * to stdout (one JSON object with --json). With --duration the command exits 0 after that many real
 * seconds; without it the day plays to its end and the console stays up until Ctrl-C. A failure to
 * start prints one `error:` line (exit 2 for an option, 1 otherwise). The demo modules load only
 * when the command runs.
 */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_PORT, DEFAULT_SITES, DEFAULT_SPEED, MAX_SITES, MAX_SPEED } from '../demo/limits.ts';
import type { CliIo } from './main.ts';
import { closeGracefully } from './shutdown.ts';

/** main.ts EXIT_FAILURE (not imported as a value: main.ts imports this module). */
const EXIT_FAILURE = 1;
/** A fleet of thousands takes a while to close (the store flushes, thousands of sockets close). */
const CLOSE_TIMEOUT_MS = 60_000;

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return Number(value);
  };
}

function number(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed < min || parsed > max)
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    return parsed;
  };
}

function timeOfDay(value: string): string {
  if (!/^([01]?\d|2[0-3]):[0-5]\d$/.test(value.trim()))
    throw new InvalidArgumentError('--start must be a time of day HH:MM (00:00 to 23:59)');
  return value.trim();
}

function profile(value: string): 'csip-aus' | 'csip' {
  if (value !== 'csip-aus' && value !== 'csip') throw new InvalidArgumentError('--profile must be csip-aus or csip');
  return value;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolvePromise) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolvePromise(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

interface DemoCliOptions {
  sites: number;
  speed: number;
  duration?: number;
  start: string;
  port: number;
  data: string;
  profile: 'csip-aus' | 'csip';
  seed: number;
  json?: boolean;
  verbose?: boolean;
}

export function registerDemoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run a simulated fleet, two utilities and the gateway on this machine, one simulated day')
    .option('--sites <n>', `sites to simulate (1 to ${MAX_SITES})`, integer('--sites', 1, MAX_SITES), DEFAULT_SITES)
    .option(
      '--speed <x>',
      `simulated seconds per real second (${DEFAULT_SPEED}: a day in 10 minutes; at most ${MAX_SPEED})`,
      number('--speed', 1, MAX_SPEED),
      DEFAULT_SPEED,
    )
    .option(
      '--duration <seconds>',
      'stop after this many real seconds with the summary (default: at the end of the simulated day, then keep serving the console)',
      number('--duration', 1, 7 * 86400),
    )
    .option('--start <HH:MM>', 'the time of day the simulated day starts at', timeOfDay, '00:00')
    .option(
      '-p, --port <port>',
      'console and API port on 127.0.0.1 (0 picks a free port)',
      integer('--port', 0, 65535),
      DEFAULT_PORT,
    )
    .option('--data <dir>', 'data folder: SQLite databases, test PKI, API tokens, log', DEFAULT_DATA_DIR)
    .option(
      '--profile <profile>',
      'IEEE 2030.5 profile of the utility: csip-aus or csip (California)',
      profile,
      'csip-aus',
    )
    .option('--seed <n>', 'seed of the EV arrivals', integer('--seed', 0, 2 ** 31 - 1), 1)
    .option('--json', 'print the summary as one JSON object on stdout (status stays on stderr)')
    .option('--verbose', "write every log line to the data folder's demo.log, not only warnings")
    .addHelpText(
      'after',
      `
Examples:
  gridseam demo
  gridseam demo --sites 200 --speed 288 --port 0
  gridseam demo --duration 60 --sites 5 --speed 1440 --port 0 --json

Everything listens on 127.0.0.1; the console URL (with an operator token) is printed at start.
Details: docs/demo.md.`,
    )
    .action(async (options: DemoCliOptions) => {
      const { parseTimeOfDay } = await import('../demo/clock.ts');
      const { startDemo } = await import('../demo/run.ts');
      const { formatSummaryText } = await import('../demo/summary.ts');
      // Listen for SIGINT/SIGTERM before starting, so one during start-up stops the demo once it is up.
      let stopped = false;
      const stop = (io.waitForStop ?? waitForSignal)().then((signal) => {
        stopped = true;
        return signal;
      });
      const stderrIsTty = (io.stderr as NodeJS.WriteStream).isTTY === true;
      const demo = await startDemo(
        {
          sites: options.sites,
          speed: options.speed,
          ...(options.duration === undefined ? {} : { durationS: options.duration }),
          port: options.port,
          dataDir: resolve(io.cwd, options.data),
          profile: options.profile,
          seed: options.seed,
          startOffsetMs: parseTimeOfDay(options.start) ?? 0,
          verbose: options.verbose === true,
        },
        { stderr: io.stderr, stderrIsTty },
      );
      try {
        write(io.stderr, `console: ${demo.consoleUrl}`);
        write(io.stderr, `  (viewer token in ${demo.data.paths.tokens}; log in ${demo.data.paths.log}; Ctrl-C stops)`);
        const { summary, complete } = await demo.play(stop);
        write(io.stdout, options.json ? JSON.stringify(summary, null, 2) : formatSummaryText(summary));
        if (complete && options.duration === undefined && !stopped) {
          write(io.stderr, `the day is over; the console stays up at ${demo.consoleUrl} until Ctrl-C`);
          await stop;
        }
      } finally {
        write(io.stderr, 'stopping ...');
        await closeGracefully(() => demo.close(), demo.logger, EXIT_FAILURE, CLOSE_TIMEOUT_MS);
      }
    });
}
