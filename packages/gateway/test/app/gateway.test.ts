import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { GridseamError, type Reading } from '@gridseam/model';
import { startGateway } from '../../src/app.ts';
import { type GatewayConfig, parseConfig, sha256Hex } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { openStore } from '../../src/store/index.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gridseam-app-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FLEET = `
fleet:
  sites:
    - { id: s1, name: Site one }
  devices:
    - { id: bat-1, siteId: s1, class: battery, adapter: { kind: simulator, address: "sim:bat-1" },
        capabilities: { controls: [fixedW], storage: { capacityWh: 10000, maxChargeW: 5000, maxDischargeW: 5000 } } }
    - { id: pv-1, siteId: s1, class: pv-inverter, adapter: { kind: simulator, address: "sim:pv-1" },
        capabilities: { controls: [generationLimit], ratings: { maxW: 6000 } } }
  groups:
    - { id: g1, name: Group one, kind: group, members: [bat-1, pv-1] }
`;

function config(text: string): GatewayConfig {
  return parseConfig(text, join(dir, 'gateway.yaml'));
}

function memoryConfig(extra = ''): GatewayConfig {
  return config(`
store: { kind: sqlite, path: ':memory:' }
bus: { kind: memory }
api: { port: 0, tokens: [{ name: viewer, role: viewer, tokenSha256: ${sha256Hex('test-viewer')} }] }
telemetry: { flushIntervalMs: 20, batchSize: 100 }
${FLEET}
${extra}`);
}

function logCapture() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { logger: createLogger({ level: 'info', destination: stream }), lines };
}

/** Polls until the check passes; the bound only stops a broken test from hanging, it asserts nothing about speed. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function readings(deviceId: string, from: number, count: number): Reading[] {
  return Array.from({ length: count }, (_, i) => ({
    deviceId,
    ts: from + i * 1000,
    measurand: 'activePower',
    value: 100 + i,
    unit: 'W',
  }));
}

describe('startGateway', () => {
  test('telemetry published on the bus lands in the store and is served by the API', async () => {
    const { logger } = logCapture();
    const gateway = await startGateway(memoryConfig(), { logger });
    try {
      assert.match(gateway.address, /^http:\/\/127\.0\.0\.1:\d+$/);
      const t0 = Date.now() - 60_000;
      await gateway.bus.publish('telemetry', { readings: readings('bat-1', t0, 10) }, { key: 'bat-1' });
      await gateway.bus.publish('telemetry', { readings: readings('pv-1', t0, 5) }, { key: 'pv-1' });
      const stored = await eventually(async () => {
        const rows = await gateway.store.telemetry.query({
          deviceId: 'bat-1',
          measurand: 'activePower',
          from: t0,
          to: t0 + 60_000,
        });
        return rows.length === 10 ? rows : undefined;
      }, 'bat-1 readings in the store');
      assert.deepEqual(
        stored.map((r) => r.value),
        [100, 101, 102, 103, 104, 105, 106, 107, 108, 109],
      );
      await eventually(async () => {
        const rows = await gateway.store.telemetry.query({
          deviceId: 'pv-1',
          measurand: 'activePower',
          from: t0,
          to: t0 + 60_000,
        });
        return rows.length === 5 ? rows : undefined;
      }, 'pv-1 readings in the store');

      const latest = await fetch(`${gateway.address}/api/devices/bat-1/telemetry/latest`, {
        headers: { authorization: 'Bearer test-viewer' },
      });
      assert.equal(latest.status, 200);
      const body = (await latest.json()) as Reading[];
      assert.deepEqual(
        body.map((r) => [r.measurand, r.value]),
        [['activePower', 109]],
      );
    } finally {
      await gateway.close();
    }
  });

  test('an invalid telemetry message is dropped and logged; the valid ones around it are stored', async () => {
    const { logger, lines } = logCapture();
    const gateway = await startGateway(memoryConfig(), { logger });
    try {
      const t0 = Date.now() - 60_000;
      const bad = [{ deviceId: 'pv-1', ts: t0, measurand: 'activePower', value: 5, unit: 'V' }] as Reading[];
      await gateway.bus.publish('telemetry', { readings: readings('bat-1', t0, 2) }, { key: 'bat-1' });
      await gateway.bus.publish('telemetry', { readings: bad }, { key: 'pv-1', id: 'bad-message' });
      await gateway.bus.publish('telemetry', { readings: readings('pv-1', t0 + 5000, 2) }, { key: 'pv-1' });
      const stored = await eventually(async () => {
        const [bat, pv] = await Promise.all(
          ['bat-1', 'pv-1'].map((deviceId) =>
            gateway.store.telemetry.query({ deviceId, measurand: 'activePower', from: t0, to: t0 + 60_000 }),
          ),
        );
        return bat?.length === 2 && pv?.length === 2 ? pv : undefined;
      }, 'the valid readings');
      assert.deepEqual(
        stored.map((r) => r.ts),
        [t0 + 5000, t0 + 6000],
      );
      const warning = lines.find((l) => l.msg === 'telemetry message dropped: invalid readings');
      assert.ok(warning, 'the drop is logged');
      assert.equal(warning.id, 'bad-message');
      assert.deepEqual(warning.issues, [{ path: '/0/unit', message: 'must be W for activePower' }]);
      assert.equal(gateway.bus.stats().failed, 0, 'nothing was retried');
    } finally {
      await gateway.close();
    }
  });

  test('the configured fleet is seeded, with group memberships and audit entries by "config"', async () => {
    const { logger } = logCapture();
    const gateway = await startGateway(memoryConfig(), { logger });
    try {
      assert.deepEqual(
        (await gateway.store.devices.list()).map((d) => [d.id, d.enabled]),
        [
          ['bat-1', true],
          ['pv-1', true],
        ],
      );
      assert.deepEqual(await gateway.store.memberships.membersAt('g1', Date.now()), ['bat-1', 'pv-1']);
      const audit = await gateway.store.audit.list({ actor: 'config' });
      assert.deepEqual(
        audit.map((a) => a.action),
        ['site.create', 'device.create', 'device.create', 'group.create', 'membership.add', 'membership.add'],
      );
    } finally {
      await gateway.close();
    }
  });

  test('a restart re-seeds nothing unchanged; an edit updates; a dropped member is ended', async () => {
    const path = join(dir, 'reseed.sqlite');
    const base = `
store: { kind: sqlite, path: ${JSON.stringify(path)} }
api: { port: 0 }
log: { level: silent }
${FLEET}`;
    const logger = createLogger({ level: 'silent' });
    for (const text of [
      base,
      base,
      base.replace('name: Site one', 'name: Site one renamed').replace('members: [bat-1, pv-1]', 'members: [bat-1]'),
    ]) {
      const gateway = await startGateway(config(text), { logger });
      await gateway.close();
    }
    const store = await openStore({ kind: 'sqlite', path });
    try {
      const actions = (await store.audit.list({ actor: 'config', limit: 1000 })).map((a) => a.action);
      assert.deepEqual(actions, [
        'site.create',
        'device.create',
        'device.create',
        'group.create',
        'membership.add',
        'membership.add',
        // second start: nothing; third start:
        'site.update',
        'membership.end',
      ]);
      assert.equal((await store.sites.get('s1'))?.name, 'Site one renamed');
      assert.deepEqual(await store.memberships.membersAt('g1', Date.now() + 1), ['bat-1']);
    } finally {
      await store.close();
    }
  });

  test('close() stops the API and the store; a second close is harmless', async () => {
    const { logger, lines } = logCapture();
    const gateway = await startGateway(memoryConfig(), { logger });
    const address = gateway.address;
    await gateway.close();
    await gateway.close();
    await assert.rejects(fetch(`${address}/api/health`));
    await assert.rejects(gateway.store.sites.list());
    assert.equal(lines.filter((l) => l.msg === 'gateway closed').length, 1);
  });

  test('a missing tokenEnv variable stops the start before anything is opened', async () => {
    const path = join(dir, 'never-created.sqlite');
    const bad = config(`
store: { kind: sqlite, path: ${JSON.stringify(path)} }
api: { port: 0, tokens: [{ name: ops, role: operator, tokenEnv: GS_APP_TEST_UNSET }] }`);
    await assert.rejects(
      startGateway(bad, { logger: createLogger({ level: 'silent' }), env: {} }),
      (error: unknown) =>
        GridseamError.is(error) && error.code === 'GW_ERR_CONFIG' && /GS_APP_TEST_UNSET/.test(error.message),
    );
    const { existsSync } = await import('node:fs');
    assert.ok(!existsSync(path));
  });

  test('a failed listen closes what was already opened (the store is released)', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const path = join(dir, 'busy.sqlite');
    try {
      const busy = config(`
store: { kind: sqlite, path: ${JSON.stringify(path)} }
api: { port: ${port} }`);
      const { logger, lines } = logCapture();
      await assert.rejects(startGateway(busy, { logger }), /EADDRINUSE/);
      assert.ok(!lines.some((l) => typeof l.msg === 'string' && l.msg.includes('failed')), 'every close succeeded');
      // The store was closed: the same file opens and migrates again at once.
      const store = await openStore({ kind: 'sqlite', path });
      try {
        assert.deepEqual(await store.migrate(), []);
        assert.equal((await store.sites.list()).length, 0);
      } finally {
        await store.close();
      }
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  test('readings are committed when deliveries pause, not only after flushIntervalMs', async () => {
    const gateway = await startGateway(
      config(`
store: { kind: sqlite, path: ':memory:' }
api: { port: 0 }
telemetry: { flushIntervalMs: 60000, batchSize: 100000 }
${FLEET}`),
      { logger: createLogger({ level: 'silent' }) },
    );
    try {
      const t0 = Date.now() - 100_000;
      // Two keys, so at most two handlers are in flight; each waits until its readings commit.
      for (let round = 0; round < 20; round++)
        for (const deviceId of ['bat-1', 'pv-1'])
          await gateway.bus.publish(
            'telemetry',
            { readings: readings(deviceId, t0 + round * 2000, 2) },
            { key: deviceId },
          );
      // Without the idle commit this would wait 20 flush intervals of a minute each.
      const rows = await eventually(async () => {
        const stored = await gateway.store.telemetry.query({
          deviceId: 'pv-1',
          measurand: 'activePower',
          from: t0,
          to: t0 + 100_000,
        });
        return stored.length === 40 ? stored : undefined;
      }, 'all 40 pv-1 readings');
      assert.equal(rows.length, 40);
      assert.equal(gateway.bus.stats().handled, 40);
    } finally {
      await gateway.close();
    }
  });

  test('the telemetry writer commits what it holds on close', async () => {
    const path = join(dir, 'flush.sqlite');
    const gateway = await startGateway(
      config(`
store: { kind: sqlite, path: ${JSON.stringify(path)} }
api: { port: 0 }
telemetry: { flushIntervalMs: 60000, batchSize: 100000 }
${FLEET}`),
      // No idle commit either: only close can commit these readings.
      { logger: createLogger({ level: 'silent' }), telemetryIdleFlushMs: 60_000 },
    );
    const t0 = Date.now() - 10_000;
    try {
      await gateway.bus.publish('telemetry', { readings: readings('bat-1', t0, 3) }, { key: 'bat-1' });
      // The batch now waits for a minute or 100,000 readings; neither comes before close.
      await eventually(async () => (gateway.telemetryWriter.buffered === 3 ? true : undefined), 'the writer to buffer');
    } finally {
      await gateway.close();
    }
    const store = await openStore({ kind: 'sqlite', path });
    try {
      const rows = await store.telemetry.query({
        deviceId: 'bat-1',
        measurand: 'activePower',
        from: t0,
        to: t0 + 3000,
      });
      assert.equal(rows.length, 3);
    } finally {
      await store.close();
    }
  });
});
