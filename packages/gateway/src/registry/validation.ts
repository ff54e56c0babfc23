import { assertValid, type ValidationIssue, validationError } from '@gridseam/model';
import type { Static, TSchema } from 'typebox';

/** Validates against a model schema (non-finite numbers included); throws GW_ERR_VALIDATION naming what. */
export function validated<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  return assertValid(schema, value, what);
}

/** Throws GW_ERR_VALIDATION when there are issues. */
export function assertNoIssues(what: string, issues: ValidationIssue[]): void {
  if (issues.length > 0) throw validationError(what, issues);
}
