/** The `sunspec` configuration section: defaults, unit ranges and errors that name the key path. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { parseConfig, parseUnits } from '../../src/config/index.ts';

const SITES =
  'fleet: { sites: [{ id: s1, name: S }], devices: [{ id: taken, siteId: s1, class: meter, adapter: { kind: x, address: y }, capabilities: { controls: [] } }] }';

function configError(text: string): string {
  try {
    parseConfig(`${SITES}\n${text}`, 'gw.yaml');
  } catch (error) {
    assert.ok(GridseamError.is(error));
    assert.equal(error.code, 'GW_ERR_CONFIG');
    return error.message;
  }
  assert.fail('expected a configuration error');
}

describe('sunspec configuration', () => {
  test('defaults: port 502, unit 1, poll every 5 s, 64 polls at once, 1 s timeout; the section is optional', () => {
    const config = parseConfig(
      `${SITES}
sunspec:
  devices: [{ id: inv-1, siteId: s1, host: 10.0.0.5 }]
  discover: [{ host: 10.0.0.6, units: "1-3", siteId: s1, idPrefix: "b-" }]
`,
      'gw.yaml',
    );
    assert.deepEqual(config.sunspec, {
      devices: [{ id: 'inv-1', siteId: 's1', host: '10.0.0.5', port: 502, unit: 1, pollIntervalMs: 5000 }],
      discover: [{ host: '10.0.0.6', port: 502, units: '1-3', siteId: 's1', idPrefix: 'b-', pollIntervalMs: 5000 }],
      concurrency: 64,
      timeoutMs: 1000,
    });
    assert.equal(parseConfig('', 'empty.yaml').sunspec, undefined, 'no section, no SunSpec devices');
    assert.deepEqual(parseConfig('sunspec: {}', 'bare.yaml').sunspec, {
      devices: [],
      discover: [],
      concurrency: 64,
      timeoutMs: 1000,
    });
  });

  test('unit ranges: "1-10", lists and mixtures', () => {
    assert.deepEqual(parseUnits('1-10'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(parseUnits('3, 1-2 ,7'), [1, 2, 3, 7]);
    assert.deepEqual(parseUnits([5, 1, 3]), [1, 3, 5]);
    assert.throws(() => parseUnits('5-2'), /runs backwards/);
    assert.throws(() => parseUnits('1-300'), /0\.\.255/);
  });

  test('schema errors name the key path', () => {
    assert.match(
      configError('sunspec: { devices: [{ id: d1, siteId: s1, host: h, port: 70000 }] }'),
      /sunspec\.devices\[0\]\.port must be <= 65535/,
    );
    assert.match(
      configError('sunspec: { devices: [{ id: d1, siteId: s1, host: h, unti: 2 }] }'),
      /sunspec\.devices\[0\]\.unti is not an allowed key \(did you mean 'unit'\?\)/,
    );
    assert.match(
      configError('sunspec: { discover: [{ host: h, units: "1-x", siteId: s1, idPrefix: p }] }'),
      /sunspec\.discover\[0\]\.units/,
    );
    assert.match(configError('sunspec: { concurrency: 0 }'), /sunspec\.concurrency must be >= 1/);
  });

  test('cross-field rules: known sites, unique ids (also against fleet.devices), one device per address', () => {
    assert.match(
      configError('sunspec: { devices: [{ id: taken, siteId: s1, host: h }] }'),
      /sunspec\.devices\[0\]\.id duplicates fleet\.devices\[0\]\.id 'taken'/,
    );
    assert.match(
      configError('sunspec: { devices: [{ id: a, siteId: s1, host: h }, { id: a, siteId: s1, host: h, unit: 2 }] }'),
      /sunspec\.devices\[1\]\.id duplicates the device id 'a' of sunspec\.devices\[0\]/,
    );
    assert.match(
      configError('sunspec: { devices: [{ id: a, siteId: s1, host: h }, { id: b, siteId: s1, host: h, port: 502 }] }'),
      /sunspec\.devices\[1\] drives tcp:\/\/h:502\/1 again \(already sunspec\.devices\[0\]\)/,
    );
    assert.match(
      configError(
        'sunspec: { devices: [{ id: p-2, siteId: s1, host: h, unit: 9 }], discover: [{ host: h, units: [2], siteId: s1, idPrefix: p- }] }',
      ),
      /sunspec\.discover\[0\]\.idPrefix duplicates the device id 'p-2' of sunspec\.devices\[0\]/,
    );
    assert.match(
      configError('sunspec: { discover: [{ host: h, units: "1", siteId: s9, idPrefix: p- }] }'),
      /sunspec\.discover\[0\]\.siteId must name a site in fleet\.sites \(no site 's9'\)/,
    );
  });
});
