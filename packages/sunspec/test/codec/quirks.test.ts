/**
 * Decoding quirks: unimplemented values of every type, accumulators at 0, scale factors that
 * change between polls, count-0 (legacy) repeating groups including nested ones, length
 * mismatches and truncated blocks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { decodeModel, encodeModel, getModelDefinition, POINT_TYPES } from '../../src/codec/index.ts';
import { TYPE_SIZE } from '../../src/codec/layout.ts';
import type { GroupDef, ModelDef, PointDef, PointType } from '../../src/codec/types.ts';

function point(name: string, type: PointType, extra: Partial<PointDef> = {}): PointDef {
  return { name, type, size: type === 'string' ? 4 : TYPE_SIZE[type], ...extra };
}

function model(id: number, points: PointDef[], groups: GroupDef[] = []): ModelDef {
  return {
    id,
    group: {
      name: `test_${id}`,
      type: 'group',
      points: [point('ID', 'uint16', { value: id }), point('L', 'uint16'), ...points],
      groups,
    },
  };
}

/** The unimplemented registers of each type, written out independently of the codec (device_edge.md 1.4). */
const UNIMPLEMENTED: Record<Exclude<PointType, 'acc16' | 'acc32' | 'acc64' | 'raw16' | 'pad'>, number[]> = {
  int16: [0x8000],
  sunssf: [0x8000],
  uint16: [0xffff],
  count: [0xffff],
  enum16: [0xffff],
  bitfield16: [0xffff],
  int32: [0x8000, 0],
  uint32: [0xffff, 0xffff],
  enum32: [0xffff, 0xffff],
  bitfield32: [0xffff, 0xffff],
  int64: [0x8000, 0, 0, 0],
  uint64: [0xffff, 0xffff, 0xffff, 0xffff],
  bitfield64: [0xffff, 0xffff, 0xffff, 0xffff],
  float32: [0x7fc0, 0],
  float64: [0x7ff8, 0, 0, 0],
  string: [0, 0, 0, 0],
  ipaddr: [0, 0],
  ipv6addr: [0, 0, 0, 0, 0, 0, 0, 0],
  eui48: [0, 0xffff, 0xffff, 0xffff],
};

function protocolError(error: unknown): boolean {
  return GridseamError.is(error) && error.code === 'GW_ERR_DEVICE_PROTOCOL';
}

describe('unimplemented values', () => {
  const types = Object.keys(UNIMPLEMENTED) as Array<keyof typeof UNIMPLEMENTED>;
  const def = model(
    64900,
    types.map((type) => point(`p_${type}`, type)),
  );

  test('the table covers every point type but the accumulators, raw16 and pad', () => {
    const rest = POINT_TYPES.filter((t) => !(t in UNIMPLEMENTED));
    assert.deepEqual(rest.sort(), ['acc16', 'acc32', 'acc64', 'pad', 'raw16']);
  });

  test('every type decodes its unimplemented registers to null', () => {
    const body = types.flatMap((type) => UNIMPLEMENTED[type]);
    const block = [64900, body.length, ...body];
    const decoded = decodeModel(def, block, { start: 0 });
    for (const type of types) assert.equal(decoded.points[`p_${type}`], null, type);
    assert.deepEqual(decoded.warnings, []);
  });

  test('missing values encode as exactly those registers', () => {
    const image = encodeModel(def, {});
    assert.deepEqual(
      [...image.slice(2)],
      types.flatMap((type) => UNIMPLEMENTED[type]),
    );
  });

  test('a float NaN other than 0x7FC00000 is unimplemented too; eui48 all zero reads as absent (pysunspec2)', () => {
    const floats = model(64901, [point('f', 'float32'), point('d', 'float64'), point('e', 'eui48')]);
    const decoded = decodeModel(floats, [64901, 10, 0x7fc0, 1, 0xfff8, 0, 0, 5, 0, 0, 0, 0], { start: 0 });
    assert.deepEqual(decoded.points, { ID: 64901, L: 10, f: null, d: null, e: null });
  });

  test('accumulators keep 0 as a value (also scaled); pad always decodes to null', () => {
    const acc = model(64902, [
      point('a16', 'acc16'),
      point('a32', 'acc32', { sf: 'SF' }),
      point('a64', 'acc64'),
      point('pad', 'pad'),
      point('SF', 'sunssf'),
    ]);
    const decoded = decodeModel(acc, [64902, 9, 0, 0, 0, 0, 0, 0, 0, 0x8000, 0xfffe], { start: 0 });
    assert.deepEqual(decoded.points, { ID: 64902, L: 9, a16: 0, a32: 0, a64: 0, pad: null, SF: -2 });
    assert.equal(encodeModel(acc, {})[2], 0, 'a missing accumulator encodes as 0');
  });

  test('a point whose scale factor is unimplemented decodes to null', () => {
    const def103 = getModelDefinition(103)!;
    const image = encodeModel(def103, { points: { W: 1000, W_SF: 0, A: 12.5, A_SF: -1 } });
    const wSfOffset = def103.group.points.findIndex((p) => p.name === 'W_SF');
    image[wSfOffset] = 0x8000;
    const decoded = decodeModel(def103, image, { start: 40070 });
    assert.equal(decoded.points.W, null);
    assert.equal(decoded.points.W_SF, null);
    assert.equal(decoded.points.A, 12.5);
  });
});

describe('scale factors', () => {
  const def = getModelDefinition(103)!;
  const offsetOf = (name: string) => offsetIn(def.group, name);

  test('a scale factor that changes between two polls decodes each block with its own', () => {
    const first = encodeModel(def, { points: { W: 980, W_SF: 1, DCW: 1234.5, DCW_SF: -1 } });
    const second = Uint16Array.from(first);
    second[offsetOf('W_SF')] = 0xffff; // W_SF −1: the same raw 98 now means 9.8 W
    second[offsetOf('DCW_SF')] = 0; // raw 12345 now means 12345 W
    const a = decodeModel(def, first, { start: 40070 });
    const b = decodeModel(def, second, { start: 40070 });
    const again = decodeModel(def, first, { start: 40070 });
    assert.equal(first[offsetOf('W')], 98);
    assert.equal(a.points.W, 980);
    assert.equal(b.points.W, 9.8);
    assert.equal(a.points.DCW, 1234.5);
    assert.equal(b.points.DCW, 12345);
    assert.deepEqual(again, a, 'nothing of the second block sticks to the layout cache');
  });

  test('results are rounded to |sf| decimals like pysunspec2: no 0.30000000000000004', () => {
    const image = encodeModel(def, { points: { A: 0.3, A_SF: -1, PF: -0.07, PF_SF: -2, Hz: 59.999, Hz_SF: -3 } });
    const decoded = decodeModel(def, image, { start: 0 });
    assert.equal(decoded.points.A, 0.3);
    assert.equal(decoded.points.PF, -0.07);
    assert.equal(decoded.points.Hz, 59.999);
  });

  test('numeric sf constants in the definition (305 Lat/Long sf −7, 303 repeating TmpBOM sf −1)', () => {
    const loc = getModelDefinition(305)!;
    const image = encodeModel(loc, { points: { Lat: 47.3769, Long: -122.4194 } });
    assert.equal(image[offsetIn(loc.group, 'Lat') + 1], 473769000 & 0xffff);
    const decoded = decodeModel(loc, image, { start: 0 });
    assert.equal(decoded.points.Lat, 47.3769);
    assert.equal(decoded.points.Long, -122.4194);

    const bom = getModelDefinition(303)!;
    const temps = decodeModel(bom, [303, 3, 215, 0xfff6, 0x8000], { start: 0 });
    assert.deepEqual(
      temps.groups.temp!.map((g) => g.points.TmpBOM),
      [21.5, -1, null],
    );
  });

  test('an sf in an enclosing group applies to a repeating group (model 160 module DCW with DCW_SF)', () => {
    const mppt = getModelDefinition(160)!;
    const values = {
      points: { DCA_SF: -2, DCV_SF: -1, DCW_SF: 0, DCWH_SF: 1, N: 2 },
      groups: { module: [{ points: { ID: 1, DCW: 1500 } }, { points: { ID: 2, DCW: 1450, DCWH: 12340 } }] },
    };
    const image = encodeModel(mppt, values);
    const decoded = decodeModel(mppt, image, { start: 0 });
    assert.equal(decoded.groups.module![1]!.points.DCW, 1450);
    assert.equal(decoded.groups.module![1]!.points.DCWH, 12340);
    // Second module: 10 registers of ID, L and fixed points, one module of 20; DCW is 11 into a module.
    assert.equal(image[10 + 20 + 11], 1450);
    assert.equal(image[10 + 20 + 12]! * 65536 + image[10 + 20 + 13]!, 1234);
  });
});

/** Offset of a top-level point from the model's ID register. */
function offsetIn(group: GroupDef, name: string): number {
  let at = 0;
  for (const p of group.points) {
    if (p.name === name) return at;
    at += p.size;
  }
  throw new Error(`no point ${name}`);
}

describe('repeating groups', () => {
  test('count 0 (legacy): the count comes from L (model 160 with 3 modules, then none)', () => {
    const mppt = getModelDefinition(160)!;
    const modules = [1, 2, 3].map((id) => ({ points: { ID: id, IDStr: `string ${id}`, DCA: 8.5 } }));
    const image = encodeModel(mppt, { points: { DCA_SF: -1, N: 3 }, groups: { module: modules } });
    assert.equal(image[1], 8 + 3 * 20);
    const decoded = decodeModel(mppt, image, { start: 0 });
    assert.deepEqual(
      decoded.groups.module!.map((m) => [m.points.ID, m.points.IDStr, m.points.DCA]),
      [
        [1, 'string 1', 8.5],
        [2, 'string 2', 8.5],
        [3, 'string 3', 8.5],
      ],
    );
    assert.deepEqual(decoded.warnings, []);

    const empty = decodeModel(mppt, encodeModel(mppt, { points: { N: 0 } }), { start: 0 });
    assert.equal(empty.length, 8);
    assert.deepEqual(empty.groups.module, []);
  });

  test('count 0 with an L that is not a whole number of repetitions: as many as fit, and a warning', () => {
    const mppt = getModelDefinition(160)!;
    const image = encodeModel(mppt, { groups: { module: [{}, {}] } });
    const block = [...image, 0, 0, 0, 0, 0];
    block[1] = image[1]! + 5;
    const decoded = decodeModel(mppt, block, { start: 0 });
    assert.equal(decoded.groups.module!.length, 2);
    assert.equal(decoded.warnings.length, 1);
    assert.match(decoded.warnings[0]!, /L = 53 leaves 5 registers after 2 repetitions of module/);
  });

  test('nested groups with count points: 705 with 2 curves x 2 points', () => {
    const vv = getModelDefinition(705)!;
    const image = encodeModel(vv, curves705());
    assert.equal(image[1], 41);
    const decoded = decodeModel(vv, image, { start: 40396 });
    assert.deepEqual(decoded.warnings, []);
    assert.deepEqual(pointsOf(decoded.groups.Crv!), [
      [92, 30, 107, -30],
      [95, 20, 105, -20],
    ]);
  });

  test('a nested count-0 group (705 as a legacy device writes it: Crv count 0, 2 curves x 2 points) decodes', () => {
    const legacy = with705Count('Crv', 0);
    const image = encodeModel(getModelDefinition(705)!, curves705());
    const decoded = decodeModel(legacy, image, { start: 0 });
    assert.deepEqual(decoded.warnings, []);
    // One curve is 10 registers plus its 2 x 2 points: dividing by 10 alone (pysunspec2 #119) would fail.
    assert.equal(decoded.groups.Crv!.length, 2);
    assert.deepEqual(pointsOf(decoded.groups.Crv!), [
      [92, 30, 107, -30],
      [95, 20, 105, -20],
    ]);
  });

  test('a count-0 group nested in a counted group (Pt count 0 under NCrv curves) decodes', () => {
    const legacy = with705Count('Crv.Pt', 0);
    const image = encodeModel(getModelDefinition(705)!, curves705());
    const decoded = decodeModel(legacy, image, { start: 0 });
    assert.deepEqual(decoded.warnings, []);
    assert.deepEqual(pointsOf(decoded.groups.Crv!), [
      [92, 30, 107, -30],
      [95, 20, 105, -20],
    ]);
  });

  test('counts inside a repeating group: 707 curve sets with three nested Pt groups counted by a top-level NPt', () => {
    const trip = getModelDefinition(707)!;
    const pts = (v: number) => [{ points: { V: v, Tms: 1.5 } }, { points: { V: v + 1, Tms: 2 } }];
    const curve = {
      groups: {
        MustTrip: [{ groups: { Pt: pts(50) } }],
        MayTrip: [{ groups: { Pt: pts(60) } }],
        MomCess: [{ groups: { Pt: pts(70) } }],
      },
    };
    const image = encodeModel(trip, { points: { V_SF: 0, Tms_SF: -1 }, groups: { Crv: [curve, curve] } });
    assert.equal(image[1], 7 + 2 * (1 + 3 * (1 + 2 * 3)));
    const decoded = decodeModel(trip, image, { start: 0 });
    assert.equal(decoded.points.NPt, 2);
    assert.equal(decoded.points.NCrvSet, 2);
    assert.equal(decoded.groups.Crv![1]!.groups.MomCess![0]!.groups.Pt![1]!.points.V, 71);
    assert.equal(decoded.groups.Crv![1]!.groups.MomCess![0]!.groups.Pt![0]!.points.Tms, 1.5);
  });
});

describe('length mismatches and truncated blocks', () => {
  test('an L shorter than the definition: a warning, the points past L are null', () => {
    const def = getModelDefinition(103)!;
    const image = encodeModel(def, { points: { St: 4, StVnd: 7, EvtVnd4: 9 } });
    const short = image.slice(0, 50);
    short[1] = 48;
    const decoded = decodeModel(def, short, { start: 40070 });
    assert.equal(decoded.length, 48);
    assert.equal(decoded.points.St, 4);
    assert.equal(decoded.points.EvtVnd4, null);
    assert.deepEqual(decoded.warnings, [
      'model 103 (inverter_three_phase): L = 48 but the definition gives 50; decoded what fits in L',
    ]);
  });

  test('an L longer than the definition: a warning, the definition decoded', () => {
    const def = getModelDefinition(103)!;
    const image = encodeModel(def, { points: { St: 4 } });
    const long = [...image, 0x1111, 0x2222];
    long[1] = 52;
    const decoded = decodeModel(def, long, { start: 40070 });
    assert.equal(decoded.points.St, 4);
    assert.equal(decoded.warnings.length, 1);
    assert.match(decoded.warnings[0]!, /L = 52 but the definition gives 50/);
  });

  test('counts that overrun L: the instances that fit, and a warning naming the needed length', () => {
    const vv = getModelDefinition(705)!;
    const image = encodeModel(vv, curves705());
    const nCrvAt = offsetIn(vv.group, 'NCrv');
    image[nCrvAt] = 3; // claims a third curve that L has no room for
    const decoded = decodeModel(vv, image, { start: 0 });
    assert.equal(decoded.groups.Crv!.length, 2);
    assert.equal(decoded.warnings.length, 1);
    assert.match(decoded.warnings[0]!, /L = 41 but the definition and counts give 55/);
  });

  test('a count point read as unimplemented: no instances and a warning', () => {
    const vv = getModelDefinition(705)!;
    const image = encodeModel(vv, curves705());
    image[offsetIn(vv.group, 'NPt')] = 0xffff;
    const decoded = decodeModel(vv, image, { start: 0 });
    assert.equal(decoded.points.NPt, null);
    assert.deepEqual(
      decoded.groups.Crv!.map((c) => c.groups.Pt!.length),
      [0, 0],
    );
    assert.ok(decoded.warnings.some((w) => /NPt is unimplemented/.test(w)));
  });

  test('a block shorter than L + 2 is GW_ERR_DEVICE_PROTOCOL with a clear message', () => {
    const def = getModelDefinition(1)!;
    const image = encodeModel(def, { points: { Mn: 'Acme' } });
    assert.throws(
      () => decodeModel(def, image.subarray(0, 40), { start: 40002 }),
      (error: unknown) =>
        protocolError(error) &&
        /model 1 at 40002: L = 66 needs 68 registers, the block holds only 40/.test((error as Error).message),
    );
    assert.throws(() => decodeModel(def, [1], { start: 0 }), protocolError);
    assert.throws(() => decodeModel(def, [], { start: 0 }), protocolError);
  });

  test('a block of another model is GW_ERR_DEVICE_PROTOCOL', () => {
    const image = encodeModel(getModelDefinition(101)!, {});
    assert.throws(
      () => decodeModel(getModelDefinition(103)!, image, { start: 40070 }),
      (error: unknown) =>
        protocolError(error) && /starts with model id 101, expected 103/.test((error as Error).message),
    );
  });

  test('a block longer than the model (the next model follows) decodes the model only', () => {
    const def = getModelDefinition(1)!;
    const image = encodeModel(def, { points: { Mn: 'Acme', SN: 'X1' } });
    const next = encodeModel(getModelDefinition(103)!, {});
    const decoded = decodeModel(def, Uint16Array.from([...image, ...next]), { start: 40002 });
    assert.equal(decoded.length, 66);
    assert.equal(decoded.points.Mn, 'Acme');
    assert.deepEqual(decoded.warnings, []);
  });
});

function curves705() {
  const curve = (points: Array<[number, number]>) => ({
    points: { ActPt: points.length },
    groups: { Pt: points.map(([V, Var]) => ({ points: { V, Var } })) },
  });
  return {
    points: { V_SF: 0, DeptRef_SF: 0, RspTms_SF: 0 },
    groups: {
      Crv: [
        curve([
          [92, 30],
          [107, -30],
        ]),
        curve([
          [95, 20],
          [105, -20],
        ]),
      ],
    },
  };
}

function pointsOf(curves: ReadonlyArray<{ groups: Record<string, Array<{ points: Record<string, unknown> }>> }>) {
  return curves.map((c) => c.groups.Pt!.flatMap((p) => [p.points.V, p.points.Var]));
}

/** A copy of the 705 definition with the count of one group (path 'Crv' or 'Crv.Pt') replaced. */
function with705Count(path: string, count: number): ModelDef {
  const copy = structuredClone(getModelDefinition(705)!);
  let group: GroupDef = copy.group;
  for (const name of path.split('.')) group = group.groups!.find((g) => g.name === name)!;
  group.count = count;
  return copy;
}
