import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { emitSep, parseSep } from '../../src/codec/index.ts';
import type { SepDocument } from '../../src/resources/types.ts';
import { SAMPLES_DIR, type SchemaName, validateXmlBatch, xsdSkipReason } from '../helpers/xsd.ts';

/**
 * Every sample message of specs/ieee2030_5/samples (Annex C examples, real utility captures, request bodies
 * captured from the EPRI client and open-dynamic-export) goes through the parser, and the emitter writes
 * back documents that validate.
 */

interface Sample {
  label: string;
  xml: string;
}

function collectSamples(): Sample[] {
  const samples: Sample[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.xml'))
        samples.push({ label: relative(SAMPLES_DIR, path), xml: readFileSync(path, 'utf8') });
      else if (name.endsWith('.jsonl')) {
        const lines = readFileSync(path, 'utf8').split('\n');
        lines.forEach((line, i) => {
          if (line.trim() === '') return;
          const entry = JSON.parse(line) as { m?: string; url?: string; body?: string };
          if (typeof entry.body === 'string' && entry.body.trim() !== '') {
            samples.push({ label: `${relative(SAMPLES_DIR, path)}:${i + 1} ${entry.m} ${entry.url}`, xml: entry.body });
          }
        });
      }
    }
  };
  walk(SAMPLES_DIR);
  return samples;
}

/**
 * Samples the parser must refuse, by design:
 * - open-dynamic-export's DERStatus bodies carry `-Infinity` in operationalModeStatus/value (a UInt8);
 * - the getEdev_csipaus.xml mock has an LFDI with a non-hex character ("...894ale42...").
 */
function expectedFailure(sample: Sample): { code: string; path: string } | undefined {
  if (sample.xml.includes('<value>-Infinity</value>')) {
    return { code: 'GW_ERR_VALIDATION', path: 'DERStatus/operationalModeStatus/value' };
  }
  if (sample.label === join('open-dynamic-export', 'getEdev_csipaus.xml')) {
    return { code: 'GW_ERR_VALIDATION', path: 'EndDeviceList/EndDevice[0]/lFDI' };
  }
  return undefined;
}

function schemaFor(doc: SepDocument): SchemaName {
  if (doc.csipaus === 'v1.3') return 'csipaus-1.3';
  if (doc.csipaus === 'v1.2') return 'csipaus-1.2';
  return 'sep';
}

const samplesMissing = existsSync(SAMPLES_DIR) ? undefined : `samples not found at ${SAMPLES_DIR}`;

describe('sample messages', { skip: samplesMissing }, () => {
  const samples = samplesMissing === undefined ? collectSamples() : [];

  it('are all found (xml files and captured request bodies)', () => {
    assert.ok(samples.length >= 70, `only ${samples.length} samples`);
    assert.ok(samples.some((s) => s.label.includes('.jsonl')));
  });

  it('every sample parses, except the ones refused by design (with the stated code and path)', () => {
    let parsed = 0;
    for (const sample of samples) {
      const expected = expectedFailure(sample);
      if (expected === undefined) {
        assert.doesNotThrow(() => parseSep(sample.xml), sample.label);
        parsed++;
        continue;
      }
      assert.throws(
        () => parseSep(sample.xml),
        (error: unknown) =>
          GridseamError.is(error) && error.code === expected.code && error.details?.path === expected.path,
        sample.label,
      );
    }
    assert.ok(parsed >= 65, `${parsed} parsed`);
  });

  it('parse -> emit -> parse is stable, and the emitted XML is schema-valid', { skip: xsdSkipReason() }, () => {
    const docs = samples.filter((s) => expectedFailure(s) === undefined).map((s) => ({ s, doc: parseSep(s.xml) }));
    const emitted = docs.map(({ doc }) => emitSep(doc.name, doc.value, { csipaus: doc.csipaus }));
    for (let i = 0; i < docs.length; i++) {
      const entry = docs[i];
      const xml = emitted[i];
      if (entry === undefined || xml === undefined) continue;
      const again = parseSep(xml);
      assert.equal(again.name, entry.doc.name, entry.s.label);
      assert.deepStrictEqual(again.value, entry.doc.value, entry.s.label);
    }
    const bySchema = new Map<SchemaName, number[]>();
    docs.forEach(({ doc }, i) => {
      const schema = schemaFor(doc);
      bySchema.set(schema, [...(bySchema.get(schema) ?? []), i]);
    });
    const failures: string[] = [];
    for (const [schema, indexes] of bySchema) {
      const results = validateXmlBatch(
        indexes.map((i) => emitted[i] ?? ''),
        schema,
      );
      results.forEach((result, k) => {
        const i = indexes[k] ?? 0;
        if (!result.valid) failures.push(`${docs[i]?.s.label} (${schema}): ${result.errors.join(' | ')}`);
      });
    }
    assert.deepEqual(failures, []);
  });

  it('schema-valid samples round-trip: emit(parse(x)) validates and parses back deep-equal', {
    skip: xsdSkipReason(),
  }, () => {
    const docs = samples.filter((s) => expectedFailure(s) === undefined).map((s) => ({ s, doc: parseSep(s.xml) }));
    const originals = docs.map(({ s, doc }) => ({ xml: s.xml, schema: schemaFor(doc) }));
    let validOriginals = 0;
    for (const schema of ['sep', 'csipaus-1.2', 'csipaus-1.3'] as const) {
      const idx = originals.flatMap((o, i) => (o.schema === schema ? [i] : []));
      const results = validateXmlBatch(
        idx.map((i) => originals[i]?.xml ?? ''),
        schema,
      );
      results.forEach((result, k) => {
        if (!result.valid) return;
        validOriginals++;
        const entry = docs[idx[k] ?? 0];
        if (entry === undefined) return;
        const xml = emitSep(entry.doc.name, entry.doc.value, { csipaus: entry.doc.csipaus });
        assert.deepStrictEqual(parseSep(xml).value, entry.doc.value, entry.s.label);
      });
    }
    assert.ok(validOriginals >= 40, `${validOriginals} schema-valid originals`);
  });

  it('reads the real-peer deviations the samples contain', () => {
    const find = (suffix: string): Sample => {
      const found = samples.find((s) => s.label.endsWith(suffix));
      assert.ok(found, suffix);
      return found;
    };
    // EndDevice with csipaus:ConnectionPointLink first (wrong order) from a real server.
    const edev = parseSep(find('getEdev_csipaus_edev1.xml').xml, { expect: 'EndDevice' });
    assert.ok(edev.value.ConnectionPointLink?.href);
    // DefaultDERControl with opModEnergize after the csipaus elements.
    const dderc = parseSep(find('getDerp_TESTPROG3_dderc.xml').xml, { expect: 'DefaultDERControl' });
    assert.equal(typeof dderc.value.DERControlBase.opModEnergize, 'boolean');
    // EPRI client bodies in the pre-publication namespace, with 2.0.4 element names (rtgW -> rtgMaxW).
    const cap = parseSep(find(join('epri-client-settings', 'DERCapability.xml')).xml, { expect: 'DERCapability' });
    assert.equal(cap.namespace, 'http://ieee.org/2030.5');
    assert.deepEqual(cap.value.rtgMaxW, { multiplier: 0, value: 2000 });
    assert.equal(cap.value.modesSupported, '01fffd');
    // CSIP-AUS ConnectionPoint PUT by open-dynamic-export.
    const cp = samples.find((s) => s.xml.includes('csipaus:ConnectionPoint'));
    assert.ok(cp);
    const parsedCp = parseSep(cp.xml, { expect: 'ConnectionPoint' });
    assert.equal(parsedCp.namespace, 'https://csipaus.org/ns');
    assert.equal(parsedCp.csipaus, 'v1.2');
    assert.match(parsedCp.value.connectionPointId, /^\d+$/);
  });
});
