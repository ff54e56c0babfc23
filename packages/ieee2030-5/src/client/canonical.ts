/**
 * Pure conversions between 2030.5 resources and Gridseam's canonical model (packages/model):
 * - DERControlBase → setpoint signals (SETPOINT_KINDS; W in the generator sign convention of docs/MODEL.md);
 * - a DERControl → a ProgramEvent-shaped object for the control engine;
 * - canonical capabilities / state / telemetry → DERCapability, DERSettings, DERStatus, DERAvailability and
 *   MirrorUsagePoint / MirrorMeterReading bodies, with 2030.5 power-of-ten scaling.
 */
import type { EventStatus as CanonicalEventStatus, SetpointKind, Signal } from '@gridseam/model';
import { bitsToHex } from '../codec/hex.ts';
import { controlTypesOf } from '../events/control-types.ts';
import type { ControlType } from '../events/types.ts';
import { DER_CONTROL_TYPE_BITS, DOE_CONTROL_BITS, EVENT_STATUS } from '../resources/enums.ts';
import type {
  ActivePower,
  DERAvailability,
  DERCapability,
  DERControl,
  DERControlBase,
  DERSettings,
  DERStatus,
  MirrorMeterReading,
  MirrorUsagePoint,
  ReactivePower,
} from '../resources/types.ts';

/** {multiplier, value} → value × 10^multiplier. */
export function fromScaled(quantity: { multiplier: number; value: number }): number {
  const result = quantity.value * 10 ** quantity.multiplier;
  // 10 ** -n is inexact; round to the precision the multiplier carries.
  return quantity.multiplier < 0 ? Number(result.toFixed(-quantity.multiplier)) : result;
}

const INT16_MAX = 32_767;

/**
 * A number as {multiplier, value} with an Int16 value (ActivePower, ReactivePower, VoltageRMS...): the smallest
 * multiplier >= `minMultiplier` whose rounded value fits, so precision is kept where the range allows.
 */
export function toScaled(amount: number, minMultiplier = 0): { multiplier: number; value: number } {
  if (!Number.isFinite(amount)) throw new RangeError(`cannot scale ${amount}`);
  for (let multiplier = minMultiplier; multiplier <= 9; multiplier++) {
    const value = Math.round(amount / 10 ** multiplier);
    if (Math.abs(value) <= INT16_MAX) return { multiplier, value };
  }
  throw new RangeError(`${amount} is too large for a 2030.5 power value`);
}

export interface CanonicalSignal {
  kind: SetpointKind;
  value: number;
  /** The 2030.5 control type it came from. */
  controlType: ControlType;
  unit?: string;
}

export interface SignalConversion {
  signals: CanonicalSignal[];
  /** Control types present that have no canonical setpoint (curves, power factor, var...) or lack setMaxW. */
  unsupported: ControlType[];
}

export interface ConversionContext {
  /** DERSettings.setMaxW in W: needed for the percentage modes opModMaxLimW and opModFixedW. */
  setMaxW?: number;
}

/** The canonical setpoint for one control type and its 2030.5 value, or undefined when there is none. */
export function signalFor(
  type: ControlType,
  value: unknown,
  context: ConversionContext = {},
): CanonicalSignal | undefined {
  const power = (v: unknown) => fromScaled(v as ActivePower);
  switch (type) {
    case 'opModExpLimW':
      return { kind: 'exportLimit', value: Math.max(0, power(value)), controlType: type, unit: 'W' };
    case 'opModImpLimW':
      return { kind: 'importLimit', value: Math.max(0, power(value)), controlType: type, unit: 'W' };
    case 'opModGenLimW':
      return { kind: 'generationLimit', value: Math.max(0, power(value)), controlType: type, unit: 'W' };
    case 'opModLoadLimW':
      return { kind: 'loadLimit', value: Math.max(0, power(value)), controlType: type, unit: 'W' };
    // 2030.5 active power is positive when delivered to the grid: the same as the generator convention.
    case 'opModTargetW':
      return { kind: 'fixedW', value: power(value), controlType: type, unit: 'W' };
    // CSIP-AUS 1.3: "target aggregate output" of storage: output positive (discharge), as the generator convention.
    case 'opModStorageTargetW':
      return { kind: 'fixedW', value: power(value), controlType: type, unit: 'W' };
    case 'opModConnect':
      return { kind: 'connect', value: value === true ? 1 : 0, controlType: type };
    case 'opModEnergize':
      return { kind: 'energize', value: value === true ? 1 : 0, controlType: type };
    // PerCent (hundredths of a percent) of setMaxW.
    case 'opModMaxLimW':
      if (context.setMaxW === undefined || typeof value !== 'number') return undefined;
      return { kind: 'generationLimit', value: (value / 10_000) * context.setMaxW, controlType: type, unit: 'W' };
    // SignedPerCent of setMaxW; positive = output.
    case 'opModFixedW':
      if (context.setMaxW === undefined || typeof value !== 'number') return undefined;
      return { kind: 'fixedW', value: (value / 10_000) * context.setMaxW, controlType: type, unit: 'W' };
    default:
      return undefined;
  }
}

/** Every control type of a DERControlBase as canonical signals, and what could not be converted. */
export function signalsFromControlBase(base: DERControlBase, context: ConversionContext = {}): SignalConversion {
  const signals: CanonicalSignal[] = [];
  const unsupported: ControlType[] = [];
  for (const type of controlTypesOf(base)) {
    const signal = signalFor(type, base[type], context);
    if (signal === undefined) unsupported.push(type);
    else signals.push(signal);
  }
  return { signals, unsupported };
}

/** The canonical ProgramEvent shape (packages/model ProgramEvent), built from a DERControl. */
export interface ProgramEventDraft {
  id: string;
  programId: string;
  source: 'ieee2030.5';
  externalId: string;
  primacy: number;
  intervals: Array<{ start: number; durationS: number; signals: Signal[] }>;
  targets: { deviceIds?: string[]; siteIds?: string[]; groupIds?: string[] };
  randomizeStartS?: number;
  randomizeDurationS?: number;
  status: CanonicalEventStatus;
  statusHistory: Array<{ status: CanonicalEventStatus; at: number; reason?: string }>;
  createdAt: number;
}

export interface ProgramEventContext extends ConversionContext {
  /** Canonical program id the event belongs to. */
  programId: string;
  /** DERProgram.primacy (0..255 in the canonical model). */
  primacy: number;
  /** Server time − local time, seconds: interval times are converted to the local clock. */
  clockOffset?: number;
  /** Local epoch seconds now (for 'completed'). */
  now?: number;
  targets?: ProgramEventDraft['targets'];
  /** Event id; default `sep.<mRID>`. */
  id?: string;
}

/**
 * A DERControl as a canonical ProgramEvent (times in epoch ms on the local clock). Undefined when the control
 * carries no control type with a canonical setpoint (ProgramEvent intervals need at least one signal).
 */
export function programEventFromControl(
  control: DERControl,
  context: ProgramEventContext,
): ProgramEventDraft | undefined {
  const { signals } = signalsFromControlBase(control.DERControlBase, context);
  if (signals.length === 0 || control.interval.duration < 1) return undefined;
  const offset = context.clockOffset ?? 0;
  const toLocalMs = (serverSeconds: number) => Math.max(0, (serverSeconds - offset) * 1000);
  const mRID = control.mRID.toLowerCase();
  const status = canonicalStatus(control, context.now === undefined ? undefined : context.now + offset);
  const event: ProgramEventDraft = {
    id: context.id ?? `sep.${mRID}`,
    programId: context.programId,
    source: 'ieee2030.5',
    externalId: mRID,
    primacy: Math.max(0, Math.min(255, context.primacy)),
    intervals: [
      {
        start: toLocalMs(control.interval.start),
        durationS: Math.min(31_536_000, control.interval.duration),
        signals: signals.map((signal) =>
          signal.unit === undefined
            ? { kind: signal.kind, value: signal.value }
            : { kind: signal.kind, value: signal.value, unit: signal.unit },
        ),
      },
    ],
    targets: context.targets ?? {},
    status,
    statusHistory: [{ status, at: toLocalMs(control.EventStatus.dateTime) }],
    createdAt: toLocalMs(control.creationTime),
  };
  if (control.randomizeStart !== undefined) event.randomizeStartS = control.randomizeStart;
  if (control.randomizeDuration !== undefined) event.randomizeDurationS = control.randomizeDuration;
  return event;
}

function canonicalStatus(control: DERControl, serverNow: number | undefined): CanonicalEventStatus {
  switch (control.EventStatus.currentStatus) {
    case EVENT_STATUS.cancelled:
    case EVENT_STATUS.cancelledWithRandomization:
      return 'cancelled';
    case EVENT_STATUS.superseded:
      return 'superseded';
    default: {
      const end = control.interval.start + control.interval.duration;
      if (serverNow !== undefined && serverNow >= end) return 'completed';
      return control.EventStatus.currentStatus === EVENT_STATUS.active ? 'active' : 'scheduled';
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reports up: DER documents
// ---------------------------------------------------------------------------------------------------------------

/** DERType (2030.5): the kinds Gridseam devices map to. */
export const DER_TYPE = {
  notApplicable: 0,
  virtualOrMixed: 1,
  photovoltaic: 4,
  otherStorage: 80,
  electricVehicle: 81,
  evse: 82,
  pvAndStorage: 83,
} as const;

/** Canonical capability data (a subset of packages/model Capabilities plus what the DER class implies). */
export interface CanonicalCapability {
  /** DERType; default virtualOrMixed. */
  derType?: number;
  ratings?: { maxW?: number; maxVA?: number; maxVarInjected?: number; maxVarAbsorbed?: number; nominalV?: number };
  storage?: { capacityWh: number; maxChargeW: number; maxDischargeW: number };
  /** Setpoint kinds the device can follow (packages/model Capabilities.controls). */
  controls: readonly SetpointKind[];
}

/** Which 2030.5 DERControlType bits a set of canonical setpoint kinds covers. */
export function modesFromControls(controls: readonly SetpointKind[]): { modes: string; doeModes: string } {
  const modes: number[] = [];
  const doe: number[] = [];
  const has = (kind: SetpointKind) => controls.includes(kind);
  if (has('chargeLimit') || has('fixedW')) modes.push(DER_CONTROL_TYPE_BITS.charge);
  if (has('dischargeLimit') || has('fixedW')) modes.push(DER_CONTROL_TYPE_BITS.discharge);
  if (has('connect')) modes.push(DER_CONTROL_TYPE_BITS.opModConnect);
  if (has('energize')) modes.push(DER_CONTROL_TYPE_BITS.opModEnergize);
  if (has('fixedW')) modes.push(DER_CONTROL_TYPE_BITS.opModFixedW, DER_CONTROL_TYPE_BITS.opModTargetW);
  if (has('generationLimit')) modes.push(DER_CONTROL_TYPE_BITS.opModMaxLimW);
  if (has('exportLimit')) doe.push(DOE_CONTROL_BITS.opModExpLimW);
  if (has('importLimit')) doe.push(DOE_CONTROL_BITS.opModImpLimW);
  if (has('generationLimit')) doe.push(DOE_CONTROL_BITS.opModGenLimW);
  if (has('loadLimit')) doe.push(DOE_CONTROL_BITS.opModLoadLimW);
  return { modes: bitsToHex(modes, 4), doeModes: bitsToHex(doe, 1) };
}

export interface ProfileContext {
  /** CSIP-AUS adds doeModesSupported / doeModesEnabled. */
  profile: 'csip' | 'csip-aus';
}

export function derCapabilityFrom(input: CanonicalCapability, context: ProfileContext): DERCapability {
  const { modes, doeModes } = modesFromControls(input.controls);
  const maxW = input.ratings?.maxW ?? input.storage?.maxDischargeW ?? 0;
  const doc: DERCapability = {
    modesSupported: modes,
    rtgMaxW: toScaled(maxW),
    type: input.derType ?? DER_TYPE.virtualOrMixed,
  };
  const ratings = input.ratings;
  if (ratings?.maxVA !== undefined) doc.rtgMaxVA = toScaled(ratings.maxVA);
  if (ratings?.maxVarInjected !== undefined) doc.rtgMaxVar = toScaled(ratings.maxVarInjected);
  if (ratings?.maxVarAbsorbed !== undefined) doc.rtgMaxVarNeg = toScaled(ratings.maxVarAbsorbed);
  if (ratings?.nominalV !== undefined) doc.rtgVNom = toScaled(ratings.nominalV, -1);
  if (input.storage !== undefined) {
    doc.rtgMaxChargeRateW = toScaled(input.storage.maxChargeW);
    doc.rtgMaxDischargeRateW = toScaled(input.storage.maxDischargeW);
    doc.rtgMaxWh = toScaled(input.storage.capacityWh);
  }
  if (context.profile === 'csip-aus') doc.doeModesSupported = doeModes;
  return doc;
}

export interface CanonicalSettings {
  /** Local epoch seconds of the last change of settings. */
  updatedTime: number;
  maxW: number;
  maxVA?: number;
  maxChargeW?: number;
  maxDischargeW?: number;
  capacityWh?: number;
  /** Ramp rate in hundredths of %setMaxW per second (DefaultDERControl.setGradW); default 0 = no limit. */
  gradW?: number;
  /** Setpoint kinds enabled. */
  controls: readonly SetpointKind[];
}

export function derSettingsFrom(input: CanonicalSettings, context: ProfileContext): DERSettings {
  const { modes, doeModes } = modesFromControls(input.controls);
  const doc: DERSettings = {
    modesEnabled: modes,
    setGradW: input.gradW ?? 0,
    setMaxW: toScaled(input.maxW),
    updatedTime: input.updatedTime,
  };
  if (input.maxVA !== undefined) doc.setMaxVA = toScaled(input.maxVA);
  if (input.maxChargeW !== undefined) doc.setMaxChargeRateW = toScaled(input.maxChargeW);
  if (input.maxDischargeW !== undefined) doc.setMaxDischargeRateW = toScaled(input.maxDischargeW);
  if (input.capacityWh !== undefined) doc.setMaxWh = toScaled(input.capacityWh);
  if (context.profile === 'csip-aus') doc.doeModesEnabled = doeModes;
  return doc;
}

export interface CanonicalStatus {
  /** Epoch seconds of the reading (server time). */
  readingTime: number;
  connected?: boolean;
  /** Available to operate (not in fault / maintenance). */
  available?: boolean;
  /** Producing or consuming power now. */
  operating?: boolean;
  /** Storage: state of charge, 0..100 %. */
  socPct?: number;
  /** Storage mode: 'charging' | 'discharging' | 'holding'. */
  storageMode?: 'charging' | 'discharging' | 'holding';
}

/** ConnectStatusType bits: 0 connected, 1 available, 2 operating. */
function connectStatus(status: CanonicalStatus): string {
  const bits: number[] = [];
  if (status.connected) bits.push(0);
  if (status.available ?? status.connected) bits.push(1);
  if (status.operating) bits.push(2);
  return bitsToHex(bits, 1);
}

/** StorageModeStatusType: 0 charging, 1 discharging, 2 holding. */
const STORAGE_MODE = { charging: 0, discharging: 1, holding: 2 } as const;

export function derStatusFrom(input: CanonicalStatus): DERStatus {
  const at = input.readingTime;
  const doc: DERStatus = { readingTime: at };
  if (input.connected !== undefined) doc.genConnectStatus = { dateTime: at, value: connectStatus(input) };
  // OperationalModeStatusType: 0 N/A, 1 off, 2 operational mode, 3 test mode.
  if (input.operating !== undefined || input.connected !== undefined) {
    doc.operationalModeStatus = { dateTime: at, value: input.connected === false ? 1 : 2 };
  }
  if (input.socPct !== undefined && Number.isFinite(input.socPct)) {
    // PerCent: hundredths of a percent.
    const soc = Math.round(Math.max(0, Math.min(100, input.socPct)) * 100);
    doc.stateOfChargeStatus = { dateTime: at, value: soc };
    doc.storConnectStatus = { dateTime: at, value: connectStatus(input) };
  }
  if (input.storageMode !== undefined) doc.storageModeStatus = { dateTime: at, value: STORAGE_MODE[input.storageMode] };
  return doc;
}

export interface CanonicalAvailability {
  readingTime: number;
  /** Active power the DER could deliver on request, W. */
  availableW?: number;
  /** Reactive power available, var. */
  availableVar?: number;
  /** Seconds the DER can sustain the available power. */
  availabilityDurationS?: number;
  /** Storage: seconds it can charge at its max rate. */
  maxChargeDurationS?: number;
  /** Storage: reserve kept, % of capacity. */
  reservePct?: number;
}

export function derAvailabilityFrom(input: CanonicalAvailability): DERAvailability {
  const doc: DERAvailability = { readingTime: input.readingTime };
  if (input.availabilityDurationS !== undefined) doc.availabilityDuration = Math.round(input.availabilityDurationS);
  if (input.maxChargeDurationS !== undefined) doc.maxChargeDuration = Math.round(input.maxChargeDurationS);
  if (input.reservePct !== undefined)
    doc.reservePercent = Math.round(Math.max(0, Math.min(100, input.reservePct)) * 100);
  if (input.availableVar !== undefined) doc.statVarAvail = toScaled(input.availableVar) as ReactivePower;
  if (input.availableW !== undefined) doc.statWAvail = toScaled(input.availableW);
  return doc;
}

// ---------------------------------------------------------------------------------------------------------------
// Reports up: mirror metering
// ---------------------------------------------------------------------------------------------------------------

/** Where a MirrorUsagePoint measures: the site's connection point, or a DER. */
export type MirrorRole = 'site' | 'der';

/** The readings CSIP-AUS asks for at site and DER level. */
export type MirrorQuantity = 'realPower' | 'reactivePower' | 'voltage';

export const MIRROR_QUANTITIES: readonly MirrorQuantity[] = ['realPower', 'reactivePower', 'voltage'];

/** RoleFlagsType: bit 0 isMirror, 1 isPremisesAggregationPoint, 3 isDER, 6 isSubmeter (site 03, DER 49). */
const ROLE_FLAGS: Record<MirrorRole, string> = { site: '03', der: '49' };

/**
 * ReadingType per quantity (uom: 38 W, 63 var, 29 V; kind 37 power; dataQualifier 2 average; commodity 1
 * electricity secondary metered; phase 0 / 129 phase A-N for voltage). flowDirection 1 (forward, from the grid to the
 * customer) for the site: its values are positive on import, so canonical site W (positive on export) is negated;
 * DER power uses flowDirection 19 (reverse, delivered to the grid): positive when generating, as canonical.
 */
function readingType(role: MirrorRole, quantity: MirrorQuantity, intervalLength: number) {
  const base = { accumulationBehaviour: 12, commodity: 1, dataQualifier: 2, intervalLength };
  switch (quantity) {
    case 'realPower':
      return { ...base, flowDirection: role === 'site' ? 1 : 19, kind: 37, phase: 0, powerOfTenMultiplier: 0, uom: 38 };
    case 'reactivePower':
      return { ...base, flowDirection: role === 'site' ? 1 : 19, kind: 37, phase: 0, powerOfTenMultiplier: 0, uom: 63 };
    case 'voltage':
      return { ...base, kind: 0, phase: 129, powerOfTenMultiplier: -1, uom: 29 };
  }
}

/** The sign and power of ten applied to a canonical value before it is written as Reading.value. */
function readingValue(role: MirrorRole, quantity: MirrorQuantity, canonical: number): number {
  if (quantity === 'voltage') return Math.round(canonical * 10);
  return Math.round(role === 'site' ? -canonical : canonical);
}

const QUANTITY_CODE: Record<MirrorQuantity, string> = { realPower: '01', reactivePower: '02', voltage: '03' };
const ROLE_CODE: Record<MirrorRole, string> = { site: '0b', der: '49' };

/**
 * Deterministic mRIDs (so a re-POST after a restart updates instead of duplicating): the first 22 hex digits of
 * the EndDevice LFDI, a role byte, a quantity byte (00 for the usage point itself), then the PEN as 8 hex digits
 * (the CSIP-AUS convention of ending mRIDs with the manufacturer's IANA PEN).
 */
export function mirrorMrid(lfdi: string, role: MirrorRole, quantity: MirrorQuantity | undefined, pen: number): string {
  const penHex = (pen >>> 0).toString(16).padStart(8, '0');
  return `${lfdi.toLowerCase().slice(0, 20)}${ROLE_CODE[role]}${quantity === undefined ? '00' : QUANTITY_CODE[quantity]}${penHex}`;
}

export interface MirrorUsagePointInput {
  endDeviceLfdi: string;
  role: MirrorRole;
  pen: number;
  /** Reading interval, seconds (the postRate). */
  intervalLength: number;
  quantities?: readonly MirrorQuantity[];
  postRate?: number;
}

export function mirrorUsagePointFrom(input: MirrorUsagePointInput): MirrorUsagePoint {
  const quantities = input.quantities ?? MIRROR_QUANTITIES;
  const doc: MirrorUsagePoint = {
    mRID: mirrorMrid(input.endDeviceLfdi, input.role, undefined, input.pen),
    description: input.role === 'site' ? 'Site measurement' : 'DER measurement',
    roleFlags: ROLE_FLAGS[input.role],
    serviceCategoryKind: 0,
    status: 1,
    deviceLFDI: input.endDeviceLfdi.toLowerCase(),
    MirrorMeterReading: quantities.map((quantity) => ({
      mRID: mirrorMrid(input.endDeviceLfdi, input.role, quantity, input.pen),
      description: `${input.role} ${quantity}`,
      ReadingType: readingType(input.role, quantity, input.intervalLength),
    })),
  };
  if (input.postRate !== undefined) doc.postRate = input.postRate;
  return doc;
}

/** Canonical averages over one interval: W and var in the generator convention, V line-to-neutral. */
export interface CanonicalMeasurements {
  realPowerW?: number;
  reactivePowerVar?: number;
  voltageV?: number;
}

export interface MirrorReadingsInput {
  endDeviceLfdi: string;
  role: MirrorRole;
  pen: number;
  /** Interval start (server time, epoch s) and length (s). */
  start: number;
  duration: number;
  measurements: CanonicalMeasurements;
}

/** The MirrorMeterReadings (one Reading each) to POST into the usage point's href. */
export function mirrorReadingsFrom(input: MirrorReadingsInput): MirrorMeterReading[] {
  const out: MirrorMeterReading[] = [];
  const values: Array<[MirrorQuantity, number | undefined]> = [
    ['realPower', input.measurements.realPowerW],
    ['reactivePower', input.measurements.reactivePowerVar],
    ['voltage', input.measurements.voltageV],
  ];
  for (const [quantity, value] of values) {
    if (value === undefined || !Number.isFinite(value)) continue;
    out.push({
      mRID: mirrorMrid(input.endDeviceLfdi, input.role, quantity, input.pen),
      Reading: {
        timePeriod: { start: input.start, duration: input.duration },
        value: readingValue(input.role, quantity, value),
      },
    });
  }
  return out;
}
