import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createVtn, MemoryVtnStore } from '../../../src/index.ts';
import {
  BL,
  blVenBody,
  eventBody,
  harness,
  programBody,
  startReceiver,
  startVtn,
  VEN1,
  VEN2,
  VERSIONS,
  venVenBody,
  vtnOptions,
} from './support.ts';

/** A VTN restarted on a store that survives keeps every object, its owner and its order; a failed write changes nothing. */

type Obj = Record<string, unknown> & { id: string };

for (const version of VERSIONS) {
  describe(`VTN ${version} persistence`, () => {
    test('a restart on the same store keeps objects, ids, order, owners and name uniqueness', async (t) => {
      const store = new MemoryVtnStore();
      const first = await startVtn(t, version, { store });
      const bl = await first.token(BL);
      const ven1 = await first.token(VEN1);
      const p1 = (await first.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p1') })).body;
      const p2 = (await first.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p2') })).body;
      const event = (await first.call<Obj>('POST', '/events', { token: bl, json: eventBody(version, p1.id) })).body;
      const ven = (await first.call<Obj>('POST', '/vens', { token: ven1, json: venVenBody(version, VEN1.venName) }))
        .body;
      await first.call('PUT', `/vens/${ven.id}`, {
        token: bl,
        json: blVenBody(version, VEN1.venName, VEN1.clientId, ['group-a']),
      });
      const report = (
        await first.call<Obj>('POST', '/reports', {
          token: ven1,
          json: {
            ...(version === '3.0.1' ? { programID: p1.id } : {}),
            eventID: event.id,
            clientName: VEN1.venName,
            resources: [],
          },
        })
      ).body;
      const receiver = await startReceiver(t);
      await first.call('POST', '/subscriptions', {
        token: ven1,
        json: {
          clientName: VEN1.venName,
          programID: p1.id,
          objectOperations: [{ objects: ['EVENT'], operations: ['CREATE'], callbackUrl: receiver.url }],
        },
      });
      await first.vtn.close();

      const second = await startVtn(t, version, { store });
      // Tokens stay valid: same key, and the client list did not change.
      assert.deepEqual(
        (await second.call<Obj[]>('GET', '/programs', { token: bl })).body.map((p) => p.id),
        [p1.id, p2.id],
      );
      assert.deepEqual((await second.call<Obj>('GET', `/events/${event.id}`, { token: bl })).body, event);
      assert.equal(
        (await second.call('POST', '/programs', { token: bl, json: programBody(version, 'p1') })).status,
        409,
      );
      const ven2 = await second.token(VEN2);
      assert.equal((await second.call<Obj[]>('GET', '/vens', { token: ven1 })).body.length, 1);
      assert.deepEqual((await second.call<Obj[]>('GET', '/vens', { token: ven2 })).body, []);
      assert.equal((await second.call('GET', `/reports/${report.id}`, { token: ven1 })).status, 200);
      assert.equal((await second.call('GET', `/reports/${report.id}`, { token: ven2 })).status, 404);
      // The subscription survived: a new event in its program is notified.
      await second.call('POST', '/events', { token: bl, json: eventBody(version, p1.id, { name: 'after-restart' }) });
      await second.vtn.webhooks.drain();
      assert.equal(receiver.received.length, 1);
      // New objects continue the creation order.
      const p3 = (await second.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p3') })).body;
      assert.deepEqual(
        (await second.call<Obj[]>('GET', '/programs', { token: bl })).body.map((p) => p.id),
        [p1.id, p2.id, p3.id],
      );
    });

    test('a failed store write answers 503 and changes nothing', async (t) => {
      const store = new MemoryVtnStore();
      const h = await startVtn(t, version, { store });
      const bl = await h.token(BL);
      store.failNextWrite = new Error('database is down');
      const failed = await h.call<{ status: number }>('POST', '/programs', {
        token: bl,
        json: programBody(version, 'p'),
      });
      assert.equal(failed.status, 503);
      assert.equal(failed.headers.get('retry-after'), '30');
      assert.deepEqual((await h.call<Obj[]>('GET', '/programs', { token: bl })).body, []);
      assert.equal((await h.call('POST', '/programs', { token: bl, json: programBody(version, 'p') })).status, 201);
      assert.equal(store.size, 1);
    });

    test('unreadable stored records are left out at load', async (t) => {
      const store = new MemoryVtnStore();
      await store.write([
        {
          kind: 'program',
          id: 'good',
          doc: {
            seq: 1,
            object: {
              id: 'good',
              programName: 'kept',
              objectType: 'PROGRAM',
              createdDateTime: '2030-01-01T00:00:00Z',
              modificationDateTime: '2030-01-01T00:00:00Z',
            },
          },
        },
        { kind: 'program', id: 'bad', doc: { seq: 2 } as never },
      ]);
      const warnings: string[] = [];
      const vtn = await createVtn({
        ...vtnOptions(version),
        store,
        log: (level, message) => level === 'warn' && warnings.push(message),
      });
      t.after(() => vtn.close());
      const { url } = await vtn.listen();
      const h = harness(vtn, version, url);
      const bl = await h.token(BL);
      assert.deepEqual(
        (await h.call<Obj[]>('GET', '/programs', { token: bl })).body.map((p) => p.programName),
        ['kept'],
      );
      assert.equal(warnings.length, 1);
    });
  });
}
