/**
 * `SimulatorFleet`: N simulated stations with identities `${prefix}${i}` (i = 1..N) against one
 * CSMS, connected with bounded concurrency so a large fleet does not open every socket at once.
 */
import { ChargePointSimulator } from './station.ts';
import type { ChargePointSimulatorOptions } from './types.ts';

export interface SimulatorFleetOptions extends Omit<ChargePointSimulatorOptions, 'identity' | 'password'> {
  count: number;
  prefix: string;
  /** Connections opened at the same time while starting, default 16. */
  concurrency?: number;
  /** One password for all, or per identity (security profiles 1 and 2). */
  password?: string | Buffer | ((identity: string) => string | Buffer | undefined);
}

export interface FleetStats {
  stations: number;
  connected: number;
  booted: number;
  messagesSent: number;
  messagesReceived: number;
  activeSessions: number;
  queued: number;
  validationFailures: number;
}

export class SimulatorFleet {
  readonly stations: readonly ChargePointSimulator[];
  private readonly concurrency: number;

  constructor(options: SimulatorFleetOptions) {
    const { count, prefix, concurrency, password, seed, ...common } = options;
    this.concurrency = Math.max(1, Math.floor(concurrency ?? 16));
    this.stations = Array.from({ length: Math.max(0, Math.floor(count)) }, (_, i) => {
      const identity = `${prefix}${i + 1}`;
      const secret = typeof password === 'function' ? password(identity) : password;
      return new ChargePointSimulator({
        ...common,
        identity,
        seed: (seed ?? 1) + i,
        ...(secret !== undefined ? { password: secret } : {}),
      });
    });
  }

  /** Starts every station, at most `concurrency` connection attempts at a time; resolves to the number connected. */
  async start(): Promise<number> {
    let next = 0;
    let connected = 0;
    const worker = async (): Promise<void> => {
      while (next < this.stations.length) {
        const station = this.stations[next++]!;
        if (await station.start()) connected++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, this.stations.length) }, worker));
    return connected;
  }

  station(identity: string): ChargePointSimulator | undefined {
    return this.stations.find((s) => s.identity === identity);
  }

  stats(): FleetStats {
    const stats: FleetStats = {
      stations: this.stations.length,
      connected: 0,
      booted: 0,
      messagesSent: 0,
      messagesReceived: 0,
      activeSessions: 0,
      queued: 0,
      validationFailures: 0,
    };
    for (const station of this.stations) {
      const s = station.stats();
      if (s.connected) stats.connected++;
      if (s.registration === 'Accepted') stats.booted++;
      stats.messagesSent += s.messagesSent;
      stats.messagesReceived += s.messagesReceived;
      stats.queued += s.queued;
      stats.validationFailures += s.validationFailures;
      stats.activeSessions += station.sessions().filter((x) => x.state === 'active').length;
    }
    return stats;
  }

  async close(): Promise<void> {
    await Promise.all(this.stations.map((s) => s.close()));
  }
}
