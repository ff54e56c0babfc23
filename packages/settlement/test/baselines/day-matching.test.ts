/**
 * Day-matching baselines on hand-built calendars (bess_market.md §3.2, §3.3). Every expected
 * number is worked out in the comments. Calendar (2026): Thu 01-29, Fri 01-30, Sat 01-31,
 * Sun 02-01, Mon 02-02 ... Fri 02-06, Sat 02-07, Sun 02-08, Mon 02-09 ... Thu 02-12 (the usual
 * event day), Sat 02-14.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DayMatchingInput, LoadDay } from '../../src/contract.ts';
import { DEFAULT_DAY_MATCHING_RULES, dayMatchingBaseline } from '../../src/index.ts';
import { assertClose, assertCloseArray, calendar, expectError, hourlyDay, isWeekendDate } from './support.ts';

const EVENT_DAY = '2026-02-12';
const HOURS = [15, 16, 17];
/** The ten most recent weekdays before 02-12, ascending. */
const TEN_WEEKDAYS = [
  '2026-01-29',
  '2026-01-30',
  '2026-02-02',
  '2026-02-03',
  '2026-02-04',
  '2026-02-05',
  '2026-02-06',
  '2026-02-09',
  '2026-02-10',
  '2026-02-11',
];

/** Event day: window hours 11-13 at window(h), event hours 15-17 at `actual`, else 100 + h. */
function eventDayLoad(date: string, window: (hour: number) => number, actual = 80): LoadDay {
  return hourlyDay(date, (hour) =>
    hour >= 11 && hour <= 13 ? window(hour) : HOURS.includes(hour) ? actual : 100 + hour,
  );
}

function run(input: Partial<DayMatchingInput> & { days: readonly LoadDay[] }) {
  return dayMatchingBaseline({ method: 'caiso-10in10', eventDay: EVENT_DAY, eventHours: HOURS, ...input });
}

describe('defaults', () => {
  test('match the documented table', () => {
    const caiso = DEFAULT_DAY_MATCHING_RULES['caiso-10in10'];
    assert.deepEqual(
      [caiso.lookbackDays, caiso.weekdayDays, caiso.weekendDays, caiso.weekdayMinDays, caiso.weekendMinDays],
      [45, 10, 4, 5, 2],
    );
    assert.deepEqual(caiso.adjustment, { kind: 'ratio', windowHours: 3, gapHours: 1, min: 0.8, max: 1.2 });
    const residential = DEFAULT_DAY_MATCHING_RULES['caiso-5in10'];
    assert.deepEqual([residential.weekdayHighestOf, residential.weekendHighestOf], [5, 2]);
    assert.deepEqual([residential.adjustment.min, residential.adjustment.max], [0.6, 1.4]);
    const pjm = DEFAULT_DAY_MATCHING_RULES['pjm-high4of5'];
    assert.deepEqual(
      [pjm.weekdayDays, pjm.weekendDays, pjm.weekdayHighestOf, pjm.weekendHighestOf, pjm.lowUsageFraction],
      [5, 3, 4, 2, 0.25],
    );
    assert.deepEqual(pjm.adjustment, { kind: 'additive', windowHours: 3, gapHours: 1 });
    assert.ok(Object.isFrozen(caiso) && Object.isFrozen(caiso.adjustment));
  });
});

describe('caiso-10in10', () => {
  test('the ten most recent weekdays, ratio adjustment, reduction per interval', () => {
    // 02-11 at 80 and 02-10 at 120, the other 8 recent weekdays at 100: mean level 1000/10 = 100,
    // so B(h) = 100 + h. Older weekdays (500) and weekends (1000) must not count.
    const level = (date: string) =>
      isWeekendDate(date)
        ? 1000
        : date === '2026-02-11'
          ? 80
          : date === '2026-02-10'
            ? 120
            : date < '2026-01-29'
              ? 500
              : 100;
    // Window 11-13 (3 h ending 1 h before 15): load 1.1 x B(h) -> ratio 1.1 (inside [0.8, 1.2]).
    // Adjusted B*(15) = 1.1 x 115 = 126.5, reduction 126.5 - 80 = 46.5; 16: 127.6 -> 47.6; 17: 128.7 -> 48.7.
    const days = [...calendar('2026-01-01', '2026-02-11', level), eventDayLoad(EVENT_DAY, (h) => 1.1 * (100 + h))];
    const result = run({ days: days.reverse() }); // input order does not matter
    assert.equal(result.method, 'caiso-10in10');
    assert.equal(result.eventDay, EVENT_DAY);
    assert.deepEqual(result.days, TEN_WEEKDAYS);
    assert.equal(result.adjustment.kind, 'ratio');
    assertClose(result.adjustment.raw, 1.1, 'raw');
    assertClose(result.adjustment.applied, 1.1, 'applied');
    assert.deepEqual(
      result.intervals.map((i) => [i.hour, i.slot, i.durationH]),
      [
        [15, 15, 1],
        [16, 16, 1],
        [17, 17, 1],
      ],
    );
    assertCloseArray(
      result.intervals.map((i) => i.unadjusted),
      [115, 116, 117],
      'unadjusted',
    );
    assertCloseArray(
      result.intervals.map((i) => i.baseline),
      [126.5, 127.6, 128.7],
      'baseline',
    );
    assertCloseArray(
      result.intervals.map((i) => i.reduction),
      [46.5, 47.6, 48.7],
      'reduction',
    );
    assert.deepEqual(result.notes, []);
  });

  test('holidays leave the weekday pool (the next older weekday replaces them)', () => {
    // 02-02 is a holiday at 1000: with it flagged, the pool is 01-28 .. 02-11 without 02-02, all at 100,
    // so B(15) = 115. Without the flag, 02-02 would be in: (9 x 100 + 1000)/10 + 15 = 205.
    const level = (date: string) => (isWeekendDate(date) ? 1000 : date === '2026-02-02' ? 1000 : 100);
    const days = [...calendar('2026-01-01', '2026-02-11', level), eventDayLoad(EVENT_DAY, (h) => 100 + h)];
    const flagged = run({ days, holidays: ['2026-02-02'] });
    assert.deepEqual(flagged.days, ['2026-01-28', ...TEN_WEEKDAYS.filter((d) => d !== '2026-02-02')]);
    assertClose(flagged.intervals[0]!.unadjusted, 115);
    const unflagged = run({ days });
    assertClose(unflagged.intervals[0]!.unadjusted, 205);
  });

  test('a holiday event day uses the weekend/holiday pool, which holidays join; excluded days are skipped', () => {
    // Event Mon 02-02 (holiday). Weekend/holiday days back from it: Sun 02-01, Sat 01-31, Sun 01-25
    // (excluded), Sat 01-24, Mon 01-19 (holiday) -> the 4: 02-01, 01-31, 01-24, 01-19.
    // Levels: weekends 200, 01-19 240 -> mean (3 x 200 + 240)/4 = 210; B(h) = 210 + h.
    // Event-day window = B(h) -> ratio 1; actual 150 -> reduction at 15 = 225 - 150 = 75.
    const level = (date: string) =>
      date === '2026-01-19' ? 240 : date === '2026-01-25' ? 999 : isWeekendDate(date) ? 200 : 100;
    const days = [...calendar('2026-01-01', '2026-02-01', level), eventDayLoad('2026-02-02', (h) => 210 + h, 150)];
    const result = run({
      days,
      eventDay: '2026-02-02',
      holidays: ['2026-01-19', '2026-02-02'],
      excludeDays: ['2026-01-25'],
    });
    assert.deepEqual(result.days, ['2026-01-19', '2026-01-24', '2026-01-31', '2026-02-01']);
    assertClose(result.adjustment.applied, 1);
    assertCloseArray(
      result.intervals.map((i) => i.reduction),
      [75, 76, 77],
    );
  });

  test('excluded (past event) days are never eligible', () => {
    // Exclude 02-10 and 02-05 (at 0): the pool reaches back to 01-28 (110) and 01-27 (130).
    // Mean level (8 x 100 + 110 + 130)/10 = 104 -> B(15) = 119.
    const level = (date: string) =>
      isWeekendDate(date)
        ? 1000
        : date === '2026-02-10' || date === '2026-02-05'
          ? 0
          : date === '2026-01-28'
            ? 110
            : date === '2026-01-27'
              ? 130
              : 100;
    const days = [...calendar('2026-01-01', '2026-02-11', level), eventDayLoad(EVENT_DAY, (h) => 104 + h)];
    const result = run({ days, excludeDays: ['2026-02-10', '2026-02-05'] });
    assert.deepEqual(result.days, [
      '2026-01-27',
      '2026-01-28',
      '2026-01-29',
      '2026-01-30',
      '2026-02-02',
      '2026-02-03',
      '2026-02-04',
      '2026-02-06',
      '2026-02-09',
      '2026-02-11',
    ]);
    assertClose(result.intervals[0]!.unadjusted, 119);
    assertClose(result.adjustment.raw, 1);
  });

  test('a day without data in the event hours is not eligible', () => {
    // 02-11 has NaN at 16: it drops out and 01-28 joins. All at 100 -> B(15) = 115 still.
    const days = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100));
    const broken = days.find((d) => d.date === '2026-02-11')!;
    (broken.kwh as number[])[16] = Number.NaN;
    days.push(eventDayLoad(EVENT_DAY, (h) => 100 + h));
    const result = run({ days });
    assert.deepEqual(result.days, ['2026-01-28', ...TEN_WEEKDAYS.slice(0, 9)]);
  });

  test('the lookback bounds the pool: a day exactly lookbackDays before counts, one more does not', () => {
    // lookbackDays 10: 02-02 is 10 days before 02-12 -> weekdays 02-02..02-11 = 8 days (note: 8 of 10).
    // lookbackDays 9: 02-03..02-11 = 7 days.
    const days = [
      ...calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100)),
      eventDayLoad(EVENT_DAY, (h) => 100 + h),
    ];
    const ten = run({ days, rules: { lookbackDays: 10 } });
    assert.deepEqual(ten.days, TEN_WEEKDAYS.slice(2));
    assert.deepEqual(ten.notes, ['8 eligible day(s) of the 10 the method takes']);
    assert.deepEqual(run({ days, rules: { lookbackDays: 9 } }).days, TEN_WEEKDAYS.slice(3));
  });

  test('too few weekdays is refused with the days found', () => {
    // Only 02-03, 02-09, 02-10, 02-11 as weekday history: 4 < 5.
    const keep = new Set(['2026-02-03', '2026-02-09', '2026-02-10', '2026-02-11']);
    const days = [
      ...calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) || keep.has(d) ? 100 : undefined)),
      eventDayLoad(EVENT_DAY, (h) => 100 + h),
    ];
    const error = expectError(
      () => run({ days }),
      'GW_ERR_BASELINE_REFUSED',
      /4 eligible weekday day\(s\).*at least 5/,
    );
    assert.equal(error.statusCode, 422);
    assert.deepEqual(error.details, {
      method: 'caiso-10in10',
      eventDay: EVENT_DAY,
      found: 4,
      minimum: 5,
      days: ['2026-02-03', '2026-02-09', '2026-02-10', '2026-02-11'],
    });
  });

  test('too few weekend days is refused (weekend minimum 2)', () => {
    // Event Sat 02-14; the only weekend history day is 02-08.
    const days = [
      ...calendar('2026-01-26', '2026-02-13', (d) => (!isWeekendDate(d) || d === '2026-02-08' ? 100 : undefined)),
      eventDayLoad('2026-02-14', (h) => 100 + h),
    ];
    const error = expectError(() => run({ days, eventDay: '2026-02-14' }), 'GW_ERR_BASELINE_REFUSED');
    assert.deepEqual(error.details, {
      method: 'caiso-10in10',
      eventDay: '2026-02-14',
      found: 1,
      minimum: 2,
      days: ['2026-02-08'],
    });
  });

  test('weekend event day: the 4 most recent weekend days', () => {
    // Event Sat 02-14: 02-08 (200), 02-07 (260), 02-01 (230), 01-31 (210) -> mean 225; 01-25 (999) is 5th.
    // Window = B -> ratio 1; actual 80 -> reduction(15) = 240 - 80 = 160.
    const levels: Record<string, number> = {
      '2026-02-08': 200,
      '2026-02-07': 260,
      '2026-02-01': 230,
      '2026-01-31': 210,
    };
    const days = [
      ...calendar('2026-01-01', '2026-02-13', (d) => (isWeekendDate(d) ? (levels[d] ?? 999) : 100)),
      eventDayLoad('2026-02-14', (h) => 225 + h),
    ];
    const result = run({ days, eventDay: '2026-02-14' });
    assert.deepEqual(result.days, ['2026-01-31', '2026-02-01', '2026-02-07', '2026-02-08']);
    assertCloseArray(
      result.intervals.map((i) => i.reduction),
      [160, 161, 162],
    );
  });

  test('the ratio cap binds high (1.5 -> 1.2) and low (0.5 -> 0.8)', () => {
    // All weekdays at 100: B(h) = 100 + h. Window 1.5 x B -> raw 1.5, applied 1.2: B*(15) = 138.
    // Window 0.5 x B -> raw 0.5, applied 0.8: B*(15) = 92.
    const history = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100));
    const high = run({ days: [...history, eventDayLoad(EVENT_DAY, (h) => 1.5 * (100 + h))] });
    assertClose(high.adjustment.raw, 1.5);
    assert.equal(high.adjustment.applied, 1.2);
    assertClose(high.intervals[0]!.baseline, 138);
    assertClose(high.intervals[0]!.reduction, 58);
    const low = run({ days: [...history, eventDayLoad(EVENT_DAY, (h) => 0.5 * (100 + h))] });
    assertClose(low.adjustment.raw, 0.5);
    assert.equal(low.adjustment.applied, 0.8);
    assertClose(low.intervals[0]!.baseline, 92);
  });

  test('a zero baseline over the window gives ratio 1 and a note', () => {
    // History loads are 0 in hours 11-13 (profile), so the window baseline sums to 0.
    const zeroWindow = (hour: number) => (hour >= 11 && hour <= 13 ? -100 : hour);
    const history = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100), zeroWindow);
    const result = run({ days: [...history, eventDayLoad(EVENT_DAY, () => 50)] });
    assert.deepEqual(result.adjustment, { kind: 'ratio', raw: 1, applied: 1 });
    assert.deepEqual(result.notes, ['baseline is zero over the adjustment window: ratio set to 1']);
    assertClose(result.intervals[0]!.baseline, 115);
  });

  test('a window before midnight is clipped, or empty (no adjustment)', () => {
    // Event hours 2-3: window = hours -2..0 -> clipped to hour 0. History 100 + h: B(0) = 100;
    // event-day hour 0 = 110 -> ratio 1.1. B*(2) = 1.1 x 102 = 112.2.
    const history = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100));
    const clipped = run({
      days: [...history, hourlyDay(EVENT_DAY, (h) => (h === 0 ? 110 : 50))],
      eventHours: [3, 2],
    });
    assertClose(clipped.adjustment.raw, 1.1);
    assertClose(clipped.intervals[0]!.baseline, 112.2);
    assert.deepEqual(
      clipped.intervals.map((i) => i.hour),
      [2, 3],
    );
    assert.match(clipped.notes[0]!, /clipped to the event day: hours 0-0/);
    // Event hour 0 (start 0): the window would end at -1 -> no window, ratio 1.
    const none = run({ days: [...history, hourlyDay(EVENT_DAY, () => 50)], eventHours: [0] });
    assert.deepEqual(none.adjustment, { kind: 'ratio', raw: 1, applied: 1 });
    assert.deepEqual(none.notes, ['adjustment window lies before the event day: no adjustment']);
    assertClose(none.intervals[0]!.reduction, 100 - 50);
  });

  test('non-contiguous event hours: the window ends before the smallest', () => {
    // Hours [18, 15]: start 15 -> window 11-13; intervals in time order 15, 18.
    const history = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100));
    const result = run({ days: [...history, eventDayLoad(EVENT_DAY, (h) => 1.1 * (100 + h))], eventHours: [18, 15] });
    assert.deepEqual(
      result.intervals.map((i) => i.hour),
      [15, 18],
    );
    assertClose(result.adjustment.applied, 1.1);
  });

  test('an override of the rules: a wider cap, a different window', () => {
    // Cap [0.5, 2]: raw 1.5 stays 1.5. Window 2 h, gap 0 -> hours 13, 14: event-day 13 = 1.5 x 113,
    // 14 = 100 + 14 (=B) -> ratio (169.5 + 114)/(113 + 114) = 283.5/227.
    const history = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100));
    const days = [...history, eventDayLoad(EVENT_DAY, (h) => 1.5 * (100 + h))];
    const wide = run({ days, rules: { adjustment: { kind: 'ratio', windowHours: 3, gapHours: 1, min: 0.5, max: 2 } } });
    assertClose(wide.adjustment.applied, 1.5);
    const shifted = run({ days, rules: { adjustment: { kind: 'ratio', windowHours: 2, gapHours: 0 } } });
    assertClose(shifted.adjustment.raw, 283.5 / 227);
  });
});

describe('caiso-5in10', () => {
  // Levels of the ten most recent weekdays; older weekdays at 200 are outside the pool of ten.
  const levels: Record<string, number> = {
    '2026-02-11': 101,
    '2026-02-10': 110,
    '2026-02-09': 103,
    '2026-02-06': 108,
    '2026-02-05': 105,
    '2026-02-04': 106,
    '2026-02-03': 104,
    '2026-02-02': 107,
    '2026-01-30': 102,
    '2026-01-29': 109,
  };
  const history = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : (levels[d] ?? 200)));

  test('keeps the 5 highest of the 10 by event-hour load', () => {
    // Highest: 02-10 (110), 01-29 (109), 02-06 (108), 02-02 (107), 02-04 (106) -> mean 108; B(h) = 108 + h.
    // Window = 1.25 x B -> raw 1.25 (inside [0.6, 1.4]); B*(15) = 1.25 x 123 = 153.75; actual 80 -> 73.75.
    const result = dayMatchingBaseline({
      method: 'caiso-5in10',
      days: [...history, eventDayLoad(EVENT_DAY, (h) => 1.25 * (108 + h))],
      eventDay: EVENT_DAY,
      eventHours: HOURS,
    });
    assert.deepEqual(result.days, ['2026-01-29', '2026-02-02', '2026-02-04', '2026-02-06', '2026-02-10']);
    assertClose(result.adjustment.applied, 1.25);
    assertCloseArray(
      result.intervals.map((i) => i.unadjusted),
      [123, 124, 125],
    );
    assertClose(result.intervals[0]!.reduction, 73.75);
  });

  test('the cap binds at 1.4 and 0.6', () => {
    // raw 1.5 -> 1.4: B*(15) = 1.4 x 123 = 172.2; raw 0.5 -> 0.6: B*(15) = 73.8.
    const base = { method: 'caiso-5in10' as const, eventDay: EVENT_DAY, eventHours: HOURS };
    const high = dayMatchingBaseline({ ...base, days: [...history, eventDayLoad(EVENT_DAY, (h) => 1.5 * (108 + h))] });
    assertClose(high.adjustment.raw, 1.5);
    assert.equal(high.adjustment.applied, 1.4);
    assertClose(high.intervals[0]!.baseline, 172.2);
    const low = dayMatchingBaseline({ ...base, days: [...history, eventDayLoad(EVENT_DAY, (h) => 0.5 * (108 + h))] });
    assert.equal(low.adjustment.applied, 0.6);
    assertClose(low.intervals[0]!.baseline, 73.8);
  });

  test('ties go to the more recent day', () => {
    // All ten at 100: the 5 kept are the 5 most recent.
    const flat = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100));
    const result = dayMatchingBaseline({
      method: 'caiso-5in10',
      days: [...flat, eventDayLoad(EVENT_DAY, (h) => 100 + h)],
      eventDay: EVENT_DAY,
      eventHours: HOURS,
    });
    assert.deepEqual(result.days, TEN_WEEKDAYS.slice(5));
  });
});

describe('pjm-high4of5', () => {
  const candidateLevels: Record<string, number> = {
    '2026-02-11': 100,
    '2026-02-10': 120,
    '2026-02-09': 80,
    '2026-02-06': 110,
    '2026-02-05': 90,
  };
  // Older weekdays at 300 are not among the 5 candidates.
  const history = calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : (candidateLevels[d] ?? 300)));
  const base = { method: 'pjm-high4of5' as const, eventDay: EVENT_DAY, eventHours: HOURS };

  test('4 highest of the 5 candidates, positive additive adjustment', () => {
    // Keep 120, 110, 100, 90 (drop 02-09 at 80): mean 105, B(h) = 105 + h.
    // Window deltas +4, +7, +10 over B(11..13) -> delta = mean = +7 (no cap).
    // B*(15) = 120 + 7 = 127; actual 60 -> reduction 67; 16 -> 68; 17 -> 69.
    const deltas: Record<number, number> = { 11: 4, 12: 7, 13: 10 };
    const result = dayMatchingBaseline({
      ...base,
      days: [...history, eventDayLoad(EVENT_DAY, (h) => 105 + h + deltas[h]!, 60)],
    });
    assert.deepEqual(result.days, ['2026-02-05', '2026-02-06', '2026-02-10', '2026-02-11']);
    assert.equal(result.adjustment.kind, 'additive');
    assertClose(result.adjustment.raw, 7);
    assertClose(result.adjustment.applied, 7);
    assertCloseArray(
      result.intervals.map((i) => i.baseline),
      [127, 128, 129],
    );
    assertCloseArray(
      result.intervals.map((i) => i.reduction),
      [67, 68, 69],
    );
  });

  test('negative additive adjustment (either sign, no cap)', () => {
    // Window deltas -10, -12, -14 -> delta -12: B*(15) = 120 - 12 = 108; actual 60 -> 48.
    const deltas: Record<number, number> = { 11: -10, 12: -12, 13: -14 };
    const result = dayMatchingBaseline({
      ...base,
      days: [...history, eventDayLoad(EVENT_DAY, (h) => 105 + h + deltas[h]!, 60)],
    });
    assertClose(result.adjustment.applied, -12);
    assertClose(result.intervals[0]!.baseline, 108);
    assertClose(result.intervals[0]!.reduction, 48);
  });

  test('the low-usage screen drops a candidate below 25% of the candidates mean', () => {
    // Flat loads (profile 0): candidates 100, 100, 100, 100 and 02-05 at 10 -> mean 82, threshold 20.5:
    // 02-05 is dropped (noted); the 4 others remain and are kept: B = 100.
    const levels: Record<string, number> = { '2026-02-05': 10 };
    const flat = calendar(
      '2026-01-01',
      '2026-02-11',
      (d) => (isWeekendDate(d) ? 1000 : (levels[d] ?? 100)),
      () => 0,
    );
    const result = dayMatchingBaseline({ ...base, days: [...flat, hourlyDay(EVENT_DAY, () => 100)] });
    assert.deepEqual(result.days, ['2026-02-06', '2026-02-09', '2026-02-10', '2026-02-11']);
    assert.deepEqual(result.notes, [
      "low-usage screen dropped 2026-02-05: event-hour mean 10 kWh < 20.5 kWh (0.25 x candidates' mean)",
    ]);
  });

  test('a screen that leaves too few candidates refuses; a lower minimum accepts them', () => {
    // Candidates 100, 100, 100 (02-11, 02-10, 02-09) and 5, 5 (02-06, 02-05): mean 62, threshold 15.5
    // -> both 5s dropped, 3 remain < minimum 4 -> refused. With weekdayMinDays 3: B = 100 from the 3.
    // Without the screen (fraction 0): the 4 highest = 100, 100, 100, 5 -> mean 76.25.
    const levels: Record<string, number> = { '2026-02-06': 5, '2026-02-05': 5 };
    const flat = calendar(
      '2026-01-01',
      '2026-02-11',
      (d) => (isWeekendDate(d) ? 1000 : (levels[d] ?? 100)),
      () => 0,
    );
    const days = [...flat, hourlyDay(EVENT_DAY, (h) => (h === 11 || h === 12 || h === 13 ? 100 : 40))];
    const error = expectError(() => dayMatchingBaseline({ ...base, days }), 'GW_ERR_BASELINE_REFUSED');
    assert.deepEqual(error.details, {
      method: 'pjm-high4of5',
      eventDay: EVENT_DAY,
      found: 3,
      minimum: 4,
      days: ['2026-02-09', '2026-02-10', '2026-02-11'],
    });
    const accepted = dayMatchingBaseline({ ...base, days, rules: { weekdayMinDays: 3 } });
    assert.deepEqual(accepted.days, ['2026-02-09', '2026-02-10', '2026-02-11']);
    assertClose(accepted.intervals[0]!.unadjusted, 100);
    assert.equal(accepted.notes.length, 2);
    const unscreened = dayMatchingBaseline({ ...base, days, rules: { lowUsageFraction: 0 } });
    assertClose(unscreened.intervals[0]!.unadjusted, 76.25);
    // Window: actual 100 vs B 76.25 -> delta 23.75; B* = 100; reduction 100 - 40 = 60.
    assertClose(unscreened.adjustment.applied, 23.75);
    assertClose(unscreened.intervals[0]!.reduction, 60);
  });

  test('weekend event day: 2 highest of the 3 most recent weekend days', () => {
    // Event Sat 02-14: candidates 02-08 (200), 02-07 (260), 02-01 (230); 01-31 (999) is 4th.
    // Keep 260 and 230 -> 245; B(15) = 260. Window = B -> delta 0; actual 100 -> reduction 160.
    const levels: Record<string, number> = { '2026-02-08': 200, '2026-02-07': 260, '2026-02-01': 230 };
    const days = [
      ...calendar('2026-01-01', '2026-02-13', (d) => (isWeekendDate(d) ? (levels[d] ?? 999) : 100)),
      eventDayLoad('2026-02-14', (h) => 245 + h, 100),
    ];
    const result = dayMatchingBaseline({ ...base, eventDay: '2026-02-14', days });
    assert.deepEqual(result.days, ['2026-02-01', '2026-02-07']);
    assertClose(result.adjustment.applied, 0);
    assertClose(result.intervals[0]!.reduction, 160);
  });
});

describe('sub-hourly data', () => {
  test('15-minute intervals: four per event hour, slot = hour x 4 + k, energy per interval', () => {
    // Every weekday quarter q of hour h holds (100 + h)/4 kWh: B(slot) = (100 + h)/4.
    // Window 11-13 at 1.1x -> ratio 1.1. Event hour 15: B* = 1.1 x 115/4 = 31.625; actual 20 -> 11.625.
    const quarterDay = (date: string, value: (hour: number) => number): LoadDay => {
      const slots = Array.from({ length: 96 }, (_, s) => s);
      return { date, intervalMinutes: 15, slots, kwh: slots.map((s) => value(Math.floor(s / 4))) };
    };
    const days: LoadDay[] = [];
    for (const day of calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100)))
      days.push(quarterDay(day.date, (h) => (day.kwh[0]! + h) / 4));
    days.push(quarterDay(EVENT_DAY, (h) => (h >= 11 && h <= 13 ? (1.1 * (100 + h)) / 4 : h === 15 ? 20 : 30)));
    const result = run({ days, eventHours: [15] });
    assert.deepEqual(result.days, TEN_WEEKDAYS);
    assertClose(result.adjustment.applied, 1.1);
    assert.deepEqual(
      result.intervals.map((i) => [i.hour, i.slot, i.durationH]),
      [
        [15, 60, 0.25],
        [15, 61, 0.25],
        [15, 62, 0.25],
        [15, 63, 0.25],
      ],
    );
    assertCloseArray(
      result.intervals.map((i) => i.reduction),
      [11.625, 11.625, 11.625, 11.625],
    );
  });
});

describe('bad input', () => {
  const days = [
    ...calendar('2026-01-01', '2026-02-11', (d) => (isWeekendDate(d) ? 1000 : 100)),
    eventDayLoad(EVENT_DAY, (h) => 100 + h),
  ];
  test('validation errors name the field', () => {
    const cases: Array<[Partial<DayMatchingInput>, RegExp]> = [
      [{ method: 'caiso-3in4' as never }, /\/method/],
      [{ eventHours: [] }, /\/eventHours/],
      [{ eventHours: [15, 24] }, /\/eventHours\/1/],
      [{ eventHours: [15.5] }, /\/eventHours\/0/],
      [{ eventDay: '2026-02-30' }, /\/eventDay/],
      [
        { rules: { adjustment: { kind: 'ratio', windowHours: 3, gapHours: 1, min: 2, max: 1 } } },
        /\/rules\/adjustment/,
      ],
      [{ rules: { weekdayMinDays: 11 } }, /\/rules\/weekdayMinDays/],
      [{ rules: { lookbackDays: 0 } }, /\/rules\/lookbackDays/],
      [{ rules: { lowUsageFraction: Number.NaN } }, /\/rules\/lowUsageFraction/],
      [{ holidays: ['2026-13-01'] }, /\/holidays\/0/],
    ];
    for (const [patch, pattern] of cases) expectError(() => run({ days, ...patch }), 'GW_ERR_VALIDATION', pattern);
  });

  test('duplicate dates, mixed interval lengths, infinite kWh, bad slots', () => {
    expectError(() => run({ days: [...days, hourlyDay('2026-02-11', () => 1)] }), 'GW_ERR_VALIDATION', /two load days/);
    const mixed = days.map((d) => (d.date === '2026-02-11' ? { ...d, intervalMinutes: 30 } : d));
    expectError(() => run({ days: mixed }), 'GW_ERR_VALIDATION', /intervalMinutes/);
    const infinite = days.map((d) => (d.date === '2026-02-11' ? hourlyDay(d.date, () => Number.POSITIVE_INFINITY) : d));
    expectError(() => run({ days: infinite }), 'GW_ERR_VALIDATION', /\/kwh\/\d+/);
    const badSlot = days.map((d) => (d.date === EVENT_DAY ? { ...d, slots: Array.from(d.slots, (s) => s + 1) } : d));
    expectError(() => run({ days: badSlot }), 'GW_ERR_VALIDATION', /slots\/23/);
  });

  test('missing event day or event-hour data is refused', () => {
    expectError(() => run({ days: days.slice(0, -1) }), 'GW_ERR_BASELINE_REFUSED', /no load data for the event day/);
    const gap = [...days.slice(0, -1), hourlyDay(EVENT_DAY, (h) => (h === 16 ? Number.NaN : 100))];
    expectError(() => run({ days: gap }), 'GW_ERR_BASELINE_REFUSED', /event day 2026-02-12 at slot 16/);
  });
});
