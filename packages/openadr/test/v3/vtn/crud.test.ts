import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BL,
  blVenBody,
  eventBody,
  type Harness,
  programBody,
  startVtn,
  VEN1,
  VERSIONS,
  venVenBody,
} from './support.ts';

/** CRUD of every object type, both versions; every answer is checked against the OpenAPI document. */

type Obj = Record<string, unknown> & { id: string };

async function setup(h: Harness) {
  const bl = await h.token(BL);
  const ven = await h.token(VEN1);
  return { bl, ven };
}

function resourcesPath(h: Harness, venId: string): string {
  return h.version === '3.0.1' ? `/vens/${venId}/resources` : '/resources';
}

function resourceBody(h: Harness, venId: string, name: string, asBl: boolean, clientID = VEN1.clientId) {
  if (h.version === '3.0.1')
    return { resourceName: name, attributes: [{ type: 'MAX_POWER_CONSUMPTION', values: [7.2] }] };
  return asBl
    ? { objectType: 'BL_RESOURCE_REQUEST', resourceName: name, venID: venId, clientID, targets: ['feeder-9'] }
    : { objectType: 'VEN_RESOURCE_REQUEST', resourceName: name, venID: venId };
}

for (const version of VERSIONS) {
  describe(`VTN ${version} objects`, () => {
    test('programs: create, read, list, update, conflict on name, delete', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven } = await setup(h);
      const body = { ...programBody(version, 'TOU-A'), id: 'mine', createdDateTime: '2000-01-01T00:00:00Z', junk: 1 };
      const created = await h.call<Obj>('POST', '/programs', { token: bl, json: body });
      assert.equal(created.status, 201);
      assert.notEqual(created.body.id, 'mine', 'the VTN assigns ids');
      assert.equal(created.body.objectType, 'PROGRAM');
      assert.notEqual(created.body.createdDateTime, '2000-01-01T00:00:00Z');
      assert.equal(created.body.junk, undefined, 'properties the schema does not define are dropped');
      const id = created.body.id;

      const read = await h.call<Obj>('GET', `/programs/${id}`, { token: ven });
      assert.deepEqual(read.body, created.body);
      const duplicate = await h.call('POST', '/programs', { token: bl, json: programBody(version, 'TOU-A') });
      assert.equal(duplicate.status, 409);

      const other = await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'TOU-B') });
      const clash = await h.call('PUT', `/programs/${other.body.id}`, {
        token: bl,
        json: programBody(version, 'TOU-A'),
      });
      assert.equal(clash.status, 409);
      const updated = await h.call<Obj>('PUT', `/programs/${id}`, {
        token: bl,
        json: { ...programBody(version, 'TOU-A2'), intervalPeriod: { start: '2030-01-01T00:00:00Z', duration: 'P1Y' } },
      });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.programName, 'TOU-A2');
      assert.equal(updated.body.createdDateTime, created.body.createdDateTime);
      assert.equal(updated.body.id, id);
      const names = (await h.call<Obj[]>('GET', '/programs', { token: bl })).body.map((p) => p.programName);
      assert.deepEqual(names, ['TOU-A2', 'TOU-B']);
      // The freed name can be used again.
      assert.equal((await h.call('POST', '/programs', { token: bl, json: programBody(version, 'TOU-A') })).status, 201);

      const deleted = await h.call<Obj>('DELETE', `/programs/${id}`, { token: bl });
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.programName, 'TOU-A2');
      assert.equal((await h.call('GET', `/programs/${id}`, { token: bl })).status, 404);
      assert.equal(
        (await h.call('PUT', `/programs/${id}`, { token: bl, json: programBody(version, 'x') })).status,
        404,
      );
      assert.equal((await h.call('DELETE', `/programs/${id}`, { token: bl })).status, 404);
      const missing = await h.call('POST', '/programs', { token: bl, json: { programLongName: 'no name' } });
      assert.equal(missing.status, 400);
    });

    test('events: a program reference is required; filters by programID; a program delete deletes its events', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven } = await setup(h);
      const p1 = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p1') })).body;
      const p2 = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p2') })).body;
      const orphan = await h.call('POST', '/events', { token: bl, json: eventBody(version, 'no-such-program') });
      assert.equal(orphan.status, 409);
      const e1 = await h.call<Obj>('POST', '/events', { token: bl, json: eventBody(version, p1.id, { name: 'e1' }) });
      assert.equal(e1.status, 201);
      assert.equal(e1.body.objectType, 'EVENT');
      await h.call('POST', '/events', { token: bl, json: eventBody(version, p2.id, { name: 'e2' }) });
      await h.call('POST', '/events', { token: bl, json: eventBody(version, p1.id, { name: 'e3' }) });
      const ofP1 = await h.call<Obj[]>('GET', `/events?programID=${p1.id}`, { token: ven });
      assert.deepEqual(
        ofP1.body.map((e) => e.eventName),
        ['e1', 'e3'],
      );
      const changed = await h.call<Obj>('PUT', `/events/${e1.body.id}`, {
        token: bl,
        json: { ...eventBody(version, p1.id, { name: 'e1b', duration: 'PT2H' }) },
      });
      assert.equal(changed.status, 200);
      assert.equal(changed.body.eventName, 'e1b');
      const moved = await h.call('PUT', `/events/${e1.body.id}`, { token: bl, json: eventBody(version, 'gone') });
      assert.equal(moved.status, 409);
      await h.call('DELETE', `/programs/${p1.id}`, { token: bl });
      const left = await h.call<Obj[]>('GET', '/events', { token: bl });
      assert.deepEqual(
        left.body.map((e) => e.eventName),
        ['e2'],
      );
      assert.equal((await h.call('GET', `/events/${e1.body.id}`, { token: bl })).status, 404);
    });

    test('reports: written by a VEN against an event, stamped with its clientID, read by BL', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven } = await setup(h);
      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
      const event = (await h.call<Obj>('POST', '/events', { token: bl, json: eventBody(version, program.id) })).body;
      const report = {
        ...(version === '3.0.1' ? { programID: program.id } : {}),
        eventID: event.id,
        clientName: VEN1.venName,
        reportName: 'usage',
        resources: [
          {
            resourceName: 'meter-1',
            intervalPeriod: { start: '2030-01-01T00:00:00Z', duration: 'PT1H' },
            intervals: [{ id: 0, payloads: [{ type: 'USAGE', values: [2.5] }] }],
          },
        ],
      };
      const created = await h.call<Obj>('POST', '/reports', { token: ven, json: report });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.objectType, 'REPORT');
      if (version === '3.1.0') assert.equal(created.body.clientID, VEN1.clientId);
      const badEvent = await h.call('POST', '/reports', { token: ven, json: { ...report, eventID: 'nope' } });
      assert.equal(badEvent.status, 409);
      if (version === '3.0.1') {
        const other = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'q') })).body;
        assert.equal(
          (await h.call('POST', '/reports', { token: ven, json: { ...report, programID: other.id } })).status,
          409,
        );
      }
      const all = await h.call<Obj[]>('GET', `/reports?eventID=${event.id}&clientName=${VEN1.venName}`, { token: bl });
      assert.equal(all.body.length, 1);
      assert.equal((await h.call<Obj[]>('GET', '/reports?clientName=other', { token: bl })).body.length, 0);
      assert.equal((await h.call<Obj[]>('GET', `/reports?programID=${program.id}`, { token: bl })).body.length, 1);
      const updated = await h.call<Obj>('PUT', `/reports/${created.body.id}`, {
        token: ven,
        json: { ...report, reportName: 'usage-final' },
      });
      assert.equal(updated.body.reportName, 'usage-final');
      if (version === '3.1.0') assert.equal(updated.body.clientID, VEN1.clientId);
      assert.equal((await h.call('DELETE', `/reports/${created.body.id}`, { token: bl })).status, 403);
      assert.equal((await h.call('DELETE', `/reports/${created.body.id}`, { token: ven })).status, 200);
      assert.equal((await h.call<Obj[]>('GET', '/reports', { token: bl })).body.length, 0);
    });

    test('vens and resources: BL and VEN forms, unique names, a ven delete deletes its resources', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven } = await setup(h);
      const mine = await h.call<Obj>('POST', '/vens', { token: ven, json: venVenBody(version, VEN1.venName) });
      assert.equal(mine.status, 201, mine.text);
      assert.equal(mine.body.objectType, 'VEN');
      if (version === '3.1.0') assert.equal(mine.body.clientID, VEN1.clientId);
      const wrongName = await h.call('POST', '/vens', { token: ven, json: venVenBody(version, 'someone-else') });
      assert.equal(wrongName.status, 403, 'a VEN with a configured venName holds only that ven');
      const dup = await h.call('POST', '/vens', { token: bl, json: blVenBody(version, VEN1.venName, 'c') });
      assert.equal(dup.status, 409);
      const byBl = await h.call<Obj>('POST', '/vens', {
        token: bl,
        json: blVenBody(version, 'ven-9', 'client-9', ['group-a']),
      });
      assert.equal(byBl.status, 201, byBl.text);
      if (version === '3.1.0') {
        assert.equal(byBl.body.clientID, 'client-9');
        assert.deepEqual(byBl.body.targets, ['group-a']);
        const venAsBl = await h.call('POST', '/vens', { token: ven, json: blVenBody(version, VEN1.venName, 'x') });
        assert.equal(venAsBl.status, 403, 'only BL writes clientID and targets');
        const blAsVen = await h.call('POST', '/vens', { token: bl, json: venVenBody(version, 'ven-10') });
        assert.equal(blAsVen.status, 400);
      }

      const venId = mine.body.id;
      const r1 = await h.call<Obj>('POST', resourcesPath(h, venId), {
        token: ven,
        json: resourceBody(h, venId, 'battery', false),
      });
      assert.equal(r1.status, 201, r1.text);
      assert.equal(r1.body.objectType, 'RESOURCE');
      assert.equal(r1.body.venID, venId);
      const r2 = await h.call<Obj>('POST', resourcesPath(h, venId), {
        token: bl,
        json: resourceBody(h, venId, 'ev-charger', true),
      });
      assert.equal(r2.status, 201, r2.text);
      const sameName = await h.call('POST', resourcesPath(h, venId), {
        token: bl,
        json: resourceBody(h, venId, 'battery', true),
      });
      assert.equal(sameName.status, 409);
      // Another ven may have a resource of the same name.
      const other = await h.call<Obj>('POST', resourcesPath(h, byBl.body.id), {
        token: bl,
        json: resourceBody(h, byBl.body.id, 'battery', true, 'client-9'),
      });
      assert.equal(other.status, 201, other.text);
      const noVen = await h.call('POST', resourcesPath(h, 'no-such-ven'), {
        token: bl,
        json: resourceBody(h, 'no-such-ven', 'x', true),
      });
      assert.equal(noVen.status, 404);

      const itemPath = (id: string) => (version === '3.0.1' ? `/vens/${venId}/resources/${id}` : `/resources/${id}`);
      const read = await h.call<Obj>('GET', itemPath(r1.body.id), { token: ven });
      assert.equal(read.body.resourceName, 'battery');
      const renamed = await h.call<Obj>('PUT', itemPath(r1.body.id), {
        token: ven,
        json: resourceBody(h, venId, 'home-battery', false),
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.resourceName, 'home-battery');
      const byName = await h.call<Obj[]>(
        'GET',
        `${resourcesPath(h, venId)}?resourceName=home-battery${version === '3.1.0' ? `&venID=${venId}` : ''}`,
        { token: bl },
      );
      assert.equal(byName.body.length, 1);
      if (version === '3.0.1') {
        const venRead = await h.call<Obj & { resources?: Obj[] }>('GET', `/vens/${venId}`, { token: ven });
        assert.deepEqual(
          venRead.body.resources?.map((r) => r.resourceName),
          ['home-battery', 'ev-charger'],
        );
        // A resource addressed under another ven is not found.
        assert.equal((await h.call('GET', `/vens/${byBl.body.id}/resources/${r1.body.id}`, { token: bl })).status, 404);
      }
      const vens = await h.call<Obj[]>(`GET`, `/vens?venName=${VEN1.venName}`, { token: bl });
      assert.equal(vens.body.length, 1);

      const renamedVen = await h.call<Obj>('PUT', `/vens/${venId}`, {
        token: bl,
        json: blVenBody(version, VEN1.venName, VEN1.clientId, ['group-b']),
      });
      assert.equal(renamedVen.status, 200, renamedVen.text);
      // A VEN's update keeps the targets BL wrote.
      const venUpdate = await h.call<Obj>('PUT', `/vens/${venId}`, {
        token: ven,
        json: { ...venVenBody(version, VEN1.venName), attributes: [{ type: 'LOCATION', values: ['x'] }] },
      });
      assert.equal(venUpdate.status, 200, venUpdate.text);
      assert.deepEqual(venUpdate.body.targets, renamedVen.body.targets);

      const gone = await h.call('DELETE', `/vens/${venId}`, { token: ven });
      assert.equal(gone.status, 200);
      const remaining = await h.call<Obj[]>(
        'GET',
        version === '3.0.1' ? `/vens/${byBl.body.id}/resources` : '/resources',
        { token: bl },
      );
      assert.deepEqual(
        remaining.body.map((r) => r.id),
        [other.body.id],
      );
    });

    test('subscriptions: created with a verified callback, listed by objects and programID, deleted', async (t) => {
      const h = await startVtn(t, version);
      const { bl, ven } = await setup(h);
      const program = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
      const { startReceiver } = await import('./support.ts');
      const receiver = await startReceiver(t);
      const body = {
        clientName: VEN1.venName,
        programID: program.id,
        objectOperations: [{ objects: ['EVENT'], operations: ['CREATE', 'UPDATE'], callbackUrl: receiver.url }],
      };
      const created = await h.call<Obj>('POST', '/subscriptions', { token: ven, json: body });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.objectType, 'SUBSCRIPTION');
      if (version === '3.1.0') assert.equal(created.body.clientID, VEN1.clientId);
      const unknownProgram = await h.call('POST', '/subscriptions', { token: ven, json: { ...body, programID: 'x' } });
      assert.equal(unknownProgram.status, 409);
      assert.equal((await h.call<Obj[]>('GET', '/subscriptions?objects=EVENT', { token: bl })).body.length, 1);
      assert.equal((await h.call<Obj[]>('GET', '/subscriptions?objects=REPORT', { token: bl })).body.length, 0);
      assert.equal(
        (await h.call<Obj[]>(`GET`, `/subscriptions?programID=${program.id}`, { token: ven })).body.length,
        1,
      );
      const updated = await h.call<Obj>('PUT', `/subscriptions/${created.body.id}`, {
        token: ven,
        json: { ...body, clientName: 'renamed' },
      });
      assert.equal(updated.body.clientName, 'renamed');
      assert.equal((await h.call('DELETE', `/subscriptions/${created.body.id}`, { token: ven })).status, 200);
      assert.equal((await h.call<Obj[]>('GET', '/subscriptions', { token: bl })).body.length, 0);
    });

    if (version === '3.1.0')
      test('events: active=true leaves out events that have transpired', async (t) => {
        const h = await startVtn(t, version, { now: () => new Date('2030-06-01T00:00:00Z') });
        const { bl } = await setup(h);
        const p = (await h.call<Obj>('POST', '/programs', { token: bl, json: programBody(version, 'p') })).body;
        await h.call('POST', '/events', {
          token: bl,
          json: eventBody(version, p.id, { name: 'past', start: '2030-05-01T00:00:00Z' }),
        });
        await h.call('POST', '/events', {
          token: bl,
          json: eventBody(version, p.id, { name: 'future', start: '2030-07-01T00:00:00Z' }),
        });
        await h.call('POST', '/events', {
          token: bl,
          json: eventBody(version, p.id, { name: 'cancelled', start: '0001-01-01', duration: 'PT0S' }),
        });
        await h.call('POST', '/events', {
          token: bl,
          json: eventBody(version, p.id, { name: 'now-forever', start: '0001-01-01', duration: 'P9999Y' }),
        });
        const active = await h.call<Obj[]>('GET', '/events?active=true', { token: bl });
        assert.deepEqual(
          active.body.map((e) => e.eventName),
          ['future', 'now-forever'],
        );
        assert.equal((await h.call<Obj[]>('GET', '/events?active=false', { token: bl })).body.length, 4);
      });
  });
}
