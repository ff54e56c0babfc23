import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { loadUtilityConfig, parseUtilityConfig, resolveAdminTokens } from '../../src/utility/config.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const temp = useTempDir('gridseam-utility-config-');

const TLS = 'tls: { key: pki/server.key, cert: pki/server.crt, ca: pki/ca.crt }\n';

/** Parses and expects GW_ERR_CONFIG whose message names the file and matches every pattern. */
function refused(text: string, ...patterns: RegExp[]): string {
  let message = '';
  assert.throws(
    () => parseUtilityConfig(text, '/etc/gridseam/utility.yaml'),
    (error: unknown) => {
      const e = error as { code?: string; message?: string };
      assert.equal(e.code, 'GW_ERR_CONFIG', String(error));
      message = e.message ?? '';
      assert.ok(message.startsWith('/etc/gridseam/utility.yaml: '), message);
      for (const pattern of patterns) assert.match(message, pattern);
      return true;
    },
  );
  return message;
}

describe('utility-server config', () => {
  test('defaults: listen 127.0.0.1:8443, admin 8444, sqlite ./data/utility.db; paths relative to the file', () => {
    const config = parseUtilityConfig(`profile: csip\n${TLS}`, '/etc/gridseam/utility.yaml');
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8443 });
    assert.deepEqual(config.admin, { host: '127.0.0.1', port: 8444, tokens: [], bodyLimitBytes: 1024 * 1024 });
    assert.deepEqual(config.store, { kind: 'sqlite', path: '/etc/gridseam/data/utility.db' });
    assert.deepEqual(config.tls, {
      key: '/etc/gridseam/pki/server.key',
      cert: '/etc/gridseam/pki/server.crt',
      ca: '/etc/gridseam/pki/ca.crt',
    });
    assert.deepEqual(config.variances, { registration: { model: 'out-of-band' }, aggregators: [] });
    assert.equal(config.log.level, 'info');
  });

  test('the shipped example parses; its paths are relative to examples/', async () => {
    const file = resolve(import.meta.dirname, '../../../../examples/utility-server.yaml');
    const { config } = await loadUtilityConfig(file);
    assert.equal(config.profile, 'csip-aus');
    assert.equal(config.tls?.key, resolve(dirname(file), '../data/pki/server.key.pem'));
    assert.equal(config.admin.tokens.length, 2);
  });

  test('a full csip-aus config with a terminator, variances, postgres and tokens', () => {
    const config = parseUtilityConfig(
      `profile: csip-aus
csipausVersion: 1.3
listen: { host: 0.0.0.0, port: 9443 }
terminator: {}
variances:
  pollRates: { DERProgramList: 60, EndDeviceList: 300 }
  postRate: 300
  defaultExportLimitW: 1500
  registration: { model: both, pin: 111115 }
  sharedControls: false
  allowConnectionPointUpdates: false
  aggregators: [ 3E4F45AB31EDFE5B67E343E5E4562E31984E23E5 ]
store: { kind: postgres, url: 'postgres://u:p@db/utility', schema: utility }
admin:
  port: 0
  tokens:
    - { name: lab, role: operator, tokenEnv: UTILITY_TOKEN }
`,
      '/srv/u.yaml',
    );
    assert.equal(config.csipausVersion, '1.3', 'a YAML number 1.3 is the version 1.3');
    assert.deepEqual(config.terminator, { header: 'x-forwarded-client-cert' });
    assert.equal(config.tls, undefined);
    assert.deepEqual(config.variances.pollRates, { DERProgramList: 60, EndDeviceList: 300 });
    assert.deepEqual(config.variances.registration, { model: 'both', pin: 111115 });
    assert.equal(config.variances.sharedControls, false);
    assert.deepEqual(config.store, { kind: 'postgres', url: 'postgres://u:p@db/utility', schema: 'utility' });
    assert.deepEqual(
      resolveAdminTokens(config, { UTILITY_TOKEN: 'secret' }).map((t) => [t.name, t.role, t.tokenSha256.length]),
      [['lab', 'operator', 64]],
    );
    assert.throws(
      () => resolveAdminTokens(config, {}),
      /admin\.tokens\[0\]\.tokenEnv: the environment variable UTILITY_TOKEN/,
    );
  });

  test('errors name the key path and what was expected', () => {
    refused(
      `profile: csip\n${TLS}listen: { prot: 1 }\n`,
      /listen\.prot is not an allowed key \(did you mean 'port'\?\)/,
    );
    refused(`profile: csip\n${TLS}listen: { port: 70000 }\n`, /listen\.port must be <= 65535/);
    refused(
      `profile: csip\n${TLS}variances: { pollRates: { DERProgramList: 0 } }\n`,
      /variances\.pollRates\.DERProgramList/,
    );
    refused(
      `profile: csip\n${TLS}variances: { pollRates: { DERPrograms: 60 } }\n`,
      /variances\.pollRates\.DERPrograms is not an allowed key \(did you mean 'DERProgramList'\?\)/,
    );
    refused(
      `profile: csip\n${TLS}variances: { aggregators: [ 'not-an-lfdi' ] }\n`,
      /variances\.aggregators\[0\] must match the pattern/,
    );
    refused(
      `profile: csip\n${TLS}variances: { registration: { model: sideways } }\n`,
      /variances\.registration\.model must be one of: out-of-band, in-band, both/,
    );
    refused(`profile: california\n${TLS}`, /profile must be one of: csip, csip-aus/);
    refused(TLS, /profile is required/);
    refused(`profile: csip-aus\n${TLS}csipausVersion: 1.4\n`, /csipausVersion must be one of: 1\.2, 1\.3/);
    refused(`profile: csip\n${TLS}csipausVersion: 1.2\n`, /csipausVersion only applies to profile csip-aus/);
    refused(`profile: csip\n${TLS}tls: { key: a }\n`, /tls is a duplicate key \(line 3, column 1\)/);
    refused(`profile: csip\ntls: { key: a.key, cert: a.crt }\n`, /tls\.ca is required/);
    refused('profile: csip\n', /\(top level\) must have exactly one of tls .* or terminator/);
    refused(`profile: csip\n${TLS}terminator: {}\n`, /must have exactly one of tls/);
    refused(`profile: csip\nterminator: { header: 'bad header' }\n`, /terminator\.header must match the pattern/);
    refused(`profile: csip\n${TLS}store: { kind: postgres }\n`, /store\.url is required/);
    refused(`profile: csip\n${TLS}store: { kind: mysql }\n`, /store\.kind/);
    refused(
      `profile: csip\n${TLS}admin: { port: 8443 }\n`,
      /admin\.port must differ from listen\.port \(both are 8443\)/,
    );
    refused(
      `profile: csip\n${TLS}admin: { tokens: [ { name: a, role: operator } ] }\n`,
      /admin\.tokens\[0\] must have exactly one of tokenSha256/,
    );
    refused(
      `profile: csip\n${TLS}admin: { tokens: [ { name: a, role: root, tokenEnv: X } ] }\n`,
      /admin\.tokens\[0\]\.role must be one of: viewer, operator, admin/,
    );
    refused(
      `profile: csip\n${TLS}admin: { tokens: [ { name: a, role: viewer, tokenEnv: X }, { name: a, role: viewer, tokenEnv: Y } ] }\n`,
      /admin\.tokens\[1\]\.name duplicates admin\.tokens\[0\]\.name 'a'/,
    );
    refused(
      `profile: csip\n${TLS}server: { defaultListLimit: 50, maxListLimit: 10 }\n`,
      /server\.defaultListLimit must not exceed server\.maxListLimit/,
    );
    refused('- profile\n', /the top level must be a mapping of sections/);
    refused('profile: [\n', /invalid YAML at line/);
    refused(
      `a: &a [1]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n`,
      /invalid YAML/,
    );
  });

  test('several problems are reported together', () => {
    const message = refused(
      `profile: csip\n${TLS}listen: { port: -1 }\nadmin: { host: '' }\nvariances: { postRate: 1.5 }\n`,
      /3 problems/,
    );
    assert.match(message, /listen\.port/);
    assert.match(message, /admin\.host must not be empty/);
    assert.match(message, /variances\.postRate must be an integer/);
  });

  test('loadUtilityConfig: a missing file, a folder and an oversized file are GW_ERR_CONFIG naming the file', async () => {
    await assert.rejects(loadUtilityConfig(join(temp.dir(), 'missing.yaml')), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'GW_ERR_CONFIG');
      assert.match(String(error), /missing\.yaml: cannot read the configuration file \(no such file\)/);
      return true;
    });
    await assert.rejects(loadUtilityConfig(temp.dir()), /is not a file/);
    const big = await temp.file('big.yaml', `profile: csip\n${TLS}#${'x'.repeat(1024 * 1024)}\n`);
    await assert.rejects(
      loadUtilityConfig(big),
      /big\.yaml: the configuration file is \d+ bytes; the limit is 1048576/,
    );
    const good = await temp.file('good.yaml', `profile: csip\n${TLS}`);
    const loaded = await loadUtilityConfig(good);
    assert.equal(loaded.file, good);
    assert.deepEqual(loaded.config.tls?.key, join(temp.dir(), 'pki/server.key'));
  });
});
