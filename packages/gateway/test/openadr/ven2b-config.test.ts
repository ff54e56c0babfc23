/**
 * The `utility.openadr2b` config section: defaults, paths relative to the config file, errors that name the
 * file, the key path and what was expected, and a certificate that cannot be read stopping the start.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { programIdOfContext } from '../../src/seams/openadr2b.ts';

const FILE = join('/etc', 'gridseam', 'gw.yaml');

function config(section: string): string {
  return `
store: { kind: sqlite, path: ':memory:' }
log: { level: silent }
fleet:
  sites: [{ id: site-1, name: One }, { id: site-2, name: Two }]
utility:
  openadr2b:
${section
  .trim()
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
`;
}

const HTTPS = `
vtnUrl: https://vtn.example:8443
venName: gateway-1
certificate: pki/ven.cert.pem
key: pki/ven.key.pem
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

describe('config utility.openadr2b', () => {
  test('defaults, and paths resolved against the config file folder', () => {
    const parsed = parseConfig(
      config(`${HTTPS}
signing: { trusted: [vtn-signer.pem] }
programs:
  - { marketContext: 'http://utility.example/cpp', primacy: 30, siteIds: [site-1] }
targets:
  - { resourceId: meter-77, siteIds: [site-2] }`),
      FILE,
    );
    const section = parsed.utility?.openadr2b;
    assert.ok(section);
    assert.equal(section.certificate, join('/etc', 'gridseam', 'pki', 'ven.cert.pem'));
    assert.equal(section.key, join('/etc', 'gridseam', 'pki', 'ven.key.pem'));
    assert.equal(section.ca, '/abs/ca.pem');
    assert.deepEqual(section.signing?.trusted, [join('/etc', 'gridseam', 'vtn-signer.pem')]);
    assert.equal(section.signing?.sign, true);
    assert.equal(section.signing?.requireSignatures, false);
    assert.equal(section.tlsProfile, 'openadr2b');
    assert.equal(section.optIn, 'always');
    assert.equal(section.retrySeconds, 5);
    assert.equal(section.stateNamespace, 'openadr2b-ven');
    assert.equal(section.answerRepeats, false);
    const program = section.programs[0];
    assert.equal(program?.kind, 'demand-response');
    assert.equal(program?.applyTestEvents, false);
    assert.equal(program && programIdOfContext(program), 'oadr2b.http:.utility.example.cpp');
  });

  test('plain HTTP needs no certificates', () => {
    const parsed = parseConfig(config('vtnUrl: http://127.0.0.1:8080\nvenName: lab'), FILE);
    assert.equal(parsed.utility?.openadr2b?.vtnUrl, 'http://127.0.0.1:8080');
  });

  test('errors name the file and the key path', () => {
    const cases: Array<[string, RegExp]> = [
      ['vtnUrl: https://vtn.example\nvenName: x', /utility\.openadr2b needs certificate for an https vtnUrl/],
      ['vtnUrl: http://vtn.example\nvenName: x\nca: ca.pem', /utility\.openadr2b\.ca only applies to an https vtnUrl/],
      ['vtnUrl: ftp://vtn.example\nvenName: x', /utility\.openadr2b\.vtnUrl must match/],
      [`${HTTPS}\nbogus: 1`, /utility\.openadr2b.*bogus/],
      [`${HTTPS}\noptIn: sometimes`, /utility\.openadr2b\.optIn/],
      [
        `${HTTPS}\nprograms:\n  - { marketContext: a, primacy: 1 }\n  - { marketContext: a, primacy: 2 }`,
        /utility\.openadr2b\.programs\[1\]\.marketContext duplicates programs\[0\]\.marketContext/,
      ],
      [
        `${HTTPS}\nprograms:\n  - { marketContext: a, primacy: 1, siteIds: [nowhere] }`,
        /utility\.openadr2b\.programs\[0\]\.siteIds\[0\] must name an item of fleet\.sites/,
      ],
      [
        `${HTTPS}\ntargets:\n  - { resourceId: r, groupId: g, siteIds: [site-1] }`,
        /utility\.openadr2b\.targets\[0\] needs exactly one of resourceId, groupId or partyId/,
      ],
      [`${HTTPS}\ntargets:\n  - { resourceId: r }`, /targets\[0\] needs siteIds, deviceIds or groupIds/],
      [
        'vtnUrl: http://vtn.example\nvenName: x\nsigning: { sign: true }',
        /utility\.openadr2b\.signing needs certificate and key to sign/,
      ],
      [`${HTTPS}\nretrySeconds: 60\nmaxRetrySeconds: 10`, /utility\.openadr2b\.retrySeconds must not exceed/],
    ];
    for (const [section, expected] of cases) {
      const error = configError(config(section));
      assert.match(error.message, expected, section);
      assert.ok(error.message.startsWith(`${FILE}:`), error.message);
    }
  });

  test('a certificate that cannot be read stops the start, naming the key', async () => {
    const parsed = parseConfig(`${config(HTTPS)}\napi: { port: 0 }\n`, join('/nonexistent-gridseam', 'gw.yaml'));
    await assert.rejects(
      startGateway(parsed, { logger: createLogger({ level: 'silent' }) }),
      (error: unknown) =>
        GridseamError.is(error) &&
        error.code === 'GW_ERR_CONFIG' &&
        /utility\.openadr2b\.certificate: cannot read .*ven\.cert\.pem \(no such file\)/.test(error.message),
    );
  });
});
