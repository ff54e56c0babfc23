/**
 * Local operating days and intervals in a market's time zone, DST-safe. Settlement stores UTC
 * instants plus the market's local operating day (bess_market.md §4.4): a local day is 23, 24 or
 * 25 hours long, and hour-ending labels (HE1..HE24, HE25 on the fall-back day) are converted here
 * and nowhere else. Pure: uses the runtime's IANA zone data through Intl, no clocks.
 */
import { GridseamError } from '@gridseam/model';
import type { LocalDate } from './contract.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-CA', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
      });
    } catch {
      throw new GridseamError('GW_ERR_VALIDATION', `unknown time zone ${JSON.stringify(timeZone)}`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date (a calendar day number, no time zone). */
export function dayNumber(date: LocalDate): number {
  const match = DATE_PATTERN.exec(date);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (!match || !Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== date)
    throw new GridseamError('GW_ERR_VALIDATION', `not a calendar date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  return Math.round(ms / DAY_MS);
}

/** Whether a value is a `YYYY-MM-DD` naming a real calendar day. */
export function isLocalDate(value: unknown): value is LocalDate {
  if (typeof value !== 'string') return false;
  try {
    dayNumber(value);
    return true;
  } catch {
    return false;
  }
}

/** The `YYYY-MM-DD` of a calendar day number. */
export function dateOfDayNumber(day: number): LocalDate {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: LocalDate, days: number): LocalDate {
  return dateOfDayNumber(dayNumber(date) + days);
}

/** 0 = Sunday .. 6 = Saturday. */
export function dayOfWeek(date: LocalDate): number {
  return (((dayNumber(date) + 4) % 7) + 7) % 7;
}

export function isWeekend(date: LocalDate): boolean {
  const day = dayOfWeek(date);
  return day === 0 || day === 6;
}

/** The local wall-clock parts of an instant in a time zone. */
export function localParts(ms: number, timeZone: string): { date: LocalDate; hour: number; minute: number } {
  const parts = formatterOf(timeZone).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    date: `${get('year')}-${get('month')}-${get('day')}`,
    hour: Number(get('hour')),
    minute: Number(get('minute')),
  };
}

/** The local operating day an instant falls in. */
export function localDateOf(ms: number, timeZone: string): LocalDate {
  return localParts(ms, timeZone).date;
}

/** Offset of local time from UTC at an instant, minutes (e.g. -420 for PDT). */
export function utcOffsetMinutes(ms: number, timeZone: string): number {
  const { date, hour, minute } = localParts(ms, timeZone);
  const asUtc = dayNumber(date) * DAY_MS + hour * HOUR_MS + minute * 60_000;
  const flooredMs = Math.floor(ms / 60_000) * 60_000;
  return Math.round((asUtc - flooredMs) / 60_000);
}

/** The first instant of a local day (local midnight, or the first existing instant after it). */
export function startOfLocalDay(date: LocalDate, timeZone: string): number {
  const midnightUtc = dayNumber(date) * DAY_MS;
  // Offsets are within +-14 h; two refinements settle on the instant whose local date is `date`.
  let guess = midnightUtc - utcOffsetMinutes(midnightUtc, timeZone) * 60_000;
  guess = midnightUtc - utcOffsetMinutes(guess, timeZone) * 60_000;
  // If local midnight does not exist (a zone that springs forward at 00:00), step to the first instant of the day.
  while (localDateOf(guess, timeZone) !== date) guess += 15 * 60_000;
  while (localDateOf(guess - 15 * 60_000, timeZone) === date) guess -= 15 * 60_000;
  return guess;
}

/** One local day's intervals: starts (epoch ms) and local clock slots (hour x perHour + k). */
export interface DayIntervals {
  date: LocalDate;
  intervalMinutes: number;
  starts: number[];
  slots: number[];
  /** Local hour-beginning label of each interval (0-23; the fall-back hour appears twice). */
  hours: number[];
  /** 23, 24 or 25. */
  hoursInDay: number;
}

/** Every interval of a local day in a time zone: 23, 24 or 25 hours of them. */
export function dayIntervals(date: LocalDate, timeZone: string, intervalMinutes: number): DayIntervals {
  if (!Number.isInteger(intervalMinutes) || intervalMinutes <= 0 || 60 % intervalMinutes !== 0)
    throw new GridseamError('GW_ERR_VALIDATION', `intervalMinutes must divide 60 (got ${intervalMinutes})`);
  const perHour = 60 / intervalMinutes;
  const first = startOfLocalDay(date, timeZone);
  const next = startOfLocalDay(addDays(date, 1), timeZone);
  const starts: number[] = [];
  const slots: number[] = [];
  const hours: number[] = [];
  for (let t = first; t < next; t += intervalMinutes * 60_000) {
    const { hour, minute } = localParts(t, timeZone);
    starts.push(t);
    hours.push(hour);
    slots.push(hour * perHour + Math.floor(minute / intervalMinutes));
  }
  return { date, intervalMinutes, starts, slots, hours, hoursInDay: Math.round((next - first) / HOUR_MS) };
}

/**
 * Hour-ending label to the interval it ends: HE1 is 00:00-01:00 local. On a 23-hour day HE1..HE23
 * exist, on a 25-hour day HE1..HE25 (labels count hours of the day, not clock readings, as ISOs
 * publish them), so HE3 on the spring-forward day is 03:00-04:00 local.
 */
export function hourEndingInterval(
  date: LocalDate,
  hourEnding: number,
  timeZone: string,
): { startMs: number; endMs: number } {
  const first = startOfLocalDay(date, timeZone);
  const next = startOfLocalDay(addDays(date, 1), timeZone);
  const hoursInDay = Math.round((next - first) / HOUR_MS);
  if (!Number.isInteger(hourEnding) || hourEnding < 1 || hourEnding > hoursInDay)
    throw new GridseamError(
      'GW_ERR_VALIDATION',
      `hour ending ${hourEnding} does not exist on ${date} in ${timeZone} (1..${hoursInDay})`,
    );
  const startMs = first + (hourEnding - 1) * HOUR_MS;
  return { startMs, endMs: startMs + HOUR_MS };
}

/** The hour-ending label (1..25) of the hour an instant falls in, on its local day. */
export function hourEndingOf(ms: number, timeZone: string): { date: LocalDate; hourEnding: number } {
  const date = localDateOf(ms, timeZone);
  const first = startOfLocalDay(date, timeZone);
  return { date, hourEnding: Math.floor((ms - first) / HOUR_MS) + 1 };
}

/** ISO-8601 with the zone's offset at that instant, e.g. 2026-03-08T03:00:00-07:00. */
export function isoWithOffset(ms: number, timeZone: string): string {
  const offset = utcOffsetMinutes(ms, timeZone);
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
