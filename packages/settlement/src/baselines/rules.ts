/**
 * Default day-matching rules (bess_market.md §3.2 CAISO 10-in-10 / 5-in-10, §3.3 PJM High 4 of 5)
 * and the merge + validation of caller overrides. docs/settlement.md tabulates every default.
 */
import type { AdjustmentRule, DayMatchingMethod, DayMatchingRules } from '../contract.ts';
import { invalid, requireFinite, requireInteger } from './support.ts';

function frozenRules(rules: DayMatchingRules): DayMatchingRules {
  Object.freeze(rules.adjustment);
  return Object.freeze(rules);
}

export const DEFAULT_DAY_MATCHING_RULES: Record<DayMatchingMethod, DayMatchingRules> = Object.freeze({
  // §3.2: 10 most recent like days within 45 calendar days (weekend/holiday: 4), at least 5 (2);
  // ratio adjustment over the 3 hours ending 1 hour before the start, clamped to [0.8, 1.2].
  'caiso-10in10': frozenRules({
    lookbackDays: 45,
    weekdayDays: 10,
    weekendDays: 4,
    weekdayMinDays: 5,
    weekendMinDays: 2,
    adjustment: { kind: 'ratio', windowHours: 3, gapHours: 1, min: 0.8, max: 1.2 },
  }),
  // §3.2 residential variant: the 5 highest of the same 10 (weekend: 2 of 4), cap [0.6, 1.4].
  'caiso-5in10': frozenRules({
    lookbackDays: 45,
    weekdayDays: 10,
    weekendDays: 4,
    weekdayMinDays: 5,
    weekendMinDays: 2,
    weekdayHighestOf: 5,
    weekendHighestOf: 2,
    adjustment: { kind: 'ratio', windowHours: 3, gapHours: 1, min: 0.6, max: 1.4 },
  }),
  // §3.3: 5 most recent weekday candidates (weekend/holiday: 3), low-usage screen at 25 % of the
  // candidates' event-hour mean, keep the 4 highest (2); symmetric additive adjustment, no cap.
  // Minimums (4 weekday, 2 weekend) are our choice: the notes give none; every value is configurable.
  'pjm-high4of5': frozenRules({
    lookbackDays: 45,
    weekdayDays: 5,
    weekendDays: 3,
    weekdayMinDays: 4,
    weekendMinDays: 2,
    weekdayHighestOf: 4,
    weekendHighestOf: 2,
    lowUsageFraction: 0.25,
    adjustment: { kind: 'additive', windowHours: 3, gapHours: 1 },
  }),
});

/** The method's defaults with the caller's overrides, validated. */
export function resolveRules(
  method: DayMatchingMethod,
  overrides: Partial<DayMatchingRules> | undefined,
): DayMatchingRules {
  const defaults = DEFAULT_DAY_MATCHING_RULES[method];
  if (overrides === undefined) return defaults;
  if (typeof overrides !== 'object' || overrides === null) throw invalid('/rules', 'must be an object');
  const adjustmentOverride = overrides.adjustment as Partial<AdjustmentRule> | undefined;
  const merged: DayMatchingRules = {
    ...defaults,
    ...overrides,
    adjustment: { ...defaults.adjustment, ...(adjustmentOverride ?? {}) },
  };
  // A ratio -> additive switch must not inherit the ratio clamp by accident.
  if (adjustmentOverride?.kind !== undefined && adjustmentOverride.kind !== defaults.adjustment.kind) {
    if (adjustmentOverride.min === undefined) delete merged.adjustment.min;
    if (adjustmentOverride.max === undefined) delete merged.adjustment.max;
  }
  validateRules(merged);
  return merged;
}

function validateRules(rules: DayMatchingRules): void {
  requireInteger(rules.lookbackDays, '/rules/lookbackDays', 1, 3660);
  requireInteger(rules.weekdayDays, '/rules/weekdayDays', 1, 366);
  requireInteger(rules.weekendDays, '/rules/weekendDays', 1, 366);
  requireInteger(rules.weekdayMinDays, '/rules/weekdayMinDays', 1, rules.weekdayDays);
  requireInteger(rules.weekendMinDays, '/rules/weekendMinDays', 1, rules.weekendDays);
  if (rules.weekdayHighestOf !== undefined) requireInteger(rules.weekdayHighestOf, '/rules/weekdayHighestOf', 1, 366);
  if (rules.weekendHighestOf !== undefined) requireInteger(rules.weekendHighestOf, '/rules/weekendHighestOf', 1, 366);
  if (rules.lowUsageFraction !== undefined) {
    const fraction = requireFinite(rules.lowUsageFraction, '/rules/lowUsageFraction');
    if (fraction < 0 || fraction > 1) throw invalid('/rules/lowUsageFraction', 'must be in [0, 1]');
  }
  const adjustment = rules.adjustment;
  if (typeof adjustment !== 'object' || adjustment === null) throw invalid('/rules/adjustment', 'must be an object');
  if (adjustment.kind !== 'ratio' && adjustment.kind !== 'additive' && adjustment.kind !== 'none')
    throw invalid('/rules/adjustment/kind', "must be 'ratio', 'additive' or 'none'");
  requireInteger(adjustment.windowHours, '/rules/adjustment/windowHours', 0, 23);
  requireInteger(adjustment.gapHours, '/rules/adjustment/gapHours', 0, 23);
  if (adjustment.min !== undefined) requireFinite(adjustment.min, '/rules/adjustment/min');
  if (adjustment.max !== undefined) requireFinite(adjustment.max, '/rules/adjustment/max');
  if (adjustment.min !== undefined && adjustment.max !== undefined && adjustment.min > adjustment.max)
    throw invalid('/rules/adjustment', 'min must not exceed max');
  if (adjustment.kind === 'ratio' && adjustment.min !== undefined && adjustment.min < 0)
    throw invalid('/rules/adjustment/min', 'a ratio clamp must not be negative');
}
