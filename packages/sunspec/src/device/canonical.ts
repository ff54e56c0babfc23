/**
 * SunSpec models -> the canonical model (pure). What this module decides, in one place:
 *
 * Precedence: the IEEE 1547-2018 models (7xx) win over the legacy ones, measurand by measurand and
 * phase by phase; a legacy point only fills what the 7xx models leave unimplemented. Float models
 * (111-113, 211-214) win over their int+SF twins (101-103, 201-204). Storage: 802 > 713 > 124.
 *
 * Signs (docs/MODEL.md: power is positive OUT of the device, towards the grid):
 * - Inverters 101-103/111-113: W is positive for output (export); 701 says so outright ("positive
 *   for DER generation and negative for absorption"). Unchanged.
 * - Battery 802 W: the model JSON gives no sign rule. We read it with the DER convention of the
 *   7xx models (discharge positive), as evcc's sunspec-battery templates do (802:W taken as
 *   battery power, discharge positive). Unchanged; `quirks.batteryPowerChargePositive` flips it.
 * - Meters 201-204/211-214: W, VAR and PF follow the metering (load) convention, positive when
 *   the site imports: the reactive accumulators are named TotVArhImpQ1/ImpQ2/ExpQ3/ExpQ4, i.e.
 *   the IEC 62053-23 quadrants in which Q1 is import of active power. We negate them, so site
 *   export is positive. TotWhExp/TotWhImp keep their names (energy is never signed);
 *   `quirks.meterPowerExportPositive` turns the negation off for a meter that already exports positive.
 *
 * Absent stays absent: an unimplemented point (null from the codec) yields no reading, never 0.
 */
import {
  type Capabilities,
  type DeviceClass,
  GridseamError,
  NUMERIC_MEASURANDS,
  type NumericMeasurand,
  type NumericReading,
  type OperatingState,
  type Phase,
  type Quality,
  type Ratings,
  type Reading,
  type SetpointKind,
  type StorageCapability,
  TEXT_MEASURANDS,
} from '@gridseam/model';
import type { DecodedModel } from '../codec/types.ts';
import { firstModel, hasAny, type Models, modelOf, numberAt, tidy } from './points.ts';
import { definitionOf } from './read.ts';

export const INVERTER_INT_MODELS = [101, 102, 103] as const;
export const INVERTER_FLOAT_MODELS = [111, 112, 113] as const;
export const DER_MEASURE_AC = 701;
export const STORAGE_MODELS = [124, 713, 802, 803, 804] as const;
export const METER_INT_MODELS = [201, 202, 203, 204] as const;
export const METER_FLOAT_MODELS = [211, 212, 213, 214] as const;
const INVERTER_MODELS: readonly number[] = [...INVERTER_INT_MODELS, ...INVERTER_FLOAT_MODELS, DER_MEASURE_AC];
const METER_MODELS: readonly number[] = [...METER_FLOAT_MODELS, ...METER_INT_MODELS];
/** Legacy inverter models, float first (a poll looks them up in this order several times). */
const LEGACY_INVERTER_MODELS: readonly number[] = [...INVERTER_FLOAT_MODELS, ...INVERTER_INT_MODELS];
/** Model 120 DERTyp: PV_STOR (82) announces PV with storage. */
const DERTYP_PV_STOR = 82;
/** Model 714 Prt.PrtTyp: PV (0). */
const PORT_TYPE_PV = 0;

/**
 * Device class from the models present:
 * - an inverter model (101-103, 111-113, 701) plus a storage model (124, 713, 802-804):
 *   'hybrid-inverter' when there is PV too (model 160 MPPT, 120 DERTyp PV_STOR, or a 714 PV port),
 *   else 'battery' (a storage inverter);
 * - storage models alone: 'battery'; an inverter alone: 'pv-inverter' ('hybrid-inverter' if
 *   120 says PV_STOR); meter models (201-204, 211-214) alone: 'meter'.
 * Meter models beside an inverter (SolarEdge puts its meters on the inverter's unit) do not change
 * the class; read them as a separate device with `readModels(..., { ids: [203] })`.
 * Throws GW_ERR_NOT_SUPPORTED when none of these models is present.
 */
export function classify(models: Models): DeviceClass {
  const inverter = hasAny(models, INVERTER_MODELS);
  const storage = hasAny(models, STORAGE_MODELS);
  const pvStorage = numberAt(modelOf(models, 120), 'DERTyp') === DERTYP_PV_STOR;
  if (inverter && storage) return hasPv(models) || pvStorage ? 'hybrid-inverter' : 'battery';
  if (storage) return 'battery';
  if (inverter) return pvStorage ? 'hybrid-inverter' : 'pv-inverter';
  if (hasAny(models, METER_MODELS)) return 'meter';
  throw new GridseamError(
    'GW_ERR_NOT_SUPPORTED',
    `no inverter, storage or meter model among SunSpec models ${models.map((m) => m.id).join(', ') || '(none)'}`,
  );
}

function hasPv(models: Models): boolean {
  if (modelOf(models, 160)) return true;
  if (numberAt(modelOf(models, 120), 'DERTyp') === DERTYP_PV_STOR) return true;
  const ports = modelOf(models, 714)?.groups.Prt ?? [];
  return ports.some((port) => port.points.PrtTyp === PORT_TYPE_PV);
}

// ---------------------------------------------------------------------------------------------
// Capabilities

/** The W base of WMaxLimPct: 704 uses 702 WMax (setting, else rating); 123 uses 121 WMax, else 120 WRtg. */
export function wMaxFor(models: Models, controlModel: 123 | 704): number | undefined {
  const m702 = modelOf(models, 702);
  const from702 = numberAt(m702, 'WMax') ?? numberAt(m702, 'WMaxRtg');
  const legacy = numberAt(modelOf(models, 121), 'WMax') ?? numberAt(modelOf(models, 120), 'WRtg');
  const value = controlModel === 704 ? (from702 ?? legacy) : (legacy ?? from702);
  return value !== undefined && value > 0 ? value : undefined;
}

/** The W base of 124 InWRte/OutWRte: WChaMax (124 has no WDisChaMax; Fronius uses WChaMax for both). */
export function storageRateBase(models: Models): number | undefined {
  const value = numberAt(modelOf(models, 124), 'WChaMax');
  return value !== undefined && value > 0 ? value : undefined;
}

/** Whether a writable control point is implemented (present and not the unimplemented value). */
function implemented(model: DecodedModel | undefined, name: string): boolean {
  return numberAt(model, name) !== undefined;
}

/** The setpoint kinds planSetpoint can deliver to this device (same rules, see controls.ts). */
export function controlsOf(models: Models): SetpointKind[] {
  const kinds = new Set<SetpointKind>();
  const m704 = modelOf(models, 704);
  const m123 = modelOf(models, 123);
  const m124 = modelOf(models, 124);
  const m802 = modelOf(models, 802);
  if (m704 && implemented(m704, 'WMaxLimPct') && wMaxFor(models, 704) !== undefined) {
    kinds.add('exportLimit').add('generationLimit');
  } else if (m123 && implemented(m123, 'WMaxLimPct') && wMaxFor(models, 123) !== undefined) {
    kinds.add('exportLimit').add('generationLimit');
  }
  if (m704 && implemented(m704, 'WSet')) kinds.add('fixedW');
  // 124 controls act through StorCtl_Mod and are expressed as % of WChaMax: both must be there.
  const storageControls = implemented(m124, 'StorCtl_Mod') && storageRateBase(models) !== undefined;
  if (!kinds.has('fixedW') && storageControls && implemented(m124, 'OutWRte') && implemented(m124, 'InWRte'))
    kinds.add('fixedW');
  if (storageControls && implemented(m124, 'InWRte')) kinds.add('chargeLimit');
  if (storageControls && implemented(m124, 'OutWRte')) kinds.add('dischargeLimit');
  if (m123 && implemented(m123, 'Conn')) kinds.add('connect').add('energize');
  if (implemented(modelOf(models, 703), 'ES')) kinds.add('energize');
  if (implemented(m802, 'SoCRsvMin') || implemented(m124, 'MinRsvPct')) kinds.add('targetSoc');
  return [...kinds];
}

function ratingsOf(models: Models): Ratings | undefined {
  const m702 = modelOf(models, 702);
  const m120 = modelOf(models, 120);
  const ratings: Ratings = {};
  const maxW = numberAt(m702, 'WMaxRtg') ?? numberAt(m120, 'WRtg');
  const maxVA = numberAt(m702, 'VAMaxRtg') ?? numberAt(m120, 'VARtg');
  const varInjected = numberAt(m702, 'VarMaxInjRtg') ?? numberAt(m120, 'VArRtgQ1');
  const varAbsorbed = numberAt(m702, 'VarMaxAbsRtg') ?? numberAt(m120, 'VArRtgQ4');
  const nominalV = numberAt(m702, 'VNomRtg') ?? numberAt(modelOf(models, 121), 'VRef');
  if (maxW !== undefined && maxW >= 0) ratings.maxW = maxW;
  if (maxVA !== undefined && maxVA >= 0) ratings.maxVA = maxVA;
  // 120 states Q4 (absorbing) ratings as negative vars; the canonical figure is a magnitude.
  if (varInjected !== undefined) ratings.maxVarInjected = Math.abs(varInjected);
  if (varAbsorbed !== undefined) ratings.maxVarAbsorbed = Math.abs(varAbsorbed);
  if (nominalV !== undefined && nominalV > 0) ratings.nominalV = nominalV;
  return Object.keys(ratings).length > 0 ? ratings : undefined;
}

function storageCapabilityOf(models: Models): StorageCapability | undefined {
  const m802 = modelOf(models, 802);
  const m713 = modelOf(models, 713);
  const m702 = modelOf(models, 702);
  const m120 = modelOf(models, 120);
  const m124 = modelOf(models, 124);
  const capacityWh = numberAt(m802, 'WHRtg') ?? numberAt(m713, 'WHRtg') ?? numberAt(m120, 'WHRtg');
  const maxChargeW =
    numberAt(m702, 'WChaRteMaxRtg') ??
    numberAt(m802, 'WChaRteMax') ??
    numberAt(m120, 'MaxChaRte') ??
    numberAt(m124, 'WChaMax');
  const maxDischargeW =
    numberAt(m702, 'WDisChaRteMaxRtg') ??
    numberAt(m802, 'WDisChaRteMax') ??
    numberAt(m120, 'MaxDisChaRte') ??
    numberAt(m124, 'WChaMax');
  // All three are required by the canonical StorageCapability; a device that hides one has none.
  if (capacityWh === undefined || capacityWh <= 0 || maxChargeW === undefined || maxDischargeW === undefined)
    return undefined;
  const storage: StorageCapability = {
    capacityWh,
    maxChargeW: Math.abs(maxChargeW),
    maxDischargeW: Math.abs(maxDischargeW),
  };
  // Nameplate SoC window (802 SoCMin/SoCMax); the reserve setpoints are control state, not capability.
  const socMin = numberAt(m802, 'SoCMin');
  const socMax = numberAt(m802, 'SoCMax');
  if (socMin !== undefined && socMin >= 0 && socMin <= 100) storage.socMinPct = socMin;
  if (socMax !== undefined && socMax >= 0 && socMax <= 100 && (socMin === undefined || socMax >= socMin))
    storage.socMaxPct = socMax;
  return storage;
}

/**
 * Ratings: 702 (WMaxRtg, VAMaxRtg, VarMaxInjRtg, VarMaxAbsRtg, VNomRtg) > 120 (WRtg, VARtg,
 * VArRtgQ1, |VArRtgQ4|) / 121 VRef. Storage: capacity 802 WHRtg > 713 WHRtg > 120 WHRtg; charge
 * and discharge maxima 702 *RteMaxRtg > 802 *RteMax > 120 MaxChaRte/MaxDisChaRte > 124 WChaMax;
 * SoC window from 802 SoCMin/SoCMax. Controls: see controlsOf.
 */
export function capabilitiesOf(models: Models): Capabilities {
  const capabilities: Capabilities = { controls: controlsOf(models) };
  const ratings = ratingsOf(models);
  if (ratings) capabilities.ratings = ratings;
  const storage = storageCapabilityOf(models);
  if (storage) capabilities.storage = storage;
  return capabilities;
}

// ---------------------------------------------------------------------------------------------
// Readings

/** Inverter St (101-103, 111-113; 1-based): MPPT is running; SHUTTING_DOWN is on its way to off. */
const INVERTER_ST: Readonly<Record<number, OperatingState>> = {
  1: 'off',
  2: 'sleeping',
  3: 'starting',
  4: 'running',
  5: 'throttled',
  6: 'off',
  7: 'fault',
  8: 'standby',
};
/** 701 InvSt (0-based). */
const DER_INV_ST: Readonly<Record<number, OperatingState>> = {
  0: 'off',
  1: 'sleeping',
  2: 'starting',
  3: 'running',
  4: 'throttled',
  5: 'off',
  6: 'fault',
  7: 'standby',
};
/** 701 St (OFF/ON), used only when InvSt is unimplemented. */
const DER_ST: Readonly<Record<number, OperatingState>> = { 0: 'off', 1: 'running' };
/** ChaSt of 124 and 802: EMPTY, FULL and HOLDING are idle; TESTING takes it out of service. */
const CHA_ST: Readonly<Record<number, OperatingState>> = {
  1: 'off',
  2: 'idle',
  3: 'discharging',
  4: 'charging',
  5: 'idle',
  6: 'idle',
  7: 'unavailable',
};
/** 802 State, used when ChaSt is unimplemented. */
const BATTERY_STATE: Readonly<Record<number, OperatingState>> = {
  1: 'off',
  2: 'starting',
  3: 'running',
  4: 'standby',
  5: 'idle',
  6: 'standby',
  99: 'fault',
};
const BATTERY_STATE_FAULT = 99;
const STORAGE_STA_ERROR = 2;

export interface ReadingQuirks {
  /** The device's 802 W is positive while charging (against the DER convention). */
  batteryPowerChargePositive?: boolean;
  /** The meter's W/VAR/PF are already positive for export. */
  meterPowerExportPositive?: boolean;
}

export interface ReadingsOptions {
  /** Skip classification (e.g. the class stored for the device). */
  deviceClass?: DeviceClass;
  quirks?: ReadingQuirks;
}

type PhaseKey = Phase | '';

/**
 * Bit of each phase key in ReadingSink's per-measurand mask, and per numeric measurand its mask
 * index and unit. Maps, not object lookups: a property read with a different key every call is a
 * megamorphic keyed load in V8, several times slower than a Map lookup.
 */
const PHASE_BITS = new Map<string, number>(
  (['', 'A', 'B', 'C', 'N', 'AB', 'BC', 'CA'] as const).map((phase, index) => [phase, 1 << index]),
);
const MEASURANDS = new Map<string, { index: number; unit: NumericReading['unit'] }>(
  (Object.keys(NUMERIC_MEASURANDS) as NumericMeasurand[]).map((name, index) => [
    name,
    { index, unit: NUMERIC_MEASURANDS[name] },
  ]),
);
const MEASURAND_COUNT = MEASURANDS.size;

class ReadingSink {
  readonly readings: Reading[] = [];
  /** Per numeric measurand, the phase keys already given (a bit each): no key strings per reading. */
  private readonly seen = new Uint8Array(MEASURAND_COUNT);
  constructor(
    private readonly deviceId: string,
    private readonly ts: number,
  ) {}

  /** First value for a (measurand, phase) wins: callers offer sources in precedence order. */
  number(measurand: NumericMeasurand, value: number | undefined, phase: PhaseKey = '', quality?: Quality): void {
    if (value === undefined || !Number.isFinite(value)) return;
    const { index, unit } = MEASURANDS.get(measurand)!;
    const bit = PHASE_BITS.get(phase)!;
    const seen = this.seen[index] as number;
    if ((seen & bit) !== 0) return;
    this.seen[index] = seen | bit;
    const reading: Reading = {
      deviceId: this.deviceId,
      ts: this.ts,
      measurand,
      value,
      unit,
    };
    if (phase !== '') reading.phase = phase;
    if (quality) reading.quality = quality;
    this.readings.push(reading);
  }

  text(measurand: 'operatingState' | 'alarm', value: string): void {
    this.readings.push({ deviceId: this.deviceId, ts: this.ts, measurand, value, unit: TEXT_MEASURANDS[measurand] });
  }
}

/**
 * Power factor as a fraction. 101-103, 111-113 and 201-214 declare PF in percent; many devices
 * send cos phi there anyway, so a magnitude above 1 is taken as percent and one within 1 as a
 * fraction (a real power factor of 1 % does not occur). 701 PF is a fraction already.
 */
function powerFactor(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  return Math.abs(value) > 1 ? tidy(value / 100) : value;
}

function magnitude(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.abs(value);
}

function negate(value: number | undefined, flip: boolean): number | undefined {
  return value === undefined || !flip ? value : value === 0 ? 0 : -value;
}

// Point names per phase, built once (a template string per poll and point costs a new string each time).
const INVERTER_PHASES: ReadonlyArray<readonly [Phase, string, string]> = (['A', 'B', 'C'] as const).map(
  (phase) => [phase, `Aph${phase}`, `PhVph${phase}`] as const,
);

/** 101-103 and 111-113: same point names, int+SF or float. */
function inverterReadings(sink: ReadingSink, m: DecodedModel): void {
  sink.number('activePower', numberAt(m, 'W'));
  sink.number('reactivePower', numberAt(m, 'VAr'));
  sink.number('apparentPower', magnitude(numberAt(m, 'VA')));
  sink.number('powerFactor', powerFactor(numberAt(m, 'PF')));
  sink.number('current', numberAt(m, 'A'));
  for (const [phase, current, voltage] of INVERTER_PHASES) {
    sink.number('current', numberAt(m, current), phase);
    sink.number('voltage', numberAt(m, voltage), phase);
  }
  sink.number('voltage', numberAt(m, 'PPVphAB'), 'AB');
  sink.number('voltage', numberAt(m, 'PPVphBC'), 'BC');
  sink.number('voltage', numberAt(m, 'PPVphCA'), 'CA');
  sink.number('frequency', numberAt(m, 'Hz'));
  sink.number('energyExported', numberAt(m, 'WH'));
  sink.number('temperature', numberAt(m, 'TmpCab'));
}

/** 701 per-line point names: phase, W, Var, VA, PF, A, V, then the line-to-line voltage and its pair. */
const DER_LINES: ReadonlyArray<readonly [Phase, string, string, string, string, string, string, string, Phase]> = (
  [
    ['A', 'L1', 'VL1L2', 'AB'],
    ['B', 'L2', 'VL2L3', 'BC'],
    ['C', 'L3', 'VL3L1', 'CA'],
  ] as const
).map(
  ([phase, line, lineToLine, pair]) =>
    [phase, `W${line}`, `Var${line}`, `VA${line}`, `PF${line}`, `A${line}`, `V${line}`, lineToLine, pair] as const,
);

/** 701 DERMeasureAC: totals, then L1-L3 as phases A-C. */
function derMeasureReadings(sink: ReadingSink, m: DecodedModel): void {
  sink.number('activePower', numberAt(m, 'W'));
  sink.number('reactivePower', numberAt(m, 'Var'));
  sink.number('apparentPower', magnitude(numberAt(m, 'VA')));
  sink.number('powerFactor', powerFactor(numberAt(m, 'PF')));
  sink.number('current', numberAt(m, 'A'));
  sink.number('frequency', numberAt(m, 'Hz'));
  sink.number('energyExported', numberAt(m, 'TotWhInj'));
  sink.number('energyImported', numberAt(m, 'TotWhAbs'));
  sink.number('temperature', numberAt(m, 'TmpCab'));
  for (const [phase, w, varName, va, pf, a, v, lineToLine, pair] of DER_LINES) {
    sink.number('activePower', numberAt(m, w), phase);
    sink.number('reactivePower', numberAt(m, varName), phase);
    sink.number('apparentPower', magnitude(numberAt(m, va)), phase);
    sink.number('powerFactor', powerFactor(numberAt(m, pf)), phase);
    sink.number('current', numberAt(m, a), phase);
    sink.number('voltage', numberAt(m, v), phase);
    sink.number('voltage', numberAt(m, lineToLine), pair);
  }
}

const METER_PHASES: ReadonlyArray<readonly [Phase, string, string, string, string, string, string]> = (
  ['A', 'B', 'C'] as const
).map((phase) => [
  phase,
  `Wph${phase}`,
  `VARph${phase}`,
  `VAph${phase}`,
  `PFph${phase}`,
  `Aph${phase}`,
  `PhVph${phase}`,
]);
const METER_PAIRS: ReadonlyArray<readonly [Phase, string, string]> = (['AB', 'BC', 'CA'] as const).map((pair) => [
  pair,
  `PhVph${pair}`,
  `PPVph${pair}`,
]);

/** 201-204 and 211-214 (201 names line-to-line voltages PPVph*, 202-204 PhVph*). */
function meterReadings(sink: ReadingSink, m: DecodedModel, flip: boolean): void {
  sink.number('activePower', negate(numberAt(m, 'W'), flip));
  sink.number('reactivePower', negate(numberAt(m, 'VAR'), flip));
  sink.number('apparentPower', magnitude(numberAt(m, 'VA')));
  sink.number('powerFactor', negate(powerFactor(numberAt(m, 'PF')), flip));
  sink.number('current', numberAt(m, 'A'));
  sink.number('frequency', numberAt(m, 'Hz'));
  sink.number('energyExported', numberAt(m, 'TotWhExp'));
  sink.number('energyImported', numberAt(m, 'TotWhImp'));
  for (const [phase, w, varName, va, pf, a, v] of METER_PHASES) {
    sink.number('activePower', negate(numberAt(m, w), flip), phase);
    sink.number('reactivePower', negate(numberAt(m, varName), flip), phase);
    sink.number('apparentPower', magnitude(numberAt(m, va)), phase);
    sink.number('powerFactor', negate(powerFactor(numberAt(m, pf)), flip), phase);
    sink.number('current', numberAt(m, a), phase);
    sink.number('voltage', numberAt(m, v), phase);
  }
  for (const [pair, phaseToPhase, legacy] of METER_PAIRS) {
    sink.number('voltage', numberAt(m, phaseToPhase) ?? numberAt(m, legacy), pair);
  }
}

function storageReadings(sink: ReadingSink, models: Models, quirks: ReadingQuirks): void {
  const m802 = modelOf(models, 802);
  const m713 = modelOf(models, 713);
  const m124 = modelOf(models, 124);
  const m702 = modelOf(models, 702);
  sink.number('stateOfCharge', numberAt(m802, 'SoC'));
  sink.number('stateOfCharge', numberAt(m713, 'SoC'));
  sink.number('stateOfCharge', numberAt(m124, 'ChaState'));
  sink.number('stateOfHealth', numberAt(m802, 'SoH'));
  sink.number('stateOfHealth', numberAt(m713, 'SoH'));
  sink.number('availableEnergy', numberAt(m713, 'WHAvail'));
  sink.number('availableEnergy', estimatedAvailableEnergy(m802), '', 'estimated');
  sink.number('maxChargePower', magnitude(numberAt(m702, 'WChaRteMax')));
  sink.number('maxChargePower', magnitude(numberAt(m802, 'WChaRteMax')));
  sink.number('maxChargePower', magnitude(numberAt(m124, 'WChaMax')));
  sink.number('maxDischargePower', magnitude(numberAt(m702, 'WDisChaRteMax')));
  sink.number('maxDischargePower', magnitude(numberAt(m802, 'WDisChaRteMax')));
  // The battery's own (DC) power only stands in when no AC measurement gave activePower.
  sink.number('activePower', negate(numberAt(m802, 'W'), quirks.batteryPowerChargePositive === true));
}

/** 802: WHRtg x (SoC - floor) / 100, the floor being the larger of SoCMin and SoCRsvMin. */
function estimatedAvailableEnergy(m802: DecodedModel | undefined): number | undefined {
  const capacity = numberAt(m802, 'WHRtg');
  const soc = numberAt(m802, 'SoC');
  if (capacity === undefined || soc === undefined) return undefined;
  const floor = Math.max(numberAt(m802, 'SoCMin') ?? 0, numberAt(m802, 'SoCRsvMin') ?? 0);
  return tidy(Math.max(0, (capacity * (soc - floor)) / 100));
}

function mapped(
  table: Readonly<Record<number, OperatingState>>,
  value: number | undefined,
): OperatingState | undefined {
  return value === undefined ? undefined : table[value];
}

function operatingStateOf(models: Models, deviceClass: DeviceClass | undefined): OperatingState | undefined {
  const m701 = modelOf(models, DER_MEASURE_AC);
  const legacy = firstModel(models, LEGACY_INVERTER_MODELS);
  const inverter =
    mapped(DER_INV_ST, numberAt(m701, 'InvSt')) ??
    mapped(DER_ST, numberAt(m701, 'St')) ??
    mapped(INVERTER_ST, numberAt(legacy, 'St'));
  const m802 = modelOf(models, 802);
  const batteryState = numberAt(m802, 'State');
  const storage =
    mapped(CHA_ST, numberAt(m802, 'ChaSt')) ??
    mapped(CHA_ST, numberAt(modelOf(models, 124), 'ChaSt')) ??
    mapped(BATTERY_STATE, batteryState);
  const fault =
    inverter === 'fault' ||
    batteryState === BATTERY_STATE_FAULT ||
    numberAt(modelOf(models, 713), 'Sta') === STORAGE_STA_ERROR;
  if (fault) return 'fault';
  return deviceClass === 'battery' ? (storage ?? inverter) : (inverter ?? storage);
}

/** Bit symbols per `${modelId}.${point}`: built from the definition once, not on every poll. */
const SYMBOLS = new Map<string, ReadonlyMap<number, string>>();

function symbolsOf(modelId: number, point: string): ReadonlyMap<number, string> {
  const key = `${modelId}.${point}`;
  let symbols = SYMBOLS.get(key);
  if (symbols === undefined) {
    const built = new Map<number, string>();
    for (const p of definitionOf(modelId)?.group.points ?? []) {
      if (p.name === point) for (const s of p.symbols ?? []) built.set(s.value, s.name);
    }
    symbols = built;
    SYMBOLS.set(key, symbols);
  }
  return symbols;
}

/** Names of the set bits of a bitfield point, from the model definition's symbols. */
function activeBits(model: DecodedModel, point: string): string[] | undefined {
  const raw = model.points[point];
  if (raw === null || raw === undefined || typeof raw === 'string') return undefined;
  // The usual answer, no alarm, without a BigInt per poll.
  if (raw === 0 || raw === 0n) return [];
  const value = BigInt(typeof raw === 'bigint' ? raw : Math.trunc(raw));
  if (value === 0n) return [];
  const symbols = symbolsOf(model.id, point);
  const names: string[] = [];
  for (let bit = 0; bit < 64 && value >> BigInt(bit) !== 0n; bit++) {
    if (((value >> BigInt(bit)) & 1n) === 1n) names.push(symbols.get(bit) ?? `${point.toUpperCase()}_BIT_${bit}`);
  }
  return names;
}

/**
 * Alarms: inverter 701 Alrm (else Evt1 of 101-103/111-113), battery 802 Evt1, meter Evt; one
 * reading per set bit named by the model's symbol. When every source reads 0, one empty-string
 * alarm clears the device's alarms; when no source is implemented, nothing is said.
 */
function alarmReadings(sink: ReadingSink, models: Models, deviceClass: DeviceClass | undefined): void {
  const sources: Array<[DecodedModel | undefined, string]> = [];
  if (deviceClass === 'meter') {
    sources.push([firstModel(models, METER_MODELS), 'Evt']);
  } else {
    const m701 = modelOf(models, DER_MEASURE_AC);
    const inverterSource: [DecodedModel | undefined, string] =
      m701 && m701.points.Alrm !== null && m701.points.Alrm !== undefined
        ? [m701, 'Alrm']
        : [firstModel(models, LEGACY_INVERTER_MODELS), 'Evt1'];
    sources.push(inverterSource, [modelOf(models, 802), 'Evt1']);
  }
  let reported = false;
  const names = new Set<string>();
  for (const [model, point] of sources) {
    if (!model) continue;
    const bits = activeBits(model, point);
    if (bits === undefined) continue;
    reported = true;
    for (const name of bits) names.add(name);
  }
  if (!reported) return;
  if (names.size === 0) sink.text('alarm', '');
  for (const name of names) sink.text('alarm', name);
}

/**
 * Canonical readings of one poll. Sources per measurand, first implemented wins:
 * AC (inverters): 701 > 111-113 > 101-103 (W, VAr/Var, VA, PF, A, per-phase A/V, Hz, TmpCab);
 *   energyExported 701 TotWhInj > WH > 122 ActWh; energyImported 701 TotWhAbs.
 * Storage: SoC 802 > 713 > 124 ChaState; SoH 802 > 713; availableEnergy 713 WHAvail > 802 estimate;
 *   maxCharge/DischargePower 702 WCha/WDisChaRteMax > 802; 124 WChaMax for charge; activePower
 *   from 802 W only when no AC source reports it.
 * Meters (class 'meter' only): 211-214 > 201-204, W/VAR/PF negated (see the module comment).
 */
export function readingsOf(deviceId: string, models: Models, ts: number, options: ReadingsOptions = {}): Reading[] {
  const sink = new ReadingSink(deviceId, ts);
  const quirks = options.quirks ?? {};
  let deviceClass = options.deviceClass;
  if (deviceClass === undefined) {
    try {
      deviceClass = classify(models);
    } catch {
      deviceClass = undefined;
    }
  }
  if (deviceClass === 'meter') {
    const flip = quirks.meterPowerExportPositive !== true;
    for (const id of METER_MODELS) {
      const m = modelOf(models, id);
      if (m) meterReadings(sink, m, flip);
    }
  } else {
    const m701 = modelOf(models, DER_MEASURE_AC);
    if (m701) derMeasureReadings(sink, m701);
    for (const id of LEGACY_INVERTER_MODELS) {
      const m = modelOf(models, id);
      if (m) inverterReadings(sink, m);
    }
    sink.number('energyExported', numberAt(modelOf(models, 122), 'ActWh'));
    storageReadings(sink, models, quirks);
  }
  const state = operatingStateOf(models, deviceClass);
  if (state) sink.text('operatingState', state);
  alarmReadings(sink, models, deviceClass);
  return sink.readings;
}
