/**
 * DispatchScheduler on a real store, bus, registry and control engine (not ticking: no devices are
 * written), planning in a real worker thread: one event per battery updated in place by every plan,
 * batteries left out when their SoC is stale, an operator override the plan is solved around, a
 * bounded history, and an infeasible plan stored as a failed plan, logged once, its events left to
 * run out.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import type { DispatchWorker } from '@gridseam/dispatch';
import { GridseamError } from '@gridseam/model';
import { pino } from 'pino';
import type { Bus } from '../../src/bus/types.ts';
import type { DispatchSection } from '../../src/config/dispatch.ts';
import { ControlEngine } from '../../src/control/engine.ts';
import {
  DISPATCH_PLANS_NAMESPACE,
  DispatchPlanStore,
  DispatchScheduler,
  dispatchSettings,
  openPriceSource,
} from '../../src/dispatch/index.ts';
import type { Store } from '../../src/store/types.ts';
import { openBatteryFleet } from './support.ts';

interface Setup {
  store: Store;
  bus: Bus;
  engine: ControlEngine;
  scheduler: DispatchScheduler;
  logs: string[];
  close(): Promise<void>;
}

const opened: Setup[] = [];
afterEach(async () => {
  for (const setup of opened.splice(0)) await setup.close();
});

async function setup(section: Partial<DispatchSection> = {}, worker?: Pick<DispatchWorker, 'plan' | 'close'>) {
  const now = Date.now();
  const { store, bus, registry } = await openBatteryFleet(now);
  const engine = new ControlEngine({ store, bus, autoTick: false });
  const logs: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString('utf8'));
        callback();
      },
    }),
  );
  const settings = dispatchSettings({
    enrol: { deviceIds: ['bat-1'] },
    cadenceSeconds: 3600,
    intervalSeconds: 900,
    horizonMinutes: 240,
    socStaleSeconds: 600,
    ...section,
  });
  // Cheap for the first hour, dear for the next: charge now, discharge later.
  const prices = await openPriceSource({
    kind: 'inline',
    start: now - 1000,
    intervalSeconds: 3600,
    usdPerMwh: [10, 300, 300, 300, 300],
  });
  const plans = new DispatchPlanStore(store, { historySize: settings.historySize });
  const scheduler = new DispatchScheduler({
    settings,
    prices,
    plans,
    store,
    bus,
    registry,
    engine,
    logger,
    ...(worker ? { worker } : {}),
  });
  await scheduler.start();
  // The start's own plan, made now (the scheduler's timers do not hold the event loop open).
  await scheduler.replan('start');
  const result: Setup = {
    store,
    bus,
    engine,
    scheduler,
    logs,
    close: async () => {
      await scheduler.close();
      await engine.close();
      await bus.close();
      await store.close();
    },
  };
  opened.push(result);
  return result;
}

describe('DispatchScheduler', () => {
  test('each plan updates the one event of each battery in place: no pile-up', async () => {
    const { store, scheduler } = await setup();
    const first = await scheduler.replan('test');
    const second = await scheduler.replan('test');
    assert.equal(first?.status, 'ok');
    const battery = second?.batteries[0];
    assert.equal(battery?.deviceId, 'bat-1');
    assert.equal(battery?.eventId, first?.batteries[0]?.eventId);
    const events = await store.events.list({ programId: 'dispatch' });
    assert.equal(events.length, 1, 'one event for the battery, whatever the number of plans');
    const [event] = events;
    assert.equal(event?.source, 'market');
    assert.equal(event?.primacy, 200);
    assert.deepEqual(event?.targets, { deviceIds: ['bat-1'] });
    // The cadence (3600 s) over 900 s intervals: 4 intervals to reach the next plan, plus one.
    assert.equal(event?.intervals.length, 5);
    // Cheap now: the plan charges, a negative fixedW (generator convention).
    const firstInterval = battery?.intervals[0];
    assert.ok(firstInterval && firstInterval.netKw < 0);
    // The plan's price for the interval rides along for settlement (not a control type).
    assert.deepEqual(event?.intervals[0]?.signals, [
      { kind: 'fixedW', value: Math.round((firstInterval?.netKw ?? 0) * 1000), unit: 'W' },
      { kind: 'price', value: second?.prices.energyUsdPerMwh[0], unit: 'USD/MWh' },
    ]);
    assert.equal(event?.intervals[0]?.start, second?.horizon.start);
    assert.equal((await store.programs.get('dispatch'))?.source, 'market');
  });

  test('a battery whose SoC is stale is left out with the reason, and its event is not renewed', async () => {
    const { store, scheduler } = await setup({ socStaleSeconds: 1 });
    const before = (await store.events.list({ programId: 'dispatch' }))[0];
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const plan = await scheduler.replan('test');
    assert.equal(plan?.status, 'ok');
    assert.deepEqual(plan?.batteries, []);
    assert.match(plan?.leftOut[0]?.reason ?? '', /^stale: last stateOfCharge \d+ s old \(limit 1 s\)$/);
    const after = (await store.events.list({ programId: 'dispatch' }))[0];
    assert.deepEqual(after?.intervals, before?.intervals, 'the previous event runs out as it was');
  });

  test('an operator override of the battery holds its planned power; the plan lists it', async () => {
    const { engine, scheduler } = await setup();
    await engine.operatorOverride(
      { scope: { kind: 'device', id: 'bat-1' }, type: 'fixedW', value: 0, durationS: 1800 },
      'alice',
    );
    const plan = await scheduler.replan('test');
    const battery = plan?.batteries[0];
    assert.ok(battery);
    // 30 min of override over 15 min intervals from now: the first two intervals are held at 0.
    assert.deepEqual(
      battery.intervals.slice(0, 2).map((i) => [i.chargeKw, i.dischargeKw]),
      [
        [0, 0],
        [0, 0],
      ],
    );
    assert.ok((battery.intervals[2]?.chargeKw ?? 0) > 0, 'it charges in what is left of the cheap hour');
    assert.deepEqual(
      battery.overrides.map((o) => [o.source, o.type, o.value, o.ref, o.fromInterval, o.toInterval]),
      [['operator', 'fixedW', 0, 'alice', 0, 2]],
    );
  });

  test('a SoC reading far from the plan and a battery going offline each trigger a re-plan', async () => {
    const { bus, scheduler } = await setup({ minReplanSeconds: 0 });
    const plans: Array<{ triggers: string[]; leftOut: string[] }> = [];
    scheduler.onPlan((plan) => plans.push({ triggers: plan.triggers, leftOut: plan.leftOut.map((l) => l.reason) }));
    const until = async (what: string, check: () => boolean) => {
      for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(check(), what);
    };
    // The plan starts from 50 %; 80 % now is 30 points off.
    await bus.publish('telemetry', {
      readings: [{ deviceId: 'bat-1', ts: Date.now(), measurand: 'stateOfCharge', value: 80, unit: '%' }],
    });
    await until('a plan triggered by the SoC jump', () => plans.some((p) => p.triggers.includes('soc-deviation')));
    await bus.publish('device.state', { deviceId: 'bat-1', at: Date.now(), online: false });
    await until('a plan triggered by the battery going offline', () =>
      plans.some((p) => p.triggers.includes('device-offline') && p.leftOut.includes('offline')),
    );
  });

  test('the history is bounded; the latest plan is kept in full', async () => {
    const { store, scheduler } = await setup({ historySize: 3 });
    for (let i = 0; i < 4; i++) await scheduler.replan('test');
    const docs = await store.documents.list(DISPATCH_PLANS_NAMESPACE);
    assert.deepEqual(
      docs.map((d) => d.id.split('/')[0]),
      ['history', 'history', 'history', 'latest'],
    );
  });

  test('an infeasible plan is stored as failed with the diagnosis, logged once, and no event is renewed', async () => {
    let fail = false;
    const diagnosis = {
      constraint: 'terminal',
      subject: 'bat-1',
      interval: 15,
      message: 'battery "bat-1" cannot meet its terminal condition',
    };
    const real = await import('@gridseam/dispatch');
    const inner = new real.DispatchWorker();
    const worker: Pick<DispatchWorker, 'plan' | 'close'> = {
      plan: (request, options) =>
        fail
          ? Promise.reject(new GridseamError('GW_ERR_INFEASIBLE', diagnosis.message, { details: diagnosis }))
          : inner.plan(request, options),
      close: () => inner.close(),
    };
    const { store, scheduler, logs } = await setup({}, worker);
    const before = (await store.events.list({ programId: 'dispatch' }))[0];
    fail = true;
    const failed = await scheduler.replan('test');
    await scheduler.replan('test');
    assert.equal(failed?.status, 'failed');
    assert.deepEqual(failed?.failure, { code: 'GW_ERR_INFEASIBLE', message: diagnosis.message, diagnosis });
    assert.deepEqual(failed?.events, []);
    const after = (await store.events.list({ programId: 'dispatch' }))[0];
    assert.deepEqual(after?.intervals, before?.intervals, 'the previous event is left to run out');
    assert.equal(logs.filter((line) => line.includes('dispatch plan failed')).length, 1, 'logged once');
    fail = false;
    assert.equal((await scheduler.replan('test'))?.status, 'ok');
    assert.equal(logs.filter((line) => line.includes('dispatch planning recovered')).length, 1);
  });
});
