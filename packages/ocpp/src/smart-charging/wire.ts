/**
 * Charging profiles between the version-neutral `ChargingProfileSpec` (epoch ms) and the wire
 * JSON of OCPP 1.6 (`csChargingProfiles`, SetChargingProfile.req) and 2.0.1 (`ChargingProfileType`).
 * Pure. The converters keep what the wire can carry and refuse what it cannot (GW_ERR_VALIDATION,
 * GW_ERR_NOT_SUPPORTED); whether a station accepts the profile is `profileProblems`' question.
 */
import { GridseamError } from '@gridseam/model';
import type { ChargingProfileSpec, ProfileKind, ProfilePurpose, SchedulePeriod } from '../contract.ts';
import type * as V16 from '../types/v16.ts';
import type * as V201 from '../types/v201.ts';
import { roundLimit } from './units.ts';

/** 1.6 `csChargingProfiles` / `chargingProfile` (SetChargingProfile.req, RemoteStartTransaction.req). */
export type V16ChargingProfile = V16.SetChargingProfileRequest['csChargingProfiles'];
/** 2.0.1 `ChargingProfileType`. */
export type V201ChargingProfile = V201.ChargingProfileType;

type V16Purpose = V16ChargingProfile['chargingProfilePurpose'];
type V201Purpose = V201ChargingProfile['chargingProfilePurpose'];

const V16_PURPOSE: Readonly<Record<Exclude<ProfilePurpose, 'ExternalConstraints'>, V16Purpose>> = {
  StationMax: 'ChargePointMaxProfile',
  TxDefault: 'TxDefaultProfile',
  Tx: 'TxProfile',
};
const V201_PURPOSE: Readonly<Record<ProfilePurpose, V201Purpose>> = {
  StationMax: 'ChargingStationMaxProfile',
  TxDefault: 'TxDefaultProfile',
  Tx: 'TxProfile',
  ExternalConstraints: 'ChargingStationExternalConstraints',
};

function invert<K extends string, V extends string>(table: Readonly<Record<K, V>>): ReadonlyMap<V, K> {
  return new Map(Object.entries(table).map(([k, v]) => [v as V, k as K]));
}
const FROM_V16_PURPOSE = invert(V16_PURPOSE);
const FROM_V201_PURPOSE = invert(V201_PURPOSE);

function invalid(message: string, path: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, { issues: [{ path, message }] });
}

function isoOf(ms: number, path: string): string {
  if (!Number.isFinite(ms)) throw invalid(`${path} is not a finite epoch ms value`, path);
  return new Date(ms).toISOString();
}

function msOf(iso: string, path: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw invalid(`${path} is not a date-time: ${JSON.stringify(iso).slice(0, 40)}`, path);
  return ms;
}

function wholeSeconds(value: number, path: string): number {
  if (!Number.isInteger(value)) throw invalid(`${path} must be a whole number of seconds`, path);
  return value;
}

function finiteLimit(value: number, path: string): number {
  if (!Number.isFinite(value)) throw invalid(`${path} must be a finite number`, path);
  return roundLimit(value);
}

interface WirePeriod {
  startPeriod: number;
  limit: number;
  numberPhases?: number;
}

function periodsToWire(periods: readonly SchedulePeriod[], base: string): WirePeriod[] {
  return periods.map((p, i) => {
    const path = `${base}/${i}`;
    const out: WirePeriod = {
      startPeriod: wholeSeconds(p.startPeriod, `${path}/startPeriod`),
      limit: finiteLimit(p.limit, `${path}/limit`),
    };
    if (p.numberPhases !== undefined) out.numberPhases = wholeSeconds(p.numberPhases, `${path}/numberPhases`);
    return out;
  });
}

function periodsFromWire(periods: readonly WirePeriod[]): SchedulePeriod[] {
  return periods.map((p) => {
    const out: SchedulePeriod = { startPeriod: p.startPeriod, limit: p.limit };
    if (p.numberPhases !== undefined) out.numberPhases = p.numberPhases;
    return out;
  });
}

/** The fields both versions carry the same way around the schedule. */
interface CommonWire {
  stackLevel: number;
  chargingProfileKind: ProfileKind;
  recurrencyKind?: 'Daily' | 'Weekly';
  validFrom?: string;
  validTo?: string;
}

function commonToWire(spec: ChargingProfileSpec): CommonWire {
  const out: CommonWire = {
    stackLevel: wholeSeconds(spec.stackLevel, '/stackLevel'),
    chargingProfileKind: spec.kind,
  };
  if (spec.recurrency !== undefined) out.recurrencyKind = spec.recurrency;
  if (spec.validFrom !== undefined) out.validFrom = isoOf(spec.validFrom, '/validFrom');
  if (spec.validTo !== undefined) out.validTo = isoOf(spec.validTo, '/validTo');
  return out;
}

function commonFromWire(wire: CommonWire, id: number, purpose: ProfilePurpose): ChargingProfileSpec {
  const spec: ChargingProfileSpec = {
    id,
    stackLevel: wire.stackLevel,
    purpose,
    kind: wire.chargingProfileKind,
    unit: 'A',
    periods: [],
  };
  if (wire.recurrencyKind !== undefined) spec.recurrency = wire.recurrencyKind;
  if (wire.validFrom !== undefined) spec.validFrom = msOf(wire.validFrom, '/validFrom');
  if (wire.validTo !== undefined) spec.validTo = msOf(wire.validTo, '/validTo');
  return spec;
}

/**
 * To 1.6 `csChargingProfiles`. 1.6 has no ChargingStationExternalConstraints (GW_ERR_NOT_SUPPORTED)
 * and its transactionId is an integer (GW_ERR_VALIDATION otherwise).
 */
export function toV16Profile(spec: ChargingProfileSpec): V16ChargingProfile {
  if (spec.purpose === 'ExternalConstraints') {
    throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'OCPP 1.6 has no ExternalConstraints charging profile purpose', {
      details: { purpose: spec.purpose },
    });
  }
  const schedule: V16ChargingProfile['chargingSchedule'] = {
    chargingRateUnit: spec.unit,
    chargingSchedulePeriod: periodsToWire(spec.periods, '/chargingSchedule/chargingSchedulePeriod'),
  };
  if (spec.durationS !== undefined) schedule.duration = wholeSeconds(spec.durationS, '/chargingSchedule/duration');
  if (spec.startSchedule !== undefined) {
    schedule.startSchedule = isoOf(spec.startSchedule, '/chargingSchedule/startSchedule');
  }
  if (spec.minChargingRate !== undefined) {
    schedule.minChargingRate = finiteLimit(spec.minChargingRate, '/chargingSchedule/minChargingRate');
  }
  const profile: V16ChargingProfile = {
    chargingProfileId: wholeSeconds(spec.id, '/chargingProfileId'),
    ...commonToWire(spec),
    chargingProfilePurpose: V16_PURPOSE[spec.purpose],
    chargingSchedule: schedule,
  };
  if (spec.transactionId !== undefined) {
    if (!/^-?\d{1,15}$/.test(spec.transactionId)) {
      throw invalid('OCPP 1.6 transactionId must be an integer', '/transactionId');
    }
    profile.transactionId = Number(spec.transactionId);
  }
  return profile;
}

export function fromV16Profile(json: V16ChargingProfile): ChargingProfileSpec {
  const purpose = FROM_V16_PURPOSE.get(json.chargingProfilePurpose);
  if (purpose === undefined) throw invalid('unknown chargingProfilePurpose', '/chargingProfilePurpose');
  const spec = commonFromWire(json, json.chargingProfileId, purpose);
  const schedule = json.chargingSchedule;
  spec.unit = schedule.chargingRateUnit;
  spec.periods = periodsFromWire(schedule.chargingSchedulePeriod);
  if (json.transactionId !== undefined) spec.transactionId = String(json.transactionId);
  if (schedule.startSchedule !== undefined) {
    spec.startSchedule = msOf(schedule.startSchedule, '/chargingSchedule/startSchedule');
  }
  if (schedule.duration !== undefined) spec.durationS = schedule.duration;
  if (schedule.minChargingRate !== undefined) spec.minChargingRate = schedule.minChargingRate;
  return spec;
}

/**
 * To 2.0.1 `ChargingProfileType`: one ChargingScheduleType (its id = the profile id), limits
 * rounded to one decimal ("Accepts at most one digit fraction", ChargingSchedulePeriodType.limit).
 */
export function toV201Profile(spec: ChargingProfileSpec): V201ChargingProfile {
  const schedule: V201.ChargingScheduleType = {
    id: wholeSeconds(spec.id, '/id'),
    chargingRateUnit: spec.unit,
    chargingSchedulePeriod: periodsToWire(spec.periods, '/chargingSchedule/0/chargingSchedulePeriod'),
  };
  if (spec.startSchedule !== undefined) {
    schedule.startSchedule = isoOf(spec.startSchedule, '/chargingSchedule/0/startSchedule');
  }
  if (spec.durationS !== undefined) schedule.duration = wholeSeconds(spec.durationS, '/chargingSchedule/0/duration');
  if (spec.minChargingRate !== undefined) {
    schedule.minChargingRate = finiteLimit(spec.minChargingRate, '/chargingSchedule/0/minChargingRate');
  }
  const profile: V201ChargingProfile = {
    id: wholeSeconds(spec.id, '/id'),
    ...commonToWire(spec),
    chargingProfilePurpose: V201_PURPOSE[spec.purpose],
    chargingSchedule: [schedule],
  };
  if (spec.transactionId !== undefined) {
    if (spec.transactionId.length > 36) throw invalid('transactionId is longer than 36 characters', '/transactionId');
    profile.transactionId = spec.transactionId;
  }
  return profile;
}

/**
 * From 2.0.1 `ChargingProfileType`. Only single-schedule profiles: up to three schedules are an
 * ISO 15118 feature (the EV picks one), which a version-neutral spec cannot hold (GW_ERR_NOT_SUPPORTED).
 */
export function fromV201Profile(json: V201ChargingProfile): ChargingProfileSpec {
  const purpose = FROM_V201_PURPOSE.get(json.chargingProfilePurpose);
  if (purpose === undefined) throw invalid('unknown chargingProfilePurpose', '/chargingProfilePurpose');
  if (json.chargingSchedule.length !== 1) {
    throw new GridseamError(
      'GW_ERR_NOT_SUPPORTED',
      `charging profiles with ${json.chargingSchedule.length} schedules are not supported (exactly one expected)`,
      { details: { schedules: json.chargingSchedule.length } },
    );
  }
  const schedule = json.chargingSchedule[0]!;
  const spec = commonFromWire(json, json.id, purpose);
  spec.unit = schedule.chargingRateUnit;
  spec.periods = periodsFromWire(schedule.chargingSchedulePeriod);
  if (json.transactionId !== undefined) spec.transactionId = json.transactionId;
  if (schedule.startSchedule !== undefined) {
    spec.startSchedule = msOf(schedule.startSchedule, '/chargingSchedule/0/startSchedule');
  }
  if (schedule.duration !== undefined) spec.durationS = schedule.duration;
  if (schedule.minChargingRate !== undefined) spec.minChargingRate = schedule.minChargingRate;
  return spec;
}
