import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { documentVtnStore, parseVtnConfig, startOpenAdrVtn, vtnOptionsFromConfig } from '../../src/openadr/vtn.ts';
import { openStore } from '../../src/store/index.ts';
import { repoRoot } from '../cli/helpers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

/** The `gridseam openadr vtn` config (loading, errors, secrets) and the VTN's objects in the gateway store. */

const temp = useTempDir('gridseam-openadr-vtn-config-');
const SECRET = 'config-test-token-secret-0123456789';

function configError(text: string): string {
  try {
    parseVtnConfig(text, 'vtn.yaml');
  } catch (error) {
    assert.ok(GridseamError.is(error));
    assert.equal(error.code, 'GW_ERR_CONFIG');
    return error.message;
  }
  assert.fail('expected a config error');
}

describe('openadr vtn config', () => {
  test('examples/openadr-vtn.yaml parses and resolves its paths against its folder', async () => {
    const file = join(repoRoot, 'examples/openadr-vtn.yaml');
    const config = parseVtnConfig(await readFile(file, 'utf8'), file);
    assert.equal(config.version, '3.1.0');
    assert.equal(config.listen.host, '127.0.0.1');
    assert.equal(config.auth.clients.length, 3);
    assert.deepEqual(config.store, { kind: 'sqlite', path: join(repoRoot, 'data/openadr-vtn.db') });
    const options = await vtnOptionsFromConfig(config, {
      VTN_TOKEN_SECRET: SECRET,
      VTN_BL_SECRET: 'a',
      VTN_VEN1_SECRET: 'b',
    });
    assert.equal(options.auth.issuer.kind, 'internal');
    assert.equal(options.auth.clients?.[0]?.secret, 'a');
  });

  test('errors name the key and what is expected', () => {
    const base = `version: '3.1.0'\nauth:\n  tokenSecretEnv: T\n  clients: []\n`;
    assert.match(configError(`${base}listen: { prot: 1 }\n`), /listen\.prot/);
    assert.match(configError("version: '3.1.0'\nauth: { clients: [] }\n"), /exactly one of tokenSecretEnv/);
    assert.match(
      configError("version: '3.1.0'\nauth:\n  tokenSecretEnv: T\n  clients: [ { clientId: a, role: ven } ]\n"),
      /auth\.clients\[0\] must have exactly one of secretSha256/,
    );
    assert.match(
      configError(
        "version: '3.1.0'\nauth:\n  tokenSecretEnv: T\n  clients:\n    - { clientId: a, role: ven, secretEnv: A }\n    - { clientId: a, role: bl, secretEnv: B }\n",
      ),
      /duplicates auth\.clients\[0\]\.clientId/,
    );
    assert.match(
      configError(
        "version: '3.1.0'\nauth:\n  tokenSecretEnv: T\n  clients: [ { clientId: a, role: bl, secretEnv: A, venName: x } ]\n",
      ),
      /venName only applies to role ven/,
    );
    assert.match(configError('version: 3.1\nauth: { tokenSecretEnv: T }\n'), /version must be one of/);
  });

  test('secrets come from the environment; a missing or short one stops the start', async () => {
    const config = parseVtnConfig(
      "version: '3.0.1'\nauth:\n  tokenSecretEnv: T\n  clients: [ { clientId: a, role: ven, secretEnv: A } ]\n",
      'vtn.yaml',
    );
    await assert.rejects(
      vtnOptionsFromConfig(config, { T: SECRET }, 'vtn.yaml'),
      /auth\.clients\[0\]\.secretEnv: the environment variable A/,
    );
    await assert.rejects(vtnOptionsFromConfig(config, { T: 'short', A: 'x' }, 'vtn.yaml'), /at least 32 bytes/);
    const options = await vtnOptionsFromConfig(config, { T: SECRET, A: 'x' });
    assert.equal(options.version, '3.0.1');
  });

  test('ES256 key files and external issuers are read at start', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await temp.file('signing.pem', privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    await temp.file('issuer.pem', publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const es256 = parseVtnConfig(
      "version: '3.1.0'\nauth:\n  keys: { es256PrivateKey: signing.pem }\n  clients: []\n",
      join(temp.dir(), 'vtn.yaml'),
    );
    const internal = await vtnOptionsFromConfig(es256, {});
    assert.equal(internal.auth.issuer.kind === 'internal' && internal.auth.issuer.key.alg, 'ES256');
    const external = parseVtnConfig(
      "version: '3.1.0'\nauth:\n  external: { keys: [ { alg: ES256, publicKey: issuer.pem } ], tokenUrl: 'https://auth.example/token' }\n  clients: [ { clientId: v, role: ven, venName: v1 } ]\n",
      join(temp.dir(), 'vtn.yaml'),
    );
    const options = await vtnOptionsFromConfig(external, {});
    assert.equal(options.auth.issuer.kind, 'external');
    const missing = parseVtnConfig(
      "version: '3.1.0'\nauth:\n  keys: { es256PrivateKey: nowhere.pem }\n",
      join(temp.dir(), 'vtn.yaml'),
    );
    await assert.rejects(
      vtnOptionsFromConfig(missing, {}, 'vtn.yaml'),
      /auth\.keys\.es256PrivateKey: cannot read .*no such file/,
    );
  });
});

describe('openadr vtn on the gateway store', () => {
  test('documentVtnStore round-trips records by kind and id; unknown kinds are left out', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    try {
      await store.migrate();
      const vtnStore = documentVtnStore(store, 'vtn-test');
      const doc = { seq: 1, object: { id: 'p1', programName: 'x' }, owner: { clientId: 'bl', role: 'bl' as const } };
      await vtnStore.write([
        { kind: 'program', id: 'p1', doc },
        { kind: 'event', id: 'e1', doc: { seq: 2, object: { id: 'e1' } } },
      ]);
      await store.documents.write('vtn-test', [{ id: 'widget/1', doc: {} }]);
      const loaded = await vtnStore.load();
      assert.deepEqual(
        loaded.map((record) => [record.kind, record.id]),
        [
          ['event', 'e1'],
          ['program', 'p1'],
        ],
      );
      assert.deepEqual(loaded.find((record) => record.kind === 'program')?.doc, doc);
      await vtnStore.write([{ kind: 'event', id: 'e1', doc: null }]);
      assert.equal((await vtnStore.load()).length, 1);
      assert.deepEqual(await documentVtnStore(store, 'other').load(), []);
    } finally {
      await store.close();
    }
  });

  test('startOpenAdrVtn keeps objects across a restart on the same SQLite file', async () => {
    const path = join(temp.dir(), 'vtn-restart.db');
    const config = parseVtnConfig(
      `version: '3.1.0'\nlisten: { port: 0 }\nauth:\n  tokenSecretEnv: T\n  clients: [ { clientId: bl, role: bl, secretEnv: B } ]\nstore: { kind: sqlite, path: ${JSON.stringify(path)} }\n`,
      'vtn.yaml',
    );
    const env = { T: SECRET, B: 'bl-secret' };
    const first = await startOpenAdrVtn(config, { env });
    try {
      const token = first.vtn.issueToken('bl').accessToken;
      const created = await fetch(`${first.url}/programs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ programName: 'kept' }),
      });
      assert.equal(created.status, 201);
    } finally {
      await first.close();
    }
    const second = await startOpenAdrVtn(config, { env });
    try {
      assert.deepEqual(
        second.vtn.objects('program').map((program) => program.programName),
        ['kept'],
      );
      assert.equal(await second.store.documents.count('openadr-vtn-3.1.0'), 1);
    } finally {
      await second.close();
    }
  });
});
