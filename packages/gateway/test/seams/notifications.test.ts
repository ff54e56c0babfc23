/**
 * The gateway's `utility.ieee2030_5.notifications` config end to end: the client subscribes to what
 * the utility offers (IEEE 2030.5 §10.9) and a DERControl created after start-up reaches the
 * control engine through a Notification, while polling is held back to once an hour — so only the
 * Notification can have brought it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import type { RunningUtilityServer } from '../../src/utility/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { startTestUtility, waitFor } from './support.ts';

describe('IEEE 2030.5 seam with Subscription/Notification', () => {
  const temp = useTempDir('gridseam-seam-notify-');
  let utility: RunningUtilityServer;
  let gateway: Gateway;

  before(async () => {
    ({ utility } = await startTestUtility(temp.dir(), { notifications: true }));
    const config = parseConfig(
      `
store: { kind: sqlite, path: ':memory:' }
bus: { kind: memory }
api: { port: 0 }
log: { level: silent }
fleet:
  sites: [{ id: site-1, name: Site one }]
utility:
  ieee2030_5:
    dcapUrl: https://127.0.0.1:${utility.sepPort}/dcap
    certificate: pki/clients/gateway-1.cert.pem
    key: pki/clients/gateway-1.key.pem
    ca: pki/ca.cert.pem
    mode: direct
    profile: csip-aus
    siteId: site-1
    nmi: '4102345678'
    minPollSeconds: 3600
    retrySeconds: 1
    timeoutMs: 5000
    notifications: { host: 127.0.0.1, port: 0 }
`,
      join(temp.dir(), 'gateway.yaml'),
    );
    gateway = await startGateway(config, {
      logger: createLogger({ level: 'silent' }),
      controlPeriodMs: 1000,
    });
  });

  after(async () => {
    await gateway?.close();
    await utility?.close();
  });

  test('subscriptions are held and a new control arrives by Notification', async () => {
    const client = gateway.ieee2030_5?.client;
    assert.ok(client, 'the seam is running');
    const subscriptions = await waitFor(
      () => (client.subscriptions().length > 0 ? client.subscriptions() : undefined),
      'the client to subscribe',
    );
    assert.ok(
      subscriptions.some((s) => /derc/i.test(s.resource)),
      `a DERControlList subscription among ${subscriptions.map((s) => s.resource).join(', ')}`,
    );
    assert.ok(utility.server.admin.listSubscriptions().length >= subscriptions.length, 'the server holds them too');

    const { controls } = await utility.server.admin.createControl({
      programId: 'doe',
      start: Math.floor(Date.now() / 1000) + 2,
      duration: 600,
      description: 'export 1 kW',
      base: { opModExpLimW: { multiplier: 0, value: 1000 } },
    });
    const mRID = controls[0]?.mRID;
    client.on('error', (e) => console.log('CLIENT ERROR', e));
    await new Promise((r) => setTimeout(r, 4000));
    console.log(
      'DBG',
      JSON.stringify(client.controls()).slice(0, 600),
      JSON.stringify(client.programEvents(client.endDevices()[0]!.lfdi)),
      JSON.stringify(client.subscriptions()),
    );
    assert.ok(mRID);
    const event = await waitFor(
      () => gateway.store.events.getByExternalId('ieee2030.5', mRID),
      'the ProgramEvent of the notified control',
      20_000,
    );
    assert.deepEqual(event.intervals[0]?.signals, [{ kind: 'exportLimit', value: 1000, unit: 'W' }]);
  });
});
