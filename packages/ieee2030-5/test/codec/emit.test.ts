import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { emitSep, parseSep } from '../../src/codec/index.ts';
import type { DERControl, DERControlList, ResourceName, ResourceTypes } from '../../src/resources/types.ts';

const control: DERControl = {
  DERControlBase: { opModExpLimW: { value: 5, multiplier: 3 }, opModConnect: true, rampTms: 10 },
  interval: { start: 1_700_000_100, duration: 3600 },
  EventStatus: { potentiallySuperseded: false, dateTime: 1_700_000_000, currentStatus: 0 },
  creationTime: 1_700_000_000,
  mRID: 'A1B2C3D4E5F60718293A4B5C6D7E8F90',
  href: '/derp/1/derc/7',
  responseRequired: '03',
  replyTo: '/rsps/1/rsp',
};

/** Emitting `value` must throw GW_ERR_VALIDATION naming `path`. */
function assertEmitRejects<N extends ResourceName>(name: N, value: unknown, path: string): void {
  assert.throws(
    () => emitSep(name, value as ResourceTypes[N]),
    (error: unknown) => {
      assert.ok(GridseamError.is(error), String(error));
      assert.equal(error.code, 'GW_ERR_VALIDATION', error.message);
      assert.equal(error.details?.path, path, error.message);
      return true;
    },
  );
}

describe('emitSep', () => {
  it('writes schema order (base type first), the default namespace, csipaus elements last with the prefix', () => {
    const xml = emitSep('DERControl', control);
    assert.equal(
      xml,
      '<DERControl xmlns="urn:ieee:std:2030.5:ns" xmlns:csipaus="https://csipaus.org/ns" href="/derp/1/derc/7"' +
        ' replyTo="/rsps/1/rsp" responseRequired="03"><mRID>a1b2c3d4e5f60718293a4b5c6d7e8f90</mRID>' +
        '<creationTime>1700000000</creationTime><EventStatus><currentStatus>0</currentStatus>' +
        '<dateTime>1700000000</dateTime><potentiallySuperseded>false</potentiallySuperseded></EventStatus>' +
        '<interval><duration>3600</duration><start>1700000100</start></interval><DERControlBase>' +
        '<opModConnect>true</opModConnect><rampTms>10</rampTms><csipaus:opModExpLimW><multiplier>3</multiplier>' +
        '<value>5</value></csipaus:opModExpLimW></DERControlBase></DERControl>',
    );
  });

  it('declares xmlns:csipaus only when an extension element is written, with the chosen version', () => {
    const plain = { ...control, DERControlBase: { opModConnect: false } };
    assert.doesNotMatch(emitSep('DERControl', plain), /csipaus/);
    assert.match(
      emitSep('DERControl', control, { csipaus: 'v1.3' }),
      /xmlns:csipaus="https:\/\/csipaus\.org\/ns\/v1\.3"/,
    );
    assert.equal(
      emitSep('ConnectionPoint', { connectionPointId: '1234567890' }),
      '<csipaus:ConnectionPoint xmlns:csipaus="https://csipaus.org/ns"><csipaus:connectionPointId>1234567890</csipaus:connectionPointId></csipaus:ConnectionPoint>',
    );
  });

  it('writes list attributes, items in order, self-closing links, and the optional XML declaration', () => {
    const list: DERControlList = { href: '/derp/1/derc', all: 2, results: 1, subscribable: 1, DERControl: [control] };
    const xml = emitSep('DERControlList', list, { xmlDeclaration: true });
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?><DERControlList xmlns="urn:ieee:std:2030.5:ns"'));
    assert.match(xml, /href="\/derp\/1\/derc" subscribable="1" all="2" results="1">/);
    const edev = emitSep('EndDevice', {
      sFDI: 1,
      changedTime: 0,
      DERListLink: { href: '/edev/1/der', all: 1 },
      ConnectionPointLink: { href: '/edev/1/cp' },
    });
    assert.match(
      edev,
      /<DERListLink href="\/edev\/1\/der" all="1"\/><sFDI>1<\/sFDI><changedTime>0<\/changedTime><csipaus:ConnectionPointLink href="\/edev\/1\/cp"\/><\/EndDevice>$/,
    );
  });

  it('escapes text and attribute values so they survive a round trip', () => {
    const value: ResourceTypes['Response'] = {
      href: '/rsp?a=1&b="x"<\t\n>',
      endDeviceLFDI: 'ab',
      subject: 'cd',
    };
    const xml = emitSep('Response', value);
    assert.match(xml, /href="\/rsp\?a=1&amp;b=&quot;x&quot;&lt;&#9;&#10;&gt;"/);
    assert.deepStrictEqual(parseSep(xml).value, value);
    const event = emitSep('DERProgram', { mRID: 'aa', primacy: 1, description: '<b>&"\r' });
    assert.match(event, /<description>&lt;b&gt;&amp;"&#13;<\/description>/);
    assert.equal(parseSep(event, { expect: 'DERProgram' }).value.description, '<b>&"\r');
  });

  it('writes a Notification resource with xsi:type and declares xmlns:xsi', () => {
    const xml = emitSep('Notification', {
      subscribedResource: '/derp/1/derc',
      status: 0,
      subscriptionURI: '/edev/1/sub/1',
      Resource: { type: 'DERControlList', value: { all: 1, results: 1, DERControl: [control] } },
    });
    assert.match(xml, /xmlns:xsi="http:\/\/www\.w3\.org\/2001\/XMLSchema-instance"/);
    assert.match(xml, /<Resource xsi:type="DERControlList" all="1" results="1"><DERControl href=/);
  });

  it('ignores properties the schema does not know, and treats null like absent', () => {
    const extra = { ...control, somethingElse: 1, description: null } as unknown as DERControl;
    assert.equal(emitSep('DERControl', extra), emitSep('DERControl', control));
  });

  it('throws GW_ERR_VALIDATION with the path for values of the wrong type, NaN, Infinity, out of range', () => {
    const withBase = (base: Record<string, unknown>) => ({ ...control, DERControlBase: base });
    const exp = (value: unknown) => withBase({ opModExpLimW: { multiplier: 0, value } });
    const path = 'DERControl/DERControlBase/opModExpLimW/value';
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1.5,
      32768,
      -32769,
      '5',
      5n,
      true,
      {},
    ]) {
      assertEmitRejects('DERControl', exp(bad), path);
    }
    assertEmitRejects('DERControl', withBase({ opModConnect: 'true' }), 'DERControl/DERControlBase/opModConnect');
    assertEmitRejects('DERControl', { ...control, mRID: 'xyz' }, 'DERControl/mRID');
    assertEmitRejects('DERControl', { ...control, mRID: 'abc' }, 'DERControl/mRID');
    assertEmitRejects('DERControl', { ...control, mRID: 'ab'.repeat(17) }, 'DERControl/mRID');
    assertEmitRejects('DERControl', { ...control, responseRequired: 3 }, 'DERControl/@responseRequired');
    assertEmitRejects('DERControl', { ...control, description: 'x'.repeat(33) }, 'DERControl/description');
    assertEmitRejects('DERControl', { ...control, description: 'bell\u0007' }, 'DERControl/description');
    assertEmitRejects('DERControl', { ...control, creationTime: 2 ** 60 }, 'DERControl/creationTime');
    assertEmitRejects('DERControl', { ...control, interval: [control.interval] }, 'DERControl/interval');
    assertEmitRejects('DERControl', { ...control, EventStatus: undefined }, 'DERControl/EventStatus');
    assertEmitRejects('DERControlList', { all: 1, results: 1, DERControl: control }, 'DERControlList/DERControl');
    assertEmitRejects('DERControlList', { all: 1, DERControl: [] }, 'DERControlList/@results');
    assertEmitRejects(
      'DERControlList',
      { all: 2, results: 2, DERControl: [control, { ...control, creationTime: -0.5 }] },
      'DERControlList/DERControl[1]/creationTime',
    );
    assertEmitRejects('DERControl', null, 'DERControl');
    assertEmitRejects(
      'Notification',
      { subscribedResource: '/a', status: 0, subscriptionURI: '/s', Resource: { type: 'Nope', value: {} } },
      'Notification/Resource',
    );
    assert.throws(
      () => emitSep('Nope' as ResourceName, {} as never),
      (e: unknown) => GridseamError.is(e),
    );
    assert.throws(
      () => emitSep('DERControl', control, { csipaus: 'v9' as never }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION',
    );
  });

  it('enforces DERCurve CurveData occurrence bounds (1..10)', () => {
    const curve = {
      mRID: 'aa',
      creationTime: 1,
      curveType: 11,
      xMultiplier: 0,
      yMultiplier: 0,
      yRefType: 0,
      CurveData: [] as Array<{ xvalue: number; yvalue: number }>,
    };
    assertEmitRejects('DERCurve', curve, 'DERCurve/CurveData');
    const points = Array.from({ length: 11 }, (_, i) => ({ xvalue: i, yvalue: i }));
    assertEmitRejects('DERCurve', { ...curve, CurveData: points }, 'DERCurve/CurveData');
    assert.doesNotThrow(() => emitSep('DERCurve', { ...curve, CurveData: points.slice(0, 10) }));
  });
});
