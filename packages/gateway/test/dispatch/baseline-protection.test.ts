/**
 * The scheduler keeps a battery from charging in a DR event's baseline adjustment window
 * (dispatch.baselineProtection, src/dispatch/baseline-windows.ts; the gaming case of
 * bess_market.md §3.5 and test/settlement-gaming/gaming.test.ts).
 *
 * A real store, bus, registry, control engine (not ticking) and one DispatchWorker shared by both
 * schedulers; a fixed clock at 2026-06-16 08:00Z whose timers never fire (plans are asked for).
 * Two identical batteries, bat-a on site-a and bat-b on site-b (10 kWh, 5 kW, SoC 10-90 %, at
 * 50 %, round trip 0.9). Hourly plan intervals 08:00Z-20:00Z (interval k = [08 + k, 09 + k) h);
 * prices $50/MWh, except $10 in 11:00-14:00 (intervals 3-5) and $300 in 15:00-18:00 (7-9). A
 * demand-response event at site-a 15:00-18:00Z: its window is [11:00, 14:00) = intervals 3-5.
 *
 * By hand (each way eta = sqrt(0.9) = 0.9487; the band is 1-9 kWh, the start 5 kWh, the end at
 * least 5 kWh: terminal at-least-initial). Selling at $300 gives 284.6 per MWh stored, buying costs
 * price / 0.9487: $10 -> 10.5, $50 -> 52.7.
 * - Unprotected (bat-b; bat-a too when protection is off): sell the 4 kWh above the floor at $50 at
 *   08:00 (47.4 > 10.5 to buy it back), buy the whole band, 8 kWh stored = 8 / 0.9487 = 8.433 kWh,
 *   at $10 in intervals 3-5, sell it at $300 in 7-9 (8 x 0.9487 = 7.590 kWh out), buy back 4 kWh
 *   stored (4.216 kWh) at $50 at the end.
 * - Protected (bat-a, its site has the event): no charge in 3-5 (its charge column is bounded to
 *   0); selling at $50 to buy back at $50 loses, so it only fills 5 -> 9 kWh, 4.216 kWh bought at
 *   $50 in 0-2 or 6 (a tie), sells the same 7.590 kWh at $300 and buys back 4.216 kWh at the end.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DispatchWorker } from '@gridseam/dispatch';
import { GridseamError, type ProgramEvent } from '@gridseam/model';
import { openBus } from '../../src/bus/index.ts';
import { ControlEngine } from '../../src/control/engine.ts';
import {
  type DispatchPlanDocument,
  DispatchPlanStore,
  DispatchScheduler,
  dispatchSettings,
  openPriceSource,
} from '../../src/dispatch/index.ts';
import type { EdgeClock } from '../../src/edge/clock.ts';
import { FleetRegistry } from '../../src/registry/index.ts';
import { openStore } from '../../src/store/index.ts';
import { planOf } from './support.ts';

const H = 3_600_000;
const NOW = Date.UTC(2026, 5, 16, 8);
const at = (hour: number) => Date.UTC(2026, 5, 16, hour);
/** 08:00 .. 19:00. */
const PRICES = [50, 50, 50, 10, 10, 10, 50, 300, 300, 300, 50, 50];
const WINDOW = [3, 4, 5];

/** Always 08:00Z; timers are kept, never fired. */
const clock: EdgeClock = { now: () => NOW, setTimeout: () => ({}), clearTimeout: () => undefined };

const worker = new DispatchWorker({ maxModels: 2 });
after(() => worker.close());

/** Plans once for the fleet with the DR event, protection on or off, and closes everything. */
async function planWithEvent(
  enabled: boolean,
  planner: Pick<DispatchWorker, 'plan' | 'close'> = worker,
): Promise<DispatchPlanDocument | undefined> {
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  await store.migrate();
  const bus = await openBus({ kind: 'memory' });
  const registry = new FleetRegistry({ store, bus });
  const engine = new ControlEngine({ store, bus, autoTick: false, clock });
  const settings = dispatchSettings({
    enrol: { deviceIds: ['bat-a', 'bat-b'] },
    cadenceSeconds: 3600,
    intervalSeconds: 3600,
    horizonMinutes: 720,
    socStaleSeconds: 600,
    baselineProtection: { enabled },
  });
  const prices = await openPriceSource({ kind: 'inline', start: NOW, intervalSeconds: 3600, usdPerMwh: PRICES });
  const scheduler = new DispatchScheduler({
    settings,
    prices,
    plans: new DispatchPlanStore(store, { historySize: settings.historySize }),
    store,
    bus,
    registry,
    engine,
    clock,
    worker: planner,
  });
  try {
    for (const site of ['a', 'b']) {
      await registry.createSite({ id: `site-${site}`, name: site }, 'test');
      await registry.createDevice(
        {
          id: `bat-${site}`,
          siteId: `site-${site}`,
          class: 'battery',
          adapter: { kind: 'simulator', address: `bat-${site}` },
          capabilities: {
            controls: ['fixedW'],
            storage: { capacityWh: 10_000, maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 90 },
          },
          enabled: true,
        },
        'test',
      );
      await store.telemetry.write([
        { deviceId: `bat-${site}`, ts: NOW, measurand: 'stateOfCharge', value: 50, unit: '%' },
      ]);
    }
    await registry.createProgram(
      { id: 'dr', name: 'Capacity bidding', kind: 'demand-response', source: 'openadr3', primacy: 20 },
      'test',
    );
    const event: ProgramEvent = {
      id: 'dr-event',
      programId: 'dr',
      source: 'openadr3',
      primacy: 20,
      intervals: [{ start: at(15), durationS: 3 * 3600, signals: [{ kind: 'simpleLevel', value: 1 }] }],
      targets: { siteIds: ['site-a'] },
      status: 'scheduled',
      statusHistory: [],
      createdAt: NOW - H,
    };
    await store.events.create(event);
    await scheduler.start();
    return await scheduler.replan('test');
  } finally {
    await scheduler.close();
    await engine.close();
    await bus.close();
    await store.close();
  }
}

describe('dispatch: baseline adjustment windows', () => {
  test("no charging at the event site in the window, the other site's battery charges there; off: both do; infeasible: solved without", async () => {
    const plan = await planWithEvent(true);
    assert.equal(plan?.status, 'ok');
    assert.equal(plan?.horizon.intervals, 12);
    const a = planOf(plan, 'bat-a');
    const b = planOf(plan, 'bat-b');
    assert.ok(a && b);
    assert.equal(a.intervals[3]?.start, at(11));
    for (const k of WINDOW) assert.equal(a.intervals[k]?.chargeKw, 0, `bat-a charges nothing in interval ${k}`);
    const chargeIn = (battery: typeof a, ks: number[]) =>
      ks.reduce((s, k) => s + (battery.intervals[k]?.chargeKw ?? 0), 0);
    const dischargeIn = (battery: typeof a, ks: number[]) =>
      ks.reduce((s, k) => s + (battery.intervals[k]?.dischargeKw ?? 0), 0);
    const eta = Math.sqrt(0.9);
    const close = (actual: number, expected: number, what: string) =>
      assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} kWh, expected ${expected}`);
    close(chargeIn(b, WINDOW), 8 / eta, 'bat-b buys the whole band at $10 in the window');
    close(chargeIn(a, [0, 1, 2, 6]), 4 / eta, 'bat-a fills up at $50 outside it');
    close(dischargeIn(a, [7, 8, 9]), 8 * eta, 'bat-a sells the band in the event hours');
    close(dischargeIn(b, [7, 8, 9]), 8 * eta, 'so does bat-b');
    assert.deepEqual(plan?.baselineWindows, [
      {
        deviceId: 'bat-a',
        eventId: 'dr-event',
        programId: 'dr',
        from: at(11),
        to: at(14),
        fromInterval: 3,
        toInterval: 6,
      },
    ]);
    assert.equal(plan?.baselineWindowsDropped, undefined);

    const off = await planWithEvent(false);
    assert.equal(off?.status, 'ok');
    const offA = planOf(off, 'bat-a');
    assert.ok(offA);
    const offCharge = offA.intervals.slice(3, 6).reduce((s, i) => s + i.chargeKw, 0);
    assert.ok(
      Math.abs(offCharge - 8 / Math.sqrt(0.9)) < 1e-6,
      `unprotected, bat-a buys in the window: ${offCharge} kWh`,
    );
    assert.equal(off?.baselineWindows, undefined);

    // A protection rule never stops dispatch: a request the optimiser finds infeasible with the
    // windows (here a stand-in that refuses any min-0 window) is solved again without them.
    const requests: boolean[] = [];
    const refusing: Pick<DispatchWorker, 'plan' | 'close'> = {
      plan: (request, options) => {
        const protectedRequest = request.batteries.some((b) => b.powerWindows?.some((w) => w.minNetDischargeKw === 0));
        requests.push(protectedRequest);
        return protectedRequest
          ? Promise.reject(new GridseamError('GW_ERR_INFEASIBLE', 'stand-in: infeasible'))
          : worker.plan(request, options);
      },
      close: async () => undefined,
    };
    const dropped = await planWithEvent(true, refusing);
    assert.deepEqual(requests, [true, false], 'once with the windows, once without');
    assert.equal(dropped?.status, 'ok');
    assert.equal(dropped?.baselineWindowsDropped, true);
    assert.equal(dropped?.baselineWindows?.length, 1, 'the windows it was asked to keep are still listed');
    const droppedA = planOf(dropped, 'bat-a');
    assert.ok(droppedA);
    close(
      droppedA.intervals.slice(3, 6).reduce((s, i) => s + i.chargeKw, 0),
      8 / eta,
      'bat-a charges there again',
    );
  });
});
