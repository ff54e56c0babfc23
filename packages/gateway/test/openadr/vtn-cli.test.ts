import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { binPath, cleanEnv, runCli } from '../cli/helpers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

/**
 * The real `gridseam openadr vtn` binary: a config in a temp folder with secrets in the environment, a program
 * created by BL and read with a VEN token over HTTP, SIGTERM, and a restart on the same SQLite file.
 */

const temp = useTempDir('gridseam-openadr-vtn-cli-');
const ENV = {
  VTN_TOKEN_SECRET: 'cli-test-token-secret-0123456789abcdef',
  VTN_BL_SECRET: 'bl-cli-secret',
};
const VEN_SECRET = 'ven-cli-secret';

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | string>;
}

function startVtnCli(configPath: string, cwd: string): Promise<Running> {
  const child = spawn(process.execPath, [binPath, 'openadr', 'vtn', '--config', configPath], {
    cwd,
    env: cleanEnv(ENV),
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
      reject(new Error(`openadr vtn did not start; stderr: ${stderr}\nstdout: ${lines.join('\n')}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const line of complete) {
        lines.push(line);
        let entry: { msg?: string; url?: string } | undefined;
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry?.msg?.includes('VTN listening') && entry.url) {
          clearTimeout(guard);
          resolve({ child, url: entry.url, lines, stderr: () => stderr, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(guard);
      reject(new Error(`openadr vtn exited (${code}) before listening; stderr: ${stderr}`));
    });
  });
}

async function stop(running: Running): Promise<number | string> {
  running.child.kill('SIGTERM');
  return running.exited;
}

async function token(url: string, clientId: string, secret: string): Promise<string> {
  const response = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { access_token: string }).access_token;
}

function configText(): string {
  const venDigest = createHash('sha256').update(VEN_SECRET).digest('hex');
  return `version: '3.1.0'
listen: { host: 127.0.0.1, port: 0 }
auth:
  tokenSecretEnv: VTN_TOKEN_SECRET
  clients:
    - { clientId: bl-operator, secretEnv: VTN_BL_SECRET, role: bl }
    - { clientId: ven-site-1, secretSha256: ${venDigest}, role: ven, venName: site-1 }
store: { kind: sqlite, path: data/vtn.db }
log: { level: info }
`;
}

describe('gridseam openadr vtn (the real binary)', () => {
  test('BL creates a program, a VEN reads it; SIGTERM exits 0; a restart keeps it', async () => {
    const configPath = await temp.file('vtn.yaml', configText());
    const first = await startVtnCli(configPath, temp.dir());
    let programId = '';
    try {
      assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+\/openadr3\/3\.1\.0$/);
      const bl = await token(first.url, 'bl-operator', ENV.VTN_BL_SECRET);
      const created = await fetch(`${first.url}/programs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bl}`, 'content-type': 'application/json' },
        body: JSON.stringify({ programName: 'cli-program', targets: ['site-1'] }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      programId = ((await created.json()) as { id: string }).id;
      const ven = await token(first.url, 'ven-site-1', VEN_SECRET);
      const read = await fetch(`${first.url}/programs`, { headers: { authorization: `Bearer ${ven}` } });
      assert.equal(read.status, 200);
      const programs = (await read.json()) as Array<{ id: string; programName: string; targets: string[] }>;
      assert.deepEqual(
        programs.map((p) => [p.id, p.programName, p.targets]),
        [[programId, 'cli-program', ['site-1']]],
      );
      const denied = await fetch(`${first.url}/programs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ven}`, 'content-type': 'application/json' },
        body: JSON.stringify({ programName: 'not allowed' }),
      });
      assert.equal(denied.status, 403);
      const wrong = await fetch(`${first.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=ven-site-1&client_secret=wrong',
      });
      assert.equal(wrong.status, 401);
    } finally {
      assert.equal(await stop(first), 0, first.stderr());
    }
    assert.ok(first.lines.some((line) => line.includes('"msg":"OpenADR VTN stopped"')));
    assert.ok(!first.lines.some((line) => line.includes(ENV.VTN_BL_SECRET)), 'secrets are never logged');

    const second = await startVtnCli(configPath, temp.dir());
    try {
      const bl = await token(second.url, 'bl-operator', ENV.VTN_BL_SECRET);
      const read = await fetch(`${second.url}/programs/${programId}`, { headers: { authorization: `Bearer ${bl}` } });
      assert.equal(read.status, 200, 'the program survived the restart');
    } finally {
      assert.equal(await stop(second), 0, second.stderr());
    }
  });

  test('a bad config exits 2 with one line naming the file and key', async () => {
    const bad = await temp.file('bad.yaml', configText().replace("version: '3.1.0'", "version: '3.2'"));
    const result = await runCli(['openadr', 'vtn', '--config', bad], { cwd: temp.dir(), env: cleanEnv(ENV) });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: .*bad\.yaml: version must be one of: 3\.0\.1, 3\.1\.0 \[GW_ERR_CONFIG\]\n$/);
    const good = await temp.file('good.yaml', configText());
    const noEnv = await runCli(['openadr', 'vtn', '--config', good], { cwd: temp.dir(), env: cleanEnv() });
    assert.equal(noEnv.code, 2, noEnv.stderr);
    assert.match(noEnv.stderr, /VTN_BL_SECRET is not set/);
    assert.doesNotMatch(noEnv.stderr, /\n\s+at /);
  });
});
