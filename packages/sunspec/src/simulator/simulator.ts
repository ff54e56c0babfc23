/**
 * SunSpecSimulator: N simulated SunSpec devices served over Modbus TCP (the lean ModbusTcpServer of
 * ../modbus/server.ts). Units are answered on unit ids 1..N; a unit id without a device gets
 * exception 11 (gateway target failed to respond; see server.ts).
 *
 * A Modbus unit id is one byte and gateways address 1..247 (MODBUS over serial line 2.2), so one
 * port carries at most 247 units: a larger `count` spreads units over consecutive ports (port,
 * port+1, ...; with port 0, one free port each), unit ids 1..247 on each. Unit number u (1..N) of
 * `unit(u)` is unit id ((u-1) % 247) + 1 on port index floor((u-1) / 247).
 *
 * Physics runs lazily: a unit is ticked when a request reaches it, at most once per
 * `tickIntervalMs` of real time, so idle units cost nothing and a request is a bounds check, a
 * clock read and a subarray of the unit's image. Writes always tick first (the controls in force
 * before the write govern the time up to it).
 *
 * Simulated time = startTime + (clock() - clock at construction) * speed. Reversion timers count
 * simulated seconds unless `realTimeTimers` (a gateway on real time driving an accelerated fleet).
 * A unit taken offline (`setUnitOnline(u, false)`) answers exception 11, as a unit behind a Modbus
 * gateway that stopped answering; its physics keeps running.
 */
import { GridseamError } from '@gridseam/model';
import { type ModbusRegisterHandler, ModbusTcpServer } from '../modbus/server.ts';
import { DeviceBase, isProfileName, type ProfileName, type SimulatedDevice } from './device.ts';
import { type DeviceFactory, deviceFactory, type ProfileOptions } from './profiles/index.ts';
import { Meter } from './profiles/meter.ts';
import type { RegisterMapOptions } from './register-map.ts';

export const MAX_UNITS_PER_PORT = 247;
const EXCEPTION_GATEWAY_TARGET_FAILED = 0x0b;

export interface SunSpecSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks free ports. */
  port: number;
  /**
   * One profile for every unit, or a comma-separated list given to units in turn
   * ('pv-inverter,battery,meter': unit 1 PV, 2 battery, 3 meter, 4 PV, ...). Each turn of the list
   * is a site: a meter in it measures the other units of its turn.
   */
  profile: string;
  /** Number of units (default 1). */
  count?: number;
  /** Simulated seconds per real second (default 1). */
  speed?: number;
  /** SunSpec base address: 40000 (default), 0 or 50000. */
  base?: number;
  /** Real time in ms (default Date.now); inject for tests. */
  clock?: () => number;
  /** Simulated epoch ms at construction (default: the clock's value then, i.e. real time). */
  startTime?: number;
  /** Real ms between two ticks of one unit (default 200). */
  tickIntervalMs?: number;
  /** Physics options (ratings, capacity, efficiency, initial SoC ...). */
  physics?: ProfileOptions;
  /**
   * Reversion timeouts (704 *RvrtTms, 123 *_RvrtTms, 124 InOutWRte_RvrtTms) in real seconds instead
   * of simulated ones: a gateway on real time sets them for its real setpoint lifetimes. Default false.
   */
  realTimeTimers?: boolean;
  /** Map quirks: no end marker; reads past the end. */
  endMarker?: boolean;
  pastEnd?: RegisterMapOptions['pastEnd'];
}

/** Parses a profile option: one name or a comma-separated list; throws GW_ERR_VALIDATION. */
export function parseProfiles(profile: string): ProfileName[] {
  const names = profile
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (names.length === 0) throw new GridseamError('GW_ERR_VALIDATION', 'no simulator profile given');
  for (const name of names) {
    if (!isProfileName(name)) {
      throw new GridseamError(
        'GW_ERR_VALIDATION',
        `unknown simulator profile '${name}' (pv-inverter, battery, hybrid, meter, legacy-inverter)`,
        { issues: [{ path: '/profile', message: `unknown profile '${name}'` }] },
      );
    }
  }
  return names as ProfileName[];
}

export class SunSpecSimulator {
  readonly host: string;
  readonly count: number;
  readonly speed: number;
  readonly base: number;
  readonly profiles: readonly ProfileName[];
  private readonly requestedPort: number;
  private readonly clock: () => number;
  private readonly clockStart: number;
  private readonly startTime: number;
  private readonly tickIntervalMs: number;
  /** devices[u - 1] is unit number u. */
  private readonly devices: SimulatedDevice[] = [];
  /** Real time of each unit's last tick. */
  private readonly lastTick: Float64Array;
  /** 1 where the unit is offline (answers exception 11). */
  private readonly offline: Uint8Array;
  private servers: ModbusTcpServer[] = [];
  private listening: number[] = [];

  constructor(options: SunSpecSimulatorOptions) {
    const count = options.count ?? 1;
    const speed = options.speed ?? 1;
    const base = options.base ?? 40000;
    const issues: { path: string; message: string }[] = [];
    if (!Number.isInteger(count) || count < 1) issues.push({ path: '/count', message: 'must be an integer >= 1' });
    if (!(speed > 0) || !Number.isFinite(speed)) issues.push({ path: '/speed', message: 'must be a number > 0' });
    if (!Number.isInteger(base) || base < 0 || base > 0xffff) {
      issues.push({ path: '/base', message: 'must be a register address 0..65535' });
    }
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      issues.push({ path: '/port', message: 'must be a TCP port 0..65535' });
    }
    if (issues.length > 0) {
      throw new GridseamError(
        'GW_ERR_VALIDATION',
        `invalid simulator options: ${issues[0]!.path} ${issues[0]!.message}`,
        {
          issues,
        },
      );
    }
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port;
    this.count = count;
    this.speed = speed;
    this.base = base;
    this.profiles = parseProfiles(options.profile);
    this.clock = options.clock ?? Date.now;
    this.clockStart = this.clock();
    this.startTime = options.startTime ?? this.clockStart;
    this.tickIntervalMs = options.tickIntervalMs ?? 200;
    this.lastTick = new Float64Array(count).fill(Number.NEGATIVE_INFINITY);
    this.offline = new Uint8Array(count);

    const mapOptions: RegisterMapOptions = {
      base,
      ...(options.endMarker !== undefined ? { endMarker: options.endMarker } : {}),
      ...(options.pastEnd !== undefined ? { pastEnd: options.pastEnd } : {}),
    };
    const factories = new Map<ProfileName, DeviceFactory>();
    for (const name of new Set(this.profiles)) factories.set(name, deviceFactory(name, options.physics, mapOptions));
    for (let u = 1; u <= count; u++) {
      const profile = this.profiles[(u - 1) % this.profiles.length]!;
      const device = factories.get(profile)!.create(u, this.startTime);
      if (options.realTimeTimers === true && device instanceof DeviceBase) device.timerScale = speed;
      this.devices.push(device);
    }
    // Sites: each turn of the profile list; a meter measures the other units of its turn.
    const perSite = this.profiles.length;
    for (let first = 0; first < count; first += perSite) {
      const site = this.devices.slice(first, first + perSite);
      for (const device of site) if (device instanceof Meter) device.meter(site.filter((d) => !(d instanceof Meter)));
    }
  }

  /** Simulated epoch ms now. */
  simTime(): number {
    return this.startTime + (this.clock() - this.clockStart) * this.speed;
  }

  /** The device of unit number u (1..count). */
  unit(u: number): SimulatedDevice {
    const device = this.devices[u - 1];
    if (device === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `the simulator has no unit ${u}`);
    return device;
  }

  /** Takes unit number u (1..count) off the network (exception 11 to every request) or back on. */
  setUnitOnline(u: number, online: boolean): void {
    this.unit(u);
    this.offline[u - 1] = online ? 0 : 1;
  }

  isUnitOnline(u: number): boolean {
    this.unit(u);
    return this.offline[u - 1] === 0;
  }

  /** Ticks every unit to the current simulated time. */
  tick(): void {
    const now = this.clock();
    const sim = this.startTime + (now - this.clockStart) * this.speed;
    for (let i = 0; i < this.devices.length; i++) {
      this.devices[i]!.tick(sim);
      this.lastTick[i] = now;
    }
  }

  /** The listening ports, one per 247 units (empty before start). */
  get ports(): readonly number[] {
    return this.listening;
  }

  /** Requests answered so far, over all ports. */
  get requests(): number {
    return this.servers.reduce((n, s) => n + s.stats.requests, 0);
  }

  async start(): Promise<{ port: number; ports: number[] }> {
    if (this.servers.length > 0) throw new GridseamError('GW_ERR_CONFLICT', 'the simulator is already started');
    const portCount = Math.ceil(this.count / MAX_UNITS_PER_PORT);
    try {
      for (let p = 0; p < portCount; p++) {
        const server = new ModbusTcpServer({
          host: this.host,
          port: this.requestedPort === 0 ? 0 : this.requestedPort + p,
          handler: this.handler(
            p * MAX_UNITS_PER_PORT,
            Math.min(MAX_UNITS_PER_PORT, this.count - p * MAX_UNITS_PER_PORT),
          ),
        });
        this.servers.push(server);
        const { port } = await server.listen();
        this.listening.push(port);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    return { port: this.listening[0]!, ports: [...this.listening] };
  }

  async stop(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    this.listening = [];
    await Promise.all(servers.map((s) => s.close()));
  }

  /** The register handler of one port: units offset+1 .. offset+units as unit ids 1..units. */
  private handler(offset: number, units: number): ModbusRegisterHandler {
    const devices = this.devices;
    const lastTick = this.lastTick;
    const offline = this.offline;
    const interval = this.tickIntervalMs;
    const clock = this.clock;
    const gone = { exception: EXCEPTION_GATEWAY_TARGET_FAILED };
    return {
      hasUnit: (unit) => unit >= 1 && unit <= units,
      readHoldingRegisters: (unit, address, count) => {
        const index = offset + unit - 1;
        const device = unit >= 1 && unit <= units ? devices[index] : undefined;
        if (device === undefined || offline[index] === 1) return gone;
        const now = clock();
        if (now - lastTick[index]! >= interval) {
          lastTick[index] = now;
          device.tick(this.startTime + (now - this.clockStart) * this.speed);
        }
        return device.map.read(address, count);
      },
      writeRegisters: (unit, address, values) => {
        const index = offset + unit - 1;
        const device = unit >= 1 && unit <= units ? devices[index] : undefined;
        if (device === undefined || offline[index] === 1) return gone;
        const now = clock();
        lastTick[index] = now;
        return device.write(address, values, this.startTime + (now - this.clockStart) * this.speed);
      },
    };
  }
}
