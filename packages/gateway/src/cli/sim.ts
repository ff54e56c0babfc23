/**
 * `gridseam sim sunspec --port P [--host 127.0.0.1] --profile NAME [--count N] [--speed X]`: serves
 * simulated SunSpec devices over Modbus TCP until SIGINT or SIGTERM, then exits 0. The simulator
 * itself is the SunSpec package's (runSunSpecSimulatorCli); it loads only when the command runs.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from './main.ts';

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
}
