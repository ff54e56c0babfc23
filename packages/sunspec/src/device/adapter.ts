/**
 * The SunSpec device edge behind the canonical DeviceAdapter contract (@gridseam/model): one
 * Modbus unit as one canonical device. The scan is done once and kept; a protocol error (e.g. the
 * register map changed) drops it so the next call rescans. The transport may be shared by several
 * units behind one gateway address, so close() leaves it open unless the adapter owns it.
 */
import type { ApplyOutcome, DeviceAdapter, DeviceClass, DeviceDescription, Reading, Setpoint } from '@gridseam/model';
import { GridseamError } from '@gridseam/model';
import type { ModbusTransport } from '../modbus/transport.ts';
import { applySetpoint } from './apply.ts';
import { capabilitiesOf, classify, type ReadingQuirks, readingsOf } from './canonical.ts';
import { readModels } from './read.ts';
import { type ScanResult, scanSunSpec } from './scan.ts';

/** Models a poll reads by default: the ones readingsOf maps (no common model, curves or settings). */
export const POLL_MODELS: readonly number[] = [
  101, 102, 103, 111, 112, 113, 122, 124, 201, 202, 203, 204, 211, 212, 213, 214, 701, 702, 713, 802,
];

export interface SunSpecAdapterOptions {
  deviceId: string;
  transport: ModbusTransport;
  unit: number;
  /** Base addresses to probe (default 40000, 0, 50000). */
  bases?: readonly number[];
  /**
   * Models to read per poll (default POLL_MODELS). When given, describe() also classifies and derives
   * capabilities from these models only: e.g. [203] makes a meter of the meter on an inverter's unit.
   */
  pollModels?: readonly number[];
  /** The class to report instead of the one derived from the models. */
  deviceClass?: DeviceClass;
  quirks?: ReadingQuirks;
  /** close() also closes the transport (default false). */
  ownsTransport?: boolean;
  /** Clock for read-back stamps and reversion timers; default Date.now. */
  now?: () => number;
}

export class SunSpecAdapter implements DeviceAdapter {
  readonly deviceId: string;
  private scan: ScanResult | undefined;
  private deviceClass: DeviceClass | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SunSpecAdapterOptions) {
    this.deviceId = options.deviceId;
    this.deviceClass = options.deviceClass;
    this.now = options.now ?? Date.now;
  }

  /** The last scan (undefined before the first call or after a protocol error). */
  get lastScan(): ScanResult | undefined {
    return this.scan;
  }

  async describe(): Promise<DeviceDescription> {
    const models = await this.guard(async (scan) => readModels(this.options.transport, this.options.unit, scan));
    const pollIds = this.options.pollModels;
    const relevant = pollIds ? models.filter((m) => pollIds.includes(m.id)) : models;
    this.deviceClass = this.options.deviceClass ?? classify(relevant);
    const description: DeviceDescription = { class: this.deviceClass, capabilities: capabilitiesOf(relevant) };
    const common = models.find((m) => m.id === 1);
    const text = (name: string) => {
      const value = common?.points[name];
      return typeof value === 'string' && value !== '' ? value.slice(0, 128) : undefined;
    };
    const fields = { manufacturer: text('Mn'), model: text('Md'), serial: text('SN'), firmware: text('Vr') };
    for (const [key, value] of Object.entries(fields))
      if (value !== undefined) Object.assign(description, { [key]: value });
    return description;
  }

  async poll(at: number): Promise<Reading[]> {
    const ids = this.options.pollModels ?? POLL_MODELS;
    const models = await this.guard((scan) => readModels(this.options.transport, this.options.unit, scan, { ids }));
    return readingsOf(this.deviceId, models, at, {
      ...(this.deviceClass !== undefined ? { deviceClass: this.deviceClass } : {}),
      ...(this.options.quirks ? { quirks: this.options.quirks } : {}),
    });
  }

  async apply(setpoint: Setpoint): Promise<ApplyOutcome> {
    const result = await this.guard((scan) =>
      applySetpoint(this.options.transport, this.options.unit, scan, setpoint, { now: this.now() }),
    );
    if (result.value === null) {
      throw new GridseamError('GW_ERR_DEVICE_REJECTED', `${setpoint.kind}: no read-back value`);
    }
    const detail = result.readBack.map((e) => `${e.modelId}.${e.path}=${e.read}`).join(' ');
    return { readBack: { at: this.now(), value: result.value }, detail: detail.slice(0, 1024) };
  }

  async close(): Promise<void> {
    if (this.options.ownsTransport) await this.options.transport.close();
  }

  /** Runs with a scan, scanning first if needed; a protocol error forgets the scan. */
  private async guard<T>(run: (scan: ScanResult) => Promise<T>): Promise<T> {
    try {
      this.scan ??= await scanSunSpec(this.options.transport, this.options.unit, {
        ...(this.options.bases ? { bases: this.options.bases } : {}),
      });
      return await run(this.scan);
    } catch (error) {
      if (GridseamError.is(error) && error.code === 'GW_ERR_DEVICE_PROTOCOL') this.scan = undefined;
      throw error;
    }
  }
}
