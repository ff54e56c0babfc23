/**
 * GET /api/devices/status (the device list's bulk status: the fleet summary's online rule, latest
 * operating state, fresh power and SoC, filters and paging of GET /api/devices, one shared
 * latest-readings query) and `order=asc|desc` on GET /api/devices/:id/commands, through the API
 * and on each store dialect (SQLite memory and file, PostgreSQL when reachable).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command, Device, Reading } from '@gridseam/model';
import { type DeviceStatus, FleetSummarizer, type FleetSummary } from '../../src/api/fleet-summary.ts';
import { DeviceStates } from '../../src/api/live/device-states.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { dropPgSchema, isPgReachable, pgTestSchema, pgUrl } from '../helpers/services.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { command } from '../store/contract.ts';
import { battery, type Harness, harness, json, pvInverter, site, T0 } from './support.ts';

function meter(id: string, siteId = 'site-1', extra: Partial<Device> = {}): Device {
  return {
    id,
    siteId,
    class: 'meter',
    adapter: { kind: 'simulator', address: `sim://${id}` },
    capabilities: { controls: [] },
    enabled: true,
    ...extra,
  };
}

const reading = (deviceId: string, measurand: Reading['measurand'], value: number | string, ts: number) =>
  ({ deviceId, ts, measurand, value, unit: typeof value === 'string' ? 'state' : 'W' }) as Reading;

/** Asks `url` until `ready` accepts the answer (the statuses share the summary's one-second cache). */
async function getWhen<T>(h: Harness, url: string, ready: (body: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await h.call('viewer', { method: 'GET', url });
    assert.equal(response.statusCode, 200, response.body);
    const body = json<T>(response);
    if (ready(body) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const byId = (statuses: DeviceStatus[]) => new Map(statuses.map((s) => [s.deviceId, s]));

describe('GET /api/devices/status', () => {
  let h: Harness;

  before(async () => {
    h = await harness();
    await h.store.sites.create(site());
    await h.store.sites.create(site('site-2'));
    for (const device of [
      battery('bat-1'),
      battery('bat-2'),
      battery('bat-off', 'site-1', { enabled: false }),
      pvInverter('pv-1'),
      pvInverter('pv-stale'),
      meter('meter-1'),
      meter('meter-2', 'site-2'),
      // An id equal to the bulk route's last segment: only its GET /api/devices/:id is shadowed.
      meter('status', 'site-2'),
    ])
      await h.store.devices.create(device);
    await h.store.telemetry.write([
      reading('bat-1', 'activePower', -1500, T0 - 10_000),
      reading('bat-1', 'stateOfCharge', 55, T0 - 10_000),
      reading('bat-1', 'operatingState', 'charging', T0 - 60_000),
      reading('bat-2', 'stateOfCharge', 140, T0 - 5000), // clamped to 100
      reading('bat-off', 'activePower', 300, T0 - 5000),
      reading('pv-1', 'activePower', 3000, T0 - 5000),
      { ...reading('pv-1', 'activePower', 999, T0 - 1000), phase: 'A' }, // per phase: left out
      reading('pv-stale', 'activePower', 2000, T0 - 10 * 60_000),
      reading('pv-stale', 'operatingState', 'running', T0 - 10 * 60_000),
      reading('meter-1', 'activePower', 4200, T0 - 30_000),
      reading('meter-2', 'activePower', -800, T0 - 5000),
    ]);
    // The edge: meter-1 stopped answering after its last reading; status answers (no readings).
    await h.bus.publish('device.state', { deviceId: 'meter-1', at: T0 - 20_000, online: false }, { key: 'meter-1' });
    await h.bus.publish('device.state', { deviceId: 'status', at: T0 - 60_000, online: true }, { key: 'status' });
  });
  after(() => h.close());

  it('gives each device its status by the fleet summary rules, in the order of GET /api/devices', async () => {
    const statuses = await getWhen<DeviceStatus[]>(
      h,
      '/api/devices/status',
      (s) => byId(s).get('meter-1')?.online === false && byId(s).get('status')?.online === true,
    );
    const devices = json<Device[]>(await h.call('viewer', { method: 'GET', url: '/api/devices' }));
    assert.deepEqual(
      statuses.map((s) => s.deviceId),
      devices.map((d) => d.id),
    );
    const status = byId(statuses);
    assert.deepEqual(status.get('bat-1'), {
      deviceId: 'bat-1',
      online: true,
      state: 'online',
      operatingState: 'charging',
      activePowerW: -1500,
      socPct: 55,
      lastSeenAt: T0 - 10_000,
    });
    assert.equal(status.get('bat-2')?.socPct, 100, 'SoC clamped to 100');
    assert.equal(status.get('bat-2')?.activePowerW, null);
    assert.deepEqual(
      { ...status.get('bat-off') },
      {
        deviceId: 'bat-off',
        online: false, // disabled
        state: 'offline',
        operatingState: null,
        activePowerW: 300,
        socPct: null,
        lastSeenAt: T0 - 5000,
      },
    );
    assert.equal(status.get('pv-1')?.activePowerW, 3000, 'the total, not phase A');
    assert.deepEqual(
      { ...status.get('pv-stale') },
      {
        deviceId: 'pv-stale',
        online: false,
        state: 'offline',
        operatingState: 'running', // the latest, whatever its age
        activePowerW: null, // older than 5 minutes
        socPct: null,
        lastSeenAt: T0 - 10 * 60_000,
      },
    );
    assert.equal(status.get('meter-1')?.online, false, 'announced offline after its last reading');
    assert.equal(status.get('meter-1')?.state, 'offline');
    assert.equal(status.get('meter-1')?.activePowerW, 4200);
    assert.deepEqual(
      { ...status.get('status') },
      {
        deviceId: 'status',
        online: true, // announced online, no readings
        state: 'online',
        operatingState: null,
        activePowerW: null,
        socPct: null,
        lastSeenAt: T0 - 60_000,
      },
    );
  });

  it('agrees with GET /api/fleet/summary device by device', async () => {
    const summary = await getWhen<FleetSummary>(h, '/api/fleet/summary', (s) => s.devices.online === 5);
    const statuses = await getWhen<DeviceStatus[]>(
      h,
      '/api/devices/status',
      (s) => s.filter((x) => x.online).length === 5,
    );
    const devices = json<Device[]>(await h.call('viewer', { method: 'GET', url: '/api/devices' }));
    const classOf = new Map(devices.map((d) => [d.id, d.class]));
    const counted: FleetSummary['devices']['byClass'] = {};
    const byState: Record<string, number> = {};
    for (const s of statuses) {
      const deviceClass = classOf.get(s.deviceId) ?? '?';
      const counts = counted[deviceClass] ?? { total: 0, online: 0, offline: 0 };
      counted[deviceClass] = counts;
      counts.total++;
      if (s.online) {
        counts.online++;
        byState[s.operatingState ?? 'unknown'] = (byState[s.operatingState ?? 'unknown'] ?? 0) + 1;
      } else counts.offline++;
    }
    assert.deepEqual(counted, summary.devices.byClass);
    assert.deepEqual(byState, summary.devices.byState);
    assert.equal(statuses.filter((s) => !s.online).length, summary.devices.offline);
  });

  it('takes the filters and paging of GET /api/devices', async () => {
    for (const query of [
      'siteId=site-2',
      'class=battery',
      'class=meter&siteId=site-2',
      'limit=3&offset=2',
      'offset=99',
    ]) {
      const devices = json<Device[]>(await h.call('viewer', { method: 'GET', url: `/api/devices?${query}` }));
      const statuses = json<DeviceStatus[]>(
        await h.call('viewer', { method: 'GET', url: `/api/devices/status?${query}` }),
      );
      assert.deepEqual(
        statuses.map((s) => s.deviceId),
        devices.map((d) => d.id),
        query,
      );
    }
    const site2 = json<DeviceStatus[]>(
      await h.call('viewer', { method: 'GET', url: '/api/devices/status?siteId=site-2' }),
    );
    assert.deepEqual(
      site2.map((s) => s.deviceId),
      ['meter-2', 'status'],
    );
  });

  it('refuses bad queries with GW_ERR_VALIDATION and needs a token', async () => {
    for (const query of ['class=toaster', 'limit=0', 'limit=1001', 'offset=-1', 'siteId=%20bad']) {
      const response = await h.call('viewer', { method: 'GET', url: `/api/devices/status?${query}` });
      assert.equal(response.statusCode, 400, query);
      assert.equal(json(response).code, 'GW_ERR_VALIDATION', query);
    }
    assert.equal((await h.call(undefined, { method: 'GET', url: '/api/devices/status' })).statusCode, 401);
  });

  it('leaves the routes under /api/devices/:id alone', async () => {
    const device = await h.call('viewer', { method: 'GET', url: '/api/devices/bat-1' });
    assert.equal(device.statusCode, 200);
    assert.equal(json<Device>(device).id, 'bat-1');
    const listed = await h.call('viewer', { method: 'GET', url: '/api/devices/status/commands' });
    assert.equal(listed.statusCode, 200, 'the device named status still has its commands');
    assert.deepEqual(json(listed), []);
    const latest = await h.call('viewer', { method: 'GET', url: '/api/devices/status/telemetry/latest' });
    assert.equal(latest.statusCode, 200);
    const replaced = await h.call('operator', {
      method: 'PUT',
      url: '/api/devices/status',
      payload: { ...meter('status', 'site-2'), name: 'A meter called status' },
    });
    assert.equal(replaced.statusCode, 200, replaced.body);
  });
});

describe('FleetSummarizer.statuses', () => {
  it('shares one latest-readings query with the summary while cached', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    try {
      await store.sites.create(site());
      await store.devices.create(battery('bat-1'));
      await store.telemetry.write([reading('bat-1', 'stateOfCharge', 70, T0 - 1000)]);
      let queries = 0;
      const telemetry = store.telemetry;
      const counting: Pick<Store, 'devices' | 'events' | 'telemetry'> = {
        devices: store.devices,
        events: store.events,
        telemetry: Object.assign(Object.create(telemetry) as Store['telemetry'], {
          latestOf: (measurands: Parameters<Store['telemetry']['latestOf']>[0]) => {
            queries++;
            return telemetry.latestOf(measurands);
          },
        }),
      };
      const summaries = new FleetSummarizer({
        store: counting,
        states: new DeviceStates(),
        now: () => T0,
        cacheMs: 60_000,
      });
      const devices = await store.devices.list();
      const [summary, statuses, again] = await Promise.all([
        summaries.get(),
        summaries.statuses(devices),
        summaries.statuses(devices),
      ]);
      assert.equal(queries, 1, 'one latestOf for the summary and both status pages');
      assert.equal(summary.storage.meanSocPct, 70);
      assert.equal(statuses[0]?.socPct, 70);
      assert.deepEqual(again, statuses);
      assert.deepEqual(await summaries.statuses([]), []);
    } finally {
      await store.close();
    }
  });
});

describe('GET /api/devices/:id/commands?order=', () => {
  let h: Harness;
  const created = [3000, 1000, 5000, 2000, 4000];

  before(async () => {
    h = await harness();
    await h.store.sites.create(site());
    await h.store.devices.create(battery('bat-1'));
    await h.store.devices.create(battery('bat-2'));
    for (const at of created) await h.store.commands.create(command(`c-${at}`, 'bat-1', T0 + at));
    await h.store.commands.create(command('c-other', 'bat-2', T0 + 2500));
    await h.store.commands.transition('c-4000', 'sent', T0 + 4100);
  });
  after(() => h.close());

  const ids = async (query: string) => {
    const response = await h.call('viewer', { method: 'GET', url: `/api/devices/bat-1/commands${query}` });
    assert.equal(response.statusCode, 200, response.body);
    return json<Command[]>(response).map((c) => c.id);
  };

  it('lists oldest first by default and with order=asc, newest first with order=desc', async () => {
    const ascending = ['c-1000', 'c-2000', 'c-3000', 'c-4000', 'c-5000'];
    assert.deepEqual(await ids(''), ascending);
    assert.deepEqual(await ids('?order=asc'), ascending);
    assert.deepEqual(await ids('?order=desc'), [...ascending].reverse());
  });

  it('pages and filters in that order', async () => {
    assert.deepEqual(await ids('?order=desc&limit=2'), ['c-5000', 'c-4000']);
    assert.deepEqual(await ids('?order=desc&limit=2&offset=2'), ['c-3000', 'c-2000']);
    assert.deepEqual(await ids('?order=desc&status=pending&limit=2'), ['c-5000', 'c-3000']);
    assert.deepEqual(await ids('?order=asc&limit=2'), ['c-1000', 'c-2000']);
  });

  it('refuses another order with GW_ERR_VALIDATION', async () => {
    const response = await h.call('viewer', { method: 'GET', url: '/api/devices/bat-1/commands?order=newest' });
    assert.equal(response.statusCode, 400);
    assert.equal(json(response).code, 'GW_ERR_VALIDATION');
  });
});

/** store.commands.list's order on one store: creation time then id, either way, with paging. */
async function checkCommandOrder(store: Store): Promise<void> {
  await store.sites.create(site());
  await store.devices.create(battery('d1'));
  // Two commands created in the same millisecond: the id breaks the tie, reversed too.
  for (const [id, at] of [
    ['c-b', 2000],
    ['c-a', 2000],
    ['c-c', 1000],
    ['c-d', 3000],
  ] as const)
    await store.commands.create(command(id, 'd1', T0 + at));
  const list = async (filter: Parameters<Store['commands']['list']>[0]) =>
    (await store.commands.list(filter)).map((c) => c.id);
  assert.deepEqual(await list({ deviceId: 'd1' }), ['c-c', 'c-a', 'c-b', 'c-d']);
  assert.deepEqual(await list({ deviceId: 'd1', order: 'asc' }), ['c-c', 'c-a', 'c-b', 'c-d']);
  assert.deepEqual(await list({ deviceId: 'd1', order: 'desc' }), ['c-d', 'c-b', 'c-a', 'c-c']);
  assert.deepEqual(await list({ deviceId: 'd1', order: 'desc', limit: 1, offset: 1 }), ['c-b']);
  assert.deepEqual(await list({ order: 'desc', limit: 2 }), ['c-d', 'c-b']);
}

describe('store.commands.list order', () => {
  const temp = useTempDir('gridseam-command-order-');

  it('SQLite in memory', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    try {
      await checkCommandOrder(store);
    } finally {
      await store.close();
    }
  });

  it('SQLite file', async () => {
    const store = await openStore({ kind: 'sqlite', path: join(temp.dir(), 'commands.sqlite') });
    await store.migrate();
    try {
      await checkCommandOrder(store);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL', async (t) => {
    if (!(await isPgReachable())) {
      t.skip(`PostgreSQL not reachable at ${pgUrl()} (set GRIDSEAM_PG_URL)`);
      return;
    }
    const schema = pgTestSchema();
    const store = await openStore({ kind: 'postgres', url: pgUrl(), schema, poolSize: 2 });
    try {
      await store.migrate();
      await checkCommandOrder(store);
    } finally {
      await store.close();
      await dropPgSchema(schema);
    }
  });
});
