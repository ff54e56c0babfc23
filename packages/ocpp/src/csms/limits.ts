/**
 * Canonical charging limits as charging profiles, and reading them back from a composite schedule.
 * Pure.
 *
 * A limit becomes one Absolute profile: startSchedule = limit.start, one period from 0, duration up
 * to the expiry and validTo = expiry, so that a station whose gateway goes quiet falls back by itself
 * (a profile past validTo no longer counts in the composite). Each (evse, purpose) has one
 * stable profile id, so a new limit replaces the previous one (1.6 §5.16 SetChargingProfile; 2.0.1 K01.FR.05).
 */
import { GridseamError, type ValidationIssue } from '@gridseam/model';
import type {
  ChargingLimit,
  ChargingProfileSpec,
  ChargingRateUnit,
  CompositePeriod,
  CompositeSchedule,
  ElectricalFacts,
  ProfilePurpose,
} from '../contract.ts';
import { convertLimit } from '../smart-charging/units.ts';
import type * as V16 from '../types/v16.ts';
import type * as V201 from '../types/v201.ts';

/** Profile ids this CSMS uses: base + evseId * 8 + purpose slot (distinct per station, evse and purpose). */
export const PROFILE_ID_BASE = 1_000_000;
const PURPOSE_SLOT: Readonly<Record<ProfilePurpose, number>> = {
  StationMax: 1,
  TxDefault: 2,
  Tx: 3,
  ExternalConstraints: 4,
};
/** The purposes a limit can be installed with, in slot order. */
export const LIMIT_PURPOSES: readonly ProfilePurpose[] = ['StationMax', 'TxDefault', 'Tx'];
/** Keeps profile ids inside a signed 32-bit integer. */
export const MAX_EVSE_ID = 100_000;

/** Tolerance for the read-back: limits travel with one decimal (1.6 multipleOf 0.1; 2.0.1 "one digit fraction"). */
export const READ_BACK_TOLERANCE = 0.1;

export function limitProfileId(evseId: number, purpose: ProfilePurpose): number {
  return PROFILE_ID_BASE + evseId * 8 + PURPOSE_SLOT[purpose];
}

export function limitPurpose(limit: ChargingLimit): ProfilePurpose {
  return limit.purpose ?? (limit.evseId === 0 ? 'StationMax' : 'TxDefault');
}

export function checkEvseId(evseId: number, path = '/evseId'): void {
  if (!Number.isInteger(evseId) || evseId < 0 || evseId > MAX_EVSE_ID) {
    const message = `evseId must be an integer from 0 to ${MAX_EVSE_ID}`;
    throw new GridseamError('GW_ERR_VALIDATION', message, { issues: [{ path, message }] });
  }
}

/** Refuses limits that cannot become a profile: GW_ERR_VALIDATION with the field paths. */
export function checkLimit(limit: ChargingLimit, now: number): void {
  const issues: ValidationIssue[] = [];
  if (!Number.isInteger(limit.evseId) || limit.evseId < 0 || limit.evseId > MAX_EVSE_ID) {
    issues.push({ path: '/evseId', message: `must be an integer from 0 to ${MAX_EVSE_ID}` });
  }
  if (!Number.isFinite(limit.value) || limit.value < 0)
    issues.push({ path: '/value', message: 'must be a finite number >= 0' });
  if (limit.unit !== 'A' && limit.unit !== 'W') issues.push({ path: '/unit', message: "must be 'A' or 'W'" });
  if (!Number.isFinite(limit.start)) issues.push({ path: '/start', message: 'must be epoch ms' });
  if (!Number.isFinite(limit.expiry)) issues.push({ path: '/expiry', message: 'must be epoch ms' });
  else if (limit.expiry <= limit.start) issues.push({ path: '/expiry', message: 'must be after start' });
  else if (limit.expiry <= now) issues.push({ path: '/expiry', message: 'is in the past' });
  if (limit.purpose === 'StationMax' && limit.evseId !== 0) {
    // 1.6 §3.13.1: ChargePointMaxProfile only on connector 0; 2.0.1 K01 likewise only on evseId 0.
    issues.push({ path: '/purpose', message: 'StationMax applies to evseId 0 only' });
  }
  if (issues.length > 0) {
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `invalid charging limit: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      {
        issues,
      },
    );
  }
}

/** The profile for a limit. Values are rounded down to one decimal, so the profile never exceeds the limit. */
export function limitProfile(
  limit: ChargingLimit,
  purpose: ProfilePurpose,
  stackLevel: number,
  transactionId: string | undefined,
): ChargingProfileSpec {
  const spec: ChargingProfileSpec = {
    id: limitProfileId(limit.evseId, purpose),
    stackLevel,
    purpose,
    kind: 'Absolute',
    startSchedule: limit.start,
    durationS: Math.ceil((limit.expiry - limit.start) / 1000),
    validTo: limit.expiry,
    unit: limit.unit,
    periods: [{ startPeriod: 0, limit: Math.floor(limit.value * 10 + 1e-9) / 10 }],
  };
  if (transactionId !== undefined) spec.transactionId = transactionId;
  return spec;
}

/**
 * The composite's limit at `at`, in `unit`. A station whose clock runs a little ahead reports a
 * schedule starting after our `at`: its first period then stands for "now". Undefined when the
 * composite has no period.
 */
export function compositeLimitAt(
  composite: CompositeSchedule,
  at: number,
  unit: ChargingRateUnit,
  facts: ElectricalFacts,
): number | undefined {
  let chosen: CompositePeriod | undefined;
  for (const period of composite.periods) {
    if (chosen === undefined || period.start <= at) chosen = period;
    if (period.start > at) break;
  }
  if (chosen === undefined) return undefined;
  return convertLimit(chosen.limit, composite.unit, unit, facts, chosen.numberPhases);
}

function parseTime(iso: string | undefined, fallback: number): number {
  if (iso === undefined) return fallback;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? fallback : ms;
}

interface WireSchedulePeriod {
  startPeriod: number;
  limit: number;
  numberPhases?: number;
}

function periodsOf(start: number, periods: readonly WireSchedulePeriod[]): CompositePeriod[] {
  return [...periods]
    .sort((a, b) => a.startPeriod - b.startPeriod)
    .map((p) => {
      const out: CompositePeriod = { start: start + p.startPeriod * 1000, limit: p.limit };
      if (p.numberPhases !== undefined) out.numberPhases = p.numberPhases;
      return out;
    });
}

function noSchedule(identity: string, detail: string): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_REJECTED', `${identity} reported no composite schedule: ${detail}`, {
    details: { identity },
  });
}

/** 1.6 GetCompositeSchedule.conf (§6.22) to the contract's CompositeSchedule. */
export function compositeFromV16(
  identity: string,
  response: V16.GetCompositeScheduleResponse,
  evseId: number,
  durationS: number,
  now: number,
): CompositeSchedule {
  if (response.status !== 'Accepted') throw noSchedule(identity, `status ${response.status}`);
  const schedule = response.chargingSchedule;
  if (!schedule || schedule.chargingSchedulePeriod.length === 0) throw noSchedule(identity, 'no periods');
  const start = parseTime(response.scheduleStart ?? schedule.startSchedule, now);
  return {
    evseId: response.connectorId ?? evseId,
    start,
    durationS: schedule.duration ?? durationS,
    unit: schedule.chargingRateUnit,
    periods: periodsOf(start, schedule.chargingSchedulePeriod),
  };
}

/** 2.0.1 GetCompositeScheduleResponse (K08) to the contract's CompositeSchedule. */
export function compositeFromV201(
  identity: string,
  response: V201.GetCompositeScheduleResponse,
  now: number,
): CompositeSchedule {
  if (response.status !== 'Accepted') {
    throw noSchedule(
      identity,
      `status ${response.status}${response.statusInfo ? ` (${response.statusInfo.reasonCode})` : ''}`,
    );
  }
  const schedule = response.schedule;
  if (!schedule || schedule.chargingSchedulePeriod.length === 0) throw noSchedule(identity, 'no periods');
  const start = parseTime(schedule.scheduleStart, now);
  return {
    evseId: schedule.evseId,
    start,
    durationS: schedule.duration,
    unit: schedule.chargingRateUnit,
    periods: periodsOf(start, schedule.chargingSchedulePeriod),
  };
}
