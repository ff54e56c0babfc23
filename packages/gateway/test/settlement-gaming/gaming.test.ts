/**
 * The adjustment-window gaming case (bess_market.md §3.5, "Adjustment-window gaming"): a
 * behind-the-meter battery that charges in the 3 hours the day-of adjustment reads (11-13 for a
 * 15:00 event) raises the site's measured load there, so the CAISO ratio (§3.2) or the PJM
 * additive adjustment (§3.3) lifts the baseline and the measured reduction exceeds what the
 * battery delivered. The dispatch optimiser's `noChargeWindows` (issue 9) removes it.
 *
 * The site: a flat 100 kWh/h base load on 10 history weekdays (2026-06-02 .. 2026-06-15) and on
 * the event day, Tuesday 2026-06-16; the event covers hours 15, 16, 17 (15:00-18:00), an
 * obligation of 50 kW. The aggregator's battery: 50 kW / 200 kWh, lossless (eta 1, so the figures
 * are exact by hand), empty at the start, $5/MWh throughput wear. Hourly prices: $40/MWh, except
 * cheap late morning (hours 11-13: $10) and an expensive event (hours 15-17: $200).
 *
 * By hand. The plan discharges 50 kW in hours 15-17 (200 - 40 - 5 > 0 with any charge hour), 150 kWh
 * in all, which it must first charge (empty start, terminal energy >= initial):
 * (1) Unconstrained: the cheapest 150 kWh is hours 11-13 at 50 kW each ($10 < $40 anywhere else).
 *     Site load: 150 kWh in 11-13, 50 kWh in 15-17, 100 elsewhere.
 *     CAISO 10-in-10: unadjusted baseline 100 (flat history). Ratio = (150 x 3) / (100 x 3) = 1.5,
 *     clamped to 1.2; baseline 120; measured reduction 120 - 50 = 70 kWh per hour (210 kWh) against
 *     the 50 (150 kWh) the battery delivered: inflated by 40 %.
 *     PJM High 4 of 5: CBL 100; additive delta = mean actual 150 - mean CBL 100 = +50; baseline 150;
 *     reduction 150 - 50 = 100 kWh per hour (300 kWh): doubled.
 * (2) noChargeWindows [11, 14): no charge in 11-13, the 150 kWh comes at $40 from other hours
 *     (which ones is the solver's choice: all cost the same). Window load 100: ratio 300/300 = 1,
 *     additive 0; reduction 100 - 50 = 50 kWh per hour = the discharge.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type Plan, type PlanRequest, planDispatch } from '@gridseam/dispatch';
import {
  type BaselineResult,
  type DayMatchingMethod,
  dayMatchingBaseline,
  intervalsFromBaseline,
  loadDaysFromHourly,
  settleEvent,
} from '@gridseam/settlement';

const EVENT_DAY = '2026-06-16'; // a Tuesday
const HISTORY = [
  '2026-06-02',
  '2026-06-03',
  '2026-06-04',
  '2026-06-05',
  '2026-06-08',
  '2026-06-09',
  '2026-06-10',
  '2026-06-11',
  '2026-06-12',
  '2026-06-15',
];
const EVENT_HOURS = [15, 16, 17];
const BASE_LOAD_KWH = 100;
const POWER_KW = 50;
const OBLIGATION_KW = 50;
const PRICES = Array.from({ length: 24 }, (_, hour) =>
  hour >= 11 && hour <= 13 ? 10 : hour >= 15 && hour <= 17 ? 200 : 40,
);
const TOLERANCE = 1e-6;

function planRequest(noChargeWindow: boolean): PlanRequest {
  return {
    starts: PRICES.map((_, hour) => Date.UTC(2026, 5, 16, hour)),
    intervalMinutes: 60,
    energyPriceUsdPerMwh: PRICES,
    batteries: [
      {
        id: 'bess',
        energyKwh: 200,
        chargeKw: POWER_KW,
        dischargeKw: POWER_KW,
        soc0: 0,
        etaCharge: 1,
        etaDischarge: 1,
        degradation: { throughputUsdPerMwh: 5 },
      },
    ],
    // The adjustment window: hours 11, 12, 13 (3 hours ending 1 hour before the 15:00 start).
    ...(noChargeWindow ? { noChargeWindows: [{ fromInterval: 11, toInterval: 14 }] } : {}),
  };
}

/** The site's metered load on the event day: base load + battery charge - battery discharge (kWh per hour). */
function siteLoad(plan: Plan): number[] {
  const battery = plan.batteries[0];
  assert.ok(battery);
  return battery.intervals.map((interval) => BASE_LOAD_KWH + interval.chargeKw - interval.dischargeKw);
}

function baseline(method: DayMatchingMethod, eventDayLoad: readonly number[]): BaselineResult {
  const rows = [
    ...HISTORY.flatMap((date) => Array.from({ length: 24 }, (_, hour) => ({ date, hour, kwh: BASE_LOAD_KWH }))),
    ...eventDayLoad.map((kwh, hour) => ({ date: EVENT_DAY, hour, kwh })),
  ];
  return dayMatchingBaseline({ method, days: loadDaysFromHourly(rows), eventDay: EVENT_DAY, eventHours: EVENT_HOURS });
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOLERANCE, `${what}: ${actual}, expected ${expected}`);
}

describe('adjustment-window gaming: a battery charging in the window inflates measured reduction', () => {
  let gamed: Plan;
  let constrained: Plan;

  before(async () => {
    gamed = await planDispatch(planRequest(false));
    constrained = await planDispatch(planRequest(true));
  });

  test('the plans: unconstrained charges in 11-13; with the no-charge window it does not; both discharge 50 kW in 15-17', () => {
    const gamedBattery = gamed.batteries[0];
    const constrainedBattery = constrained.batteries[0];
    assert.ok(gamedBattery && constrainedBattery);
    for (const hour of [11, 12, 13]) {
      close(gamedBattery.intervals[hour]?.chargeKw ?? Number.NaN, POWER_KW, `unconstrained charge at hour ${hour}`);
      close(constrainedBattery.intervals[hour]?.chargeKw ?? Number.NaN, 0, `constrained charge at hour ${hour}`);
      close(constrainedBattery.intervals[hour]?.dischargeKw ?? Number.NaN, 0, `constrained discharge at hour ${hour}`);
    }
    for (const battery of [gamedBattery, constrainedBattery]) {
      for (const hour of EVENT_HOURS)
        close(battery.intervals[hour]?.dischargeKw ?? Number.NaN, POWER_KW, `discharge at hour ${hour}`);
      // Lossless: 150 kWh out needs 150 kWh in (empty start, final energy >= initial).
      const charged = battery.intervals.reduce((sum, interval) => sum + interval.chargeKw, 0);
      const discharged = battery.intervals.reduce((sum, interval) => sum + interval.dischargeKw, 0);
      close(charged, 150, 'total charge');
      close(discharged, 150, 'total discharge');
    }
    // The unconstrained plan's charge is all in 11-13; the constrained one pays $40 instead of $10:
    // energy revenue 150 x (200 - 10) / 1000 = $28.50 vs 150 x (200 - 40) / 1000 = $24.00.
    close(gamed.revenueUsd.energy, 28.5, 'unconstrained energy revenue');
    close(constrained.revenueUsd.energy, 24, 'constrained energy revenue');
  });

  test('CAISO 10-in-10 without the window: ratio 1.5 clamped to 1.2, reduction 70 kWh/h against 50 delivered', () => {
    const load = siteLoad(gamed);
    for (const hour of [11, 12, 13]) close(load[hour] as number, 150, `site load at hour ${hour}`);
    const result = baseline('caiso-10in10', load);
    assert.deepEqual(result.days, HISTORY);
    assert.equal(result.adjustment.kind, 'ratio');
    close(result.adjustment.raw, 1.5, 'raw ratio');
    close(result.adjustment.applied, 1.2, 'applied ratio (the cap)');
    assert.deepEqual(
      result.intervals.map((interval) => interval.hour),
      EVENT_HOURS,
    );
    for (const interval of result.intervals) {
      close(interval.baseline, 120, `baseline at ${interval.hour}`);
      close(interval.actual, 50, `actual at ${interval.hour}`);
      close(interval.reduction, 70, `measured reduction at ${interval.hour}`);
      assert.ok(interval.reduction > POWER_KW + 1, 'measured reduction is inflated above the true discharge');
    }
    // Settled against a 50 kW obligation at the event prices: delivered 210 kWh although the battery
    // gave 150; paid 210 x 200 / 1000 = $42 instead of $30.
    const settlement = settleEvent({
      intervals: intervalsFromBaseline(result, OBLIGATION_KW, (interval) => PRICES[interval.hour]),
    });
    close(settlement.deliveredKwh, 210, 'settled delivered energy');
    close(settlement.energyPaymentUsd, 42, 'energy payment');
    close(settlement.performanceRatio, 1, 'performance ratio (credit capped at the obligation)');
  });

  test('PJM High 4 of 5 without the window: additive +50, reduction 100 kWh/h against 50 delivered', () => {
    const result = baseline('pjm-high4of5', siteLoad(gamed));
    // Candidates: the 5 most recent weekdays; all equal, so 4 of them (ties) and the same CBL of 100.
    assert.equal(result.days.length, 4);
    for (const day of result.days) assert.ok(HISTORY.slice(5).includes(day), `${day} is one of the 5 candidates`);
    assert.equal(result.adjustment.kind, 'additive');
    close(result.adjustment.raw, 50, 'additive delta');
    close(result.adjustment.applied, 50, 'additive delta applied (no cap)');
    for (const interval of result.intervals) {
      close(interval.baseline, 150, `baseline at ${interval.hour}`);
      close(interval.reduction, 100, `measured reduction at ${interval.hour}`);
    }
  });

  test('with the no-charge window: ratio 1, additive 0, measured reduction = the true 50 kWh/h discharge', () => {
    const load = siteLoad(constrained);
    const discharge = constrained.batteries[0]?.intervals ?? [];
    for (const hour of [11, 12, 13]) close(load[hour] as number, BASE_LOAD_KWH, `site load at hour ${hour}`);
    const caiso = baseline('caiso-10in10', load);
    close(caiso.adjustment.raw, 1, 'raw ratio');
    close(caiso.adjustment.applied, 1, 'applied ratio');
    const pjm = baseline('pjm-high4of5', load);
    close(pjm.adjustment.raw, 0, 'additive delta');
    for (const result of [caiso, pjm])
      for (const interval of result.intervals) {
        close(interval.baseline, BASE_LOAD_KWH, `${result.method} baseline at ${interval.hour}`);
        close(
          interval.reduction,
          discharge[interval.hour]?.dischargeKw ?? Number.NaN,
          `${result.method} reduction at ${interval.hour} = the battery's discharge`,
        );
      }
    const settlement = settleEvent({ intervals: intervalsFromBaseline(caiso, OBLIGATION_KW) });
    close(settlement.deliveredKwh, 150, 'settled delivered energy = 3 h x 50 kW');
    close(settlement.shortfallKwh, 0, 'no shortfall');
  });
});
