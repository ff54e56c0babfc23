/**
 * Storage shared by the battery and hybrid profiles: models 713, 802 and 124, the battery command
 * from the controls, and the writers of the storage measurements.
 *
 * Command, positive = discharge (the SunSpec W sign), first match wins:
 * 1. 802 SetOp = DISCONNECT or SetInvState != INVERTER_STARTED: 0 W.
 * 2. 704 WSetEna: WSet (WSetMod WATTS) or WSetPct of 702 WMax (W_MAX_PCT).
 * 3. 124 StorCtl_Mod (bit 0 CHARGE, bit 1 DISCHARGE):
 *    CHARGE only: charge at InWRte % of WChaMax; DISCHARGE only: discharge at OutWRte % of the
 *    discharge limit; both: the autonomous power held inside [-InWRte %, +OutWRte %] (the way
 *    Fronius uses the two bits as a window; a negative percentage forces the other direction).
 * 4. Otherwise the autonomous power: 0 (idle).
 * Then the limits: charge <= min(702 WChaRteMax, 124 WChaMax), discharge <= 702 WDisChaRteMax and,
 * when 704 WMaxLimPctEna, <= WMaxLimPct % of WMax; and the SoC window
 * [max(802 SoCMin, 802 SoCRsvMin, 124 MinRsvPct), min(802 SoCMax, 802 SocRsvMax)].
 */
import { type DeviceBase, Reversion } from '../device.ts';
import type { PointLimits, PointSlot } from '../layout.ts';
import { type BatteryPack, unitVariation } from '../physics.ts';
import type { RegisterMap } from '../register-map.ts';
import {
  acControlLimits,
  acControlsModel,
  acMeasurementModel,
  add704Reversions,
  type CapacityRatings,
  capacityLimits,
  capacityModel,
  group,
  type ModelSpec,
  mergeLimits,
  type TimedReversion,
} from './shared.ts';

export interface StorageOptions {
  /** Usable capacity, Wh (default 10,000). */
  capacityWh?: number;
  /** Charge and discharge power limits, W (default 5,000 each). */
  maxChargeW?: number;
  maxDischargeW?: number;
  /** Round-trip efficiency (default 0.9). */
  roundTripEfficiency?: number;
  /** SoC at start, %; default 30..70 varying by unit. */
  initialSocPct?: number;
  /** The hardware SoC window, % (802 SoCMax / SoCMin; default 95 / 5). */
  socMaxPct?: number;
  socMinPct?: number;
  /** State of health, % (default 98). */
  sohPct?: number;
}

export interface StorageParams {
  capacityWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  roundTripEfficiency: number;
  socMaxPct: number;
  socMinPct: number;
  sohPct: number;
  nominalV: number;
}

export function storageParams(o: StorageOptions): StorageParams {
  return {
    capacityWh: o.capacityWh ?? 10_000,
    maxChargeW: o.maxChargeW ?? 5_000,
    maxDischargeW: o.maxDischargeW ?? 5_000,
    roundTripEfficiency: o.roundTripEfficiency ?? 0.9,
    socMaxPct: o.socMaxPct ?? 95,
    socMinPct: o.socMinPct ?? 5,
    sohPct: o.sohPct ?? 98,
    nominalV: 400,
  };
}

/** Model 713, DER storage capacity. */
export function storageCapacityModel(p: StorageParams): ModelSpec {
  return {
    id: 713,
    values: group({ WHRtg: p.capacityWh, SoH: p.sohPct, Sta: 0, WH_SF: 0, Pct_SF: -1 }),
  };
}

/** Model 802, battery base. */
export function batteryModel(p: StorageParams): ModelSpec {
  return {
    id: 802,
    values: group({
      AHRtg: Math.round(p.capacityWh / p.nominalV),
      WHRtg: p.capacityWh,
      WChaRteMax: p.maxChargeW,
      WDisChaRteMax: p.maxDischargeW,
      SoCMax: p.socMaxPct,
      SoCMin: p.socMinPct,
      SocRsvMax: p.socMaxPct,
      SoCRsvMin: p.socMinPct,
      SoH: p.sohPct,
      NCyc: 0,
      LocRemCtl: 0, // REMOTE
      Hb: 0,
      CtrlHb: 0,
      AlmRst: 0,
      Typ: 4, // LITHIUM_ION
      State: 3, // CONNECTED
      Evt1: 0,
      Evt2: 0,
      EvtVnd1: 0,
      EvtVnd2: 0,
      VMax: p.nominalV * 1.05,
      VMin: p.nominalV * 0.875,
      AChaMax: Math.round((p.maxChargeW / p.nominalV) * 10) / 10,
      ADisChaMax: Math.round((p.maxDischargeW / p.nominalV) * 10) / 10,
      ReqInvState: 0,
      ReqW: 0,
      SetOp: 1, // CONNECT
      SetInvState: 3, // INVERTER_STARTED
      AHRtg_SF: 0,
      WHRtg_SF: 0,
      WChaDisChaMax_SF: 0,
      SoC_SF: -1,
      DoD_SF: -1,
      SoH_SF: 0,
      V_SF: -1,
      CellV_SF: -3,
      A_SF: -1,
      AMax_SF: -1,
      W_SF: 0,
    }),
  };
}

/** Model 124, basic storage controls: no mode active, full rates. */
export function storageControlsModel(p: StorageParams): ModelSpec {
  return {
    id: 124,
    values: group({
      WChaMax: p.maxChargeW,
      WChaGra: 100,
      WDisChaGra: 100,
      StorCtl_Mod: 0,
      VAChaMax: p.maxChargeW,
      MinRsvPct: 0,
      OutWRte: 100,
      InWRte: 100,
      InOutWRte_WinTms: 0,
      InOutWRte_RvrtTms: 0,
      InOutWRte_RmpTms: 0,
      ChaGriSet: 1, // GRID
      WChaMax_SF: 0,
      WChaDisChaGra_SF: 0,
      VAChaMax_SF: 0,
      MinRsvPct_SF: -2,
      ChaState_SF: -1,
      StorAval_SF: -1,
      InBatV_SF: -1,
      InOutWRte_SF: -2,
    }),
  };
}

export function storageLimits(p: StorageParams): Record<string, readonly [number, number]> {
  return {
    '124.WChaMax': [0, p.maxChargeW],
    '124.VAChaMax': [0, p.maxChargeW],
    '124.InOutWRte_RvrtTms': [0, 65_535],
  };
}

/** The 702 ratings of a three-phase storage inverter of AC rating `ratedW`. */
function storageCapacity(p: StorageParams, ratedW: number): CapacityRatings {
  return { ratedW, phases: 3, maxChargeW: p.maxChargeW, maxDischargeW: p.maxDischargeW };
}

/** Models 701, 702, 704, 713, 802 and 124 of a three-phase storage inverter, in map order. */
export function storageInverterModels(p: StorageParams, ratedW: number): ModelSpec[] {
  return [
    acMeasurementModel(3),
    capacityModel(storageCapacity(p, ratedW)),
    acControlsModel(),
    storageCapacityModel(p),
    batteryModel(p),
    storageControlsModel(p),
  ];
}

/** Write limits of those models; `overrides` (the map options' limits) win. */
export function storageInverterLimits(p: StorageParams, ratedW: number, overrides: PointLimits = {}): PointLimits {
  return mergeLimits(capacityLimits(storageCapacity(p, ratedW)), acControlLimits(ratedW), storageLimits(p), {
    ...overrides,
  });
}

/** The initial SoC of a unit: the option, else 30..70 % varying by unit id. */
export function initialSoc(options: StorageOptions, unit: number): number {
  return options.initialSocPct ?? Math.round(30 + 40 * unitVariation(unit));
}

/** 704 WSet and WMaxLimPct reversions, and 124 InOutWRte_RvrtTms (StorCtl_Mod back to 0). */
export function addStorageReversions(device: DeviceBase): TimedReversion[] {
  const { map } = device;
  const remaining = add704Reversions(device, ['WMaxLimPct', 'WSet']);
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

/** 802 ChaSt: 1 OFF, 2 EMPTY, 3 DISCHARGING, 4 CHARGING, 5 FULL, 6 HOLDING. */
function chargeState(w: number, socPct: number, minPct: number, maxPct: number, connected: boolean): number {
  if (!connected) return 1;
  if (w > 0) return 3;
  if (w < 0) return 4;
  if (socPct >= maxPct - 1e-9) return 5;
  if (socPct <= minPct + 1e-9) return 2;
  return 6;
}

export class StorageControls {
  private readonly s: Record<string, PointSlot>;
  private readonly wmax: PointSlot;
  private readonly c704: Record<string, PointSlot> | undefined;

  constructor(
    private readonly map: RegisterMap,
    private readonly params: StorageParams,
  ) {
    const p = (model: number, names: string[]): [string, PointSlot][] =>
      names.map((n) => [`${model}.${n}`, map.point(model, n)]);
    this.s = Object.fromEntries([
      ...p(802, [
        'SoCMax',
        'SoCMin',
        'SocRsvMax',
        'SoCRsvMin',
        'SetOp',
        'SetInvState',
        'SoC',
        'DoD',
        'SoH',
        'NCyc',
        'ChaSt',
        'Hb',
        'State',
        'V',
        'A',
        'W',
        'WChaRteMax',
        'WDisChaRteMax',
      ]),
      ...p(702, ['WChaRteMax', 'WDisChaRteMax']),
      ...p(124, [
        'WChaMax',
        'StorCtl_Mod',
        'InWRte',
        'OutWRte',
        'MinRsvPct',
        'ChaState',
        'StorAval',
        'InBatV',
        'ChaSt',
      ]),
      ...p(713, ['WHAvail', 'SoC']),
    ]);
    this.wmax = map.point(702, 'WMax');
    this.c704 =
      map.layout.findPoint(704, 'WSetEna') === undefined
        ? undefined
        : Object.fromEntries(
            ['WSetEna', 'WSetMod', 'WSet', 'WSetPct', 'WMaxLimPctEna', 'WMaxLimPct'].map((n) => [n, map.point(704, n)]),
          );
  }

  private v(key: string): number {
    return this.map.get(this.s[key]!) ?? 0;
  }

  /** Whether 802 SetOp and SetInvState let the battery run. */
  connected(): boolean {
    return this.map.getRaw(this.s['802.SetOp']!) !== 2 && this.map.getRaw(this.s['802.SetInvState']!) === 3;
  }

  socWindow(): { minPct: number; maxPct: number } {
    const maxPct = Math.min(this.v('802.SoCMax'), this.v('802.SocRsvMax'));
    const minPct = Math.max(this.v('802.SoCMin'), this.v('802.SoCRsvMin'), this.v('124.MinRsvPct'));
    return { minPct, maxPct };
  }

  chargeLimitW(): number {
    return Math.min(this.v('702.WChaRteMax'), this.v('124.WChaMax'));
  }

  dischargeLimitW(): number {
    let limit = this.v('702.WDisChaRteMax');
    const c = this.c704;
    if (c !== undefined && this.map.getRaw(c.WMaxLimPctEna!) === 1) {
      limit = Math.min(limit, ((this.map.get(c.WMaxLimPct!) ?? 100) / 100) * (this.map.get(this.wmax) ?? 0));
    }
    return limit;
  }

  /** The commanded AC power before the SoC window (header of this file), W, positive = discharge. */
  commandW(autonomousW: number): number {
    if (!this.connected()) return 0;
    const m = this.map;
    const wmax = m.get(this.wmax) ?? 0;
    let w = autonomousW;
    const c = this.c704;
    const mode = m.getRaw(this.s['124.StorCtl_Mod']!) as number;
    if (c !== undefined && m.getRaw(c.WSetEna!) === 1) {
      w = m.getRaw(c.WSetMod!) === 1 ? (m.get(c.WSet!) ?? 0) : ((m.get(c.WSetPct!) ?? 0) / 100) * wmax;
    } else if ((mode & 3) !== 0) {
      const inW = ((m.get(this.s['124.InWRte']!) ?? 0) / 100) * this.chargeLimitW();
      const outW = ((m.get(this.s['124.OutWRte']!) ?? 0) / 100) * this.dischargeLimitW();
      if (mode === 1) w = -inW;
      else if (mode === 2) w = outW;
      else w = Math.min(Math.max(autonomousW, -inW), outW);
    }
    return this.clampW(w);
  }

  /** A power within the charge and discharge limits and 702 WMax, W. */
  clampW(w: number): number {
    const wmax = this.map.get(this.wmax) ?? 0;
    return Math.max(-this.chargeLimitW(), -wmax, Math.min(this.dischargeLimitW(), wmax, w));
  }

  /** Writes 713, 802 and 124 after a step. `w` is the battery's AC power at the end of the step. */
  write(pack: BatteryPack, w: number, nowMs: number): void {
    const m = this.map;
    const s = this.s;
    const soc = pack.socPct;
    const { minPct, maxPct } = this.socWindow();
    const connected = this.connected();
    const v = this.params.nominalV * (0.9 + 0.15 * (soc / 100));
    m.set(s['802.SoC']!, soc);
    m.set(s['802.DoD']!, 100 - soc);
    m.setRaw(s['802.NCyc']!, Math.floor(pack.throughputWh / 2 / pack.capacityWh));
    m.setRaw(s['802.ChaSt']!, chargeState(w, soc, minPct, maxPct, connected));
    m.setRaw(s['124.ChaSt']!, chargeState(w, soc, minPct, maxPct, connected));
    m.setRaw(s['802.Hb']!, Math.floor(nowMs / 1000) & 0xffff);
    m.setRaw(s['802.State']!, connected ? 3 : 1);
    m.set(s['802.V']!, v);
    m.set(s['802.A']!, w / v);
    m.set(s['802.W']!, w);
    m.set(s['802.WChaRteMax']!, this.chargeLimitW());
    m.set(s['802.WDisChaRteMax']!, this.dischargeLimitW());
    m.set(s['713.SoC']!, soc);
    const availableWh = Math.max(0, pack.energyWh - (pack.capacityWh * minPct) / 100) * pack.oneWayEfficiency;
    m.set(s['713.WHAvail']!, availableWh);
    m.set(s['124.ChaState']!, soc);
    m.set(s['124.StorAval']!, availableWh / this.params.nominalV);
    m.set(s['124.InBatV']!, v);
  }
}
