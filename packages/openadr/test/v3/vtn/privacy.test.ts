import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BL, blVenBody, eventBody, type Harness, startVtn, VEN1, VEN2, VERSIONS, venVenBody } from './support.ts';

/**
 * Object privacy between two VENs (Definition §Object Privacy): each sees only its own vens, resources, reports
 * and subscriptions; programs and events with targets reach only the VENs granted those targets, with the other
 * targets hidden.
 */

type Obj = Record<string, unknown> & { id: string };

/** Targets of the version: 3.1.0 strings; 3.0.1 valuesMaps (GROUP, or VEN_NAME for 'ven-*' names). */
function targets(h: Harness, values: string[]): unknown[] {
  if (h.version === '3.1.0') return values;
  const groups = values.filter((value) => !value.startsWith('ven-'));
  const names = values.filter((value) => value.startsWith('ven-'));
  return [
    ...(groups.length > 0 ? [{ type: 'GROUP', values: groups }] : []),
    ...(names.length > 0 ? [{ type: 'VEN_NAME', values: names }] : []),
  ];
}

/** The flat target values of an object as the caller received them. */
function flat(h: Harness, object: Obj): string[] {
  const list = (object.targets ?? []) as unknown[];
  if (h.version === '3.1.0') return list as string[];
  return list.flatMap((target) => (target as { values: string[] }).values);
}

function query(h: Harness, group: string): string {
  return h.version === '3.1.0' ? `targets=${group}` : `targetType=GROUP&targetValues=${group}`;
}

async function world(h: Harness) {
  const bl = await h.token(BL);
  const ven1 = await h.token(VEN1);
  const ven2 = await h.token(VEN2);
  const v1 = (
    await h.call<Obj>('POST', '/vens', {
      token: bl,
      json: blVenBody(h.version, VEN1.venName, VEN1.clientId, ['group-a']),
    })
  ).body;
  const v2 = (
    await h.call<Obj>('POST', '/vens', {
      token: bl,
      json: blVenBody(h.version, VEN2.venName, VEN2.clientId, ['group-b']),
    })
  ).body;
  const program = async (name: string, values?: string[]) =>
    (
      await h.call<Obj>('POST', '/programs', {
        token: bl,
        json: { programName: name, ...(values === undefined ? {} : { targets: targets(h, values) }) },
      })
    ).body;
  const programs = {
    open: await program('open'),
    a: await program('only-a', ['group-a']),
    b: await program('only-b', ['group-b']),
    named: await program('named-ven-1', ['ven-1', 'ven-3']),
    both: await program('both', ['group-a', 'group-b']),
  };
  return { bl, ven1, ven2, v1, v2, programs };
}

for (const version of VERSIONS) {
  describe(`VTN ${version} object privacy`, () => {
    test('programs reach only the VENs granted their targets; other targets are hidden', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven1, ven2, programs } = await world(h);
      const seen1 = (await h.call<Obj[]>('GET', '/programs', { token: ven1 })).body;
      assert.deepEqual(
        seen1.map((p) => p.programName),
        ['open', 'only-a', 'named-ven-1', 'both'],
      );
      const both1 = seen1.find((p) => p.programName === 'both');
      assert.deepEqual(flat(h, both1 as Obj), ['group-a'], 'VEN 1 does not learn group-b');
      const named1 = seen1.find((p) => p.programName === 'named-ven-1');
      assert.deepEqual(flat(h, named1 as Obj), ['ven-1']);

      const seen2 = (await h.call<Obj[]>('GET', '/programs', { token: ven2 })).body;
      assert.deepEqual(
        seen2.map((p) => p.programName),
        ['open', 'only-b', 'both'],
      );
      // Request targets filter, intersected with the granted ones.
      const filtered = (await h.call<Obj[]>('GET', `/programs?${query(h, 'group-a')}`, { token: ven1 })).body;
      assert.deepEqual(
        filtered.map((p) => p.programName),
        ['only-a', 'both'],
      );
      const notGranted = (await h.call<Obj[]>('GET', `/programs?${query(h, 'group-b')}`, { token: ven1 })).body;
      assert.deepEqual(notGranted, []);
      // BL sees everything; its request targets are a plain filter.
      const blFiltered = (await h.call<Obj[]>('GET', `/programs?${query(h, 'group-b')}`, { token: bl })).body;
      assert.deepEqual(
        blFiltered.map((p) => p.programName),
        ['only-b', 'both'],
      );
      assert.deepEqual(flat(h, blFiltered[1] as Obj), ['group-a', 'group-b']);
      // By id: a program the VEN is not granted does not exist for it.
      assert.equal((await h.call('GET', `/programs/${programs.b.id}`, { token: ven1 })).status, 404);
      const one = await h.call<Obj>('GET', `/programs/${programs.both.id}`, { token: ven2 });
      assert.deepEqual(flat(h, one.body), ['group-b']);
    });

    test('events follow the same targeting, and a VEN without a ven object sees only untargeted ones', async (t) => {
      const h = await startVtn(t, version, {
        auth: {
          issuer: {
            kind: 'internal',
            key: { alg: 'HS256', secret: 'a-test-token-secret-of-at-least-32-bytes!' },
          },
          clients: [
            { clientId: BL.clientId, secret: BL.secret, role: 'bl' },
            { clientId: VEN1.clientId, secret: VEN1.secret, role: 'ven', venName: VEN1.venName },
            { clientId: VEN2.clientId, secret: VEN2.secret, role: 'ven', venName: VEN2.venName },
            { clientId: 'stranger', secret: 'stranger-secret', role: 'ven' },
          ],
        },
      });
      const { bl, ven1, ven2, programs } = await world(h);
      const stranger = await h.token({ clientId: 'stranger', secret: 'stranger-secret' });
      const event = async (name: string, values?: string[]) =>
        (
          await h.call<Obj>('POST', '/events', {
            token: bl,
            json: {
              ...eventBody(h.version, programs.open.id, { name }),
              ...(values ? { targets: targets(h, values) } : {}),
            },
          })
        ).body;
      await event('for-all');
      await event('for-a', ['group-a']);
      const forB = await event('for-b', ['group-b']);
      await event('for-ven-2', ['ven-2']);
      const names = async (token: string, search = '') =>
        (await h.call<Obj[]>('GET', `/events${search}`, { token })).body.map((e) => e.eventName);
      assert.deepEqual(await names(ven1), ['for-all', 'for-a']);
      assert.deepEqual(await names(ven2), ['for-all', 'for-b', 'for-ven-2']);
      assert.deepEqual(await names(stranger), ['for-all']);
      assert.deepEqual(await names(bl), ['for-all', 'for-a', 'for-b', 'for-ven-2']);
      assert.deepEqual(await names(ven2, `?programID=${programs.open.id}&${query(h, 'group-b')}`), ['for-b']);
      assert.equal((await h.call('GET', `/events/${forB.id}`, { token: ven1 })).status, 404);
      assert.equal((await h.call('GET', `/events/${forB.id}`, { token: ven2 })).status, 200);
    });

    test('vens, resources, reports and subscriptions are private to their VEN', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven1, ven2, v2, programs } = await world(h);
      const vensOf = async (token: string) =>
        (await h.call<Obj[]>('GET', '/vens', { token })).body.map((v) => v.venName);
      assert.deepEqual(await vensOf(ven1), [VEN1.venName]);
      assert.deepEqual(await vensOf(ven2), [VEN2.venName]);
      assert.deepEqual(await vensOf(bl), [VEN1.venName, VEN2.venName]);
      assert.equal((await h.call('GET', `/vens/${v2.id}`, { token: ven1 })).status, 404);
      assert.equal((await h.call('DELETE', `/vens/${v2.id}`, { token: ven1 })).status, 404);
      assert.equal(
        (await h.call('PUT', `/vens/${v2.id}`, { token: ven1, json: venVenBody(version, VEN1.venName) })).status,
        404,
      );

      // Resources: BL grants VEN 2 a target through a resource; VEN 1 cannot see or add to VEN 2's ven.
      const resourcePath = version === '3.0.1' ? `/vens/${v2.id}/resources` : '/resources';
      const resource =
        version === '3.0.1'
          ? { resourceName: 'r2', targets: [{ type: 'GROUP', values: ['feeder-7'] }] }
          : {
              objectType: 'BL_RESOURCE_REQUEST',
              resourceName: 'r2',
              venID: v2.id,
              clientID: VEN2.clientId,
              targets: ['feeder-7'],
            };
      const r2 = (await h.call<Obj>('POST', resourcePath, { token: bl, json: resource })).body;
      const attempt =
        version === '3.0.1'
          ? { resourceName: 'sneaky' }
          : { objectType: 'VEN_RESOURCE_REQUEST', resourceName: 'sneaky', venID: v2.id };
      assert.equal((await h.call('POST', resourcePath, { token: ven1, json: attempt })).status, 404);
      const resourceItem = version === '3.0.1' ? `/vens/${v2.id}/resources/${r2.id}` : `/resources/${r2.id}`;
      assert.equal((await h.call('GET', resourceItem, { token: ven1 })).status, 404);
      assert.equal((await h.call('GET', resourceItem, { token: ven2 })).status, 200);
      if (version === '3.1.0') {
        assert.deepEqual((await h.call<Obj[]>('GET', '/resources', { token: ven1 })).body, []);
        assert.equal((await h.call<Obj[]>('GET', '/resources', { token: ven2 })).body.length, 1);
      } else assert.equal((await h.call('GET', resourcePath, { token: ven1 })).status, 404);
      const feeder = await h.call<Obj>('POST', '/programs', {
        token: bl,
        json: { programName: 'feeder', targets: targets(h, ['feeder-7']) },
      });
      const seen2 = (await h.call<Obj[]>('GET', '/programs', { token: ven2 })).body.map((p) => p.programName);
      assert.ok(seen2.includes('feeder'), 'a resource target is granted to its VEN');
      assert.equal((await h.call('GET', `/programs/${feeder.body.id}`, { token: ven1 })).status, 404);

      // Reports.
      const event = (await h.call<Obj>('POST', '/events', { token: bl, json: eventBody(version, programs.open.id) }))
        .body;
      const report = {
        ...(version === '3.0.1' ? { programID: programs.open.id } : {}),
        eventID: event.id,
        clientName: VEN1.venName,
        resources: [],
      };
      const r = (await h.call<Obj>('POST', '/reports', { token: ven1, json: report })).body;
      assert.deepEqual((await h.call<Obj[]>('GET', '/reports', { token: ven2 })).body, []);
      assert.equal((await h.call<Obj[]>('GET', '/reports', { token: ven1 })).body.length, 1);
      assert.equal((await h.call<Obj[]>('GET', '/reports', { token: bl })).body.length, 1);
      assert.equal((await h.call('GET', `/reports/${r.id}`, { token: ven2 })).status, 404);
      assert.equal((await h.call('PUT', `/reports/${r.id}`, { token: ven2, json: report })).status, 404);
      assert.equal((await h.call('DELETE', `/reports/${r.id}`, { token: ven2 })).status, 404);

      // Subscriptions (no webhook check needed to read them: created with a receiver).
      const { startReceiver } = await import('./support.ts');
      const receiver = await startReceiver(t);
      const s = (
        await h.call<Obj>('POST', '/subscriptions', {
          token: ven1,
          json: {
            clientName: VEN1.venName,
            programID: programs.open.id,
            objectOperations: [{ objects: ['EVENT'], operations: ['CREATE'], callbackUrl: receiver.url }],
          },
        })
      ).body;
      assert.deepEqual((await h.call<Obj[]>('GET', '/subscriptions', { token: ven2 })).body, []);
      assert.equal((await h.call('GET', `/subscriptions/${s.id}`, { token: ven2 })).status, 404);
      assert.equal((await h.call<Obj[]>('GET', '/subscriptions', { token: bl })).body.length, 1);
    });
  });
}
