/**
 * What `gridseam sim sunspec --port P [--host H] --profile NAME [--count N] [--speed X] [--base B]`
 * runs (the command itself is wired in the gateway package): starts a SunSpecSimulator and prints
 * one line saying what it serves.
 */
import { MAX_UNITS_PER_PORT, SunSpecSimulator } from './simulator.ts';

export interface SunSpecSimulatorCliOptions {
  host: string;
  port: number;
  /** One profile or a comma-separated list (see SunSpecSimulatorOptions.profile). */
  profile: string;
  count: number;
  speed: number;
  base?: number;
}

export async function runSunSpecSimulatorCli(
  options: SunSpecSimulatorCliOptions,
  log: (line: string) => void,
): Promise<{ stop(): Promise<void>; port: number }> {
  const simulator = new SunSpecSimulator({
    host: options.host,
    port: options.port,
    profile: options.profile,
    count: options.count,
    speed: options.speed,
    ...(options.base !== undefined ? { base: options.base } : {}),
  });
  const { port, ports } = await simulator.start();
  const portText = ports.length === 1 ? String(port) : `${port}-${ports[ports.length - 1]}`;
  const units = options.count === 1 ? 'unit' : 'units';
  const speed = options.speed === 1 ? '' : `, speed x${options.speed}`;
  const spread = ports.length > 1 ? `, unit ids 1..${MAX_UNITS_PER_PORT} per port` : '';
  log(
    `sunspec simulator: ${options.count} ${simulator.profiles.join(',')} ${units} on ${options.host}:${portText} (base ${simulator.base}${speed}${spread})`,
  );
  return { stop: () => simulator.stop(), port };
}
