/**
 * Interval data to LoadDays on the local-clock slot grid (contract.ts LoadDay): from the CLI's
 * `date,hour,kwh` rows, or from telemetry instants in a market time zone (DST-aware).
 */
import type { LoadDay, LocalDate } from '../contract.ts';
import { dateOfDayNumber, utcOffsetMinutes } from '../time.ts';
import { dayNumberOf, invalid, requireIntervalMinutes } from './support.ts';

const DAY_MS = 86_400_000;

/**
 * Hourly rows (hour-beginning 0-23) to LoadDays (intervalMinutes 60, slot = hour), days ascending.
 * A 25-hour day may repeat ONE hour (the rows keep their order: first and second occurrence); a
 * day with exactly 23 distinct hours and no repeat is a 23-hour day (the missing hour has no slot).
 * Any other missing hour is missing data: its slot is present with NaN. A third occurrence of an
 * hour, a second repeated hour, an hour outside 0-23, a bad date or a non-finite kWh throws
 * GW_ERR_VALIDATION with the row's index in the path (`/<row>/<field>`) and details.row.
 */
export function loadDaysFromHourly(rows: ReadonlyArray<{ date: string; hour: number; kwh: number }>): LoadDay[] {
  if (!Array.isArray(rows)) throw invalid('', 'must be an array of {date, hour, kwh} rows');
  const byDay = new Map<number, number[]>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (typeof row !== 'object' || row === null) throw invalid(`/${i}`, 'must be a {date, hour, kwh} row', { row: i });
    let day: number;
    try {
      day = dayNumberOf(row.date, `/${i}/date`);
    } catch (error) {
      throw invalid(`/${i}/date`, (error as Error).message.replace(/^[^:]*: /, ''), { row: i });
    }
    const hour = row.hour;
    if (typeof hour !== 'number' || !Number.isInteger(hour) || hour < 0 || hour > 23)
      throw invalid(`/${i}/hour`, `hour must be an integer 0-23 (hour-beginning), got ${String(hour)}`, { row: i });
    const kwh = row.kwh;
    if (typeof kwh !== 'number' || !Number.isFinite(kwh))
      throw invalid(`/${i}/kwh`, `kwh must be a finite number, got ${String(kwh)}`, { row: i });
    const list = byDay.get(day);
    if (list === undefined) byDay.set(day, [i]);
    else list.push(i);
  }
  const dayNumbers = [...byDay.keys()].sort((a, b) => a - b);
  const out: LoadDay[] = [];
  const occurrences = new Uint8Array(24);
  for (const day of dayNumbers) {
    // Stable sort by hour: a repeated hour keeps its two rows in file order.
    const indexes = byDay.get(day)!.sort((a, b) => rows[a]!.hour - rows[b]!.hour);
    occurrences.fill(0);
    let repeatedHour = -1;
    for (const i of indexes) {
      const hour = rows[i]!.hour;
      occurrences[hour]!++;
      if (occurrences[hour]! > 2)
        throw invalid(`/${i}/hour`, `hour ${hour} appears more than twice on ${rows[i]!.date}`, { row: i });
      if (occurrences[hour] === 2) {
        if (repeatedHour >= 0)
          throw invalid(
            `/${i}/hour`,
            `a second repeated hour (${hour}) on ${rows[i]!.date}: only the fall-back hour may repeat`,
            { row: i },
          );
        repeatedHour = hour;
      }
    }
    let distinct = 0;
    for (let hour = 0; hour < 24; hour++) if (occurrences[hour]! > 0) distinct++;
    const isShortDay = distinct === 23 && repeatedHour < 0;
    const length = isShortDay ? 23 : indexes.length + (24 - distinct);
    const slots = new Uint16Array(length);
    const kwh = new Float64Array(length);
    let k = 0;
    let cursor = 0;
    for (let hour = 0; hour < 24; hour++) {
      if (occurrences[hour] === 0) {
        if (isShortDay) continue;
        slots[k] = hour;
        kwh[k++] = Number.NaN; // missing data, not a DST gap
        continue;
      }
      for (let n = 0; n < occurrences[hour]!; n++) {
        slots[k] = hour;
        kwh[k++] = rows[indexes[cursor++]!]!.kwh;
      }
    }
    out.push({ date: rows[indexes[0]!]!.date as LocalDate, intervalMinutes: 60, slots, kwh });
  }
  return out;
}

/**
 * Interval data at instants (strictly increasing interval starts, epoch ms) to LoadDays in a time
 * zone: each interval goes to its local date and clock slot (hour x perHour + minute / length),
 * so a 23-hour day lacks the skipped hour's slots and a 25-hour day holds the repeated hour's
 * slots twice, in time order. NaN kWh marks missing data; days ascending. Offsets are looked up
 * once per 15-minute bucket (zone transitions fall on quarter hours).
 */
export function loadDaysFromInstants(
  starts: ArrayLike<number>,
  kwh: ArrayLike<number>,
  intervalMinutes: number,
  timeZone: string,
): LoadDay[] {
  if (starts === null || typeof starts !== 'object' || typeof starts.length !== 'number')
    throw invalid('/starts', 'must be an array of epoch ms');
  if (kwh === null || typeof kwh !== 'object' || kwh.length !== starts.length)
    throw invalid('/kwh', 'must be an array as long as starts');
  requireIntervalMinutes(intervalMinutes, '/intervalMinutes');
  if (typeof timeZone !== 'string' || timeZone === '') throw invalid('/timeZone', 'must be an IANA time zone');
  const offsets = new Map<number, number>();
  const byDay = new Map<number, { slots: number[]; kwh: number[]; starts: number[] }>();
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i]!;
    if (typeof start !== 'number' || !Number.isFinite(start))
      throw invalid(`/starts/${i}`, 'must be a finite epoch ms');
    if (start <= previous) throw invalid(`/starts/${i}`, 'starts must be strictly increasing');
    previous = start;
    const value = kwh[i]!;
    if (typeof value !== 'number' || value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY)
      throw invalid(`/kwh/${i}`, 'must be a finite number (NaN marks missing data)');
    const bucket = Math.floor(start / 900_000);
    let offset = offsets.get(bucket);
    if (offset === undefined) {
      offset = utcOffsetMinutes(bucket * 900_000, timeZone);
      offsets.set(bucket, offset);
    }
    const local = start + offset * 60_000;
    const day = Math.floor(local / DAY_MS);
    const minuteOfDay = Math.floor((local - day * DAY_MS) / 60_000);
    let entry = byDay.get(day);
    if (entry === undefined) {
      entry = { slots: [], kwh: [], starts: [] };
      byDay.set(day, entry);
    }
    entry.slots.push(Math.floor(minuteOfDay / intervalMinutes));
    entry.kwh.push(value);
    entry.starts.push(start);
  }
  return [...byDay.keys()]
    .sort((a, b) => a - b)
    .map((day) => {
      const entry = byDay.get(day)!;
      return {
        date: dateOfDayNumber(day),
        intervalMinutes,
        slots: Uint16Array.from(entry.slots),
        kwh: Float64Array.from(entry.kwh),
        starts: Float64Array.from(entry.starts),
      };
    });
}
