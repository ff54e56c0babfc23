/**
 * Day-matching customer baselines: CAISO 10-in-10 and 5-in-10 with a ratio day-of adjustment
 * (bess_market.md §3.2), PJM High 4 of 5 with the symmetric additive adjustment (§3.3).
 *
 * DST: every day lives on its local-clock slot grid (LoadDay.slots). A history day's value at a
 * slot is the mean of its intervals at that slot (a 25-hour day's repeated hour counts once, as the
 * mean of its two values); a day without the slot (23-hour day) is left out of that slot's mean.
 *
 * Hot path (the benchmark runs 100,000 sites): dates are memoised day numbers, the history is
 * indexed by days-before-the-event in a typed array, per-day slot values live in reused typed
 * scratch buffers, and only the event and adjustment-window hours of the chosen days are read.
 */
import { GridseamError } from '@gridseam/model';
import type { BaselineInterval, BaselineResult, DayMatchingInput, LoadDay } from '../contract.ts';
import { resolveRules } from './rules.ts';
import { dayNumberOf, dayNumberSet, invalid, requireIntervalMinutes, weekdayOfDayNumber } from './support.ts';

const EVENT = 1;
const WINDOW = 2;

// Reused scratch (the function is synchronous, so one set per module is safe).
const hourMask = new Uint8Array(24);
let offsetIndex = new Int32Array(64);
let rows = new Float64Array(16 * 24);
let daySum = new Float64Array(24);
let dayCount = new Uint16Array(24);
let baselineBySlot = new Float64Array(24);
let relevantSlots = new Int32Array(24);
let eventPositions = new Int32Array(32);

function refused(message: string, details: Record<string, unknown>): GridseamError {
  return new GridseamError('GW_ERR_BASELINE_REFUSED', message, { details });
}

function isFiniteNumber(value: number): boolean {
  return value - value === 0;
}

/** Checks a load day's shape (the parts the baseline reads) and returns its interval count. */
function checkDayShape(day: LoadDay, index: number, intervalMinutes: number): number {
  if (day.intervalMinutes !== intervalMinutes)
    throw invalid(
      `/days/${index}/intervalMinutes`,
      `every day must use the event day's interval length (${intervalMinutes} min), got ${String(day.intervalMinutes)}`,
    );
  const slots = day.slots;
  const kwh = day.kwh;
  if (slots === null || typeof slots !== 'object' || typeof slots.length !== 'number')
    throw invalid(`/days/${index}/slots`, 'must be an array of slots');
  if (kwh === null || typeof kwh !== 'object' || kwh.length !== slots.length)
    throw invalid(`/days/${index}/kwh`, 'must be an array as long as slots');
  return slots.length;
}

/**
 * Baseline, day-of adjustment and per-interval reduction for one site and one event day.
 * Throws GW_ERR_BASELINE_REFUSED (details: method, eventDay, found, minimum, days) when too few
 * eligible days remain, GW_ERR_VALIDATION for malformed input.
 */
export function dayMatchingBaseline(input: DayMatchingInput): BaselineResult {
  if (typeof input !== 'object' || input === null) throw invalid('', 'must be a baseline input object');
  const method = input.method;
  if (method !== 'caiso-10in10' && method !== 'caiso-5in10' && method !== 'pjm-high4of5')
    throw invalid('/method', "must be 'caiso-10in10', 'caiso-5in10' or 'pjm-high4of5'");
  const rules = resolveRules(method, input.rules);
  const eventDayNumber = dayNumberOf(input.eventDay, '/eventDay');
  const eventDate = input.eventDay;
  const notes: string[] = [];

  // ---- event hours and the adjustment window (hour labels on the local clock)
  const eventHours = input.eventHours;
  if (!Array.isArray(eventHours) || eventHours.length === 0)
    throw invalid('/eventHours', 'must be a non-empty array of hours 0-23');
  hourMask.fill(0);
  let startHour = 24;
  for (let i = 0; i < eventHours.length; i++) {
    const hour = eventHours[i];
    if (typeof hour !== 'number' || !Number.isInteger(hour) || hour < 0 || hour > 23)
      throw invalid(`/eventHours/${i}`, 'must be an integer hour 0-23');
    hourMask[hour] = EVENT;
    if (hour < startHour) startHour = hour;
  }
  const adjustmentRule = rules.adjustment;
  let windowIsEmpty = true;
  if (adjustmentRule.kind !== 'none' && adjustmentRule.windowHours > 0) {
    // The `windowHours` hours ending `gapHours` before the start: start 15, 3 h, gap 1 -> 11, 12, 13.
    const windowEnd = startHour - adjustmentRule.gapHours;
    const windowStart = windowEnd - adjustmentRule.windowHours;
    if (windowStart < 0)
      notes.push(
        windowEnd > 0
          ? `adjustment window clipped to the event day: hours 0-${windowEnd - 1} instead of ${windowStart}..${windowEnd - 1}`
          : 'adjustment window lies before the event day: no adjustment',
      );
    for (let hour = Math.max(0, windowStart); hour < windowEnd; hour++) {
      hourMask[hour] = WINDOW;
      windowIsEmpty = false;
    }
  }

  // ---- index the days: event day, and history by days before the event
  const days = input.days;
  if (!Array.isArray(days)) throw invalid('/days', 'must be an array of load days');
  const lookback = rules.lookbackDays;
  if (offsetIndex.length <= lookback) offsetIndex = new Int32Array(lookback + 1);
  offsetIndex.fill(-1, 0, lookback + 1);
  let eventIndex = -1;
  for (let i = 0; i < days.length; i++) {
    const day = days[i];
    if (typeof day !== 'object' || day === null) throw invalid(`/days/${i}`, 'must be a load day');
    const offset = eventDayNumber - dayNumberOf(day.date, `/days/${i}/date`);
    if (offset === 0) {
      if (eventIndex >= 0) throw invalid(`/days/${i}/date`, `two load days for ${eventDate}`);
      eventIndex = i;
    } else if (offset > 0 && offset <= lookback) {
      if (offsetIndex[offset]! >= 0) throw invalid(`/days/${i}/date`, `two load days for ${day.date}`);
      offsetIndex[offset] = i;
    }
  }
  if (eventIndex < 0)
    throw refused(`no load data for the event day ${eventDate}`, {
      method,
      eventDay: eventDate,
      found: 0,
      minimum: 0,
      days: [],
    });
  const eventDay = days[eventIndex]!;
  const intervalMinutes = requireIntervalMinutes(eventDay.intervalMinutes, `/days/${eventIndex}/intervalMinutes`);
  const perHour = 60 / intervalMinutes;
  const slotsPerDay = 24 * perHour;
  const durationH = intervalMinutes / 60;
  if (daySum.length < slotsPerDay) {
    daySum = new Float64Array(slotsPerDay);
    dayCount = new Uint16Array(slotsPerDay);
    baselineBySlot = new Float64Array(slotsPerDay);
    relevantSlots = new Int32Array(slotsPerDay);
  }
  let relevantCount = 0;
  for (let hour = 0; hour < 24; hour++)
    if (hourMask[hour] !== 0) for (let k = 0; k < perHour; k++) relevantSlots[relevantCount++] = hour * perHour + k;

  // ---- day type (§3.2/§3.3): weekday non-holiday vs weekend-or-holiday
  const holidays = dayNumberSet(input.holidays, '/holidays');
  const excluded = dayNumberSet(input.excludeDays, '/excludeDays');
  const eventWeekday = weekdayOfDayNumber(eventDayNumber);
  const eventIsWeekend = eventWeekday === 0 || eventWeekday === 6 || holidays?.has(eventDayNumber) === true;
  const poolSize = eventIsWeekend ? rules.weekendDays : rules.weekdayDays;
  const minimum = eventIsWeekend ? rules.weekendMinDays : rules.weekdayMinDays;
  const highestOf = eventIsWeekend ? rules.weekendHighestOf : rules.weekdayHighestOf;
  if (rows.length < poolSize * slotsPerDay) rows = new Float64Array(poolSize * slotsPerDay);

  // ---- the pool: most recent eligible days first, up to poolSize
  const poolDay: number[] = [];
  const poolOffset: number[] = [];
  const poolMean: number[] = [];
  for (let offset = 1; offset <= lookback && poolDay.length < poolSize; offset++) {
    const index = offsetIndex[offset]!;
    if (index < 0) continue;
    const dayNumber = eventDayNumber - offset;
    const weekday = weekdayOfDayNumber(dayNumber);
    const isWeekend = weekday === 0 || weekday === 6 || holidays?.has(dayNumber) === true;
    if (isWeekend !== eventIsWeekend || excluded?.has(dayNumber) === true) continue;
    const day = days[index]!;
    const length = checkDayShape(day, index, intervalMinutes);
    const row = poolDay.length;
    const mean = readDay(day, index, length, slotsPerDay, perHour, relevantCount, row * slotsPerDay);
    if (Number.isNaN(mean)) continue; // no data for the event hours: not eligible
    poolDay.push(index);
    poolOffset.push(offset);
    poolMean.push(mean);
  }

  // ---- pjm low-usage screen (§3.3): below lowUsageFraction x the candidates' event-hour mean
  let chosen: number[] = [];
  for (let row = 0; row < poolDay.length; row++) chosen.push(row);
  if (rules.lowUsageFraction !== undefined && chosen.length > 0) {
    let total = 0;
    for (const row of chosen) total += poolMean[row]!;
    const threshold = rules.lowUsageFraction * (total / chosen.length);
    const kept = chosen.filter((row) => poolMean[row]! >= threshold);
    if (kept.length !== chosen.length)
      for (const row of chosen)
        if (poolMean[row]! < threshold)
          notes.push(
            `low-usage screen dropped ${days[poolDay[row]!]!.date}: event-hour mean ${round6(poolMean[row]!)} kWh < ${round6(threshold)} kWh (${rules.lowUsageFraction} x candidates' mean)`,
          );
    chosen = kept;
  }
  if (chosen.length < minimum) {
    const found = chosen.map((row) => days[poolDay[row]!]!.date).reverse();
    throw refused(
      `${method} baseline refused for ${eventDate}: ${chosen.length} eligible ${eventIsWeekend ? 'weekend/holiday' : 'weekday'} day(s) within ${lookback} days, at least ${minimum} required`,
      { method, eventDay: eventDate, found: chosen.length, minimum, days: found },
    );
  }
  if (poolDay.length < poolSize) notes.push(`${poolDay.length} eligible day(s) of the ${poolSize} the method takes`);
  if (highestOf !== undefined && chosen.length > highestOf) {
    // Highest event-hour mean first; ties go to the more recent day.
    chosen.sort((a, b) => poolMean[b]! - poolMean[a]! || poolOffset[a]! - poolOffset[b]!);
    chosen.length = highestOf;
  }
  chosen.sort((a, b) => poolOffset[b]! - poolOffset[a]!); // ascending dates

  // ---- unadjusted baseline per slot: mean over the chosen days that have the slot
  for (let r = 0; r < relevantCount; r++) {
    const slot = relevantSlots[r]!;
    let sum = 0;
    let count = 0;
    for (const row of chosen) {
      const value = rows[row * slotsPerDay + slot]!;
      if (!Number.isNaN(value)) {
        sum += value;
        count++;
      }
    }
    baselineBySlot[slot] = count > 0 ? sum / count : Number.NaN;
  }

  // ---- the event day: event intervals and the adjustment window
  const eventLength = checkDayShape(eventDay, eventIndex, intervalMinutes);
  if (eventPositions.length < eventLength) eventPositions = new Int32Array(eventLength);
  const slots = eventDay.slots;
  const kwh = eventDay.kwh;
  let eventCount = 0;
  let windowActual = 0;
  let windowBaseline = 0;
  let windowCount = 0;
  for (let k = 0; k < eventLength; k++) {
    const slot = slots[k]!;
    if (!(slot >= 0 && slot < slotsPerDay && slot === Math.floor(slot)))
      throw invalid(`/days/${eventIndex}/slots/${k}`, `must be an integer slot 0..${slotsPerDay - 1}`);
    const flag = hourMask[(slot / perHour) | 0]!;
    if (flag === 0) continue;
    const actual = kwh[k]!;
    if (flag === EVENT) {
      if (!isFiniteNumber(actual))
        throw refused(`no load data on the event day ${eventDate} at slot ${slot}`, {
          method,
          eventDay: eventDate,
          found: chosen.length,
          minimum,
          days: chosen.map((row) => days[poolDay[row]!]!.date),
        });
      if (Number.isNaN(baselineBySlot[slot]!))
        throw refused(`no history day has data at slot ${slot} for the ${eventDate} baseline`, {
          method,
          eventDay: eventDate,
          found: chosen.length,
          minimum,
          days: chosen.map((row) => days[poolDay[row]!]!.date),
        });
      eventPositions[eventCount++] = k;
    } else if (isFiniteNumber(actual) && !Number.isNaN(baselineBySlot[slot]!)) {
      windowActual += actual;
      windowBaseline += baselineBySlot[slot]!;
      windowCount++;
    }
  }
  if (eventCount === 0)
    throw refused(`the event day ${eventDate} has no intervals in the event hours`, {
      method,
      eventDay: eventDate,
      found: chosen.length,
      minimum,
      days: chosen.map((row) => days[poolDay[row]!]!.date),
    });

  // ---- day-of adjustment: ratio (§3.2) or symmetric additive (§3.3), clamped when the rule says so
  let raw = 0;
  let applied = 0;
  const kind = adjustmentRule.kind;
  if (kind === 'ratio') {
    raw = 1;
    if (!windowIsEmpty && windowCount === 0) notes.push('no data in the adjustment window: no adjustment');
    else if (windowCount > 0) {
      if (windowBaseline === 0) notes.push('baseline is zero over the adjustment window: ratio set to 1');
      else raw = windowActual / windowBaseline;
    }
    applied = clamp(raw, adjustmentRule.min, adjustmentRule.max);
  } else if (kind === 'additive') {
    if (!windowIsEmpty && windowCount === 0) notes.push('no data in the adjustment window: no adjustment');
    else if (windowCount > 0) raw = (windowActual - windowBaseline) / windowCount;
    applied = clamp(raw, adjustmentRule.min, adjustmentRule.max);
  }

  // ---- intervals
  const starts = eventDay.starts;
  const intervals: BaselineInterval[] = new Array(eventCount);
  for (let e = 0; e < eventCount; e++) {
    const k = eventPositions[e]!;
    const slot = slots[k]!;
    const unadjusted = baselineBySlot[slot]!;
    const baseline = kind === 'ratio' ? unadjusted * applied : kind === 'additive' ? unadjusted + applied : unadjusted;
    const actual = kwh[k]!;
    const interval: BaselineInterval = {
      hour: (slot / perHour) | 0,
      slot,
      durationH,
      unadjusted,
      baseline,
      actual,
      reduction: baseline - actual,
    };
    if (starts !== undefined && starts !== null) interval.start = starts[k]!;
    intervals[e] = interval;
  }
  const chosenDates: string[] = new Array(chosen.length);
  for (let i = 0; i < chosen.length; i++) chosenDates[i] = days[poolDay[chosen[i]!]!]!.date;
  return { method, eventDay: eventDate, days: chosenDates, adjustment: { kind, raw, applied }, intervals, notes };
}

/**
 * Reads one history day's event and window slots into `rows` at `base` (slot means; NaN = no data)
 * and returns its mean over the event-hour intervals, or NaN when it has no usable event-hour data
 * (a missing/NaN value, or an event slot it lacks while not being a short DST day).
 */
function readDay(
  day: LoadDay,
  index: number,
  length: number,
  slotsPerDay: number,
  perHour: number,
  relevantCount: number,
  base: number,
): number {
  for (let r = 0; r < relevantCount; r++) {
    const slot = relevantSlots[r]!;
    daySum[slot] = 0;
    dayCount[slot] = 0;
  }
  const slots = day.slots;
  const kwh = day.kwh;
  let eventSum = 0;
  let eventCount = 0;
  for (let k = 0; k < length; k++) {
    const slot = slots[k]!;
    if (!(slot >= 0 && slot < slotsPerDay && slot === Math.floor(slot)))
      throw invalid(`/days/${index}/slots/${k}`, `must be an integer slot 0..${slotsPerDay - 1}`);
    const flag = hourMask[(slot / perHour) | 0]!;
    if (flag === 0) continue;
    const value = kwh[k]!;
    if (!isFiniteNumber(value)) {
      if (!Number.isNaN(value)) throw invalid(`/days/${index}/kwh/${k}`, 'must be finite (NaN marks missing data)');
      if (flag === EVENT) return Number.NaN;
      continue;
    }
    daySum[slot] = daySum[slot]! + value;
    dayCount[slot] = dayCount[slot]! + 1;
    if (flag === EVENT) {
      eventSum += value;
      eventCount++;
    }
  }
  if (eventCount === 0) return Number.NaN;
  const isShortDay = length < slotsPerDay;
  for (let r = 0; r < relevantCount; r++) {
    const slot = relevantSlots[r]!;
    const count = dayCount[slot]!;
    if (count === 0 && hourMask[(slot / perHour) | 0] === EVENT && !isShortDay) return Number.NaN;
    rows[base + slot] = count === 0 ? Number.NaN : count === 1 ? daySum[slot]! : daySum[slot]! / count;
  }
  return eventSum / eventCount;
}

function clamp(value: number, min: number | undefined, max: number | undefined): number {
  if (min !== undefined && value < min) return min;
  if (max !== undefined && value > max) return max;
  return value;
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
