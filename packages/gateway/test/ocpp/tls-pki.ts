/**
 * Certificates for the gateway's OCPP TLS tests, made with the openssl command line into a folder:
 * a CA, a server certificate for 127.0.0.1 (ECDSA P-256), client certificates whose subject CN is
 * a station identity (security profile 3), and an unrelated CA that issues look-alike client
 * certificates. Files, because the gateway reads its TLS material from the paths in its config.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PemPair {
  cert: string;
  key: string;
}

export interface OcppTestPki {
  /** PEM of the CA that signed the server and the client certificates. */
  ca: string;
  /** File names (in the folder) of the CA, the server certificate and its key. */
  files: { ca: string; certificate: string; key: string };
  /** A client certificate whose CN is `cn`, from the CA. */
  client(cn: string): Promise<PemPair>;
  /** A client certificate whose CN is `cn`, from an unrelated CA. */
  foreignClient(cn: string): Promise<PemPair>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, [
    ...['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=Gridseam OCPP test ${name}`, '-days', '2'],
    ...['-out', `${name}.pem`, '-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  ]);
}

async function issue(dir: string, ca: string, name: string, cn: string, extensions: string): Promise<PemPair> {
  openssl(dir, [
    ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`],
  ]);
  await writeFile(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    ...['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial'],
    ...['-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`],
  ]);
  return {
    cert: await readFile(join(dir, `${name}.pem`), 'utf8'),
    key: await readFile(join(dir, `${name}.key`), 'utf8'),
  };
}

const SERVER_EXT =
  'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n';

/** Makes the PKI in `dir` (which must exist). */
export async function createOcppTestPki(dir: string): Promise<OcppTestPki> {
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  await issue(dir, 'ca', 'server', '127.0.0.1', SERVER_EXT);
  let serial = 0;
  return {
    ca: await readFile(join(dir, 'ca.pem'), 'utf8'),
    files: { ca: 'ca.pem', certificate: 'server.pem', key: 'server.key' },
    client: (cn) => issue(dir, 'ca', `client-${++serial}`, cn, CLIENT_EXT),
    foreignClient: (cn) => issue(dir, 'rogue-ca', `foreign-${++serial}`, cn, CLIENT_EXT),
  };
}
