/**
 * hybrid: PV and a battery behind one three-phase inverter.
 * Models 1, 103, 701, 702, 704, 713, 802, 124, 160 (two MPPT modules), end.
 *
 * AC power = PV + battery (positive = export). The battery follows 124 StorCtl_Mod (storage.ts) or
 * idles; 704 WSet (when WSetEna) sets the AC power instead: the battery makes up the difference to
 * the PV, and PV is curtailed when the battery cannot absorb the rest. The export cap (702 WMax,
 * 704 WMaxLimPct) curtails PV first, then battery discharge. The simulation steps on a one-minute
 * grid so results do not depend on how often the device is polled.
 */
import { DeviceBase } from '../device.ts';
import type { PointSlot } from '../layout.ts';
import { BatteryPack, HOUR_MS, unitVariation } from '../physics.ts';
import type { RegisterMap, RegisterMapOptions } from '../register-map.ts';
import { PowerControls, type PvOptions } from './pv-inverter.ts';
import {
  AcMeasurementWriter,
  buildMap,
  clearSkyW,
  commonModel,
  group,
  InverterModelWriter,
  inverterModel,
  invStFrom103,
  type ModelSpec,
  SUNSPEC_EPOCH_S,
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

export type HybridOptions = PvOptions & StorageOptions;

export const HYBRID_SERIAL_PREFIX = 'SIMHYB';
/** Share of the PV power on each MPPT input. */
const MODULE_SHARES = [0.55, 0.45] as const;
const MODULE_DCV = [380, 360] as const;

function mpptModel(): ModelSpec {
  const module = (i: number): ReturnType<typeof group> =>
    group({ ID: i + 1, IDStr: `PV${i + 1}`, Tmp: 30, DCSt: 2, DCEvt: 0, DCWH: 0 });
  return {
    id: 160,
    values: group(
      { DCA_SF: -2, DCV_SF: -1, DCW_SF: 0, DCWH_SF: 0, Evt: 0, N: MODULE_SHARES.length, TmsPer: 0 },
      { module: MODULE_SHARES.map((_, i) => module(i)) },
    ),
  };
}

export function hybridTemplate(options: HybridOptions, mapOptions: RegisterMapOptions): RegisterMap {
  const p = storageParams(options);
  const ratedW = options.ratedW ?? 8_000;
  return buildMap(
    [
      commonModel('SimHybrid', HYBRID_SERIAL_PREFIX, 0),
      inverterModel(103),
      ...storageInverterModels(p, ratedW),
      mpptModel(),
    ],
    { ...mapOptions, limits: storageInverterLimits(p, ratedW, mapOptions.limits) },
  );
}

interface Flows {
  pvW: number;
  batteryW: number;
  /** PV available before curtailment. */
  availableW: number;
  sources: number;
}

export class Hybrid extends DeviceBase {
  readonly profile = 'hybrid' as const;
  readonly ratedW: number;
  readonly peakW: number;
  readonly params: StorageParams;
  readonly pack: BatteryPack;
  readonly serialNumber: string;
  pvW = 0;
  batteryW = 0;
  availableW = 0;
  whInjected: number;
  whAbsorbed: number;
  private readonly moduleWh = [0, 0];
  private readonly power: PowerControls;
  private readonly storage: StorageControls;
  private readonly inverter: InverterModelWriter;
  private readonly ac: AcMeasurementWriter;
  private readonly remaining: TimedReversion[];
  private readonly modules: Record<string, PointSlot>[];
  private readonly options: HybridOptions;

  constructor(unit: number, map: RegisterMap, startMs: number, options: HybridOptions = {}) {
    super(unit, map, startMs);
    const v = unitVariation(unit);
    this.options = options;
    this.ratedW = options.ratedW ?? 8_000;
    this.peakW = this.ratedW * (options.peakFraction ?? 0.85 + 0.1 * v);
    this.params = storageParams(options);
    this.pack = new BatteryPack(this.params, initialSoc(options, unit));
    this.serialNumber = writeIdentity(map, HYBRID_SERIAL_PREFIX, unit);
    this.whInjected = Math.round(4_000_000 + 1_000_000 * v);
    this.whAbsorbed = Math.round(500_000 * v);
    this.power = new PowerControls(map, 702);
    this.storage = new StorageControls(map, this.params);
    this.inverter = new InverterModelWriter(map, 103);
    this.ac = new AcMeasurementWriter(map);
    this.remaining = addStorageReversions(this);
    this.modules = MODULE_SHARES.map((_, i) =>
      Object.fromEntries(
        ['DCA', 'DCV', 'DCW', 'DCWH', 'Tms', 'DCSt'].map((n) => [n, map.point(160, `module[${i}].${n}`)]),
      ),
    );
    this.advance(startMs, startMs);
  }

  get socPct(): number {
    return this.pack.socPct;
  }

  availableAt(simMs: number): number {
    return clearSkyW(this.peakW, simMs, this.options);
  }

  /** PV and battery power at a time, before the battery's SoC window (the step applies it). */
  private flows(simMs: number): Flows {
    const availableW = this.availableAt(simMs);
    const { limitW, sources } = this.power.exportLimit(false);
    const fixed = this.power.fixedW();
    let pvW = availableW;
    let batteryW: number;
    if (fixed !== undefined && this.storage.connected()) {
      batteryW = this.storage.clampW(fixed - pvW);
      if (pvW + batteryW > fixed) pvW = Math.max(0, fixed - batteryW);
    } else {
      batteryW = this.storage.commandW(0);
    }
    if (pvW + batteryW > limitW) {
      pvW = Math.max(0, Math.min(pvW, limitW - batteryW));
      if (pvW + batteryW > limitW) batteryW = limitW - pvW;
    }
    return { pvW, batteryW, availableW, sources: pvW < availableW ? sources | (fixed !== undefined ? 2 : 0) : 0 };
  }

  protected advance(fromMs: number, toMs: number): void {
    const { minPct, maxPct } = this.storage.socWindow();
    const STEP = 60_000;
    for (let t = fromMs; t < toMs; ) {
      const end = Math.min(Math.floor(t / STEP) * STEP + STEP, toMs);
      const f = this.flows(Math.floor(t / STEP) * STEP + STEP / 2);
      const hours = (end - t) / HOUR_MS;
      const step = this.pack.step(f.batteryW, end - t, minPct, maxPct);
      const acWh = f.pvW * hours + step.acWh;
      if (acWh > 0) this.whInjected += acWh;
      else this.whAbsorbed -= acWh;
      for (let i = 0; i < MODULE_SHARES.length; i++) this.moduleWh[i]! += f.pvW * MODULE_SHARES[i]! * hours;
      t = end;
    }
    const f = this.flows(toMs);
    const batteryW = this.pack.step(f.batteryW, 0, minPct, maxPct).endW;
    this.pvW = f.pvW;
    this.batteryW = batteryW;
    this.availableW = f.availableW;
    const w = f.pvW + batteryW;
    this.acPowerW = w;
    const producing = f.availableW > 0;
    const st = producing ? (f.pvW < f.availableW ? 5 : 4) : batteryW !== 0 ? 4 : 2;
    const out = {
      phases: 3 as const,
      w,
      var: this.power.reactiveW(w),
      whInjected: this.whInjected,
      whAbsorbed: this.whAbsorbed,
      dcW: f.pvW,
      dcV: producing ? MODULE_DCV[0] : 0,
      tempC: 25 + (15 * Math.abs(w)) / this.ratedW,
      st103: st,
      invSt701: invStFrom103(st),
      connected: true,
      throttlePct: f.pvW < f.availableW ? (100 * (f.availableW - f.pvW)) / f.availableW : 0,
      throttleSources: f.sources,
    };
    this.inverter.write(out, false);
    this.ac.write(out);
    this.storage.write(this.pack, batteryW, toMs);
    const m = this.map;
    const tms = Math.max(0, Math.floor(toMs / 1000) - SUNSPEC_EPOCH_S);
    this.modules.forEach((s, i) => {
      const dcW = f.pvW * MODULE_SHARES[i]!;
      const dcV = producing ? MODULE_DCV[i]! : 0;
      m.set(s.DCW!, dcW);
      m.set(s.DCV!, dcV);
      m.set(s.DCA!, dcV > 0 ? dcW / dcV : 0);
      m.setRaw(s.DCWH!, Math.floor(this.moduleWh[i]!) % 4294967296);
      m.setRaw(s.Tms!, tms);
      m.setRaw(s.DCSt!, !producing ? 2 : f.pvW < f.availableW ? 5 : 4);
    });
    writeRemaining(m, this.remaining, toMs);
  }
}
