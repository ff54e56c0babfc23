/**
 * SunSpec devices behind the canonical DeviceAdapter contract (@gridseam/model), as the gateway's
 * edge runtime uses them: one adapter per Modbus unit, one shared transport per host:port
 * (SunSpecConnections), health tracking, and discovery of the units behind an address.
 *
 * The scan (the model chain) is cached: a SunSpec device's map does not change while it runs. It
 * is dropped when a read says the map changed (GW_ERR_DEVICE_PROTOCOL), so the next call rescans,
 * and `rescan()` forces one.
 */
import {
  type ApplyOutcome,
  type DeviceAdapter,
  type DeviceClass,
  type DeviceDescription,
  GridseamError,
  type Reading,
  type Setpoint,
} from '@gridseam/model';
import type { DecodedModel } from './codec/types.ts';
import {
  applySetpoint,
  capabilitiesOf,
  classify,
  type ReadingQuirks,
  readingsOf,
  readModels,
  type ScanResult,
  scanSunSpec,
} from './device/index.ts';
import { type ModbusTcpOptions, openModbusTcp } from './modbus/client.ts';
import type { ModbusTransport } from './modbus/transport.ts';

/**
 * Models one poll reads: those readingsOf maps (inverter, DER measurements and capacity, storage,
 * meters). The common model, curves and settings are read by describe() only.
 */
export const SUNSPEC_POLL_MODELS: readonly number[] = [
  101, 102, 103, 111, 112, 113, 122, 124, 201, 202, 203, 204, 211, 212, 213, 214, 701, 702, 713, 802,
];

/** Consecutive failed calls after which an adapter reports itself faulty. */
export const DEFAULT_FAULTY_AFTER = 3;

export type AdapterHealth = 'ok' | 'faulty';

export interface SunSpecAdapterOptions {
  deviceId: string;
  /** The connection to the device or its gateway; shared by every unit behind the same host:port. */
  transport: ModbusTransport;
  unit: number;
  /** Base addresses to probe (default 40000, 0, 50000). */
  bases?: readonly number[];
  /** Models a poll reads (default SUNSPEC_POLL_MODELS). */
  pollModels?: readonly number[];
  /** Report this class instead of the one derived from the models. */
  deviceClass?: DeviceClass;
  quirks?: ReadingQuirks;
  /** Consecutive failures before `health` turns 'faulty' (default 3). */
  faultyAfter?: number;
  /** close() also closes the transport (default false: the transport is shared). */
  ownsTransport?: boolean;
  /** Clock for read-back stamps and reversion timers; default Date.now. */
  now?: () => number;
}

export class SunSpecAdapter implements DeviceAdapter {
  readonly deviceId: string;
  readonly unit: number;
  private readonly transport: ModbusTransport;
  private readonly now: () => number;
  private readonly faultyAfter: number;
  private scanResult: ScanResult | undefined;
  private deviceClass: DeviceClass | undefined;
  private failures = 0;
  private lastFailure: GridseamError | undefined;

  constructor(private readonly options: SunSpecAdapterOptions) {
    if (!Number.isInteger(options.unit) || options.unit < 0 || options.unit > 255)
      throw new GridseamError('GW_ERR_VALIDATION', `unit id must be an integer 0..255, got ${options.unit}`, {
        issues: [{ path: '/unit', message: 'expected an integer 0..255' }],
      });
    this.deviceId = options.deviceId;
    this.unit = options.unit;
    this.transport = options.transport;
    this.deviceClass = options.deviceClass;
    this.now = options.now ?? Date.now;
    this.faultyAfter = Math.max(1, options.faultyAfter ?? DEFAULT_FAULTY_AFTER);
  }

  /** 'faulty' after `faultyAfter` consecutive failed calls; the next successful call makes it 'ok'. */
  get health(): AdapterHealth {
    return this.failures >= this.faultyAfter ? 'faulty' : 'ok';
  }

  /** Failed calls in a row (0 after a success). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** The error of the last failed call, kept until a call succeeds. */
  get lastError(): GridseamError | undefined {
    return this.lastFailure;
  }

  /** The cached scan (undefined before the first call, after a protocol error or during a rescan). */
  get scan(): ScanResult | undefined {
    return this.scanResult;
  }

  /** Forgets the cached scan and walks the model chain again. */
  async rescan(): Promise<ScanResult> {
    this.scanResult = undefined;
    return this.tracked(() => this.currentScan());
  }

  /**
   * Reads every model (the scan is cached) and maps model 1 and the rest to a description. With
   * `pollModels`, the adapter is a view of part of the unit (e.g. the meter models of an inverter's
   * unit), so class and capabilities come from those models only.
   */
  async describe(): Promise<DeviceDescription> {
    return this.tracked(async () => {
      const all = await this.withScan((scan) => readModels(this.transport, this.unit, scan));
      const view = this.options.pollModels;
      const models = view ? all.filter((m) => m.id === 1 || view.includes(m.id)) : all;
      const deviceClass = this.options.deviceClass ?? classify(models);
      this.deviceClass = deviceClass;
      return { class: deviceClass, ...commonFields(models), capabilities: capabilitiesOf(models) };
    });
  }

  async poll(at: number): Promise<Reading[]> {
    return this.tracked(async () => {
      const ids = this.options.pollModels ?? SUNSPEC_POLL_MODELS;
      const models = await this.withScan((scan) => readModels(this.transport, this.unit, scan, { ids }));
      return readingsOf(this.deviceId, models, at, {
        ...(this.deviceClass !== undefined ? { deviceClass: this.deviceClass } : {}),
        ...(this.options.quirks ? { quirks: this.options.quirks } : {}),
      });
    });
  }

  /**
   * Plans, writes and reads back (applySetpoint). Resolves with the primary point as read back,
   * in the setpoint's unit; a refused or ignored write rejects with GW_ERR_DEVICE_REJECTED. Only
   * failures to talk to the device count against its health: a refusal is an answer.
   */
  async apply(setpoint: Setpoint): Promise<ApplyOutcome> {
    const result = await this.tracked(
      () => this.withScan((scan) => applySetpoint(this.transport, this.unit, scan, setpoint, { now: this.now() })),
      (error) => error.code === 'GW_ERR_DEVICE_UNREACHABLE' || error.code === 'GW_ERR_DEVICE_PROTOCOL',
    );
    if (!result.confirmed || result.value === null) {
      throw new GridseamError(
        'GW_ERR_DEVICE_REJECTED',
        `unit ${this.unit}: ${setpoint.kind} ${setpoint.value} was not confirmed (no read-back value)`,
        { details: { unit: this.unit, kind: setpoint.kind } },
      );
    }
    const detail = result.readBack.map((e) => `${e.modelId}.${e.path}=${e.read ?? 'null'}`).join(' ');
    return { readBack: { at: this.now(), value: result.value }, detail: detail.slice(0, 1024) };
  }

  async close(): Promise<void> {
    if (this.options.ownsTransport) await this.transport.close();
  }

  private async currentScan(): Promise<ScanResult> {
    this.scanResult ??= await scanSunSpec(this.transport, this.unit, {
      ...(this.options.bases ? { bases: this.options.bases } : {}),
    });
    return this.scanResult;
  }

  /** Runs with the cached scan; a protocol error (e.g. the map changed) drops it so the next call rescans. */
  private async withScan<T>(run: (scan: ScanResult) => Promise<T>): Promise<T> {
    try {
      return await run(await this.currentScan());
    } catch (error) {
      if (GridseamError.is(error) && error.code === 'GW_ERR_DEVICE_PROTOCOL') this.scanResult = undefined;
      throw error;
    }
  }

  /** Counts the call's outcome towards health; `counts` says which failures are the device's fault. */
  private async tracked<T>(run: () => Promise<T>, counts: (error: GridseamError) => boolean = () => true): Promise<T> {
    try {
      const value = await run();
      this.failures = 0;
      this.lastFailure = undefined;
      return value;
    } catch (error) {
      const failure = GridseamError.is(error)
        ? error
        : new GridseamError('GW_ERR_INTERNAL', `unit ${this.unit}: ${String(error)}`, { cause: error });
      if (counts(failure)) {
        this.failures++;
        this.lastFailure = failure;
      }
      throw failure;
    }
  }
}

/** Model 1 (common) strings as description fields; absent when unimplemented or empty. */
function commonFields(
  models: readonly DecodedModel[],
): Pick<DeviceDescription, 'manufacturer' | 'model' | 'serial' | 'firmware'> {
  const common = models.find((m) => m.id === 1);
  const text = (name: string): string | undefined => {
    const value = common?.points[name];
    // The canonical Device caps these at 128 characters; SunSpec strings are at most 32.
    return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, 128) : undefined;
  };
  const fields: Pick<DeviceDescription, 'manufacturer' | 'model' | 'serial' | 'firmware'> = {};
  const manufacturer = text('Mn');
  const model = text('Md');
  const serial = text('SN');
  const firmware = text('Vr');
  if (manufacturer !== undefined) fields.manufacturer = manufacturer;
  if (model !== undefined) fields.model = model;
  if (serial !== undefined) fields.serial = serial;
  if (firmware !== undefined) fields.firmware = firmware;
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Connections and discovery

export type SunSpecConnectionOptions = Omit<ModbusTcpOptions, 'host' | 'port'>;

/**
 * One Modbus TCP transport per host:port, shared by every unit behind it (a gateway address
 * carries several unit ids; its requests are serialised on the one connection). A failed open is
 * not remembered, so the next `get` tries again; an open transport reconnects by itself.
 */
export class SunSpecConnections {
  private readonly open = new Map<string, Promise<ModbusTransport>>();
  private closed = false;

  constructor(
    private readonly options: SunSpecConnectionOptions = {},
    private readonly connect: (options: ModbusTcpOptions) => Promise<ModbusTransport> = openModbusTcp,
  ) {}

  /** The shared transport of host:port, opening it on first use. */
  get(host: string, port: number): Promise<ModbusTransport> {
    if (this.closed)
      return Promise.reject(new GridseamError('GW_ERR_DEVICE_UNREACHABLE', 'the connections are closed'));
    const key = `${host}:${port}`;
    let transport = this.open.get(key);
    if (!transport) {
      transport = this.connect({ ...this.options, host, port });
      this.open.set(key, transport);
      transport.then(
        (opened) => {
          // Closed while opening: nobody will close it later.
          if (this.closed) void opened.close();
        },
        () => {
          if (this.open.get(key) === transport) this.open.delete(key);
        },
      );
    }
    return transport;
  }

  /** Number of host:port connections opened or opening. */
  get size(): number {
    return this.open.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.open.values()];
    this.open.clear();
    await Promise.all(
      pending.map((p) =>
        p.then(
          (transport) => transport.close(),
          () => undefined,
        ),
      ),
    );
  }
}

export interface DiscoveredUnit {
  unit: number;
  adapter: SunSpecAdapter;
  description: DeviceDescription;
}

export interface DiscoverOptions extends Omit<SunSpecAdapterOptions, 'deviceId' | 'transport' | 'unit'> {
  /** The device id to give the unit found at `unit`. */
  deviceIdOf: (unit: number) => string;
  /** Told about every unit that did not answer as a SunSpec device (for the log). */
  onSkip?: (unit: number, error: GridseamError) => void;
}

/**
 * Probes each unit id behind one transport and keeps those that answer with a SunSpec map the
 * canonical model can describe. A unit that is absent (exception 11, timeout), answers without
 * 'SunS', or has no inverter/storage/meter model is skipped. Units are probed one after another:
 * they share the connection anyway, and an absent unit then costs its own timeout only.
 */
export async function discoverSunSpec(
  transport: ModbusTransport,
  units: readonly number[],
  options: DiscoverOptions,
): Promise<DiscoveredUnit[]> {
  const { deviceIdOf, onSkip, ...adapterOptions } = options;
  const found: DiscoveredUnit[] = [];
  for (const unit of units) {
    const adapter = new SunSpecAdapter({ ...adapterOptions, deviceId: deviceIdOf(unit), transport, unit });
    try {
      found.push({ unit, adapter, description: await adapter.describe() });
    } catch (error) {
      onSkip?.(unit, GridseamError.is(error) ? error : new GridseamError('GW_ERR_INTERNAL', String(error)));
    }
  }
  return found;
}
