/**
 * Small checks the market decoders share: they collect every problem with a JSON Pointer path
 * (bounded), then throw one GW_ERR_VALIDATION naming them all.
 */
import { GridseamError, type ValidationIssue, validationError } from '@gridseam/model';

/** At most this many issues are kept; one error names them all. */
export const MAX_ISSUES = 50;

/** The model's identifier alphabet (Id in @gridseam/model common.ts). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** The largest epoch ms the model accepts (EpochMs). */
export const MAX_EPOCH_MS = 253_402_300_799_999;

export class Issues {
  readonly list: ValidationIssue[] = [];

  add(path: string, message: string): void {
    if (this.list.length < MAX_ISSUES) this.list.push({ path, message });
  }

  get count(): number {
    return this.list.length;
  }

  /** Throws GW_ERR_VALIDATION naming every issue, when there is one. */
  throwIfAny(what: string): void {
    if (this.list.length > 0) throw validationError(what, this.list);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isInstant(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_EPOCH_MS;
}

/** Keys an object may not carry: prototype pollution through a decoded document. */
const POISON_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Refuses unknown (and poisoned) keys of a record, each with its path. */
export function onlyKeys(
  record: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  path: string,
  issues: Issues,
): void {
  for (const key of Object.keys(record)) {
    if (POISON_KEYS.has(key))
      throw new GridseamError('GW_ERR_HOSTILE_INPUT', `${path}/${key}: refused key ${JSON.stringify(key)}`);
    if (!allowed.has(key)) issues.add(`${path}/${key}`, 'is not a known field');
  }
}

export function poisonKey(key: string): boolean {
  return POISON_KEYS.has(key);
}
