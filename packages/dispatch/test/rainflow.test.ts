import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError, seededRandom } from '@gridseam/model';
import { DEFAULT_STRESS, lifeConsumed, type RainflowCycle, rainflow, turningPoints } from '../src/rainflow.ts';

/** Cycle counts by range: { range: total count }. */
function histogram(cycles: readonly RainflowCycle[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const cycle of cycles) counts[cycle.depth] = (counts[cycle.depth] ?? 0) + cycle.count;
  return counts;
}

function assertValidationError(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, 'GW_ERR_VALIDATION');
    assert.match(error.message, message);
    return true;
  });
}

describe('turning points', () => {
  test('keeps the ends and every change of direction; a plateau counts once, at its first index', () => {
    assert.deepEqual(turningPoints([0, 1, 2, 1, 0, 3]), [0, 2, 4, 5]);
    assert.deepEqual(turningPoints([0, 1, 1, 0]), [0, 1, 3]);
    assert.deepEqual(turningPoints([0, 0, 1, 1]), [0, 2]);
    assert.deepEqual(turningPoints([3, 2, 1, 2]), [0, 2, 3]);
    assert.deepEqual(turningPoints([4, 4, 4]), [0]);
    assert.deepEqual(turningPoints([]), []);
  });
});

describe('rainflow (ASTM E1049-85 §5.4.4)', () => {
  test('the standard example -2, 1, -3, 5, -1, 3, -4, 4, -2 gives the standard counts (E1049 Fig. 6 / Table 4)', () => {
    const cycles = rainflow([-2, 1, -3, 5, -1, 3, -4, 4, -2]);
    // Range: cycles — 3: 0.5, 4: 1.5, 6: 0.5, 8: 1.0, 9: 0.5 (10, 7 and 5: none).
    assert.deepEqual(histogram(cycles), { 3: 0.5, 4: 1.5, 6: 0.5, 8: 1, 9: 0.5 });
    // In counting order, with the turning points each range runs between.
    assert.deepEqual(cycles, [
      { depth: 3, count: 0.5, from: 0, to: 1 },
      { depth: 4, count: 0.5, from: 1, to: 2 },
      { depth: 4, count: 1, from: 4, to: 5 },
      { depth: 8, count: 0.5, from: 2, to: 3 },
      { depth: 9, count: 0.5, from: 3, to: 6 },
      { depth: 8, count: 0.5, from: 6, to: 7 },
      { depth: 6, count: 0.5, from: 7, to: 8 },
    ]);
  });

  test('a small loop inside a large swing is one full cycle; the swing is two half cycles', () => {
    // 0 -> 5 -> 0 with a 2 -> 4 -> 2 loop on the way down (closed when the trace passes 2 again).
    assert.deepEqual(rainflow([0, 5, 2, 4, 0]), [
      { depth: 2, count: 1, from: 2, to: 3 },
      { depth: 5, count: 0.5, from: 0, to: 1 },
      { depth: 5, count: 0.5, from: 1, to: 4 },
    ]);
  });

  test('intermediate points on a ramp and plateaus do not change the count', () => {
    assert.deepEqual(histogram(rainflow([0, 1, 2, 3, 5, 5, 4, 2, 3, 4, 0])), histogram(rainflow([0, 5, 2, 4, 0])));
    const cycles = rainflow([0, 1, 2, 3, 5, 5, 4, 2, 3, 4, 0]);
    // Indices point into the input: the peak is the first 5 (index 4), the valley the 2 at index 7.
    assert.deepEqual(cycles[0], { depth: 2, count: 1, from: 7, to: 9 });
  });

  test('nested loops: each inner loop closes as a full cycle before the outer one', () => {
    // SoC in percent: 50 -> 90 -> 60 -> 80 -> 70 -> 75 -> 10 -> 50
    const cycles = rainflow([50, 90, 60, 80, 70, 75, 10, 50]);
    assert.deepEqual(histogram(cycles), { 5: 1, 20: 1, 40: 1, 80: 0.5 });
    assert.deepEqual(
      cycles.filter((c) => c.count === 1),
      [
        { depth: 5, count: 1, from: 4, to: 5 },
        { depth: 20, count: 1, from: 2, to: 3 },
      ],
    );
  });

  test('a repeated full swing from the start point counts as half cycles (three-point method)', () => {
    assert.deepEqual(histogram(rainflow([0, 2, 0, 2, 0])), { 2: 2 });
    assert.ok(rainflow([0, 2, 0, 2, 0]).every((c) => c.count === 0.5));
  });

  test('edge cases: empty, one point, flat, two points, monotone', () => {
    assert.deepEqual(rainflow([]), []);
    assert.deepEqual(rainflow([0.4]), []);
    assert.deepEqual(rainflow([0.5, 0.5, 0.5, 0.5]), []);
    assert.deepEqual(rainflow([0.25, 0.75]), [{ depth: 0.5, count: 0.5, from: 0, to: 1 }]);
    assert.deepEqual(rainflow([1, 2, 3, 4, 6]), [{ depth: 5, count: 0.5, from: 0, to: 4 }]);
    assert.deepEqual(rainflow([6, 4, 3, 2, 1]), [{ depth: 5, count: 0.5, from: 0, to: 4 }]);
  });

  test('NaN, Infinity and non-numbers are refused, naming the index', () => {
    assertValidationError(() => rainflow([0, 1, Number.NaN, 0]), /series\[2\] is NaN/);
    assertValidationError(() => rainflow([0, Number.POSITIVE_INFINITY]), /series\[1\] is Infinity/);
    assertValidationError(() => rainflow([0, '1' as unknown as number]), /series\[1\]/);
  });

  test('property: every half range is counted once (sum of 2 x count = turning points - 1), the largest range is counted', () => {
    const next = seededRandom(9);
    for (let trial = 0; trial < 200; trial++) {
      const length = 2 + Math.floor(next() * 60);
      const series = Array.from({ length }, () => Math.round(next() * 20) / 20);
      const cycles = rainflow(series);
      const halves = cycles.reduce((total, c) => total + 2 * c.count, 0);
      assert.equal(halves, Math.max(0, turningPoints(series).length - 1));
      const spread = Math.max(...series) - Math.min(...series);
      if (spread > 0)
        assert.ok(
          cycles.some((c) => c.depth === spread),
          `the full range ${spread} is counted`,
        );
      for (const c of cycles) {
        assert.ok(c.depth > 0);
        assert.equal(c.depth, Math.abs((series[c.to] as number) - (series[c.from] as number)));
      }
    }
  });
});

describe('life consumed', () => {
  test('is sum of count x k x depth^b', () => {
    const cycles = rainflow([-2, 1, -3, 5, -1, 3, -4, 4, -2]);
    // b = 1, k = 1: each half range counts half its size: the total variation (46) / 2.
    assert.equal(lifeConsumed(cycles, { k: 1, b: 1 }), 23);
    // b = 2: 0.5*9 + 1.5*16 + 0.5*36 + 1*64 + 0.5*81 = 151
    assert.equal(lifeConsumed(cycles, { k: 1, b: 2 }), 151);
    assert.equal(lifeConsumed(cycles, { k: 0.5, b: 2 }), 75.5);
  });

  test('the default stress is depth^2 / 6000: a full 0-1-0 SoC cycle uses 1/6000 of life', () => {
    assert.deepEqual(DEFAULT_STRESS, { k: 1 / 6000, b: 2 });
    assert.equal(lifeConsumed(rainflow([0, 1, 0])), 1 / 6000);
    // Two half-depth cycles use half as much as one full-depth cycle (convexity).
    const shallow = lifeConsumed(rainflow([0.5, 1, 0.5, 1, 0.5]));
    assert.ok(Math.abs(shallow - (4 * 0.5 * 0.5 ** 2) / 6000) < 1e-15);
    assert.ok(shallow < lifeConsumed(rainflow([0, 1, 0])));
  });

  test('a shift of the whole trace does not change the life consumed', () => {
    const next = seededRandom(4);
    const series = Array.from({ length: 50 }, () => next());
    const shifted = series.map((v) => v + 3);
    assert.ok(Math.abs(lifeConsumed(rainflow(series)) - lifeConsumed(rainflow(shifted))) < 1e-12);
  });

  test('refuses a non-convex or negative stress function and malformed cycles', () => {
    assertValidationError(() => lifeConsumed([], { k: 1, b: 0.5 }), /b must be a finite number >= 1/);
    assertValidationError(() => lifeConsumed([], { k: -1, b: 2 }), /k must be a finite number >= 0/);
    assertValidationError(() => lifeConsumed([], { k: Number.NaN, b: 2 }), /k must be/);
    assertValidationError(
      () => lifeConsumed([{ depth: Number.NaN, count: 1, from: 0, to: 1 }]),
      /cycle 0: depth must be a finite number/,
    );
    assertValidationError(
      () => lifeConsumed([{ depth: 1, count: 2 as 1, from: 0, to: 1 }]),
      /cycle 0: count must be 0.5 or 1/,
    );
  });
});
