import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addDays,
  dayIntervals,
  dayNumber,
  dayOfWeek,
  hourEndingInterval,
  hourEndingOf,
  isLocalDate,
  isoWithOffset,
  isWeekend,
  localDateOf,
  startOfLocalDay,
} from '../src/time.ts';

const LA = 'America/Los_Angeles';
const NY = 'America/New_York';

describe('calendar days', () => {
  it('counts days from 1970-01-01 and knows weekdays', () => {
    assert.equal(dayNumber('1970-01-01'), 0);
    assert.equal(dayNumber('2026-11-27') - dayNumber('2026-11-01'), 26);
    assert.equal(dayOfWeek('2026-11-27'), 5); // a Friday
    assert.equal(isWeekend('2026-11-28'), true);
    assert.equal(isWeekend('2026-11-30'), false);
    assert.equal(addDays('2026-03-01', -1), '2026-02-28');
    assert.equal(addDays('2028-02-28', 1), '2028-02-29'); // leap year
  });

  it('refuses what is not a calendar date', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '26-11-27', '2026-11-27T00:00', ''])
      assert.throws(() => dayNumber(bad), { code: 'GW_ERR_VALIDATION' });
    for (const bad of ['2026-02-30', '2026-13-01', '26-11-27', '2026-11-27T00:00', '', 20261127, null])
      assert.equal(isLocalDate(bad), false, String(bad));
    assert.equal(isLocalDate('2028-02-29'), true);
  });
});

describe('local operating days across daylight saving', () => {
  it('has 23 hours on the spring-forward day, without 02:00', () => {
    const day = dayIntervals('2026-03-08', LA, 60);
    assert.equal(day.hoursInDay, 23);
    assert.equal(day.starts.length, 23);
    assert.equal(day.hours.includes(2), false);
    assert.deepEqual(day.hours.slice(0, 3), [0, 1, 3]);
    // 01:00 PST is 09:00Z; the next hour is 03:00 PDT, 10:00Z.
    assert.equal(new Date(day.starts[1] as number).toISOString(), '2026-03-08T09:00:00.000Z');
    assert.equal(new Date(day.starts[2] as number).toISOString(), '2026-03-08T10:00:00.000Z');
  });

  it('has 25 hours on the fall-back day, 01:00 twice', () => {
    const day = dayIntervals('2026-11-01', LA, 15);
    assert.equal(day.hoursInDay, 25);
    assert.equal(day.starts.length, 100);
    // Slots of hour 1 (4..7) appear twice, in time order.
    assert.deepEqual(day.slots.slice(4, 12), [4, 5, 6, 7, 4, 5, 6, 7]);
    assert.equal(day.starts[8]! - day.starts[4]!, 3_600_000);
  });

  it('starts a day at local midnight and maps instants back to their day', () => {
    const start = startOfLocalDay('2026-07-01', NY);
    assert.equal(new Date(start).toISOString(), '2026-07-01T04:00:00.000Z');
    assert.equal(localDateOf(start, NY), '2026-07-01');
    assert.equal(localDateOf(start - 1, NY), '2026-06-30');
    assert.equal(isoWithOffset(start, NY), '2026-07-01T00:00:00-04:00');
    assert.equal(isoWithOffset(startOfLocalDay('2026-12-01', NY), NY), '2026-12-01T00:00:00-05:00');
  });

  it('reads hour-ending labels as hours of the day (HE3 on a 23-hour day is 03:00-04:00 local)', () => {
    const he3 = hourEndingInterval('2026-03-08', 3, LA);
    assert.equal(isoWithOffset(he3.startMs, LA), '2026-03-08T03:00:00-07:00');
    assert.throws(() => hourEndingInterval('2026-03-08', 24, LA), { code: 'GW_ERR_VALIDATION' });
    const he25 = hourEndingInterval('2026-11-01', 25, LA);
    assert.equal(isoWithOffset(he25.startMs, LA), '2026-11-01T23:00:00-08:00');
    // The second 01:00 on the fall-back day is HE3.
    const he3Fall = hourEndingInterval('2026-11-01', 3, LA);
    assert.equal(isoWithOffset(he3Fall.startMs, LA), '2026-11-01T01:00:00-08:00');
    assert.deepEqual(hourEndingOf(he3Fall.startMs + 60_000, LA), { date: '2026-11-01', hourEnding: 3 });
  });

  it('refuses an unknown time zone and a bad interval length', () => {
    assert.throws(() => dayIntervals('2026-03-08', 'Mars/Olympus', 60), { code: 'GW_ERR_VALIDATION' });
    assert.throws(() => dayIntervals('2026-03-08', LA, 7), { code: 'GW_ERR_VALIDATION' });
  });
});
