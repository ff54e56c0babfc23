/**
 * The `utility.ieee2030_5` config section: defaults, paths relative to the config file, and errors
 * that name the file, the key path and what was expected; a certificate that cannot be read stops
 * the gateway's start with the key that names it.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { startGateway } from '../../src/app.ts';
import { loadConfig, parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';

const FILE = join('/etc', 'gridseam', 'gw.yaml');

function config(section: string, sites = '[{ id: site-1, name: One }, { id: site-2, name: Two }]'): string {
  return `
store: { kind: sqlite, path: ':memory:' }
log: { level: silent }
fleet:
  sites: ${sites}
utility:
  ieee2030_5:
${section
  .trim()
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
`;
}

const BASE = `
dcapUrl: https://utility.example:8443/dcap
certificate: pki/gw.cert.pem
key: pki/gw.key.pem
ca: /abs/ca.pem
`;

function configError(text: string): GridseamError {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    assert.ok(GridseamError.is(error), String(error));
    assert.equal(error.code, 'GW_ERR_CONFIG');
    return error;
  }
  assert.fail('the config was accepted');
}

describe('config utility.ieee2030_5', () => {
  test('defaults, and paths resolved against the config file folder', () => {
    const parsed = parseConfig(config(`${BASE}\nsiteId: site-1`), FILE);
    const section = parsed.utility?.ieee2030_5;
    assert.ok(section);
    assert.equal(section.mode, 'direct');
    assert.equal(section.profile, 'csip-aus');
    assert.equal(section.pen, 0);
    assert.equal(section.minPollSeconds, 5);
    assert.equal(section.failureResponse, 252);
    assert.equal(section.stateNamespace, 'ieee2030-5-client');
    assert.equal(section.certificate, join('/etc', 'gridseam', 'pki', 'gw.cert.pem'));
    assert.equal(section.key, join('/etc', 'gridseam', 'pki', 'gw.key.pem'));
    assert.equal(section.ca, '/abs/ca.pem', 'absolute paths stay');
  });

  test('aggregator mode maps one EndDevice per site', () => {
    const parsed = parseConfig(
      config(`${BASE}
mode: aggregator
profile: csip
responseStatuses: [1, 2, 3, 6, 7]
commsLossFallbackSeconds: 300
endDevices:
  - { lfdi: ${'a'.repeat(40)}, siteId: site-1 }
  - { lfdi: ${'B'.repeat(40)}, siteId: site-2 }`),
      FILE,
    );
    assert.equal(parsed.utility?.ieee2030_5?.endDevices?.length, 2);
    assert.deepEqual(parsed.utility?.ieee2030_5?.responseStatuses, [1, 2, 3, 6, 7]);
  });

  test('errors name the file and the key path', () => {
    const cases: Array<[string, RegExp]> = [
      [BASE, /gw\.yaml: utility\.ieee2030_5 needs siteId in mode direct/],
      [
        `${BASE}\nsiteId: nowhere`,
        /utility\.ieee2030_5\.siteId must name a site in fleet\.sites \(no site 'nowhere'\)/,
      ],
      [`${BASE.replace('https://', 'http://')}\nsiteId: site-1`, /utility\.ieee2030_5\.dcapUrl must match/],
      [`${BASE}\nsiteId: site-1\nbogus: 1`, /utility\.ieee2030_5.*bogus/],
      [`${BASE}\nsiteId: site-1\nmode: relay`, /utility\.ieee2030_5\.mode/],
      [
        `${BASE}\nsiteId: site-1\nprofile: csip\ncsipausVersion: '1.3'`,
        /utility\.ieee2030_5\.csipausVersion only applies/,
      ],
      [
        `${BASE}\nsiteId: site-1\nminPollSeconds: 60\nmaxPollSeconds: 30`,
        /utility\.ieee2030_5\.minPollSeconds must not exceed/,
      ],
      [`${BASE}\nmode: aggregator`, /utility\.ieee2030_5 needs endDevices in mode aggregator/],
      [
        `${BASE}\nmode: aggregator\nendDevices:\n  - { lfdi: ${'a'.repeat(40)}, siteId: site-1 }\n  - { lfdi: ${'c'.repeat(40)}, siteId: site-1 }`,
        /utility\.ieee2030_5\.endDevices\[1\]\.siteId duplicates endDevices\[0\]\.siteId/,
      ],
      [
        `${BASE}\nmode: aggregator\nendDevices:\n  - { lfdi: xyz, siteId: site-1 }`,
        /utility\.ieee2030_5\.endDevices\[0\]\.lfdi/,
      ],
      [
        `${BASE}\nsiteId: site-1\nendDevices:\n  - { lfdi: ${'a'.repeat(40)}, siteId: site-1 }`,
        /endDevices only applies to mode aggregator/,
      ],
      [`${BASE}\nsiteId: site-1\npen: -1`, /utility\.ieee2030_5\.pen/],
    ];
    for (const [section, expected] of cases) {
      const error = configError(config(section));
      assert.match(error.message, expected, section);
      assert.ok(error.message.startsWith(`${FILE}:`), error.message);
    }
  });

  test('a certificate that cannot be read stops the start, naming the key', async () => {
    const parsed = parseConfig(
      `${config(`${BASE}\nsiteId: site-1`)}\napi: { port: 0 }\n`,
      join('/nonexistent-gridseam', 'gw.yaml'),
    );
    await assert.rejects(
      startGateway(parsed, { logger: createLogger({ level: 'silent' }) }),
      (error: unknown) =>
        GridseamError.is(error) &&
        error.code === 'GW_ERR_CONFIG' &&
        /utility\.ieee2030_5\.certificate: cannot read .*gw\.cert\.pem \(no such file\)/.test(error.message),
    );
  });
});

describe('examples/gateway-csip-aus.yaml', () => {
  test('is a valid configuration with the utility section', async () => {
    const file = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'gateway-csip-aus.yaml');
    const { config } = await loadConfig(file);
    const section = config.utility?.ieee2030_5;
    assert.equal(section?.dcapUrl, 'https://127.0.0.1:8443/dcap');
    assert.equal(section?.siteId, 'site-adelaide-01');
    assert.equal(section?.certificate, join(dirname(file), '..', 'data', 'pki', 'clients', 'device-1.cert.pem'));
    assert.equal(config.sunspec?.devices.length, 3);
  });
});
