/**
 * The demo's data folder (`--data`, default ./gridseam-demo-data):
 *
 *   pki/          the test PKI (CA, a server certificate for 127.0.0.1 and localhost, the aggregator
 *                 client certificate), made on the first run and reused after
 *   tokens.json   the operator and viewer API tokens (mode 0600), made on the first run
 *   gateway.sqlite, utility.sqlite, vtn.sqlite
 *                 the gateway's, the 2030.5 utility server's and the OpenADR VTN's databases; each
 *                 run starts them afresh (the previous run's are replaced), so a summary is one run's
 *   demo.log      the components' log (warnings and errors; every line with --verbose)
 *
 * Every failure to use the folder names it: a DemoStartError when the system refuses (exit 1), a
 * GW_ERR_CONFIG when it holds files the demo did not make (exit 2: pick another --data).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTestPki, hasTestPki, readTestPki, type TestPki, writeTestPki } from '@gridseam/ieee2030-5';
import { DemoStartError, demoUsageError, fsReason } from './errors.ts';

export const AGGREGATOR_CLIENT = 'demo-aggregator';
export const SERVER_HOSTNAMES = ['127.0.0.1', 'localhost'] as const;
const TOKENS_FORMAT = 'gridseam.demo.tokens';
const DATABASES = ['gateway.sqlite', 'utility.sqlite', 'vtn.sqlite'] as const;

export interface DemoTokens {
  operator: string;
  viewer: string;
}

export interface DemoPaths {
  dir: string;
  pkiDir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  aggregatorCert: string;
  aggregatorKey: string;
  tokens: string;
  gatewayDb: string;
  utilityDb: string;
  vtnDb: string;
  log: string;
}

export interface DemoData {
  paths: DemoPaths;
  pki: TestPki;
  aggregatorLfdi: string;
  caPem: string;
  tokens: DemoTokens;
  /** True when this run made the PKI (first run). */
  pkiCreated: boolean;
  tokensCreated: boolean;
}

export function demoPaths(dir: string): DemoPaths {
  const root = resolve(dir);
  const pkiDir = join(root, 'pki');
  return {
    dir: root,
    pkiDir,
    caCert: join(pkiDir, 'ca.cert.pem'),
    serverCert: join(pkiDir, 'server.cert.pem'),
    serverKey: join(pkiDir, 'server.key.pem'),
    aggregatorCert: join(pkiDir, 'clients', `${AGGREGATOR_CLIENT}.cert.pem`),
    aggregatorKey: join(pkiDir, 'clients', `${AGGREGATOR_CLIENT}.key.pem`),
    tokens: join(root, 'tokens.json'),
    gatewayDb: join(root, 'gateway.sqlite'),
    utilityDb: join(root, 'utility.sqlite'),
    vtnDb: join(root, 'vtn.sqlite'),
    log: join(root, 'demo.log'),
  };
}

/** Creates the folder when needed and proves it writable (a probe file written and removed). */
async function ensureWritable(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    const probe = join(dir, `.write-test-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    throw new DemoStartError(`cannot write the data folder ${dir} (${fsReason(error)}); pick another with --data DIR`, {
      cause: error,
    });
  }
}

/** The PKI of an earlier run, or a new one; a folder holding some other PKI is refused, never overwritten. */
async function ensurePki(paths: DemoPaths): Promise<{ pki: TestPki; created: boolean }> {
  if (!hasTestPki(paths.pkiDir)) {
    const pki = await createTestPki({
      clients: [{ name: AGGREGATOR_CLIENT, kind: 'aggregator' }],
      serverHostnames: [...SERVER_HOSTNAMES],
    });
    try {
      await writeTestPki(pki, paths.pkiDir);
    } catch (error) {
      throw new DemoStartError(`cannot write the test PKI to ${paths.pkiDir} (${fsReason(error)})`, { cause: error });
    }
    return { pki, created: true };
  }
  let pki: TestPki;
  try {
    pki = await readTestPki(paths.pkiDir);
  } catch (error) {
    throw demoUsageError(
      `${paths.pkiDir} holds a test PKI the demo cannot read (${fsReason(error)}); remove the folder to make a new one, or pick another --data`,
    );
  }
  const aggregator = pki.clients.find((c) => c.name === AGGREGATOR_CLIENT && c.kind === 'aggregator');
  if (aggregator === undefined || !pki.server.hostnames.includes('127.0.0.1'))
    throw demoUsageError(
      `${paths.pkiDir} holds a test PKI the demo did not make (no ${AGGREGATOR_CLIENT} aggregator certificate or no 127.0.0.1 server name); remove the folder or pick another --data`,
    );
  return { pki, created: false };
}

function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The tokens of an earlier run, or new ones written with mode 0600. */
async function ensureTokens(path: string): Promise<{ tokens: DemoTokens; created: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new DemoStartError(`cannot read ${path} (${fsReason(error)})`, { cause: error });
  }
  if (text !== undefined) {
    const parsed = (() => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })();
    const ok = (value: unknown): value is string => typeof value === 'string' && /^[A-Za-z0-9_-]{16,256}$/.test(value);
    if (parsed?.format !== TOKENS_FORMAT || !ok(parsed.operator) || !ok(parsed.viewer))
      throw demoUsageError(`${path} is not a demo token file; remove it to make new tokens, or pick another --data`);
    await chmod(path, 0o600).catch(() => undefined);
    return { tokens: { operator: parsed.operator, viewer: parsed.viewer }, created: false };
  }
  const tokens = { operator: newToken(), viewer: newToken() };
  const body = {
    format: TOKENS_FORMAT,
    note: 'API tokens of gridseam demo: operator (may change setpoints) and viewer (read-only).',
    ...tokens,
  };
  try {
    await writeFile(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  } catch (error) {
    throw new DemoStartError(`cannot write ${path} (${fsReason(error)})`, { cause: error });
  }
  return { tokens, created: true };
}

/** Removes the previous run's databases (and their WAL/SHM files). */
async function clearDatabases(dir: string): Promise<void> {
  for (const name of DATABASES)
    for (const suffix of ['', '-wal', '-shm', '-journal']) {
      const file = join(dir, `${name}${suffix}`);
      try {
        await rm(file, { force: true });
      } catch (error) {
        throw new DemoStartError(`cannot remove the previous run's ${file} (${fsReason(error)})`, { cause: error });
      }
    }
}

export async function prepareDemoData(dir: string): Promise<DemoData> {
  const paths = demoPaths(dir);
  await ensureWritable(paths.dir);
  const { pki, created: pkiCreated } = await ensurePki(paths);
  const { tokens, created: tokensCreated } = await ensureTokens(paths.tokens);
  await clearDatabases(paths.dir);
  const aggregator = pki.clients.find((c) => c.name === AGGREGATOR_CLIENT);
  if (aggregator === undefined) throw new DemoStartError('the test PKI has no aggregator certificate');
  return {
    paths,
    pki,
    aggregatorLfdi: aggregator.lfdi,
    caPem: pki.ca.certificatePem,
    tokens,
    pkiCreated,
    tokensCreated,
  };
}
