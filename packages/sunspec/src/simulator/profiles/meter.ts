/**
 * meter: a three-phase wye site meter. Models 1, 203, end.
 *
 * W = site load - sum of the AC power of the devices it meters (positive = import from the grid,
 * the usual meter sign; the inverters' W is positive for export). The load follows a household
 * profile (physics.ts). The metered devices are set by the simulator (`meter` with a site); a meter
 * alone measures the load only. Phases share the power equally. `acPowerW` of a meter is the
 * export at the meter (-W), in the inverters' sign. Its energy counters are approximate between polls.
 */
import { DeviceBase, type SimulatedDevice } from '../device.ts';
import type { PointSlot } from '../layout.ts';
import { HOUR_MS, hourOfDay, siteLoadW, unitVariation } from '../physics.ts';
import type { RegisterMap, RegisterMapOptions } from '../register-map.ts';
import {
  buildMap,
  commonModel,
  group,
  integrateMinutes,
  NOMINAL_HZ,
  NOMINAL_LINE_V,
  NOMINAL_PHASE_V,
  writeIdentity,
} from './shared.ts';

export interface MeterOptions {
  /** Multiplies the household load profile (default 0.8..1.2 varying by unit). */
  loadScale?: number;
  utcOffsetMinutes?: number;
}

export const METER_SERIAL_PREFIX = 'SIMMTR';

/**
 * What a meter measures of a device: its AC power (inverter sign) after a tick, and its rating. A
 * simulated unit is one; so is a load simulated elsewhere (an EV charger behind the same meter).
 */
export type MeteredDevice = Pick<SimulatedDevice, 'acPowerW' | 'ratedW' | 'tick'>;

export function meterTemplate(_options: MeterOptions, mapOptions: RegisterMapOptions): RegisterMap {
  return buildMap(
    [
      commonModel('SimMeter-3ph', METER_SERIAL_PREFIX, 0),
      {
        id: 203,
        values: group({
          A_SF: -2,
          V_SF: -1,
          Hz_SF: -2,
          W_SF: 0,
          VA_SF: 0,
          VAR_SF: 0,
          PF_SF: -1,
          TotWhExp: 0,
          TotWhImp: 0,
          TotWh_SF: 0,
          Evt: 0,
        }),
      },
    ],
    mapOptions,
  );
}

/** The smallest scale factor >= `min` that fits `maxAbs` into an int16. */
function int16Sf(maxAbs: number, min: number): number {
  let sf = min;
  while (maxAbs / 10 ** sf > 32_000) sf++;
  return sf;
}

export class Meter extends DeviceBase {
  readonly profile = 'meter' as const;
  readonly ratedW = 0;
  readonly loadScale: number;
  readonly serialNumber: string;
  /** Site load at the last tick, W. */
  loadW = 0;
  /** Energy imported / exported at the meter, Wh. */
  whImported: number;
  whExported: number;
  private site: readonly MeteredDevice[] = [];
  private readonly s: Record<string, PointSlot>;
  private readonly utcOffsetMinutes: number;

  constructor(unit: number, map: RegisterMap, startMs: number, options: MeterOptions = {}) {
    super(unit, map, startMs);
    const v = unitVariation(unit);
    this.loadScale = options.loadScale ?? 0.8 + 0.4 * v;
    this.utcOffsetMinutes = options.utcOffsetMinutes ?? 0;
    this.serialNumber = writeIdentity(map, METER_SERIAL_PREFIX, unit);
    this.whImported = Math.round(20_000_000 * v);
    this.whExported = Math.round(5_000_000 * v);
    const names = ['A', 'AphA', 'AphB', 'AphC', 'PhV', 'PhVphA', 'PhVphB', 'PhVphC', 'PPV', 'PhVphAB', 'PhVphBC'];
    const more = ['PhVphCA', 'Hz', 'W', 'WphA', 'WphB', 'WphC', 'VA', 'VAphA', 'VAphB', 'VAphC', 'VAR', 'VARphA'];
    const rest = ['VARphB', 'VARphC', 'PF', 'PFphA', 'PFphB', 'PFphC', 'TotWhExp', 'TotWhImp', 'W_SF', 'VA_SF', 'A_SF'];
    this.s = Object.fromEntries([...names, ...more, ...rest].map((n) => [n, map.point(203, n)]));
    this.advance(startMs, startMs);
  }

  /** Sets the devices this meter measures (other units of the same simulator, or loads simulated elsewhere). */
  meter(devices: readonly MeteredDevice[]): void {
    this.site = devices.filter((d) => d !== this);
    // The power range decides the scale factors once (int16 W: about 32 kW at W_SF 0).
    let maxW = siteLoadW(19, this.loadScale) * 1.5;
    for (const d of this.site) maxW += d.ratedW;
    const m = this.map;
    const wsf = int16Sf(maxW, 0);
    m.setRaw(this.s.W_SF!, wsf);
    m.setRaw(this.s.VA_SF!, wsf);
    m.setRaw(this.map.point(203, 'VAR_SF'), wsf);
    m.setRaw(this.s.A_SF!, int16Sf(maxW / NOMINAL_PHASE_V, -2));
    this.advance(this.nowMs, this.nowMs);
  }

  get metered(): readonly MeteredDevice[] {
    return this.site;
  }

  loadAt(simMs: number): number {
    return siteLoadW(hourOfDay(simMs, this.utcOffsetMinutes), this.loadScale);
  }

  protected advance(fromMs: number, toMs: number): void {
    let devicesW = 0;
    for (const d of this.site) {
      d.tick(toMs);
      devicesW += d.acPowerW;
    }
    if (toMs > fromMs) {
      // The devices' power over the interval is taken as its end value: the load is integrated on
      // the minute grid, the devices' contribution is an approximation between polls.
      const loadWh = integrateMinutes(fromMs, toMs, (t) => this.loadAt(t));
      const netWh = loadWh - (devicesW * (toMs - fromMs)) / HOUR_MS;
      if (netWh > 0) this.whImported += netWh;
      else this.whExported -= netWh;
    }
    const load = this.loadAt(toMs);
    this.loadW = load;
    const w = load - devicesW;
    this.acPowerW = -w;
    const var_ = 0.2 * load;
    const va = Math.hypot(w, var_);
    const pf = va === 0 ? 100 : (100 * w) / va;
    const m = this.map;
    const s = this.s;
    const phaseA = va / 3 / NOMINAL_PHASE_V;
    m.set(s.A!, Math.sign(w) * phaseA * 3);
    for (const ph of ['A', 'B', 'C']) {
      m.set(s[`Aph${ph}`]!, Math.sign(w) * phaseA);
      m.set(s[`PhVph${ph}`]!, NOMINAL_PHASE_V);
      m.set(s[`Wph${ph}`]!, w / 3);
      m.set(s[`VAph${ph}`]!, va / 3);
      m.set(s[`VARph${ph}`]!, var_ / 3);
      m.set(s[`PFph${ph}`]!, pf);
    }
    m.set(s.PhV!, NOMINAL_PHASE_V);
    m.set(s.PPV!, NOMINAL_LINE_V);
    m.set(s.PhVphAB!, NOMINAL_LINE_V);
    m.set(s.PhVphBC!, NOMINAL_LINE_V);
    m.set(s.PhVphCA!, NOMINAL_LINE_V);
    m.set(s.Hz!, NOMINAL_HZ);
    m.set(s.W!, w);
    m.set(s.VA!, va);
    m.set(s.VAR!, var_);
    m.set(s.PF!, pf);
    m.setRaw(s.TotWhImp!, Math.floor(this.whImported) % 4294967296);
    m.setRaw(s.TotWhExp!, Math.floor(this.whExported) % 4294967296);
  }
}
