import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { createTestPki, writeTestPki } from '@gridseam/ieee2030-5';
import { binPath, cleanEnv, runCli } from '../cli/helpers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

/**
 * The real `gridseam utility-server` binary: a config, a scenario and a test PKI in a temp folder,
 * 2030.5 GETs over mutual TLS with a client certificate, the admin API over HTTP, SIGTERM, and a
 * restart on the same SQLite file.
 */

const temp = useTempDir('gridseam-utility-cli-');
const OPERATOR = 'operator-secret';

interface Client {
  lfdi: string;
  sfdi: number;
  cert: Buffer;
  key: Buffer;
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  sepPort: number;
  adminPort: number;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | string>;
}

function startUtility(args: readonly string[], cwd: string): Promise<Running> {
  const child = spawn(process.execPath, [binPath, 'utility-server', ...args], {
    cwd,
    env: cleanEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    // A fail-safe so a broken start fails the test instead of hanging it; not a timing assertion.
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`utility-server did not start; stderr: ${stderr}\nstdout: ${lines.join('\n')}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const line of complete) {
        lines.push(line);
        let entry: { msg?: string; sep?: string; admin?: string } | undefined;
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry?.msg?.startsWith('utility server listening') && entry.sep && entry.admin) {
          clearTimeout(guard);
          resolve({
            child,
            sepPort: Number(new URL(entry.sep).port),
            adminPort: Number(new URL(entry.admin).port),
            lines,
            stderr: () => stderr,
            exited,
          });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(guard);
      reject(new Error(`utility-server exited (${code}) before listening; stderr: ${stderr}`));
    });
  });
}

async function stop(running: Running): Promise<number | string> {
  running.child.kill('SIGTERM');
  return running.exited;
}

/** GET over mutual TLS 1.2 with the 2030.5 suite; the test server certificate names no host. */
function sepGet(port: number, path: string, client: Client, ca: Buffer) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        cert: client.cert,
        key: client.key,
        ca,
        ciphers: 'ECDHE-ECDSA-AES128-CCM8',
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.2',
        checkServerIdentity: () => undefined,
        agent: false,
        headers: { accept: 'application/sep+xml' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function admin(port: number, method: string, path: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${OPERATOR}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as unknown };
}

describe('gridseam utility-server (the real binary)', () => {
  let device: Client;
  let ca: Buffer;
  let configPath = '';
  let scenarioPath = '';
  let configText = '';

  before(async () => {
    const operatorDigest = createHash('sha256').update(OPERATOR).digest('hex');
    const pkiDir = join(temp.dir(), 'pki');
    const manifest = await writeTestPki(
      await createTestPki({
        clients: [
          { name: 'device-1', kind: 'device' },
          { name: 'aggregator-1', kind: 'aggregator' },
        ],
      }),
      pkiDir,
    );
    const entry = manifest.clients.find((c) => c.name === 'device-1');
    assert.ok(entry);
    device = {
      lfdi: entry.lfdi,
      sfdi: entry.sfdi,
      cert: await readFile(join(pkiDir, entry.files.cert)),
      key: await readFile(join(pkiDir, entry.files.key)),
    };
    ca = await readFile(join(pkiDir, manifest.ca.files.cert));
    configText = `profile: csip-aus
listen: { host: 127.0.0.1, port: 0 }
tls:
  key: pki/${manifest.server.files.key}
  cert: pki/${manifest.server.files.cert}
  ca: pki/${manifest.ca.files.cert}
variances:
  pollRates: { DERProgramList: 60 }
  aggregators: [ ${manifest.clients.find((c) => c.name === 'aggregator-1')?.lfdi} ]
store: { kind: sqlite, path: data/utility.db }
admin:
  port: 0
  tokens: [ { name: lab, role: operator, tokenSha256: ${operatorDigest} } ]
log: { level: info }
`;
    configPath = await temp.file('utility.yaml', configText);
    scenarioPath = await temp.file(
      'scenario.yaml',
      `endDevices:
  - { lfdi: ${device.lfdi.toUpperCase()}, pin: 111115, nmi: '4102345678' }
programs:
  - { id: doe, description: Dynamic exports, primacy: 10 }
defaultControls:
  - { program: doe, opModExpLimW: 1500 }
controls:
  - { id: first, program: doe, start: -60, duration: 3600, opModExpLimW: 5000 }
`,
    );
  });

  test('serves /dcap and /edev over mutual TLS, the admin API over HTTP; SIGTERM exits 0; a restart keeps state', async () => {
    const first = await startUtility(['--config', configPath, '--scenario', scenarioPath], temp.dir());
    let createdMrid = '';
    try {
      const dcap = await sepGet(first.sepPort, '/dcap', device, ca);
      assert.equal(dcap.status, 200, dcap.body);
      assert.match(String(dcap.headers['content-type']), /application\/sep\+xml/);
      assert.equal(dcap.headers['transfer-encoding'], undefined, 'never chunked');
      assert.equal(Number(dcap.headers['content-length']), Buffer.byteLength(dcap.body));
      assert.match(dcap.body, /<DeviceCapability\b/);
      const edevHref = /<EndDeviceListLink\b[^>]*\bhref="([^"]+)"/.exec(dcap.body)?.[1];
      assert.ok(edevHref, dcap.body);
      const edev = await sepGet(first.sepPort, `${edevHref}?s=0&l=10`, device, ca);
      assert.equal(edev.status, 200, edev.body);
      assert.match(edev.body, /<EndDeviceList\b/);
      assert.ok(edev.body.toLowerCase().includes(device.lfdi.toLowerCase()), edev.body);

      const created = await admin(first.adminPort, 'POST', '/admin/programs/doe/controls', {
        startInS: 600,
        duration: 600,
        base: { opModExpLimW: { multiplier: 0, value: 0 } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      createdMrid = (created.json as { controls: Array<{ mRID: string }> }).controls[0]?.mRID ?? '';
      assert.match(createdMrid, /^[0-9a-f]{32}$/);
    } finally {
      assert.equal(await stop(first), 0, first.stderr());
    }
    assert.ok(first.lines.some((line) => line.includes('"msg":"utility server stopped"')));

    const second = await startUtility(['--config', configPath, '--scenario', scenarioPath], temp.dir());
    try {
      const applied = second.lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((e) => e.msg === 'scenario applied');
      assert.deepEqual(applied?.created, { endDevices: 0, programs: 0, defaultControls: 0, controls: 0 });
      const control = await admin(second.adminPort, 'GET', `/admin/controls/${createdMrid}`);
      assert.equal(control.status, 200, 'the control created through the admin API survived the restart');
      const devices = await admin(second.adminPort, 'GET', '/admin/end-devices');
      assert.equal((devices.json as unknown[]).length, 2, 'the device and the aggregator, once each');
      const edev = await sepGet(second.sepPort, '/dcap', device, ca);
      assert.equal(edev.status, 200);
    } finally {
      assert.equal(await stop(second), 0, second.stderr());
    }
  });

  test('a bad config exits 2 with one line naming the file and key, no stack', async () => {
    const bad = await temp.file('bad.yaml', configText.replace('profile: csip-aus', 'profile: csip-us'));
    const result = await runCli(['utility-server', '--config', bad], { cwd: temp.dir() });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: .*bad\.yaml: profile must be one of: csip, csip-aus \[GW_ERR_CONFIG\]\n$/);
    const badScenario = await temp.file('bad-scenario.yaml', 'controls: [ { program: doe, duration: 0 } ]\n');
    const scenario = await runCli(['utility-server', '--config', configPath, '--scenario', badScenario], {
      cwd: temp.dir(),
    });
    assert.equal(scenario.code, 2, scenario.stderr);
    assert.match(scenario.stderr, /bad-scenario\.yaml: controls\[0\]\.duration must be >= 1 \[GW_ERR_CONFIG\]\n$/);
    assert.doesNotMatch(scenario.stderr, /\n\s+at /);
    const missingTls = await temp.file('missing-tls.yaml', configText.replace(/key: pki\/\S+/, 'key: pki/none.pem'));
    const tls = await runCli(['utility-server', '--config', missingTls], { cwd: temp.dir() });
    assert.equal(tls.code, 2, tls.stderr);
    assert.match(tls.stderr, /tls\.key: cannot read .*none\.pem \(no such file\) \[GW_ERR_CONFIG\]/);
    const noConfig = await runCli(['utility-server'], { cwd: temp.dir() });
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /required option '-c, --config <file>'/);
  });

  test('a port in use exits 2 naming the key', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const address = blocker.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const taken = await temp.file(
        'taken.yaml',
        configText
          .replace('listen: { host: 127.0.0.1, port: 0 }', `listen: { host: 127.0.0.1, port: ${port} }`)
          .replace('data/utility.db', 'data/taken.db'),
      );
      const result = await runCli(['utility-server', '--config', taken], { cwd: temp.dir() });
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(
          `error: listen\\.port: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use \\[GW_ERR_CONFIG\\]`,
        ),
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
