/**
 * Point values: pysunspec2 rounding, 64-bit integers, strings, addresses, and the checks of
 * encodeModel (counts, scale factors, sizes).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { decodeModel, encodeModel, getModelDefinition, type ModelDef } from '../../src/codec/index.ts';
import { roundScaled, roundScaledExact } from '../../src/codec/values.ts';
import { Sequence } from './helpers.ts';

const TEST_MODEL = getModelDefinition(63001)!;

function validationError(pattern: RegExp) {
  return (error: unknown) =>
    GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION' && pattern.test(error.message);
}

describe('rounding like pysunspec2', () => {
  // Expected values computed with CPython 3: int(round(round(float(v), abs(sf)) / 10**sf)).
  const PYTHON: Array<[number, number, number]> = [
    [0.955, -2, 95],
    [0.125, -2, 12],
    [-0.125, -2, -12],
    [0.135, -2, 14],
    [0.285, -2, 28],
    [1.005, -2, 100],
    [33.35, -1, 334],
    [0.05, -1, 1],
    [0.15, -1, 1],
    [0.25, -1, 2],
    [95.5, -1, 955],
    [2.5, 0, 2],
    [3.5, 0, 4],
    [-2.5, 0, -2],
    [12345, 1, 1234],
    [12355, 1, 1236],
    [-12340, 1, -1234],
  ];

  test('matches CPython for ties, near-ties and both signs of sf', () => {
    for (const [value, sf, raw] of PYTHON) {
      assert.equal(roundScaled(value, sf), BigInt(raw), `${value} sf ${sf}`);
      assert.equal(roundScaledExact(value, sf), BigInt(raw), `${value} sf ${sf} (exact path)`);
    }
  });

  test('the fast path agrees with the exact computation on 20,000 generated values', () => {
    const seq = new Sequence(42);
    for (let i = 0; i < 20_000; i++) {
      const sf = -seq.int(0, 4);
      const value = (seq.int(0, 2_000_000) - 1_000_000) / 10 ** seq.int(0, 6);
      assert.equal(roundScaled(value, sf), roundScaledExact(value, sf), `${value} sf ${sf}`);
    }
  });
});

describe('point types', () => {
  test('64-bit integers: numbers while safe, bigints beyond 2^53 (int64, uint64, acc64)', () => {
    const def: ModelDef = {
      id: 64960,
      group: {
        name: 'wide',
        type: 'group',
        points: [
          { name: 'ID', type: 'uint16', size: 1 },
          { name: 'L', type: 'uint16', size: 1 },
          { name: 'a', type: 'int64', size: 4 },
          { name: 'b', type: 'int64', size: 4 },
          { name: 'c', type: 'uint64', size: 4 },
          { name: 'd', type: 'uint64', size: 4 },
          { name: 'e', type: 'acc64', size: 4, sf: 3 },
          { name: 'f', type: 'int64', size: 4 },
        ],
      },
    };
    const block = [
      64960,
      24,
      ...[0xffff, 0xffff, 0xffff, 0xffff], // −1
      ...[0xffe0, 0, 0, 0], // −2^53: not a safe integer
      ...[0x001f, 0xffff, 0xffff, 0xffff], // 2^53 − 1
      ...[0x0020, 0, 0, 1], // 2^53 + 1
      ...[0, 0, 0, 150], // 150 × 10^3
      ...[0x7fff, 0xffff, 0xffff, 0xffff], // int64 max
    ];
    const decoded = decodeModel(def, block, { start: 0 });
    assert.deepEqual(decoded.points, {
      ID: 64960,
      L: 24,
      a: -1,
      b: -(2n ** 53n),
      c: 2 ** 53 - 1,
      d: 2n ** 53n + 1n,
      e: 150000,
      f: 2n ** 63n - 1n,
    });
    assert.deepEqual([...encodeModel(def, decoded)], block);
  });

  test('strings: trailing spaces and NULs trimmed, cut at the first NUL, UTF-8, a full field without NUL', () => {
    const common = getModelDefinition(1)!;
    const image = encodeModel(common, { points: { Mn: 'Grüße AG', Md: 'M'.repeat(32), SN: 'abc' } });
    const mdAt = 2 + 16;
    const snAt = 2 + 16 + 16 + 8 + 8;
    image[snAt + 1] = 0x6320; // 'abc' followed by spaces
    image[snAt + 2] = 0x2020;
    image[mdAt + 14] = 0x0041; // a NUL, then 'A': the string ends at the NUL
    const decoded = decodeModel(common, image, { start: 40002 });
    assert.equal(decoded.points.Mn, 'Grüße AG');
    assert.equal(decoded.points.Md, 'M'.repeat(28));
    assert.equal(decoded.points.SN, 'abc');
    assert.equal(decoded.points.Opt, null);
    assert.throws(
      () => encodeModel(common, { points: { Opt: 'x'.repeat(17) } }),
      validationError(/model 1 point Opt: "x{17}" is longer than 16 bytes/),
    );
  });

  test('ipaddr, ipv6addr (also compressed with ::) and eui48 as text', () => {
    const values = {
      points: { ipaddr: '192.168.0.17', ipv6addr: '2001:db8::1', int64: 5, float32: -0.5 },
    };
    const decoded = decodeModel(TEST_MODEL, encodeModel(TEST_MODEL, values), { start: 0 });
    assert.equal(decoded.points.ipaddr, '192.168.0.17');
    assert.equal(decoded.points.ipv6addr, '2001:0db8:0000:0000:0000:0000:0000:0001');
    assert.equal(decoded.points.ipv6addr_u, null);
    assert.equal(decoded.points.float32, -0.5);

    const device = getModelDefinition(12)!;
    const eui = device.group.points.find((p) => p.type === 'eui48');
    if (eui) {
      const image = encodeModel(device, { points: { [eui.name]: '02-00-5e-10-00-01' } });
      assert.equal(decodeModel(device, image, { start: 0 }).points[eui.name], '02:00:5E:10:00:01');
    }
    assert.throws(
      () => encodeModel(TEST_MODEL, { points: { ipv6addr: '2001:db8::1::2' } }),
      validationError(/ipv6addr takes an IPv6 address/),
    );
  });

  test('raw: true encodes register values as given (pysunspec2 device images)', () => {
    const def = getModelDefinition(103)!;
    const image = encodeModel(def, { points: { W: 980, W_SF: 1, A: 411, A_SF: -1 } }, { raw: true });
    const decoded = decodeModel(def, image, { start: 0 });
    assert.equal(decoded.points.W, 9800);
    assert.equal(decoded.points.A, 41.1);
  });
});

describe('encodeModel checks', () => {
  const vv = getModelDefinition(705)!;
  const pt = (V: number) => ({ points: { V, Var: 0 } });

  test('a count point missing from the values is written from the arrays', () => {
    const image = encodeModel(vv, {
      points: { V_SF: 0, DeptRef_SF: 0 },
      groups: { Crv: [{ groups: { Pt: [pt(90), pt(110)] } }] },
    });
    const decoded = decodeModel(vv, image, { start: 0 });
    assert.equal(decoded.points.NCrv, 1);
    assert.equal(decoded.points.NPt, 2);
  });

  test('more instances than the count point says, or than a fixed count allows, is GW_ERR_VALIDATION', () => {
    assert.throws(
      () => encodeModel(vv, { points: { NCrv: 1, V_SF: 0, DeptRef_SF: 0 }, groups: { Crv: [{}, {}] } }),
      validationError(/model 705 group Crv: 2 instances given but NCrv = 1/),
    );
    assert.throws(
      () => encodeModel(getModelDefinition(704)!, { groups: { PFWInj: [{}, {}] } }),
      validationError(/group PFWInj: 2 instances given, the group repeats 1 times/),
    );
  });

  test('repeating groups sharing one count point must agree (707: NPt counts three Pt groups)', () => {
    const trip = getModelDefinition(707)!;
    const curve = (n: number) => ({
      groups: {
        MustTrip: [{ groups: { Pt: Array.from({ length: 2 }, () => ({})) } }],
        MayTrip: [{ groups: { Pt: Array.from({ length: n }, () => ({})) } }],
      },
    });
    assert.equal(encodeModel(trip, { groups: { Crv: [curve(1)] } })[1], 7 + 1 + 3 * (1 + 2 * 3));
    assert.throws(
      () => encodeModel(trip, { groups: { Crv: [curve(3)] } }),
      validationError(/group Crv\[0\]\.MayTrip\.Pt: 3 instances given but NPt = 2/),
    );
  });

  test('a scaled value needs its scale factor among the values', () => {
    assert.throws(
      () => encodeModel(getModelDefinition(103)!, { points: { W: 1000 } }),
      validationError(/model 103 point W: has a value but its scale factor W_SF is missing/),
    );
  });

  test('values of the wrong type or outside the register range are GW_ERR_VALIDATION', () => {
    const def = getModelDefinition(103)!;
    assert.throws(
      () => encodeModel(def, { points: { St: 'RUNNING' } }),
      validationError(/enum16 takes a number or one of its symbol names/),
    );
    assert.throws(() => encodeModel(def, { points: { St: 70000 } }), validationError(/outside 0\.\.65535/));
    assert.throws(
      () => encodeModel(def, { points: { W: 40000, W_SF: 0 } }),
      validationError(/outside -32768\.\.32767/),
    );
    // encodeModel (images, simulators) may write unimplemented values explicitly.
    assert.equal(decodeModel(def, encodeModel(def, { points: { St: 0xffff } }), { start: 0 }).points.St, null);
    assert.equal(decodeModel(def, encodeModel(def, { points: { St: 'MPPT' } }), { start: 0 }).points.St, 4);
  });
});
