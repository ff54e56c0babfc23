/** MBMA and MGO (bess_market.md §3.1, §3.5) with hand-computed answers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deviceMetering, meterBeforeMeterAfter } from '../../src/index.ts';
import { assertCloseArray, expectError } from './support.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 6, 15, 22); // 15:00 PDT

describe('meter before / meter after', () => {
  // 15-minute intervals from 14:00 PDT: 10, 12, 14, 16 before the event; 5, 6 during; 30 after.
  const starts = [-4, -3, -2, -1, 0, 1, 2].map((k) => T0 + k * 15 * MIN);
  const kwh = [10, 12, 14, 16, 5, 6, 30];
  const base = { starts, kwh, intervalMinutes: 15, eventStart: T0, eventEnd: T0 + 30 * MIN };

  test('baseline = mean of the hour before; reduction per interval', () => {
    // Mean of 10, 12, 14, 16 = 13; reductions 13 - 5 = 8 and 13 - 6 = 7.
    const result = meterBeforeMeterAfter({ ...base, timeZone: 'America/Los_Angeles' });
    assert.equal(result.method, 'meter-before-meter-after');
    assert.equal(result.eventDay, '2026-07-15');
    assert.deepEqual(result.days, []);
    assert.deepEqual(result.adjustment, { kind: 'none', raw: 0, applied: 0 });
    assert.deepEqual(
      result.intervals.map((i) => [i.hour, i.slot, i.start, i.durationH, i.baseline, i.actual]),
      [
        [15, 60, T0, 0.25, 13, 5],
        [15, 61, T0 + 15 * MIN, 0.25, 13, 6],
      ],
    );
    assertCloseArray(
      result.intervals.map((i) => i.reduction),
      [8, 7],
    );
    // Without a zone the labels are UTC: 22:00.
    assert.equal(meterBeforeMeterAfter(base).intervals[0]!.hour, 22);
  });

  test('beforeMinutes shortens the window; missing data is skipped, none at all is refused', () => {
    // 30 minutes: mean of 14 and 16 = 15 -> 10, 9.
    const short = meterBeforeMeterAfter({ ...base, beforeMinutes: 30 });
    assertCloseArray(
      short.intervals.map((i) => i.reduction),
      [10, 9],
    );
    // NaN at 14:45: mean of 10, 12, 14 = 12.
    const gap = meterBeforeMeterAfter({ ...base, kwh: [10, 12, 14, Number.NaN, 5, 6, 30] });
    assert.equal(gap.intervals[0]!.baseline, 12);
    const none = [Number.NaN, Number.NaN, Number.NaN, Number.NaN, 5, 6, 30];
    const error = expectError(() => meterBeforeMeterAfter({ ...base, kwh: none }), 'GW_ERR_BASELINE_REFUSED');
    assert.equal(error.details?.method, 'meter-before-meter-after');
    expectError(() => meterBeforeMeterAfter({ ...base, eventEnd: T0 }), 'GW_ERR_VALIDATION', /\/eventEnd/);
    expectError(() => meterBeforeMeterAfter({ ...base, kwh: [1, 2] }), 'GW_ERR_VALIDATION', /\/kwh/);
    expectError(() => meterBeforeMeterAfter({ ...base, beforeMinutes: 0 }), 'GW_ERR_VALIDATION', /\/beforeMinutes/);
  });
});

describe('device metering (MGO) for storage', () => {
  // Hourly, four event intervals, and one before the event (ignored).
  const starts = [-1, 0, 1, 2, 3].map((k) => T0 + k * 60 * MIN);
  const deviceKwh = [50, 20, 20, 20, -10];
  const siteNetImportKwh = [0, 30, -5, -25, 40];
  const base = {
    starts,
    deviceKwh,
    siteNetImportKwh,
    intervalMinutes: 60,
    eventStart: T0,
    eventEnd: T0 + 4 * 60 * MIN,
  };

  test('load offset up to the gross load, the rest export; charge counted against', () => {
    // 1: out 20, net +30 -> gross 50 -> offset 20, export 0.
    // 2: out 20, net -5 -> gross 15 -> offset 15, export 5.
    // 3: out 20, net -25 -> gross -5 -> 0 -> offset 0, export 20.
    // 4: out -10 -> charge 10, reduction -10.
    const result = deviceMetering(base);
    assert.deepEqual(
      result.map((i) => [i.start, i.durationH, i.outputKwh, i.loadOffsetKwh, i.exportKwh, i.chargeKwh, i.reduction]),
      [
        [T0, 1, 20, 20, 0, 0, 20],
        [T0 + 60 * MIN, 1, 20, 15, 5, 0, 15],
        [T0 + 120 * MIN, 1, 20, 0, 20, 0, 0],
        [T0 + 180 * MIN, 1, -10, 0, 0, 10, -10],
      ],
    );
    // Counting export: 20, 20, 20, -10.
    assert.deepEqual(
      deviceMetering({ ...base, countExport: true }).map((i) => i.reduction),
      [20, 20, 20, -10],
    );
  });

  test('bad input', () => {
    expectError(() => deviceMetering({ ...base, deviceKwh: [1, 2] }), 'GW_ERR_VALIDATION', /\/deviceKwh/);
    expectError(
      () => deviceMetering({ ...base, siteNetImportKwh: [0, Number.NaN, 0, 0, 0] }),
      'GW_ERR_VALIDATION',
      /\/siteNetImportKwh\/1/,
    );
    expectError(() => deviceMetering({ ...base, intervalMinutes: -5 }), 'GW_ERR_VALIDATION', /\/intervalMinutes/);
  });
});
