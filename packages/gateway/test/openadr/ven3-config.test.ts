/**
 * The `utility.openadr3` config section: defaults, errors naming the key path and the expectation
 * (credentials together, sites that exist, a resource is one site or one device, unique resource
 * names, tlsVerify only over https), and a missing secret variable stopping the start with the key
 * that names it, before anything talks to the VTN.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';

const FILE = join('/etc', 'gridseam', 'gw.yaml');

function config(section: string): string {
  return `
store: { kind: sqlite, path: ':memory:' }
api: { port: 0 }
log: { level: silent }
fleet:
  sites: [{ id: site-1, name: One }, { id: site-2, name: Two }]
  devices: []
utility:
  openadr3:
${section
  .trim()
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
`;
}

const BASE = `
vtnUrl: https://vtn.example/openadr3/3.1.0
version: '3.1.0'
venName: gw-1
`;

function problems(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    assert.ok(GridseamError.is(error), String(error));
    assert.equal(error.code, 'GW_ERR_CONFIG');
    return error.issues.map((i) => i.message);
  }
  assert.fail('the config was accepted');
}

describe('config utility.openadr3', () => {
  test('defaults', () => {
    const section = parseConfig(
      config(
        `${BASE}\nclientId: gw\nclientSecretEnv: OADR_SECRET\nprograms: { DOE: { primacy: 10, siteIds: [site-1] } }`,
      ),
      FILE,
    ).utility?.openadr3;
    assert.ok(section);
    assert.equal(section.pollSeconds, 30);
    assert.equal(section.maxBackoffSeconds, 300);
    assert.equal(section.reportIntervalSeconds, 60);
    assert.equal(section.sampleSeconds, 10);
    assert.equal(section.tlsVerify, true);
    assert.deepEqual(section.targets, []);
    assert.deepEqual(section.programs, { DOE: { primacy: 10, siteIds: ['site-1'] } });
    const withCallback = parseConfig(config(`${BASE}\ncallback: {}`), FILE).utility?.openadr3?.callback;
    assert.deepEqual(withCallback, { host: '127.0.0.1', port: 0, maxBodyBytes: 1024 * 1024 });
  });

  test('errors name the key path and what is expected', () => {
    const rows: Array<[string, RegExp]> = [
      [`${BASE}\nclientId: gw`, /utility\.openadr3 needs clientId and clientSecretEnv together/],
      [
        `${BASE}\nprograms: { DOE: { primacy: 10, siteIds: [site-9] } }`,
        /utility\.openadr3\.programs\.DOE\.siteIds\[0\] must name an item of fleet\.sites \(no site 'site-9'\)/,
      ],
      [
        `${BASE}\nprograms: { DOE: { primacy: 10, deviceIds: [bat-9] } }`,
        /programs\.DOE\.deviceIds\[0\] must name an item of fleet\.devices/,
      ],
      [
        `${BASE}\ntargets: [{ target: g1, siteIds: [nope] }]`,
        /utility\.openadr3\.targets\[0\]\.siteIds\[0\] must name an item of fleet\.sites/,
      ],
      [
        `${BASE}\nresources: [{ resourceName: r1, siteId: site-1, deviceId: d1 }]`,
        /resources\[0\] needs exactly one of siteId or deviceId/,
      ],
      [`${BASE}\nresources: [{ resourceName: r1 }]`, /resources\[0\] needs exactly one of siteId or deviceId/],
      [
        `${BASE}\nresources: [{ resourceName: r1, siteId: site-9 }]`,
        /resources\[0\]\.siteId must name a site in fleet\.sites/,
      ],
      [
        `${BASE}\nresources: [{ resourceName: r1, siteId: site-1 }, { resourceName: r1, siteId: site-2 }]`,
        /resources\[1\]\.resourceName duplicates resources\[0\]\.resourceName/,
      ],
      [
        'vtnUrl: http://vtn.example\nversion: 3.1.0\nvenName: gw\ntlsVerify: false',
        /tlsVerify only applies to an https vtnUrl/,
      ],
      ["vtnUrl: ftp://vtn.example\nversion: '3.1.0'\nvenName: gw", /vtnUrl/],
      ["vtnUrl: https://vtn.example\nversion: '3.0.0'\nvenName: gw", /version/],
      [`${BASE}\nprograms: { DOE: { primacy: 300 } }`, /primacy/],
      [
        `${BASE}\nprograms: { DOE: { primacy: 1, simple: { levels: { '2': [{ kind: importLimit, fraction: 2 }] } } } }`,
        /programs\.DOE\.simple/,
      ],
      [`${BASE}\npollSecond: 5`, /pollSecond/],
    ];
    for (const [section, expected] of rows) {
      const messages = problems(config(section));
      assert.ok(
        messages.some((m) => expected.test(m)),
        `${section}\n-> ${messages.join('\n')}`,
      );
    }
  });

  test('a missing secret variable stops the start with the key that names it', async () => {
    const parsed = parseConfig(config(`${BASE}\nclientId: gw\nclientSecretEnv: OADR3_NOT_SET_IN_THIS_TEST`), FILE);
    await assert.rejects(
      startGateway(parsed, { logger: createLogger({ level: 'silent' }), env: {} }),
      (error: unknown) =>
        GridseamError.is(error) &&
        error.code === 'GW_ERR_CONFIG' &&
        /utility\.openadr3\.clientSecretEnv: the environment variable OADR3_NOT_SET_IN_THIS_TEST is not set/.test(
          error.message,
        ),
    );
  });
});
