import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatDateTime,
  formatDecimal,
  formatDuration,
  formatFloat,
  parseDateTime,
  parseDuration,
  parseFloatValue,
  parseUnsigned,
  ValueError,
} from '../../../src/v2b/codec/values.ts';

describe('xcal durations (ISO 8601, seconds)', () => {
  const valid: Array<[string, number]> = [
    ['PT0S', 0],
    ['PT0M', 0],
    ['PT10M', 600],
    ['PT120M', 7200],
    ['PT1H30M5S', 5405],
    ['P1D', 86400],
    ['P1DT1S', 86401],
    ['P2W', 1209600],
    ['-PT5M', -300],
    ['+PT1H', 3600],
    ['P0Y0M1D', 86400],
    [' PT2S\n', 2],
  ];
  for (const [raw, seconds] of valid) {
    test(`${JSON.stringify(raw)} is ${seconds} s`, () => assert.equal(parseDuration(raw), seconds));
  }

  const invalid = [
    '',
    'P',
    'PT',
    'PTS',
    'P5H',
    'PT1.5S',
    'P1Y',
    'P1M',
    'P1W2D',
    '1W',
    'PT-5M',
    'T5M',
    'pt5m',
    'P99999999999999999D',
  ];
  for (const raw of invalid) {
    test(`${JSON.stringify(raw)} is refused`, () => assert.throws(() => parseDuration(raw), ValueError));
  }

  const formatted: Array<[number, string]> = [
    [0, 'PT0S'],
    [2, 'PT2S'],
    [600, 'PT10M'],
    [5405, 'PT1H30M5S'],
    [86400, 'P1D'],
    [90000, 'P1DT1H'],
    [-300, '-PT5M'],
  ];
  for (const [seconds, text] of formatted) {
    test(`${seconds} s emits ${text} and reads back`, () => {
      assert.equal(formatDuration(seconds), text);
      assert.equal(parseDuration(text), seconds);
    });
  }

  test('non-integer, non-finite and non-number durations are refused', () => {
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '60', null]) {
      assert.throws(() => formatDuration(bad), ValueError);
    }
  });
});

describe('xcal date-times (epoch milliseconds, UTC)', () => {
  test('Z, no zone and fractions read as UTC milliseconds', () => {
    assert.equal(parseDateTime('2026-11-27T07:41:44.487133Z'), Date.UTC(2026, 10, 27, 7, 41, 44, 487));
    assert.equal(parseDateTime('2026-11-27T07:41:44Z'), Date.UTC(2026, 10, 27, 7, 41, 44));
    assert.equal(parseDateTime('2026-11-27T07:41:44'), Date.UTC(2026, 10, 27, 7, 41, 44));
    assert.equal(parseDateTime('2024-02-29T00:00:00.5Z'), Date.UTC(2024, 1, 29, 0, 0, 0, 500));
    assert.equal(parseDateTime('2026-01-01T24:00:00Z'), Date.UTC(2026, 0, 2));
    assert.equal(parseDateTime('0050-06-01T00:00:00Z'), Date.parse('0050-06-01T00:00:00Z'));
  });

  const invalid = [
    '2026-11-27',
    '2026-11-27T07:41:44+02:00',
    '2026-13-01T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-01-01T24:00:01Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:00:60Z',
    '0000-01-01T00:00:00Z',
    '26-01-01T00:00:00Z',
    'yesterday',
  ];
  for (const raw of invalid) {
    test(`${JSON.stringify(raw)} is refused`, () => assert.throws(() => parseDateTime(raw), ValueError));
  }

  test('emits whole seconds without a fraction and milliseconds when present', () => {
    assert.equal(formatDateTime(Date.UTC(2026, 10, 27, 12)), '2026-11-27T12:00:00Z');
    assert.equal(formatDateTime(Date.UTC(2026, 10, 27, 12, 0, 0, 5)), '2026-11-27T12:00:00.005Z');
    for (const bad of [1.5, Number.NaN, -1e15, 1e15, '2026']) assert.throws(() => formatDateTime(bad), ValueError);
  });
});

describe('numbers', () => {
  test('xs:float: finite decimal or exponent forms, INF/NaN and out-of-range refused', () => {
    assert.equal(parseFloatValue('1.0'), 1);
    assert.equal(parseFloatValue(' -2.5e3 '), -2500);
    assert.equal(parseFloatValue('.5'), 0.5);
    assert.equal(Object.is(parseFloatValue('-0'), 0), true);
    for (const bad of ['NaN', 'INF', '-INF', 'Infinity', '0x10', '1e39', '', '1,5', '1.2.3']) {
      assert.throws(() => parseFloatValue(bad), ValueError, bad);
    }
    assert.equal(formatFloat(1e-7), '1e-7');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1e39, '1'])
      assert.throws(() => formatFloat(bad), ValueError);
  });

  test('xs:unsignedInt and the 0..100 confidence range', () => {
    assert.equal(parseUnsigned('4294967295'), 4294967295);
    assert.equal(parseUnsigned('+007'), 7);
    for (const bad of ['-1', '4294967296', '1.0', '1e3', '', '99999999999999999999']) {
      assert.throws(() => parseUnsigned(bad), ValueError, bad);
    }
    assert.throws(() => parseUnsigned('101', 100), ValueError);
  });

  test('xs:decimal never uses an exponent', () => {
    assert.equal(formatDecimal(60), '60');
    assert.equal(formatDecimal(1e21), '1000000000000000000000');
    assert.equal(formatDecimal(1e-7), '0.0000001');
  });
});
