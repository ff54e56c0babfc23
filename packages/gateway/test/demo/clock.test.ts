/**
 * The demo's scenario clock and its time-of-day helpers (pure; the real clock is injected).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DAY_MS,
  DEMO_DAY_START_MS,
  formatTimeOfDay,
  HOUR_MS,
  MINUTE_MS,
  parseTimeOfDay,
  ScenarioClock,
  simTimeOfDay,
  wholeSecondWindow,
} from '../../src/demo/clock.ts';

function fakeNow(start: number) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('ScenarioClock', () => {
  test('simulated time = day start + start offset + real elapsed x speed, standing still before start()', () => {
    const real = fakeNow(1_000_000);
    const clock = new ScenarioClock({ speed: 144, startOffsetMs: 6 * HOUR_MS, now: real.now });
    assert.equal(clock.started, false);
    assert.equal(clock.simNow(), DEMO_DAY_START_MS + 6 * HOUR_MS);
    real.advance(5000);
    assert.equal(clock.simNow(), DEMO_DAY_START_MS + 6 * HOUR_MS, 'stands still until started');
    assert.equal(clock.elapsedRealMs(), 0);
    clock.start();
    assert.equal(clock.realStartMs, 1_005_000);
    real.advance(10 * MINUTE_MS);
    // 10 real minutes at x144 = 24 simulated hours
    assert.equal(clock.simNow(), DEMO_DAY_START_MS + 6 * HOUR_MS + DAY_MS);
    clock.start();
    assert.equal(clock.realStartMs, 1_005_000, 'a second start changes nothing');
  });

  test('realAt is the inverse of simAt; delayUntil counts from now and never goes negative', () => {
    const real = fakeNow(0);
    const clock = new ScenarioClock({ speed: 1440, now: real.now });
    assert.throws(() => clock.realAt(DEMO_DAY_START_MS), /has not started/);
    clock.start();
    const eleven = simTimeOfDay(11 * HOUR_MS);
    // 11 hours at x1440 = 27.5 real seconds
    assert.equal(clock.realAt(eleven), 27_500);
    assert.equal(clock.simAt(27_500), eleven);
    real.advance(20_000);
    assert.equal(clock.delayUntil(eleven), 7_500);
    real.advance(10_000);
    assert.equal(clock.delayUntil(eleven), 0);
  });

  test('dayFraction follows the time of day (a later start begins part-way) and stops at 1', () => {
    const real = fakeNow(0);
    const clock = new ScenarioClock({ speed: 60, startOffsetMs: 12 * HOUR_MS, now: real.now });
    clock.start();
    assert.equal(clock.dayFraction(), 0.5);
    real.advance(6 * MINUTE_MS); // 6 hours at x60
    assert.equal(clock.dayFraction(), 0.75);
    real.advance(60 * MINUTE_MS);
    assert.equal(clock.dayFraction(), 1);
    assert.equal(clock.dayEndMs, DEMO_DAY_START_MS + DAY_MS);
  });

  test('refuses a speed that is not a positive number', () => {
    for (const speed of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => new ScenarioClock({ speed }), RangeError);
  });
});

describe('time of day', () => {
  test('parseTimeOfDay reads HH:MM and refuses anything else', () => {
    assert.equal(parseTimeOfDay('00:00'), 0);
    assert.equal(parseTimeOfDay('7:05'), 7 * HOUR_MS + 5 * MINUTE_MS);
    assert.equal(parseTimeOfDay('23:59'), 23 * HOUR_MS + 59 * MINUTE_MS);
    for (const bad of ['24:00', '12:60', '1200', 'noon', '', '-1:00', '12:5'])
      assert.equal(parseTimeOfDay(bad), undefined, bad);
  });

  test('formatTimeOfDay shows HH:MM of the demo day, 24:00 at its end, and days after it', () => {
    assert.equal(formatTimeOfDay(DEMO_DAY_START_MS), '00:00');
    assert.equal(formatTimeOfDay(simTimeOfDay(11 * HOUR_MS + 59 * MINUTE_MS + 59_999)), '11:59');
    assert.equal(formatTimeOfDay(DEMO_DAY_START_MS + DAY_MS), '24:00');
    assert.equal(formatTimeOfDay(DEMO_DAY_START_MS + DAY_MS + HOUR_MS), '+1d 01:00');
    assert.equal(formatTimeOfDay(DEMO_DAY_START_MS - HOUR_MS), '-1d 23:00');
  });

  test('wholeSecondWindow rounds both ends to whole seconds and keeps at least one second', () => {
    assert.deepEqual(wholeSecondWindow(27_500, 35_000), { startS: 28, durationS: 7 });
    assert.deepEqual(wholeSecondWindow(27_400, 34_600), { startS: 27, durationS: 8 });
    assert.deepEqual(wholeSecondWindow(10_000, 10_200), { startS: 10, durationS: 1 });
  });
});
