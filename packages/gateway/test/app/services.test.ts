import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { Reading } from '@gridseam/model';
import { connect } from 'nats';
import { startGateway } from '../../src/app.ts';
import { streamNameFor } from '../../src/bus/index.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import {
  dropPgSchema,
  isNatsReachable,
  isPgReachable,
  NATS_HOST,
  NATS_PORT,
  pgTestSchema,
  pgUrl,
} from '../helpers/services.ts';

test('startGateway on PostgreSQL + NATS: telemetry published on the bus lands in the store', async (t) => {
  if (!(await isPgReachable())) return t.skip(`PostgreSQL not reachable at ${pgUrl()}`);
  if (!(await isNatsReachable())) return t.skip(`NATS not reachable at ${NATS_HOST}:${NATS_PORT}`);
  const schema = pgTestSchema();
  const prefix = `gs_test_${randomBytes(4).toString('hex')}`;
  const config = parseConfig(
    `
store: { kind: postgres, url: ${JSON.stringify(pgUrl())}, schema: ${schema} }
bus: { kind: nats, servers: nats://${NATS_HOST}:${NATS_PORT}, prefix: ${prefix} }
api: { port: 0 }
telemetry: { flushIntervalMs: 50 }
fleet:
  sites: [{ id: s1, name: S }]
  devices:
    - { id: m1, siteId: s1, class: meter, adapter: { kind: simulator, address: "sim:m1" }, capabilities: { controls: [] } }
`,
    'services.yaml',
  );
  const gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }) });
  try {
    const t0 = Date.now() - 60_000;
    const readings: Reading[] = Array.from({ length: 50 }, (_, i) => ({
      deviceId: 'm1',
      ts: t0 + i * 100,
      measurand: 'voltage',
      value: 230 + i / 10,
      unit: 'V',
    }));
    for (let i = 0; i < readings.length; i += 10)
      await gateway.bus.publish('telemetry', { readings: readings.slice(i, i + 10) }, { key: 'm1' });
    let stored: Reading[] = [];
    for (let attempt = 0; attempt < 500 && stored.length < 50; attempt++) {
      stored = await gateway.store.telemetry.query({ deviceId: 'm1', measurand: 'voltage', from: t0, to: t0 + 60_000 });
      if (stored.length < 50) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(stored.length, 50);
    assert.deepEqual(
      stored.map((r) => r.ts),
      readings.map((r) => r.ts),
    );
  } finally {
    await gateway.close();
    await dropPgSchema(schema);
    const nc = await connect({ servers: `nats://${NATS_HOST}:${NATS_PORT}` });
    try {
      await (await nc.jetstreamManager()).streams.delete(streamNameFor(prefix)).catch(() => false);
    } finally {
      await nc.close();
    }
  }
});
