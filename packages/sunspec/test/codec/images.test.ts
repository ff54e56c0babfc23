/**
 * The pysunspec2 test device images (fixtures/pysunspec2, raw point values per model) decode: each
 * model's values are encoded raw into a register image, decoded, and every point the current
 * definition has comes back scaled with the image's own scale factors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { decodeModel, encodeModel, getModelDefinition } from '../../src/codec/index.ts';
import type { DecodedGroup, DecodedModel, GroupDef, GroupValues, PointValue } from '../../src/codec/types.ts';
import { type ImageModel, imageToValues, scaleRaw } from './helpers.ts';

interface DeviceImage {
  models: ImageModel[];
}

function loadImage(name: string): DeviceImage {
  return JSON.parse(readFileSync(new URL(`./fixtures/pysunspec2/${name}`, import.meta.url), 'utf8')) as DeviceImage;
}

/** What decoding must give for raw image values: scaled with the sf of the same (or an enclosing) group. */
function expectedOf(group: GroupDef, values: GroupValues, chain: GroupValues[] = []): DecodedGroup {
  const scope = [...chain, values];
  const points: Record<string, PointValue> = {};
  for (const p of group.points) {
    const raw = values.points?.[p.name];
    if (raw === undefined) continue;
    let value: PointValue = raw;
    if (p.type === 'pad') value = null;
    else if (typeof p.sf === 'string' && typeof raw === 'number') {
      let sf: PointValue | undefined;
      for (let i = scope.length - 1; i >= 0 && sf === undefined; i--) sf = scope[i]!.points?.[p.sf];
      value = typeof sf === 'number' ? scaleRaw(raw, sf) : null;
    }
    points[p.name] = value;
  }
  const groups: Record<string, DecodedGroup[]> = {};
  for (const child of group.groups ?? []) {
    const list = values.groups?.[child.name];
    if (list) groups[child.name] = list.map((inner) => expectedOf(child, inner, scope));
  }
  return { points, groups };
}

/** Keeps only the points and groups present in `expected`, for comparison. */
function pick(decoded: DecodedGroup, expected: DecodedGroup): DecodedGroup {
  const points: Record<string, PointValue> = {};
  for (const name of Object.keys(expected.points)) points[name] = decoded.points[name] ?? null;
  const groups: Record<string, DecodedGroup[]> = {};
  for (const [name, list] of Object.entries(expected.groups)) {
    groups[name] = (decoded.groups[name] ?? []).map((inner, i) => pick(inner, list[i] ?? { points: {}, groups: {} }));
  }
  return { points, groups };
}

function decodeImage(image: DeviceImage): Map<number, { decoded: DecodedModel; ignored: string[]; length: number }> {
  const out = new Map<number, { decoded: DecodedModel; ignored: string[]; length: number }>();
  let address = 40002;
  for (const model of image.models) {
    const id = model.ID as number;
    if (id === 0xffff) continue; // end marker
    const def = getModelDefinition(id);
    assert.ok(def, `model ${id} is in the bundle`);
    const { values, ignored } = imageToValues(def, model);
    const block = encodeModel(def, values, { raw: true });
    const decoded = decodeModel(def, block, { start: address });
    assert.deepEqual(decoded.warnings, [], `model ${id}`);
    const expected = expectedOf(def.group, values);
    // ID and L come from the encoder, not from the image (which often has L null).
    delete expected.points.ID;
    delete expected.points.L;
    assert.deepEqual(pick(decoded, expected), expected, `model ${id}`);
    out.set(id, { decoded, ignored, length: block[1]! });
    address += block.length;
  }
  return out;
}

describe('pysunspec2 device images decode', () => {
  test('inverter_123.json: common model and legacy model 129 with a count-0 repeating group', () => {
    const image = loadImage('inverter_123.json');
    const models = decodeImage(image);
    assert.deepEqual([...models.keys()], [1, 129]);

    const common = models.get(1)!;
    assert.deepEqual(common.ignored, []);
    assert.equal(common.length, 66, 'L as in the image');
    assert.equal(common.decoded.points.Mn, 'Device Manufacturer');
    assert.equal(common.decoded.points.Md, 'Inverter 123');
    assert.equal(common.decoded.points.Vr, 'v0.0.1');
    assert.equal(common.decoded.points.SN, '9999abcd');
    assert.equal(common.decoded.points.Opt, null);
    assert.equal(common.decoded.points.DA, null);
    assert.equal(common.decoded.points.Pad, null);

    const lvrt = models.get(129)!;
    assert.deepEqual(lvrt.ignored, []);
    assert.equal(lvrt.length, 210, 'L = 10 + 4 curves x 50, as in the image');
    const { points, groups } = lvrt.decoded;
    assert.equal(points.NCrv, 4);
    assert.equal(points.V_SF, -1);
    assert.equal(points.Tms_SF, -2);
    assert.equal(points.WinTms, null);
    // count 0: the number of curves is derived from L.
    const curves = groups.curve!;
    assert.equal(curves.length, 4);
    assert.equal(curves[0]!.points.ActPt, 4);
    assert.equal(curves[0]!.points.V1, 88); // raw 880, V_SF -1
    assert.equal(curves[0]!.points.Tms1, 2); // raw 200, Tms_SF -2
    assert.equal(curves[0]!.points.Tms2, 0.71);
    assert.equal(curves[0]!.points.V4, 30);
    assert.equal(curves[0]!.points.V11, null);
    assert.equal(curves[0]!.points.CrvNam, null);
    assert.equal(curves[0]!.points.ReadOnly, 1);
    assert.equal(curves[3]!.points.ActPt, 0);
    assert.equal(curves[3]!.points.V1, 0);
  });

  test('device_1547.json: 1547-era models decode through the points the current definitions share', () => {
    const image = loadImage('device_1547.json');
    const models = decodeImage(image);
    assert.deepEqual([...models.keys()], [1, 701, 702, 703, 704, 705, 706, 707, 708, 709, 710, 711, 712, 713]);

    const common = models.get(1)!.decoded.points;
    assert.equal(common.Mn, 'SunSpecTest');
    assert.equal(common.SN, 'sn-123456789');
    assert.equal(common.DA, 1);

    const ac = models.get(701)!.decoded.points;
    assert.equal(ac.W, 9800);
    assert.equal(ac.A, 41.1);
    assert.equal(ac.Hz, 60.01);
    assert.equal(ac.PF, 0.985);
    assert.equal(ac.LLV, 240);
    assert.equal(ac.TotWhInj, 150000); // acc64, TotWh_SF 3
    assert.equal(ac.TotWhAbs, 0, 'an accumulator 0 is a reading, not absent');
    assert.equal(ac.TmpAmb, 45);
    assert.equal(ac.InvSt, null, 'a point the image lacks is unimplemented');

    // 704: the image predates WMaxLimPct (it has WMaxLim); its sync groups are objects, not arrays.
    const ctl = models.get(704)!;
    assert.ok(ctl.ignored.includes('WMaxLim'));
    assert.equal(ctl.length, 65);
    assert.equal(ctl.decoded.groups.PFWInj![0]!.points.PF, 0.95);
    assert.equal(ctl.decoded.groups.PFWInj![0]!.points.Ext, 1);
    assert.equal(ctl.decoded.groups.PFWAbs![0]!.points.PF, null);

    // 705: nested repeating groups counted by NCrv and NPt.
    const vv = models.get(705)!.decoded;
    assert.equal(vv.points.NCrv, 3);
    assert.equal(vv.points.NPt, 4);
    assert.equal(vv.groups.Crv!.length, 3);
    assert.deepEqual(
      vv.groups.Crv![0]!.groups.Pt!.map((p) => [p.points.V, p.points.Var]),
      [
        [92, 30],
        [96.7, 0],
        [103, 0],
        [107, -30],
      ],
    );
    assert.equal(vv.groups.Crv![2]!.groups.Pt![3]!.points.Var, -20);
    assert.equal(models.get(705)!.length, 13 + 3 * (10 + 4 * 2));

    // 713 in this image is an older DC layout: only its common points survive.
    assert.ok(models.get(713)!.ignored.includes('DCA'));
  });
});
