/** The CLI's `date,hour,kwh` rows and telemetry instants to LoadDays; malformed rows refused. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadDaysFromHourly, loadDaysFromInstants } from '../../src/index.ts';
import { expectError } from './support.ts';

function rowsOf(date: string, hours: number[], kwh: (hour: number, index: number) => number = (h) => h) {
  return hours.map((hour, index) => ({ date, hour, kwh: kwh(hour, index) }));
}
const ALL = Array.from({ length: 24 }, (_, h) => h);

describe('loadDaysFromHourly', () => {
  test('groups by date, sorts days ascending and hours within a day', () => {
    const rows = [...rowsOf('2026-02-11', [...ALL].reverse()), ...rowsOf('2026-02-10', ALL, (h) => 2 * h)];
    const days = loadDaysFromHourly(rows);
    assert.deepEqual(
      days.map((d) => [d.date, d.intervalMinutes, d.slots.length]),
      [
        ['2026-02-10', 60, 24],
        ['2026-02-11', 60, 24],
      ],
    );
    assert.deepEqual(Array.from(days[1]!.slots), ALL);
    assert.deepEqual(Array.from(days[1]!.kwh), ALL);
    assert.deepEqual(Array.from(days[0]!.kwh).slice(0, 3), [0, 2, 4]);
  });

  test('a repeated hour keeps its two rows in file order; 23 distinct hours is a short day', () => {
    const fall = rowsOf('2026-11-01', [0, 1, 1, ...ALL.slice(2)], (h, i) => (i === 2 ? 99 : h));
    const [long] = loadDaysFromHourly(fall);
    assert.equal(long!.slots.length, 25);
    assert.deepEqual(Array.from(long!.slots).slice(0, 4), [0, 1, 1, 2]);
    assert.deepEqual(Array.from(long!.kwh).slice(0, 4), [0, 1, 99, 2]);
    const [short] = loadDaysFromHourly(
      rowsOf(
        '2026-03-08',
        ALL.filter((h) => h !== 2),
      ),
    );
    assert.equal(short!.slots.length, 23);
    assert.deepEqual(Array.from(short!.slots).slice(0, 3), [0, 1, 3]);
  });

  test('more than one missing hour is missing data: NaN at the slot', () => {
    const [day] = loadDaysFromHourly(
      rowsOf(
        '2026-02-10',
        ALL.filter((h) => h !== 5 && h !== 6),
      ),
    );
    assert.equal(day!.slots.length, 24);
    assert.ok(Number.isNaN(day!.kwh[5]!) && Number.isNaN(day!.kwh[6]!));
    assert.equal(day!.kwh[7], 7);
  });

  test('malformed rows name the row', () => {
    const good = rowsOf('2026-02-10', ALL);
    const cases: Array<[unknown, RegExp, number]> = [
      [{ date: '2026-02-10', hour: 24, kwh: 1 }, /\/24\/hour: hour must be an integer 0-23/, 24],
      [{ date: '2026-02-10', hour: 1.5, kwh: 1 }, /\/24\/hour/, 24],
      [{ date: '2026-02-30', hour: 1, kwh: 1 }, /\/24\/date: not a calendar date/, 24],
      [{ date: '10/02/2026', hour: 1, kwh: 1 }, /\/24\/date/, 24],
      [{ date: '2026-02-10', hour: 1, kwh: Number.NaN }, /\/24\/kwh: kwh must be a finite number/, 24],
      [{ date: '2026-02-10', hour: 1, kwh: Number.POSITIVE_INFINITY }, /\/24\/kwh/, 24],
      [{ date: '2026-02-10', hour: 1, kwh: '3' }, /\/24\/kwh/, 24],
      [null, /\/24: must be a \{date, hour, kwh\} row/, 24],
    ];
    for (const [bad, pattern, row] of cases) {
      const error = expectError(() => loadDaysFromHourly([...good, bad as never]), 'GW_ERR_VALIDATION', pattern);
      assert.deepEqual(error.details, { row });
      assert.equal(error.issues[0]!.path.split('/')[1], String(row));
    }
    // Third occurrence of an hour (rows 24, 25 repeat hour 1) -> names row 25.
    const thrice = [...good, { date: '2026-02-10', hour: 1, kwh: 1 }, { date: '2026-02-10', hour: 1, kwh: 1 }];
    expectError(() => loadDaysFromHourly(thrice), 'GW_ERR_VALIDATION', /\/25\/hour: hour 1 appears more than twice/);
    // A second repeated hour (1 and 2) -> names the row of the second.
    const twoRepeats = [...good, { date: '2026-02-10', hour: 1, kwh: 1 }, { date: '2026-02-10', hour: 2, kwh: 1 }];
    expectError(() => loadDaysFromHourly(twoRepeats), 'GW_ERR_VALIDATION', /\/25\/hour: a second repeated hour \(2\)/);
    expectError(() => loadDaysFromHourly('x' as never), 'GW_ERR_VALIDATION');
  });
});

describe('loadDaysFromInstants', () => {
  test('UTC hourly: local days and slots, NaN kept as missing', () => {
    const t0 = Date.UTC(2026, 1, 10, 22);
    const starts = [0, 1, 2, 3].map((k) => t0 + k * 3_600_000);
    const days = loadDaysFromInstants(starts, [1, Number.NaN, 3, 4], 60, 'UTC');
    assert.deepEqual(
      days.map((d) => [d.date, Array.from(d.slots)]),
      [
        ['2026-02-10', [22, 23]],
        ['2026-02-11', [0, 1]],
      ],
    );
    assert.ok(Number.isNaN(days[0]!.kwh[1]!));
  });

  test('bad input', () => {
    expectError(() => loadDaysFromInstants([2, 1], [1, 1], 60, 'UTC'), 'GW_ERR_VALIDATION', /\/starts\/1.*increasing/);
    expectError(() => loadDaysFromInstants([1], [1, 2], 60, 'UTC'), 'GW_ERR_VALIDATION', /\/kwh/);
    expectError(
      () => loadDaysFromInstants([1], [Number.NEGATIVE_INFINITY], 60, 'UTC'),
      'GW_ERR_VALIDATION',
      /\/kwh\/0/,
    );
    expectError(() => loadDaysFromInstants([1], [1], 7, 'UTC'), 'GW_ERR_VALIDATION', /intervalMinutes/);
    expectError(() => loadDaysFromInstants([1], [1], 60, 'Mars/Olympus'), 'GW_ERR_VALIDATION', /time zone/);
  });
});
