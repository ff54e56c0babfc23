import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { useTempDir } from '../helpers/temp-dir.ts';
import { cleanEnv, exampleConfigText, repoRoot, runCli, startRun } from './helpers.ts';

const temp = useTempDir('gridseam-cli-');
const configFile = temp.file;

function assertNoStack(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at /, `no stack trace expected: ${stderr}`);
}

describe('gridseam: help and version', () => {
  test('--help lists the commands and exits 0', async () => {
    const result = await runCli(['--help'], { cwd: temp.dir() });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: gridseam /);
    for (const command of ['version', 'run', 'db', 'devices', 'config'])
      assert.match(result.stdout, new RegExp(`\\n  ${command}\\b`));
    assert.match(result.stdout, /Exit codes: 0 success, 1 failure, 2 configuration or usage error/);
  });

  test('the subcommands have their own help', async () => {
    const result = await runCli(['devices', 'list', '--help'], { cwd: temp.dir() });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /--site <id>/);
    assert.match(result.stdout, /--json/);
  });

  test('version prints the package and Node.js versions', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'packages/gateway/package.json'), 'utf8')) as {
      version: string;
    };
    const result = await runCli(['version'], { cwd: temp.dir() });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `gridseam ${version} (node ${process.version})\n`);
    const flag = await runCli(['--version'], { cwd: temp.dir() });
    assert.equal(flag.stdout, result.stdout);
  });

  test('an unknown command is a usage error (exit 2) with a suggestion', async () => {
    const result = await runCli(['devices', 'lst'], { cwd: temp.dir() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: unknown command 'lst'/);
    assert.match(result.stderr, /Did you mean list\?/);
  });

  test('a bad --port is a usage error', async () => {
    const result = await runCli(['run', '--port', '70000'], { cwd: temp.dir() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--port <port>' argument '70000' is invalid/);
  });
});

describe('gridseam config check', () => {
  test('the example config is OK', async () => {
    const result = await runCli(['config', 'check', '--config', join(repoRoot, 'examples/gateway.yaml')], {
      cwd: temp.dir(),
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^OK .*examples\/gateway\.yaml: store sqlite .*; bus memory; api 127\.0\.0\.1:8080, 3 token\(s\); fleet 2 site\(s\), 5 device\(s\), 2 group\(s\)\n$/,
    );
  });

  test('an invalid config exits 2 naming the file, the key path and the expectation, without a stack', async () => {
    const path = await configFile('bad-port.yaml', 'api:\n  port: 70000\n');
    const result = await runCli(['config', 'check', '-c', path], { cwd: temp.dir() });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `error: ${path}: api.port must be <= 65535 [GW_ERR_CONFIG]\n`);
  });

  test('a deep fleet error names the full key path', async () => {
    const path = await configFile(
      'bad-fleet.yaml',
      (await exampleConfigText(join(temp.dir(), 'unused.sqlite'))).replace('capacityWh: 13500', 'capacityWh: -5'),
    );
    const result = await runCli(['config', 'check', '-c', path], { cwd: temp.dir() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /fleet\.devices\[3\]\.capabilities\.storage\.capacityWh must be > 0 \[GW_ERR_CONFIG\]/);
    assertNoStack(result.stderr);
  });

  test('a missing file exits 2', async () => {
    const result = await runCli(['config', 'check', '-c', join(temp.dir(), 'nope.yaml')], { cwd: temp.dir() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /nope\.yaml: cannot read the configuration file \(no such file\) \[GW_ERR_CONFIG\]/);
  });

  test('without --config it uses ./gridseam.yaml, or says to pass --config', async () => {
    const empty = await mkdtemp(join(temp.dir(), 'empty-'));
    const missing = await runCli(['config', 'check'], { cwd: empty });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: no configuration file: pass --config FILE/);
    await writeFile(join(empty, 'gridseam.yaml'), 'api: { port: 9999 }\n');
    const found = await runCli(['config', 'check'], { cwd: empty });
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /gridseam\.yaml: .*api 127\.0\.0\.1:9999/);
  });

  test('a tokenEnv variable must be set', async () => {
    const path = await configFile(
      'env-token.yaml',
      'api:\n  tokens:\n    - { name: ops, role: operator, tokenEnv: GS_TEST_OPS_TOKEN }\n',
    );
    const unset = await runCli(['config', 'check', '-c', path], { cwd: temp.dir() });
    assert.equal(unset.code, 2);
    assert.match(
      unset.stderr,
      /api\.tokens\[0\]\.tokenEnv: the environment variable GS_TEST_OPS_TOKEN \(token 'ops'\) is not set/,
    );
    const set = await runCli(['config', 'check', '-c', path], {
      cwd: temp.dir(),
      env: cleanEnv({ GS_TEST_OPS_TOKEN: 'x' }),
    });
    assert.equal(set.code, 0, set.stderr);
  });
});

describe('gridseam db migrate and devices list', () => {
  test('migrate creates the database folder, applies the migrations, and is idempotent', async () => {
    const path = await configFile('migrate.yaml', 'store: { kind: sqlite, path: nested/dir/g.sqlite }\n');
    const first = await runCli(['db', 'migrate', '-c', path], { cwd: temp.dir() });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^sqlite .*nested\/dir\/g\.sqlite: applied \d+ migration\(s\):\n( {2}\S+\n)+$/);
    assert.match(first.stdout, /\n {2}0001_\S+\n/);
    assert.ok(existsSync(join(temp.dir(), 'nested/dir/g.sqlite')), 'the file is relative to the config file');
    const second = await runCli(['db', 'migrate', '-c', path], { cwd: temp.dir() });
    assert.equal(second.code, 0);
    assert.match(second.stdout, /: up to date, no migrations to apply\n$/);
    const list = await runCli(['devices', 'list', '-c', path, '--json'], { cwd: temp.dir() });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), []);
  });

  test('devices list on a database that does not exist yet says what to run, and creates nothing', async () => {
    const path = await configFile('fresh.yaml', 'store: { kind: sqlite, path: fresh.sqlite }\n');
    const result = await runCli(['devices', 'list', '-c', path], { cwd: temp.dir() });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /there is no database at .*fresh\.sqlite yet: run `gridseam db migrate`.* \[GW_ERR_STORE_UNAVAILABLE\]/,
    );
    assert.ok(!existsSync(join(temp.dir(), 'fresh.sqlite')));
  });
});

describe('gridseam run', () => {
  test('starts, seeds the fleet, serves the API, and exits 0 on SIGTERM; devices list then reads the store', async () => {
    const sqlite = join(temp.dir(), 'run', 'gateway.sqlite');
    const path = await configFile('run.yaml', await exampleConfigText(sqlite));
    const gateway = await startRun(['-c', path, '--port', '0'], { cwd: temp.dir() });
    let exitCode: number | string;
    try {
      assert.match(gateway.address, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(gateway.address, 'http://127.0.0.1:0');
      const health = await fetch(`${gateway.address}/api/health`);
      assert.equal(health.status, 200);
      const unauthorised = await fetch(`${gateway.address}/api/devices`);
      assert.equal(unauthorised.status, 401);
      const devices = await fetch(`${gateway.address}/api/devices`, {
        headers: { authorization: 'Bearer dev-viewer' },
      });
      assert.equal(devices.status, 200);
      const items = (await devices.json()) as Array<{ id: string }>;
      assert.deepEqual(items.map((d) => d.id).sort(), [
        'bess-oak-1',
        'evse-brk-1',
        'hybrid-brk-1',
        'meter-oak-1',
        'pv-oak-1',
      ]);
    } finally {
      gateway.child.kill('SIGTERM');
      exitCode = await gateway.exited;
    }
    assert.equal(exitCode, 0, gateway.stderr());
    const messages = gateway.lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.ok(messages.includes('shutting down'), messages.join('\n'));
    assert.ok(messages.includes('gateway stopped'), messages.join('\n'));
    assert.ok(!gateway.lines.join('\n').includes('dev-viewer"'), 'the bearer token is never logged');

    const table = await runCli(['devices', 'list', '-c', path], { cwd: temp.dir() });
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trimEnd().split('\n');
    assert.match(rows[0] ?? '', /^ID\s+SITE\s+CLASS\s+ENABLED\s+ADAPTER\s+NAME$/);
    assert.equal(rows.length, 6);
    assert.match(table.stdout, /\nbess-oak-1\s+site-oakland-01\s+battery\s+yes\s+simulator\s+Warehouse battery\n/);

    const json = await runCli(['devices', 'list', '-c', path, '--json', '--site', 'site-berkeley-02'], {
      cwd: temp.dir(),
    });
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as Array<{ id: string; siteId: string }>;
    assert.deepEqual(
      listed.map((d) => d.id),
      ['evse-brk-1', 'hybrid-brk-1'],
    );
  });

  test('a second start with the same file seeds nothing new, and a changed file updates the object', async () => {
    const sqlite = join(temp.dir(), 'reseed', 'gateway.sqlite');
    const original = await exampleConfigText(sqlite);
    const path = await configFile('reseed.yaml', original);
    for (const text of [original, original.replace('name: Garage charger', 'name: Garage charger (renamed)')]) {
      await writeFile(path, text);
      const gateway = await startRun(['-c', path, '--port', '0'], { cwd: temp.dir() });
      gateway.child.kill('SIGTERM');
      assert.equal(await gateway.exited, 0, gateway.stderr());
    }
    const json = await runCli(['devices', 'list', '-c', path, '--json', '--site', 'site-berkeley-02'], {
      cwd: temp.dir(),
    });
    const listed = JSON.parse(json.stdout) as Array<{ id: string; name: string }>;
    assert.equal(listed.find((d) => d.id === 'evse-brk-1')?.name, 'Garage charger (renamed)');
  });

  test('a start that fails (port taken) exits 1 with the reason', async () => {
    const sqlite = join(temp.dir(), 'busy', 'gateway.sqlite');
    const path = await configFile('busy.yaml', await exampleConfigText(sqlite));
    const first = await startRun(['-c', path, '--port', '0'], { cwd: temp.dir() });
    try {
      const port = new URL(first.address).port;
      const second = await runCli(['run', '-c', path, '--port', port], { cwd: temp.dir() });
      assert.equal(second.code, 1);
      assert.match(second.stderr, /error: .*EADDRINUSE/);
      assertNoStack(second.stderr);
    } finally {
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);
    }
  });
});
