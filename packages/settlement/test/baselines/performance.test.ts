/** Event settlement (bess_market.md §3.6) per interval, site, device and aggregation; by hand. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BaselineResult, EventIntervalInput } from '../../src/contract.ts';
import { eventReport, intervalsFromBaseline, settleEvent } from '../../src/index.ts';
import { assertClose, assertCloseArray, expectError } from './support.ts';

function hourly(reductions: number[], obligationKw: number, prices?: number[]): EventIntervalInput[] {
  return reductions.map((reductionKwh, i) => ({
    hour: 15 + i,
    durationH: 1,
    reductionKwh,
    obligationKw,
    ...(prices ? { priceUsdPerMwh: prices[i]! } : {}),
  }));
}

describe('settleEvent', () => {
  // O = 10 kW x 1 h = 10 kWh per interval; R = 12, 8, -3; prices 50, 100, 200 $/MWh; penalty 2 $/kWh.
  const intervals = hourly([12, 8, -3], 10, [50, 100, 200]);

  test('delivered, PR, shortfall, penalty, payment', () => {
    // D = 12 + 8 + 0 = 20; PR = (min(12,10) + 8 + (-3)) / 30 = 15/30 = 0.5;
    // S = 0 + 2 + 13 = 15; penalty = 15 x 2 = 30; payment = 12 x 0.05 + 8 x 0.1 + 0 = 1.4.
    const s = settleEvent({ intervals, penaltyUsdPerKwh: 2 });
    assertClose(s.deliveredKwh, 20);
    assertClose(s.obligationKwh, 30);
    assertClose(s.performanceRatio, 0.5);
    assertClose(s.shortfallKwh, 15);
    assertClose(s.penaltyUsd, 30);
    assertClose(s.energyPaymentUsd, 1.4);
    assert.deepEqual(s.intervals[0], {
      hour: 15,
      reductionKwh: 12,
      obligationKwh: 10,
      deliveredKwh: 12,
      shortfallKwh: 0,
      priceUsdPerMwh: 50,
      energyPaymentUsd: 0.6,
    });
    assertCloseArray(
      s.intervals.map((i) => i.energyPaymentUsd),
      [0.6, 0.8, 0],
    );
    assertCloseArray(
      s.intervals.map((i) => i.shortfallKwh),
      [0, 2, 13],
    );
  });

  test('options: uncapped credit, netted delivery; no penalty rate, no prices', () => {
    // Uncapped: PR = (12 + 8 - 3)/30 = 17/30. Netted: D = 17.
    const s = settleEvent({ intervals, capCreditAtObligation: false, netDelivered: true });
    assertClose(s.performanceRatio, 17 / 30);
    assertClose(s.deliveredKwh, 17);
    assert.equal(s.penaltyUsd, 0);
    assertClose(settleEvent({ intervals: hourly([12, 8, -3], 10) }).energyPaymentUsd, 0);
  });

  test('sub-hourly obligation is kW x duration; zero obligation gives PR 1', () => {
    // 30-minute intervals at 10 kW -> O = 5 kWh each; R = 6, 4 -> PR = (5 + 4)/10 = 0.9, S = 1.
    const half = [6, 4].map((reductionKwh) => ({ durationH: 0.5, reductionKwh, obligationKw: 10 }));
    const s = settleEvent({ intervals: half, penaltyUsdPerKwh: 3 });
    assertClose(s.obligationKwh, 10);
    assertClose(s.performanceRatio, 0.9);
    assertClose(s.penaltyUsd, 3);
    const none = settleEvent({ intervals: hourly([4, 0], 0) });
    assert.equal(none.performanceRatio, 1);
    assert.equal(none.shortfallKwh, 0);
    assert.equal(settleEvent({ intervals: [] }).performanceRatio, 1);
  });

  test('validation names the field', () => {
    const cases: Array<[Partial<EventIntervalInput>, RegExp]> = [
      [{ reductionKwh: Number.NaN }, /\/intervals\/1\/reductionKwh/],
      [{ durationH: 0 }, /\/intervals\/1\/durationH/],
      [{ obligationKw: -1 }, /\/intervals\/1\/obligationKw/],
      [{ priceUsdPerMwh: Number.POSITIVE_INFINITY }, /\/intervals\/1\/priceUsdPerMwh/],
      [{ reductionKwh: '5' as never }, /\/intervals\/1\/reductionKwh/],
    ];
    for (const [patch, pattern] of cases) {
      const bad = [intervals[0]!, { ...intervals[1]!, ...patch }];
      expectError(() => settleEvent({ intervals: bad }), 'GW_ERR_VALIDATION', pattern);
    }
    expectError(() => settleEvent({ intervals, penaltyUsdPerKwh: -1 }), 'GW_ERR_VALIDATION', /\/penaltyUsdPerKwh/);
    expectError(() => settleEvent({ intervals: 'x' as never }), 'GW_ERR_VALIDATION', /\/intervals/);
  });
});

describe('intervalsFromBaseline', () => {
  test('reduction, flat obligation, optional price, start kept', () => {
    const baseline: BaselineResult = {
      method: 'caiso-10in10',
      eventDay: '2026-02-12',
      days: [],
      adjustment: { kind: 'ratio', raw: 1, applied: 1 },
      notes: [],
      intervals: [
        { hour: 15, slot: 15, start: 1000, durationH: 1, unadjusted: 100, baseline: 100, actual: 60, reduction: 40 },
        { hour: 16, slot: 16, durationH: 1, unadjusted: 100, baseline: 100, actual: 70, reduction: 30 },
      ],
    };
    assert.deepEqual(
      intervalsFromBaseline(baseline, 35, (i) => (i.hour === 15 ? 80 : undefined)),
      [
        { hour: 15, start: 1000, durationH: 1, reductionKwh: 40, obligationKw: 35, priceUsdPerMwh: 80 },
        { hour: 16, durationH: 1, reductionKwh: 30, obligationKw: 35 },
      ],
    );
    // Settled at $80 everywhere: PR = (35 + 30)/70 = 13/14; payment = (40 + 30) x 0.08 = 5.6.
    const s = settleEvent({ intervals: intervalsFromBaseline(baseline, 35, () => 80) });
    assertClose(s.performanceRatio, 13 / 14);
    assertClose(s.energyPaymentUsd, 40 * 0.08 + 30 * 0.08);
    expectError(() => intervalsFromBaseline(baseline, -1), 'GW_ERR_VALIDATION', /\/obligationKw/);
  });
});

describe('eventReport', () => {
  // Site A: R 12, 4 at 10 kW, $40; site B: R -2, 9 at 5 kW, $60; a device with R 20 at 15 kW.
  const sites = [
    { siteId: 'A', method: 'caiso-10in10' as const, intervals: hourly([12, 4], 10, [40, 40]) },
    { siteId: 'B', method: 'pjm-high4of5' as const, intervals: hourly([-2, 9], 5, [60, 60]) },
  ];

  test('per site, per device, and the aggregation on summed intervals (matched by hour)', () => {
    const report = eventReport({
      eventId: 'ev-1',
      programId: 'dr',
      penaltyUsdPerKwh: 1,
      sites,
      devices: [{ deviceId: 'bess-1', siteId: 'A', intervals: hourly([20], 15) }],
      aggregations: [{ aggregationId: 'agg-1', memberSiteIds: ['A', 'B'] }],
    });
    assert.equal(report.penaltyUsdPerKwh, 1);
    // A: PR = (10 + 4)/20 = 0.7, S = 6, penalty 6. B: PR = (-2 + 5)/10 = 0.3, S = 7 + 0 = 7.
    assertClose(report.sites[0]!.settlement.performanceRatio, 0.7);
    assertClose(report.sites[0]!.settlement.penaltyUsd, 6);
    assertClose(report.sites[1]!.settlement.performanceRatio, 0.3);
    assertClose(report.sites[1]!.settlement.shortfallKwh, 7);
    // Device: PR = min(20, 15)/15 = 1.
    assert.deepEqual([report.devices[0]!.deviceId, report.devices[0]!.siteId], ['bess-1', 'A']);
    assertClose(report.devices[0]!.settlement.performanceRatio, 1);
    // Aggregate: R = 10, 13; O = 15, 15 -> PR = (10 + 13)/30 = 23/30; S = 5 + 2 = 7; D = 23.
    // Prices: hour 15 only A delivered -> 40; hour 16 weighted (4 x 40 + 9 x 60)/13 = 700/13
    // -> payment = 10 x 0.04 + 13 x 0.7/13 = 0.4 + 0.7 = 1.1.
    const agg = report.aggregations[0]!;
    assert.deepEqual(agg.memberSiteIds, ['A', 'B']);
    assertCloseArray(
      agg.settlement.intervals.map((i) => i.reductionKwh),
      [10, 13],
    );
    assertCloseArray(
      agg.settlement.intervals.map((i) => i.obligationKwh),
      [15, 15],
    );
    assertClose(agg.settlement.performanceRatio, 23 / 30);
    assertClose(agg.settlement.shortfallKwh, 7);
    assertClose(agg.settlement.deliveredKwh, 23);
    assertClose(agg.settlement.energyPaymentUsd, 1.1);
    assertClose(agg.settlement.penaltyUsd, 7);
  });

  test('matched by start when every interval has one (order by start; a member may lack one)', () => {
    const at = (start: number, reductionKwh: number) => ({ start, durationH: 1, reductionKwh, obligationKw: 10 });
    const report = eventReport({
      eventId: 'ev-2',
      programId: 'dr',
      sites: [
        { siteId: 'A', method: 'device-metering', intervals: [at(7200, 1), at(3600, 2)] },
        { siteId: 'B', method: 'device-metering', intervals: [at(3600, 3)] },
      ],
      aggregations: [{ aggregationId: 'agg', memberSiteIds: ['A', 'B'] }],
    });
    // start 3600: 2 + 3 = 5 (O 20); start 7200: 1 (O 10).
    const agg = report.aggregations[0]!.settlement;
    assert.deepEqual(
      agg.intervals.map((i) => [i.start, i.reductionKwh, i.obligationKwh]),
      [
        [3600, 5, 20],
        [7200, 1, 10],
      ],
    );
    assert.deepEqual(report.devices, []);
  });

  test('bad input: unknown member, duplicate site, bad interval path', () => {
    expectError(
      () =>
        eventReport({
          eventId: 'e',
          programId: 'p',
          sites,
          aggregations: [{ aggregationId: 'x', memberSiteIds: ['Z'] }],
        }),
      'GW_ERR_VALIDATION',
      /\/aggregations\/0\/memberSiteIds\/0/,
    );
    expectError(
      () => eventReport({ eventId: 'e', programId: 'p', sites: [sites[0]!, sites[0]!] }),
      'GW_ERR_VALIDATION',
      /twice/,
    );
    const broken = [{ ...sites[0]!, intervals: hourly([Number.NaN], 10) }];
    expectError(
      () => eventReport({ eventId: 'e', programId: 'p', sites: broken }),
      'GW_ERR_VALIDATION',
      /\/sites\/0\/intervals\/0\/reductionKwh/,
    );
    expectError(() => eventReport({ eventId: '', programId: 'p', sites }), 'GW_ERR_VALIDATION', /\/eventId/);
    expectError(() => eventReport({ eventId: 'e', programId: 'p', sites, penaltyUsdPerKwh: -2 }), 'GW_ERR_VALIDATION');
  });
});
