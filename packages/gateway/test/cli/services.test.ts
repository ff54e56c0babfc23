import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'nats';
import { streamNameFor } from '../../src/bus/index.ts';
import {
  dropPgSchema,
  isNatsReachable,
  isPgReachable,
  NATS_HOST,
  NATS_PORT,
  pgTestSchema,
  pgUrl,
} from '../helpers/services.ts';
import { cleanEnv, repoRoot, runCli, startRun } from './helpers.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gridseam-cli-services-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function deleteStream(prefix: string): Promise<void> {
  const nc = await connect({ servers: `nats://${NATS_HOST}:${NATS_PORT}` });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(streamNameFor(prefix)).catch(() => false);
  } finally {
    await nc.close();
  }
}

test('examples/gateway.postgres.yaml: db migrate, run (PostgreSQL + NATS), devices list', async (t) => {
  if (!(await isPgReachable())) return t.skip(`PostgreSQL not reachable at ${pgUrl()}`);
  if (!(await isNatsReachable())) return t.skip(`NATS not reachable at ${NATS_HOST}:${NATS_PORT}`);
  const schema = pgTestSchema();
  const prefix = `gs_test_${randomBytes(4).toString('hex')}`;
  const example = await readFile(join(repoRoot, 'examples/gateway.postgres.yaml'), 'utf8');
  const text = example
    .replace(/^ {2}url: .*$/m, `  url: ${pgUrl()}`)
    .replace(/^ {2}schema: gridseam\b/m, `  schema: ${schema}`)
    .replace(/^ {2}prefix: gridseam\b/m, `  prefix: ${prefix}`);
  assert.ok(text.includes(schema) && text.includes(prefix), 'the example still has the lines this test rewrites');
  const path = join(dir, 'pg.yaml');
  await writeFile(path, text);
  const env = cleanEnv({ GRIDSEAM_VIEWER_TOKEN: 'v', GRIDSEAM_OPERATOR_TOKEN: 'o', GRIDSEAM_ADMIN_TOKEN: 'a' });
  try {
    const migrate = await runCli(['db', 'migrate', '-c', path], { cwd: dir, env });
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.match(migrate.stdout, /^postgres postgres:\/\/.*: applied \d+ migration\(s\):\n/);

    const gateway = await startRun(['-c', path, '--port', '0'], { cwd: dir, env });
    try {
      const health = (await (await fetch(`${gateway.address}/api/health`)).json()) as { store: string; bus: string };
      assert.deepEqual([health.store, health.bus], ['postgres', 'nats']);
      const devices = await fetch(`${gateway.address}/api/devices`, { headers: { authorization: 'Bearer o' } });
      assert.equal(devices.status, 200);
      assert.deepEqual(
        ((await devices.json()) as Array<{ id: string }>).map((d) => d.id),
        ['bess-sac-1'],
      );
    } finally {
      gateway.child.kill('SIGTERM');
      assert.equal(await gateway.exited, 0, gateway.stderr());
    }

    const list = await runCli(['devices', 'list', '-c', path, '--json'], { cwd: dir, env });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as Array<{ id: string; siteId: string }>).map((d) => [d.id, d.siteId]),
      [['bess-sac-1', 'site-sacramento-01']],
    );
  } finally {
    await dropPgSchema(schema);
    await deleteStream(prefix);
  }
});
