/**
 * Input checks for the ledger: finite numbers, non-negative capacities, headroom and costs, ids
 * that are non-empty strings. Every problem found is reported (GW_ERR_VALIDATION, issues with a
 * JSON Pointer path), up to a bound so hostile input cannot make the error itself huge.
 */
import { GridseamError, type ValidationIssue } from '@gridseam/model';
import type { Claim, LedgerEntry, MeteredInterval, ProgramRule } from '../contract.ts';
import { UNATTRIBUTED } from '../contract.ts';

const MAX_ISSUES = 50;

export class IssueList {
  readonly issues: ValidationIssue[] = [];
  #dropped = 0;

  add(path: string, message: string): void {
    if (this.issues.length < MAX_ISSUES) this.issues.push({ path, message });
    else this.#dropped++;
  }

  throwIfAny(what: string): void {
    if (this.issues.length === 0) return;
    const first = this.issues[0]!;
    const more = this.issues.length - 1 + this.#dropped;
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `invalid ${what}: ${first.path}: ${first.message}${more > 0 ? ` (and ${more} more)` : ''}`,
      { issues: this.issues },
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Field checks address `/<list>/<index>/<field>`; the path string is built only when a problem is
 * found, and no closure is made per item (these checks run on every claim, reading and entry).
 */
function checkId(issues: IssueList, list: string, index: number, field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0)
    issues.add(`/${list}/${index}/${field}`, 'must be a non-empty string');
}

const ANY = 0;
const OPTIONAL = 1;
const NON_NEGATIVE = 2;
const OPTIONAL_NON_NEGATIVE = 3;
const POSITIVE = 4;

function checkNumber(
  issues: IssueList,
  list: string,
  index: number,
  field: string,
  value: unknown,
  rule: number,
): void {
  if (value === undefined && (rule & OPTIONAL) !== 0) return;
  if (typeof value !== 'number' || !Number.isFinite(value))
    issues.add(`/${list}/${index}/${field}`, 'must be a finite number');
  else if ((rule & POSITIVE) !== 0 && !(value > 0)) issues.add(`/${list}/${index}/${field}`, 'must be > 0');
  else if ((rule & NON_NEGATIVE) !== 0 && value < 0) issues.add(`/${list}/${index}/${field}`, 'must be >= 0');
}

export function checkPrograms(issues: IssueList, programs: readonly ProgramRule[]): void {
  if (!Array.isArray(programs)) {
    issues.add('/programs', 'must be an array');
    return;
  }
  const seen = new Set<string>();
  for (let index = 0; index < programs.length; index++) {
    const rule: unknown = programs[index];
    if (!isRecord(rule)) {
      issues.add(`/programs/${index}`, 'must be an object');
      continue;
    }
    checkId(issues, 'programs', index, 'id', rule.id);
    if (rule.id === UNATTRIBUTED) issues.add(`/programs/${index}/id`, `"${UNATTRIBUTED}" is reserved`);
    if (typeof rule.id === 'string') {
      if (seen.has(rule.id)) issues.add(`/programs/${index}/id`, `duplicate program id ${JSON.stringify(rule.id)}`);
      seen.add(rule.id);
    }
    checkNumber(issues, 'programs', index, 'precedence', rule.precedence, ANY);
    if (
      rule.stacksWith !== undefined &&
      !(Array.isArray(rule.stacksWith) && rule.stacksWith.every((id) => typeof id === 'string'))
    )
      issues.add(`/programs/${index}/stacksWith`, 'must be an array of program ids');
  }
}

export function checkClaims(issues: IssueList, claims: readonly Claim[]): void {
  if (!Array.isArray(claims)) {
    issues.add('/claims', 'must be an array');
    return;
  }
  for (let index = 0; index < claims.length; index++) {
    const claim: unknown = claims[index];
    if (!isRecord(claim)) {
      issues.add(`/claims/${index}`, 'must be an object');
      continue;
    }
    checkId(issues, 'claims', index, 'deviceId', claim.deviceId);
    checkId(issues, 'claims', index, 'programId', claim.programId);
    if (claim.programId === UNATTRIBUTED)
      issues.add(
        `/claims/${index}/programId`,
        `"${UNATTRIBUTED}" is what the ledger assigns, not a program to claim for`,
      );
    checkNumber(issues, 'claims', index, 'start', claim.start, ANY);
    checkNumber(issues, 'claims', index, 'intervalMinutes', claim.intervalMinutes, POSITIVE);
    checkNumber(issues, 'claims', index, 'energyKwh', claim.energyKwh, OPTIONAL);
    checkNumber(issues, 'claims', index, 'capacityKw', claim.capacityKw, OPTIONAL_NON_NEGATIVE);
    checkNumber(issues, 'claims', index, 'energyPriceUsdPerMwh', claim.energyPriceUsdPerMwh, OPTIONAL);
    checkNumber(issues, 'claims', index, 'capacityPriceUsdPerMwh', claim.capacityPriceUsdPerMwh, OPTIONAL);
  }
}

export function checkMetered(issues: IssueList, metered: readonly MeteredInterval[]): void {
  if (!Array.isArray(metered)) {
    issues.add('/metered', 'must be an array');
    return;
  }
  for (let index = 0; index < metered.length; index++) {
    const interval: unknown = metered[index];
    if (!isRecord(interval)) {
      issues.add(`/metered/${index}`, 'must be an object');
      continue;
    }
    checkId(issues, 'metered', index, 'deviceId', interval.deviceId);
    checkNumber(issues, 'metered', index, 'start', interval.start, ANY);
    checkNumber(issues, 'metered', index, 'intervalMinutes', interval.intervalMinutes, POSITIVE);
    checkNumber(issues, 'metered', index, 'energyKwh', interval.energyKwh, ANY);
    checkNumber(issues, 'metered', index, 'throughputKwh', interval.throughputKwh, OPTIONAL_NON_NEGATIVE);
    checkNumber(issues, 'metered', index, 'headroomKw', interval.headroomKw, NON_NEGATIVE);
    checkNumber(issues, 'metered', index, 'degradationUsd', interval.degradationUsd, OPTIONAL_NON_NEGATIVE);
  }
}

export function checkEntries(issues: IssueList, entries: readonly LedgerEntry[]): void {
  if (!Array.isArray(entries)) {
    issues.add('/entries', 'must be an array');
    return;
  }
  for (let index = 0; index < entries.length; index++) {
    const entry: unknown = entries[index];
    if (!isRecord(entry)) {
      issues.add(`/entries/${index}`, 'must be an object');
      continue;
    }
    checkId(issues, 'entries', index, 'deviceId', entry.deviceId);
    checkId(issues, 'entries', index, 'programId', entry.programId);
    checkNumber(issues, 'entries', index, 'start', entry.start, ANY);
    checkNumber(issues, 'entries', index, 'intervalMinutes', entry.intervalMinutes, POSITIVE);
    checkNumber(issues, 'entries', index, 'energyKwh', entry.energyKwh, ANY);
    checkNumber(issues, 'entries', index, 'capacityKw', entry.capacityKw, NON_NEGATIVE);
    checkNumber(issues, 'entries', index, 'degradationUsd', entry.degradationUsd, ANY);
  }
}

/** A tolerance: absent, or a finite number >= 0. */
export function checkTolerance(issues: IssueList, path: string, value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    issues.add(path, 'must be a finite number >= 0');
}
