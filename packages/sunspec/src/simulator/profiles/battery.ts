/**
 * battery: an AC-coupled battery inverter. Models 1, 701, 702, 704, 713, 802, 124, end.
 * The pack integrates AC power with round-trip efficiency inside the SoC window; the command comes
 * from 704 WSet, else 124 StorCtl_Mod (see storage.ts for the exact rules), else idle.
 */
import { DeviceBase, Reversion } from '../device.ts';
import type { PointSlot } from '../layout.ts';
import { BatteryPack, unitVariation } from '../physics.ts';
import type { RegisterMap, RegisterMapOptions } from '../register-map.ts';
import {
  AcMeasurementWriter,
  acControlLimits,
  acControlsModel,
  acMeasurementModel,
  buildMap,
  capacityLimits,
  capacityModel,
  commonModel,
  mergeLimits,
  serialNumber,
} from './shared.ts';
import {
  batteryModel,
  StorageControls,
  type StorageOptions,
  type StorageParams,
  storageCapacityModel,
  storageControlsModel,
  storageLimits,
  storageParams,
} from './storage.ts';

export const BATTERY_SERIAL_PREFIX = 'SIMBAT';

export function batteryTemplate(options: StorageOptions, mapOptions: RegisterMapOptions): RegisterMap {
  const p = storageParams(options);
  const ratedW = Math.max(p.maxChargeW, p.maxDischargeW);
  const capacity = { ratedW, phases: 3 as const, maxChargeW: p.maxChargeW, maxDischargeW: p.maxDischargeW };
  return buildMap(
    [
      commonModel('SimBattery', BATTERY_SERIAL_PREFIX, 0),
      acMeasurementModel(3),
      capacityModel(capacity),
      acControlsModel(),
      storageCapacityModel(p),
      batteryModel(p),
      storageControlsModel(p),
    ],
    {
      ...mapOptions,
      limits: mergeLimits(
        capacityLimits(capacity),
        acControlLimits(ratedW),
        storageLimits(p),
        mapOptions.limits ? { ...mapOptions.limits } : {},
      ),
    },
  );
}

/** The initial SoC of a unit: the option, else 30..70 % varying by unit id. */
export function initialSoc(options: StorageOptions, unit: number): number {
  return options.initialSocPct ?? Math.round(30 + 40 * unitVariation(unit));
}

/** 704 WSet and WMaxLimPct reversions, and 124 InOutWRte_RvrtTms (StorCtl_Mod back to 0). */
export function addStorageReversions(device: DeviceBase): [Reversion, PointSlot][] {
  const { map } = device;
  const remaining: [Reversion, PointSlot][] = [
    [
      device.add704Reversion('WMaxLimPctEna', 'WMaxLimPctEnaRvrt', 'WMaxLimPctRvrtTms', [
        ['WMaxLimPct', 'WMaxLimPctRvrt'],
      ]),
      map.point(704, 'WMaxLimPctRvrtRem'),
    ],
    [
      device.add704Reversion('WSetEna', 'WSetEnaRvrt', 'WSetRvrtTms', [
        ['WSet', 'WSetRvrt'],
        ['WSetPct', 'WSetPctRvrt'],
      ]),
      map.point(704, 'WSetRvrtRem'),
    ],
  ];
  const mode = map.point(124, 'StorCtl_Mod');
  const tms = map.point(124, 'InOutWRte_RvrtTms');
  device.addReversion(
    new Reversion(
      'StorCtl_Mod',
      [mode, tms, map.point(124, 'InWRte'), map.point(124, 'OutWRte')],
      () => map.get(tms) ?? 0,
      () => map.getRaw(mode) !== 0,
      () => map.setRaw(mode, 0),
    ),
  );
  return remaining;
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
  private readonly remaining: [Reversion, PointSlot][];

  constructor(unit: number, map: RegisterMap, startMs: number, options: StorageOptions = {}) {
    super(unit, map, startMs);
    this.params = storageParams(options);
    this.ratedW = Math.max(this.params.maxChargeW, this.params.maxDischargeW);
    this.pack = new BatteryPack(this.params, initialSoc(options, unit));
    this.serialNumber = serialNumber(BATTERY_SERIAL_PREFIX, unit);
    map.setString(map.point(1, 'SN'), this.serialNumber);
    map.setRaw(map.point(1, 'DA'), unit);
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
    for (const [reversion, slot] of this.remaining) this.map.setRaw(slot, reversion.remainingSeconds(toMs));
  }
}
