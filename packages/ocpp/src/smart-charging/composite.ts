/**
 * The composite schedule of a station's installed charging profiles (OCPP 1.6 §3.13.4 "Stacking
 * charging profiles" and GetCompositeSchedule; 2.0.1 K08). Pure. The combination follows the
 * semantics libocpp documents (EVerest/libocpp doc/common/smart_charging_profiles.md):
 *
 * - only profiles valid at the instant count (validFrom inclusive, validTo exclusive);
 * - per purpose, the highest stackLevel whose schedule covers the instant wins;
 * - TxDefault is the starting limit (a profile on the EVSE beats one on EVSE 0), Tx (only for the
 *   matching transaction) overrides it, and StationMax (EVSE 0) and ExternalConstraints cap the
 *   result: it is never higher than either;
 * - Absolute starts at startSchedule (without one, at the transaction start), Recurring repeats
 *   Daily/Weekly from startSchedule, Relative anchors at the transaction start (no transaction: not
 *   in force); a schedule's duration ends it;
 * - where nothing is in force the default limit applies.
 *
 * EVSE 0 asks for the grid connection: only StationMax and ExternalConstraints on EVSE 0 count.
 */
import type {
  ChargingProfileSpec,
  ChargingRateUnit,
  CompositePeriod,
  CompositeSchedule,
  ElectricalFacts,
  InstalledProfile,
  SchedulePeriod,
} from '../contract.ts';
import { convertLimit } from './units.ts';

/**
 * Limits where no profile is in force: libocpp's CompositeScheduleDefaultLimitAmps (48 A) and
 * CompositeScheduleDefaultLimitWatts (33,120 W = 48 A x 230 V x 3), SmartChargingCtrlr
 * (EVerest/libocpp config/v2/component_config/standardized/SmartChargingCtrlr.json).
 */
export const DEFAULT_LIMIT_AMPS = 48;
export const DEFAULT_LIMIT_WATTS = 33_120;

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

export interface CompositeQuery {
  evseId: number;
  /** Epoch ms. */
  from: number;
  durationS: number;
  unit: ChargingRateUnit;
  facts: ElectricalFacts;
  /** Epoch ms the EVSE's transaction started; anchors Relative profiles. */
  txStart?: number;
  /** The EVSE's transaction; TxProfiles for other transactions do not count. */
  transactionId?: string;
  /** In `unit`; default DEFAULT_LIMIT_AMPS / DEFAULT_LIMIT_WATTS. */
  defaultLimit?: number;
}

/** One profile's contribution at an instant, already in the query's unit. */
interface Contribution {
  limit: number;
  numberPhases?: number;
}

function recurrenceMs(profile: ChargingProfileSpec): number | undefined {
  if (profile.recurrency === 'Daily') return DAY_MS;
  if (profile.recurrency === 'Weekly') return WEEK_MS;
  return undefined;
}

/** The start of the schedule instance in force at `t` (or the latest one before it), or undefined. */
function instanceStart(profile: ChargingProfileSpec, t: number, txStart: number | undefined): number | undefined {
  switch (profile.kind) {
    case 'Absolute':
      return profile.startSchedule ?? txStart;
    case 'Relative':
      return txStart;
    case 'Recurring': {
      const every = recurrenceMs(profile);
      const base = profile.startSchedule;
      if (every === undefined || base === undefined || t < base) return undefined;
      return base + Math.floor((t - base) / every) * every;
    }
  }
}

/** Seconds a schedule instance lasts; a recurring one never outlasts its recurrence. */
function instanceDurationS(profile: ChargingProfileSpec): number {
  const every = profile.kind === 'Recurring' ? recurrenceMs(profile) : undefined;
  const cap = every === undefined ? Number.POSITIVE_INFINITY : every / 1000;
  return Math.min(profile.durationS ?? Number.POSITIVE_INFINITY, cap);
}

function isValidAt(profile: ChargingProfileSpec, t: number): boolean {
  if (profile.validFrom !== undefined && t < profile.validFrom) return false;
  if (profile.validTo !== undefined && t >= profile.validTo) return false;
  return true;
}

/** The schedule period of `profile` in force at `t`, if any. */
export function periodInForce(
  profile: ChargingProfileSpec,
  t: number,
  txStart: number | undefined,
): SchedulePeriod | undefined {
  if (!isValidAt(profile, t)) return undefined;
  const start = instanceStart(profile, t, txStart);
  if (start === undefined || t < start) return undefined;
  const elapsedS = (t - start) / 1000;
  if (elapsedS >= instanceDurationS(profile)) return undefined;
  let found: SchedulePeriod | undefined;
  for (const period of profile.periods) {
    if (period.startPeriod <= elapsedS && (found === undefined || period.startPeriod >= found.startPeriod)) {
      found = period;
    }
  }
  return found;
}

/** Instants in (from, to) where `profile`'s contribution may change. */
function boundaries(profile: ChargingProfileSpec, from: number, to: number, txStart: number | undefined): number[] {
  const out: number[] = [];
  const add = (t: number): void => {
    if (t > from && t < to) out.push(t);
  };
  if (profile.validFrom !== undefined) add(profile.validFrom);
  if (profile.validTo !== undefined) add(profile.validTo);
  const durationS = instanceDurationS(profile);
  const addInstance = (start: number): void => {
    add(start);
    for (const period of profile.periods) add(start + period.startPeriod * 1000);
    if (Number.isFinite(durationS)) add(start + durationS * 1000);
  };
  if (profile.kind === 'Recurring') {
    const every = recurrenceMs(profile);
    const base = profile.startSchedule;
    if (every === undefined || base === undefined) return out;
    const first = Math.max(0, Math.floor((from - base) / every));
    const last = Math.floor((to - base) / every);
    for (let k = first; k <= last; k++) addInstance(base + k * every);
  } else {
    const start = instanceStart(profile, from, txStart);
    if (start !== undefined) addInstance(start);
  }
  return out;
}

interface Candidates {
  stationMax: ChargingProfileSpec[];
  externalStation: ChargingProfileSpec[];
  externalEvse: ChargingProfileSpec[];
  txDefaultEvse: ChargingProfileSpec[];
  txDefaultStation: ChargingProfileSpec[];
  tx: ChargingProfileSpec[];
}

function candidatesFor(installed: readonly InstalledProfile[], query: CompositeQuery): Candidates {
  const c: Candidates = {
    stationMax: [],
    externalStation: [],
    externalEvse: [],
    txDefaultEvse: [],
    txDefaultStation: [],
    tx: [],
  };
  const evse = query.evseId;
  for (const { evseId, profile } of installed) {
    switch (profile.purpose) {
      case 'StationMax':
        if (evseId === 0) c.stationMax.push(profile);
        break;
      case 'ExternalConstraints':
        if (evseId === 0) c.externalStation.push(profile);
        else if (evseId === evse) c.externalEvse.push(profile);
        break;
      case 'TxDefault':
        if (evse === 0) break;
        if (evseId === evse) c.txDefaultEvse.push(profile);
        else if (evseId === 0) c.txDefaultStation.push(profile);
        break;
      case 'Tx':
        if (evse !== 0 && evseId === evse && query.transactionId !== undefined) {
          if (profile.transactionId === undefined || profile.transactionId === query.transactionId) c.tx.push(profile);
        }
        break;
    }
  }
  return c;
}

/** The highest stack level among `profiles` in force at `t` (a tie goes to the one installed last). */
function winner(profiles: readonly ChargingProfileSpec[], t: number, query: CompositeQuery): Contribution | undefined {
  let best: { stackLevel: number; period: SchedulePeriod; unit: ChargingRateUnit } | undefined;
  for (const profile of profiles) {
    const period = periodInForce(profile, t, query.txStart);
    if (period === undefined) continue;
    if (best === undefined || profile.stackLevel >= best.stackLevel) {
      best = { stackLevel: profile.stackLevel, period, unit: profile.unit };
    }
  }
  if (best === undefined) return undefined;
  const contribution: Contribution = {
    limit: convertLimit(best.period.limit, best.unit, query.unit, query.facts, best.period.numberPhases),
  };
  if (best.period.numberPhases !== undefined) contribution.numberPhases = best.period.numberPhases;
  return contribution;
}

function combinedAt(c: Candidates, t: number, query: CompositeQuery, defaultLimit: number): Contribution {
  const base = winner(c.tx, t, query) ?? winner(c.txDefaultEvse, t, query) ?? winner(c.txDefaultStation, t, query);
  const caps = [
    winner(c.stationMax, t, query),
    winner(c.externalStation, t, query),
    winner(c.externalEvse, t, query),
  ].filter((x): x is Contribution => x !== undefined);
  const all = base === undefined ? caps : [base, ...caps];
  if (all.length === 0) return { limit: defaultLimit };
  let lowest = all[0]!;
  for (const x of all) if (x.limit < lowest.limit) lowest = x;
  return lowest;
}

/**
 * The composite schedule for `query.evseId` over [from, from + durationS): at least one period,
 * adjacent periods with the same limit and phases merged.
 */
export function compositeSchedule(installed: readonly InstalledProfile[], query: CompositeQuery): CompositeSchedule {
  const durationS = Math.max(0, query.durationS);
  const from = query.from;
  const to = from + durationS * 1000;
  const defaultLimit = query.defaultLimit ?? (query.unit === 'A' ? DEFAULT_LIMIT_AMPS : DEFAULT_LIMIT_WATTS);
  const candidates = candidatesFor(installed, query);
  const instants = new Set<number>([from]);
  for (const list of Object.values(candidates) as ChargingProfileSpec[][]) {
    for (const profile of list) for (const t of boundaries(profile, from, to, query.txStart)) instants.add(t);
  }
  const periods: CompositePeriod[] = [];
  for (const t of [...instants].sort((a, b) => a - b)) {
    const at = combinedAt(candidates, t, query, defaultLimit);
    const previous = periods[periods.length - 1];
    if (previous !== undefined && previous.limit === at.limit && previous.numberPhases === at.numberPhases) continue;
    const period: CompositePeriod = { start: t, limit: at.limit };
    if (at.numberPhases !== undefined) period.numberPhases = at.numberPhases;
    periods.push(period);
  }
  return { evseId: query.evseId, start: from, durationS, unit: query.unit, periods };
}

/** The limit of `schedule` at `at` (epoch ms); undefined outside [start, start + durationS). */
export function limitAt(schedule: CompositeSchedule, at: number): number | undefined {
  if (at < schedule.start || at >= schedule.start + schedule.durationS * 1000) return undefined;
  let limit: number | undefined;
  for (const period of schedule.periods) {
    if (period.start <= at) limit = period.limit;
    else break;
  }
  return limit;
}
