/**
 * pv-inverter: a three-phase PV inverter with IEEE 1547-2018 controls.
 * Models 1, 103, 120, 123, 701, 702, 704, end.
 *
 * Production follows a clear-sky day (physics.ts) scaled to the unit's peak, capped by the active
 * power limit: 704 WMaxLimPct when WMaxLimPctEna, else 123 WMaxLimPct when WMaxLim_Ena, of 702
 * WMax; 704 WSet (when WSetEna) caps it further; 123 Conn = DISCONNECT stops it. Ramp times are not
 * simulated (limits act at once).
 */

import { DeviceBase } from '../device.ts';
import type { PointSlot } from '../layout.ts';
import { type SolarDay, unitVariation } from '../physics.ts';
import type { RegisterMap, RegisterMapOptions } from '../register-map.ts';
import {
  AcMeasurementWriter,
  type AcOutputs,
  acControlLimits,
  acControlsModel,
  acMeasurementModel,
  add123Reversions,
  add704Reversions,
  buildMap,
  capacityLimits,
  capacityModel,
  clearSkyW,
  commonModel,
  InverterModelWriter,
  immediateControlsModel,
  inverterModel,
  invStFrom103,
  mergeLimits,
  nameplateModel,
  pvTick,
  type TimedReversion,
  writeIdentity,
  writeRemaining,
} from './shared.ts';

export interface PvOptions {
  /** AC rating, W (default 10,000). */
  ratedW?: number;
  /** Clear-sky peak as a fraction of the rating; default 0.85..0.95 varying by unit. */
  peakFraction?: number;
  utcOffsetMinutes?: number;
  solarDay?: SolarDay;
}

export const PV_SERIAL_PREFIX = 'SIMPV';

export function pvInverterTemplate(options: PvOptions, mapOptions: RegisterMapOptions): RegisterMap {
  const ratedW = options.ratedW ?? 10_000;
  const capacity = { ratedW, phases: 3 as const };
  return buildMap(
    [
      commonModel('SimPV-3ph', PV_SERIAL_PREFIX, 0),
      inverterModel(103),
      nameplateModel(4, ratedW, 3),
      immediateControlsModel(),
      acMeasurementModel(3),
      capacityModel(capacity),
      acControlsModel(),
    ],
    { ...mapOptions, limits: mergeLimits(capacityLimits(capacity), acControlLimits(ratedW), mapOptions.limits ?? {}) },
  );
}

/** The active power limit (W) of models 704, 123 and 702, and which 701 ThrotSrc bits it sets. */
export interface PowerLimit {
  limitW: number;
  sources: number;
}

/** Slots and rules of the active-power controls shared by PV, hybrid and legacy inverters. */
export class PowerControls {
  readonly wmax: PointSlot;
  private readonly c704: Record<string, PointSlot> | undefined;
  private readonly c123: Record<string, PointSlot> | undefined;

  constructor(
    private readonly map: RegisterMap,
    wmaxModel: 702 | 121,
  ) {
    this.wmax = map.point(wmaxModel, 'WMax');
    const pick = (model: number, names: string[]): Record<string, PointSlot> | undefined =>
      map.layout.findPoint(model, names[0]!) === undefined
        ? undefined
        : Object.fromEntries(names.map((n) => [n, map.point(model, n)]));
    this.c704 = pick(704, [
      'WMaxLimPctEna',
      'WMaxLimPct',
      'WSetEna',
      'WSetMod',
      'WSet',
      'WSetPct',
      'PFWInjEna',
      'PFWInj.PF',
      'PFWInj.Ext',
    ]);
    this.c123 = pick(123, ['Conn', 'WMaxLim_Ena', 'WMaxLimPct', 'OutPFSet_Ena', 'OutPFSet']);
  }

  /** 123 Conn; true when the device has no model 123. */
  connected(): boolean {
    return this.c123 === undefined || this.map.getRaw(this.c123.Conn!) !== 0;
  }

  /**
   * The cap on exported power, W: WMax, then the 704 (else 123) percentage limit, then (unless
   * `withFixed` is false) 704 WSet.
   */
  exportLimit(withFixed = true): PowerLimit {
    const m = this.map;
    const wmax = m.get(this.wmax) ?? 0;
    let limitW = wmax;
    let sources = 0;
    const c704 = this.c704;
    const c123 = this.c123;
    if (c704 !== undefined && m.getRaw(c704.WMaxLimPctEna!) === 1) {
      limitW = Math.min(limitW, ((m.get(c704.WMaxLimPct!) ?? 100) / 100) * wmax);
      sources |= 1;
    } else if (c123 !== undefined && m.getRaw(c123.WMaxLim_Ena!) === 1) {
      limitW = Math.min(limitW, ((m.get(c123.WMaxLimPct!) ?? 100) / 100) * wmax);
      sources |= 1;
    }
    const fixed = withFixed ? this.fixedW() : undefined;
    if (fixed !== undefined) {
      limitW = Math.min(limitW, Math.max(0, fixed));
      sources |= 2;
    }
    return { limitW, sources };
  }

  /** 704 WSet (WATTS) or WSetPct of WMax (W_MAX_PCT) when WSetEna; positive = export. */
  fixedW(): number | undefined {
    const m = this.map;
    const c = this.c704;
    if (c === undefined || m.getRaw(c.WSetEna!) !== 1) return undefined;
    if (m.getRaw(c.WSetMod!) === 1) return m.get(c.WSet!) ?? 0;
    return ((m.get(c.WSetPct!) ?? 0) / 100) * (m.get(this.wmax) ?? 0);
  }

  /** Reactive power for a fixed power factor (704 PFWInj, else 123 OutPFSet), else 0. */
  reactiveW(w: number): number {
    const m = this.map;
    let pf: number | undefined;
    let sign = 1;
    if (this.c704 !== undefined && m.getRaw(this.c704.PFWInjEna!) === 1) {
      pf = m.get(this.c704['PFWInj.PF']!) ?? 1;
      sign = m.getRaw(this.c704['PFWInj.Ext']!) === 1 ? -1 : 1; // UNDER_EXCITED absorbs vars
    } else if (this.c123 !== undefined && m.getRaw(this.c123.OutPFSet_Ena!) === 1) {
      const set = m.get(this.c123.OutPFSet!) ?? 1;
      pf = Math.abs(set);
      sign = set < 0 ? -1 : 1;
    }
    if (pf === undefined || pf <= 0 || pf >= 1) return 0;
    return sign * Math.abs(w) * Math.tan(Math.acos(pf));
  }
}

export class PvInverter extends DeviceBase {
  readonly profile = 'pv-inverter' as const;
  readonly ratedW: number;
  readonly peakW: number;
  readonly serialNumber: string;
  /** Power the array could give at the last tick, before limits (W). */
  availableW = 0;
  whInjected: number;
  private readonly controls: PowerControls;
  private readonly inverter: InverterModelWriter;
  private readonly ac: AcMeasurementWriter;
  private readonly remaining: TimedReversion[];
  private readonly options: PvOptions;

  constructor(unit: number, map: RegisterMap, startMs: number, options: PvOptions = {}) {
    super(unit, map, startMs);
    const v = unitVariation(unit);
    this.ratedW = options.ratedW ?? 10_000;
    this.peakW = this.ratedW * (options.peakFraction ?? 0.85 + 0.1 * v);
    this.options = options;
    this.serialNumber = writeIdentity(map, PV_SERIAL_PREFIX, unit);
    this.whInjected = Math.round(5_000_000 + 1_000_000 * v);
    this.controls = new PowerControls(map, 702);
    this.inverter = new InverterModelWriter(map, 103);
    this.ac = new AcMeasurementWriter(map);
    this.remaining = add704Reversions(this, ['WMaxLimPct', 'WSet', 'PFWInj']);
    add123Reversions(this);
    this.advance(startMs, startMs);
  }

  /** Power the array gives at a simulated time, before limits. */
  availableAt(simMs: number): number {
    return clearSkyW(this.peakW, simMs, this.options);
  }

  protected advance(fromMs: number, toMs: number): void {
    const tick = pvTick(this.controls, fromMs, toMs, (t) => this.availableAt(t));
    const { connected, w, throttled, availableW: available } = tick;
    this.whInjected += tick.wh;
    this.availableW = available;
    this.acPowerW = w;
    const out: AcOutputs = {
      phases: 3,
      w,
      var: this.controls.reactiveW(w),
      whInjected: this.whInjected,
      whAbsorbed: 0,
      dcW: available > 0 && connected ? w / 0.97 : 0,
      dcV: available > 0 ? 600 : 0,
      tempC: 25 + (15 * w) / this.ratedW,
      st103: tick.st103,
      invSt701: invStFrom103(tick.st103),
      connected,
      throttlePct: throttled ? (100 * (available - w)) / available : 0,
      throttleSources: throttled ? tick.sources : 0,
    };
    this.inverter.write(out, false);
    this.ac.write(out);
    writeRemaining(this.map, this.remaining, toMs);
  }
}
