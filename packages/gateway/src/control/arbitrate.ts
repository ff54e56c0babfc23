/**
 * Arbitration: which control intent is in force, per (scope, control type), at one instant, and
 * why every other one is not. Pure: no clock, no I/O; the caller passes `at`.
 *
 * The rules, in the order they are applied (IEEE 2030.5 event rules, generalised to every source):
 * 1. An intent is considered only inside its window [start, end) (2030.5: an event is active from
 *    its start for its duration).
 * 2. A default (2030.5 DefaultDERControl, a program's defaultControls) applies only when no
 *    non-default intent is active for the same scope and control type.
 * 3. Lower primacy wins (2030.5 DERProgram primacy: lower value, higher priority).
 * 4. At equal primacy an operator intent wins over any other source. 2030.5 gives primacy 0 to
 *    the premises' own energy management, which the gateway's operator is, so an operator override
 *    (operatorOverride) carries primacy 0: it beats every program event of primacy >= 1 and, by
 *    this rule, one of primacy 0 too. An operator intent must expire (a window end is required;
 *    overrides last at most OPERATOR_OVERRIDE_MAX_S), so a forgotten override cannot hold a
 *    utility's control off for ever. Operator intents with another primacy rank like any other.
 * 5. At equal primacy and source precedence, the newer creationTime wins (2030.5 supersession).
 * 6. Then ids in ascending order, only so the result is deterministic.
 *
 * Scopes do not inherit: a device-scope intent and a site-scope intent of the same type are
 * separate decisions; combining them (the device's limit inside the site's) is the allocator's job.
 * Malformed intents never throw: they come back in `rejected` with what is wrong.
 */
import { EVENT_SOURCES, GridseamError, setpointValueProblems } from '@gridseam/model';
import type {
  ArbitrationDecision,
  ArbitrationResult,
  ControlIntent,
  ControlScope,
  ControlType,
  IntentSummary,
  LossCode,
  RankedLoser,
  RejectedIntent,
} from './types.ts';
import { CONTROL_TYPES } from './types.ts';

/** The primacy of an explicit operator override: the highest precedence 2030.5 defines. */
export const OPERATOR_OVERRIDE_PRIMACY = 0;
/** The longest an operator override may last, seconds (24 h): an override always expires. */
export const OPERATOR_OVERRIDE_MAX_S = 86_400;

const MAX_ID_LENGTH = 256;
const SCOPE_KINDS: ReadonlySet<string> = new Set(['site', 'group', 'device']);
const SOURCES: ReadonlySet<string> = new Set(EVENT_SOURCES);
const TYPES: ReadonlySet<string> = new Set(CONTROL_TYPES);

/** The key of one decision: scope and control type. */
export function decisionKey(scope: ControlScope, type: ControlType): string {
  return `${scope.kind}:${scope.id}|${type}`;
}

/** An operator's manual override: primacy 0, created now, in force for durationS from now. */
export function operatorOverride(input: {
  id: string;
  scope: ControlScope;
  type: ControlType;
  value: number;
  now: number;
  durationS: number;
  ref?: string;
}): ControlIntent {
  if (!Number.isInteger(input.durationS) || input.durationS < 1 || input.durationS > OPERATOR_OVERRIDE_MAX_S)
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `an operator override lasts 1..${OPERATOR_OVERRIDE_MAX_S} s (got ${String(input.durationS)})`,
      { issues: [{ path: '/durationS', message: `must be an integer 1..${OPERATOR_OVERRIDE_MAX_S}` }] },
    );
  const intent: ControlIntent = {
    id: input.id,
    source: 'operator',
    scope: input.scope,
    type: input.type,
    value: input.value,
    primacy: OPERATOR_OVERRIDE_PRIMACY,
    createdAt: input.now,
    window: { start: input.now, end: input.now + input.durationS * 1000 },
  };
  if (input.ref !== undefined) intent.ref = input.ref;
  return intent;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIdString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/** What is wrong with an intent (empty when it is usable). Accepts anything: input may come from outside. */
export function intentProblems(input: unknown): string[] {
  if (!isRecord(input)) return ['intent must be an object'];
  const problems: string[] = [];
  if (!isIdString(input.id)) problems.push(`id must be a string of 1..${MAX_ID_LENGTH} characters`);
  if (typeof input.source !== 'string' || !SOURCES.has(input.source))
    problems.push(`source must be one of ${EVENT_SOURCES.join(', ')}`);
  const scope = input.scope;
  if (!isRecord(scope) || typeof scope.kind !== 'string' || !SCOPE_KINDS.has(scope.kind) || !isIdString(scope.id))
    problems.push('scope must be {kind: site|group|device, id}');
  const type = input.type;
  const typeOk = typeof type === 'string' && TYPES.has(type);
  if (!typeOk) problems.push(`type must be one of ${CONTROL_TYPES.join(', ')}`);
  const value = input.value;
  if (typeof value !== 'number' || !Number.isFinite(value)) problems.push('value must be a finite number');
  else if (typeOk) {
    if (type === 'maxLimitPct') {
      if (value < 0 || value > 100) problems.push('maxLimitPct must be within 0..100');
    } else if (type !== 'storageTargetW') {
      for (const [, message] of setpointValueProblems({
        kind: type as Exclude<ControlType, 'maxLimitPct' | 'storageTargetW'>,
        value,
      }))
        problems.push(message);
    }
  }
  const primacy = input.primacy;
  if (typeof primacy !== 'number' || !Number.isInteger(primacy) || primacy < 0 || primacy > 255)
    problems.push('primacy must be an integer 0..255');
  if (typeof input.createdAt !== 'number' || !Number.isFinite(input.createdAt))
    problems.push('createdAt must be a finite number (epoch ms)');
  const window = input.window;
  if (!isRecord(window) || typeof window.start !== 'number' || !Number.isFinite(window.start))
    problems.push('window.start must be a finite number (epoch ms)');
  else if (window.end !== undefined) {
    if (typeof window.end !== 'number' || !Number.isFinite(window.end))
      problems.push('window.end must be a finite number');
    else if (window.end <= window.start) problems.push('window.end must be after window.start');
  }
  if (input.isDefault !== undefined && typeof input.isDefault !== 'boolean')
    problems.push('isDefault must be a boolean');
  if (input.ref !== undefined && (typeof input.ref !== 'string' || input.ref.length > MAX_ID_LENGTH))
    problems.push(`ref must be a string of at most ${MAX_ID_LENGTH} characters`);
  if (
    input.source === 'operator' &&
    input.isDefault !== true &&
    isRecord(window) &&
    (window.end === undefined || window.end === null)
  )
    problems.push('an operator control must expire: window.end is required');
  return problems;
}

function summarise(intent: ControlIntent): IntentSummary {
  const summary: IntentSummary = {
    id: intent.id,
    source: intent.source,
    value: intent.value,
    primacy: intent.primacy,
    createdAt: intent.createdAt,
    window:
      intent.window.end === undefined
        ? { start: intent.window.start }
        : { start: intent.window.start, end: intent.window.end },
    isDefault: intent.isDefault === true,
  };
  if (intent.ref !== undefined) summary.ref = intent.ref;
  return summary;
}

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

/** Rank order among intents of the same class (both active non-defaults, or both defaults). */
function compareIntents(a: ControlIntent, b: ControlIntent): number {
  if (a.primacy !== b.primacy) return a.primacy - b.primacy;
  const aOperator = a.source === 'operator';
  if (aOperator !== (b.source === 'operator')) return aOperator ? -1 : 1;
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Why `loser` ranks below `winner` (same class): the first rule that separates them. */
function lossAgainst(loser: ControlIntent, winner: ControlIntent): { code: LossCode; reason: string } {
  if (loser.primacy !== winner.primacy)
    return {
      code: 'lower-priority',
      reason: `lower priority: primacy ${loser.primacy} vs ${winner.primacy} (${winner.id})`,
    };
  if ((winner.source === 'operator') !== (loser.source === 'operator'))
    return {
      code: 'operator-precedence',
      reason: `same primacy ${winner.primacy}: operator control ${winner.id} takes precedence`,
    };
  if (loser.createdAt !== winner.createdAt)
    return {
      code: 'older',
      reason: `older creationTime: ${iso(loser.createdAt)} vs ${iso(winner.createdAt)} (${winner.id})`,
    };
  return { code: 'id-order', reason: `same primacy and creationTime as ${winner.id}: ids ordered` };
}

/** Why the winner beat its runner-up of the same class, in words. */
function winAgainst(winner: ControlIntent, runnerUp: ControlIntent): string {
  if (winner.primacy !== runnerUp.primacy)
    return `primacy ${winner.primacy} beats ${runnerUp.primacy} (${runnerUp.id})`;
  if ((winner.source === 'operator') !== (runnerUp.source === 'operator'))
    return `operator control at equal primacy ${winner.primacy} (${runnerUp.id})`;
  if (winner.createdAt !== runnerUp.createdAt) return `newer creationTime than ${runnerUp.id}`;
  return `same primacy and creationTime as ${runnerUp.id}: first by id`;
}

interface Group {
  scope: ControlScope;
  type: ControlType;
  intents: ControlIntent[];
}

function decide(group: Group, at: number): ArbitrationDecision {
  const active: ControlIntent[] = [];
  const defaults: ControlIntent[] = [];
  const notStarted: ControlIntent[] = [];
  const expired: ControlIntent[] = [];
  for (const intent of group.intents) {
    if (intent.window.start > at) notStarted.push(intent);
    else if (intent.window.end !== undefined && at >= intent.window.end) expired.push(intent);
    else if (intent.isDefault === true) defaults.push(intent);
    else active.push(intent);
  }
  active.sort(compareIntents);
  defaults.sort(compareIntents);
  notStarted.sort((a, b) => a.window.start - b.window.start || (a.id < b.id ? -1 : 1));
  expired.sort((a, b) => (b.window.end ?? 0) - (a.window.end ?? 0) || (a.id < b.id ? -1 : 1));

  const losers: RankedLoser[] = [];
  const pushLoser = (intent: ControlIntent, code: LossCode, reason: string): void => {
    losers.push({ intent: summarise(intent), rank: losers.length + 1, code, reason });
  };

  let winner: ControlIntent | undefined;
  let winnerReason: string;
  if (active.length > 0) {
    const first = active[0]!;
    winner = first;
    const runnerUp = active[1];
    winnerReason = runnerUp === undefined ? 'only active control' : winAgainst(first, runnerUp);
    for (const loser of active.slice(1)) {
      const loss = lossAgainst(loser, first);
      pushLoser(loser, loss.code, loss.reason);
    }
    for (const loser of defaults)
      pushLoser(loser, 'default-superseded', `default superseded by active control ${first.id}`);
  } else if (defaults.length > 0) {
    const first = defaults[0]!;
    winner = first;
    const runnerUp = defaults[1];
    winnerReason =
      runnerUp === undefined
        ? 'default: no active control'
        : `default: no active control; ${winAgainst(first, runnerUp)}`;
    for (const loser of defaults.slice(1)) {
      const loss = lossAgainst(loser, first);
      pushLoser(loser, loss.code, loss.reason);
    }
  } else {
    winnerReason = 'no control in its window';
  }
  for (const intent of notStarted)
    pushLoser(intent, 'not-started', `outside window: starts at ${iso(intent.window.start)}`);
  for (const intent of expired) pushLoser(intent, 'expired', `outside window: ended at ${iso(intent.window.end ?? 0)}`);

  const key = decisionKey(group.scope, group.type);
  const head = `${group.type} @ ${group.scope.kind}:${group.scope.id}`;
  const others = losers.length === 1 ? '1 other' : `${losers.length} others`;
  const summary =
    winner === undefined
      ? `${head}: none active (${others})`
      : `${head}: ${winner.source} ${winner.id} = ${winner.value} (primacy ${winner.primacy}${winner.isDefault === true ? ', default' : ''}; ${winnerReason}; ${others})`;
  const decision: ArbitrationDecision = {
    key,
    scope: { kind: group.scope.kind, id: group.scope.id },
    type: group.type,
    at,
    winnerReason,
    losers,
    summary,
  };
  if (winner !== undefined) decision.winner = summarise(winner);
  return decision;
}

/**
 * Arbitrates every intent at instant `at`: one explained decision per (scope, control type) that
 * has at least one well-formed intent, sorted by key; malformed or duplicate intents in `rejected`.
 */
export function arbitrate(intents: readonly unknown[], at: number): ArbitrationResult {
  if (typeof at !== 'number' || !Number.isFinite(at))
    throw new GridseamError('GW_ERR_VALIDATION', 'arbitrate: at must be a finite number (epoch ms)');
  if (!Array.isArray(intents)) throw new GridseamError('GW_ERR_VALIDATION', 'arbitrate: intents must be an array');
  const groups = new Map<string, Group>();
  const rejected: RejectedIntent[] = [];
  let nextChangeAt = Number.POSITIVE_INFINITY;
  intents.forEach((input, index) => {
    const problems = intentProblems(input);
    const idOf = isRecord(input) && isIdString(input.id) ? input.id : '(no id)';
    if (problems.length > 0) {
      rejected.push({ id: idOf, index, problems });
      return;
    }
    const intent = input as ControlIntent;
    const key = decisionKey(intent.scope, intent.type);
    let group = groups.get(key);
    if (group === undefined) {
      group = { scope: intent.scope, type: intent.type, intents: [] };
      groups.set(key, group);
    }
    if (group.intents.some((other) => other.id === intent.id)) {
      rejected.push({ id: intent.id, index, problems: [`duplicate id for ${key}`] });
      return;
    }
    group.intents.push(intent);
    if (intent.window.start > at) nextChangeAt = Math.min(nextChangeAt, intent.window.start);
    else if (intent.window.end !== undefined && intent.window.end > at)
      nextChangeAt = Math.min(nextChangeAt, intent.window.end);
  });
  const decisions = [...groups.keys()].sort().map((key) => decide(groups.get(key)!, at));
  const result: ArbitrationResult = { at, decisions, rejected };
  if (Number.isFinite(nextChangeAt)) result.nextChangeAt = nextChangeAt;
  return result;
}

/** The winners of a result by decision key (what is in force now). */
export function winnersByKey(
  result: ArbitrationResult,
): Map<string, IntentSummary & { scope: ControlScope; type: ControlType }> {
  const winners = new Map<string, IntentSummary & { scope: ControlScope; type: ControlType }>();
  for (const decision of result.decisions)
    if (decision.winner !== undefined)
      winners.set(decision.key, { ...decision.winner, scope: decision.scope, type: decision.type });
  return winners;
}
