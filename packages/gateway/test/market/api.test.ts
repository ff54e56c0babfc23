/**
 * The market interface over the real API (inject): an aggregation registered through its states,
 * offers from a stored dispatch plan, awards imported as CSV and JSON into program events through
 * the control engine (source 'market', the aggregation's primacy, its group as target), re-import
 * idempotent, the stored awards, and refusals (roles, states, hostile and oversized bodies).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ProgramEvent } from '@gridseam/model';
import { curveQuantityAt, type EnergyOffer } from '@gridseam/settlement';
import { openBus } from '../../src/bus/index.ts';
import type { Bus } from '../../src/bus/types.ts';
import { ControlEngine } from '../../src/control/engine.ts';
import { type DispatchPlanDocument, DispatchPlanStore, historyEntry } from '../../src/dispatch/index.ts';
import {
  type AggregationOffers,
  type AggregationView,
  MarketService,
  type StoredAward,
} from '../../src/market/index.ts';
import { FleetRegistry } from '../../src/registry/index.ts';
import { openStore } from '../../src/store/index.ts';
import { battery, group, type Harness, harness, json, site, T0 } from '../api/support.ts';

const H = 3_600_000;
const D = 86_400_000;
/** 2023-11-15 16:00 PST = 2023-11-16 00:00Z: the first awarded hour. */
const A = Date.UTC(2023, 10, 16, 0);

const CSV = [
  'resource_id,start,end,market,product,mw,clearing_price',
  'CAISO_DERA_1,2023-11-15T16:00:00-08:00,2023-11-15T17:00:00-08:00,DA,ENERGY,-0.1,30.5',
  'CAISO_DERA_1,2023-11-15T17:00:00-08:00,2023-11-15T18:00:00-08:00,DA,ENERGY,0.35,118',
  'CAISO_DERA_1,2023-11-15T16:00:00-08:00,2023-11-15T17:00:00-08:00,DA,REG_UP,0.15,9.5',
].join('\n');

function aggregationBody(extra: Record<string, unknown> = {}) {
  return {
    id: 'agg-1',
    iso: 'CAISO',
    resourceId: 'CAISO_DERA_1',
    name: 'Feeder 12',
    participationModel: 'DERA',
    pricingNodes: ['PN_A', 'PN_B'],
    distributionFactors: [
      { pnode: 'PN_A', factor: 0.7, validFrom: T0 - D },
      { pnode: 'PN_B', factor: 0.3, validFrom: T0 - D },
    ],
    members: [
      { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 300, pnode: 'PN_A', validFrom: T0 - D },
      { deviceId: 'bat-2', siteId: 'site-1', capacityKw: 250, pnode: 'PN_B', validFrom: T0 - D },
    ],
    utility: { name: 'PG&E' },
    groupId: 'grp-agg',
    awardPrimacy: 140,
    ...extra,
  };
}

/** Two batteries, two hours from A. bat-1: charge 100 kW then discharge 200; bat-2: idle then 150. */
function plan(): DispatchPlanDocument {
  const battery = (deviceId: string, kw: number, nets: number[], capacity: Array<Record<string, number>>) => ({
    deviceId,
    siteId: 'site-1',
    soc0Pct: 50,
    socMeasuredAt: T0,
    nameplateKwh: 1200,
    usableKwh: 1200,
    chargeKw: kw,
    dischargeKw: kw,
    socMinPct: 10,
    socMaxPct: 90,
    etaCharge: 0.95,
    etaDischarge: 0.95,
    intervals: nets.map((netKw, k) => ({
      start: A + k * H,
      end: A + (k + 1) * H,
      chargeKw: Math.max(0, -netKw),
      dischargeKw: Math.max(0, netKw),
      netKw,
      energyKwh: 600 - nets.slice(0, k + 1).reduce((s, n) => s + n, 0),
      socPct: 50,
      capacityKw: capacity[k] ?? {},
    })),
    revenueUsd: { energy: 10 },
    degradationCostUsd: deviceId === 'bat-1' ? 3 : 1,
    cycles: 0.1,
    wear: { rainflowCycles: 0.1, deepestCyclePct: 20, lifeConsumed: 1e-6 },
    overrides: [],
  });
  return {
    id: 'plan-1',
    status: 'ok',
    createdAt: T0,
    triggers: ['cadence'],
    programId: 'dispatch',
    primacy: 200,
    horizon: { start: A, end: A + 2 * H, intervalSeconds: 3600, intervals: 2, requestedIntervals: 2 },
    prices: {
      source: 'inline',
      energyUsdPerMwh: [30, 120],
      regUpUsdPerMwH: [10, 12],
      regDownUsdPerMwH: [5, 6],
      openadrIntervals: 0,
    },
    batteries: [
      battery('bat-1', 300, [-100, 200], [{ regUp: 50 }]),
      battery('bat-2', 250, [0, 150], [{ regUp: 100, regDown: 80 }]),
    ],
    leftOut: [],
    overrides: [],
    revenueUsd: { energy: 20 },
    degradationCostUsd: 4,
    objectiveUsd: 16,
    penaltyUsd: 0,
    wear: { lifeConsumed: 2e-6, cycles: 0.2 },
    events: [],
  };
}

describe('market API', () => {
  let h: Harness;
  let bus: Bus;
  let engine: ControlEngine;

  before(async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    bus = await openBus({ kind: 'memory' });
    const now = () => h?.clock.now ?? T0;
    engine = new ControlEngine({ store, bus, autoTick: false });
    const plans = new DispatchPlanStore(store, { historySize: 5 });
    const market = new MarketService({ store, registry: new FleetRegistry({ store, bus, now }), engine, plans, now });
    h = await harness({ store, api: { dispatch: plans, market } });
    await plans.save(plan(), historyEntry(plan()));
    for (const [url, payload] of [
      ['/api/sites', site()],
      ['/api/devices', battery('bat-1')],
      ['/api/devices', battery('bat-2')],
      ['/api/groups', group('grp-agg')],
    ] as const)
      assert.equal((await h.call('operator', { method: 'POST', url, payload })).statusCode, 201);
  });

  after(async () => {
    await engine.close();
    await bus.close();
    await h.close();
  });

  test('an aggregation is created as a draft, replaced, and refused when wrong', async () => {
    const put = (role: 'viewer' | 'operator', payload: unknown, id = 'agg-1') =>
      h.call(role, {
        method: 'PUT',
        url: `/api/market/aggregations/${id}`,
        payload: payload as Record<string, unknown>,
      });
    assert.equal((await put('viewer', aggregationBody())).statusCode, 403);
    const created = await put('operator', aggregationBody());
    assert.equal(created.statusCode, 201, created.body);
    const view = json<AggregationView>(created);
    assert.deepEqual(view.aggregation.registration, {
      state: 'draft',
      history: [{ state: 'draft', at: T0, actor: 'operator-token' }],
    });
    assert.deepEqual(view.problems, []);
    assert.equal(view.capacityKw, 550);
    assert.equal(view.timeZone, 'America/Los_Angeles');
    // A registration in the body is ignored: moves go through /registration.
    const replaced = await put(
      'operator',
      aggregationBody({ name: 'Feeder 12b', registration: { state: 'active', history: [] } }),
    );
    assert.equal(replaced.statusCode, 200);
    assert.equal(json<AggregationView>(replaced).aggregation.registration.state, 'draft');
    assert.equal(json<AggregationView>(replaced).aggregation.name, 'Feeder 12b');

    const mismatch = await put('operator', aggregationBody(), 'agg-2');
    assert.equal(json(mismatch).code, 'GW_ERR_VALIDATION');
    const sameResource = await put('operator', aggregationBody({ id: 'agg-2' }), 'agg-2');
    assert.equal(sameResource.statusCode, 409);
    const bad = await put('operator', aggregationBody({ members: [{ deviceId: 'bat-1' }], groupId: 'nope' }));
    assert.equal(bad.statusCode, 400);
    assert.ok(json<{ issues: Array<{ path: string }> }>(bad).issues.some((i) => i.path === '/members/0/capacityKw'));

    const list = json<AggregationView[]>(await h.call('viewer', { method: 'GET', url: '/api/market/aggregations' }));
    assert.deepEqual(
      list.map((v) => v.aggregation.id),
      ['agg-1'],
    );
    assert.equal((await h.call('viewer', { method: 'GET', url: '/api/market/aggregations/nope' })).statusCode, 404);
  });

  test('awards need an active aggregation; registration moves are checked and audited', async () => {
    const early = await h.call('operator', {
      method: 'POST',
      url: '/api/market/awards',
      headers: { 'content-type': 'text/csv' },
      payload: CSV,
    });
    assert.equal(early.statusCode, 400);
    assert.match(json<{ message: string }>(early).message, /is draft; awards need an active aggregation/);

    const move = (to: string, note?: string) =>
      h.call('operator', {
        method: 'POST',
        url: '/api/market/aggregations/agg-1/registration',
        payload: { to, ...(note ? { note } : {}) },
      });
    const illegal = await move('iso-review');
    assert.equal(illegal.statusCode, 409);
    assert.equal(json(illegal).code, 'GW_ERR_INVALID_TRANSITION');
    h.clock.now = T0 + H;
    const review = json<AggregationView>(await move('utility-review', 'filed'));
    assert.equal(review.utilityReviewDue, T0 + H + 60 * D);
    assert.equal((await move('iso-review')).statusCode, 200);
    const active = json<AggregationView>(await move('active'));
    assert.deepEqual(
      active.aggregation.registration.history.map((e) => [e.state, e.actor]),
      [
        ['draft', 'operator-token'],
        ['utility-review', 'operator-token'],
        ['iso-review', 'operator-token'],
        ['active', 'operator-token'],
      ],
    );
    // Active: an edit that leaves it below CAISO's 500 kW is refused.
    const shrink = await h.call('operator', {
      method: 'PUT',
      url: '/api/market/aggregations/agg-1',
      payload: aggregationBody({ members: [aggregationBody().members[0]] }),
    });
    assert.equal(shrink.statusCode, 400);
    assert.match(json<{ message: string }>(shrink).message, /below the CAISO minimum of 500 kW/);
    const audit = json<Array<{ action: string }>>(
      await h.call('admin', { method: 'GET', url: '/api/audit?targetType=aggregation' }),
    );
    assert.deepEqual(
      audit.map((a) => a.action),
      [
        'market.aggregation.create',
        'market.aggregation.update',
        'market.aggregation.registration',
        'market.aggregation.registration',
        'market.aggregation.registration',
      ],
    );
  });

  test('offers from the latest plan: the plan at the forecast, capacity within the headroom', async () => {
    const response = await h.call('viewer', { method: 'GET', url: '/api/market/aggregations/agg-1/offers' });
    assert.equal(response.statusCode, 200, response.body);
    const offers = json<AggregationOffers>(response);
    assert.deepEqual(offers.plannedDeviceIds, ['bat-1', 'bat-2']);
    assert.equal(offers.energy.length, 2);
    // Hour 1: net -100 + 0 kW = -0.1 MW at $30; limits 300 + 250 kW each way = 0.55 MW.
    // Hour 2: net 200 + 150 kW = 0.35 MW at $120.
    const [first, second] = offers.energy as [EnergyOffer, EnergyOffer];
    assert.equal(first.interval.start, '2023-11-15T16:00:00-08:00');
    assert.equal(curveQuantityAt(first.curve, 30), -0.1);
    assert.deepEqual([first.curve[0]?.mw, first.curve.at(-1)?.mw], [-0.55, 0.55]);
    assert.equal(curveQuantityAt(second.curve, 120), 0.35);
    // Hour 1 capacity: regUp 50 + 100 = 150 kW at $10 (up room 400 + 250 = 650 kW); regDown 80 kW at $5 (down room 200 + 250).
    assert.deepEqual(
      offers.capacity.map((o) => [o.interval.startMs, o.product, o.mw, o.price]),
      [
        [A, 'REG_UP', 0.15, 10],
        [A, 'REG_DN', 0.08, 5],
      ],
    );
    const later = json<AggregationOffers>(
      await h.call('viewer', { method: 'GET', url: `/api/market/aggregations/agg-1/offers?from=${A + H}&market=RT` }),
    );
    assert.deepEqual(
      later.energy.map((o) => [o.interval.startMs, o.interval.market]),
      [[A + H, 'RT']],
    );
  });

  test('awards become market events with the aggregation primacy; importing again changes nothing', async () => {
    const importCsv = () =>
      h.call('operator', {
        method: 'POST',
        url: '/api/market/awards',
        headers: { 'content-type': 'text/csv' },
        payload: CSV,
      });
    const first = await importCsv();
    assert.equal(first.statusCode, 200, first.body);
    const result = json<{ awards: number; events: Array<{ id: string; created: boolean; programId: string }> }>(first);
    assert.equal(result.awards, 3);
    assert.deepEqual(
      result.events.map((e) => [e.programId, e.created]),
      [
        ['market-awards.agg-1', true],
        ['market-awards.agg-1', true],
      ],
    );

    const listEvents = async () =>
      json<ProgramEvent[]>(await h.call('viewer', { method: 'GET', url: '/api/events?programId=market-awards.agg-1' }));
    const events = await listEvents();
    assert.equal(events.length, 2);
    for (const event of events) {
      assert.equal(event.source, 'market');
      assert.equal(event.primacy, 140);
      assert.equal(event.status, 'scheduled');
      assert.deepEqual(event.targets, { groupIds: ['grp-agg'] });
    }
    const energy = events.find((e) => e.intervals.length === 2);
    assert.deepEqual(
      energy?.intervals.map((i) => [i.start, i.signals.find((s) => s.kind === 'fixedW')?.value]),
      [
        [A, -100_000],
        [A + H, 350_000],
      ],
    );
    const program = json<{ kind: string; source: string; primacy: number }>(
      await h.call('viewer', { method: 'GET', url: '/api/programs/market-awards.agg-1' }),
    );
    assert.deepEqual([program.kind, program.source, program.primacy], ['wholesale-market', 'market', 140]);

    // The same awards again, as CSV and as JSON: the same two events, updated in place.
    const again = json<{ events: Array<{ created: boolean }> }>(await importCsv());
    assert.deepEqual(
      again.events.map((e) => e.created),
      [false, false],
    );
    const asJson = await h.call('operator', {
      method: 'POST',
      url: '/api/market/awards',
      payload: {
        awards: [
          {
            resource_id: 'CAISO_DERA_1',
            start: A,
            end: A + H,
            market: 'DA',
            product: 'ENERGY',
            mw: -0.1,
            clearing_price: 30.5,
          },
          {
            resource_id: 'CAISO_DERA_1',
            start: A + H,
            end: A + 2 * H,
            market: 'DA',
            product: 'ENERGY',
            mw: 0.35,
            clearing_price: 118,
          },
        ],
      },
    });
    assert.equal(asJson.statusCode, 200, asJson.body);
    assert.deepEqual(
      json<{ events: Array<{ id: string; created: boolean }> }>(asJson).events.map((e) => [e.id, e.created]),
      [[energy?.id, false]],
    );
    assert.deepEqual((await listEvents()).map((e) => e.id).sort(), events.map((e) => e.id).sort());

    const stored = json<StoredAward[]>(await h.call('viewer', { method: 'GET', url: '/api/market/awards' }));
    assert.deepEqual(
      stored.map((a) => [a.interval.startMs, a.product, a.mw, a.clearingPrice, a.aggregationId, a.eventIds.length]),
      [
        [A, 'ENERGY', -0.1, 30.5, 'agg-1', 1],
        [A, 'REG_UP', 0.15, 9.5, 'agg-1', 1],
        [A + H, 'ENERGY', 0.35, 118, 'agg-1', 1],
      ],
    );
    const later = json<StoredAward[]>(
      await h.call('viewer', { method: 'GET', url: `/api/market/awards?from=${A + H}` }),
    );
    assert.deepEqual(
      later.map((a) => a.interval.startMs),
      [A + H],
    );
  });

  test('refused bodies: unknown resource, hostile, oversized, wrong media type, viewer', async () => {
    const post = (payload: string, contentType = 'text/csv', role: 'operator' | 'viewer' = 'operator') =>
      h.call(role, { method: 'POST', url: '/api/market/awards', headers: { 'content-type': contentType }, payload });
    const unknown = await post(CSV.replaceAll('CAISO_DERA_1', 'OTHER_1'));
    assert.equal(unknown.statusCode, 400);
    assert.match(json<{ message: string }>(unknown).message, /no aggregation has resource id OTHER_1/);
    assert.equal(json(await post(`${CSV}\u0001`)).code, 'GW_ERR_HOSTILE_INPUT');
    assert.equal(json(await post('[{"__proto__": {}}]', 'application/json')).code, 'GW_ERR_HOSTILE_INPUT');
    const big = await post(`${CSV}\n${'x'.repeat(1024 * 1024)}`);
    assert.equal(big.statusCode, 413);
    assert.equal(json(big).code, 'GW_ERR_BODY_TOO_LARGE');
    assert.equal((await post(CSV, 'text/plain')).statusCode, 415);
    assert.equal((await post(CSV, 'text/csv', 'viewer')).statusCode, 403);
  });
});
