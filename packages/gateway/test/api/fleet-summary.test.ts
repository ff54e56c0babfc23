/**
 * GET /api/fleet/summary over a seeded fleet: online/offline from telemetry freshness and the
 * edge's 'device.state' announcements, devices by class and state, power by class (meters out of
 * the total), the SoC histogram and mean, active and upcoming events; RBAC; and the store query
 * behind it (telemetry.latestOf) on SQLite (memory and file) and PostgreSQL, with the time a
 * 10,000-device summary takes printed (no timing assertion).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Device, ProgramEvent, Reading } from '@gridseam/model';
import { FleetSummarizer, type FleetSummary } from '../../src/api/fleet-summary.ts';
import { DeviceStates } from '../../src/api/live/device-states.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { dropPgSchema, isPgReachable, pgTestSchema, pgUrl } from '../helpers/services.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { battery, type Harness, harness, json, program, pvInverter, site, T0 } from './support.ts';

function device(id: string, cls: Device['class'], extra: Partial<Device> = {}): Device {
  return {
    id,
    siteId: 'site-1',
    class: cls,
    adapter: { kind: 'simulator', address: `sim://${id}` },
    capabilities: { controls: [] },
    enabled: true,
    ...extra,
  };
}

function power(deviceId: string, value: number, ts = T0 - 10_000): Reading {
  return { deviceId, ts, measurand: 'activePower', value, unit: 'W' };
}
function soc(deviceId: string, value: number, ts = T0 - 10_000): Reading {
  return { deviceId, ts, measurand: 'stateOfCharge', value, unit: '%' };
}
function state(deviceId: string, value: string, ts = T0 - 60_000): Reading {
  return { deviceId, ts, measurand: 'operatingState', value, unit: 'state' } as Reading;
}

function event(id: string, status: ProgramEvent['status'], start: number, durationS: number): ProgramEvent {
  return {
    id,
    programId: 'prog-1',
    source: 'operator',
    primacy: 20,
    intervals: [{ start, durationS, signals: [{ kind: 'exportLimit', value: 1000 }] }],
    targets: {},
    status,
    statusHistory: [{ status, at: T0 - 3_600_000 }],
    createdAt: T0 - 3_600_000,
  };
}

/** Polls the summary until `ready` accepts it (the answer is cached for a second). */
async function summaryWhen(h: Harness, ready: (s: FleetSummary) => boolean): Promise<FleetSummary> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await h.call('viewer', { method: 'GET', url: '/api/fleet/summary' });
    assert.equal(response.statusCode, 200, response.body);
    const summary = json<FleetSummary>(response);
    if (ready(summary) || Date.now() > deadline) return summary;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('GET /api/fleet/summary', () => {
  let h: Harness;

  before(async () => {
    h = await harness();
    await h.store.sites.create(site());
    const bat = (id: string, capacityWh: number, extra: Partial<Device> = {}) =>
      battery(id, 'site-1', {
        capabilities: {
          storage: { capacityWh, maxChargeW: 5000, maxDischargeW: 5000 },
          controls: ['chargeLimit'],
        },
        ...extra,
      });
    for (const d of [
      pvInverter('pv-1'),
      pvInverter('pv-2'),
      bat('bat-1', 13_500),
      bat('bat-2', 10_000),
      bat('bat-3', 5000),
      bat('bat-4', 5000, { enabled: false }),
      device('meter-1', 'meter'),
      device('ev-1', 'ev-charger'),
    ])
      await h.store.devices.create(d);
    await h.store.telemetry.write([
      power('pv-1', 3000),
      { ...power('pv-1', 1000), phase: 'A' }, // per phase: left out
      state('pv-1', 'running'),
      power('pv-2', 2000, T0 - 10 * 60_000), // stale: offline, no power
      power('bat-1', -1500),
      soc('bat-1', 55),
      state('bat-1', 'charging'),
      power('bat-2', 500),
      soc('bat-2', 100),
      state('bat-2', 'discharging'),
      power('bat-3', 0, T0 - 30_000),
      soc('bat-3', 5, T0 - 30_000),
      power('meter-1', -4000),
    ]);
    // The edge: bat-3 stopped answering after its last reading; ev-1 answers (no readings yet).
    await h.bus.publish('device.state', { deviceId: 'bat-3', at: T0 - 20_000, online: false }, { key: 'bat-3' });
    await h.bus.publish('device.state', { deviceId: 'ev-1', at: T0 - 60_000, online: true }, { key: 'ev-1' });

    await h.store.programs.create(program());
    await h.store.events.create(event('evt-active', 'active', T0 - 600_000, 3600));
    await h.store.events.create(event('evt-next', 'scheduled', T0 + 3_600_000, 1800));
    await h.store.events.create(event('evt-stale', 'scheduled', T0 - 7_200_000, 600)); // never started, over
    await h.store.events.create(event('evt-done', 'completed', T0 - 7_200_000, 600));
  });
  after(() => h.close());

  it('counts devices online and offline by class and state', async () => {
    const summary = await summaryWhen(h, (s) => s.devices.online === 5);
    assert.equal(summary.at, T0);
    assert.deepEqual(summary.devices, {
      total: 8,
      online: 5, // pv-1, bat-1, bat-2, meter-1 (fresh readings), ev-1 (announced online)
      offline: 3, // pv-2 (stale), bat-3 (announced offline after its last reading), bat-4 (disabled)
      byClass: {
        'pv-inverter': { total: 2, online: 1, offline: 1 },
        battery: { total: 4, online: 2, offline: 2 },
        meter: { total: 1, online: 1, offline: 0 },
        'ev-charger': { total: 1, online: 1, offline: 0 },
      },
      byState: { running: 1, charging: 1, discharging: 1, unknown: 2 },
    });
  });

  it('sums fresh power by class, leaving meters out of the total', async () => {
    const summary = await summaryWhen(h, (s) => s.devices.online === 5);
    assert.deepEqual(summary.powerW, {
      total: 2000, // 3000 - 1500 + 500 + 0
      byClass: { 'pv-inverter': 3000, battery: -1000, meter: -4000, 'ev-charger': 0 },
    });
  });

  it('gives the SoC distribution, mean and energy of the reporting batteries', async () => {
    const { storage } = await summaryWhen(h, (s) => s.devices.online === 5);
    assert.equal(storage.count, 4);
    assert.equal(storage.reporting, 3);
    assert.ok(storage.meanSocPct !== null && Math.abs(storage.meanSocPct - 160 / 3) < 1e-9);
    assert.equal(storage.capacityWh, 28_500);
    assert.ok(Math.abs(storage.storedWh - (0.55 * 13_500 + 10_000 + 0.05 * 5000)) < 1e-6);
    assert.equal(storage.socHistogram.length, 10);
    assert.deepEqual(storage.socHistogram[0], { fromPct: 0, toPct: 10, count: 1 });
    assert.deepEqual(storage.socHistogram[5], { fromPct: 50, toPct: 60, count: 1 });
    assert.deepEqual(storage.socHistogram[9], { fromPct: 90, toPct: 100, count: 1 }, '100 % falls in the last bin');
    assert.equal(
      storage.socHistogram.reduce((sum, bin) => sum + bin.count, 0),
      3,
    );
  });

  it('lists active and upcoming events, not those over', async () => {
    const { events } = await summaryWhen(h, (s) => s.devices.online === 5);
    assert.deepEqual(events.active, [
      {
        id: 'evt-active',
        programId: 'prog-1',
        source: 'operator',
        status: 'active',
        start: T0 - 600_000,
        end: T0 - 600_000 + 3_600_000,
        signals: ['exportLimit'],
      },
    ]);
    assert.deepEqual(
      events.upcoming.map((e) => e.id),
      ['evt-next'],
    );
  });

  it('needs a token; any role may read it', async () => {
    assert.equal((await h.call(undefined, { method: 'GET', url: '/api/fleet/summary' })).statusCode, 401);
    assert.equal((await h.call('viewer', { method: 'GET', url: '/api/fleet/summary' })).statusCode, 200);
  });
});

describe('FleetSummarizer', () => {
  it('reuses an answer for a second and shares one computation between concurrent callers', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    try {
      let now = T0;
      const summaries = new FleetSummarizer({ store, states: new DeviceStates(), now: () => now, cacheMs: 60_000 });
      const [a, b] = await Promise.all([summaries.get(), summaries.get()]);
      assert.equal(a, b, 'one computation');
      now += 1000;
      assert.equal((await summaries.get()).at, T0, 'cached');
      const fresh = new FleetSummarizer({ store, states: new DeviceStates(), now: () => now, cacheMs: 0 });
      assert.equal((await fresh.get()).at, T0 + 1000);
    } finally {
      await store.close();
    }
  });
});

/** latestOf on one store: the newest total reading per device and measurand, nothing else. */
async function checkLatestOf(store: Store): Promise<void> {
  await store.sites.create(site());
  for (const id of ['a', 'b', 'c']) await store.devices.create(battery(id));
  await store.telemetry.write([
    soc('a', 40, T0 - 3000),
    soc('a', 41, T0 - 2000),
    { ...soc('a', 42, T0 - 1000), phase: 'A' } as Reading,
    power('a', -100, T0 - 5000),
    soc('b', 90, T0 - 9000),
    { deviceId: 'b', ts: T0, measurand: 'voltage', value: 230, unit: 'V' },
    state('c', 'idle', T0 - 100),
  ]);
  const got = (await store.telemetry.latestOf(['stateOfCharge', 'activePower', 'operatingState']))
    .map((r) => `${r.deviceId} ${r.measurand} ${r.value} ${r.ts}`)
    .sort();
  assert.deepEqual(got, [
    `a activePower -100 ${T0 - 5000}`,
    `a stateOfCharge 41 ${T0 - 2000}`,
    `b stateOfCharge 90 ${T0 - 9000}`,
    `c operatingState idle ${T0 - 100}`,
  ]);
  assert.deepEqual(await store.telemetry.latestOf([]), []);
}

/** Seeds `count` batteries with power and SoC, then times one summary (printed, not asserted). */
async function timeLargeFleet(
  store: Store,
  label: string,
  count: number,
  report: (message: string) => void,
): Promise<void> {
  await store.sites.create(site('big'));
  const readings: Reading[] = [];
  const seeding = performance.now();
  for (let i = 0; i < count; i += 50) {
    const ids = Array.from({ length: Math.min(50, count - i) }, (_, k) => `big-${i + k}`);
    await Promise.all(ids.map((id) => store.devices.create(battery(id, 'big'))));
    for (const [k, id] of ids.entries()) readings.push(power(id, ((i + k) % 7) * 100 - 300), soc(id, (i + k) % 101));
  }
  for (let i = 0; i < readings.length; i += 5000) await store.telemetry.write(readings.slice(i, i + 5000));
  const summaries = new FleetSummarizer({ store, states: new DeviceStates(), now: () => T0, cacheMs: 0 });
  await summaries.get(); // warm: statements prepared, inbox merged
  const started = performance.now();
  const summary = await summaries.get();
  const ms = performance.now() - started;
  assert.ok(summary.devices.total >= count);
  assert.ok(summary.storage.reporting >= count);
  report(
    `fleet summary of ${count} devices on ${label}: ${ms.toFixed(0)} ms (seeding ${(started - seeding).toFixed(0)} ms)`,
  );
}

describe('store.telemetry.latestOf', () => {
  const temp = useTempDir('gridseam-latest-of-');

  it('SQLite in memory: newest total reading per device and measurand; 10,000 devices timed', async (t) => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    try {
      await checkLatestOf(store);
      await timeLargeFleet(store, 'SQLite (memory)', 10_000, (m) => t.diagnostic(m));
    } finally {
      await store.close();
    }
  });

  it('SQLite file (writer thread)', async () => {
    const store = await openStore({ kind: 'sqlite', path: join(temp.dir(), 'latest.sqlite') });
    await store.migrate();
    try {
      await checkLatestOf(store);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL; 10,000 devices timed', async (t) => {
    if (!(await isPgReachable())) {
      t.skip(`PostgreSQL not reachable at ${pgUrl()} (set GRIDSEAM_PG_URL)`);
      return;
    }
    const schema = pgTestSchema();
    const store = await openStore({ kind: 'postgres', url: pgUrl(), schema, poolSize: 4 });
    try {
      await store.migrate();
      await checkLatestOf(store);
      await timeLargeFleet(store, 'PostgreSQL', 10_000, (m) => t.diagnostic(m));
    } finally {
      await store.close();
      await dropPgSchema(schema);
    }
  });
});
