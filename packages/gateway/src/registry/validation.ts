import { check, type ValidationIssue, type ValidationResult, validationError } from '@gridseam/model';
import type { Static, TSchema } from 'typebox';

/** Escapes a property name for a JSON Pointer (RFC 6901 section 3). */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Numbers that are not finite. JSON text cannot spell NaN or Infinity, but JSON.parse turns an
 * overflowing literal such as 1e400 into Infinity, and the model's schemas (ajv without
 * strictNumbers) let it through as a number; JS callers can pass NaN directly.
 */
export function nonFiniteIssues(value: unknown, path = ''): ValidationIssue[] {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? [] : [{ path: path === '' ? '/' : path, message: 'must be a finite number' }];
  }
  if (typeof value !== 'object' || value === null) return [];
  const issues: ValidationIssue[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      issues.push(...nonFiniteIssues(item, `${path}/${index}`));
    });
  } else {
    for (const [key, item] of Object.entries(value))
      issues.push(...nonFiniteIssues(item, `${path}/${pointerToken(key)}`));
  }
  return issues;
}

/** Schema check plus the finite-number rule; every failing path is reported. */
export function checkValue<S extends TSchema>(schema: S, value: unknown): ValidationResult<Static<S>> {
  const nonFinite = nonFiniteIssues(value);
  if (nonFinite.length > 0) return { ok: false, issues: nonFinite };
  return check(schema, value);
}

/** Like checkValue, but throws GW_ERR_VALIDATION naming what was validated. */
export function validated<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  const result = checkValue(schema, value);
  if (!result.ok) throw validationError(what, result.issues);
  return result.value;
}

/** Throws GW_ERR_VALIDATION when there are issues. */
export function assertNoIssues(what: string, issues: ValidationIssue[]): void {
  if (issues.length > 0) throw validationError(what, issues);
}
