/**
 * Daylight-saving days as history and as the event day, America/Los_Angeles 2026: Sun 03-08 has
 * 23 hours (no 02:00 hour), Sun 11-01 has 25 (01:00 twice: PDT then PST). Both are weekend days,
 * so the pools are weekend days: ... Sun 02-22, Sat 02-28, Sun 03-01, Sat 03-07, Sun 03-08,
 * Sat 03-14; Sat 10-17, Sun 10-18, Sat 10-24, Sun 10-25, Sat 10-31, Sun 11-01, Sat 11-07.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadDay } from '../../src/contract.ts';
import {
  addDays,
  dayIntervals,
  dayMatchingBaseline,
  dayNumber,
  loadDaysFromHourly,
  loadDaysFromInstants,
} from '../../src/index.ts';
import { assertClose, assertCloseArray } from './support.ts';

const ZONE = 'America/Los_Angeles';

/** Hourly instants from `from` to `to` (local days) with value(date, hour, occurrence of that hour). */
function instants(from: string, to: string, value: (date: string, hour: number, occurrence: number) => number) {
  const starts: number[] = [];
  const kwh: number[] = [];
  const rows: Array<{ date: string; hour: number; kwh: number }> = [];
  for (let date = from; dayNumber(date) <= dayNumber(to); date = addDays(date, 1)) {
    const day = dayIntervals(date, ZONE, 60);
    const seen = new Set<number>();
    for (let i = 0; i < day.starts.length; i++) {
      const hour = day.hours[i]!;
      const occurrence = seen.has(hour) ? 1 : 0;
      seen.add(hour);
      const v = value(date, hour, occurrence);
      starts.push(day.starts[i]!);
      kwh.push(v);
      rows.push({ date, hour, kwh: v });
    }
  }
  return { starts, kwh, rows };
}

function daysFrom(from: string, to: string, value: (date: string, hour: number, occurrence: number) => number) {
  const data = instants(from, to, value);
  return { viaInstants: loadDaysFromInstants(data.starts, data.kwh, 60, ZONE), viaRows: loadDaysFromHourly(data.rows) };
}

function day(days: LoadDay[], date: string): LoadDay {
  return days.find((d) => d.date === date)!;
}

describe('loadDaysFromInstants on DST days', () => {
  test('23-hour day lacks slot 2; 25-hour day repeats slot 1 in time order', () => {
    const spring = daysFrom('2026-03-07', '2026-03-09', (_d, hour) => hour).viaInstants;
    assert.equal(spring.length, 3);
    const short = day(spring, '2026-03-08');
    assert.equal(short.slots.length, 23);
    assert.deepEqual(Array.from(short.slots).slice(0, 4), [0, 1, 3, 4]);
    assert.equal(short.starts![2], Date.UTC(2026, 2, 8, 10)); // 03:00 PDT = 10:00Z
    const fall = daysFrom('2026-10-31', '2026-11-02', (_d, hour, occurrence) => hour + 100 * occurrence).viaInstants;
    const long = day(fall, '2026-11-01');
    assert.equal(long.slots.length, 25);
    assert.deepEqual(Array.from(long.slots).slice(0, 4), [0, 1, 1, 2]);
    assert.deepEqual(Array.from(long.kwh).slice(0, 4), [0, 1, 101, 2]);
    assert.deepEqual(Array.from(long.starts!).slice(1, 3), [Date.UTC(2026, 10, 1, 8), Date.UTC(2026, 10, 1, 9)]);
  });

  test('15-minute data on the fall-back day: 100 intervals, slots 4-7 twice', () => {
    const day = dayIntervals('2026-11-01', ZONE, 15);
    const [only] = loadDaysFromInstants(
      day.starts,
      day.starts.map(() => 1),
      15,
      ZONE,
    );
    assert.equal(only!.slots.length, 100);
    assert.deepEqual(Array.from(only!.slots).slice(4, 12), [4, 5, 6, 7, 4, 5, 6, 7]);
  });
});

describe('spring forward (23 hours)', () => {
  // Weekend days at 100 + h except Sat 03-07 at 120 + h; Sun 02-22 is 4th, Sat 02-21 (999) 5th.
  const level = (date: string) => (date === '2026-03-07' ? 120 : date === '2026-02-21' ? 999 : 100);

  test('as the event day: the missing hour is neither an interval nor in the window', () => {
    // Pool 03-07, 03-01, 02-28, 02-22 -> mean level 105, B(h) = 105 + h.
    // Window 1-3 (event 5-6): the event day has hours 1 and 3 only: 1.1 x 106 = 116.6, 1.1 x 108 = 118.8
    // -> ratio 235.4 / 214 = 1.1. B*(5) = 1.1 x 110 = 121 -> 121 - 50 = 71; B*(6) = 122.1 -> 72.1.
    const value = (date: string, hour: number) =>
      date === '2026-03-08' ? (hour === 1 || hour === 3 ? 1.1 * (105 + hour) : 50) : level(date) + hour;
    const { viaInstants, viaRows } = daysFrom('2026-02-15', '2026-03-08', value);
    for (const days of [viaInstants, viaRows]) {
      const result = dayMatchingBaseline({ method: 'caiso-10in10', days, eventDay: '2026-03-08', eventHours: [5, 6] });
      assert.deepEqual(result.days, ['2026-02-22', '2026-02-28', '2026-03-01', '2026-03-07']);
      assertClose(result.adjustment.raw, 1.1);
      assertCloseArray(
        result.intervals.map((i) => i.reduction),
        [71, 72.1],
      );
    }
    const timed = dayMatchingBaseline({
      method: 'caiso-10in10',
      days: viaInstants,
      eventDay: '2026-03-08',
      eventHours: [5, 6],
    });
    assert.deepEqual(
      timed.intervals.map((i) => i.start),
      [Date.UTC(2026, 2, 8, 12), Date.UTC(2026, 2, 8, 13)], // 05:00 and 06:00 PDT
    );
    // Event hours 1-3 on that day: hour 2 does not exist -> two intervals (1 and 3); the window would
    // end at hour 0 -> no adjustment. Unadjusted 106 and 108.
    const skipped = dayMatchingBaseline({
      method: 'caiso-10in10',
      days: viaInstants,
      eventDay: '2026-03-08',
      eventHours: [1, 2, 3],
    });
    assert.deepEqual(
      skipped.intervals.map((i) => i.hour),
      [1, 3],
    );
    assertCloseArray(
      skipped.intervals.map((i) => i.baseline),
      [106, 108],
    );
  });

  test('as history: the 23-hour day is left out of the missing slot mean only', () => {
    // Event Sat 03-14; pool 03-08 (200 + h, no hour 2), 03-07 (120), 03-01 (100), 02-28 (100).
    // B(2) = (120 + 100 + 100)/3 + 2 = 108.666...; B(3) = (200 + 120 + 100 + 100)/4 + 3 = 133.
    // Window clipped to hour 0: B(0) = 130; event-day hour 0 = 130 -> ratio 1. Actual 50 ->
    // reductions 58.666... and 83.
    const value = (date: string, hour: number) =>
      date === '2026-03-14' ? (hour === 0 ? 130 : 50) : date === '2026-03-08' ? 200 + hour : level(date) + hour;
    const { viaInstants, viaRows } = daysFrom('2026-02-15', '2026-03-14', value);
    for (const days of [viaInstants, viaRows]) {
      const result = dayMatchingBaseline({ method: 'caiso-10in10', days, eventDay: '2026-03-14', eventHours: [2, 3] });
      assert.deepEqual(result.days, ['2026-02-28', '2026-03-01', '2026-03-07', '2026-03-08']);
      assertClose(result.adjustment.applied, 1);
      assertCloseArray(
        result.intervals.map((i) => i.unadjusted),
        [320 / 3 + 2, 133],
      );
      assertCloseArray(
        result.intervals.map((i) => i.reduction),
        [320 / 3 + 2 - 50, 83],
      );
      assert.match(result.notes[0]!, /clipped/);
    }
  });
});

describe('fall back (25 hours)', () => {
  // Weekend days at 100 + h; Sat 10-17 (999) is the 5th weekend day back from 11-01.
  const level = (date: string) => (date === '2026-10-17' ? 999 : 100);

  test('as the event day: the repeated hour is two intervals with the same baseline', () => {
    // Pool 10-31, 10-25, 10-24, 10-18 -> B(h) = 100 + h. Event hours 1-2 -> 01:00 PDT, 01:00 PST, 02:00.
    const value = (date: string, hour: number) => (date === '2026-11-01' ? 60 : level(date) + hour);
    const { viaInstants } = daysFrom('2026-10-10', '2026-11-01', value);
    const result = dayMatchingBaseline({
      method: 'caiso-10in10',
      days: viaInstants,
      eventDay: '2026-11-01',
      eventHours: [1, 2],
    });
    assert.deepEqual(result.days, ['2026-10-18', '2026-10-24', '2026-10-25', '2026-10-31']);
    assert.deepEqual(
      result.intervals.map((i) => [i.hour, i.start]),
      [
        [1, Date.UTC(2026, 10, 1, 8)],
        [1, Date.UTC(2026, 10, 1, 9)],
        [2, Date.UTC(2026, 10, 1, 10)],
      ],
    );
    assertCloseArray(
      result.intervals.map((i) => i.baseline),
      [101, 101, 102],
    );
  });

  test('as the event day: both repeated-hour intervals are in the adjustment window', () => {
    // Event hour 5, window 1-3 -> intervals 1 (101), 1 (141), 2 (102), 3 (103): actual 447 over
    // baseline 101 + 101 + 102 + 103 = 407. CAISO ratio 447/407 (1.0983, inside the cap):
    // B*(5) = 105 x 447/407. PJM (3 candidates 10-31, 10-25, 10-24 all 100, keep the 2 most recent
    // on the tie): delta = (447 - 407)/4 = 10 -> B*(5) = 115.
    const value = (date: string, hour: number, occurrence: number) =>
      date === '2026-11-01'
        ? hour === 1
          ? occurrence === 0
            ? 101
            : 141
          : hour <= 3
            ? 100 + hour
            : 60
        : level(date) + hour;
    const { viaInstants, viaRows } = daysFrom('2026-10-10', '2026-11-01', value);
    for (const days of [viaInstants, viaRows]) {
      const caiso = dayMatchingBaseline({ method: 'caiso-10in10', days, eventDay: '2026-11-01', eventHours: [5] });
      assertClose(caiso.adjustment.raw, 447 / 407);
      assertClose(caiso.intervals[0]!.baseline, (105 * 447) / 407);
      const pjm = dayMatchingBaseline({ method: 'pjm-high4of5', days, eventDay: '2026-11-01', eventHours: [5] });
      assert.deepEqual(pjm.days, ['2026-10-25', '2026-10-31']);
      assertClose(pjm.adjustment.applied, 10);
      assertClose(pjm.intervals[0]!.baseline, 115);
      assertClose(pjm.intervals[0]!.reduction, 55);
    }
  });

  test('as history: the repeated slot contributes the mean of its two values', () => {
    // Event Sat 11-07; pool 11-01 (hour 1: 101 then 141 -> 121), 10-31, 10-25, 10-24 (101 at hour 1).
    // B(1) = (121 + 3 x 101)/4 = 106; B(2) = 102. No window (start 1). Actual 50 -> 56, 52.
    const value = (date: string, hour: number, occurrence: number) =>
      date === '2026-11-07' ? 50 : level(date) + hour + (date === '2026-11-01' && occurrence === 1 ? 40 : 0);
    const { viaInstants, viaRows } = daysFrom('2026-10-10', '2026-11-07', value);
    for (const days of [viaInstants, viaRows]) {
      const result = dayMatchingBaseline({ method: 'caiso-10in10', days, eventDay: '2026-11-07', eventHours: [1, 2] });
      assert.deepEqual(result.days, ['2026-10-24', '2026-10-25', '2026-10-31', '2026-11-01']);
      assertCloseArray(
        result.intervals.map((i) => i.unadjusted),
        [106, 102],
      );
      assertCloseArray(
        result.intervals.map((i) => i.reduction),
        [56, 52],
      );
    }
  });
});
