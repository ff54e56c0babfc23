/**
 * Event timing for the `active` filter of GET /events (3.1.0: "ignore events that have transpired"), from
 * User Guide §7.3-7.4: event.intervalPeriod is every interval's default, an interval's own intervalPeriod
 * overrides it, intervals without a start follow one another, a start of 0001-01-01 means "now" and a duration
 * of P9999Y means "forever", and 0001-01-01 with PT0S is a cancelled event (§7.9). A zero duration with a real
 * start may mean "instantaneous or infinity, depending on payloadType" (3.0.1 intervalPeriod), so it never ends
 * here. Durations are ISO 8601 (the spec's `duration` pattern). Pure.
 */
import type { JsonObject, JsonValue } from './contract.ts';

const DURATION =
  /^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Years at or beyond this are "forever" (P9999Y). */
const FOREVER_YEARS = 9999;

/** `start + duration` in epoch ms (calendar arithmetic for years and months, UTC); Infinity for P9999Y. */
export function addDuration(startMs: number, duration: string): number | undefined {
  const match = DURATION.exec(duration);
  if (match === null) return undefined;
  const [, sign, years, months, dayCount, dayUnit, hours, minutes, seconds] = match;
  if (Number(years ?? 0) >= FOREVER_YEARS) return Number.POSITIVE_INFINITY;
  const factor = sign === '-' ? -1 : 1;
  const date = new Date(startMs);
  if (years !== undefined || months !== undefined)
    date.setUTCMonth(date.getUTCMonth() + factor * (Number(years ?? 0) * 12 + Number(months ?? 0)));
  const days = Number(dayCount ?? 0) * (dayUnit === 'W' ? 7 : 1);
  const ms =
    ((days * 24 + Number(hours ?? 0)) * 60 + Number(minutes ?? 0)) * 60_000 + Math.round(Number(seconds ?? 0) * 1000);
  const end = date.getTime() + factor * ms;
  return Number.isFinite(end) ? end : Number.POSITIVE_INFINITY;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for a duration of zero length (PT0S, P0D, ...). */
function isZero(duration: string): boolean {
  return addDuration(0, duration) === 0;
}

function isCancelledInterval(interval: JsonValue, defaultStart: number, defaultDuration: string | undefined): boolean {
  if (!isObject(interval)) return true;
  const own = isObject(interval.intervalPeriod) ? interval.intervalPeriod : undefined;
  const start = typeof own?.start === 'string' ? Date.parse(own.start) : defaultStart;
  const duration = typeof own?.duration === 'string' ? own.duration : (defaultDuration ?? 'PT0S');
  return !Number.isNaN(start) && isNowSentinel(start) && isZero(duration);
}

/** A start that means "now" (0001-01-01, User Guide §7.3 'do it now'). */
function isNowSentinel(startMs: number): boolean {
  return new Date(startMs).getUTCFullYear() <= 1;
}

/**
 * When an event's last interval ends, epoch ms: Infinity when it never ends, starts "now" or cannot be told
 * (it is then never treated as transpired).
 */
export function eventEndMs(event: JsonObject): number {
  const period = isObject(event.intervalPeriod) ? event.intervalPeriod : undefined;
  const defaultStart = typeof period?.start === 'string' ? Date.parse(period.start) : Number.NaN;
  const defaultDuration = typeof period?.duration === 'string' ? period.duration : undefined;
  const intervals = Array.isArray(event.intervals) ? event.intervals : [];
  let cursor = defaultStart;
  let end = Number.NaN;
  for (const interval of intervals) {
    if (!isObject(interval)) continue;
    const own = isObject(interval.intervalPeriod) ? interval.intervalPeriod : undefined;
    const start = typeof own?.start === 'string' ? Date.parse(own.start) : cursor;
    const duration = typeof own?.duration === 'string' ? own.duration : (defaultDuration ?? 'PT0S');
    if (Number.isNaN(start)) return Number.POSITIVE_INFINITY;
    if (isNowSentinel(start)) {
      if (isZero(duration)) continue;
      return Number.POSITIVE_INFINITY;
    }
    const intervalEnd = addDuration(start, duration);
    if (intervalEnd === undefined || isZero(duration)) return Number.POSITIVE_INFINITY;
    cursor = intervalEnd;
    end = Number.isNaN(end) ? intervalEnd : Math.max(end, intervalEnd);
  }
  if (Number.isNaN(end)) {
    // No interval with a real window: cancelled if the event's own window is 0001-01-01 + PT0S.
    if (!Number.isNaN(defaultStart) && isNowSentinel(defaultStart) && isZero(defaultDuration ?? 'PT0S'))
      return Number.NEGATIVE_INFINITY;
    if (
      intervals.length > 0 &&
      intervals.every((interval) => isCancelledInterval(interval, defaultStart, defaultDuration))
    )
      return Number.NEGATIVE_INFINITY;
    if (intervals.length > 0 || Number.isNaN(defaultStart) || isNowSentinel(defaultStart))
      return Number.POSITIVE_INFINITY;
    const duration = defaultDuration ?? 'PT0S';
    if (isZero(duration)) return Number.POSITIVE_INFINITY;
    return addDuration(defaultStart, duration) ?? Number.POSITIVE_INFINITY;
  }
  return end;
}
