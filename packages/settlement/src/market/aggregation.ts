/**
 * FERC Order 2222 aggregations (bess_market.md §4.1, §4.2): membership over time, distribution
 * factors with validity periods, the minimum size, the registration state machine with the
 * distribution utility's review, and the retail enrolments that decide which programs may hold the
 * same kWh (the "narrowly designed" double-counting rules). Pure: callers pass the instants.
 *
 * A record with validFrom / validTo is in force over [validFrom, validTo) (validTo absent: open).
 */
import { GridseamError } from '@gridseam/model';
import type {
  Aggregation,
  AggregationMember,
  AggregationProblem,
  AggregationView,
  DistributionFactor,
  Iso,
  ProgramRule,
  RegistrationState,
  RetailEnrolment,
} from '../contract.ts';

const DAY_MS = 86_400_000;
/** Factors at one instant must sum to 1 within this (§4.1: "factors sum to 1"). */
export const FACTOR_SUM_TOLERANCE = 1e-6;
/** PJM's distribution-utility review period (§4.2), the default of `utility.reviewDays`. */
export const DEFAULT_UTILITY_REVIEW_DAYS = 60;
/** Primacy of award events: after utility programs, before the rolling dispatch's 200. */
export const DEFAULT_AWARD_PRIMACY = 150;
/** Precedence programRulesFor gives a member's retail programs: ahead of the wholesale products. */
export const DEFAULT_RETAIL_PRECEDENCE = 100;

export const ISOS: readonly Iso[] = ['CAISO', 'PJM', 'ISO-NE', 'NYISO', 'MISO', 'SPP', 'ERCOT'];
export const REGISTRATION_STATES: readonly RegistrationState[] = [
  'draft',
  'utility-review',
  'iso-review',
  'active',
  'suspended',
  'rejected',
  'withdrawn',
];

/**
 * Smallest aggregation per ISO (§4.1, §4.2): CAISO's DERA 0.5 MW; Order 2222 caps the minimum at
 * 100 kW, which ISO-NE and the others use.
 */
export function defaultMinimumSizeKw(iso: Iso): number {
  return iso === 'CAISO' ? 500 : 100;
}

export function minimumSizeKwOf(agg: Pick<Aggregation, 'iso' | 'minimumSizeKw'>): number {
  return agg.minimumSizeKw ?? defaultMinimumSizeKw(agg.iso);
}

/**
 * The market's clock per ISO: settlement days and hour-ending labels are local to it. MISO runs on
 * Eastern Standard Time all year (no DST), hence the fixed-offset zone.
 */
export const MARKET_TIME_ZONES: Readonly<Record<Iso, string>> = {
  CAISO: 'America/Los_Angeles',
  PJM: 'America/New_York',
  'ISO-NE': 'America/New_York',
  NYISO: 'America/New_York',
  MISO: 'Etc/GMT+5',
  SPP: 'America/Chicago',
  ERCOT: 'America/Chicago',
};

interface Validity {
  validFrom: number;
  validTo?: number | undefined;
}

function inForce(record: Validity, at: number): boolean {
  return record.validFrom <= at && (record.validTo === undefined || at < record.validTo);
}

function overlap(a: Validity, b: Validity): boolean {
  return a.validFrom < (b.validTo ?? Number.POSITIVE_INFINITY) && b.validFrom < (a.validTo ?? Number.POSITIVE_INFINITY);
}

export function membersAt(agg: Pick<Aggregation, 'members'>, at: number): AggregationMember[] {
  return agg.members.filter((m) => inForce(m, at));
}

export function distributionFactorsAt(agg: Pick<Aggregation, 'distributionFactors'>, at: number): DistributionFactor[] {
  return agg.distributionFactors.filter((f) => inForce(f, at));
}

/** Capacity of the members in force at `at`, kW. */
export function capacityAt(agg: Pick<Aggregation, 'members'>, at: number): number {
  let kw = 0;
  for (const member of agg.members) if (inForce(member, at)) kw += member.capacityKw;
  return kw;
}

/** Problems that block registration; 'stacking' is a warning the caller reads (retail double-pay risk). */
export const BLOCKING_PROBLEM_CODES: ReadonlySet<AggregationProblem['code']> = new Set([
  'factor-sum',
  'factor-pnode',
  'minimum-size',
  'member-overlap',
  'member-pnode',
  'no-members',
]);

export function blockingProblems(problems: readonly AggregationProblem[]): AggregationProblem[] {
  return problems.filter((p) => BLOCKING_PROBLEM_CODES.has(p.code));
}

/** States in which the minimum size applies: registration has gone past the draft. */
const SIZED_STATES: ReadonlySet<RegistrationState> = new Set(['utility-review', 'iso-review', 'active', 'suspended']);

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/** The instants of `records`' boundaries inside [from, to), plus `from` itself when finite; ascending. */
function boundaries(records: readonly Validity[], from: number, to: number): number[] {
  const set = new Set<number>();
  if (Number.isFinite(from)) set.add(from);
  for (const r of records) {
    if (r.validFrom >= from && r.validFrom < to) set.add(r.validFrom);
    if (r.validTo !== undefined && r.validTo >= from && r.validTo < to) set.add(r.validTo);
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * Everything wrong with an aggregation, optionally only over [window.from, window.to):
 * - 'factor-sum': at an instant where any distribution factor is in force, the factors do not sum
 *   to 1 (within 1e-6), or one pnode has two factors in force (checked at every validFrom / validTo,
 *   where the sum can change);
 * - 'factor-pnode' / 'member-pnode': a factor's or a member's pnode is not in pricingNodes;
 * - 'minimum-size': past the draft, the capacity in force at a membership boundary (where some
 *   member is in force) is below the minimum (defaultMinimumSizeKw unless minimumSizeKw is set);
 * - 'member-overlap': one device in two memberships that overlap in time;
 * - 'no-members': no member at all (or none in the window);
 * - 'stacking' (a warning, not blocking): a member's retail enrolment that does not allow wholesale
 *   stacking overlaps its membership: the same kWh must not be paid by both (§4.1 double counting).
 */
export function validateAggregation(agg: Aggregation, window?: { from: number; to: number }): AggregationProblem[] {
  const from = window?.from ?? Number.NEGATIVE_INFINITY;
  const to = window?.to ?? Number.POSITIVE_INFINITY;
  const span: Validity = { validFrom: from, validTo: Number.isFinite(to) ? to : undefined };
  const problems: AggregationProblem[] = [];
  const pnodes = new Set(agg.pricingNodes);

  if (agg.members.length === 0) problems.push({ code: 'no-members', message: `aggregation ${agg.id} has no members` });
  else if (window !== undefined && !agg.members.some((m) => overlap(m, span)))
    problems.push({
      code: 'no-members',
      at: from,
      message: `aggregation ${agg.id} has no member between ${iso(from)} and ${iso(to)}`,
    });

  agg.distributionFactors.forEach((f, i) => {
    if (!pnodes.has(f.pnode))
      problems.push({
        code: 'factor-pnode',
        at: f.validFrom,
        message: `distribution factor ${i} names pnode ${f.pnode}, which is not one of the pricing nodes`,
      });
  });
  agg.members.forEach((m, i) => {
    if (!pnodes.has(m.pnode))
      problems.push({
        code: 'member-pnode',
        at: m.validFrom,
        message: `member ${i} (${m.deviceId}) is at pnode ${m.pnode}, which is not one of the pricing nodes`,
      });
  });

  // §4.1: the factors of all pnodes sum to 1 wherever any is in force; the sum changes only at boundaries.
  for (const t of boundaries(agg.distributionFactors, from, to)) {
    const factors = distributionFactorsAt(agg, t);
    if (factors.length === 0) continue;
    const seen = new Set<string>();
    for (const f of factors) {
      if (seen.has(f.pnode))
        problems.push({
          code: 'factor-sum',
          at: t,
          message: `pnode ${f.pnode} has two distribution factors in force at ${iso(t)}`,
        });
      seen.add(f.pnode);
    }
    const sum = factors.reduce((s, f) => s + f.factor, 0);
    if (Math.abs(sum - 1) > FACTOR_SUM_TOLERANCE)
      problems.push({
        code: 'factor-sum',
        at: t,
        message: `distribution factors in force at ${iso(t)} sum to ${Number(sum.toFixed(9))}, not 1`,
      });
  }

  // Order 2222's minimum size, once registration is past the draft; capacity changes only at boundaries.
  if (SIZED_STATES.has(agg.registration.state)) {
    const minimum = minimumSizeKwOf(agg);
    for (const t of boundaries(agg.members, from, to)) {
      if (membersAt(agg, t).length === 0) continue;
      const kw = capacityAt(agg, t);
      if (kw < minimum - 1e-9)
        problems.push({
          code: 'minimum-size',
          at: t,
          message: `capacity ${Number(kw.toFixed(6))} kW at ${iso(t)} is below the ${agg.iso} minimum of ${minimum} kW`,
        });
    }
  }

  const byDevice = new Map<string, number[]>();
  agg.members.forEach((m, i) => {
    const list = byDevice.get(m.deviceId) ?? [];
    list.push(i);
    byDevice.set(m.deviceId, list);
  });
  for (const [deviceId, indexes] of byDevice)
    for (let a = 0; a < indexes.length; a++)
      for (let b = a + 1; b < indexes.length; b++) {
        const first = agg.members[indexes[a] as number] as AggregationMember;
        const second = agg.members[indexes[b] as number] as AggregationMember;
        if (!overlap(first, second)) continue;
        const start = Math.max(first.validFrom, second.validFrom);
        const end = Math.min(first.validTo ?? Number.POSITIVE_INFINITY, second.validTo ?? Number.POSITIVE_INFINITY);
        if (end <= from || start >= to) continue;
        problems.push({
          code: 'member-overlap',
          at: start,
          message: `device ${deviceId} is in two memberships (members ${indexes[a]} and ${indexes[b]}) from ${iso(start)}`,
        });
      }

  agg.members.forEach((m, i) => {
    for (const e of m.retailPrograms ?? []) {
      if (e.allowsWholesaleStacking === true || !overlap(m, e)) continue;
      const start = Math.max(m.validFrom, e.validFrom);
      const end = Math.min(m.validTo ?? Number.POSITIVE_INFINITY, e.validTo ?? Number.POSITIVE_INFINITY);
      if (end <= from || start >= to) continue;
      problems.push({
        code: 'stacking',
        at: start,
        message: `member ${i} (${m.deviceId}) is enrolled in retail program ${e.programId}, which does not allow wholesale stacking, from ${iso(start)}: a kWh is attributed to one of them only`,
      });
    }
  });
  return problems;
}

/** Legal registration moves (notes §4.1: draft -> utility review -> ISO review -> active). */
export const REGISTRATION_MOVES: Readonly<Record<RegistrationState, readonly RegistrationState[]>> = {
  draft: ['utility-review'],
  'utility-review': ['iso-review', 'rejected', 'draft'],
  'iso-review': ['active', 'rejected'],
  active: ['suspended', 'withdrawn'],
  suspended: ['active', 'withdrawn'],
  rejected: ['draft'],
  withdrawn: [],
};

/** States whose entry requires an aggregation without blocking problems from `at` on. */
const CHECKED_ON_ENTRY: ReadonlySet<RegistrationState> = new Set(['iso-review', 'active']);

function problemPath(code: AggregationProblem['code']): string {
  return code === 'factor-sum' || code === 'factor-pnode' ? '/distributionFactors' : '/members';
}

/**
 * The aggregation after a registration move at `at` by `actor`, with the move appended to the
 * history. Illegal moves -> GW_ERR_INVALID_TRANSITION. Entering ISO review (and active, from ISO
 * review or suspended) requires no blocking problem from `at` on -> GW_ERR_VALIDATION listing them
 * (details.problems). `at` must not precede the last recorded move.
 */
export function transitionRegistration(
  agg: Aggregation,
  to: RegistrationState,
  at: number,
  actor: string,
  note?: string,
): Aggregation {
  const from = agg.registration.state;
  if (!REGISTRATION_STATES.includes(to))
    throw new GridseamError('GW_ERR_VALIDATION', `unknown registration state ${JSON.stringify(to)}`, {
      issues: [{ path: '/to', message: `must be one of ${REGISTRATION_STATES.join(', ')}` }],
    });
  if (!REGISTRATION_MOVES[from].includes(to))
    throw new GridseamError(
      'GW_ERR_INVALID_TRANSITION',
      `aggregation ${agg.id} cannot go from ${from} to ${to} (allowed: ${REGISTRATION_MOVES[from].join(', ') || 'none'})`,
      { details: { from, to } },
    );
  if (!Number.isInteger(at) || at < 0)
    throw new GridseamError('GW_ERR_VALIDATION', `transition instant must be epoch ms (got ${at})`);
  const last = agg.registration.history.at(-1);
  if (last !== undefined && at < last.at)
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `transition at ${iso(at)} precedes the last registration change at ${iso(last.at)}`,
    );
  if (actor.length === 0) throw new GridseamError('GW_ERR_VALIDATION', 'a registration move needs an actor');
  const next: Aggregation = {
    ...agg,
    registration: {
      state: to,
      history: [...agg.registration.history, { state: to, at, actor, ...(note === undefined ? {} : { note }) }],
    },
  };
  if (CHECKED_ON_ENTRY.has(to)) {
    const blocking = blockingProblems(validateAggregation(next, { from: at, to: Number.POSITIVE_INFINITY }));
    if (blocking.length > 0)
      throw new GridseamError(
        'GW_ERR_VALIDATION',
        `aggregation ${agg.id} cannot enter ${to}: ${blocking[0]?.message}${blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : ''}`,
        {
          issues: blocking.map((p) => ({ path: problemPath(p.code), message: p.message })),
          details: { problems: blocking },
        },
      );
  }
  return next;
}

/**
 * When the distribution utility's review ends: entry into the current 'utility-review' state plus
 * utility.reviewDays (default 60, PJM). Undefined when the aggregation is not under utility review.
 */
export function utilityReviewDue(agg: Aggregation): number | undefined {
  if (agg.registration.state !== 'utility-review') return undefined;
  const entry = agg.registration.history.findLast((h) => h.state === 'utility-review');
  if (entry === undefined) return undefined;
  return entry.at + (agg.utility.reviewDays ?? DEFAULT_UTILITY_REVIEW_DAYS) * DAY_MS;
}

/**
 * The program rules the ledger attributes with, for the members in force at `at` (§1.4, §4.1):
 * - the given rules (wholesale products and whatever else), copied;
 * - each retail program a member is enrolled in at `at`, as a 'retail' rule (unless one with its id
 *   is given) with precedence `retailPrecedence` (default 100: retail programs, run by the
 *   distribution utility, are served before the wholesale products);
 * - a retail program stacks with the 'wholesale' rules only if EVERY member enrolment in it in force
 *   allows wholesale stacking (ProgramRule stacking is per program, so one member that does not
 *   allow it keeps the whole program exclusive: never pay a kWh twice); otherwise any stacksWith
 *   between them, on either side, is removed (stacking is symmetric).
 */
export function programRulesFor(
  agg: Aggregation,
  wholesale: readonly ProgramRule[],
  at: number,
  options: { retailPrecedence?: number } = {},
): ProgramRule[] {
  const retail = new Map<string, boolean>();
  for (const member of membersAt(agg, at))
    for (const enrolment of member.retailPrograms ?? ([] as RetailEnrolment[])) {
      if (!inForce(enrolment, at)) continue;
      retail.set(
        enrolment.programId,
        (retail.get(enrolment.programId) ?? true) && enrolment.allowsWholesaleStacking === true,
      );
    }
  const wholesaleIds = wholesale.filter((r) => r.kind === 'wholesale').map((r) => r.id);
  const wholesaleSet = new Set(wholesaleIds);
  const stacking = [...retail].filter(([, stacks]) => stacks).map(([id]) => id);
  const exclusive = new Set([...retail].filter(([, stacks]) => !stacks).map(([id]) => id));

  const rules: ProgramRule[] = wholesale.map((rule) => {
    const own = rule.stacksWith ?? [];
    let stacksWith: string[];
    if (rule.kind === 'wholesale') stacksWith = [...own.filter((id) => !exclusive.has(id)), ...stacking];
    else if (retail.has(rule.id))
      stacksWith = retail.get(rule.id) ? [...own, ...wholesaleIds] : own.filter((id) => !wholesaleSet.has(id));
    else stacksWith = [...own];
    const unique = [...new Set(stacksWith)].filter((id) => id !== rule.id);
    return { ...rule, ...(unique.length > 0 || rule.stacksWith !== undefined ? { stacksWith: unique } : {}) };
  });
  const given = new Set(wholesale.map((r) => r.id));
  for (const [programId, stacks] of retail) {
    if (given.has(programId)) continue;
    rules.push({
      id: programId,
      kind: 'retail',
      precedence: options.retailPrecedence ?? DEFAULT_RETAIL_PRECEDENCE,
      stacksWith: stacks ? [...wholesaleIds] : [],
    });
  }
  return rules;
}

/** An aggregation with what follows from it at `at`: problems from then on, capacity, minimum, next states, clock. */
export function aggregationView(aggregation: Aggregation, at: number): AggregationView {
  const due = utilityReviewDue(aggregation);
  return {
    aggregation,
    problems: validateAggregation(aggregation, { from: at, to: Number.POSITIVE_INFINITY }),
    capacityKw: capacityAt(aggregation, at),
    minimumSizeKw: minimumSizeKwOf(aggregation),
    nextStates: [...REGISTRATION_MOVES[aggregation.registration.state]],
    timeZone: MARKET_TIME_ZONES[aggregation.iso],
    ...(due === undefined ? {} : { utilityReviewDue: due }),
  };
}
