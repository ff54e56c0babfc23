/**
 * The 2030.5 client's Subscription/Notification against our utility server over real mutual TLS on loopback
 * (the server POSTs Notifications to the client's receiver with its own certificate). One injected clock, client
 * timers disabled: the clock never moves, so no poll is ever due and only a Notification can bring a change in.
 * Covers: subscriptions to what the server offers; a new control reaching the 'controls' event through a
 * Notification with only the notified list re-fetched; no duplicate subscriptions across a restart with the same
 * store (and one lost on the server created again); status 1 dropping and re-subscribing; hostile bodies refused
 * while the receiver keeps working.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ControlsUpdate,
  createHttpsTransport,
  createSepClient,
  MemoryClientStateStore,
  type SepClient,
  type SepTransport,
} from '../../src/client/index.ts';
import { emitSep } from '../../src/codec/index.ts';
import { identity, startServer, TestClient, type TestServer, watts } from '../server/helpers.ts';

interface Harness {
  client: SepClient;
  /** Every request the client made, as "METHOD path" (query dropped). */
  requests: string[];
}

/** The receiver's port: 0 for the first client, then the same one (a restarted gateway keeps its address). */
let receiverPort = 0;

function makeClient(env: TestServer, store: MemoryClientStateStore, port = receiverPort): Harness {
  const id = identity(env.pki, 'device-1');
  const tls = { key: id.keyPem, cert: id.certificatePem, ca: env.pki.ca.certificatePem, timeoutMs: 5000 };
  const inner = createHttpsTransport(tls);
  const requests: string[] = [];
  const transport: SepTransport = {
    request(method, url, body) {
      requests.push(`${method} ${new URL(url).pathname}`);
      return inner.request(method, url, body);
    },
    close: () => inner.close(),
  };
  const client = createSepClient(
    {
      dcapUrl: `https://127.0.0.1:${env.port}/dcap`,
      mode: 'direct',
      tls,
      pageSize: 5,
      notifications: {
        listen: { host: '127.0.0.1', port },
        publicUri: (bound) => {
          receiverPort = bound.port;
          return `https://127.0.0.1:${bound.port}/notify`;
        },
      },
    },
    { now: () => env.clock.now, store, transport, setTimer: () => () => undefined, random: () => 0.5 },
  );
  return { client, requests };
}

/** Resolves with the next event that matches; rejects after 10 s so a broken path fails instead of hanging. */
function next<T>(subscribe: (listener: (value: T) => void) => () => void, matches: (value: T) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('the expected event never came'));
    }, 10_000);
    const off = subscribe((value) => {
      if (!matches(value)) return;
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

function exportLimit(update: ControlsUpdate): number | undefined {
  return update.setpoints.find((setpoint) => setpoint.kind === 'exportLimit')?.value;
}

describe('2030.5 client: Subscription/Notification', () => {
  let env: TestServer;
  let deviceId: number;
  let store: MemoryClientStateStore;
  const running: SepClient[] = [];

  before(async () => {
    env = await startServer({
      defaultListLimit: 1,
      notifications: {
        allowLoopback: true,
        checkHostname: false,
        retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 50 },
      },
    });
    deviceId = (await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-1').lfdi })).id;
    await env.server.admin.createProgram({ id: 'doe', description: 'dynamic export', primacy: 1 });
    await env.server.admin.setDefaultControl({ programId: 'doe', base: { opModExpLimW: watts(1500) } });
    store = new MemoryClientStateStore();
  });
  after(async () => {
    for (const client of running) await client.stop();
    await env.close();
  });

  const controlListPath = () => `/edev/${deviceId}/derp/doe/derc`;
  const serverSubscriptions = () =>
    env.server.admin
      .listSubscriptions({ endDeviceId: deviceId })
      .map((record) => record.subscribedResource)
      .sort();

  test('subscribes to what the server offers; a new control arrives by Notification before any poll', async () => {
    const { client, requests } = makeClient(env, store);
    running.push(client);
    await client.start();
    const held = client.subscriptions();
    assert.ok(
      held.some((subscription) => subscription.resource === controlListPath()),
      'the DERControlList is subscribed',
    );
    assert.ok(held.some((subscription) => subscription.resource === `/edev/${deviceId}/derp/doe/dderc`));
    assert.deepEqual(serverSubscriptions(), held.map((subscription) => subscription.resource.toLowerCase()).sort());
    assert.equal(exportLimit(client.controls()[0] as ControlsUpdate), 1500, 'the default applies');

    const before = requests.length;
    const arrived = next<ControlsUpdate>(
      (listener) => client.on('controls', listener),
      (update) => exportLimit(update) === 400,
    );
    const clockAt = env.clock.now;
    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now,
      duration: 600,
      base: { opModExpLimW: watts(400) },
    });
    await env.server.drainNotifications();
    const update = await arrived;
    assert.equal(env.clock.now, clockAt, 'the clock did not move: no poll was due');
    assert.deepEqual(update.active, [controls[0]?.mRID]);
    const gets = requests.slice(before).filter((line) => line.startsWith('GET '));
    assert.ok(gets.length > 0);
    assert.deepEqual([...new Set(gets)], [`GET ${controlListPath()}`], 'only the notified list is re-fetched');
    // Responses go out as usual once the control is known.
    await client.sync();
    assert.deepEqual(
      env.server.admin.listResponses({ subject: controls[0]?.mRID as string }).map((response) => response.status),
      [1, 2],
    );
    await env.server.admin.cancelAllControls();
    await env.server.drainNotifications();
    await client.stop();
  });

  test('a restart with the same store neither duplicates subscriptions nor loses one the server dropped', async () => {
    const subscribedBefore = serverSubscriptions();
    const hrefsBefore = env.server.admin
      .listSubscriptions({ endDeviceId: deviceId })
      .map((record) => record.id)
      .sort();
    const { client, requests } = makeClient(env, store);
    running.push(client);
    await client.start();
    assert.deepEqual(serverSubscriptions(), subscribedBefore, 'same subscriptions, none added');
    assert.deepEqual(
      env.server.admin
        .listSubscriptions({ endDeviceId: deviceId })
        .map((record) => record.id)
        .sort(),
      hrefsBefore,
      'the very same ones are reused',
    );
    assert.equal(requests.filter((line) => line.startsWith('POST ') && line.endsWith('/sub')).length, 0);
    await client.stop();

    // The server lost the DERControlList subscription: the next start creates it again, once.
    const lost = client.subscriptions().find((subscription) => subscription.resource === controlListPath());
    assert.ok(lost);
    const owner = env.client('device-1');
    assert.equal((await owner.send('DELETE', lost.href)).status, 204);
    const third = makeClient(env, store);
    running.push(third.client);
    await third.client.start();
    assert.deepEqual(serverSubscriptions(), subscribedBefore);
    assert.equal(third.requests.filter((line) => line.startsWith('POST ') && line.endsWith('/sub')).length, 1);
    const again = third.client.subscriptions().find((subscription) => subscription.resource === controlListPath());
    assert.notEqual(again?.href, lost.href);

    // It still delivers.
    const arrived = next<ControlsUpdate>(
      (listener) => third.client.on('controls', listener),
      (update) => exportLimit(update) === 600,
    );
    await env.server.admin.createControl({
      programId: 'doe',
      start: env.clock.now,
      duration: 600,
      base: { opModExpLimW: watts(600) },
    });
    await env.server.drainNotifications();
    await arrived;
    await env.server.admin.cancelAllControls();
    await env.server.drainNotifications();
    await third.client.stop();
  });

  test('a restart on another notification address replaces the old subscriptions instead of adding to them', async () => {
    const subscribedBefore = serverSubscriptions();
    const { client } = makeClient(env, store, 0);
    running.push(client);
    await client.start();
    assert.deepEqual(serverSubscriptions(), subscribedBefore);
    const uris = new Set(
      env.server.admin.listSubscriptions({ endDeviceId: deviceId }).map((record) => record.notificationURI),
    );
    assert.deepEqual([...uris], [`https://127.0.0.1:${receiverPort}/notify`]);
    await client.stop();
  });

  test('hostile bodies get 400/413 and the receiver keeps working; status 1 re-subscribes', async () => {
    const { client } = makeClient(env, store);
    running.push(client);
    await client.start();
    const held = client.subscriptions().find((subscription) => subscription.resource === controlListPath());
    assert.ok(held);
    const port = Number(new URL(held.notificationURI).port);
    const other = identity(env.pki, 'device-2');
    const peer = new TestClient(port, other.keyPem, other.certificatePem, env.pki.ca.certificatePem);
    try {
      const entity =
        '<?xml version="1.0"?><!DOCTYPE n [<!ENTITY x "boom">]><Notification xmlns="urn:ieee:std:2030.5:ns">&x;</Notification>';
      assert.equal((await peer.send('POST', '/notify', entity)).status, 400, 'DOCTYPE/entities refused');
      assert.equal((await peer.send('POST', '/notify', '<Notification')).status, 400, 'broken XML refused');
      assert.equal((await peer.send('POST', '/notify', '<Time xmlns="urn:ieee:std:2030.5:ns"/>')).status, 400);
      const wrongType = emitSep('Time', {
        currentTime: 1,
        dstEndTime: 0,
        dstOffset: 0,
        dstStartTime: 0,
        quality: 7,
        tzOffset: 0,
      }).replace(/Time/g, 'Notification');
      assert.equal((await peer.send('POST', '/notify', wrongType)).status, 400, 'wrong content refused');
      const huge = `<Notification xmlns="urn:ieee:std:2030.5:ns">${' '.repeat(300 * 1024)}</Notification>`;
      const tooLarge = await peer.send('POST', '/notify', huge).catch(() => undefined);
      assert.ok(tooLarge === undefined || tooLarge.status === 413, 'oversized refused');
      assert.equal((await peer.send('GET', '/notify')).status, 405);

      // Still working: a status 1 (subscription cancelled) Notification drops it and the client subscribes again.
      const cancelled = emitSep('Notification', {
        subscribedResource: held.resource,
        subscriptionURI: held.href,
        status: 1,
      });
      const polled = next<{ ok: boolean }>(
        (listener) => client.on('poll', listener),
        () => true,
      );
      const fresh = new TestClient(port, other.keyPem, other.certificatePem, env.pki.ca.certificatePem);
      try {
        assert.equal((await fresh.send('POST', '/notify', cancelled)).status, 204);
      } finally {
        fresh.close();
      }
      await polled;
      await client.sync(); // the re-subscription runs right after that poll; wait for the chain
      const replaced = client.subscriptions().find((subscription) => subscription.resource === controlListPath());
      assert.ok(replaced);
      assert.notEqual(replaced.href, held.href, 'subscribed again');
      assert.equal(
        env.server.admin
          .listSubscriptions({ endDeviceId: deviceId })
          .filter((record) => record.subscribedResource === controlListPath()).length,
        1,
        'the old one is deleted, the new one replaces it',
      );
    } finally {
      peer.close();
      await client.stop();
    }
  });
});
