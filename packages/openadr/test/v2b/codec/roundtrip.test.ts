import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  emitOadr,
  emitOadrItemBase,
  type ItemBase,
  OADR_MESSAGE_TYPES,
  type OadrMessage,
  type OadrMessageType,
  parseOadr,
  parseOadrEnvelope,
  parseOadrItemBase,
} from '../../../src/v2b/codec/index.ts';
import { validateOadrBatch, xsdSkipReason } from '../../helpers/xsd.ts';
import { EXAMPLES, MINIMAL } from './examples.ts';

const ALL: OadrMessage[] = [...Object.values(EXAMPLES), ...MINIMAL];

// Compile-time: OADR_MESSAGE_TYPES names every member of the union.
type Missing = Exclude<OadrMessageType, (typeof OADR_MESSAGE_TYPES)[number]>;
const complete: Missing extends never ? true : false = true;

describe('2.0b codec round trips', () => {
  test('the examples cover every message type', () => {
    assert.equal(complete, true);
    assert.deepEqual(Object.keys(EXAMPLES).sort(), [...OADR_MESSAGE_TYPES].sort());
    assert.equal(OADR_MESSAGE_TYPES.length, 23);
  });

  for (const message of ALL) {
    test(`${message.type} emits and parses back to the same value`, () => {
      const xml = emitOadr(message);
      assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
      assert.match(xml, /<oadr:oadrSignedObject oadr:Id="oadrSignedObject">/);
      assert.match(xml, new RegExp(`<oadr:${message.type} ei:schemaVersion="2.0b"`));
      assert.deepEqual(parseOadr(xml), message);
    });
  }

  test('emitted messages validate against oadr_20b.xsd', (t) => {
    const reason = xsdSkipReason();
    if (reason !== undefined) return t.skip(reason);
    const docs = ALL.map((m) => emitOadr(m));
    const results = validateOadrBatch(docs);
    for (const [i, result] of results.entries()) {
      assert.ok(result.valid, `${ALL[i]?.type}: ${result.errors.join('\n')}`);
    }
    assert.equal(results.length, ALL.length);
  });

  test('parse accepts the expected types and refuses others', () => {
    const xml = emitOadr(EXAMPLES.oadrPoll);
    const poll = parseOadr(xml, { expect: 'oadrPoll' });
    assert.equal(poll.venID, 'VEN_1');
    assert.throws(
      () => parseOadr(xml, { expect: ['oadrResponse', 'oadrDistributeEvent'] }),
      (e: unknown) =>
        e instanceof GridseamError &&
        e.code === 'GW_ERR_VALIDATION' &&
        /expected oadrResponse or oadrDistributeEvent, got oadrPoll/.test(e.message),
    );
  });

  test('the envelope reports signing and the signed object Id', () => {
    const envelope = parseOadrEnvelope(emitOadr(EXAMPLES.oadrPoll, { signedObjectId: 'obj1', xmlDeclaration: false }));
    assert.deepEqual(envelope, { message: EXAMPLES.oadrPoll, signed: false, signedObjectId: 'obj1' });
  });

  test('empty optional lists are left out and wrappers with only empty lists are not written', () => {
    const xml = emitOadr({
      type: 'oadrCreatedEvent',
      eiResponse: { responseCode: 200, requestID: '' },
      eventResponses: [],
      venID: 'V',
    });
    assert.doesNotMatch(xml, /eventResponses/);
    assert.match(xml, /<pyld:requestID><\/pyld:requestID>/);
    assert.deepEqual(parseOadr(xml), {
      type: 'oadrCreatedEvent',
      eiResponse: { responseCode: 200, requestID: '' },
      venID: 'V',
    });
  });

  test('elements follow the xs:sequence order', () => {
    const xml = emitOadr(EXAMPLES.oadrDistributeEvent);
    const order = [
      'ei:eiResponse',
      'pyld:requestID>req-distribute',
      'ei:vtnID',
      'oadr:oadrEvent',
      'ei:eventDescriptor',
      'ei:eiActivePeriod',
      'ei:eiEventSignals',
      'ei:eiEventBaseline',
      'oadr:oadrResponseRequired',
    ];
    let from = 0;
    for (const marker of order) {
      const at = xml.indexOf(`<${marker}`, from);
      assert.ok(at > from, `${marker} after position ${from}`);
      from = at;
    }
  });

  test('durations are emitted as ISO 8601 and times in UTC', () => {
    const xml = emitOadr(EXAMPLES.oadrDistributeEvent);
    assert.match(xml, /<xcal:date-time>2026-11-27T12:00:00Z<\/xcal:date-time>/);
    assert.match(xml, /<xcal:duration>PT2H<\/xcal:duration>/);
    assert.match(xml, /<ei:x-eiNotification><xcal:duration>P1D<\/xcal:duration>/);
    assert.match(xml, /<xcal:startafter>PT5M<\/xcal:startafter>/);
    assert.match(xml, /<ei:vtnComment>comment &amp; &lt;escaped&gt;<\/ei:vtnComment>/);
  });
});

describe('standalone itemBase documents', () => {
  const items: ItemBase[] = [
    { kind: 'currency', itemDescription: 'currency', itemUnits: 'EUR', siScaleCode: 'none' },
    { kind: 'voltage', itemDescription: 'Voltage', itemUnits: 'V', siScaleCode: 'k' },
    {
      kind: 'powerApparent',
      itemDescription: 'ApparentPower',
      itemUnits: 'VA',
      siScaleCode: 'M',
      powerAttributes: { hertz: 60, voltage: 120, ac: false },
    },
    { kind: 'pulseCount', itemDescription: 'pulse count', itemUnits: 'count', pulseFactor: 2.5 },
  ];
  for (const item of items) {
    test(`${item.kind} round trips`, (t) => {
      const xml = emitOadrItemBase(item);
      assert.deepEqual(parseOadrItemBase(xml), item);
      const reason = xsdSkipReason();
      if (reason !== undefined) return t.skip(reason);
      const [result] = validateOadrBatch([xml]);
      assert.ok(result?.valid, result?.errors.join('\n'));
    });
  }

  test('a non-itemBase root is refused', () => {
    assert.throws(() => parseOadrItemBase(emitOadr(EXAMPLES.oadrPoll)), { code: 'GW_ERR_VALIDATION' });
  });
});
