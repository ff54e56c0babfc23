/** Randomisation of RandomizableEvents: bounds, draws from an injected source, effective windows. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  drawRandomization,
  earliestEffectiveStart,
  effectiveWindow,
  hasRandomization,
  latestEffectiveEnd,
  randomizationBound,
} from '../../src/events/index.ts';
import { control, scripted, seededRandom, T0 } from './helpers.ts';

describe('randomizationBound (OneHourRangeType, -3600..3600)', () => {
  const rows: Array<[string, number | undefined, number]> = [
    ['absent means 0', undefined, 0],
    ['NaN means 0', Number.NaN, 0],
    ['in range kept', 60, 60],
    ['negative kept', -60, -60],
    ['edge kept', 3600, 3600],
    ['above range clamped', 4000, 3600],
    ['below range clamped', -5000, -3600],
    ['Infinity clamped', Number.POSITIVE_INFINITY, 3600],
    ['fraction rounded', 12.6, 13],
  ];
  for (const [name, input, expected] of rows) {
    test(name, () => assert.equal(randomizationBound(input), expected));
  }
});

describe('drawRandomization draws start, duration, cancel in that order', () => {
  const rows: Array<{
    name: string;
    randomizeStart?: number;
    randomizeDuration?: number;
    draws: number[];
    expected: { startOffset: number; durationOffset: number; cancelOffset: number };
  }> = [
    {
      name: 'positive start bound, lowest draw → 0, cancel up to 60',
      randomizeStart: 60,
      draws: [0, 0.5, 0.99],
      expected: { startOffset: 0, durationOffset: 0, cancelOffset: 60 },
    },
    {
      name: 'positive start bound, middle draw → 30',
      randomizeStart: 60,
      draws: [0.5, 0, 0],
      expected: { startOffset: 30, durationOffset: 0, cancelOffset: 0 },
    },
    {
      name: 'negative start bound moves earlier; cancel bound is max(|rs|, |rd|)',
      randomizeStart: -120,
      randomizeDuration: 30,
      draws: [0, 0.5, 0.25],
      expected: { startOffset: -120, durationOffset: 15, cancelOffset: 30 },
    },
    {
      name: 'negative start bound, middle draw → -60',
      randomizeStart: -120,
      draws: [0.5, 0, 0],
      expected: { startOffset: -60, durationOffset: 0, cancelOffset: 0 },
    },
    {
      name: 'out-of-range bound is clamped to 3600',
      randomizeStart: 4000,
      draws: [0.9999999, 0, 0.9999999],
      expected: { startOffset: 3600, durationOffset: 0, cancelOffset: 3600 },
    },
    {
      name: 'draws of 1, NaN and -1 are clamped into range',
      randomizeStart: 60,
      randomizeDuration: 60,
      draws: [1, Number.NaN, -1],
      expected: { startOffset: 60, durationOffset: 0, cancelOffset: 0 },
    },
    {
      name: 'no randomisation gives zero offsets whatever the draws',
      draws: [0.7, 0.7, 0.7],
      expected: { startOffset: 0, durationOffset: 0, cancelOffset: 0 },
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const source = { randomizeStart: row.randomizeStart, randomizeDuration: row.randomizeDuration };
      assert.deepEqual(drawRandomization(source, scripted(row.draws)), row.expected);
    });
  }

  test('every draw is a whole second inside [min(0, r), max(0, r)] and reaches both ends', () => {
    const random = seededRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const { startOffset, durationOffset, cancelOffset } = drawRandomization(
        { randomizeStart: -20, randomizeDuration: 10 },
        random,
      );
      assert.ok(Number.isInteger(startOffset) && startOffset >= -20 && startOffset <= 0, `start ${startOffset}`);
      assert.ok(Number.isInteger(durationOffset) && durationOffset >= 0 && durationOffset <= 10);
      assert.ok(Number.isInteger(cancelOffset) && cancelOffset >= 0 && cancelOffset <= 20);
      seen.add(startOffset);
    }
    assert.equal(seen.size, 21, 'all 21 values of [-20, 0] occur');
  });

  test('a seeded source gives reproducible windows (CACTUS S-ALL-45/ALL-22: five controls, rs = 60 s)', () => {
    const random = seededRandom(2030);
    const windows = [0, 1, 2, 3, 4].map((i) => {
      const c = control({ mRID: `c${i}`, start: T0 + 60 + 200 * i, duration: 120, base: {}, randomizeStart: 60 });
      const window = effectiveWindow(c, drawRandomization(c, random));
      return [window.start - T0, window.end - T0];
    });
    assert.deepEqual(windows, [
      [116, 236],
      [262, 382],
      [472, 592],
      [665, 785],
      [906, 1026],
    ]);
    const again = seededRandom(7);
    assert.deepEqual(drawRandomization({ randomizeStart: -300, randomizeDuration: 120 }, again), {
      startOffset: -297,
      durationOffset: 7,
      cancelOffset: 294,
    });
  });
});

describe('effective windows', () => {
  const rows: Array<{
    name: string;
    offsets: { startOffset: number; durationOffset: number };
    expected: [number, number];
  }> = [
    { name: 'no offsets: the scheduled interval', offsets: { startOffset: 0, durationOffset: 0 }, expected: [0, 600] },
    { name: 'start moves the whole window', offsets: { startOffset: 30, durationOffset: 0 }, expected: [30, 630] },
    {
      name: 'duration offset moves the end only',
      offsets: { startOffset: 30, durationOffset: -50 },
      expected: [30, 580],
    },
    { name: 'negative start offset', offsets: { startOffset: -90, durationOffset: 10 }, expected: [-90, 520] },
    {
      name: 'the end never precedes the start',
      offsets: { startOffset: 10, durationOffset: -700 },
      expected: [10, 10],
    },
  ];
  const base = control({ mRID: 'w', start: T0, duration: 600, base: {} });
  for (const row of rows) {
    test(row.name, () => {
      const window = effectiveWindow(base, row.offsets);
      assert.deepEqual([window.start - T0, window.end - T0], row.expected);
    });
  }

  const bounds: Array<[string, number | undefined, number | undefined, number, number, boolean]> = [
    ['no randomisation', undefined, undefined, 0, 600, false],
    ['positive start and duration', 60, 30, 0, 690, true],
    ['negative start: earlier start, same latest end', -60, undefined, -60, 600, true],
    ['negative duration does not extend', undefined, -120, 0, 600, true],
  ];
  for (const [name, rs, rd, earliest, latest, randomized] of bounds) {
    test(`earliest/latest effective times: ${name}`, () => {
      const c = control({ mRID: 'b', start: T0, duration: 600, base: {}, randomizeStart: rs, randomizeDuration: rd });
      assert.equal(earliestEffectiveStart(c) - T0, earliest);
      assert.equal(latestEffectiveEnd(c) - T0, latest);
      assert.equal(hasRandomization(c), randomized);
    });
  }
});
