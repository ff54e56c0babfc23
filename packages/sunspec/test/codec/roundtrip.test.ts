/**
 * Every model definition in the shipped bundle round-trips: generated values (every point type,
 * repeating groups with 2 instances, counts set) -> encodeModel -> decodeModel -> the same values.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileModel, decodeModel, encodeModel, getModelDefinition, modelIds } from '../../src/codec/index.ts';
import { definitionLength, generateValues } from './helpers.ts';

const ids = modelIds();

describe('every bundled model round-trips through a generated register image', () => {
  test('the bundle holds the 112 definitions of sunspec/models', () => {
    assert.equal(ids.length, 112);
    assert.deepEqual(ids.slice(0, 3), [1, 2, 3]);
    assert.equal(ids.at(-1), 64415);
  });

  for (const id of ids) {
    test(`model ${id}`, () => {
      const def = getModelDefinition(id)!;
      for (const seed of [id, id * 7919 + 1]) {
        const { values, expected } = generateValues(def, seed, 2);
        const image = encodeModel(def, values);
        assert.equal(image[0], id, 'ID register');
        assert.equal(image[1], image.length - 2, 'L = registers after ID and L');

        const decoded = decodeModel(def, image, { start: 40002 });
        assert.deepEqual(decoded.warnings, []);
        assert.equal(decoded.id, id);
        assert.equal(decoded.name, def.group.name);
        assert.equal(decoded.start, 40002);
        assert.equal(decoded.length, image.length - 2);
        assert.deepEqual(
          { points: decoded.points, groups: decoded.groups },
          {
            points: { ...expected.points, ID: id, L: image.length - 2 },
            groups: expected.groups,
          },
        );
        // Re-encoding what was decoded gives the same registers (pad aside, which encodes as 0 both times).
        assert.deepEqual(encodeModel(def, decoded), image);
      }
    });
  }

  test('models without repeating groups encode to the length their definition gives', () => {
    let checked = 0;
    for (const id of ids) {
      const def = getModelDefinition(id)!;
      const expected = definitionLength(def);
      if (expected === undefined) continue;
      checked++;
      const image = encodeModel(def, {});
      assert.equal(image[1], expected, `model ${id}`);
      assert.equal(compileModel(def).staticLength, expected, `model ${id}`);
      const declared = def.group.points.find((p) => p.name === 'L')?.value;
      if (declared !== undefined) assert.equal(declared, expected, `model ${id} declares L = ${declared}`);
    }
    assert.ok(checked >= 50, `${checked} fixed-length models`);
  });

  test('known lengths: 1 = 66, 103 = 50, 701 = 153, 704 = 65, 802 = 62, 705 with 2 curves x 2 points = 41', () => {
    const lengthOf = (id: number) => encodeModel(getModelDefinition(id)!, {})[1];
    assert.equal(lengthOf(1), 66);
    assert.equal(lengthOf(103), 50);
    assert.equal(lengthOf(701), 153);
    assert.equal(lengthOf(704), 65);
    assert.equal(lengthOf(802), 62);
    assert.equal(encodeModel(getModelDefinition(705)!, generateValues(getModelDefinition(705)!, 1, 2).values)[1], 41);
  });
});
