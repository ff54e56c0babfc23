import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BL, blVenBody, eventBody, type Harness, programBody, startVtn, VEN1, VEN2, VERSIONS } from './support.ts';

/**
 * The VTN keeps the serialised answers of GET /programs and GET /events per (caller's visibility, query string)
 * (server.ts ListAnswerCache): a repeated poll must still see every committed write of the kind, a change of
 * the caller's ven or resources, and never another VEN's view.
 */

type Obj = Record<string, unknown> & { id: string };

const names = (list: Obj[], field: string) => list.map((object) => object[field]);

/** An event body targeted at groups (3.0.1: a GROUP valuesMap, as the vens' targets are). */
function groupEvent(h: Harness, programID: string, name: string, groups?: readonly string[]) {
  const body = eventBody(h.version, programID, { name });
  if (groups !== undefined)
    body.targets = h.version === '3.1.0' ? [...groups] : [{ type: 'GROUP', values: [...groups] }];
  return body;
}

async function setUp(h: Harness) {
  const bl = await h.token(BL);
  const ven1 = await h.token(VEN1);
  const ven2 = await h.token(VEN2);
  const v1 = (
    await h.call<Obj>('POST', '/vens', { token: bl, json: blVenBody(h.version, 'ven-1', VEN1.clientId, ['a']) })
  ).body;
  await h.call('POST', '/vens', { token: bl, json: blVenBody(h.version, 'ven-2', VEN2.clientId, ['b']) });
  const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(h.version, 'p') })).body;
  return { bl, ven1, ven2, v1, program };
}

for (const version of VERSIONS) {
  describe(`VTN ${version} cached list answers`, () => {
    test('a repeated poll sees every create, update and delete of the kind', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven1, program } = await setUp(h);
      const poll = async (query = '?skip=0&limit=50') =>
        names((await h.call<Obj[]>('GET', `/events${query}`, { token: ven1 })).body, 'eventName');
      assert.deepEqual(await poll(), []);
      const first = (
        await h.call<Obj>('POST', '/events', {
          token: bl,
          json: groupEvent(h, program.id, 'e1', ['a']),
        })
      ).body;
      assert.deepEqual(await poll(), ['e1']);
      assert.deepEqual(await poll(), ['e1'], 'the same answer again');
      await h.call('POST', '/events', { token: bl, json: eventBody(version, program.id, { name: 'e2' }) });
      assert.deepEqual(await poll(), ['e1', 'e2']);
      assert.deepEqual(await poll('?skip=1&limit=50'), ['e2'], 'another query string, another answer');
      assert.deepEqual(await poll(''), ['e1', 'e2'], 'no query');
      await h.call('PUT', `/events/${first.id}`, {
        token: bl,
        json: groupEvent(h, program.id, 'e1-renamed', ['a']),
      });
      assert.deepEqual(await poll(), ['e1-renamed', 'e2']);
      await h.call('DELETE', `/events/${first.id}`, { token: bl });
      assert.deepEqual(await poll(), ['e2']);
      // Deleting the program deletes its events.
      await h.call('DELETE', `/programs/${program.id}`, { token: bl });
      assert.deepEqual(await poll(), []);
    });

    test('each VEN gets its own view; a change of its ven targets changes its answer', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven1, ven2, v1, program } = await setUp(h);
      for (const [name, targets] of [
        ['to-a', ['a']],
        ['to-b', ['b']],
        ['to-both', ['a', 'b']],
      ] as const)
        await h.call('POST', '/events', {
          token: bl,
          json: groupEvent(h, program.id, name, targets),
        });
      const poll = async (token: string) => (await h.call<Obj[]>('GET', '/events?skip=0&limit=50', { token })).body;
      assert.deepEqual(names(await poll(ven1), 'eventName'), ['to-a', 'to-both']);
      const seen2 = await poll(ven2);
      assert.deepEqual(names(seen2, 'eventName'), ['to-b', 'to-both']);
      assert.equal(JSON.stringify(seen2).includes('"a"'), false, 'VEN 2 never gets target a');
      assert.deepEqual(names(await poll(ven1), 'eventName'), ['to-a', 'to-both'], 'VEN 1 again, from the cache');
      const all = (await h.call<Obj[]>('GET', '/events?skip=0&limit=50', { token: bl })).body;
      assert.equal(all.length, 3, 'BL sees every event under the same query string');
      // BL moves ven 1 from target a to b: its answer follows at once.
      await h.call('PUT', `/vens/${v1.id}`, { token: bl, json: blVenBody(version, 'ven-1', VEN1.clientId, ['b']) });
      assert.deepEqual(names(await poll(ven1), 'eventName'), ['to-b', 'to-both']);
      assert.deepEqual(names(await poll(ven2), 'eventName'), ['to-b', 'to-both'], 'both VENs now in group b');
      // An event for one VEN by name: the two VENs' views part again.
      await h.call('POST', '/events', {
        token: bl,
        json: eventBody(version, program.id, { name: 'to-ven-2', targets: ['ven-2'] }),
      });
      assert.deepEqual(names(await poll(ven1), 'eventName'), ['to-b', 'to-both']);
      assert.deepEqual(names(await poll(ven2), 'eventName'), ['to-b', 'to-both', 'to-ven-2']);
    });

    test('paging parameters in plain form and otherwise give the same answers; bad paging is still 400', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven1, program } = await setUp(h);
      for (const name of ['e1', 'e2', 'e3'])
        await h.call('POST', '/events', { token: bl, json: eventBody(version, program.id, { name }) });
      const get = (query: string) => h.call<Obj[]>('GET', `/events?${query}`, { token: ven1 });
      assert.deepEqual(names((await get('skip=1&limit=1')).body, 'eventName'), ['e2']);
      assert.deepEqual(names((await get('limit=2')).body, 'eventName'), ['e1', 'e2']);
      assert.deepEqual(names((await get('skip=0&limit=0')).body, 'eventName'), []);
      for (const bad of ['limit=51', 'skip=-1', 'skip=1.5', 'limit=x', 'skip=2147483648'])
        assert.equal((await get(bad)).status, 400, bad);
    });
  });
}
