/**
 * Subscription/Notification: a local HTTPS subscriber (certificate from the test PKI, requiring a client
 * certificate) receives Notifications when subscribed resources change, over mutual TLS with the server's
 * certificate; deliveries are retried after 5xx; subscriptions list, GET and DELETE; notificationURIs that
 * point at loopback or metadata addresses are refused unless allowed.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { emitSep, parseSep } from '../../src/codec/index.ts';
import { lfdiFromCertificate } from '../../src/identity/lfdi.ts';
import type { TestPki } from '../../src/pki/index.ts';
import type { Notification } from '../../src/resources/index.ts';
import { validateXml, xsdSkipReason } from '../helpers/xsd.ts';
import { HOST, identity, location, startServer, type TestServer, watts } from './helpers.ts';

interface Received {
  path: string;
  body: string;
  clientLfdi: string | undefined;
  contentType: string | undefined;
  notification: Notification;
}

interface Receiver {
  url: string;
  received: Received[];
  /** Answer 503 to this many requests first. */
  failNext: number;
  refused: number;
  close(): Promise<void>;
}

/** An HTTPS receiver; by default it presents the server certificate, `credential` another one of the PKI. */
async function startReceiver(pki: TestPki, credential?: { keyPem: string; certificatePem: string }): Promise<Receiver> {
  const state = { received: [] as Received[], failNext: 0, refused: 0 };
  const server: Server = createServer(
    {
      key: (credential ?? pki.server).keyPem,
      cert: (credential ?? pki.server).certificatePem,
      ca: pki.ca.certificatePem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (state.failNext > 0) {
          state.failNext -= 1;
          state.refused += 1;
          res.writeHead(503, { 'content-length': '0' }).end();
          return;
        }
        const raw = (req.socket as TLSSocket).getPeerCertificate()?.raw;
        state.received.push({
          path: req.url ?? '',
          body: Buffer.concat(chunks).toString('utf8'),
          clientLfdi: raw ? lfdiFromCertificate(new Uint8Array(raw)) : undefined,
          contentType: req.headers['content-type'],
          notification: parseSep(Buffer.concat(chunks).toString('utf8'), { expect: 'Notification' })
            .value as Notification,
        });
        res.writeHead(201, { 'content-length': '0' }).end();
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${HOST}:${port}`,
    get received() {
      return state.received;
    },
    get failNext() {
      return state.failNext;
    },
    set failNext(value: number) {
      state.failNext = value;
    },
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as Receiver;
}

function subscription(resource: string, uri: string, limit = 10): string {
  return emitSep('Subscription', {
    subscribedResource: resource,
    encoding: 0,
    level: '+S1',
    limit,
    notificationURI: uri,
  });
}

describe('subscriptions and notifications', () => {
  let env: TestServer;
  let receiver: Receiver;
  let deviceId: number;

  before(async () => {
    env = await startServer({
      notifications: {
        allowLoopback: true,
        checkHostname: false,
        retry: { attempts: 5, initialDelayMs: 10, maxDelayMs: 50 },
      },
    });
    receiver = await startReceiver(env.pki);
    deviceId = (await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-1').lfdi })).id;
    await env.server.admin.createProgram({ id: 'doe', description: 'doe', primacy: 1 });
  });
  after(async () => {
    await env.close();
    await receiver.close();
  });

  test('a new control is notified to a DERControlList subscriber over mutual TLS', async () => {
    const client = env.client('device-1');
    const resource = `/edev/${deviceId}/derp/doe/derc`;
    const created = await client.send(
      'POST',
      `/edev/${deviceId}/sub`,
      subscription(resource, `${receiver.url}/notify/derc`),
    );
    assert.equal(created.status, 201, created.body);
    const subHref = location(created);
    const { controls } = await env.server.admin.createControl({
      programId: 'doe',
      duration: 600,
      base: { opModExpLimW: watts(0) },
    });
    await env.server.drainNotifications();
    const got = receiver.received.filter((item) => item.path === '/notify/derc');
    assert.equal(got.length, 1);
    const notification = got[0] as Received;
    assert.equal(notification.contentType, 'application/sep+xml');
    assert.equal(notification.clientLfdi, env.pki.server.lfdi, 'the server presents its certificate');
    assert.equal(notification.notification.status, 0);
    assert.equal(notification.notification.subscribedResource, resource);
    assert.equal(notification.notification.subscriptionURI, subHref);
    const carried = notification.notification.Resource;
    assert.equal(carried?.type, 'DERControlList');
    if (carried?.type !== 'DERControlList') return;
    assert.deepEqual(
      carried.value.DERControl.map((control) => control.mRID),
      [controls[0]?.mRID],
    );
    if (xsdSkipReason() === undefined) {
      const result = validateXml(notification.body, 'csipaus-1.2');
      assert.ok(result.valid, `${notification.body}\n${result.errors.join('\n')}`);
    }
    // Cancelling notifies again, with the Cancelled status.
    await env.server.admin.cancelControl(controls[0]?.mRID as string);
    await env.server.drainNotifications();
    const last = receiver.received.filter((item) => item.path === '/notify/derc').at(-1)?.notification.Resource;
    assert.equal(last?.type === 'DERControlList' ? last.value.DERControl[0]?.EventStatus.currentStatus : undefined, 2);
  });

  test('deliveries refused with 503 are retried until they arrive', async () => {
    const client = env.client('device-1');
    const resource = `/edev/${deviceId}/derp/doe/dderc`;
    await env.server.admin.setDefaultControl({ programId: 'doe', base: { opModExpLimW: watts(1500) } });
    assert.equal(
      (await client.send('POST', `/edev/${deviceId}/sub`, subscription(resource, `${receiver.url}/notify/dderc`)))
        .status,
      201,
    );
    receiver.failNext = 2;
    await env.server.admin.setDefaultControl({ programId: 'doe', base: { opModExpLimW: watts(2000) } });
    await env.server.drainNotifications();
    assert.equal(receiver.refused, 2);
    const got = receiver.received.filter((item) => item.path === '/notify/dderc');
    assert.equal(got.length, 1);
    const resourceValue = got[0]?.notification.Resource;
    assert.equal(resourceValue?.type, 'DefaultDERControl');
    if (resourceValue?.type === 'DefaultDERControl')
      assert.deepEqual(resourceValue.value.DERControlBase.opModExpLimW, watts(2000));
  });

  test('subscriptions list, GET and DELETE; a deleted one is no longer notified', async () => {
    const client = env.client('device-1');
    const list = await client.fetch<{ all: number; Subscription: Array<{ href: string }> }>(
      `/edev/${deviceId}/sub?l=10`,
      'SubscriptionList',
    );
    assert.equal(list.all, 2);
    for (const item of list.Subscription) {
      await client.fetch(item.href, 'Subscription');
      const deleted = await client.send('DELETE', item.href);
      assert.equal(deleted.status, 204);
      assert.equal((await client.get(item.href)).status, 404);
    }
    const before = receiver.received.length;
    await env.server.admin.createControl({ programId: 'doe', duration: 60, base: { opModImpLimW: watts(0) } });
    await env.server.drainNotifications();
    assert.equal(receiver.received.length, before);
  });

  test('a subscription to something that is not ours or not readable is 400', async () => {
    const client = env.client('device-1');
    for (const resource of ['/nowhere', `/edev/${deviceId + 50}/derp/doe/derc`, `/edev/${deviceId}/der/1/ders`]) {
      const reply = await client.send('POST', `/edev/${deviceId}/sub`, subscription(resource, `${receiver.url}/x`));
      assert.equal(reply.status, 400, resource);
    }
  });
});

describe('notificationURI safety (loopback not allowed)', () => {
  let env: TestServer;
  let deviceId: number;
  before(async () => {
    env = await startServer();
    deviceId = (await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-1').lfdi })).id;
    await env.server.admin.createProgram({ id: 'doe', description: 'doe', primacy: 1 });
  });
  after(() => env.close());

  test('loopback, link-local/metadata, localhost and plain http notificationURIs are refused', async () => {
    const client = env.client('device-1');
    const resource = `/edev/${deviceId}/derp/doe/derc`;
    for (const uri of [
      'https://127.0.0.1:8443/n',
      'https://[::1]/n',
      'https://169.254.169.254/latest/meta-data',
      'https://[fe80::1]/n',
      'https://localhost/n',
      'http://example.com/n',
      'not a url',
    ]) {
      const reply = await client.send('POST', `/edev/${deviceId}/sub`, subscription(resource, uri));
      assert.equal(reply.status, 400, uri);
    }
    const ok = await client.send(
      'POST',
      `/edev/${deviceId}/sub`,
      subscription(resource, 'https://notify.example.com/n'),
    );
    assert.equal(ok.status, 201);
  });
});

describe('the receiver proves the subscriber by its certificate LFDI (host names checked otherwise)', () => {
  let env: TestServer;
  let own: Receiver;
  let impostor: Receiver;
  let deviceId: number;

  before(async () => {
    // checkHostname stays at its default (true); 127.0.0.1 is in no device certificate.
    env = await startServer({
      notifications: { allowLoopback: true, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 50 } },
    });
    own = await startReceiver(env.pki, identity(env.pki, 'device-1'));
    impostor = await startReceiver(env.pki, identity(env.pki, 'device-2'));
    deviceId = (await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-1').lfdi })).id;
    await env.server.admin.createProgram({ id: 'doe', description: 'doe', primacy: 1 });
  });
  after(async () => {
    await env.close();
    await own.close();
    await impostor.close();
  });

  test("a receiver with the subscriber's own certificate gets it; one with another device's does not", async () => {
    const client = env.client('device-1');
    const resource = `/edev/${deviceId}/derp/doe/derc`;
    for (const receiver of [own, impostor]) {
      const created = await client.send('POST', `/edev/${deviceId}/sub`, subscription(resource, `${receiver.url}/n`));
      assert.equal(created.status, 201, created.body);
    }
    await env.server.admin.createControl({ programId: 'doe', duration: 600, base: { opModExpLimW: watts(0) } });
    await env.server.drainNotifications();
    assert.equal(own.received.length, 1, 'the device-1 receiver proved device-1');
    assert.equal(
      impostor.received.length,
      0,
      'a device-2 certificate at 127.0.0.1 proves neither device-1 nor the host',
    );
  });
});
