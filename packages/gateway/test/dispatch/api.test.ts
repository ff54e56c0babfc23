/**
 * The dispatch routes over inject(): without dispatch they answer GW_ERR_NOT_SUPPORTED, before the
 * first plan GW_ERR_NOT_FOUND; then the latest plan, the history, and one battery's plan next to its
 * actual SoC readings (bucket averages over the window).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type DispatchPlanDocument, DispatchPlanStore, historyEntry } from '../../src/dispatch/index.ts';
import { openStore } from '../../src/store/index.ts';
import { battery, type Harness, harness, json, site, T0 } from '../api/support.ts';

const MIN = 60_000;

function planDoc(createdAt: number): DispatchPlanDocument {
  const intervals = [0, 1].map((k) => ({
    start: createdAt + k * 15 * MIN,
    end: createdAt + (k + 1) * 15 * MIN,
    chargeKw: k === 0 ? 2 : 0,
    dischargeKw: k === 0 ? 0 : 3,
    netKw: k === 0 ? -2 : 3,
    energyKwh: k === 0 ? 7.5 : 6.7,
    socPct: k === 0 ? 55.6 : 49.6,
  }));
  return {
    id: `plan-${createdAt}-1`,
    status: 'ok',
    createdAt,
    triggers: ['cadence'],
    programId: 'dispatch',
    primacy: 200,
    horizon: { start: createdAt, end: createdAt + 30 * MIN, intervalSeconds: 900, intervals: 2, requestedIntervals: 2 },
    prices: { source: 'inline', energyUsdPerMwh: [10, 300], openadrIntervals: 0 },
    batteries: [
      {
        deviceId: 'bat-1',
        siteId: 'site-1',
        soc0Pct: 50,
        socMeasuredAt: createdAt - 100,
        nameplateKwh: 13.5,
        usableKwh: 13.5,
        chargeKw: 5,
        dischargeKw: 5,
        socMinPct: 10,
        socMaxPct: 95,
        etaCharge: 0.95,
        etaDischarge: 0.95,
        intervals,
        revenueUsd: { energy: 0.22 },
        degradationCostUsd: 0,
        cycles: 0.06,
        wear: { rainflowCycles: 1, deepestCyclePct: 6, lifeConsumed: 1e-6 },
        eventId: 'dispatch:bat-1:x',
        overrides: [],
      },
    ],
    leftOut: [{ deviceId: 'bat-2', reason: 'offline' }],
    overrides: [],
    revenueUsd: { energy: 0.22 },
    degradationCostUsd: 0,
    objectiveUsd: 0.22,
    penaltyUsd: 0,
    wear: { lifeConsumed: 1e-6, cycles: 0.06 },
    events: [{ deviceId: 'bat-1', eventId: 'dispatch:bat-1:x', intervals: 2 }],
  };
}

describe('dispatch API', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  test('without dispatch the routes answer GW_ERR_NOT_SUPPORTED', async () => {
    h = await harness();
    const response = await h.call('viewer', { method: 'GET', url: '/api/dispatch/plan' });
    assert.equal(response.statusCode, 422);
    assert.equal(json<{ code: string }>(response).code, 'GW_ERR_NOT_SUPPORTED');
  });

  test('the latest plan, the history, and a battery plan next to its actual SoC', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.migrate();
    const plans = new DispatchPlanStore(store, { historySize: 10 });
    h = await harness({ store, api: { dispatch: plans } });
    const missing = await h.call('viewer', { method: 'GET', url: '/api/dispatch/plan' });
    assert.equal(missing.statusCode, 404);
    assert.equal(json<{ code: string }>(missing).code, 'GW_ERR_NOT_FOUND');

    await h.call('operator', { method: 'POST', url: '/api/sites', payload: site() });
    await h.call('operator', { method: 'POST', url: '/api/devices', payload: battery() });
    const earlier = planDoc(T0 - 15 * MIN);
    const latest = planDoc(T0);
    await plans.save(earlier, historyEntry(earlier));
    await plans.save(latest, historyEntry(latest));
    await store.telemetry.write(
      [T0 - 10 * MIN, T0 - 9 * MIN, T0 - 1000].map((ts, i) => ({
        deviceId: 'bat-1',
        ts,
        measurand: 'stateOfCharge' as const,
        value: 48 + i,
        unit: '%' as const,
      })),
    );

    const plan = json<DispatchPlanDocument>(await h.call('viewer', { method: 'GET', url: '/api/dispatch/plan' }));
    assert.deepEqual(plan, latest);
    const history = json<Array<{ id: string }>>(
      await h.call('viewer', { method: 'GET', url: `/api/dispatch/history?from=${T0 - 20 * MIN}` }),
    );
    assert.deepEqual(
      history.map((e) => e.id),
      [earlier.id, latest.id],
    );

    h.clock.now = T0 + 5 * MIN;
    const view = json<{
      window: { from: number; to: number };
      planned: unknown[];
      executed: Array<{ planId: string; netKw: number }>;
      actual: { socPct: Array<{ ts: number; value: number }> };
      battery: { deviceId: string; intervals?: unknown };
    }>(await h.call('viewer', { method: 'GET', url: '/api/devices/bat-1/plan' }));
    assert.deepEqual(view.window, { from: T0 - 30 * MIN, to: T0 + 30 * MIN });
    assert.equal(view.planned.length, 2);
    assert.deepEqual(
      view.executed.map((e) => [e.planId, e.netKw]),
      [
        [earlier.id, -2],
        [latest.id, -2],
      ],
    );
    assert.deepEqual(
      view.actual.socPct.map((p) => p.value),
      [48, 49, 50],
    );
    assert.equal(view.battery.deviceId, 'bat-1');
    assert.equal(view.battery.intervals, undefined, 'the intervals are in `planned`');

    const unknown = await h.call('viewer', { method: 'GET', url: '/api/devices/nope/plan' });
    assert.equal(unknown.statusCode, 404);
  });
});
