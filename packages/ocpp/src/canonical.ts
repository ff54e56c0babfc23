/**
 * OCPP to the canonical model (@gridseam/model), pure: BootNotification to `StationInfo`,
 * MeterValues (1.6 MeterValues/StopTransaction.transactionData, 2.0.1 MeterValues and
 * TransactionEvent.meterValue) to `Reading`s, connector status to `EvseStatus` and
 * `OperatingState`, a station to `Capabilities`.
 *
 * Readings follow the model's sign rule (units.ts): power INTO the charger (Power.Active.Import)
 * is negative, power out of it (Power.Active.Export, V2G) positive; energy registers are unsigned.
 * Values that cannot be trusted (non-numeric 1.6 strings, SignedData, unknown units, negative
 * registers, SoC outside 0..100) are dropped, never thrown; so are unknown measurands. Power.Offered
 * and Current.Offered are skipped on purpose: they echo the charging limit the CSMS itself set,
 * and reading them back as a capability (maxChargePower) would let the control engine ratchet
 * its own limit down. Current.Export is skipped too: the model gives current no sign.
 */
import {
  type Capabilities,
  GridseamError,
  type NumericMeasurand,
  type NumericReading,
  type OperatingState,
  type Phase,
  type Reading,
  unitOf,
} from '@gridseam/model';
import type { EvseStatus, StationInfo } from './contract.ts';
import type { V16, V201 } from './types/index.ts';

// ---------------------------------------------------------------------------------------------
// BootNotification

/** 1.6 BootNotification.req (OCPP 1.6 §6.2); the serial is the charge point's, else the charge box's. */
export function stationInfoFromBoot16(identity: string, req: V16.BootNotificationRequest): StationInfo {
  const serial = req.chargePointSerialNumber ?? req.chargeBoxSerialNumber;
  return {
    identity,
    version: '1.6',
    vendor: req.chargePointVendor,
    model: req.chargePointModel,
    ...(serial !== undefined ? { serial } : {}),
    ...(req.firmwareVersion !== undefined ? { firmware: req.firmwareVersion } : {}),
    evses: [],
  };
}

/** 2.0.1 BootNotificationRequest (OCPP 2.0.1 Part 2 B01): `chargingStation` carries the identity facts. */
export function stationInfoFromBoot201(identity: string, req: V201.BootNotificationRequest): StationInfo {
  const station = req.chargingStation;
  return {
    identity,
    version: '2.0.1',
    vendor: station.vendorName,
    model: station.model,
    ...(station.serialNumber !== undefined ? { serial: station.serialNumber } : {}),
    ...(station.firmwareVersion !== undefined ? { firmware: station.firmwareVersion } : {}),
    evses: [],
  };
}

// ---------------------------------------------------------------------------------------------
// MeterValues

/** What a measurand is, physically; decides the accepted units and the value checks. */
type Quantity =
  | 'energy'
  | 'power'
  | 'reactivePower'
  | 'powerFactor'
  | 'current'
  | 'voltage'
  | 'frequency'
  | 'soc'
  | 'temperature';

interface MeasurandRule {
  measurand: NumericMeasurand;
  quantity: Quantity;
  /** Import and export of one power quantity are netted into one signed reading. */
  side?: 'import' | 'export';
}

/** OCPP measurand -> canonical measurand (1.6 §7.31 Measurand; 2.0.1 Part 2 §2.16 MeasurandEnumType). */
const MEASURAND_RULES: Readonly<Record<string, MeasurandRule>> = {
  'Energy.Active.Import.Register': { measurand: 'energyImported', quantity: 'energy' },
  'Energy.Active.Export.Register': { measurand: 'energyExported', quantity: 'energy' },
  'Power.Active.Import': { measurand: 'activePower', quantity: 'power', side: 'import' },
  'Power.Active.Export': { measurand: 'activePower', quantity: 'power', side: 'export' },
  'Power.Reactive.Import': { measurand: 'reactivePower', quantity: 'reactivePower', side: 'import' },
  'Power.Reactive.Export': { measurand: 'reactivePower', quantity: 'reactivePower', side: 'export' },
  'Power.Factor': { measurand: 'powerFactor', quantity: 'powerFactor' },
  'Current.Import': { measurand: 'current', quantity: 'current' },
  Voltage: { measurand: 'voltage', quantity: 'voltage' },
  Frequency: { measurand: 'frequency', quantity: 'frequency' },
  SoC: { measurand: 'stateOfCharge', quantity: 'soc' },
  Temperature: { measurand: 'temperature', quantity: 'temperature' },
};

/**
 * Accepted units per quantity as a power of ten to the canonical unit. A missing unit means the
 * quantity's own unit: 1.6 §7.45 and 2.0.1 UnitOfMeasureType default to Wh only for energy, and
 * name no default for the rest. 'Celcius' is 1.6's misspelling, kept in its schema.
 */
const UNIT_EXPONENTS: Readonly<Record<Quantity, Readonly<Record<string, number>>>> = {
  energy: { Wh: 0, kWh: 3 },
  power: { W: 0, kW: 3 },
  reactivePower: { var: 0, kvar: 3 },
  powerFactor: {},
  current: { A: 0 },
  voltage: { V: 0 },
  frequency: { Hz: 0, Hertz: 0 },
  soc: { Percent: 0 },
  temperature: { Celsius: 0, Celcius: 0, Fahrenheit: 0, K: 0 },
};

/** The largest |multiplier| accepted in 2.0.1 UnitOfMeasureType (10^±12 covers mWh to TWh). */
const MAX_MULTIPLIER = 12;

/** OCPP phase -> canonical phase; line-to-neutral readings belong to their line. */
const PHASE_OF: Readonly<Record<string, Phase>> = {
  L1: 'A',
  L2: 'B',
  L3: 'C',
  N: 'N',
  'L1-N': 'A',
  'L2-N': 'B',
  'L3-N': 'C',
  'L1-L2': 'AB',
  'L2-L3': 'BC',
  'L3-L1': 'CA',
};

/**
 * When one meter value carries the same quantity at several locations, the lowest rank wins:
 * the outlet (1.6 and 2.0.1 default location) for electrical values, the station body for
 * temperature (location EV is the car's battery).
 */
function locationRank(quantity: Quantity, location: string | undefined): number {
  const order =
    quantity === 'temperature'
      ? ['Body', 'Outlet', 'Inlet', 'Cable', 'EV']
      : ['Outlet', 'Inlet', 'Cable', 'EV', 'Body'];
  const index = order.indexOf(location ?? 'Outlet');
  return index < 0 ? order.length : index;
}

/** `value` x 10^exponent computed on the decimal text, so 1.1 kWh is exactly 1100 Wh. */
function shiftDecimal(value: number, exponent: number): number {
  if (exponent === 0) return value;
  const [mantissa, ownExponent = '0'] = String(value).split('e');
  return Number(`${mantissa}e${Number(ownExponent) + exponent}`);
}

function roundMicro(value: number): number {
  return Math.round(value * 1e6) / 1e6 + 0;
}

/** The value in the canonical unit of `quantity`, or undefined when the unit does not fit or the value is implausible. */
function canonicalValue(
  quantity: Quantity,
  raw: number,
  unit: string | undefined,
  multiplier: number,
): number | undefined {
  let value: number;
  if (unit === undefined) {
    value = shiftDecimal(raw, multiplier);
  } else {
    const exponents = UNIT_EXPONENTS[quantity];
    if (!Object.hasOwn(exponents, unit)) return undefined;
    value = shiftDecimal(raw, exponents[unit]! + multiplier);
    if (unit === 'Fahrenheit') value = roundMicro(((value - 32) * 5) / 9);
    else if (unit === 'K') value = roundMicro(value - 273.15);
  }
  if (!Number.isFinite(value)) return undefined;
  value += 0; // -0 reads as 0
  switch (quantity) {
    case 'energy':
    case 'current':
    case 'voltage':
    case 'frequency':
      return value >= 0 ? value : undefined;
    case 'soc':
      return value >= 0 && value <= 100 ? value : undefined;
    default:
      return value;
  }
}

/** A decimal number as text: sign, digits, optional fraction and exponent; no spaces, commas or hex. */
const DECIMAL_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses an OCPP 1.6 SampledValue.value strictly; undefined for anything but a finite decimal. */
export function parseDecimal16(text: unknown): number | undefined {
  if (typeof text !== 'string' || text.length > 64 || !DECIMAL_TEXT.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const MAX_EPOCH_MS = 253402300799999;

/**
 * An RFC 3339 date-time (the schemas' `format: date-time`) as epoch ms, or undefined: a zone is
 * required, calendar fields must exist (no 30 February, no hour 24), leap seconds are refused.
 */
export function epochMsOf(text: unknown): number | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day)
    return undefined;
  // Milliseconds from the first three fraction digits (decimal text, no float rounding: .29 is 290).
  const fraction = match[7] ? Number(`${match[7].slice(1)}00`.slice(0, 3)) : 0;
  let offsetMinutes = 0;
  if (!match[8]) {
    const offsetHours = Number(match[10]);
    const offsetMins = Number(match[11]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const ms = local + fraction - offsetMinutes * 60_000;
  return ms >= 0 && ms <= MAX_EPOCH_MS ? ms : undefined;
}

interface Candidate {
  rank: number;
  value: number;
}

/** Collects converted samples, keeps the best location per (time, measurand, phase, side), nets power. */
class ReadingCollector {
  readonly #entries = new Map<
    string,
    { ts: number; measurand: NumericMeasurand; phase: Phase | undefined; sides: Map<string, Candidate> }
  >();

  add(ts: number, rule: MeasurandRule, phase: Phase | undefined, value: number, rank: number): void {
    const key = `${ts}|${rule.measurand}|${phase ?? ''}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { ts, measurand: rule.measurand, phase, sides: new Map() };
      this.#entries.set(key, entry);
    }
    const side = rule.side ?? '';
    const existing = entry.sides.get(side);
    if (!existing || rank < existing.rank) entry.sides.set(side, { rank, value });
  }

  readings(deviceId: string): Reading[] {
    const readings: Reading[] = [];
    for (const { ts, measurand, phase, sides } of this.#entries.values()) {
      const plain = sides.get('');
      // Model sign rule: export positive, import negative; both present: the net flow.
      const value =
        plain !== undefined ? plain.value : (sides.get('export')?.value ?? 0) - (sides.get('import')?.value ?? 0) + 0;
      const reading: NumericReading = {
        deviceId,
        ts,
        measurand,
        value,
        unit: unitOf(measurand) as NumericReading['unit'],
      };
      if (phase !== undefined) reading.phase = phase;
      readings.push(reading);
    }
    return readings;
  }
}

/** One OCPP sampled value, version-neutral. */
interface RawSample {
  measurand: string;
  value: number;
  unit: string | undefined;
  multiplier: number;
  phase: string | undefined;
  location: string | undefined;
}

function collect(collector: ReadingCollector, ts: number, sample: RawSample): void {
  if (!Object.hasOwn(MEASURAND_RULES, sample.measurand)) return;
  const rule = MEASURAND_RULES[sample.measurand]!;
  let phase: Phase | undefined;
  if (sample.phase !== undefined) {
    if (!Object.hasOwn(PHASE_OF, sample.phase)) return;
    phase = PHASE_OF[sample.phase];
  }
  const value = canonicalValue(rule.quantity, sample.value, sample.unit, sample.multiplier);
  if (value === undefined) return;
  collector.add(ts, rule, phase, value, locationRank(rule.quantity, sample.location));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The default measurand of a sampled value (1.6 §7.45, 2.0.1 SampledValueType). */
const DEFAULT_MEASURAND = 'Energy.Active.Import.Register';

/**
 * 1.6 MeterValues.req `meterValue` (also StopTransaction.req `transactionData`) as canonical
 * readings of `identity`. Values are strings in 1.6 (§7.45): parsed strictly; SignedData skipped.
 */
export function readingsFromMeterValues16(
  identity: string,
  meterValue: V16.MeterValuesRequest['meterValue'],
): Reading[] {
  const collector = new ReadingCollector();
  if (!Array.isArray(meterValue)) return [];
  for (const entry of meterValue as unknown[]) {
    if (!isRecord(entry) || !Array.isArray(entry.sampledValue)) continue;
    const ts = epochMsOf(entry.timestamp);
    if (ts === undefined) continue;
    for (const sampled of entry.sampledValue as unknown[]) {
      if (!isRecord(sampled) || sampled.format === 'SignedData') continue;
      const value = parseDecimal16(sampled.value);
      if (value === undefined) continue;
      collect(collector, ts, {
        measurand: optionalString(sampled.measurand) ?? DEFAULT_MEASURAND,
        value,
        unit: optionalString(sampled.unit),
        multiplier: 0,
        phase: optionalString(sampled.phase),
        location: optionalString(sampled.location),
      });
    }
  }
  return collector.readings(identity);
}

/**
 * 2.0.1 MeterValueType[] (MeterValuesRequest.meterValue, TransactionEventRequest.meterValue) as
 * canonical readings of `identity`. `unitOfMeasure.multiplier` is a power of ten (2.0.1 Part 2
 * UnitOfMeasureType); an integer multiplier beyond ±12 drops the value.
 */
export function readingsFromMeterValues201(identity: string, meterValue: V201.MeterValueType[]): Reading[] {
  const collector = new ReadingCollector();
  if (!Array.isArray(meterValue)) return [];
  for (const entry of meterValue as unknown[]) {
    if (!isRecord(entry) || !Array.isArray(entry.sampledValue)) continue;
    const ts = epochMsOf(entry.timestamp);
    if (ts === undefined) continue;
    for (const sampled of entry.sampledValue as unknown[]) {
      if (!isRecord(sampled) || typeof sampled.value !== 'number' || !Number.isFinite(sampled.value)) continue;
      const unitOfMeasure = isRecord(sampled.unitOfMeasure) ? sampled.unitOfMeasure : {};
      const multiplier = unitOfMeasure.multiplier ?? 0;
      if (typeof multiplier !== 'number' || !Number.isInteger(multiplier) || Math.abs(multiplier) > MAX_MULTIPLIER)
        continue;
      collect(collector, ts, {
        measurand: optionalString(sampled.measurand) ?? DEFAULT_MEASURAND,
        value: sampled.value,
        unit: optionalString(unitOfMeasure.unit),
        multiplier,
        phase: optionalString(sampled.phase),
        location: optionalString(sampled.location),
      });
    }
  }
  return collector.readings(identity);
}

// ---------------------------------------------------------------------------------------------
// Status

const EVSE_STATUSES_16: Readonly<Record<V16.StatusNotificationRequestStatus, EvseStatus>> = {
  Available: 'Available',
  Preparing: 'Preparing',
  Charging: 'Charging',
  SuspendedEVSE: 'SuspendedEVSE',
  SuspendedEV: 'SuspendedEV',
  Finishing: 'Finishing',
  Reserved: 'Reserved',
  Unavailable: 'Unavailable',
  Faulted: 'Faulted',
};

const EVSE_STATUSES_201: Readonly<Record<V201.ConnectorStatusEnumType, EvseStatus>> = {
  Available: 'Available',
  Occupied: 'Occupied',
  Reserved: 'Reserved',
  Unavailable: 'Unavailable',
  Faulted: 'Faulted',
};

/** 1.6 ChargePointStatus (§7.7); a value outside the enumeration (unvalidated input) reads as Unavailable. */
export function evseStatusOf16(status: V16.StatusNotificationRequestStatus): EvseStatus {
  return Object.hasOwn(EVSE_STATUSES_16, status) ? EVSE_STATUSES_16[status] : 'Unavailable';
}

/** 2.0.1 ConnectorStatusEnumType (Part 2 §3.21); a value outside it reads as Unavailable. */
export function evseStatusOf201(status: V201.ConnectorStatusEnumType): EvseStatus {
  return Object.hasOwn(EVSE_STATUSES_201, status) ? EVSE_STATUSES_201[status] : 'Unavailable';
}

const OPERATING_STATE_OF: Readonly<Record<EvseStatus, OperatingState>> = {
  Available: 'idle',
  Preparing: 'starting',
  Charging: 'charging',
  SuspendedEV: 'standby',
  SuspendedEVSE: 'standby',
  Finishing: 'standby',
  Reserved: 'idle',
  Unavailable: 'unavailable',
  Faulted: 'fault',
  // 2.0.1: a vehicle is plugged in; whether it charges comes from TransactionEvent.chargingState.
  Occupied: 'standby',
};

/** For a station with several EVSEs: the most active state wins (a charging EVSE makes the station charging). */
const STATION_STATE_PRIORITY: readonly OperatingState[] = [
  'charging',
  'starting',
  'standby',
  'idle',
  'fault',
  'unavailable',
];

/**
 * The canonical operating state of an EVSE status: Available/Reserved idle, Preparing starting,
 * Charging charging, SuspendedEV/SuspendedEVSE/Finishing/Occupied standby, Faulted fault,
 * Unavailable unavailable. Given the statuses of all a station's EVSEs, the most active one in
 * the order charging, starting, standby, idle, fault, unavailable (none: unavailable).
 */
export function operatingStateOf(status: EvseStatus | readonly EvseStatus[]): OperatingState {
  if (typeof status === 'string')
    return Object.hasOwn(OPERATING_STATE_OF, status) ? OPERATING_STATE_OF[status] : 'unavailable';
  let best = STATION_STATE_PRIORITY.length - 1;
  for (const one of status) best = Math.min(best, STATION_STATE_PRIORITY.indexOf(operatingStateOf(one)));
  return STATION_STATE_PRIORITY[best]!;
}

const CHARGING_STATE_OF: Readonly<Record<V201.ChargingStateEnumType, OperatingState>> = {
  Charging: 'charging',
  EVConnected: 'starting',
  SuspendedEV: 'standby',
  SuspendedEVSE: 'standby',
  Idle: 'idle',
};

/** 2.0.1 TransactionEventRequest.transactionInfo.chargingState (Part 2 §3.12) as an operating state. */
export function operatingStateOfChargingState201(state: V201.ChargingStateEnumType): OperatingState {
  return Object.hasOwn(CHARGING_STATE_OF, state) ? CHARGING_STATE_OF[state] : 'unavailable';
}

// ---------------------------------------------------------------------------------------------
// Capabilities

/** EvCapability.connectors is at most 64 (device.ts). */
const MAX_CONNECTORS = 64;

function requirePositive(name: string, value: number, allowZero: boolean): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0))
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `charger defaults: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`,
      {
        issues: [{ path: `/${name}`, message: `must be ${allowZero ? '>= 0' : '> 0'}` }],
      },
    );
}

/**
 * Canonical capabilities of a station: each EVSE's facts where the station or operator gave them,
 * else `defaults`. ratings.maxW sums voltage x current x phases over the EVSEs (capped by an
 * EVSE's own maxPowerW); with no EVSE known yet the station counts as one. Unidirectional:
 * OCPP 1.6 and 2.0.1 have no standard V2G discharge control.
 */
export function capabilitiesOf(
  station: StationInfo,
  defaults: { maxCurrentA: number; phases: 1 | 3; voltage: number },
): Capabilities {
  requirePositive('maxCurrentA', defaults.maxCurrentA, true);
  requirePositive('voltage', defaults.voltage, false);
  if (defaults.phases !== 1 && defaults.phases !== 3)
    throw new GridseamError('GW_ERR_VALIDATION', 'charger defaults: phases must be 1 or 3', {
      issues: [{ path: '/phases', message: 'must be 1 or 3' }],
    });
  const evses = station.evses.length > 0 ? station.evses : [{ evseId: 1 }];
  let maxW = 0;
  let maxCurrentA = 0;
  let phases: 1 | 3 = 1;
  for (const evse of evses) {
    const current = finiteOr(evse.maxCurrentA, defaults.maxCurrentA);
    const evsePhases = evse.phases ?? defaults.phases;
    const voltage = evse.voltage !== undefined && evse.voltage > 0 ? evse.voltage : defaults.voltage;
    const fromCurrent = voltage * current * evsePhases;
    const power =
      evse.maxPowerW !== undefined && evse.maxPowerW >= 0 ? Math.min(evse.maxPowerW, fromCurrent) : fromCurrent;
    maxW += power;
    maxCurrentA = Math.max(maxCurrentA, current);
    if (evsePhases === 3) phases = 3;
  }
  return {
    ratings: { maxW, nominalV: defaults.voltage },
    ev: {
      maxCurrentA,
      phases,
      connectors: Math.min(MAX_CONNECTORS, evses.length),
      bidirectional: false,
    },
    controls: ['evChargingLimit', 'loadLimit'],
  };
}

function finiteOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}
