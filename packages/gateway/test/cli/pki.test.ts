/**
 * `gridseam pki init`, run in-process through registerPkiCommand on a fresh commander program with captured
 * output (exit codes mapped as cli/main.ts does: usage errors and GW_ERR_VALIDATION are 2). The LFDI/SFDI it
 * prints are recomputed here, independently, from the `.x509` files it wrote.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { Command, CommanderError } from 'commander';
import { registerPkiCommand } from '../../src/cli/pki.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const temp = useTempDir('gridseam-cli-pki-');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(chunks: string[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
}

/** `gridseam pki ...args` in-process; errors end as in cli/main.ts (message on stderr, exit 1 or 2). */
async function pki(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = sink(out);
  const stderr = sink(err);
  const program = new Command()
    .name('gridseam')
    .exitOverride()
    .configureOutput({ writeOut: (text) => out.push(text), writeErr: (text) => err.push(text) });
  registerPkiCommand(program, { stdout, stderr, env: {}, cwd: temp.dir() });
  let code = 0;
  try {
    await program.parseAsync(['pki', ...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) code = error.exitCode === 0 ? 0 : 2;
    else if (GridseamError.is(error)) {
      err.push(`error: ${error.message} [${error.code}]\n`);
      code = error.code === 'GW_ERR_VALIDATION' || error.code === 'GW_ERR_CONFIG' ? 2 : 1;
    } else throw error;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** LFDI and SFDI computed here from the file bytes (2030.5 §6.3.3/§6.3.4), not with the package's code. */
async function identityOfFile(path: string): Promise<{ lfdi: string; sfdi: number }> {
  const lfdi = createHash('sha256')
    .update(await readFile(path))
    .digest('hex')
    .slice(0, 40);
  const prefix = Number.parseInt(lfdi.slice(0, 9), 16);
  const digitSum = [...String(prefix)].reduce((sum, digit) => sum + Number(digit), 0);
  return { lfdi, sfdi: prefix * 10 + ((10 - (digitSum % 10)) % 10) };
}

interface ManifestJson {
  dir: string;
  ca: { files: { cert: string; key: string; x509: string } };
  server: { name: string; lfdi: string; sfdi: number; hostnames: string[]; files: { x509: string } };
  clients: Array<{
    name: string;
    kind: string;
    lfdi: string;
    sfdi: number;
    files: { cert: string; key: string; x509: string };
  }>;
}

describe('gridseam pki init', () => {
  test('writes the PKI and prints a table whose LFDI/SFDI are those of the written .x509 files', async () => {
    const out = join(temp.dir(), 'table');
    const result = await pki(['init', '--out', out, '--clients', '2', '--aggregators', '1']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /IEEE 2030\.5 test PKI written to .*table/);
    assert.match(result.stdout, /TEST certificates/);
    const lines = result.stdout.trim().split('\n');
    const header = lines.findIndex((line) => line.startsWith('NAME'));
    assert.match(lines[header] ?? '', /^NAME\s+KIND\s+LFDI\s+SFDI\s+CERTIFICATE$/);
    const rows = lines.slice(header + 1).map((line) => line.split(/\s+/));
    assert.deepEqual(
      rows.map(([name, kind]) => [name, kind]),
      [
        ['server', 'server'],
        ['device-1', 'device'],
        ['device-2', 'device'],
        ['aggregator-1', 'aggregator'],
      ],
    );
    for (const [name, , lfdi, sfdi, file] of rows) {
      assert.ok(file, `${name} has a certificate file`);
      const expected = await identityOfFile(join(out, file));
      assert.equal(lfdi, expected.lfdi, `${name}: printed LFDI`);
      assert.equal(Number(sfdi), expected.sfdi, `${name}: printed SFDI`);
    }
    for (const file of ['pki.json', 'ca.cert.pem', 'ca.key.pem', 'server.cert.pem', 'server.key.pem'])
      assert.ok(existsSync(join(out, file)), file);
  });

  test('--json prints the manifest; the default is one device and no aggregator', async () => {
    const out = join(temp.dir(), 'json');
    const result = await pki([
      'init',
      '--out',
      out,
      '--json',
      '--server-host',
      'localhost',
      '--server-host',
      '127.0.0.1',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const manifest = JSON.parse(result.stdout) as ManifestJson;
    assert.equal(manifest.dir, out);
    assert.deepEqual(
      manifest.clients.map((c) => [c.name, c.kind]),
      [['device-1', 'device']],
    );
    assert.deepEqual(manifest.server.hostnames, ['localhost', '127.0.0.1']);
    const client = manifest.clients[0];
    assert.ok(client);
    assert.deepEqual(await identityOfFile(join(out, client.files.x509)), { lfdi: client.lfdi, sfdi: client.sfdi });
    assert.match(await readFile(join(out, client.files.cert), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    assert.match(await readFile(join(out, client.files.key), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    const onDisk = JSON.parse(await readFile(join(out, 'pki.json'), 'utf8')) as Omit<ManifestJson, 'dir'>;
    assert.deepEqual({ dir: out, ...onDisk }, manifest);
  });

  test('an existing PKI is kept (exit 2, a clear message) unless --force replaces it', async () => {
    const out = join(temp.dir(), 'existing');
    const first = await pki(['init', '--out', out, '--clients', '2', '--json']);
    assert.equal(first.code, 0, first.stderr);
    const before = JSON.parse(first.stdout) as ManifestJson;

    const refused = await pki(['init', '--out', out, '--clients', '1']);
    assert.equal(refused.code, 2);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /already holds a test PKI \(pki\.json\): pass --force to replace it/);
    assert.equal((await identityOfFile(join(out, 'clients/device-1.x509'))).lfdi, before.clients[0]?.lfdi);

    const replaced = await pki(['init', '--out', out, '--clients', '1', '--force', '--json']);
    assert.equal(replaced.code, 0, replaced.stderr);
    const after = JSON.parse(replaced.stdout) as ManifestJson;
    assert.equal(after.clients.length, 1);
    assert.notEqual(after.clients[0]?.lfdi, before.clients[0]?.lfdi);
    assert.ok(!existsSync(join(out, 'clients/device-2.x509')), 'the files of the replaced PKI are gone');
  });

  test('bad counts, a missing --out and a bad --server-host are usage errors (exit 2)', async () => {
    const out = join(temp.dir(), 'bad');
    for (const args of [
      ['init', '--out', out, '--clients', '-1'],
      ['init', '--out', out, '--clients', 'many'],
      ['init', '--out', out, '--aggregators', '10001'],
      ['init'],
    ]) {
      const result = await pki(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /error: /, args.join(' '));
    }
    const tooMany = await pki(['init', '--out', out, '--clients', '6000', '--aggregators', '5000']);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /at most 10000/);
    const badHost = await pki(['init', '--out', out, '--server-host', 'not a host']);
    assert.equal(badHost.code, 2);
    assert.match(badHost.stderr, /not a host name or an IP address \[GW_ERR_VALIDATION\]/);
    assert.ok(!existsSync(join(out, 'pki.json')), 'nothing was written');
  });

  test('pki init --help describes the options', async () => {
    const result = await pki(['init', '--help']);
    assert.equal(result.code, 0);
    for (const option of [
      '--out <dir>',
      '--clients <n>',
      '--aggregators <n>',
      '--server-host <host>',
      '--force',
      '--json',
    ])
      assert.ok(result.stdout.includes(option), option);
    assert.match(result.stdout, /unencrypted/);
  });
});
