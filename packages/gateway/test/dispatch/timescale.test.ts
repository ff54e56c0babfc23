/**
 * Simulated time for the rolling horizon (src/dispatch/timescale.ts): the time mapping as pure
 * functions, and the scheduler on a real store, bus, registry, control engine and worker thread
 * planning a battery at x144. Checked: plan intervals are simulated time (the optimiser's starts
 * and intervalMinutes, hence its energy maths) and real time for everything the gateway acts on
 * or stores (the plan's instants, the events' whole-second intervals); prices are read at the
 * simulated time of day; OpenADR price signals (real instants) are mapped onto simulated time; a
 * plan interval shorter than one real second is refused; speed 1 gives the real-time values.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { DispatchWorker, type PlanRequest } from '@gridseam/dispatch';
import { GridseamError } from '@gridseam/model';
import { ControlEngine } from '../../src/control/engine.ts';
import {
  DispatchPlanStore,
  DispatchScheduler,
  type DispatchTimeScale,
  dispatchSettings,
  type ExternalPricePoint,
  eventWindows,
  openPriceSource,
  planTimeline,
  REAL_TIME,
  realIntervalMs,
  simulatedPricePoints,
} from '../../src/dispatch/index.ts';
import { openBatteryFleet } from './support.ts';

const NOW = Date.UTC(2026, 2, 1, 9, 0, 0, 123);
/** 16:00 on a simulated day. */
const SIM_START = Date.UTC(2025, 0, 15, 16, 0);

/** Simulated = SIM_START at the real instant `realStart`, then `speed` times faster. */
function scaleFrom(realStart: number, speed: number): DispatchTimeScale {
  return { speed, simulatedAt: (realMs) => SIM_START + (realMs - realStart) * speed };
}

const isConfigError = (pattern: RegExp) => (error: unknown) =>
  GridseamError.is(error) && error.code === 'GW_ERR_CONFIG' && pattern.test(error.message);

describe('dispatch time scale: the mapping', () => {
  test('real time (the default) keeps the plan on the real clock, events of whole intervals', () => {
    const timeline = planTimeline(NOW, 4, 900_000, REAL_TIME);
    assert.deepEqual(timeline.simulatedStarts, [NOW, NOW + 900_000, NOW + 1_800_000, NOW + 2_700_000]);
    assert.deepEqual(timeline.realBounds, [NOW, NOW + 900_000, NOW + 1_800_000, NOW + 2_700_000, NOW + 3_600_000]);
    assert.equal(timeline.realIntervalMs, 900_000);
    assert.deepEqual(eventWindows(timeline, 2), [
      { start: NOW, durationS: 900 },
      { start: NOW + 900_000, durationS: 900 },
    ]);
    const settings = dispatchSettings({});
    assert.equal(settings.timeScale, REAL_TIME);
    assert.equal(settings.realIntervalMs, settings.intervalMs);
  });

  test('x144: simulated 900 s intervals last 6.25 real seconds; events keep whole seconds back to back', () => {
    const timeline = planTimeline(NOW, 8, 900_000, scaleFrom(NOW, 144));
    assert.equal(timeline.realIntervalMs, 6250);
    assert.deepEqual(
      timeline.simulatedStarts,
      Array.from({ length: 8 }, (_, k) => SIM_START + k * 900_000),
    );
    assert.deepEqual(
      timeline.realBounds.map((b) => b - NOW),
      [0, 6250, 12500, 18750, 25000, 31250, 37500, 43750, 50000],
    );
    const windows = eventWindows(timeline, 6);
    assert.deepEqual(
      windows.map((w) => w.durationS),
      [6, 7, 6, 6, 6, 7],
    );
    assert.equal(windows[0]?.start, NOW);
    windows.forEach((w, k) => {
      const next = windows[k + 1];
      if (next) assert.equal(next.start, w.start + w.durationS * 1000, 'back to back');
      // Each bound is within half a second of the plan's.
      assert.ok(Math.abs(w.start - (timeline.realBounds[k] as number)) <= 500);
    });
    // No more windows than the plan has intervals.
    assert.equal(eventWindows(timeline, 20).length, 8);
  });

  test('a plan interval shorter than one real second is refused with GW_ERR_CONFIG, as is a bad speed', () => {
    assert.equal(realIntervalMs(900_000, { speed: 900, simulatedAt: (t) => t }), 1000);
    assert.throws(
      () => dispatchSettings({ intervalSeconds: 900 }, scaleFrom(NOW, 1440)),
      isConfigError(/intervalSeconds 900 at speed x1440 lasts 0\.625 real seconds.*intervalSeconds >= 1440/),
    );
    assert.throws(() => planTimeline(NOW, 1, 60_000, scaleFrom(NOW, 61)), isConfigError(/at least 1 real second/));
    assert.throws(
      () => planTimeline(NOW, 1, 900_000, { speed: 2, simulatedAt: () => Number.NaN }),
      isConfigError(/simulatedAt/),
    );
    for (const speed of [0, -2, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => realIntervalMs(900_000, { speed, simulatedAt: (t) => t }), isConfigError(/speed/));
  });

  test('cadence stays real seconds: the default setpoint intervals reach the next plan in real time', () => {
    const settings = dispatchSettings({ cadenceSeconds: 30, intervalSeconds: 900 }, scaleFrom(NOW, 144));
    assert.equal(settings.cadenceMs, 30_000);
    assert.equal(settings.intervalMs, 900_000);
    assert.equal(settings.realIntervalMs, 6250);
    // ceil(30 s / 6.25 s) + 1.
    assert.equal(settings.setpointIntervals, 6);
    assert.equal(settings.horizonIntervals, 96, 'the horizon is simulated minutes over simulated intervals');
  });

  test('OpenADR price signals (real instants) map onto the simulated timeline', () => {
    const timeline = planTimeline(NOW, 4, 900_000, scaleFrom(NOW - 10_000, 144));
    const point: ExternalPricePoint = { payloadType: 'PRICE', start: NOW + 12_500, durationS: 25, value: 0.5 };
    const [mapped] = simulatedPricePoints([point], timeline);
    // NOW is 10 real s = 1440 simulated s after SIM_START; +12.5 real s = +1800 simulated s.
    assert.equal(timeline.simulatedStarts[0], SIM_START + 1_440_000);
    assert.deepEqual(mapped, { ...point, start: SIM_START + 1_440_000 + 1_800_000, durationS: 3600 });
    assert.deepEqual(simulatedPricePoints([point], planTimeline(NOW, 4, 900_000, REAL_TIME)), [point]);
  });

  test('the shipped sample is read at the simulated time of day, not the real one', async () => {
    const source = await openPriceSource({ kind: 'sample' });
    const timeline = planTimeline(NOW, 4, 3_600_000, scaleFrom(NOW, 3600));
    const simulated = source.prices(timeline.simulatedStarts, 3_600_000);
    const direct = source.prices(
      [0, 1, 2, 3].map((h) => SIM_START + h * 3_600_000),
      3_600_000,
    );
    assert.deepEqual(simulated.energyUsdPerMwh, direct.energyUsdPerMwh);
    const real = source.prices(
      [0, 1, 2, 3].map((h) => NOW + h * 3_600_000),
      3_600_000,
    );
    assert.notDeepEqual(simulated.energyUsdPerMwh, real.energyUsdPerMwh, '16:00-20:00 differs from 09:00-13:00');
  });
});

describe('dispatch time scale: the scheduler at x144', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  test('the optimiser plans simulated 15-min intervals; the plan, its prices and its events are real time', async () => {
    const realStart = Date.now();
    const { store, bus, registry } = await openBatteryFleet(realStart);
    closers.push(() => store.close());
    closers.push(() => bus.close());
    const engine = new ControlEngine({ store, bus, autoTick: false });
    closers.push(() => engine.close());

    const speed = 144;
    const timeScale = scaleFrom(realStart, speed);
    const settings = dispatchSettings(
      {
        enrol: { deviceIds: ['bat-1'] },
        cadenceSeconds: 30,
        intervalSeconds: 900,
        horizonMinutes: 240,
        socStaleSeconds: 600,
        terminal: 'free',
        battery: { roundTripEfficiency: 0.9 },
      },
      timeScale,
    );
    // Simulated time: cheap from 16:00 to 17:00, dear after; real time 09:00-ish would be neither.
    const prices = await openPriceSource({
      kind: 'inline',
      start: SIM_START,
      intervalSeconds: 3600,
      usdPerMwh: [10, 300, 300, 300, 300],
    });
    const requests: PlanRequest[] = [];
    const worker = new DispatchWorker({ maxModels: 1 });
    closers.push(() => worker.close());
    // A real OpenADR price of 500 $/MWh over real seconds 53 to 75: plan intervals 8 to 11 (of 6.25 s each).
    const external: ExternalPricePoint[] = [
      { payloadType: 'PRICE', start: realStart + 53_000, durationS: 22, value: 0.5 },
    ];
    const scheduler = new DispatchScheduler({
      settings,
      prices,
      plans: new DispatchPlanStore(store, { historySize: settings.historySize }),
      store,
      bus,
      registry,
      engine,
      externalPrices: () => external,
      worker: {
        plan: (request, options) => {
          requests.push(structuredClone(request));
          return worker.plan(request, options);
        },
        close: async () => undefined,
      },
    });
    closers.push(() => scheduler.close());
    await scheduler.start();
    const plan = await scheduler.replan('test');
    assert.equal(plan?.status, 'ok', JSON.stringify(plan?.failure));
    assert.ok(plan.createdAt - realStart < 3000, 'planned within a few real seconds');

    // The optimiser's view: simulated instants, 15-minute intervals (its energy maths in simulated hours).
    const request = requests.at(-1);
    assert.ok(request);
    assert.equal(request.intervalMinutes, 15);
    assert.equal(request.starts.length, 16);
    const simulatedNow = timeScale.simulatedAt(plan.createdAt);
    assert.equal(request.starts[0], simulatedNow);
    assert.equal((request.starts[1] as number) - (request.starts[0] as number), 900_000);

    // The document: real instants, with the speed and the simulated start for the console.
    const { horizon } = plan;
    assert.equal(horizon.start, plan.createdAt);
    assert.equal(horizon.end, horizon.start + 16 * 6250);
    assert.equal(horizon.intervalSeconds, 900);
    assert.equal(horizon.realIntervalSeconds, 6.25);
    assert.equal(horizon.speed, speed);
    assert.equal(horizon.simulatedStart, simulatedNow);

    // Prices at the simulated time: the first three intervals in the cheap hour (16:00-17:00; the
    // real 09:00 is not even in the inline series), then the dear hours, and the OpenADR price over
    // the real seconds it covers (4 intervals of 6.25 s, not 22 simulated seconds).
    const energy = plan.prices.energyUsdPerMwh;
    assert.equal(energy.length, 16);
    assert.deepEqual(energy.slice(0, 3), [10, 10, 10]);
    assert.deepEqual(energy.slice(4, 8), [300, 300, 300, 300]);
    assert.equal(plan.prices.openadrIntervals, 4);
    for (let k = 8; k < 12; k++) assert.ok((energy[k] as number) > 300, `interval ${k}: ${energy[k]} $/MWh`);
    assert.deepEqual(energy.slice(12), [300, 300, 300, 300]);

    // Energy in simulated hours: a full-power charge moves 5 kW x 0.25 h x sqrt(0.9) in the first interval.
    const battery = plan.batteries[0];
    assert.ok(battery);
    const first = battery.intervals[0];
    assert.ok(first);
    assert.equal(first.netKw, -5);
    assert.ok(
      Math.abs(first.energyKwh - (5 + 5 * 0.25 * Math.sqrt(0.9))) < 1e-6,
      `first interval ends at ${first.energyKwh} kWh`,
    );
    assert.deepEqual(battery.intervals.map((i) => [i.start - horizon.start, i.end - horizon.start]).slice(0, 3), [
      [0, 6250],
      [6250, 12500],
      [12500, 18750],
    ]);
    assert.ok(
      battery.intervals.some((i) => i.dischargeKw > 4),
      'it discharges in the dear hours',
    );

    // The event: real starts and whole-second durations, ceil(30 / 6.25) + 1 = 6 intervals.
    assert.ok(battery.eventId);
    const event = await store.events.get(battery.eventId);
    assert.ok(event);
    assert.equal(event.intervals.length, 6);
    assert.deepEqual(
      event.intervals.map((i) => i.durationS),
      eventWindows(planTimeline(horizon.start, 6, 900_000, timeScale), 6).map((w) => w.durationS),
    );
    assert.equal(event.intervals[0]?.start, Math.round(horizon.start));
    event.intervals.forEach((interval, k) => {
      assert.ok(Number.isInteger(interval.durationS) && interval.durationS >= 6 && interval.durationS <= 7);
      const next = event.intervals[k + 1];
      if (next) assert.equal(next.start, interval.start + interval.durationS * 1000);
      assert.equal(interval.signals[0]?.value, Math.round((battery.intervals[k]?.netKw ?? Number.NaN) * 1000));
    });
  });
});
