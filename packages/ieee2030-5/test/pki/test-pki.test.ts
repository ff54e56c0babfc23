/**
 * The test PKI: certificates in the IEEE 2030.5 profile (§6.11) that verify with node:crypto and OpenSSL,
 * with every required extension present and critical (read back with @peculiar/asn1-x509), and the files
 * writeTestPki lays out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  Certificate,
  CertificatePolicies,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { certificateDerFromPem, isValidSfdi, lfdiFromCertificate, sfdiFromLfdi } from '../../src/identity/index.ts';
import {
  createTestPki,
  HardwareModuleName,
  OID_GRIDSEAM_TEST_HARDWARE_TYPE,
  readTestPki,
  sepProfileProblems,
  summariseCertificate,
  type TestPki,
  writeTestPki,
} from '../../src/pki/index.ts';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const vectorsDir = resolve(repoRoot, '..', 'shared', 'specs', 'ieee2030_5', 'test-vectors', 'lfdi-sfdi');
const opensslAvailable = spawnSync('openssl', ['version']).status === 0;

const EXT = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  certificatePolicies: '2.5.29.32',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  policyMappings: '2.5.29.33',
  nameConstraints: '2.5.29.30',
};

function extensionsOf(der: Uint8Array) {
  const certificate = AsnConvert.parse(der, Certificate);
  const list = certificate.tbsCertificate.extensions ?? [];
  return {
    certificate,
    list,
    get(oid: string) {
      const found = list.find((e) => e.extnID === oid);
      assert.ok(found, `extension ${oid} present`);
      return found;
    },
  };
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
}

function assertRejects(action: () => Promise<unknown>, code: string, pattern: RegExp) {
  return assert.rejects(action, (error: unknown) => {
    assert.ok(GridseamError.is(error), `a GridseamError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('createTestPki', () => {
  let pki: TestPki;

  before(async () => {
    pki = await createTestPki({
      clients: [{ name: 'device-1' }, { name: 'device-2', kind: 'device' }, { name: 'agg-1', kind: 'aggregator' }],
    });
  });

  test('clients keep their names and kinds; a count names them device-1 … device-N', async () => {
    assert.deepEqual(
      pki.clients.map((c) => [c.name, c.kind]),
      [
        ['device-1', 'device'],
        ['device-2', 'device'],
        ['agg-1', 'aggregator'],
      ],
    );
    const counted = await createTestPki({ clients: 2 });
    assert.deepEqual(
      counted.clients.map((c) => [c.name, c.kind]),
      [
        ['device-1', 'device'],
        ['device-2', 'device'],
      ],
    );
    assert.deepEqual((await createTestPki({ clients: 0 })).clients, []);
  });

  test('every certificate chains to the CA, matches its key, and is ECDSA P-256 until 9999', () => {
    const ca = new X509Certificate(pki.ca.certificatePem);
    assert.equal(ca.ca, true);
    assert.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
    assert.ok(ca.checkPrivateKey(createPrivateKey(pki.ca.keyPem)));
    for (const entity of [pki.server, ...pki.clients]) {
      const certificate = new X509Certificate(entity.certificatePem);
      assert.equal(certificate.ca, false, entity.name);
      assert.ok(certificate.checkIssued(ca), `${entity.name} issued by the CA`);
      assert.ok(certificate.verify(ca.publicKey), `${entity.name} signed by the CA key`);
      assert.ok(certificate.checkPrivateKey(createPrivateKey(entity.keyPem)), `${entity.name} key pair`);
      assert.equal(certificate.publicKey.asymmetricKeyType, 'ec');
      assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      assert.match(certificate.validTo, /9999/);
      assert.ok(!certificate.subject, `${entity.name}: a 2030.5 device certificate has an empty Subject`);
      assert.deepEqual(new Uint8Array(certificate.raw), entity.certificateDer);
      assert.deepEqual(certificateDerFromPem(entity.certificatePem), entity.certificateDer);
    }
  });

  test('LFDI and SFDI come from the DER bytes, and differ between clients', () => {
    for (const entity of [pki.server, ...pki.clients]) {
      assert.equal(entity.lfdi, lfdiFromCertificate(entity.certificateDer));
      assert.match(entity.lfdi, /^[0-9a-f]{40}$/);
      assert.equal(entity.sfdi, sfdiFromLfdi(entity.lfdi));
      assert.ok(isValidSfdi(entity.sfdi));
    }
    assert.equal(new Set([pki.server, ...pki.clients].map((e) => e.lfdi)).size, 4);
  });

  test('end-entity extensions, read back with asn1-x509: the four profile extensions critical, key ids not', () => {
    const caSki = extensionsOf(pki.ca.certificateDer).get(EXT.subjectKeyIdentifier);
    const caKeyId = hex(AsnConvert.parse(caSki.extnValue, SubjectKeyIdentifier).buffer);
    for (const entity of [pki.server, ...pki.clients]) {
      const { certificate, list, get } = extensionsOf(entity.certificateDer);
      assert.equal(certificate.signatureAlgorithm.algorithm, '1.2.840.10045.4.3.2', 'ecdsa-with-SHA256');
      assert.equal(certificate.signatureAlgorithm.parameters, undefined, 'no parameters (RFC 5758)');
      assert.equal(certificate.tbsCertificate.validity.notAfter.generalTime?.toISOString(), '9999-12-31T23:59:59.000Z');
      for (const oid of [EXT.basicConstraints, EXT.keyUsage, EXT.subjectAltName, EXT.certificatePolicies])
        assert.equal(get(oid).critical, true, `${entity.name}: ${oid} critical`);
      for (const oid of [EXT.subjectKeyIdentifier, EXT.authorityKeyIdentifier])
        assert.equal(get(oid).critical, false, `${entity.name}: ${oid} not critical`);
      assert.ok(!list.some((e) => e.extnID === EXT.policyMappings || e.extnID === EXT.nameConstraints));
      assert.equal(list.length, 6);

      const policies = AsnConvert.parse(get(EXT.certificatePolicies).extnValue, CertificatePolicies);
      assert.deepEqual(
        Array.from(policies, (p) => p.policyIdentifier),
        ['1.3.6.1.4.1.40732.1.1', '1.3.6.1.4.1.40732.2.1'],
      );
      const san = AsnConvert.parse(get(EXT.subjectAltName).extnValue, SubjectAlternativeName);
      assert.equal(san.length, 1);
      assert.equal(san[0]?.otherName?.typeId, '1.3.6.1.5.5.7.8.4');
      const module = AsnConvert.parse(san[0]?.otherName?.value ?? new ArrayBuffer(0), HardwareModuleName);
      assert.equal(module.hwType, OID_GRIDSEAM_TEST_HARDWARE_TYPE);
      assert.equal(Buffer.from(module.hwSerialNum.buffer).toString('utf8'), entity.name);
      const aki = AsnConvert.parse(get(EXT.authorityKeyIdentifier).extnValue, AuthorityKeyIdentifier);
      assert.equal(hex(aki.keyIdentifier?.buffer ?? new ArrayBuffer(0)), caKeyId, 'AKI is the CA SKI');
    }
  });

  test('CA extensions: basicConstraints, keyUsage, certificatePolicies critical; no SAN', () => {
    const { get, list } = extensionsOf(pki.ca.certificateDer);
    for (const oid of [EXT.basicConstraints, EXT.keyUsage, EXT.certificatePolicies])
      assert.equal(get(oid).critical, true, `${oid} critical`);
    assert.ok(!list.some((e) => e.extnID === EXT.subjectAltName), 'strict clients reject a CA with a SAN');
    const summary = summariseCertificate(pki.ca.certificateDer);
    assert.equal(summary.isCa, true);
    assert.deepEqual(summary.keyUsage.sort(), ['crlSign', 'keyCertSign']);
    assert.deepEqual(summary.policies, ['2.5.29.32.0']);
  });

  test('summariseCertificate and sepProfileProblems: ours conform in their roles', () => {
    const device = summariseCertificate(pki.clients[0]?.certificateDer ?? new Uint8Array());
    assert.equal(device.isCa, false);
    assert.deepEqual(device.keyUsage.sort(), ['digitalSignature', 'keyAgreement']);
    assert.equal(device.publicKeyCurve, '1.2.840.10045.3.1.7');
    assert.equal(device.notAfterEncoding, 'generalTime');
    assert.deepEqual(sepProfileProblems(pki.ca.certificateDer), []);
    for (const entity of [pki.server, ...pki.clients]) assert.deepEqual(sepProfileProblems(entity.certificateDer), []);
    const caAsLeaf = sepProfileProblems(pki.ca.certificateDer, { role: 'end-entity' });
    assert.ok(caAsLeaf.some((p) => /cA is true/.test(p)));
    assert.ok(caAsLeaf.some((p) => /HardwareModuleName/.test(p)));
    assert.throws(() => sepProfileProblems(new Uint8Array([0x30, 0x03, 0x02])), /not valid DER/);
  });

  test('sepProfileProblems against independent certificates: an OpenSSL-made 2030.5 device passes, a web certificate fails', (t) => {
    if (!existsSync(vectorsDir)) return t.skip(`test vectors not found at ${vectorsDir}`);
    const read = (file: string) => certificateDerFromPem(readFileSync(join(vectorsDir, file), 'utf8'));
    assert.deepEqual(sepProfileProblems(read('local-2030.5-profile-device.pem')), []);
    const problems = sepProfileProblems(read('envoy-certificate1.pem'));
    assert.ok(
      problems.some((p) => /ecdsa-with-SHA256/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /notAfter/.test(p)),
      problems.join('\n'),
    );
  });

  test('server host names become dNSName / iPAddress entries next to the HardwareModuleName', async () => {
    const withHosts = await createTestPki({ clients: 0, serverHostnames: ['localhost', '127.0.0.1', '::1'] });
    const summary = summariseCertificate(withHosts.server.certificateDer);
    assert.deepEqual(summary.dnsNames, ['localhost']);
    assert.deepEqual(summary.ipAddresses, ['127.0.0.1', '::1']);
    assert.equal(summary.hardwareModules.length, 1);
    assert.deepEqual(sepProfileProblems(withHosts.server.certificateDer), []);
    const certificate = new X509Certificate(withHosts.server.certificatePem);
    assert.equal(certificate.checkHost('localhost'), 'localhost');
    assert.equal(certificate.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(new X509Certificate(pki.server.certificatePem).checkHost('localhost'), undefined);
  });

  test('bad client lists and host names are GW_ERR_VALIDATION', async () => {
    const cases: Array<[Parameters<typeof createTestPki>[0], RegExp]> = [
      [{ clients: -1 }, /whole number/],
      [{ clients: 1.5 }, /whole number/],
      [{ clients: 10_001 }, /whole number/],
      [{ clients: [{ name: '../x' }] }, /name must be/],
      [{ clients: [{ name: '' }] }, /name must be/],
      [{ clients: [{ name: 'a'.repeat(65) }] }, /name must be/],
      [{ clients: [{ name: 'Dev' }, { name: 'dev' }] }, /more than once/],
      [{ clients: [{ name: 'd', kind: 'meter' as 'device' }] }, /kind/],
      [{ clients: 'many' as unknown as number }, /number or a list/],
      [{ clients: 1, serverHostnames: ['bad host'] }, /host name/],
      [{ clients: 1, serverHostnames: ['-x.example'] }, /host name/],
      [{ clients: 1, hardwareType: 'not.an.oid' }, /not an OID/],
    ];
    for (const [options, pattern] of cases)
      await assertRejects(() => createTestPki(options), 'GW_ERR_VALIDATION', pattern);
  });
});

describe('writeTestPki and readTestPki', () => {
  let dir: string;
  let pki: TestPki;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gridseam-pki-'));
    pki = await createTestPki({ clients: [{ name: 'device-1' }, { name: 'agg-1', kind: 'aggregator' }] });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes PEM, key and DER .x509 files and a manifest whose LFDIs match the .x509 bytes', async () => {
    const manifest = await writeTestPki(pki, dir);
    assert.equal(manifest.clients.length, 2);
    for (const [index, entry] of manifest.clients.entries()) {
      const client = pki.clients[index];
      assert.ok(client);
      assert.deepEqual(entry.files, {
        cert: `clients/${client.name}.cert.pem`,
        key: `clients/${client.name}.key.pem`,
        x509: `clients/${client.name}.x509`,
      });
      const der = new Uint8Array(await readFile(join(dir, entry.files.x509)));
      assert.equal(lfdiFromCertificate(der), entry.lfdi);
      assert.equal(entry.lfdi, client.lfdi);
      assert.equal(entry.sfdi, client.sfdi);
      assert.equal(entry.kind, client.kind);
      assert.equal(await readFile(join(dir, entry.files.cert), 'utf8'), client.certificatePem);
      assert.equal((await stat(join(dir, entry.files.key))).mode & 0o777, 0o600, 'keys are private');
    }
    const onDisk = JSON.parse(await readFile(join(dir, 'pki.json'), 'utf8')) as typeof manifest;
    assert.deepEqual(onDisk, manifest);
    assert.equal(onDisk.ca.files.cert, 'ca.cert.pem');
    assert.equal(onDisk.server.files.x509, 'server.x509');
  });

  test('refuses to overwrite an existing PKI (GW_ERR_CONFLICT) unless asked; overwriting removes old clients', async () => {
    await assertRejects(() => writeTestPki(pki, dir), 'GW_ERR_CONFLICT', /already holds a test PKI/);
    const smaller = await createTestPki({ clients: 1 });
    await writeTestPki(smaller, dir, { overwrite: true });
    assert.ok(!existsSync(join(dir, 'clients/agg-1.x509')), 'the old client files are gone');
    const reread = await readTestPki(dir);
    assert.equal(reread.clients.length, 1);
    assert.equal(reread.clients[0]?.lfdi, smaller.clients[0]?.lfdi);
  });

  test('readTestPki returns what was written, and refuses a manifest that does not match its files', async () => {
    const written = await createTestPki({ clients: [{ name: 'agg-9', kind: 'aggregator' }] });
    await writeTestPki(written, dir, { overwrite: true });
    const reread = await readTestPki(dir);
    assert.deepEqual(reread, written);

    const manifestPath = join(dir, 'pki.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { clients: Array<Record<string, unknown>> };
    const original = JSON.stringify(manifest, null, 2);
    (manifest.clients[0] as Record<string, unknown>).lfdi = 'f'.repeat(40);
    await writeFile(manifestPath, JSON.stringify(manifest));
    await assertRejects(() => readTestPki(dir), 'GW_ERR_VALIDATION', /do not match/);
    (manifest.clients[0] as { files: { x509: string }; lfdi: string }).files.x509 = '../../etc/passwd';
    await writeFile(manifestPath, JSON.stringify(manifest));
    await assertRejects(() => readTestPki(dir), 'GW_ERR_VALIDATION', /leaves the PKI folder/);
    await writeFile(manifestPath, '{not json');
    await assertRejects(() => readTestPki(dir), 'GW_ERR_MALFORMED', /not JSON/);
    await writeFile(manifestPath, '{"format":"other"}');
    await assertRejects(() => readTestPki(dir), 'GW_ERR_VALIDATION', /not a version 1/);
    await writeFile(manifestPath, original);
  });
});

describe('the test PKI checked by OpenSSL', { skip: opensslAvailable ? false : 'openssl is not installed' }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gridseam-pki-openssl-'));
    await writeTestPki(await createTestPki({ clients: 1, serverHostnames: ['localhost'] }), dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function openssl(args: string[]): string {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  test('openssl verify accepts the client and server certificates, with 2030.5 policy checking', () => {
    assert.match(openssl(['verify', '-CAfile', 'ca.cert.pem', 'clients/device-1.cert.pem']), /: OK/);
    assert.match(openssl(['verify', '-CAfile', 'ca.cert.pem', '-x509_strict', 'server.cert.pem']), /: OK/);
    const policy = ['-policy_check', '-explicit_policy', '-policy', '1.3.6.1.4.1.40732.1.1'];
    assert.match(openssl(['verify', '-CAfile', 'ca.cert.pem', ...policy, 'clients/device-1.cert.pem']), /: OK/);
    assert.match(
      openssl(['verify', '-CAfile', 'ca.cert.pem', '-purpose', 'sslclient', 'clients/device-1.cert.pem']),
      /OK/,
    );
    assert.match(openssl(['verify', '-CAfile', 'ca.cert.pem', '-purpose', 'sslserver', 'server.cert.pem']), /OK/);
  });

  test('openssl x509 -text shows the critical extensions, the policies, the HardwareModuleName and 9999', () => {
    const text = openssl(['x509', '-inform', 'DER', '-in', 'clients/device-1.x509', '-noout', '-text']);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /NIST CURVE: P-256/);
    assert.match(text, /Not After : Dec 31 23:59:59 9999 GMT/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Agreement/);
    assert.match(text, /X509v3 Subject Alternative Name: critical\s+othername: 1\.3\.6\.1\.5\.5\.7\.8\.4/);
    assert.match(
      text,
      /X509v3 Certificate Policies: critical\s+Policy: 1\.3\.6\.1\.4\.1\.40732\.1\.1\s+Policy: 1\.3\.6\.1\.4\.1\.40732\.2\.1/,
    );
    assert.doesNotMatch(text, /Policy Mappings|Name Constraints/);
    const server = openssl(['x509', '-in', 'server.cert.pem', '-noout', '-ext', 'subjectAltName']);
    assert.match(server, /critical/);
    assert.match(server, /DNS:localhost/);
  });
});
