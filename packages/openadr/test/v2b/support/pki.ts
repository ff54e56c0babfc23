/**
 * Certificates for the 2.0b mutual-TLS tests, made with the openssl command line in a temporary folder: a CA,
 * the VTN's server certificate (127.0.0.1 and localhost) and VEN client certificates, RSA 2048 / SHA-256
 * (OpenADR 2.0b allows RSA with TLS_RSA_WITH_AES_128_CBC_SHA256). `undefined` when openssl is missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export interface TestPki {
  dir: string;
  ca: string;
  caPath: string;
  vtn: TestCertificate;
  vens: Record<string, TestCertificate>;
  remove(): void;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function issue(dir: string, name: string, subject: string, extensions: string): TestCertificate {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ['genrsa', '-out', `${name}.key.pem`, '2048']);
  openssl(dir, ['req', '-new', '-key', `${name}.key.pem`, '-subj', subject, '-out', `${name}.csr`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.cert.pem',
    '-CAkey',
    'ca.key.pem',
    '-CAcreateserial',
    '-days',
    '30',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.cert.pem`,
  ]);
  const certPath = join(dir, `${name}.cert.pem`);
  const keyPath = join(dir, `${name}.key.pem`);
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

/** A CA, a VTN server certificate and one client certificate per VEN name. */
export function createTestPki(venNames: readonly string[] = ['ven-1']): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'gridseam-oadr2b-pki-'));
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key.pem',
    '-out',
    'ca.cert.pem',
    '-days',
    '30',
    '-sha256',
    '-subj',
    '/CN=Gridseam test OpenADR CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const vtn = issue(
    dir,
    'vtn',
    '/CN=localhost',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  const vens: Record<string, TestCertificate> = {};
  for (const name of venNames)
    vens[name] = issue(
      dir,
      name,
      `/CN=${name}`,
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
    );
  const caPath = join(dir, 'ca.cert.pem');
  return {
    dir,
    ca: readFileSync(caPath, 'utf8'),
    caPath,
    vtn,
    vens,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
