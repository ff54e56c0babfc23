/**
 * Point writes: scaling with the scale factor of the model as read, pysunspec2 rounding, range
 * checks, read-only refusal, unknown paths, nested repeating groups and sync groups.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  type DecodedModel,
  decodeModel,
  encodeGroupWrite,
  encodeModel,
  encodePointWrite,
  getModelDefinition,
  type ModelDef,
  type ModelValues,
  pointAt,
} from '../../src/codec/index.ts';

const DER_CTL = getModelDefinition(704)!;
const VOLT_VAR = getModelDefinition(705)!;
const TEST_MODEL = getModelDefinition(63001)!;

function read(def: ModelDef, values: ModelValues, start = 40000): DecodedModel {
  return decodeModel(def, encodeModel(def, values), { start });
}

/** Offset of a top-level point from the model's ID register, summed from the definition. */
function offsetOf(def: ModelDef, name: string): number {
  let at = 0;
  for (const p of def.group.points) {
    if (p.name === name) return at;
    at += p.size;
  }
  throw new Error(`no point ${name}`);
}

function fails(code: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(GridseamError.is(error), `a GridseamError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

const ctl = read(
  DER_CTL,
  {
    points: {
      WMaxLimPctEna: 0,
      WMaxLimPct: 100,
      WMaxLimPct_SF: -1,
      WSet: 5000,
      WSet_SF: 1,
      PF_SF: -2,
      WMaxLimPctRvrtTms: 60,
    },
    groups: { PFWInj: [{ points: { PF: 0.95, Ext: 1 } }] },
  },
  40329,
);

describe('encodePointWrite', () => {
  test('scales with a negative sf from the model as read: WMaxLimPct 50.0 with SF −1 -> 500', () => {
    const write = encodePointWrite(DER_CTL, ctl, 'WMaxLimPct', 50);
    assert.equal(write.offset, offsetOf(DER_CTL, 'WMaxLimPct'));
    assert.deepEqual([...write.registers], [500]);
    assert.deepEqual([...encodePointWrite(DER_CTL, ctl, 'WMaxLimPct', 12.3).registers], [123]);
  });

  test('rounds like pysunspec2: to |sf| decimals on the exact value, ties to even', () => {
    const pf = (value: number) => encodePointWrite(DER_CTL, ctl, 'PFWInj.PF', value).registers[0];
    assert.equal(pf(0.955), 95, '0.955 is 0.95499999... in binary: 95, not 96');
    assert.equal(pf(0.125), 12, 'an exact tie rounds to even');
    assert.equal(pf(0.135), 14);
    assert.equal(pf(0.9), 90);
    assert.equal(pf(0.123456), 12);
    const lim = (value: number) => encodePointWrite(DER_CTL, ctl, 'WMaxLimPct', value).registers[0];
    assert.equal(lim(33.35), 334);
    assert.equal(lim(0.05), 1, '0.05 is 0.05000000000000000277 in binary: above the tie');
    assert.equal(lim(0.15), 1, '0.15 is 0.1499999999999999944 in binary: below the tie');
    assert.equal(lim(0.25), 2, 'an exact tie rounds to even');
    // Positive sf (WSet_SF 1): tens of watts.
    const wset = (value: number) => [...encodePointWrite(DER_CTL, ctl, 'WSet', value).registers];
    assert.deepEqual(wset(12345), [0, 1234], '1234.5 ties to even');
    assert.deepEqual(wset(12355), [0, 1236]);
    assert.deepEqual(
      wset(12345.04),
      [0, 1234],
      'pysunspec2 rounds twice for a positive sf: 12345.0, then 1234.5 to even',
    );
    assert.deepEqual(wset(-12340), [0xffff, 0x10000 - 1234], 'int32 two’s complement, high word first');
  });

  test('the sf comes from the model as read, never from the point being written', () => {
    // SMA-style: the control reads back unimplemented, its SF is implemented.
    const writeOnly = read(DER_CTL, { points: { WMaxLimPct_SF: -2 } });
    assert.equal(writeOnly.points.WMaxLimPct, null);
    assert.deepEqual([...encodePointWrite(DER_CTL, writeOnly, 'WMaxLimPct', 50).registers], [5000]);

    const noSf = read(DER_CTL, { points: { WMaxLimPct: 100, WMaxLimPct_SF: 0 } });
    noSf.points.WMaxLimPct_SF = null;
    assert.throws(
      () => encodePointWrite(DER_CTL, noSf, 'WMaxLimPct', 50),
      fails('GW_ERR_NOT_SUPPORTED', /model 704 .*'WMaxLimPct'.*scale factor WMaxLimPct_SF is unimplemented/),
    );
  });

  test('out-of-range values and the unimplemented sentinel are refused', () => {
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLimPct', 7000),
      fails(
        'GW_ERR_VALIDATION',
        /SunSpec model 704 \(DERCtlAC\) path 'WMaxLimPct': 7000 \(raw 70000 with sf -1\) is outside 0\.\.65535/,
      ),
    );
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLimPct', -0.1),
      fails('GW_ERR_VALIDATION', /outside 0\.\.65535/),
    );
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLimPct', 6553.5),
      fails('GW_ERR_VALIDATION', /raw 65535 .* is the unimplemented value of uint16/),
    );
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLimPctRvrtTms', 0xffffffff),
      fails('GW_ERR_VALIDATION', /is the unimplemented value of uint32/),
    );
    assert.throws(() => encodePointWrite(DER_CTL, ctl, 'WMaxLimPctEna', 0xffff), fails('GW_ERR_VALIDATION', /enum16/));
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLimPct', Number.NaN),
      fails('GW_ERR_VALIDATION', /not a finite/),
    );
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLimPctEna', 0.5),
      fails('GW_ERR_VALIDATION', /takes an integer/),
    );
  });

  test('null writes the unimplemented value on purpose', () => {
    assert.deepEqual([...encodePointWrite(DER_CTL, ctl, 'WMaxLimPctRvrtTms', null).registers], [0xffff, 0xffff]);
  });

  test('wrong types are refused; enums also take their symbol names', () => {
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLimPct', 'fifty'),
      fails('GW_ERR_VALIDATION', /uint16 takes a number, got the string "fifty"/),
    );
    assert.deepEqual([...encodePointWrite(DER_CTL, ctl, 'WMaxLimPctEna', 'ENABLED').registers], [1]);
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLimPctEna', 'ON'),
      fails('GW_ERR_VALIDATION', /symbol names/),
    );
  });

  test('read-only points are refused with GW_ERR_NOT_SUPPORTED', () => {
    for (const path of ['WMaxLimPctRvrtRem', 'WMaxLimPct_SF', 'ID', 'L']) {
      assert.throws(
        () => encodePointWrite(DER_CTL, ctl, path, 1),
        fails('GW_ERR_NOT_SUPPORTED', new RegExp(`model 704 \\(DERCtlAC\\) path '${path}': the point is read-only`)),
      );
    }
  });

  test('unknown paths are GW_ERR_VALIDATION naming the model and the path', () => {
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'WMaxLim', 1),
      fails('GW_ERR_VALIDATION', /model 704 .*'WMaxLim': no point 'WMaxLim'/),
    );
    assert.throws(
      () => encodePointWrite(DER_CTL, ctl, 'PFWInj.Nope', 1),
      fails('GW_ERR_VALIDATION', /no point 'Nope' in PFWInj/),
    );
    assert.throws(() => encodePointWrite(DER_CTL, ctl, 'Nope.PF', 1), fails('GW_ERR_VALIDATION', /no group 'Nope'/));
    assert.throws(() => encodePointWrite(DER_CTL, ctl, 'WMaxLimPct[0]', 1), fails('GW_ERR_VALIDATION', /no point/));
    assert.throws(() => encodePointWrite(DER_CTL, ctl, 'a..b', 1), fails('GW_ERR_VALIDATION', /bad segment ''/));
    assert.throws(() => encodePointWrite(DER_CTL, ctl, '', 1), fails('GW_ERR_VALIDATION', /empty path/));
  });

  test('a point inside a sync group is written with its whole group (704 PFWInj)', () => {
    const write = encodePointWrite(DER_CTL, ctl, 'PFWInj.PF', 0.9);
    assert.equal(write.offset, 2 + 57, 'PFWInj follows the 57 registers of top-level points after ID and L');
    assert.deepEqual([...write.registers], [90, 1], 'PF scaled with PF_SF −2, Ext kept from the model as read');
    assert.equal(pointAt(DER_CTL, ctl, 'PFWInj.PF').offset, write.offset);
    assert.equal(pointAt(DER_CTL, ctl, 'PFWInjRvrt[0].PF').offset, write.offset + 2);
  });

  test('a path into a nested repeating group: 705 Crv[1].Pt[0].V', () => {
    const vv = read(VOLT_VAR, {
      points: { V_SF: -1, DeptRef_SF: 0, RspTms_SF: 0 },
      groups: {
        Crv: [0, 1].map((c) => ({
          points: { ActPt: 2, ReadOnly: c === 0 ? 1 : 0 },
          groups: { Pt: [{ points: { V: 92 + c, Var: 30 } }, { points: { V: 108, Var: -30 } }] },
        })),
      },
    });
    // 15 registers of ID, L and top-level points; a curve is 10 + 2 x 2 registers.
    const write = encodePointWrite(VOLT_VAR, vv, 'Crv[1].Pt[0].V', 95.5);
    assert.equal(write.offset, 15 + 14 + 10);
    assert.deepEqual([...write.registers], [955]);
    assert.equal(encodePointWrite(VOLT_VAR, vv, 'Crv[1].Pt[1].Var', -25).offset, 15 + 14 + 10 + 3);
    assert.deepEqual([...encodePointWrite(VOLT_VAR, vv, 'Crv[1].Pt[1].Var', -25).registers], [0x10000 - 25]);
    assert.equal(encodePointWrite(VOLT_VAR, vv, 'Crv.ActPt', 2).offset, 15, 'index 0 implied');

    const at = pointAt(VOLT_VAR, vv, 'Crv[1].Pt[0].V');
    assert.equal(at.value, 93);
    assert.equal(at.address, 40000 + 15 + 14 + 10);
    assert.equal(at.sf, -1);
    assert.equal(at.path, 'Crv[1].Pt[0].V');
    assert.equal(at.point.type, 'uint16');

    assert.throws(
      () => encodePointWrite(VOLT_VAR, vv, 'Crv[2].Pt[0].V', 90),
      fails(
        'GW_ERR_VALIDATION',
        /model 705 .*'Crv\[2\]\.Pt\[0\]\.V': Crv\[2\] does not exist: the model as read has 2/,
      ),
    );
    assert.throws(
      () => encodePointWrite(VOLT_VAR, vv, 'Crv[1].Pt[2].V', 90),
      fails('GW_ERR_VALIDATION', /Crv\[1\]\.Pt\[2\] does not exist/),
    );
    assert.throws(
      () => encodePointWrite(VOLT_VAR, vv, 'Crv[1].ReadOnly', 0),
      fails('GW_ERR_NOT_SUPPORTED', /read-only/),
    );
  });

  test('other types: string, ipaddr, int64 (bigint), float32 (model 63001)', () => {
    const t = read(TEST_MODEL, {});
    const string = encodePointWrite(TEST_MODEL, t, 'string', 'hello');
    assert.equal(string.registers.length, 16);
    assert.deepEqual([...string.registers.slice(0, 4)], [0x6865, 0x6c6c, 0x6f00, 0]);
    assert.throws(
      () => encodePointWrite(TEST_MODEL, t, 'string', 'x'.repeat(33)),
      fails('GW_ERR_VALIDATION', /longer than 32 bytes/),
    );
    assert.throws(
      () => encodePointWrite(TEST_MODEL, t, 'string', ''),
      fails('GW_ERR_VALIDATION', /empty string is the unimplemented/),
    );
    assert.deepEqual([...encodePointWrite(TEST_MODEL, t, 'ipaddr', '192.168.1.10').registers], [0xc0a8, 0x010a]);
    assert.throws(
      () => encodePointWrite(TEST_MODEL, t, 'ipaddr', '192.168.1'),
      fails('GW_ERR_VALIDATION', /dotted-quad/),
    );
    assert.deepEqual([...encodePointWrite(TEST_MODEL, t, 'int64', -(2n ** 62n)).registers], [0xc000, 0, 0, 0]);
    assert.throws(
      () => encodePointWrite(TEST_MODEL, t, 'int64', -(2n ** 63n)),
      fails('GW_ERR_VALIDATION', /unimplemented value of int64/),
    );
    assert.deepEqual([...encodePointWrite(TEST_MODEL, t, 'float32', 1.5).registers], [0x3fc0, 0]);
    assert.throws(() => encodePointWrite(TEST_MODEL, t, 'float32', 1e39), fails('GW_ERR_VALIDATION', /float32 range/));
  });
});

describe('encodeGroupWrite', () => {
  test('writes every point of a sync group in one block; missing points keep their values', () => {
    const write = encodeGroupWrite(DER_CTL, ctl, 'PFWInj', { PF: 0.85 });
    assert.equal(write.offset, 59);
    assert.deepEqual([...write.registers], [85, 1]);
    assert.deepEqual([...encodeGroupWrite(DER_CTL, ctl, 'PFWAbs', { PF: 0.9, Ext: 0 }).registers], [90, 0]);
  });

  test('refuses unknown points, the whole model and groups with read-only points', () => {
    assert.throws(
      () => encodeGroupWrite(DER_CTL, ctl, 'PFWInj', { Nope: 1 }),
      fails('GW_ERR_VALIDATION', /no point 'Nope' in PFWInj/),
    );
    assert.throws(() => encodeGroupWrite(DER_CTL, ctl, 'Nope', {}), fails('GW_ERR_VALIDATION', /no group 'Nope'/));
    const vv = read(VOLT_VAR, {
      points: { V_SF: 0, DeptRef_SF: 0 },
      groups: { Crv: [{ groups: { Pt: [{ points: { V: 100, Var: 0 } }] } }] },
    });
    assert.throws(
      () => encodeGroupWrite(VOLT_VAR, vv, 'Crv[0]', { ActPt: 1 }),
      fails('GW_ERR_NOT_SUPPORTED', /read-only points \(VRefAuto, ReadOnly\)/),
    );
    const pt = encodeGroupWrite(VOLT_VAR, vv, 'Crv[0].Pt[0]', { V: 101 });
    assert.equal(pt.offset, 15 + 10);
    assert.deepEqual([...pt.registers], [101, 0]);
  });

  test('a scale factor written in the same group write scales the values written with it', () => {
    const def: ModelDef = {
      id: 64950,
      group: {
        name: 'sf_group',
        type: 'group',
        points: [
          { name: 'ID', type: 'uint16', size: 1, value: 64950 },
          { name: 'L', type: 'uint16', size: 1 },
        ],
        groups: [
          {
            name: 'Set',
            type: 'sync',
            points: [
              { name: 'X', type: 'int32', size: 2, sf: 'X_SF', access: 'RW' },
              { name: 'X_SF', type: 'sunssf', size: 1, access: 'RW' },
            ],
          },
        ],
      },
    };
    const current = read(def, { groups: { Set: [{ points: { X: 12, X_SF: 0 } }] } });
    assert.deepEqual([...encodeGroupWrite(def, current, 'Set', { X: 1.25, X_SF: -2 }).registers], [0, 125, 0xfffe]);
    assert.deepEqual([...encodeGroupWrite(def, current, 'Set', { X: 7 }).registers], [0, 7, 0]);
    assert.throws(
      () => encodeGroupWrite(def, current, 'Set', { X_SF: 11 }),
      fails('GW_ERR_VALIDATION', /outside -10\.\.10/),
    );
  });
});
