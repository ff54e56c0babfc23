import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  battery,
  enrolment,
  event,
  group,
  type Harness,
  harness,
  json,
  program,
  pvInverter,
  site,
  T0,
} from './support.ts';

type Entity = Record<string, unknown> & { id: string };

interface Resource {
  path: string;
  create: Entity;
  replace: Entity;
  /** A field the replacement changed, and its new value. */
  changed: [string, unknown];
}

describe('API CRUD round trips', () => {
  let h: Harness;

  before(async () => {
    h = await harness();
    // Things the resources under test refer to.
    for (const [url, body] of [
      ['/api/sites', site('site-1')],
      ['/api/sites', site('site-2')],
      ['/api/devices', battery('bat-1', 'site-1')],
      ['/api/programs', program('prog-1')],
    ] as const) {
      const response = await h.call('operator', { method: 'POST', url, payload: body });
      assert.equal(response.statusCode, 201, response.body);
    }
  });
  after(() => h.close());

  const resources: Resource[] = [
    {
      path: '/api/sites',
      create: site('site-x'),
      replace: site('site-x', { name: 'Depot', nmi: '4102345678' }),
      changed: ['name', 'Depot'],
    },
    {
      path: '/api/devices',
      create: pvInverter('pv-x', 'site-1'),
      replace: { ...pvInverter('pv-x', 'site-2'), name: 'Roof array' },
      changed: ['siteId', 'site-2'],
    },
    {
      path: '/api/groups',
      create: group('grp-x'),
      replace: group('grp-x', { kind: 'aggregation', market: { iso: 'CAISO' } }),
      changed: ['kind', 'aggregation'],
    },
    {
      path: '/api/programs',
      create: program('prog-x'),
      replace: program('prog-x', { primacy: 1 }),
      changed: ['primacy', 1],
    },
    {
      path: '/api/events',
      create: event('evt-x', 'prog-1'),
      replace: event('evt-x', 'prog-1', { targets: { deviceIds: ['bat-1'] } }),
      changed: ['targets', { deviceIds: ['bat-1'] }],
    },
    {
      path: '/api/enrolments',
      create: enrolment('enr-x'),
      replace: enrolment('enr-x', { status: 'suspended' }),
      changed: ['status', 'suspended'],
    },
  ];

  for (const resource of resources) {
    it(`${resource.path}: create, get, list, replace, delete`, async () => {
      const id = resource.create.id;
      const created = await h.call('operator', { method: 'POST', url: resource.path, payload: resource.create });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.headers.location, `${resource.path}/${id}`);
      const createdBody = json<Entity>(created);
      for (const [key, value] of Object.entries(resource.create)) assert.deepEqual(createdBody[key], value, key);
      assert.equal(createdBody.createdAt, T0);

      const fetched = await h.call('viewer', { method: 'GET', url: `${resource.path}/${id}` });
      assert.equal(fetched.statusCode, 200);
      assert.deepEqual(json(fetched), createdBody);

      const listed = await h.call('viewer', { method: 'GET', url: resource.path });
      assert.equal(listed.statusCode, 200);
      assert.ok(json<Entity[]>(listed).some((e) => e.id === id));

      const duplicate = await h.call('operator', { method: 'POST', url: resource.path, payload: resource.create });
      assert.equal(duplicate.statusCode, 409, duplicate.body);
      assert.equal(json(duplicate).code, 'GW_ERR_CONFLICT');

      h.clock.now = T0 + 5000;
      const replaced = await h.call('operator', {
        method: 'PUT',
        url: `${resource.path}/${id}`,
        payload: resource.replace,
      });
      assert.equal(replaced.statusCode, 200, replaced.body);
      const [field, value] = resource.changed;
      assert.deepEqual(json(replaced)[field], value);
      const again = await h.call('viewer', { method: 'GET', url: `${resource.path}/${id}` });
      assert.deepEqual(json(again)[field], value);
      assert.equal(json(again).createdAt, T0);
      h.clock.now = T0;

      const mismatch = await h.call('operator', {
        method: 'PUT',
        url: `${resource.path}/other-id`,
        payload: resource.replace,
      });
      assert.equal(mismatch.statusCode, 400);
      assert.deepEqual(json(mismatch).issues, [{ path: '/id', message: 'must equal the id in the path (other-id)' }]);

      const deleted = await h.call('admin', { method: 'DELETE', url: `${resource.path}/${id}` });
      assert.equal(deleted.statusCode, 204);
      assert.equal(deleted.body, '');
      for (const [method, role] of [
        ['GET', 'viewer'],
        ['DELETE', 'admin'],
      ] as const) {
        const gone = await h.call(role, { method, url: `${resource.path}/${id}` });
        assert.equal(gone.statusCode, 404, `${method} after delete`);
        assert.equal(json(gone).code, 'GW_ERR_NOT_FOUND');
      }
      const replaceGone = await h.call('operator', {
        method: 'PUT',
        url: `${resource.path}/${id}`,
        payload: resource.replace,
      });
      assert.equal(replaceGone.statusCode, 404);
    });
  }

  it('refuses to delete a site that still has devices (409)', async () => {
    const response = await h.call('admin', { method: 'DELETE', url: '/api/sites/site-1' });
    assert.equal(response.statusCode, 409);
    assert.equal(json(response).code, 'GW_ERR_CONFLICT');
  });

  it('answers 400 with the path when a device names a site that does not exist', async () => {
    const response = await h.call('operator', { method: 'POST', url: '/api/devices', payload: battery('b9', 'ghost') });
    assert.equal(response.statusCode, 400);
    assert.equal(json<{ issues: Array<{ path: string }> }>(response).issues[0]?.path, '/siteId');
  });
});

describe('API list filters', () => {
  let h: Harness;

  before(async () => {
    h = await harness();
    const posts: Array<[string, unknown]> = [
      ['/api/sites', site('s1')],
      ['/api/sites', site('s2')],
      ['/api/devices', battery('b1', 's1')],
      ['/api/devices', battery('b2', 's2')],
      ['/api/devices', pvInverter('p1', 's1')],
      ['/api/groups', group('g1')],
      ['/api/groups', group('a1', { kind: 'aggregation' })],
      ['/api/programs', program('pa')],
      ['/api/programs', program('pb')],
      ['/api/events', event('e1', 'pa')],
      [
        '/api/events',
        event('e2', 'pb', {
          intervals: [{ start: T0 + 86_400_000, durationS: 3600, signals: [{ kind: 'price', value: 0.3 }] }],
        }),
      ],
      ['/api/enrolments', enrolment('n1', { programId: 'pa', deviceId: 'b1' })],
      ['/api/enrolments', enrolment('n2', { programId: 'pb', deviceId: 'b2' })],
      ['/api/enrolments', { id: 'n3', programId: 'pb', siteId: 's1', validFrom: T0, status: 'active' }],
    ];
    for (const [url, payload] of posts) {
      const response = await h.call('operator', { method: 'POST', url, payload: payload as Record<string, unknown> });
      assert.equal(response.statusCode, 201, `${url}: ${response.body}`);
    }
    const status = await h.call('operator', {
      method: 'POST',
      url: '/api/events/e1/status',
      payload: { status: 'active' },
    });
    assert.equal(status.statusCode, 200, status.body);
  });
  after(() => h.close());

  async function ids(url: string): Promise<string[]> {
    const response = await h.call('viewer', { method: 'GET', url });
    assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
    return json<Entity[]>(response)
      .map((e) => e.id)
      .sort();
  }

  it('filters devices by site and class', async () => {
    assert.deepEqual(await ids('/api/devices?siteId=s1'), ['b1', 'p1']);
    assert.deepEqual(await ids('/api/devices?class=battery'), ['b1', 'b2']);
    assert.deepEqual(await ids('/api/devices?siteId=s1&class=pv-inverter'), ['p1']);
    assert.deepEqual(await ids('/api/devices?limit=1&offset=0'), ['b1']);
  });

  it('filters groups by kind', async () => {
    assert.deepEqual(await ids('/api/groups?kind=aggregation'), ['a1']);
  });

  it('filters events by program, status and time span', async () => {
    assert.deepEqual(await ids('/api/events?programId=pb'), ['e2']);
    assert.deepEqual(await ids('/api/events?status=active'), ['e1']);
    assert.deepEqual(await ids('/api/events?status=scheduled'), ['e2']);
    // e1 runs [T0+1h, T0+1.5h), e2 [T0+24h, T0+25h).
    assert.deepEqual(await ids(`/api/events?from=${T0}&to=${T0 + 2 * 3_600_000}`), ['e1']);
    assert.deepEqual(await ids(`/api/events?from=${T0 + 3 * 3_600_000}`), ['e2']);
  });

  it('filters enrolments by program, device and site', async () => {
    assert.deepEqual(await ids('/api/enrolments?programId=pb'), ['n2', 'n3']);
    assert.deepEqual(await ids('/api/enrolments?deviceId=b1'), ['n1']);
    assert.deepEqual(await ids('/api/enrolments?siteId=s1'), ['n3']);
  });

  it('moves an event through its status and refuses a change from a final status (409)', async () => {
    const done = await h.call('operator', {
      method: 'POST',
      url: '/api/events/e1/status',
      payload: { status: 'completed', reason: 'ran out' },
    });
    assert.equal(done.statusCode, 200);
    assert.deepEqual(
      json<{ statusHistory: Array<{ status: string }> }>(done).statusHistory.map((s) => s.status),
      ['scheduled', 'active', 'completed'],
    );
    const back = await h.call('operator', {
      method: 'POST',
      url: '/api/events/e1/status',
      payload: { status: 'active' },
    });
    assert.equal(back.statusCode, 409);
    assert.equal(json(back).code, 'GW_ERR_INVALID_TRANSITION');
  });

  it('adds and ends group members and answers who was a member at an instant', async () => {
    const add = (deviceId: string, validFrom: number) =>
      h.call('operator', { method: 'POST', url: '/api/groups/g1/members', payload: { deviceId, validFrom } });
    assert.equal((await add('b1', T0)).statusCode, 201);
    assert.equal((await add('b2', T0 + 1000)).statusCode, 201);
    const duplicate = await add('b1', T0 + 2000);
    assert.equal(duplicate.statusCode, 409);

    const end = await h.call('operator', {
      method: 'POST',
      url: '/api/groups/g1/members/b1/end',
      payload: { validTo: T0 + 5000 },
    });
    assert.equal(end.statusCode, 200, end.body);
    assert.equal(json(end).validTo, T0 + 5000);

    // No body: ends now (the test clock).
    h.clock.now = T0 + 9000;
    const endNow = await h.call('operator', { method: 'POST', url: '/api/groups/g1/members/b2/end' });
    assert.equal(endNow.statusCode, 200, endNow.body);
    assert.equal(json(endNow).validTo, T0 + 9000);
    h.clock.now = T0;

    const members = async (query: string) => {
      const response = await h.call('viewer', { method: 'GET', url: `/api/groups/g1/members${query}` });
      assert.equal(response.statusCode, 200, response.body);
      return json<Array<{ deviceId: string }>>(response)
        .map((m) => m.deviceId)
        .sort();
    };
    assert.deepEqual(await members(''), ['b1', 'b2']);
    assert.deepEqual(await members(`?at=${T0 + 500}`), ['b1']);
    assert.deepEqual(await members(`?at=${T0 + 3000}`), ['b1', 'b2']);
    assert.deepEqual(await members(`?at=${T0 + 6000}`), ['b2']);
    assert.deepEqual(await members(`?at=${T0 + 9000}`), []);

    const unknownGroup = await h.call('viewer', { method: 'GET', url: '/api/groups/nope/members' });
    assert.equal(unknownGroup.statusCode, 404);
    const notOpen = await h.call('operator', { method: 'POST', url: '/api/groups/g1/members/b1/end' });
    assert.equal(notOpen.statusCode, 404);
  });
});
