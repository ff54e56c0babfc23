import { type ValidationIssue, validationError } from '@gridseam/model';

/** Throws GW_ERR_VALIDATION when there are issues. */
export function assertNoIssues(what: string, issues: ValidationIssue[]): void {
  if (issues.length > 0) throw validationError(what, issues);
}
