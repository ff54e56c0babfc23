/**
 * battery: an AC-coupled battery inverter. Models 1, 701, 702, 704, 713, 802, 124, end.
 * The pack integrates AC power with round-trip efficiency inside the SoC window; the command comes
 * from 704 WSet, else 124 StorCtl_Mod (see storage.ts for the exact rules), else idle.
 */
import { DeviceBase } from '../device.ts';
import { BatteryPack, unitVariation } from '../physics.ts';
import type { RegisterMap, RegisterMapOptions } from '../register-map.ts';
import {
  AcMeasurementWriter,
  buildMap,
  commonModel,
  type TimedReversion,
  writeIdentity,
  writeRemaining,
} from './shared.ts';
import {
  addStorageReversions,
  initialSoc,
  StorageControls,
  type StorageOptions,
  type StorageParams,
  storageInverterLimits,
  storageInverterModels,
  storageParams,
} from './storage.ts';

export const BATTERY_SERIAL_PREFIX = 'SIMBAT';

export function batteryTemplate(options: StorageOptions, mapOptions: RegisterMapOptions): RegisterMap {
  const p = storageParams(options);
  const ratedW = Math.max(p.maxChargeW, p.maxDischargeW);
  return buildMap([commonModel('SimBattery', BATTERY_SERIAL_PREFIX, 0), ...storageInverterModels(p, ratedW)], {
    ...mapOptions,
    limits: storageInverterLimits(p, ratedW, mapOptions.limits),
  });
}

export class Battery extends DeviceBase {
  readonly profile = 'battery' as const;
  readonly params: StorageParams;
  readonly ratedW: number;
  readonly pack: BatteryPack;
  readonly serialNumber: string;
  whInjected: number;
  whAbsorbed: number;
  private readonly controls: StorageControls;
  private readonly ac: AcMeasurementWriter;
  private readonly remaining: TimedReversion[];

  constructor(unit: number, map: RegisterMap, startMs: number, options: StorageOptions = {}) {
    super(unit, map, startMs);
    this.params = storageParams(options);
    this.ratedW = Math.max(this.params.maxChargeW, this.params.maxDischargeW);
    this.pack = new BatteryPack(this.params, initialSoc(options, unit));
    this.serialNumber = writeIdentity(map, BATTERY_SERIAL_PREFIX, unit);
    const v = unitVariation(unit);
    this.whInjected = Math.round(1_000_000 * v);
    this.whAbsorbed = Math.round(1_100_000 * v);
    this.controls = new StorageControls(map, this.params);
    this.ac = new AcMeasurementWriter(map);
    this.remaining = addStorageReversions(this);
    this.advance(startMs, startMs);
  }

  get socPct(): number {
    return this.pack.socPct;
  }

  protected advance(fromMs: number, toMs: number): void {
    const { minPct, maxPct } = this.controls.socWindow();
    const command = this.controls.commandW(0);
    const step = this.pack.step(command, toMs - fromMs, minPct, maxPct);
    if (step.acWh > 0) this.whInjected += step.acWh;
    else this.whAbsorbed -= step.acWh;
    const w = step.endW;
    this.acPowerW = w;
    const connected = this.controls.connected();
    this.controls.write(this.pack, w, toMs);
    this.ac.write({
      phases: 3,
      w,
      var: 0,
      whInjected: this.whInjected,
      whAbsorbed: this.whAbsorbed,
      dcW: w,
      dcV: 400,
      tempC: 25 + (10 * Math.abs(w)) / this.params.maxDischargeW,
      st103: !connected ? 1 : w === 0 ? 8 : 4,
      invSt701: !connected ? 0 : w === 0 ? 7 : 3,
      connected,
      throttlePct: 0,
      throttleSources: 0,
    });
    writeRemaining(this.map, this.remaining, toMs);
  }
}
