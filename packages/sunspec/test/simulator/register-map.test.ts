import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pointAt } from '../../src/codec/index.ts';
import { getModelDefinition } from '../../src/codec/models.ts';
import { deviceFactory, PROFILE_MODELS, PROFILES } from '../../src/simulator/index.ts';
import { decode, NOON, num, value, writePoint } from './helpers.ts';

describe('register image layout', () => {
  for (const profile of PROFILES) {
    test(`${profile}: SunS at 40000, the model chain, the end marker; every model decodes`, () => {
      const device = deviceFactory(profile).create(1, NOON);
      const map = device.map;
      assert.deepEqual(map.read(40000, 2), new Uint16Array([0x5375, 0x6e53]));
      // Walk the chain the way a scanner does: id and length at each step, to 0xFFFF.
      const chain: number[] = [];
      let address = 40002;
      for (;;) {
        const header = map.read(address, 2);
        assert.ok(header instanceof Uint16Array, `header at ${address}`);
        if (header[0] === 0xffff) {
          assert.equal(header[1], 0, 'end marker length');
          break;
        }
        const id = header[0]!;
        const length = header[1]!;
        chain.push(id);
        const def = getModelDefinition(id);
        assert.ok(def);
        const decoded = decode(map, id);
        assert.equal(decoded.start, address);
        assert.equal(decoded.length, length);
        assert.deepEqual(decoded.warnings, [], `model ${id} decodes without warnings`);
        address += length + 2;
      }
      assert.deepEqual(chain, PROFILE_MODELS[profile]);
      assert.equal(address + 2, 40000 + map.image.length, 'the end marker is the last thing in the map');
      // Past the end: exception 2 (illegal data address).
      assert.deepEqual(map.read(address + 2, 1), { exception: 2 });
      assert.equal(num(map, 1, 'DA'), 1);
      assert.match(String(value(map, 1, 'SN')), /^SIM[A-Z]{2,3}-000001$/);
      assert.equal(value(map, 1, 'Mn'), 'Gridseam');
    });
  }

  test('every slot of the layout sits where the codec finds the point', () => {
    for (const profile of PROFILES) {
      const map = deviceFactory(profile).create(2, NOON).map;
      let checked = 0;
      for (const placement of map.layout.models) {
        const model = decode(map, placement.id);
        for (const slot of map.layout.slots) {
          if (slot.modelId !== placement.id || slot.path === 'ID' || slot.path === 'L') continue;
          const located = pointAt(getModelDefinition(placement.id)!, model, slot.path);
          assert.equal(located.address, slot.address, `${profile} ${placement.id}.${slot.path}`);
          const mine = map.get(slot);
          if (typeof located.value === 'number' && slot.type !== 'pad') {
            assert.ok(mine !== null && Math.abs(mine - located.value) < 1e-9, `${placement.id}.${slot.path} value`);
          }
          checked++;
        }
      }
      assert.ok(checked > 50, `${profile}: ${checked} points checked`);
    }
  });

  test('bases 0 and 50000; reads outside the map get exception 2', () => {
    for (const base of [0, 50000]) {
      const map = deviceFactory('pv-inverter', {}, { base }).create(1, NOON).map;
      assert.deepEqual(map.read(base, 2), new Uint16Array([0x5375, 0x6e53]));
      assert.deepEqual(map.read(base + 2, 2), new Uint16Array([1, 66]));
      assert.equal(decode(map, 704).start, map.layout.model(704).start);
      assert.deepEqual(map.read(40000, 2), { exception: 2 });
    }
    const map = deviceFactory('meter').create(1, NOON).map;
    assert.deepEqual(map.read(39999, 2), { exception: 2 }, 'starts before the base');
    const last = 40000 + map.image.length - 1;
    assert.deepEqual(map.read(last, 2), { exception: 2 }, 'runs past the end');
    assert.deepEqual(map.read(last, 1), new Uint16Array([0]));
    assert.deepEqual(map.read(40000, 126), { exception: 3 }, 'more than 125 registers');
    assert.deepEqual(map.read(40000, 0), { exception: 3 });
  });

  test('quirks: no end marker; zero-filled reads past the end', () => {
    const normal = deviceFactory('meter').create(1, NOON).map;
    const noEnd = deviceFactory('meter', {}, { endMarker: false }).create(1, NOON).map;
    assert.equal(noEnd.image.length, normal.image.length - 2);
    const end = 40000 + noEnd.image.length;
    assert.deepEqual(noEnd.read(end, 2), { exception: 2 }, 'where the end marker would be');
    assert.deepEqual(normal.read(end, 2), new Uint16Array([0xffff, 0]));

    const zeros = deviceFactory('meter', {}, { pastEnd: 'zeros' }).create(1, NOON).map;
    const tail = zeros.read(end, 4);
    assert.deepEqual(tail, new Uint16Array([0xffff, 0, 0, 0]));
    assert.deepEqual(zeros.read(end + 100, 2), new Uint16Array([0, 0]));
    assert.deepEqual(zeros.read(39998, 2), { exception: 2 }, 'before the base is still unmapped');
  });

  test('reads are views of the image: no copy per request', () => {
    const map = deviceFactory('battery').create(1, NOON).map;
    const view = map.read(40002, 68);
    assert.ok(view instanceof Uint16Array);
    assert.equal(view.buffer, map.image.buffer);
  });
});

describe('register writes', () => {
  const pv = () => deviceFactory('pv-inverter').create(1, NOON);

  test('a write to RW points is stored and reads back', () => {
    const device = pv();
    assert.equal(writePoint(device, 704, 'WMaxLimPct', 42.5), undefined);
    assert.equal(num(device.map, 704, 'WMaxLimPct'), 42.5);
    assert.equal(writePoint(device, 704, 'WSet', -1234), undefined);
    assert.equal(num(device.map, 704, 'WSet'), -1234);
    assert.equal(writePoint(device, 123, 'WMaxLimPct', 55.55), undefined, '123 WMaxLimPct has SF -2');
    assert.equal(num(device.map, 123, 'WMaxLimPct'), 55.55);
    assert.equal(writePoint(device, 1, 'DA', 7), undefined);
    assert.equal(num(device.map, 1, 'DA'), 7);
  });

  test('read-only registers answer exception 2 (illegal data address)', () => {
    const device = pv();
    const map = device.map;
    const w = map.point(103, 'W');
    assert.deepEqual(device.write(w.address, new Uint16Array([1]), NOON), { exception: 2 }, 'a measurement');
    const sf = map.point(704, 'WMaxLimPct_SF');
    assert.deepEqual(device.write(sf.address, new Uint16Array([0]), NOON), { exception: 2 }, 'a scale factor');
    const id = map.layout.model(704).start;
    assert.deepEqual(device.write(id, new Uint16Array([704, 65]), NOON), { exception: 2 }, 'ID and L');
    assert.deepEqual(device.write(40000, new Uint16Array([0x5375]), NOON), { exception: 2 }, "the 'SunS' marker");
    const end = 40000 + map.image.length - 2;
    assert.deepEqual(device.write(end, new Uint16Array([0xffff]), NOON), { exception: 2 }, 'the end marker');
    assert.deepEqual(device.write(end + 2, new Uint16Array([1]), NOON), { exception: 2 }, 'past the end');
    // RW then R in one write: rejected as a whole, nothing stored.
    const rem = map.point(704, 'WMaxLimPctRvrtRem');
    const tms = map.point(704, 'WMaxLimPctRvrtTms');
    assert.equal(rem.address, tms.address + 2);
    assert.deepEqual(device.write(tms.address, new Uint16Array([0, 30, 0, 0]), NOON), { exception: 2 });
    assert.equal(num(map, 704, 'WMaxLimPctRvrtTms'), 0);
    // The codec refuses to encode it in the first place.
    assert.throws(() => writePoint(device, 103, 'W', 5), { code: 'GW_ERR_NOT_SUPPORTED' });
  });

  test('out-of-range values answer exception 3 (illegal data value) and store nothing', () => {
    const device = pv();
    const map = device.map;
    const ena = map.point(704, 'WMaxLimPctEna');
    const pct = map.point(704, 'WMaxLimPct');
    assert.equal(pct.address, ena.address + 1);
    assert.deepEqual(device.write(ena.address, new Uint16Array([2]), NOON), { exception: 3 }, 'enum without symbol');
    assert.deepEqual(device.write(pct.address, new Uint16Array([1001]), NOON), { exception: 3 }, '100.1 %');
    assert.deepEqual(device.write(ena.address, new Uint16Array([1, 1500]), NOON), { exception: 3 }, 'atomic');
    assert.equal(num(map, 704, 'WMaxLimPctEna'), 0, 'the valid half of the rejected write is not stored');
    assert.deepEqual(device.write(pct.address, new Uint16Array([0xffff]), NOON), { exception: 3 }, 'unimplemented');
    const wset = map.point(704, 'WSet');
    assert.deepEqual(device.write(wset.address + 1, new Uint16Array([5]), NOON), { exception: 3 }, 'half an int32');
    assert.deepEqual(device.write(wset.address, new Uint16Array([0, 20_000]), NOON), { exception: 3 }, 'above rating');
    const wmax = map.point(702, 'WMax');
    assert.deepEqual(device.write(wmax.address, new Uint16Array([10_001]), NOON), { exception: 3 }, 'WMax > WMaxRtg');
    const pf = map.point(704, 'PFWInj.PF');
    assert.deepEqual(device.write(pf.address, new Uint16Array([1001, 0]), NOON), { exception: 3 }, 'PF > 1');
    assert.equal(device.write(pf.address, new Uint16Array([950, 1]), NOON), undefined, 'PF 0.95, under-excited');
    assert.equal(num(map, 704, 'PFWInj.PF'), 0.95);
    assert.deepEqual(device.write(40002, new Uint16Array(124), NOON), { exception: 3 }, 'more than 123 registers');
  });

  test('a write to an unimplemented RW point is accepted and ignored', () => {
    const device = pv();
    // A PV inverter leaves 702 WChaRteMax (storage) unimplemented.
    assert.equal(value(device.map, 702, 'WChaRteMax'), null);
    const slot = device.map.point(702, 'WChaRteMax');
    assert.equal(device.write(slot.address, new Uint16Array([3000]), NOON), undefined);
    assert.equal(value(device.map, 702, 'WChaRteMax'), null);
  });
});
