/**
 * A throw-away PKI for the TLS tests, made with the openssl command line into a temp directory:
 * a CA with an ECDSA P-256 server certificate (SAN IP 127.0.0.1) and an RSA one, client
 * certificates whose CN is the station identity, and a second, unrelated CA with a client
 * certificate of the same CN (which the CSMS must refuse).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: string;
  /** The unrelated CA (a station that trusts only it does not trust the CSMS). */
  rogueCa: string;
  serverEc: KeyPair;
  serverRsa: KeyPair;
  client(cn: string): Promise<KeyPair>;
  /** A client certificate for `cn` from another CA. */
  foreignClient(cn: string): Promise<KeyPair>;
  dispose(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

async function makeCa(dir: string, name: string): Promise<void> {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
    '-out',
    `${name}.pem`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function issue(
  dir: string,
  ca: string,
  name: string,
  cn: string,
  kind: 'ec' | 'rsa',
  extensions: string,
): Promise<KeyPair> {
  const keyArgs = kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  openssl(dir, [
    'req',
    '-new',
    ...keyArgs,
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-subj',
    `/CN=${cn}`,
    '-out',
    `${name}.csr`,
  ]);
  await writeFile(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  ]);
  return {
    cert: await readFile(join(dir, `${name}.pem`), 'utf8'),
    key: await readFile(join(dir, `${name}.key`), 'utf8'),
  };
}

const SERVER_EXT =
  'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n';

export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'gridseam-ocpp-pki-'));
  await makeCa(dir, 'ca');
  await makeCa(dir, 'rogue-ca');
  let serial = 0;
  return {
    ca: await readFile(join(dir, 'ca.pem'), 'utf8'),
    rogueCa: await readFile(join(dir, 'rogue-ca.pem'), 'utf8'),
    serverEc: await issue(dir, 'ca', 'server-ec', '127.0.0.1', 'ec', SERVER_EXT),
    serverRsa: await issue(dir, 'ca', 'server-rsa', '127.0.0.1', 'rsa', SERVER_EXT),
    client: (cn) => issue(dir, 'ca', `client-${++serial}`, cn, 'ec', CLIENT_EXT),
    foreignClient: (cn) => issue(dir, 'rogue-ca', `foreign-${++serial}`, cn, 'ec', CLIENT_EXT),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
