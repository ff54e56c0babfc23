import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { openapiValidator, refusedAddressReason } from '../../../src/index.ts';
import {
  BL,
  blVenBody,
  eventBody,
  type Harness,
  programBody,
  type Received,
  startReceiver,
  startVtn,
  VEN1,
  VEN2,
  VERSIONS,
} from './support.ts';

/** Webhook subscriptions: the echo challenge, notifications as the subscriber may see them, retries, refusals. */

type Obj = Record<string, unknown> & { id: string };
interface Notification {
  objectType: string;
  operation: string;
  object: Obj;
  targets?: unknown[];
}

function targetsOf(h: Harness, group: string): unknown[] {
  return h.version === '3.1.0' ? [group] : [{ type: 'GROUP', values: [group] }];
}

function parse(h: Harness, received: Received): Notification {
  const body = JSON.parse(received.body) as Notification;
  assert.deepEqual(openapiValidator(h.version).schema('notification', body), [], received.body);
  return body;
}

function subscription(programID: string, url: string, objects: string[], bearerToken?: string) {
  return {
    clientName: 'subscriber',
    programID,
    objectOperations: [
      {
        objects,
        operations: ['CREATE', 'UPDATE', 'DELETE'],
        callbackUrl: url,
        ...(bearerToken === undefined ? {} : { bearerToken }),
      },
    ],
  };
}

for (const version of VERSIONS) {
  describe(`VTN ${version} webhooks`, () => {
    test('a VEN is notified of the events targeted at it, with its bearer token, in order', async (t) => {
      const h = await startVtn(t, version);
      const bl = await h.token(BL);
      const ven1 = await h.token(VEN1);
      await h.call('POST', '/vens', { token: bl, json: blVenBody(version, VEN1.venName, VEN1.clientId, ['group-a']) });
      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
      const other = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'q') })).body;
      const receiver = await startReceiver(t);
      const created = await h.call('POST', '/subscriptions', {
        token: ven1,
        json: subscription(program.id, receiver.url, ['EVENT'], 'hook-secret'),
      });
      assert.equal(created.status, 201, created.text);

      const mine = (
        await h.call<Obj>('POST', '/events', {
          token: bl,
          json: { ...eventBody(version, program.id, { name: 'mine' }), targets: targetsOf(h, 'group-a') },
        })
      ).body;
      await h.call('POST', '/events', {
        token: bl,
        json: { ...eventBody(version, program.id, { name: 'not-mine' }), targets: targetsOf(h, 'group-b') },
      });
      await h.call('POST', '/events', { token: bl, json: eventBody(version, other.id, { name: 'other-program' }) });
      await h.call('PUT', `/events/${mine.id}`, {
        token: bl,
        json: { ...eventBody(version, program.id, { name: 'mine-2' }), targets: targetsOf(h, 'group-a') },
      });
      await h.call('DELETE', `/events/${mine.id}`, { token: bl });
      await h.vtn.webhooks.drain();

      const notifications = receiver.received.map((received) => parse(h, received));
      const expected = version === '3.1.0' ? ['CREATE', 'UPDATE', 'DELETE'] : ['POST', 'PUT', 'DELETE'];
      assert.deepEqual(
        notifications.map((n) => n.operation),
        expected,
      );
      assert.deepEqual(
        notifications.map((n) => n.object.eventName),
        ['mine', 'mine-2', 'mine-2'],
      );
      assert.ok(notifications.every((n) => n.objectType === 'EVENT'));
      assert.ok(receiver.received.every((r) => r.headers.authorization === 'Bearer hook-secret'));
      assert.ok(receiver.received.every((r) => r.method === 'POST'));
      assert.equal(h.vtn.webhooks.stats().delivered, 3);
    });

    test('BL hears of every VEN report; a VEN does not hear of another VEN’s', async (t) => {
      const h = await startVtn(t, version);
      const bl = await h.token(BL);
      const ven1 = await h.token(VEN1);
      const ven2 = await h.token(VEN2);
      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
      const event = (await h.call<Obj>('POST', '/events', { token: bl, json: eventBody(version, program.id) })).body;
      const blReceiver = await startReceiver(t);
      const venReceiver = await startReceiver(t);
      await h.call('POST', '/subscriptions', { token: bl, json: subscription(program.id, blReceiver.url, ['REPORT']) });
      await h.call('POST', '/subscriptions', {
        token: ven2,
        json: subscription(program.id, venReceiver.url, ['REPORT']),
      });
      await h.call('POST', '/reports', {
        token: ven1,
        json: {
          ...(version === '3.0.1' ? { programID: program.id } : {}),
          eventID: event.id,
          clientName: VEN1.venName,
          resources: [],
        },
      });
      await h.vtn.webhooks.drain();
      assert.equal(blReceiver.received.length, 1);
      assert.equal(parse(h, blReceiver.received[0] as Received).objectType, 'REPORT');
      assert.equal(venReceiver.received.length, 0);
    });

    test('failed deliveries are retried with back-off; a 4xx gives up', async (t) => {
      const h = await startVtn(t, version);
      const bl = await h.token(BL);
      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
      const receiver = await startReceiver(t);
      await h.call('POST', '/subscriptions', { token: bl, json: subscription(program.id, receiver.url, ['EVENT']) });
      receiver.failNext([503, 500]);
      await h.call('POST', '/events', { token: bl, json: eventBody(version, program.id, { name: 'retried' }) });
      await h.vtn.webhooks.drain();
      assert.equal(receiver.received.length, 1);
      assert.equal(parse(h, receiver.received[0] as Received).object.eventName, 'retried');
      assert.deepEqual({ ...h.vtn.webhooks.stats() }, { delivered: 1, failed: 0, retried: 2, dropped: 0, pending: 0 });

      receiver.failNext([400]);
      await h.call('POST', '/events', { token: bl, json: eventBody(version, program.id, { name: 'refused' }) });
      await h.vtn.webhooks.drain();
      assert.equal(receiver.received.length, 1);
      assert.equal(h.vtn.webhooks.stats().failed, 1);
      assert.equal(h.vtn.webhooks.stats().retried, 2);
    });

    test('a callback that stays down is given up after the attempts, and a full queue drops its oldest', async (t) => {
      const h = await startVtn(t, version, {
        webhooks: {
          allowLoopback: true,
          allowHttp: true,
          attempts: 2,
          initialDelayMs: 10,
          maxDelayMs: 20,
          maxQueuePerCallback: 2,
        },
      });
      const bl = await h.token(BL);
      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
      const receiver = await startReceiver(t);
      await h.call('POST', '/subscriptions', { token: bl, json: subscription(program.id, receiver.url, ['EVENT']) });
      receiver.failNext(Array.from({ length: 100 }, () => 503));
      for (let i = 0; i < 5; i++)
        await h.call('POST', '/events', { token: bl, json: eventBody(version, program.id, { name: `e${i}` }) });
      await h.vtn.webhooks.drain();
      const stats = h.vtn.webhooks.stats();
      assert.equal(stats.delivered, 0);
      assert.ok(stats.dropped >= 2, JSON.stringify(stats));
      assert.equal(stats.failed + stats.dropped, 5);
      assert.equal(stats.pending, 0);
    });

    test('the echo challenge must be answered; refused callback URLs create nothing', async (t) => {
      const h = await startVtn(t, version);
      const bl = await h.token(BL);
      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
      // A receiver that answers 200 but does not echo.
      const deaf = createServer((_request, response) => response.writeHead(200).end('hello'));
      await new Promise<void>((resolve) => deaf.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise<void>((resolve) => deaf.close(() => resolve())));
      const deafUrl = `http://127.0.0.1:${(deaf.address() as AddressInfo).port}/cb`;
      const noEcho = await h.call<{ detail: string }>('POST', '/subscriptions', {
        token: bl,
        json: subscription(program.id, deafUrl, ['PROGRAM']),
      });
      assert.equal(noEcho.status, 400);
      assert.match(noEcho.body.detail, /echo/);
      const closed = await h.call('POST', '/subscriptions', {
        token: bl,
        json: subscription(program.id, 'http://127.0.0.1:1/cb', ['PROGRAM']),
      });
      assert.equal(closed.status, 400);
      for (const url of [
        'http://169.254.169.254/latest/meta-data',
        'http://[fe80::1]/cb',
        'http://0.0.0.0/cb',
        'http://[fd00:ec2::254]/cb',
        'http://224.0.0.1/cb',
        'not a url',
      ]) {
        const refused = await h.call('POST', '/subscriptions', {
          token: bl,
          json: subscription(program.id, url, ['PROGRAM']),
        });
        assert.equal(refused.status, 400, url);
      }
      assert.deepEqual((await h.call<Obj[]>('GET', '/subscriptions', { token: bl })).body, []);
    });

    test('without allowances: https only, loopback and private networks refused', async (t) => {
      const h = await startVtn(t, version, { webhooks: {} });
      const bl = await h.token(BL);
      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
      for (const url of [
        'http://example.com/cb',
        'https://127.0.0.1/cb',
        'https://127.1/cb',
        'https://2130706433/cb',
        'https://0x7f.0.0.1/cb',
        'https://[::1]/cb',
        'https://[::ffff:127.0.0.1]/cb',
        'https://localhost/cb',
        'https://10.1.2.3/cb',
        'https://192.168.1.10/cb',
        'https://user:pw@example.com/cb',
      ]) {
        const refused = await h.call<{ detail: string }>('POST', '/subscriptions', {
          token: bl,
          json: subscription(program.id, url, ['PROGRAM']),
        });
        assert.equal(refused.status, 400, url);
      }
    });
  });
}

test('refusedAddressReason: metadata and link-local always, loopback and private unless allowed', () => {
  const strict = { allowLoopback: false, allowPrivateNetworks: false };
  const lab = { allowLoopback: true, allowPrivateNetworks: true };
  assert.match(refusedAddressReason('169.254.169.254', lab) ?? '', /metadata/);
  assert.match(refusedAddressReason('::ffff:169.254.169.254', lab) ?? '', /metadata/);
  assert.match(refusedAddressReason('127.0.0.1', strict) ?? '', /loopback/);
  assert.equal(refusedAddressReason('127.0.0.1', lab), undefined);
  assert.match(refusedAddressReason('172.16.5.4', strict) ?? '', /private/);
  assert.equal(refusedAddressReason('172.32.5.4', strict), undefined);
  assert.equal(refusedAddressReason('8.8.8.8', strict), undefined);
  assert.equal(refusedAddressReason('2001:db8::1', strict), undefined);
  assert.match(refusedAddressReason('fc00::1', strict) ?? '', /private/);
});
