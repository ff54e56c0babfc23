/** Hand-built load calendars and assertion helpers for the baselines tests. */
import assert from 'node:assert/strict';
import { GridseamError } from '@gridseam/model';
import type { LoadDay } from '../../src/contract.ts';
import { addDays, dayNumber } from '../../src/time.ts';

/** One hourly day (slots 0-23) with load `valueAt(hour)` kWh. */
export function hourlyDay(date: string, valueAt: (hour: number) => number): LoadDay {
  const slots = Array.from({ length: 24 }, (_, hour) => hour);
  return { date, intervalMinutes: 60, slots, kwh: slots.map(valueAt) };
}

/**
 * Hourly days from `from` to `to` inclusive; day d has load level(d) + profile(hour) at every hour
 * (a level of undefined leaves the day out). The default profile is `hour`, so a mean over days of
 * levels L gives baseline(h) = mean(L) + h.
 */
export function calendar(
  from: string,
  to: string,
  level: (date: string) => number | undefined,
  profile: (hour: number) => number = (hour) => hour,
): LoadDay[] {
  const days: LoadDay[] = [];
  for (let date = from; dayNumber(date) <= dayNumber(to); date = addDays(date, 1)) {
    const value = level(date);
    if (value !== undefined) days.push(hourlyDay(date, (hour) => value + profile(hour)));
  }
  return days;
}

export function isWeekendDate(date: string): boolean {
  const weekday = (((dayNumber(date) + 4) % 7) + 7) % 7;
  return weekday === 0 || weekday === 6;
}

export function assertClose(actual: number, expected: number, message?: string, epsilon = 1e-9): void {
  assert.ok(
    Math.abs(actual - expected) <= epsilon * Math.max(1, Math.abs(expected)),
    `${message ?? 'value'}: expected ${expected}, got ${actual}`,
  );
}

export function assertCloseArray(actual: readonly number[], expected: readonly number[], message?: string): void {
  assert.equal(actual.length, expected.length, `${message ?? 'array'} length`);
  for (let i = 0; i < expected.length; i++) assertClose(actual[i]!, expected[i]!, `${message ?? 'array'}[${i}]`);
}

/** Runs `run`, expects a GridseamError with `code` (and a message matching `pattern`), returns it. */
export function expectError(run: () => unknown, code: string, pattern?: RegExp): GridseamError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(GridseamError.is(caught), `expected a GridseamError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern !== undefined) assert.match(caught.message, pattern);
  return caught;
}
