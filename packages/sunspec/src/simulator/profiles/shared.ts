/**
 * Building blocks shared by the device profiles: initial values of the common models (in the
 * codec's DecodedGroup shape: scaled values, raw scale factors), building a register map through
 * the codec, and writers for the AC measurement models (101/103 and 701) that every inverter has.
 */
import { encodeModel, getModelDefinition } from '../../codec/index.ts';
import type { DecodedGroup, PointValue } from '../../codec/types.ts';
import type { DeviceBase, Reversion } from '../device.ts';
import type { PointLimits, PointSlot } from '../layout.ts';
import { clearSkyFraction, DEFAULT_SOLAR_DAY, HOUR_MS, hourOfDay, type SolarDay } from '../physics.ts';
import { type ModelImage, RegisterMap, type RegisterMapOptions } from '../register-map.ts';
// Type only: pv-inverter.ts imports this module, so no value may flow back.
import type { PowerLimit } from './pv-inverter.ts';

export interface ModelSpec {
  id: number;
  values: DecodedGroup;
}

export function group(points: Record<string, PointValue>, groups: Record<string, DecodedGroup[]> = {}): DecodedGroup {
  return { points, groups };
}

/** Encodes the models with the codec and lays them out; the per-profile template every unit clones. */
export function buildMap(models: readonly ModelSpec[], options: RegisterMapOptions): RegisterMap {
  const images: ModelImage[] = models.map(({ id, values }) => {
    const def = getModelDefinition(id);
    if (def === undefined) throw new RangeError(`no SunSpec definition for model ${id}`);
    return { def, values, block: encodeModel(def, values) };
  });
  return RegisterMap.build(images, options);
}

export const NOMINAL_PHASE_V = 230;
export const NOMINAL_LINE_V = 400;
export const NOMINAL_HZ = 50;
/** Seconds from the Unix epoch to 2000-01-01T00:00:00Z, the SunSpec timestamp origin (model 122 Tms). */
export const SUNSPEC_EPOCH_S = 946_684_800;

/** Model 1, common: manufacturer, model, serial number per unit, device address = unit id. */
export function commonModel(model: string, serialPrefix: string, unit: number): ModelSpec {
  return {
    id: 1,
    values: group({
      Mn: 'Gridseam',
      Md: model,
      Opt: 'simulator',
      Vr: '0.1.0',
      SN: serialNumber(serialPrefix, unit),
      DA: unit,
    }),
  };
}

export function serialNumber(prefix: string, unit: number): string {
  return `${prefix}-${String(unit).padStart(6, '0')}`;
}

/** Writes a unit's serial number and device address into its clone of the template's model 1. */
export function writeIdentity(map: RegisterMap, prefix: string, unit: number): string {
  const sn = serialNumber(prefix, unit);
  map.setString(map.point(1, 'SN'), sn);
  map.setRaw(map.point(1, 'DA'), unit);
  return sn;
}

/** Model 120, nameplate. */
export function nameplateModel(derType: 4 | 82, ratedW: number, phases: 1 | 3, storage?: StorageRatings): ModelSpec {
  const ratedA = ratedW / NOMINAL_PHASE_V / phases;
  const var_ = Math.round(ratedW * 0.44);
  return {
    id: 120,
    values: group({
      DERTyp: derType,
      WRtg: ratedW,
      WRtg_SF: 0,
      VARtg: ratedW,
      VARtg_SF: 0,
      VArRtgQ1: var_,
      VArRtgQ2: var_,
      VArRtgQ3: -var_,
      VArRtgQ4: -var_,
      VArRtg_SF: 0,
      ARtg: Math.round(ratedA * 10) / 10,
      ARtg_SF: -1,
      PFRtgQ1: 0.9,
      PFRtgQ2: 0.9,
      PFRtgQ3: -0.9,
      PFRtgQ4: -0.9,
      PFRtg_SF: -3,
      ...(storage
        ? {
            WHRtg: storage.capacityWh,
            WHRtg_SF: 0,
            AhrRtg: Math.round(storage.capacityWh / storage.nominalV),
            AhrRtg_SF: 0,
            MaxChaRte: storage.maxChargeW,
            MaxChaRte_SF: 0,
            MaxDisChaRte: storage.maxDischargeW,
            MaxDisChaRte_SF: 0,
          }
        : {}),
    }),
  };
}

export interface StorageRatings {
  capacityWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  nominalV: number;
}

/** Model 123, immediate controls: connected, no limit, unity PF, no reversion timers. */
export function immediateControlsModel(): ModelSpec {
  return {
    id: 123,
    values: group({
      Conn_WinTms: 0,
      Conn_RvrtTms: 0,
      Conn: 1,
      WMaxLimPct: 100,
      WMaxLimPct_WinTms: 0,
      WMaxLimPct_RvrtTms: 0,
      WMaxLimPct_RmpTms: 0,
      WMaxLim_Ena: 0,
      OutPFSet: 1,
      OutPFSet_WinTms: 0,
      OutPFSet_RvrtTms: 0,
      OutPFSet_RmpTms: 0,
      OutPFSet_Ena: 0,
      VArWMaxPct: 0,
      VArMaxPct: 0,
      VArAvalPct: 0,
      VArPct_WinTms: 0,
      VArPct_RvrtTms: 0,
      VArPct_RmpTms: 0,
      VArPct_Mod: 1,
      VArPct_Ena: 0,
      // Hundredths of a percent, as Fronius devices use (and so a write must scale).
      WMaxLimPct_SF: -2,
      OutPFSet_SF: -3,
      VArPct_SF: 0,
    }),
  };
}

/** Model 701, DER AC measurements: static parts (the writer fills the measurements). */
export function acMeasurementModel(phases: 1 | 3): ModelSpec {
  return {
    id: 701,
    values: group({
      ACType: phases === 3 ? 2 : 0,
      Alrm: 0,
      DERMode: 1, // GRID_FOLLOWING
      TotVarhInj: 0,
      TotVarhAbs: 0,
      ThrotSrc: 0,
      A_SF: -2,
      V_SF: -1,
      Hz_SF: -2,
      W_SF: 0,
      PF_SF: -3,
      VA_SF: 0,
      Var_SF: 0,
      TotWh_SF: 0,
      TotVarh_SF: 0,
      Tmp_SF: -1,
      MnAlrmInfo: '',
    }),
  };
}

export interface CapacityRatings {
  ratedW: number;
  phases: 1 | 3;
  maxChargeW?: number;
  maxDischargeW?: number;
}

/** Model 702, DER capacity: ratings and the (writable) settings, equal to the ratings at start. */
export function capacityModel(r: CapacityRatings): ModelSpec {
  const var_ = Math.round(r.ratedW * 0.44);
  const ratedA = Math.round((r.ratedW / NOMINAL_PHASE_V / r.phases) * 10) / 10;
  const storage = r.maxChargeW !== undefined && r.maxDischargeW !== undefined;
  return {
    id: 702,
    values: group({
      WMaxRtg: r.ratedW,
      WOvrExtRtg: r.ratedW,
      WOvrExtRtgPF: 0.9,
      WUndExtRtg: r.ratedW,
      WUndExtRtgPF: 0.9,
      VAMaxRtg: r.ratedW,
      VarMaxInjRtg: var_,
      VarMaxAbsRtg: var_,
      ...(storage ? { WChaRteMaxRtg: r.maxChargeW, WDisChaRteMaxRtg: r.maxDischargeW } : {}),
      VNomRtg: NOMINAL_PHASE_V,
      VMaxRtg: 264.5,
      VMinRtg: 195.5,
      AMaxRtg: ratedA,
      PFOvrExtRtg: 0.9,
      PFUndExtRtg: 0.9,
      NorOpCatRtg: 1,
      AbnOpCatRtg: 2,
      CtrlModes: 0b11, // MAX_W, FIXED_W
      IntIslandCatRtg: 1,
      WMax: r.ratedW,
      WMaxOvrExt: r.ratedW,
      WOvrExtPF: 0.9,
      WMaxUndExt: r.ratedW,
      WUndExtPF: 0.9,
      VAMax: r.ratedW,
      VarMaxInj: var_,
      VarMaxAbs: var_,
      ...(storage ? { WChaRteMax: r.maxChargeW, WDisChaRteMax: r.maxDischargeW } : {}),
      VNom: NOMINAL_PHASE_V,
      VMax: 264.5,
      VMin: 195.5,
      AMax: ratedA,
      PFOvrExt: 0.9,
      PFUndExt: 0.9,
      IntIslandCat: 1,
      W_SF: 0,
      PF_SF: -3,
      VA_SF: 0,
      Var_SF: 0,
      V_SF: -1,
      A_SF: -1,
      S_SF: 0,
    }),
  };
}

/** Write limits of model 702's settings: at most the rating. */
export function capacityLimits(r: CapacityRatings): Record<string, readonly [number, number]> {
  const var_ = Math.round(r.ratedW * 0.44);
  return {
    '702.WMax': [0, r.ratedW],
    '702.WMaxOvrExt': [0, r.ratedW],
    '702.WMaxUndExt': [0, r.ratedW],
    '702.VAMax': [0, r.ratedW],
    '702.VarMaxInj': [0, var_],
    '702.VarMaxAbs': [0, var_],
    '702.WChaRteMax': [0, r.maxChargeW ?? 0],
    '702.WDisChaRteMax': [0, r.maxDischargeW ?? 0],
    '702.WOvrExtPF': [0, 1],
    '702.WUndExtPF': [0, 1],
    '702.PFOvrExt': [0, 1],
    '702.PFUndExt': [0, 1],
  };
}

/** Model 704, DER AC controls: nothing enabled, reversion values = the defaults, no timers. */
export function acControlsModel(): ModelSpec {
  const pf = (): DecodedGroup[] => [group({ PF: 1, Ext: 0 })];
  return {
    id: 704,
    values: group(
      {
        PFWInjEna: 0,
        PFWInjEnaRvrt: 0,
        PFWInjRvrtTms: 0,
        PFWInjRvrtRem: 0,
        PFWAbsEna: 0,
        PFWAbsEnaRvrt: 0,
        PFWAbsRvrtTms: 0,
        PFWAbsRvrtRem: 0,
        WMaxLimPctEna: 0,
        WMaxLimPct: 100,
        WMaxLimPctRvrt: 100,
        WMaxLimPctEnaRvrt: 0,
        WMaxLimPctRvrtTms: 0,
        WMaxLimPctRvrtRem: 0,
        WSetEna: 0,
        WSetMod: 1, // WATTS
        WSet: 0,
        WSetRvrt: 0,
        WSetPct: 0,
        WSetPctRvrt: 0,
        WSetEnaRvrt: 0,
        WSetRvrtTms: 0,
        WSetRvrtRem: 0,
        VarSetEna: 0,
        VarSetMod: 4, // VARS
        VarSetPri: 0,
        VarSet: 0,
        VarSetRvrt: 0,
        VarSetPct: 0,
        VarSetPctRvrt: 0,
        VarSetEnaRvrt: 0,
        VarSetRvrtTms: 0,
        VarSetRvrtRem: 0,
        WRmp: 100,
        WRmpRef: 1,
        VarRmp: 100,
        AntiIslEna: 0,
        PF_SF: -3,
        WMaxLimPct_SF: -1,
        WSet_SF: 0,
        WSetPct_SF: -1,
        VarSet_SF: 0,
        VarSetPct_SF: -1,
      },
      { PFWInj: pf(), PFWInjRvrt: pf(), PFWAbs: pf(), PFWAbsRvrt: pf() },
    ),
  };
}

/** Write limits of model 704: W and var setpoints within the rating, power factors 0..1. */
export function acControlLimits(ratedW: number): Record<string, readonly [number, number]> {
  const var_ = Math.round(ratedW * 0.44);
  return {
    '704.WSet': [-ratedW, ratedW],
    '704.WSetRvrt': [-ratedW, ratedW],
    '704.VarSet': [-var_, var_],
    '704.VarSetRvrt': [-var_, var_],
    '704.PFWInj.PF': [0, 1],
    '704.PFWInjRvrt.PF': [0, 1],
    '704.PFWAbs.PF': [0, 1],
    '704.PFWAbsRvrt.PF': [0, 1],
    '704.PFWInjRvrtTms': [0, 86_400],
    '704.PFWAbsRvrtTms': [0, 86_400],
    '704.WMaxLimPctRvrtTms': [0, 86_400],
    '704.WSetRvrtTms': [0, 86_400],
    '704.VarSetRvrtTms': [0, 86_400],
  };
}

export function mergeLimits(...parts: Record<string, readonly [number, number]>[]): PointLimits {
  return Object.assign({}, ...parts);
}

/** Energy over [fromMs, toMs] of a power sampled at the middle of each simulated minute (Wh). */
export function integrateMinutes(fromMs: number, toMs: number, powerAt: (midMs: number) => number): number {
  const STEP = 60_000;
  let wh = 0;
  let t = fromMs;
  while (t < toMs) {
    const gridStart = Math.floor(t / STEP) * STEP;
    const end = Math.min(gridStart + STEP, toMs);
    wh += (powerAt(gridStart + STEP / 2) * (end - t)) / HOUR_MS;
    t = end;
  }
  return wh;
}

/** Model 101 (single phase) or 103 (three phase) inverter, integer + scale factor: the scale factors. */
export function inverterModel(modelId: 101 | 103): ModelSpec {
  return {
    id: modelId,
    values: group({
      A_SF: -2,
      V_SF: -1,
      W_SF: 0,
      Hz_SF: -2,
      VA_SF: 0,
      VAr_SF: 0,
      PF_SF: -1,
      WH_SF: 0,
      DCA_SF: -2,
      DCV_SF: -1,
      DCW_SF: 0,
      Tmp_SF: -1,
      Evt1: 0,
      Evt2: 0,
    }),
  };
}

/** Slots of the AC measurement points of model 101/103 (int + SF inverter). */
export class InverterModelWriter {
  private readonly s: Record<string, PointSlot | undefined>;
  constructor(
    private readonly map: RegisterMap,
    readonly modelId: 101 | 103,
  ) {
    const names = [
      'A',
      'AphA',
      'AphB',
      'AphC',
      'PPVphAB',
      'PPVphBC',
      'PPVphCA',
      'PhVphA',
      'PhVphB',
      'PhVphC',
      'W',
      'W_SF',
      'Hz',
      'VA',
      'VAr',
      'PF',
      'WH',
      'DCA',
      'DCV',
      'DCW',
      'DCW_SF',
      'TmpCab',
      'St',
    ];
    this.s = Object.fromEntries(names.map((n) => [n, map.point(modelId, n)]));
  }

  write(o: AcOutputs, adaptiveWsf: boolean): void {
    const m = this.map;
    const s = this.s;
    if (adaptiveWsf) {
      // Like Fronius' DCW_SF: one more decimal at low power. Read the SF in the same block as W.
      m.setRaw(s.W_SF!, Math.abs(o.w) < 1000 ? -1 : 0);
      m.setRaw(s.DCW_SF!, Math.abs(o.dcW) < 1000 ? -1 : 0);
    }
    const phaseW = o.w / o.phases;
    const amps = Math.abs(phaseW) / NOMINAL_PHASE_V;
    m.set(s.A!, amps * o.phases);
    m.set(s.AphA!, amps);
    if (o.phases === 3) {
      m.set(s.AphB!, amps);
      m.set(s.AphC!, amps);
      m.set(s.PPVphAB!, NOMINAL_LINE_V);
      m.set(s.PPVphBC!, NOMINAL_LINE_V);
      m.set(s.PPVphCA!, NOMINAL_LINE_V);
      m.set(s.PhVphB!, NOMINAL_PHASE_V);
      m.set(s.PhVphC!, NOMINAL_PHASE_V);
    }
    m.set(s.PhVphA!, NOMINAL_PHASE_V);
    m.set(s.W!, o.w);
    m.set(s.Hz!, NOMINAL_HZ);
    m.set(s.VA!, Math.hypot(o.w, o.var));
    m.set(s.VAr!, o.var);
    m.set(s.PF!, o.w === 0 ? 100 : (100 * Math.abs(o.w)) / Math.hypot(o.w, o.var));
    m.setRaw(s.WH!, Math.floor(o.whInjected) % 4294967296);
    m.set(s.DCA!, o.dcV > 0 ? Math.abs(o.dcW) / o.dcV : 0);
    m.set(s.DCV!, o.dcV);
    m.set(s.DCW!, o.dcW);
    m.set(s.TmpCab!, o.tempC);
    m.setRaw(s.St!, o.st103);
  }
}

/** The AC state an inverter profile computes at each tick. */
export interface AcOutputs {
  phases: 1 | 3;
  /** W, positive = export. */
  w: number;
  var: number;
  /** Cumulative Wh exported / imported. */
  whInjected: number;
  whAbsorbed: number;
  dcW: number;
  dcV: number;
  tempC: number;
  /** Model 101/103 St: 1 OFF, 2 SLEEPING, 4 MPPT, 5 THROTTLED, 8 STANDBY. */
  st103: number;
  /** Model 701 InvSt: 0 OFF, 1 SLEEPING, 3 RUNNING, 4 THROTTLED, 7 STANDBY. */
  invSt701: number;
  connected: boolean;
  /** Model 701 ThrotPct and ThrotSrc (bit 0 MAX_W, bit 1 FIXED_W). */
  throttlePct: number;
  throttleSources: number;
}

/** Model 103 St to model 701 InvSt. */
export function invStFrom103(st: number): number {
  switch (st) {
    case 1:
      return 0;
    case 2:
      return 1;
    case 5:
      return 4;
    case 8:
      return 7;
    default:
      return 3;
  }
}

/** Writes model 701 from the AC state. */
export class AcMeasurementWriter {
  private readonly s: Record<string, PointSlot>;
  constructor(private readonly map: RegisterMap) {
    const names = [
      'St',
      'InvSt',
      'ConnSt',
      'W',
      'VA',
      'Var',
      'PF',
      'A',
      'LLV',
      'LNV',
      'Hz',
      'TotWhInj',
      'TotWhAbs',
      'TmpAmb',
      'TmpCab',
      'WL1',
      'VAL1',
      'VarL1',
      'PFL1',
      'AL1',
      'VL1',
      'WL2',
      'VAL2',
      'VarL2',
      'PFL2',
      'AL2',
      'VL2',
      'WL3',
      'VAL3',
      'VarL3',
      'PFL3',
      'AL3',
      'VL3',
      'VL1L2',
      'VL2L3',
      'VL3L1',
      'ThrotPct',
      'ThrotSrc',
    ];
    this.s = Object.fromEntries(names.map((n) => [n, map.point(701, n)]));
  }

  write(o: AcOutputs): void {
    const m = this.map;
    const s = this.s;
    const va = Math.hypot(o.w, o.var);
    const pf = va === 0 ? 1 : o.w / va;
    m.setRaw(s.St!, o.connected ? 1 : 0);
    m.setRaw(s.InvSt!, o.invSt701);
    m.setRaw(s.ConnSt!, o.connected ? 1 : 0);
    m.set(s.W!, o.w);
    m.set(s.VA!, va);
    m.set(s.Var!, o.var);
    m.set(s.PF!, pf);
    m.set(s.A!, va / NOMINAL_PHASE_V);
    m.set(s.LNV!, NOMINAL_PHASE_V);
    m.set(s.Hz!, NOMINAL_HZ);
    m.setRaw(s.TotWhInj!, Math.floor(o.whInjected));
    m.setRaw(s.TotWhAbs!, Math.floor(o.whAbsorbed));
    m.set(s.TmpAmb!, 20);
    m.set(s.TmpCab!, o.tempC);
    const phases = o.phases === 3 ? ['1', '2', '3'] : ['1'];
    for (const p of phases) {
      m.set(s[`WL${p}`]!, o.w / o.phases);
      m.set(s[`VAL${p}`]!, va / o.phases);
      m.set(s[`VarL${p}`]!, o.var / o.phases);
      m.set(s[`PFL${p}`]!, pf);
      m.set(s[`AL${p}`]!, va / o.phases / NOMINAL_PHASE_V);
      m.set(s[`VL${p}`]!, NOMINAL_PHASE_V);
    }
    if (o.phases === 3) {
      m.set(s.LLV!, NOMINAL_LINE_V);
      m.set(s.VL1L2!, NOMINAL_LINE_V);
      m.set(s.VL2L3!, NOMINAL_LINE_V);
      m.set(s.VL3L1!, NOMINAL_LINE_V);
    }
    m.setRaw(s.ThrotPct!, Math.round(o.throttlePct));
    m.setRaw(s.ThrotSrc!, o.throttleSources);
  }
}

/** Clear-sky PV power at a simulated time (W), for a peak and the unit's time zone and solar day. */
export function clearSkyW(
  peakW: number,
  simMs: number,
  options: { utcOffsetMinutes?: number; solarDay?: SolarDay },
): number {
  const hour = hourOfDay(simMs, options.utcOffsetMinutes ?? 0);
  return peakW * clearSkyFraction(hour, options.solarDay ?? DEFAULT_SOLAR_DAY);
}

/** A reversion timer and the 704 *RvrtRem point that shows its remaining seconds. */
export type TimedReversion = [Reversion, PointSlot];

/** The 704 controls with a reversion: enable, enable-reversion, timeout, remaining, control/reversion pairs. */
const REVERSIONS_704 = {
  WMaxLimPct: [
    'WMaxLimPctEna',
    'WMaxLimPctEnaRvrt',
    'WMaxLimPctRvrtTms',
    'WMaxLimPctRvrtRem',
    [['WMaxLimPct', 'WMaxLimPctRvrt']],
  ],
  WSet: [
    'WSetEna',
    'WSetEnaRvrt',
    'WSetRvrtTms',
    'WSetRvrtRem',
    [
      ['WSet', 'WSetRvrt'],
      ['WSetPct', 'WSetPctRvrt'],
    ],
  ],
  PFWInj: [
    'PFWInjEna',
    'PFWInjEnaRvrt',
    'PFWInjRvrtTms',
    'PFWInjRvrtRem',
    [
      ['PFWInj.PF', 'PFWInjRvrt.PF'],
      ['PFWInj.Ext', 'PFWInjRvrt.Ext'],
    ],
  ],
} as const;

/** Adds the 704 reversions of `controls`, in that order; returns them with their *RvrtRem slots. */
export function add704Reversions(
  device: DeviceBase,
  controls: readonly (keyof typeof REVERSIONS_704)[],
): TimedReversion[] {
  return controls.map((control) => {
    const [ena, enaRvrt, tms, rem, pairs] = REVERSIONS_704[control];
    return [device.add704Reversion(ena, enaRvrt, tms, pairs), device.map.point(704, rem)];
  });
}

/** The model 123 reversions: WMaxLim_Ena and OutPFSet_Ena back to disabled, Conn back to CONNECT. */
export function add123Reversions(device: DeviceBase): void {
  device.add123Reversion('WMaxLim_Ena', 'WMaxLimPct_RvrtTms', ['WMaxLimPct'], 1, 0);
  device.add123Reversion('OutPFSet_Ena', 'OutPFSet_RvrtTms', ['OutPFSet'], 1, 0);
  device.add123Reversion('Conn', 'Conn_RvrtTms', [], 0, 1);
}

/** Writes the remaining seconds of each reversion into its 704 *RvrtRem point. */
export function writeRemaining(map: RegisterMap, reversions: readonly TimedReversion[], nowMs: number): void {
  for (const [reversion, slot] of reversions) map.setRaw(slot, reversion.remainingSeconds(nowMs));
}

/** The power controls a PV tick reads (PowerControls in pv-inverter.ts). */
export interface PvLimits {
  connected(): boolean;
  exportLimit(): PowerLimit;
}

/** One tick of a PV-only inverter: production capped by the controls, 0 when disconnected. */
export interface PvTick {
  connected: boolean;
  limitW: number;
  sources: number;
  /** Energy exported over the interval, Wh (on the minute grid). */
  wh: number;
  /** Power the array could give at the end of the interval, W. */
  availableW: number;
  /** AC power at the end of the interval, W. */
  w: number;
  throttled: boolean;
  /** Model 101/103 St (see AcOutputs). */
  st103: number;
}

export function pvTick(
  controls: PvLimits,
  fromMs: number,
  toMs: number,
  availableAt: (simMs: number) => number,
): PvTick {
  const connected = controls.connected();
  const { limitW, sources } = controls.exportLimit();
  const cap = connected ? limitW : 0;
  const wh = integrateMinutes(fromMs, toMs, (t) => Math.min(availableAt(t), cap));
  const availableW = availableAt(toMs);
  const w = Math.min(availableW, cap);
  const throttled = connected && availableW > limitW;
  const st103 = !connected ? 1 : availableW <= 0 ? 2 : throttled ? 5 : 4;
  return { connected, limitW, sources, wh, availableW, w, throttled, st103 };
}
