/**
 * Small shared helpers of the baselines area: validation errors with a JSON-pointer path, and a
 * memoised calendar (date string -> day number, weekday) so hot paths never re-parse dates.
 */
import { GridseamError } from '@gridseam/model';
import type { LocalDate } from '../contract.ts';
import { dayNumber } from '../time.ts';

/** GW_ERR_VALIDATION naming the field (JSON Pointer) that is wrong. */
export function invalid(path: string, message: string, details?: Record<string, unknown>): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', `${path || '/'}: ${message}`, {
    issues: [{ path, message }],
    ...(details === undefined ? {} : { details }),
  });
}

export function requireFinite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, 'must be a finite number');
  return value;
}

export function requireInteger(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw invalid(path, `must be an integer in ${min}..${max}`);
  return value;
}

/** Interval lengths a load day may use: divisors of 60 minutes (5, 15, 30 and 60 in practice). */
export function requireIntervalMinutes(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || 60 % value !== 0)
    throw invalid(path, 'intervalMinutes must be a whole number of minutes that divides 60');
  return value;
}

// Bounded memo: date strings repeat across sites (the same calendar), so a few thousand entries
// cover any lookback; the map is cleared when full instead of tracking recency.
const DAY_CACHE_LIMIT = 8192;
const dayCache = new Map<string, number>();

/** Days since 1970-01-01 of a `YYYY-MM-DD` date, memoised; GW_ERR_VALIDATION at `path` when not a date. */
export function dayNumberOf(date: unknown, path: string): number {
  if (typeof date === 'string') {
    const cached = dayCache.get(date);
    if (cached !== undefined) return cached;
    let day: number;
    try {
      day = dayNumber(date);
    } catch {
      throw invalid(path, `not a calendar date (YYYY-MM-DD): ${JSON.stringify(date).slice(0, 40)}`);
    }
    if (dayCache.size >= DAY_CACHE_LIMIT) dayCache.clear();
    dayCache.set(date, day);
    return day;
  }
  throw invalid(path, 'must be a date string YYYY-MM-DD');
}

/** 0 = Sunday .. 6 = Saturday, from a day number (1970-01-01 was a Thursday). */
export function weekdayOfDayNumber(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** Day numbers of a list of dates (holidays, excluded days); undefined when the list is empty. */
export function dayNumberSet(dates: readonly LocalDate[] | undefined, path: string): Set<number> | undefined {
  if (dates === undefined) return undefined;
  if (!Array.isArray(dates)) throw invalid(path, 'must be an array of dates');
  if (dates.length === 0) return undefined;
  const set = new Set<number>();
  for (let i = 0; i < dates.length; i++) set.add(dayNumberOf(dates[i], `${path}/${i}`));
  return set;
}
