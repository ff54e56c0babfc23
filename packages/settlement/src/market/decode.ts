/**
 * Decoding an aggregation from untrusted JSON (the API's PUT body): types, ranges and sizes
 * checked field by field; every problem named with its JSON Pointer path in one GW_ERR_VALIDATION.
 * Prototype-poisoning keys are GW_ERR_HOSTILE_INPUT. Cross-field rules (factor sums, minimum size,
 * overlaps) are validateAggregation's, not the decoder's.
 */
import type {
  Aggregation,
  AggregationMember,
  DistributionFactor,
  Iso,
  RegistrationState,
  RetailEnrolment,
} from '../contract.ts';
import { ISOS, REGISTRATION_STATES } from './aggregation.ts';
import { ID_PATTERN, Issues, isFiniteNumber, isInstant, isRecord, onlyKeys } from './check.ts';

/** Bounds of what one aggregation may hold. */
export const AGGREGATION_LIMITS = {
  members: 100_000,
  pricingNodes: 1_000,
  distributionFactors: 10_000,
  retailProgramsPerMember: 32,
  history: 1_000,
  /** kW of one member; a DER aggregation's members are distribution-connected. */
  memberCapacityKw: 1_000_000,
  text: 256,
  note: 1_024,
} as const;

/** Market resource ids and pnode names: letters, digits and . _ : / - (no spaces, no leading sign). */
export const MARKET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

const AGGREGATION_KEYS = new Set([
  'id',
  'iso',
  'resourceId',
  'name',
  'participationModel',
  'minimumSizeKw',
  'pricingNodes',
  'distributionFactors',
  'members',
  'utility',
  'registration',
  'groupId',
  'awardPrimacy',
]);
const FACTOR_KEYS = new Set(['pnode', 'factor', 'validFrom', 'validTo']);
const MEMBER_KEYS = new Set(['deviceId', 'siteId', 'capacityKw', 'pnode', 'validFrom', 'validTo', 'retailPrograms']);
const RETAIL_KEYS = new Set(['programId', 'allowsWholesaleStacking', 'validFrom', 'validTo']);
const UTILITY_KEYS = new Set(['name', 'reviewDays']);
const REGISTRATION_KEYS = new Set(['state', 'history']);
const HISTORY_KEYS = new Set(['state', 'at', 'actor', 'note']);

function text(value: unknown, path: string, issues: Issues, max: number = AGGREGATION_LIMITS.text): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    issues.add(path, `must be a non-empty string of at most ${max} characters`);
    return '';
  }
  return value;
}

function id(value: unknown, path: string, issues: Issues): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    issues.add(path, 'must be an identifier (letters, digits, . _ : -; at most 128)');
    return '';
  }
  return value;
}

function marketName(value: unknown, path: string, issues: Issues): string {
  if (typeof value !== 'string' || !MARKET_NAME_PATTERN.test(value)) {
    issues.add(path, 'must be a market name (letters, digits, . _ : / -; at most 128)');
    return '';
  }
  return value;
}

function instant(value: unknown, path: string, issues: Issues): number {
  if (!isInstant(value)) {
    issues.add(path, 'must be an instant, integer epoch ms');
    return 0;
  }
  return value;
}

function validity(
  record: Record<string, unknown>,
  path: string,
  issues: Issues,
): { validFrom: number; validTo?: number } {
  const validFrom = instant(record.validFrom, `${path}/validFrom`, issues);
  if (record.validTo === undefined) return { validFrom };
  const validTo = instant(record.validTo, `${path}/validTo`, issues);
  if (validTo <= validFrom && isInstant(record.validTo)) issues.add(`${path}/validTo`, 'must be after validFrom');
  return { validFrom, validTo };
}

function array(value: unknown, path: string, issues: Issues, max: number, min = 0): unknown[] {
  if (!Array.isArray(value)) {
    issues.add(path, 'must be an array');
    return [];
  }
  if (value.length > max) {
    issues.add(path, `must hold at most ${max} items`);
    return [];
  }
  if (value.length < min) issues.add(path, `must hold at least ${min} item${min === 1 ? '' : 's'}`);
  return value;
}

function record(value: unknown, path: string, issues: Issues, keys: ReadonlySet<string>): Record<string, unknown> {
  if (!isRecord(value)) {
    issues.add(path, 'must be an object');
    return {};
  }
  onlyKeys(value, keys, path, issues);
  return value;
}

function factor(value: unknown, path: string, issues: Issues): DistributionFactor {
  const r = record(value, path, issues, FACTOR_KEYS);
  const f = r.factor;
  if (!isFiniteNumber(f) || f < 0 || f > 1) issues.add(`${path}/factor`, 'must be a number in [0, 1]');
  return {
    pnode: marketName(r.pnode, `${path}/pnode`, issues),
    factor: isFiniteNumber(f) ? f : 0,
    ...validity(r, path, issues),
  };
}

function retail(value: unknown, path: string, issues: Issues): RetailEnrolment {
  const r = record(value, path, issues, RETAIL_KEYS);
  if (r.allowsWholesaleStacking !== undefined && typeof r.allowsWholesaleStacking !== 'boolean')
    issues.add(`${path}/allowsWholesaleStacking`, 'must be a boolean');
  return {
    programId: id(r.programId, `${path}/programId`, issues),
    ...(r.allowsWholesaleStacking === true ? { allowsWholesaleStacking: true } : {}),
    ...(r.allowsWholesaleStacking === false ? { allowsWholesaleStacking: false } : {}),
    ...validity(r, path, issues),
  };
}

function member(value: unknown, path: string, issues: Issues): AggregationMember {
  const r = record(value, path, issues, MEMBER_KEYS);
  const kw = r.capacityKw;
  if (!isFiniteNumber(kw) || kw < 0 || kw > AGGREGATION_LIMITS.memberCapacityKw)
    issues.add(`${path}/capacityKw`, `must be a number in [0, ${AGGREGATION_LIMITS.memberCapacityKw}]`);
  const programs =
    r.retailPrograms === undefined
      ? undefined
      : array(r.retailPrograms, `${path}/retailPrograms`, issues, AGGREGATION_LIMITS.retailProgramsPerMember).map(
          (e, i) => retail(e, `${path}/retailPrograms/${i}`, issues),
        );
  return {
    deviceId: id(r.deviceId, `${path}/deviceId`, issues),
    siteId: id(r.siteId, `${path}/siteId`, issues),
    capacityKw: isFiniteNumber(kw) ? kw : 0,
    pnode: marketName(r.pnode, `${path}/pnode`, issues),
    ...validity(r, path, issues),
    ...(programs === undefined ? {} : { retailPrograms: programs }),
  };
}

function state(value: unknown, path: string, issues: Issues): RegistrationState {
  if (typeof value !== 'string' || !REGISTRATION_STATES.includes(value as RegistrationState)) {
    issues.add(path, `must be one of ${REGISTRATION_STATES.join(', ')}`);
    return 'draft';
  }
  return value as RegistrationState;
}

function registration(value: unknown, path: string, issues: Issues): Aggregation['registration'] {
  const r = record(value, path, issues, REGISTRATION_KEYS);
  const history = array(r.history, `${path}/history`, issues, AGGREGATION_LIMITS.history).map((h, i) => {
    const e = record(h, `${path}/history/${i}`, issues, HISTORY_KEYS);
    return {
      state: state(e.state, `${path}/history/${i}/state`, issues),
      at: instant(e.at, `${path}/history/${i}/at`, issues),
      actor: text(e.actor, `${path}/history/${i}/actor`, issues),
      ...(e.note === undefined
        ? {}
        : { note: text(e.note, `${path}/history/${i}/note`, issues, AGGREGATION_LIMITS.note) }),
    };
  });
  return { state: state(r.state, `${path}/state`, issues), history };
}

/**
 * An aggregation from untrusted JSON. `registration` may be absent (a new draft with no history:
 * the API keeps the stored registration, which changes only through transitionRegistration).
 * Throws GW_ERR_VALIDATION with every problem's path, GW_ERR_HOSTILE_INPUT on poisoned keys.
 */
export function decodeAggregation(value: unknown): Aggregation {
  const issues = new Issues();
  const r = record(value, '', issues, AGGREGATION_KEYS);
  if (!isRecord(value)) issues.throwIfAny('aggregation');
  if (typeof r.iso !== 'string' || !ISOS.includes(r.iso as Iso))
    issues.add('/iso', `must be one of ${ISOS.join(', ')}`);
  if (
    r.minimumSizeKw !== undefined &&
    (!isFiniteNumber(r.minimumSizeKw) || r.minimumSizeKw < 0 || r.minimumSizeKw > 1e6)
  )
    issues.add('/minimumSizeKw', 'must be a number in [0, 1000000]');
  if (
    r.awardPrimacy !== undefined &&
    !(
      typeof r.awardPrimacy === 'number' &&
      Number.isInteger(r.awardPrimacy) &&
      r.awardPrimacy >= 0 &&
      r.awardPrimacy <= 255
    )
  )
    issues.add('/awardPrimacy', 'must be an integer in [0, 255]');
  const pricingNodes = array(r.pricingNodes, '/pricingNodes', issues, AGGREGATION_LIMITS.pricingNodes, 1).map((p, i) =>
    marketName(p, `/pricingNodes/${i}`, issues),
  );
  if (new Set(pricingNodes).size !== pricingNodes.length) issues.add('/pricingNodes', 'must not repeat a pnode');
  const distributionFactors = array(
    r.distributionFactors,
    '/distributionFactors',
    issues,
    AGGREGATION_LIMITS.distributionFactors,
  ).map((f, i) => factor(f, `/distributionFactors/${i}`, issues));
  const members = array(r.members, '/members', issues, AGGREGATION_LIMITS.members).map((m, i) =>
    member(m, `/members/${i}`, issues),
  );
  const utility = record(r.utility, '/utility', issues, UTILITY_KEYS);
  const reviewDays = utility.reviewDays;
  if (
    reviewDays !== undefined &&
    !(typeof reviewDays === 'number' && Number.isInteger(reviewDays) && reviewDays >= 0 && reviewDays <= 3650)
  )
    issues.add('/utility/reviewDays', 'must be an integer number of days in [0, 3650]');
  const aggregation: Aggregation = {
    id: id(r.id, '/id', issues),
    iso: r.iso as Iso,
    resourceId: marketName(r.resourceId, '/resourceId', issues),
    ...(r.name === undefined ? {} : { name: text(r.name, '/name', issues) }),
    participationModel: text(r.participationModel, '/participationModel', issues, 64),
    ...(r.minimumSizeKw === undefined ? {} : { minimumSizeKw: r.minimumSizeKw as number }),
    pricingNodes,
    distributionFactors,
    members,
    utility: {
      name: text(utility.name, '/utility/name', issues),
      ...(reviewDays === undefined ? {} : { reviewDays: reviewDays as number }),
    },
    registration:
      r.registration === undefined
        ? { state: 'draft', history: [] }
        : registration(r.registration, '/registration', issues),
    ...(r.groupId === undefined ? {} : { groupId: id(r.groupId, '/groupId', issues) }),
    ...(r.awardPrimacy === undefined ? {} : { awardPrimacy: r.awardPrimacy as number }),
  };
  issues.throwIfAny('aggregation');
  return aggregation;
}
