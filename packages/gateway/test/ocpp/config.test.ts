import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { loadConfig, ocppAddress, parseConfig, resolveStationPasswords, sha256Hex } from '../../src/config/index.ts';

const FLEET =
  'fleet: { sites: [{ id: s1, name: Site one }], devices: [{ id: taken, siteId: s1, class: meter, adapter: { kind: simulator, address: "sim:taken" }, capabilities: { controls: [] } }] }';

function parse(section: string, file = join('/cfg', 'gateway.yaml')) {
  return parseConfig(`${FLEET}\nocpp:\n${section}`, file);
}

/** The config error's message, which must name the key path. */
function problems(section: string): string {
  try {
    parse(section);
  } catch (error) {
    assert.ok(GridseamError.is(error), String(error));
    assert.equal(error.code, 'GW_ERR_CONFIG');
    return error.message;
  }
  assert.fail('the config was accepted');
}

describe('config: the ocpp section', () => {
  test('defaults fill a minimal section', () => {
    const { ocpp } = parse('  stations: [{ identity: CP-1, siteId: s1 }]');
    assert.ok(ocpp);
    assert.equal(ocpp.host, '127.0.0.1');
    assert.equal(ocpp.port, 9220);
    assert.equal(ocpp.path, '/ocpp');
    assert.equal(ocpp.securityProfile, 0);
    assert.deepEqual(ocpp.versions, ['1.6', '2.0.1']);
    assert.deepEqual(ocpp.defaults, { maxCurrentA: 32, phases: 3, voltage: 230 });
    assert.equal(ocpp.acceptUnknown, false);
    assert.equal(ocpp.stations[0]?.controlEvseId, 0);
    assert.equal(ocppAddress('CP-1'), 'ocpp://CP-1');
  });

  test('TLS paths resolve against the config file folder', () => {
    const { ocpp } = parse(
      `  securityProfile: 3
  tls: { certificate: pki/server.pem, key: /abs/server.key, ca: ../ca.pem }
  stations: [{ identity: CP-1, siteId: s1 }]`,
      '/etc/gridseam/gateway.yaml',
    );
    assert.deepEqual(ocpp?.tls, {
      certificate: '/etc/gridseam/pki/server.pem',
      key: '/abs/server.key',
      ca: '/etc/ca.pem',
    });
  });

  test('cross-key rules name the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['  stations: [{ identity: CP-1, siteId: nowhere }]', /ocpp\.stations\[0\]\.siteId must name a site/],
      [
        '  stations: [{ identity: CP-1, siteId: s1 }, { identity: CP-1, siteId: s1, id: other }]',
        /ocpp\.stations\[1\]\.identity duplicates ocpp\.stations\[0\]\.identity/,
      ],
      [
        '  stations: [{ identity: CP-1, siteId: s1, id: d }, { identity: CP-2, siteId: s1, id: d }]',
        /ocpp\.stations\[1\]\.id duplicates the device id/,
      ],
      [
        '  stations: [{ identity: taken, siteId: s1 }]',
        /ocpp\.stations\[0\]\.identity duplicates fleet\.devices\[0\]\.id/,
      ],
      ['  stations: [{ identity: "a|b", siteId: s1 }]', /'a\|b' is not a valid device id; give the station an id/],
      ['  securityProfile: 2\n  stations: []', /ocpp needs tls \(certificate and key\) for securityProfile 2/],
      [
        '  securityProfile: 3\n  tls: { certificate: c.pem, key: k.pem }\n  stations: []',
        /ocpp\.tls needs ca for securityProfile 3/,
      ],
      [
        '  tls: { certificate: c.pem, key: k.pem }\n  stations: []',
        /ocpp\.tls only applies to securityProfile 2 and 3/,
      ],
      [
        '  securityProfile: 1\n  stations: [{ identity: CP-1, siteId: s1 }]',
        /ocpp\.stations\[0\] needs exactly one of passwordSha256 .* or passwordEnv/,
      ],
      [
        `  securityProfile: 1\n  stations: [{ identity: CP-1, siteId: s1, passwordEnv: P, passwordSha256: ${'a'.repeat(64)} }]`,
        /ocpp\.stations\[0\] needs exactly one of/,
      ],
      [
        '  stations: [{ identity: CP-1, siteId: s1, passwordEnv: P }]',
        /ocpp\.stations\[0\]\.passwordEnv only applies to securityProfile 1 and 2/,
      ],
      [
        '  securityProfile: 1\n  acceptUnknown: true\n  stations: []',
        /ocpp\.acceptUnknown cannot be true with securityProfile 1/,
      ],
      [
        '  stations: [{ identity: CP-1, siteId: s1, evses: 2, controlEvseId: 3 }]',
        /ocpp\.stations\[0\]\.controlEvseId must be 0 \(the whole station\) or an EVSE 1\.\.2/,
      ],
      ['  securityProfile: 4\n  stations: []', /ocpp\.securityProfile must be one of: 0, 1, 2, 3/],
      ['  stations: [{ identity: "has space", siteId: s1 }]', /ocpp\.stations\[0\]\.identity must match the pattern/],
      ['  versions: ["1.5"]\n  stations: []', /ocpp\.versions\[0\] must be one of: 1\.6, 2\.0\.1/],
      [
        '  stations: [{ identity: CP-1, siteId: s1, pasword: x }]',
        /ocpp\.stations\[0\]\.pasword is not an allowed key/,
      ],
    ];
    for (const [section, expected] of cases) assert.match(problems(section), expected, section);
  });

  test('station passwords resolve to SHA-256 digests, from the file or the environment', () => {
    const digest = sha256Hex('from-the-file-0123');
    const { ocpp } = parse(
      `  securityProfile: 1
  stations:
    - { identity: CP-1, siteId: s1, passwordSha256: ${digest.toUpperCase()} }
    - { identity: CP-2, siteId: s1, passwordEnv: CP2_PASSWORD }`,
    );
    assert.ok(ocpp);
    const digests = resolveStationPasswords(ocpp, { CP2_PASSWORD: 'from-the-env-4567' });
    assert.equal(digests.get('CP-1')?.toString('hex'), digest);
    assert.equal(digests.get('CP-2')?.toString('hex'), sha256Hex('from-the-env-4567'));
    assert.throws(
      () => resolveStationPasswords(ocpp, {}),
      (error: unknown) =>
        GridseamError.is(error) &&
        error.code === 'GW_ERR_CONFIG' &&
        /ocpp\.stations\[1\]\.passwordEnv: the environment variable CP2_PASSWORD/.test(error.message),
    );
  });

  test('examples/gateway-ocpp.yaml loads: four stations on loopback for `gridseam sim ocpp --prefix CP-`', async () => {
    const { config } = await loadConfig(resolve(import.meta.dirname, '../../../../examples/gateway-ocpp.yaml'));
    assert.equal(config.ocpp?.host, '127.0.0.1');
    assert.equal(config.ocpp?.port, 9220);
    assert.equal(config.ocpp?.path, '/ocpp');
    assert.deepEqual(
      config.ocpp?.stations.map((s) => s.identity),
      ['CP-1', 'CP-2', 'CP-3', 'CP-4'],
    );
  });
});
