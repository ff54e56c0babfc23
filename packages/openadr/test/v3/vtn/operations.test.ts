import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { openapiValidator, operationsFor } from '../../../src/index.ts';
import { queryParamsFor, requestProperties } from '../../../src/v3/vtn/operations.ts';
import { addDuration, eventEndMs } from '../../../src/v3/vtn/timing.ts';
import { VERSIONS } from './support.ts';

/** The VTN's tables agree with the OpenAPI documents it serves. */

type Json = Record<string, unknown>;

function document(version: string): Json {
  return parse(readFileSync(new URL(`../../../spec/${version}/openadr3.yaml`, import.meta.url), 'utf8')) as Json;
}

for (const version of VERSIONS) {
  test(`${version}: every operation of the document is served with the document's scopes`, () => {
    const served = operationsFor(version).map(
      (op) => `${op.method} ${op.path} ${op.operationId} ${(op.scopes ?? []).join(',')}`,
    );
    const declared = openapiValidator(version)
      .operations()
      .map((op) => `${op.method} ${op.path} ${op.operationId} ${op.scopes.join(',')}`);
    assert.deepEqual([...served].sort(), [...declared].sort());
  });

  test(`${version}: list query parameters are the document's`, () => {
    const paths = document(version).paths as Record<string, Record<string, Json>>;
    for (const item of Object.values(paths)) {
      const get = item.get;
      if (get === undefined) continue;
      const parameters = [...((item.parameters as unknown as Json[]) ?? []), ...((get.parameters as Json[]) ?? [])]
        .filter((p) => p.in === 'query')
        .map((p) => String(p.name));
      assert.deepEqual(queryParamsFor(version, String(get.operationId)), parameters, String(get.operationId));
    }
  });

  test(`${version}: kept request properties are the request schemas' properties`, () => {
    const schemas = (document(version).components as Json).schemas as Record<string, Json>;
    const propertiesOf = (name: string): string[] => Object.keys((schemas[name]?.properties as Json) ?? {});
    const metadata = new Set(['id', 'createdDateTime', 'modificationDateTime', 'objectType']);
    const expect = (kind: Parameters<typeof requestProperties>[1], names: string[]) =>
      assert.deepEqual(
        [...requestProperties(version, kind)].sort(),
        [...new Set(names.flatMap(propertiesOf))].filter((p) => !metadata.has(p)).sort(),
        kind,
      );
    if (version === '3.0.1') {
      for (const kind of ['program', 'report', 'event', 'subscription', 'resource'] as const) expect(kind, [kind]);
      assert.deepEqual(
        [...requestProperties(version, 'ven'), 'resources'].sort(),
        propertiesOf('ven')
          .filter((p) => !metadata.has(p))
          .sort(),
      );
    } else {
      expect('program', ['programRequest']);
      expect('report', ['reportRequest']);
      expect('event', ['eventRequest']);
      expect('subscription', ['subscriptionRequest']);
      expect('ven', ['BlVenRequest', 'VenVenRequest']);
      expect('resource', ['BlResourceRequest', 'VenResourceRequest']);
    }
  });
}

test('event timing: durations, "now" starts and cancelled events', () => {
  const start = Date.parse('2030-01-31T00:00:00Z');
  assert.equal(addDuration(start, 'PT1H30M'), start + 90 * 60_000);
  assert.equal(addDuration(start, 'P1W'), start + 7 * 86_400_000);
  assert.equal(new Date(addDuration(start, 'P1M') ?? 0).toISOString(), '2030-03-03T00:00:00.000Z');
  assert.equal(addDuration(start, 'P9999Y'), Number.POSITIVE_INFINITY);
  assert.equal(addDuration(start, '-PT1H'), start - 3_600_000);
  assert.equal(addDuration(start, 'one hour'), undefined);
  const interval = (id: number, extra: Json = {}) => ({ id, payloads: [], ...extra });
  assert.equal(
    eventEndMs({
      intervalPeriod: { start: '2030-01-01T00:00:00Z', duration: 'PT1H' },
      intervals: [interval(0), interval(1), interval(2)],
    }),
    Date.parse('2030-01-01T03:00:00Z'),
  );
  assert.equal(
    eventEndMs({
      intervalPeriod: { start: '2030-01-01T00:00:00Z', duration: 'PT1H' },
      intervals: [interval(0, { intervalPeriod: { start: '2030-01-02T00:00:00Z', duration: 'PT15M' } })],
    }),
    Date.parse('2030-01-02T00:15:00Z'),
  );
  assert.equal(
    eventEndMs({ intervalPeriod: { start: '0001-01-01', duration: 'PT0S' }, intervals: [interval(0)] }),
    Number.NEGATIVE_INFINITY,
  );
  assert.equal(
    eventEndMs({ intervalPeriod: { start: '0001-01-01', duration: 'P9999Y' }, intervals: [interval(0)] }),
    Number.POSITIVE_INFINITY,
  );
  assert.equal(eventEndMs({ intervals: [interval(0)] }), Number.POSITIVE_INFINITY);
});
