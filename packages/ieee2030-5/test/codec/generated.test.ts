import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emitSep, parseSep } from '../../src/codec/index.ts';
import { CSIPAUS_EXTENSIONS, ROOT_ELEMENTS } from '../../src/resources/schema.ts';
import type { CsipAusVersion, ResourceName } from '../../src/resources/types.ts';
import { type SchemaName, validateXmlBatch, xsdSkipReason } from '../helpers/xsd.ts';
import { type GenerateOptions, generateResource } from './generate.ts';

const RESOURCE_NAMES = Object.keys(ROOT_ELEMENTS) as ResourceName[];
const skip = xsdSkipReason();

interface Case {
  label: string;
  xml: string;
}

function casesFor(csipaus: CsipAusVersion | 'none'): Case[] {
  const cases: Case[] = [];
  for (const name of RESOURCE_NAMES) {
    if (name === 'ConnectionPoint' && csipaus === 'none') continue;
    for (const minimal of [false, true]) {
      const options: GenerateOptions = { csipaus, minimal };
      const value = generateResource(name, options);
      const xml = emitSep(name, value, { csipaus: csipaus === 'none' ? 'v1.2' : csipaus });
      cases.push({ label: `${name}${minimal ? ' (required fields only)' : ''}`, xml });
    }
  }
  // Notification carrying each kind of resource (xsi:type).
  for (const inner of RESOURCE_NAMES) {
    if (inner === 'ConnectionPoint' && csipaus === 'none') continue;
    const value = generateResource('Notification', { csipaus, notificationResource: inner });
    const xml = emitSep('Notification', value, { csipaus: csipaus === 'none' ? 'v1.2' : csipaus });
    cases.push({ label: `Notification(${inner})`, xml });
  }
  return cases;
}

function assertAllValid(cases: Case[], schema: SchemaName): void {
  const results = validateXmlBatch(
    cases.map((c) => c.xml),
    schema,
  );
  const failures = results.flatMap((r, i) =>
    r.valid ? [] : [`${cases[i]?.label}: ${r.errors.join('\n  ')}\n  ${cases[i]?.xml.slice(0, 600)}`],
  );
  assert.deepEqual(failures, [], `documents failing ${schema}:\n${failures.join('\n')}`);
}

describe('generated instance of every resource (all optional fields, lists of 2)', () => {
  it('plain 2030.5 documents validate against sep.xsd', { skip }, () => {
    const cases = casesFor('none');
    assert.ok(cases.length >= RESOURCE_NAMES.length * 3 - 3);
    for (const c of cases) assert.doesNotMatch(c.xml, /csipaus/, `${c.label} must not mention csipaus`);
    assertAllValid(cases, 'sep');
  });

  it('CSIP-AUS 1.2 documents validate against csipaus-core.xsd', { skip }, () => {
    assertAllValid(casesFor('v1.2'), 'csipaus-1.2');
  });

  it('CSIP-AUS 1.3 documents validate against csipaus-core-v1.3.xsd', { skip }, () => {
    assertAllValid(casesFor('v1.3'), 'csipaus-1.3');
  });

  for (const csipaus of ['none', 'v1.2', 'v1.3'] as const) {
    it(`parse(emit(x)) deep-equals x for every resource (${csipaus})`, () => {
      for (const name of RESOURCE_NAMES) {
        if (name === 'ConnectionPoint' && csipaus === 'none') continue;
        const value = generateResource(name, { csipaus });
        const xml = emitSep(name, value, { csipaus: csipaus === 'none' ? 'v1.2' : csipaus });
        const parsed = parseSep(xml, { expect: name });
        assert.equal(parsed.name, name);
        assert.deepStrictEqual(parsed.value, value, `${name} round trip`);
        if (csipaus === 'none') assert.equal(parsed.csipaus, undefined);
      }
      for (const inner of RESOURCE_NAMES) {
        if (inner === 'ConnectionPoint' && csipaus === 'none') continue;
        const value = generateResource('Notification', { csipaus, notificationResource: inner });
        const xml = emitSep('Notification', value, { csipaus: csipaus === 'none' ? 'v1.2' : csipaus });
        assert.deepStrictEqual(parseSep(xml, { expect: 'Notification' }).value, value, `Notification(${inner})`);
      }
    });
  }

  it('a CSIP-AUS 1.2 emission leaves out the elements only 1.3 defines', () => {
    const value = generateResource('DERControl', { csipaus: 'v1.3' });
    const v12 = emitSep('DERControl', value, { csipaus: 'v1.2' });
    assert.doesNotMatch(v12, /opModStorageTargetW/);
    assert.match(v12, /xmlns:csipaus="https:\/\/csipaus\.org\/ns"/);
    const v13 = emitSep('DERControl', value, { csipaus: 'v1.3' });
    assert.match(v13, /<csipaus:opModStorageTargetW>/);
    assert.match(v13, /xmlns:csipaus="https:\/\/csipaus\.org\/ns\/v1\.3"/);
    // Every extension in the table is reachable from a generated 1.3 instance.
    for (const [typeName, fields] of Object.entries(CSIPAUS_EXTENSIONS)) assert.ok(fields.length > 0, typeName);
  });
});
