import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { emitSep, parseSep } from '../../src/codec/index.ts';
import type { DERControl, ResourceName } from '../../src/resources/types.ts';

const NS = 'xmlns="urn:ieee:std:2030.5:ns"';

/** Asserts that parsing fails with `code`, and (when given) that details.path equals `path`. */
function assertRejects(xml: string | Uint8Array, code: string, path?: string, expect?: ResourceName): void {
  assert.throws(
    () => parseSep(xml, expect === undefined ? {} : { expect }),
    (error: unknown) => {
      assert.ok(GridseamError.is(error), `not a GridseamError: ${String(error)}`);
      assert.equal(error.code, code, error.message);
      if (path !== undefined) {
        assert.equal(error.details?.path, path, error.message);
        assert.ok(error.message.startsWith(`${path}:`), error.message);
      }
      return true;
    },
  );
}

const control: DERControl = {
  href: '/derp/1/derc/7',
  replyTo: '/rsps/1/rsp',
  responseRequired: '03',
  subscribable: 0,
  mRID: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  description: 'Export limit',
  creationTime: 1_700_000_000,
  EventStatus: { currentStatus: 1, dateTime: 1_700_000_000, potentiallySuperseded: false },
  interval: { start: 1_700_000_100, duration: 3600 },
  randomizeStart: -30,
  DERControlBase: {
    opModConnect: true,
    opModExpLimW: { multiplier: 3, value: 5 },
    opModImpLimW: { multiplier: 0, value: 1500 },
    rampTms: 100,
  },
};

function derControlXml(body: string, rootAttrs = `${NS} xmlns:csipaus="https://csipaus.org/ns"`): string {
  return `<DERControl ${rootAttrs} href="/derp/1/derc/7">${body}</DERControl>`;
}

const STATUS =
  '<EventStatus><currentStatus>1</currentStatus><dateTime>5</dateTime><potentiallySuperseded>false</potentiallySuperseded></EventStatus>';
const INTERVAL = '<interval><duration>60</duration><start>10</start></interval>';
const MINIMAL_BODY = `<mRID>aa</mRID><creationTime>1</creationTime>${STATUS}${INTERVAL}`;

function derControlWithBase(base: string): string {
  return derControlXml(`${MINIMAL_BODY}<DERControlBase>${base}</DERControlBase>`);
}

describe('parseSep: lenient where real peers deviate', () => {
  it('accepts elements in any order and csipaus elements anywhere', () => {
    const shuffled = derControlXml(
      `<DERControlBase><csipaus:opModExpLimW><value>5</value><multiplier>3</multiplier></csipaus:opModExpLimW>` +
        `<rampTms>100</rampTms><csipaus:opModImpLimW><multiplier>0</multiplier><value>1500</value></csipaus:opModImpLimW>` +
        `<opModConnect>true</opModConnect></DERControlBase>` +
        `<randomizeStart>-30</randomizeStart><interval><start>1700000100</start><duration>3600</duration></interval>` +
        `<EventStatus><potentiallySuperseded>false</potentiallySuperseded><dateTime>1700000000</dateTime><currentStatus>1</currentStatus></EventStatus>` +
        `<creationTime>1700000000</creationTime><description>Export limit</description><mRID>A1B2C3D4E5F60718293A4B5C6D7E8F90</mRID>`,
      `${NS} xmlns:csipaus="https://csipaus.org/ns" responseRequired="03" subscribable="0" replyTo="/rsps/1/rsp"`,
    );
    const parsed = parseSep(shuffled, { expect: 'DERControl' });
    assert.deepStrictEqual(parsed.value, control);
    assert.equal(parsed.namespace, 'urn:ieee:std:2030.5:ns');
    assert.equal(parsed.csipaus, 'v1.2');
    // And the emitter puts it back in schema order.
    assert.deepStrictEqual(parseSep(emitSep('DERControl', parsed.value)).value, control);
  });

  it('normalises hex to lower case and pads an odd digit count', () => {
    const xml = `<DERCapability ${NS}><modesSupported>1FFFD</modesSupported><rtgMaxW><multiplier>0</multiplier><value>5000</value></rtgMaxW><type>4</type></DERCapability>`;
    assert.equal(parseSep(xml, { expect: 'DERCapability' }).value.modesSupported, '01fffd');
  });

  it('accepts the upper-case LFDI element name a real server sends, and upper-case hex in it', () => {
    const xml = `<EndDevice ${NS} href="/edev/1"><LFDI>9DFDD56F6128CDC894A1E42C698CAB197184ABE9</LFDI><sFDI>42</sFDI><changedTime>0</changedTime></EndDevice>`;
    const parsed = parseSep(xml, { expect: 'EndDevice' });
    assert.equal(parsed.value.lFDI, '9dfdd56f6128cdc894a1e42c698cab197184abe9');
    assert.equal(parsed.value.sFDI, 42);
  });

  it('ignores unknown elements (even nested ones) and unknown attributes', () => {
    const xml = `<Time ${NS} href="/tm" pollRate="300" vendor:x="1" xmlns:vendor="urn:x" extra="y"><currentTime>100</currentTime><dstEndTime>0</dstEndTime><dstOffset>3600</dstOffset><dstStartTime>0</dstStartTime><vendor:thing><deep><deeper>1</deeper></deep></vendor:thing><quality>7</quality><tzOffset>36000</tzOffset><unknown>x</unknown></Time>`;
    assert.deepStrictEqual(parseSep(xml, { expect: 'Time' }).value, {
      href: '/tm',
      pollRate: 300,
      currentTime: 100,
      dstEndTime: 0,
      dstOffset: 3600,
      dstStartTime: 0,
      quality: 7,
      tzOffset: 36000,
    });
  });

  it('accepts the legacy http://ieee.org/2030.5 namespace, no namespace, and a prefixed root', () => {
    const body =
      '<createdDateTime>1</createdDateTime><endDeviceLFDI>ab</endDeviceLFDI><status>1</status><subject>cd</subject>';
    const legacy = parseSep(`<DERControlResponse xmlns="http://ieee.org/2030.5">${body}</DERControlResponse>`);
    assert.equal(legacy.name, 'DERControlResponse');
    assert.equal(legacy.namespace, 'http://ieee.org/2030.5');
    const none = parseSep(`<Response>${body}</Response>`, { expect: ['Response', 'DERControlResponse'] });
    assert.equal(none.namespace, '');
    assert.deepStrictEqual(none.value, { createdDateTime: 1, endDeviceLFDI: 'ab', status: 1, subject: 'cd' });
    const prefixed = parseSep(
      `<sep:Response xmlns:sep="urn:ieee:std:2030.5:ns">${body.replace(/<(\/?)(\w+)>/g, '<$1sep:$2>')}</sep:Response>`,
    );
    assert.equal(prefixed.namespace, 'urn:ieee:std:2030.5:ns');
    assert.deepStrictEqual(prefixed.value, none.value);
  });

  it('reads bytes with a BOM and an XML declaration, 1/0 booleans, padded numbers, entities and CDATA', () => {
    const xml = `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<DERControlList ${NS} all="1" results="1">\n  <DERControl>\n    <mRID>aa</mRID><description>A &amp; B &#x3C;&#60;<![CDATA[&raw]]></description><creationTime> 1 </creationTime>${STATUS.replace('false', '1')}${INTERVAL}<DERControlBase><opModEnergize>0</opModEnergize></DERControlBase>\n  </DERControl>\n</DERControlList>`;
    const parsed = parseSep(new TextEncoder().encode(xml), { expect: 'DERControlList' });
    const item = parsed.value.DERControl[0];
    assert.ok(item);
    assert.equal(item.description, 'A & B <<&raw');
    assert.equal(item.creationTime, 1);
    assert.equal(item.EventStatus.potentiallySuperseded, true);
    assert.equal(item.DERControlBase.opModEnergize, false);
  });

  it('gives list resources an empty item array when there are no items', () => {
    const parsed = parseSep(`<DERControlList ${NS} all="0" results="0" href="/derp/1/derc"/>`, {
      expect: 'DERControlList',
    });
    assert.deepStrictEqual(parsed.value, { href: '/derp/1/derc', all: 0, results: 0, DERControl: [] });
  });

  it('reads a Notification resource typed by xsi:type (with or without prefix)', () => {
    for (const xsiType of ['DERControlList', 'sep:DERControlList']) {
      const xml = `<Notification ${NS} xmlns:sep="urn:ieee:std:2030.5:ns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><subscribedResource>/derp/1/derc</subscribedResource><Resource xsi:type="${xsiType}" all="1" results="1"><DERControl>${MINIMAL_BODY}<DERControlBase/></DERControl></Resource><status>0</status><subscriptionURI>/edev/1/sub/1</subscriptionURI></Notification>`;
      const parsed = parseSep(xml, { expect: 'Notification' });
      const resource = parsed.value.Resource;
      assert.ok(resource);
      assert.equal(resource.type, 'DERControlList');
      if (resource.type === 'DERControlList') assert.equal(resource.value.DERControl.length, 1);
    }
  });
});

describe('parseSep: strict where it matters', () => {
  it('refuses a DOCTYPE with an internal entity, billion laughs and external entities (GW_ERR_HOSTILE_INPUT)', () => {
    assertRejects(
      `<!DOCTYPE Time [<!ENTITY x "1">]><Time ${NS}><currentTime>&x;</currentTime></Time>`,
      'GW_ERR_HOSTILE_INPUT',
    );
    const laughs = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ...Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
      ']>',
      `<Registration ${NS}><dateTimeRegistered>1</dateTimeRegistered><pIN>&lol9;</pIN></Registration>`,
    ].join('\n');
    assertRejects(laughs, 'GW_ERR_HOSTILE_INPUT');
    assertRejects(
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Response ${NS}><subject>&xxe;</subject></Response>`,
      'GW_ERR_HOSTILE_INPUT',
    );
    assertRejects(`<!doctype Time SYSTEM "http://example.invalid/x.dtd"><Time ${NS}/>`, 'GW_ERR_HOSTILE_INPUT');
  });

  it('refuses processing instructions other than the XML declaration, and __proto__ elements', () => {
    assertRejects(`<?xml-stylesheet href="x.xsl"?><Time ${NS}/>`, 'GW_ERR_HOSTILE_INPUT');
    assertRejects(`<?xml version="1.0"?><Time ${NS}><?php echo 1; ?></Time>`, 'GW_ERR_HOSTILE_INPUT');
    assertRejects(`<Time ${NS}><__proto__><polluted>1</polluted></__proto__></Time>`, 'GW_ERR_HOSTILE_INPUT');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses oversized bodies (GW_ERR_BODY_TOO_LARGE), string or bytes, default 1 MiB', () => {
    const big = `<DERControlList ${NS} all="0" results="0">${' '.repeat(1024 * 1024)}</DERControlList>`;
    assertRejects(big, 'GW_ERR_BODY_TOO_LARGE');
    assertRejects(new TextEncoder().encode(big), 'GW_ERR_BODY_TOO_LARGE');
    assert.throws(
      () => parseSep(`<DERControlList ${NS} all="0" results="0"/>`, { maxBytes: 20 }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_BODY_TOO_LARGE' && e.statusCode === 413,
    );
    // Multi-byte characters count as bytes.
    const euro = `<Response ${NS}><endDeviceLFDI>ab</endDeviceLFDI><subject>cd</subject></Response><!--${'€'.repeat(40)}-->`;
    assert.throws(
      () => parseSep(euro, { maxBytes: 150 }),
      (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_BODY_TOO_LARGE',
    );
  });

  it('refuses XML that is not well formed or not UTF-8 (GW_ERR_MALFORMED)', () => {
    const full = emitSep('DERControl', control);
    assertRejects(full.slice(0, full.length - 20), 'GW_ERR_MALFORMED');
    assertRejects('', 'GW_ERR_MALFORMED');
    assertRejects('not xml at all', 'GW_ERR_MALFORMED');
    assertRejects(`<Time ${NS}><currentTime>1</Time>`, 'GW_ERR_MALFORMED');
    assertRejects(`<Time ${NS}/><Time ${NS}/>`, 'GW_ERR_MALFORMED');
    assertRejects(`<Time ${NS}/><Response ${NS}/>`, 'GW_ERR_MALFORMED');
    assertRejects(`<Time ${NS} a="1" a="2"/>`, 'GW_ERR_MALFORMED');
    assertRejects(new Uint8Array([0x3c, 0x54, 0xff, 0xfe, 0x3e]), 'GW_ERR_MALFORMED');
    assertRejects(
      `<Response ${NS}><endDeviceLFDI>ab</endDeviceLFDI><subject>cd</subject><x>\u0000</x></Response>`,
      'GW_ERR_MALFORMED',
    );
    assertRejects(
      `<Response ${NS}><endDeviceLFDI>ab</endDeviceLFDI><subject>&#0;</subject></Response>`,
      'GW_ERR_MALFORMED',
    );
    assertRejects(`${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}`, 'GW_ERR_MALFORMED');
    // An entity that is not one of the five predefined ones (no DTD can define it).
    assertRejects(
      `<Response ${NS}><endDeviceLFDI>ab</endDeviceLFDI><subject>&foo;</subject></Response>`,
      'GW_ERR_MALFORMED',
      'Response/subject',
    );
    assertRejects(
      `<Response ${NS} href="/a&b"><endDeviceLFDI>ab</endDeviceLFDI><subject>cd</subject></Response>`,
      'GW_ERR_MALFORMED',
    );
  });

  it('refuses non-numeric integers: -Infinity, NaN, Infinity, 1e400, decimals, text, empty (GW_ERR_VALIDATION with path)', () => {
    for (const bad of ['-Infinity', 'NaN', 'Infinity', '1e400', '1e3', '12.5', 'ten', '', '0x10', '1 2']) {
      assertRejects(
        derControlWithBase(
          `<csipaus:opModExpLimW><multiplier>0</multiplier><value>${bad}</value></csipaus:opModExpLimW>`,
        ),
        'GW_ERR_VALIDATION',
        'DERControl/DERControlBase/opModExpLimW/value',
      );
    }
  });

  it('refuses integers outside their XSD type (UInt8, Int16, UInt32, Int64, Int8)', () => {
    assertRejects(
      `<DERStatus ${NS}><operationalModeStatus><dateTime>1</dateTime><value>256</value></operationalModeStatus><readingTime>1</readingTime></DERStatus>`,
      'GW_ERR_VALIDATION',
      'DERStatus/operationalModeStatus/value',
    );
    assertRejects(
      derControlWithBase('<opModTargetW><multiplier>0</multiplier><value>32768</value></opModTargetW>'),
      'GW_ERR_VALIDATION',
      'DERControl/DERControlBase/opModTargetW/value',
    );
    assertRejects(
      derControlWithBase('<opModTargetW><multiplier>-129</multiplier><value>1</value></opModTargetW>'),
      'GW_ERR_VALIDATION',
      'DERControl/DERControlBase/opModTargetW/multiplier',
    );
    assertRejects(
      derControlXml(`${MINIMAL_BODY.replace('<duration>60</duration>', '<duration>-1</duration>')}<DERControlBase/>`),
      'GW_ERR_VALIDATION',
      'DERControl/interval/duration',
    );
    assertRejects(
      derControlXml(
        MINIMAL_BODY.replace('<creationTime>1</creationTime>', '<creationTime>99999999999999999999</creationTime>') +
          '<DERControlBase/>',
      ),
      'GW_ERR_VALIDATION',
      'DERControl/creationTime',
    );
    assertRejects(`<Time ${NS} pollRate="-5"/>`, 'GW_ERR_VALIDATION', 'Time/@pollRate');
    // Inside the range: accepted, including the extremes and a leading plus.
    const ok = parseSep(
      derControlWithBase('<opModTargetW><multiplier>+3</multiplier><value>-32768</value></opModTargetW>'),
      {
        expect: 'DERControl',
      },
    );
    assert.deepEqual(ok.value.DERControlBase.opModTargetW, { multiplier: 3, value: -32768 });
  });

  it('refuses booleans other than true/false/1/0, non-hex and too-long hex, too-long strings', () => {
    assertRejects(
      derControlWithBase('<opModConnect>yes</opModConnect>'),
      'GW_ERR_VALIDATION',
      'DERControl/DERControlBase/opModConnect',
    );
    assertRejects(
      derControlWithBase('<opModConnect>TRUE</opModConnect>'),
      'GW_ERR_VALIDATION',
      'DERControl/DERControlBase/opModConnect',
    );
    assertRejects(
      derControlXml(`${MINIMAL_BODY.replace('<mRID>aa</mRID>', '<mRID>0xaa</mRID>')}<DERControlBase/>`),
      'GW_ERR_VALIDATION',
      'DERControl/mRID',
    );
    assertRejects(
      derControlXml(`${MINIMAL_BODY.replace('<mRID>aa</mRID>', `<mRID>${'ab'.repeat(17)}</mRID>`)}<DERControlBase/>`),
      'GW_ERR_VALIDATION',
      'DERControl/mRID',
    );
    assertRejects(
      derControlXml(`${MINIMAL_BODY}<DERControlBase/>`, `${NS} responseRequired="0g"`),
      'GW_ERR_VALIDATION',
      'DERControl/@responseRequired',
    );
    assertRejects(
      derControlXml(
        `${MINIMAL_BODY.replace('<mRID>aa</mRID>', `<mRID>aa</mRID><description>${'x'.repeat(33)}</description>`)}<DERControlBase/>`,
      ),
      'GW_ERR_VALIDATION',
      'DERControl/description',
    );
  });

  it('refuses a wrong root (vs expect), an unknown root, an unknown namespace', () => {
    const xml = emitSep('DERControl', control);
    assertRejects(xml, 'GW_ERR_VALIDATION', undefined, 'DERControlList');
    assert.throws(
      () => parseSep(xml, { expect: ['EndDevice', 'DERProgram'] }),
      /expected <EndDevice or DERProgram>, got <DERControl>/,
    );
    assertRejects(`<FlowReservationRequest ${NS}/>`, 'GW_ERR_VALIDATION');
    assertRejects(`<Time xmlns="urn:other"><currentTime>1</currentTime></Time>`, 'GW_ERR_VALIDATION');
  });

  it('refuses missing required fields, repeated single fields, and too many repeats', () => {
    assertRejects(derControlXml(MINIMAL_BODY), 'GW_ERR_VALIDATION', 'DERControl/DERControlBase');
    assertRejects(`<DERControlList ${NS} results="0"/>`, 'GW_ERR_VALIDATION', 'DERControlList/@all');
    assertRejects(
      derControlXml(`${MINIMAL_BODY}<creationTime>2</creationTime><DERControlBase/>`),
      'GW_ERR_VALIDATION',
      'DERControl/creationTime',
    );
    assertRejects(
      `<EndDevice ${NS}><lFDI>ab</lFDI><LFDI>ab</LFDI><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>`,
      'GW_ERR_VALIDATION',
      'EndDevice/lFDI',
    );
    const point = '<CurveData><xvalue>1</xvalue><yvalue>2</yvalue></CurveData>';
    assertRejects(
      `<DERCurve ${NS}><mRID>aa</mRID><creationTime>1</creationTime>${point.repeat(11)}<curveType>0</curveType><xMultiplier>0</xMultiplier><yMultiplier>0</yMultiplier><yRefType>0</yRefType></DERCurve>`,
      'GW_ERR_VALIDATION',
      'DERCurve/CurveData',
    );
    assertRejects(
      `<Notification ${NS}><subscribedResource>/a</subscribedResource><Resource/><status>0</status><subscriptionURI>/s</subscriptionURI></Notification>`,
      'GW_ERR_VALIDATION',
      'Notification/Resource',
    );
    assertRejects(
      `<Notification ${NS} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><subscribedResource>/a</subscribedResource><Resource xsi:type="Bogus"/><status>0</status><subscriptionURI>/s</subscriptionURI></Notification>`,
      'GW_ERR_VALIDATION',
      'Notification/Resource',
    );
  });

  it('names the list item index in the path', () => {
    const item = (lfdi: string) =>
      `<EndDevice><lFDI>${lfdi}</lFDI><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>`;
    assertRejects(
      `<EndDeviceList ${NS} all="2" results="2">${item('ab')}${item('zz')}</EndDeviceList>`,
      'GW_ERR_VALIDATION',
      'EndDeviceList/EndDevice[1]/lFDI',
    );
  });
});
