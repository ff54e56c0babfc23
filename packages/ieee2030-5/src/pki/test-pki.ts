/**
 * A test PKI for IEEE 2030.5: one self-signed CA (in the role of a SERCA), a server certificate and client
 * certificates for devices and aggregators, all in the 2030.5 profile (§6.11). Made in memory by
 * createTestPki; written to and read from a folder by writeTestPki / readTestPki.
 *
 * A real 2030.5 chain is SERCA → MCA/MICA → device; this test PKI signs device certificates with the root
 * directly, which 2030.5 clients and Node's TLS accept just the same. The private keys are unencrypted:
 * these are test credentials only.
 */
import { generateKeyPair, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { GridseamError } from '@gridseam/model';
import { pemFromCertificateDer } from '../identity/certificate.ts';
import { lfdiFromCertificate, sfdiFromLfdi } from '../identity/lfdi.ts';
import { type CertificateIssuer, issueCertificate, type NameAttribute } from './certificate.ts';
import {
  OID_COMMON_NAME,
  OID_GRIDSEAM_TEST_HARDWARE_TYPE,
  OID_ORGANIZATION,
  POLICY_ANY,
  POLICY_DEVICE_GENERIC,
  POLICY_TEST_CERTIFICATE,
} from './oids.ts';

export type PkiClientKind = 'device' | 'aggregator';

export interface PkiClientSpec {
  /** 1–64 characters: letters, digits, '.', '_', '-', starting with a letter or digit (it names files). */
  name: string;
  kind?: PkiClientKind;
}

export interface CreateTestPkiOptions {
  /** A count (named device-1 … device-N) or the clients by name. */
  clients: number | readonly PkiClientSpec[];
  /**
   * Extra subjectAltName entries for the server certificate (dNSName, or iPAddress for IP literals), for
   * TLS clients that check the host name. Default none: a 2030.5 server certificate names hardware, not a
   * host, and 2030.5 clients skip host-name checks (see sepClientTlsOptions).
   */
  serverHostnames?: readonly string[];
  /** hwType of every HardwareModuleName; default OID_GRIDSEAM_TEST_HARDWARE_TYPE. */
  hardwareType?: string;
  /** notBefore of every certificate; default one minute ago. */
  notBefore?: Date;
}

export interface PkiCredential {
  certificatePem: string;
  /** The DER bytes the LFDI is hashed over (what `.x509` files hold). */
  certificateDer: Uint8Array;
  /** PKCS#8 PEM, unencrypted. */
  keyPem: string;
}

export interface PkiEndEntity extends PkiCredential {
  name: string;
  lfdi: string;
  sfdi: number;
  /** hwSerialNum of its HardwareModuleName. */
  hardwareSerialNumber: string;
}

export interface PkiClient extends PkiEndEntity {
  kind: PkiClientKind;
}

export interface PkiServer extends PkiEndEntity {
  hostnames: string[];
}

export interface TestPki {
  ca: PkiCredential & { name: string };
  server: PkiServer;
  clients: PkiClient[];
}

export const MAX_TEST_PKI_CLIENTS = 10_000;
export const TEST_PKI_MANIFEST = 'pki.json';
export const TEST_PKI_FORMAT = 'gridseam.ieee2030-5.test-pki';
const CA_NAME = 'Gridseam 2030.5 Test SERCA';
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// Host names and IP literals only: these go into the certificate as dNSName / iPAddress.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

function invalid(message: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message);
}

function clientSpecs(clients: CreateTestPkiOptions['clients']): Array<Required<PkiClientSpec>> {
  if (typeof clients === 'number') {
    if (!Number.isSafeInteger(clients) || clients < 0 || clients > MAX_TEST_PKI_CLIENTS)
      throw invalid(`clients must be a whole number from 0 to ${MAX_TEST_PKI_CLIENTS}`);
    return Array.from({ length: clients }, (_, index) => ({ name: `device-${index + 1}`, kind: 'device' }));
  }
  if (!Array.isArray(clients)) throw invalid('clients must be a number or a list of {name, kind}');
  if (clients.length > MAX_TEST_PKI_CLIENTS) throw invalid(`at most ${MAX_TEST_PKI_CLIENTS} clients`);
  const seen = new Set<string>();
  return clients.map((client: PkiClientSpec, index) => {
    const name: unknown = client?.name;
    const kind: unknown = client?.kind ?? 'device';
    if (typeof name !== 'string' || !CLIENT_NAME.test(name))
      throw invalid(
        `clients[${index}].name must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit`,
      );
    if (kind !== 'device' && kind !== 'aggregator')
      throw invalid(`clients[${index}].kind must be 'device' or 'aggregator'`);
    // Case-insensitive: the names become file names.
    if (seen.has(name.toLowerCase())) throw invalid(`client name '${name}' appears more than once`);
    seen.add(name.toLowerCase());
    return { name, kind };
  });
}

function checkHostnames(hostnames: readonly string[]): string[] {
  if (!Array.isArray(hostnames)) throw invalid('serverHostnames must be a list of host names or IP addresses');
  return hostnames.map((host: unknown) => {
    if (typeof host !== 'string' || (isIP(host) === 0 && !HOSTNAME.test(host)))
      throw invalid(`server host name ${JSON.stringify(host)} is not a host name or an IP address`);
    return host;
  });
}

const generateEcKeyPair = promisify(generateKeyPair);

async function p256KeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generateEcKeyPair('ec', { namedCurve: 'prime256v1' });
}

function keyPem(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Makes a CA, a server certificate and the client certificates, in memory. */
export async function createTestPki(options: CreateTestPkiOptions): Promise<TestPki> {
  const specs = clientSpecs(options.clients);
  const hostnames = checkHostnames(options.serverHostnames ?? []);
  const hardwareType = options.hardwareType ?? OID_GRIDSEAM_TEST_HARDWARE_TYPE;
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(hardwareType)) throw invalid(`hardwareType '${hardwareType}' is not an OID`);
  const validity = options.notBefore ? { notBefore: options.notBefore } : {};

  const caKeys = await p256KeyPair();
  // A random suffix keeps the names of two test CAs apart (OpenSSL looks issuers up by name first).
  const caName = `${CA_NAME} ${randomBytes(4).toString('hex')}`;
  const caSubject: NameAttribute[] = [
    { type: OID_ORGANIZATION, value: 'Gridseam test PKI' },
    { type: OID_COMMON_NAME, value: caName },
  ];
  const caCertificate = issueCertificate({
    role: 'ca',
    publicKey: caKeys.publicKey,
    subject: caSubject,
    selfSignKey: caKeys.privateKey,
    policies: [POLICY_ANY],
    ...validity,
  });
  const issuer: CertificateIssuer = {
    name: caSubject,
    privateKey: caKeys.privateKey,
    keyIdentifier: caCertificate.subjectKeyIdentifier,
  };

  const endEntity = async (name: string, extraHostnames: readonly string[]): Promise<PkiEndEntity> => {
    const keys = await p256KeyPair();
    // §6.11: a device certificate's Subject is empty; it is identified by its HardwareModuleName and LFDI.
    const { der } = issueCertificate({
      role: 'end-entity',
      publicKey: keys.publicKey,
      subject: [],
      issuer,
      policies: [POLICY_DEVICE_GENERIC, POLICY_TEST_CERTIFICATE],
      hardwareModule: { type: hardwareType, serialNumber: name },
      hostnames: extraHostnames,
      ...validity,
    });
    const lfdi = lfdiFromCertificate(der);
    return {
      name,
      lfdi,
      sfdi: sfdiFromLfdi(lfdi),
      hardwareSerialNumber: name,
      certificateDer: der,
      certificatePem: pemFromCertificateDer(der),
      keyPem: keyPem(keys.privateKey),
    };
  };

  const server = await endEntity('server', hostnames);
  const clients: PkiClient[] = [];
  for (const spec of specs) clients.push({ ...(await endEntity(spec.name, [])), kind: spec.kind });
  return {
    ca: {
      name: caName,
      certificateDer: caCertificate.der,
      certificatePem: pemFromCertificateDer(caCertificate.der),
      keyPem: keyPem(caKeys.privateKey),
    },
    server: { ...server, hostnames },
    clients,
  };
}

export interface PkiFiles {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS#8). */
  key: string;
  /** DER certificate, the bytes the LFDI is hashed over (the EPRI client loads `.x509` files). */
  x509: string;
}

export interface TestPkiManifest {
  format: typeof TEST_PKI_FORMAT;
  version: 1;
  note: string;
  ca: { name: string; files: PkiFiles };
  server: { name: string; lfdi: string; sfdi: number; hostnames: string[]; files: PkiFiles };
  clients: Array<{ name: string; kind: PkiClientKind; lfdi: string; sfdi: number; files: PkiFiles }>;
}

function filesFor(base: string): PkiFiles {
  return { cert: `${base}.cert.pem`, key: `${base}.key.pem`, x509: `${base}.x509` };
}

function manifestOf(pki: TestPki): TestPkiManifest {
  return {
    format: TEST_PKI_FORMAT,
    version: 1,
    note: 'IEEE 2030.5 TEST certificates with unencrypted private keys: for tests and development only. Paths are relative to this file.',
    ca: { name: pki.ca.name, files: filesFor('ca') },
    server: {
      name: pki.server.name,
      lfdi: pki.server.lfdi,
      sfdi: pki.server.sfdi,
      hostnames: pki.server.hostnames,
      files: filesFor('server'),
    },
    clients: pki.clients.map((client) => ({
      name: client.name,
      kind: client.kind,
      lfdi: client.lfdi,
      sfdi: client.sfdi,
      files: filesFor(`clients/${client.name}`),
    })),
  };
}

/** A manifest path resolved inside `dir`; anything pointing elsewhere is refused. */
function insideDir(dir: string, path: unknown): string {
  if (typeof path !== 'string' || path === '' || isAbsolute(path))
    throw invalid(`${TEST_PKI_MANIFEST}: file path ${JSON.stringify(path)} is not a relative path`);
  const full = resolve(dir, normalize(path));
  const rel = relative(dir, full);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel))
    throw invalid(`${TEST_PKI_MANIFEST}: file path ${JSON.stringify(path)} leaves the PKI folder`);
  return full;
}

/** True when `dir` already holds a test PKI (its manifest or its CA certificate). */
export function hasTestPki(dir: string): boolean {
  return existsSync(join(dir, TEST_PKI_MANIFEST)) || existsSync(join(dir, filesFor('ca').cert));
}

async function removePrevious(dir: string): Promise<void> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(join(dir, TEST_PKI_MANIFEST), 'utf8'));
  } catch {
    return;
  }
  const entries = [
    (manifest as Partial<TestPkiManifest>).ca,
    (manifest as Partial<TestPkiManifest>).server,
    ...(Array.isArray((manifest as Partial<TestPkiManifest>).clients)
      ? ((manifest as TestPkiManifest).clients as unknown[])
      : []),
  ];
  for (const entry of entries) {
    const files = (entry as { files?: Record<string, unknown> } | undefined)?.files;
    if (typeof files !== 'object' || files === null) continue;
    for (const path of Object.values(files)) {
      let full: string;
      try {
        full = insideDir(dir, path);
      } catch {
        continue; // a hand-edited manifest pointing outside the folder: leave that file alone
      }
      await rm(full, { force: true });
    }
  }
}

/**
 * Writes the PKI to `dir` (created if needed): ca.*, server.*, clients/NAME.* (each .cert.pem, .key.pem,
 * .x509) and pki.json, the manifest (returned). Keys are written with mode 0600. A folder that already holds
 * a PKI is refused with GW_ERR_CONFLICT unless `overwrite`; then the files its manifest lists are removed first.
 */
export async function writeTestPki(
  pki: TestPki,
  dir: string,
  options: { overwrite?: boolean } = {},
): Promise<TestPkiManifest> {
  const root = resolve(dir);
  if (hasTestPki(root)) {
    if (!options.overwrite)
      throw new GridseamError('GW_ERR_CONFLICT', `${root} already holds a test PKI (${TEST_PKI_MANIFEST})`);
    await removePrevious(root);
  }
  const manifest = manifestOf(pki);
  await mkdir(join(root, 'clients'), { recursive: true });
  const write = async (files: PkiFiles, credential: PkiCredential) => {
    await writeFile(insideDir(root, files.cert), credential.certificatePem);
    await writeFile(insideDir(root, files.x509), credential.certificateDer);
    await writeFile(insideDir(root, files.key), credential.keyPem, { mode: 0o600 });
  };
  await write(manifest.ca.files, pki.ca);
  await write(manifest.server.files, pki.server);
  for (const [index, client] of pki.clients.entries()) {
    const entry = manifest.clients[index];
    if (entry) await write(entry.files, client);
  }
  await writeFile(join(root, TEST_PKI_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function objectField(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${TEST_PKI_MANIFEST}: ${what} is not an object`);
  return value as Record<string, unknown>;
}

function stringField(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalid(`${TEST_PKI_MANIFEST}: ${what} is not a string`);
  return value;
}

/**
 * Reads a PKI written by writeTestPki. The LFDI and SFDI are recomputed from each `.x509` file and must
 * match the manifest (GW_ERR_VALIDATION otherwise); a missing folder or file is an OS error (ENOENT).
 */
export async function readTestPki(dir: string): Promise<TestPki> {
  const root = resolve(dir);
  let parsed: unknown;
  const text = await readFile(join(root, TEST_PKI_MANIFEST), 'utf8');
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new GridseamError('GW_ERR_MALFORMED', `${join(root, TEST_PKI_MANIFEST)} is not JSON`, { cause: error });
  }
  const manifest = objectField(parsed, 'the manifest');
  if (manifest.format !== TEST_PKI_FORMAT || manifest.version !== 1)
    throw invalid(`${join(root, TEST_PKI_MANIFEST)} is not a version 1 ${TEST_PKI_FORMAT} manifest`);

  const credential = async (entry: Record<string, unknown>, what: string): Promise<PkiCredential> => {
    const files = objectField(entry.files, `${what}.files`);
    const der = new Uint8Array(await readFile(insideDir(root, files.x509)));
    return {
      certificatePem: await readFile(insideDir(root, files.cert), 'utf8'),
      certificateDer: der,
      keyPem: await readFile(insideDir(root, files.key), 'utf8'),
    };
  };
  const endEntity = async (entry: Record<string, unknown>, what: string): Promise<PkiEndEntity> => {
    const loaded = await credential(entry, what);
    const lfdi = lfdiFromCertificate(loaded.certificateDer);
    if (entry.lfdi !== lfdi || entry.sfdi !== sfdiFromLfdi(lfdi))
      throw invalid(`${TEST_PKI_MANIFEST}: ${what} LFDI/SFDI do not match its .x509 certificate`);
    const name = stringField(entry.name, `${what}.name`);
    return { ...loaded, name, lfdi, sfdi: sfdiFromLfdi(lfdi), hardwareSerialNumber: name };
  };

  const caEntry = objectField(manifest.ca, 'ca');
  const serverEntry = objectField(manifest.server, 'server');
  const hostnames = Array.isArray(serverEntry.hostnames)
    ? serverEntry.hostnames.map((h, i) => stringField(h, `server.hostnames[${i}]`))
    : [];
  if (!Array.isArray(manifest.clients)) throw invalid(`${TEST_PKI_MANIFEST}: clients is not a list`);
  const clients: PkiClient[] = [];
  for (const [index, raw] of manifest.clients.entries()) {
    const entry = objectField(raw, `clients[${index}]`);
    const kind = entry.kind;
    if (kind !== 'device' && kind !== 'aggregator')
      throw invalid(`${TEST_PKI_MANIFEST}: clients[${index}].kind is not 'device' or 'aggregator'`);
    clients.push({ ...(await endEntity(entry, `clients[${index}]`)), kind });
  }
  return {
    ca: { ...(await credential(caEntry, 'ca')), name: stringField(caEntry.name, 'ca.name') },
    server: { ...(await endEntity(serverEntry, 'server')), hostnames },
    clients,
  };
}
