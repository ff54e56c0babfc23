/**
 * Offers: the energy curve by hand (plan at the forecast, wear plus spread above, below it the
 * charge side), SoC bounds, monotone and bounded curves over seeded random inputs, and capacity
 * offers that never exceed the headroom.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  buildCapacityOffers,
  buildEnergyOffers,
  curveQuantityAt,
  type EnergyOfferInterval,
  MAX_OFFER_SEGMENTS,
} from '../../src/index.ts';

const START = Date.UTC(2026, 6, 1, 22); // 2026-07-01 15:00 PDT
const H = 3_600_000;
const LA = 'America/Los_Angeles';

function interval(extra: Partial<EnergyOfferInterval> = {}): EnergyOfferInterval {
  return {
    startMs: START,
    endMs: START + H,
    plannedNetKw: 20,
    maxDischargeKw: 100,
    maxChargeKw: 100,
    forecastPriceUsdPerMwh: 50,
    marginalCostUsdPerMwh: 5,
    ...extra,
  };
}

/** A small LCG (Numerical Recipes constants): the same cases on every run. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function failure(fn: () => unknown): GridseamError {
  try {
    fn();
  } catch (error) {
    if (GridseamError.is(error)) return error;
    throw error;
  }
  assert.fail('expected a GridseamError');
}

describe('buildEnergyOffers', () => {
  test('the curve by hand: 10 pairs, the plan at the forecast, wear plus spread around it', () => {
    // P = 0.02 MW, D = C = 0.1 MW, F = 50, w = 5, step = max(1, 10% x 50) = 5.
    // Room up 0.08, down 0.12; 9 spare pairs: k_up = round(9 x 0.08 / 0.2) = round(3.6) = 4, k_dn = 5.
    // Down j=5..1: mw = 0.02 - 0.12 j/5 = -0.1, -0.076, -0.052, -0.028, -0.004 at 50-5-5j = 20, 25, 30, 35, 40.
    // Up j=1..4: mw = 0.02 + 0.08 j/4 = 0.04, 0.06, 0.08, 0.1 at 50+5+5j = 60, 65, 70, 75.
    const [offer] = buildEnergyOffers({
      resourceId: 'CAISO_DERA_1',
      timeZone: LA,
      market: 'DA',
      intervals: [interval()],
    });
    assert.ok(offer);
    assert.deepEqual(offer.curve, [
      { mw: -0.1, price: 20 },
      { mw: -0.076, price: 25 },
      { mw: -0.052, price: 30 },
      { mw: -0.028, price: 35 },
      { mw: -0.004, price: 40 },
      { mw: 0.02, price: 50 },
      { mw: 0.04, price: 60 },
      { mw: 0.06, price: 65 },
      { mw: 0.08, price: 70 },
      { mw: 0.1, price: 75 },
    ]);
    assert.deepEqual(offer.interval, {
      start: '2026-07-01T15:00:00-07:00',
      end: '2026-07-01T16:00:00-07:00',
      startMs: START,
      endMs: START + H,
      market: 'DA',
    });
    // Read as steps: clearing at the forecast gives the plan; a cent below it, the pair before.
    assert.equal(curveQuantityAt(offer.curve, 50), 0.02);
    assert.equal(curveQuantityAt(offer.curve, 49.99), -0.004);
    assert.equal(curveQuantityAt(offer.curve, 5000), 0.1);
    assert.equal(curveQuantityAt(offer.curve, -500), -0.1);
  });

  test('stored energy narrows the curve; a negative forecast works; 3 pairs', () => {
    // 30 minutes, plan 0, SoC 0.05 MWh in [0.01, 0.09]: discharge <= (0.05-0.01)/0.5 = 0.08 MW,
    // charge <= (0.09-0.05)/0.5 = 0.08 MW. F = -20: step = max(1, 2) = 2; no wear.
    const [offer] = buildEnergyOffers({
      resourceId: 'R',
      timeZone: 'UTC',
      market: 'RT',
      socMinMwh: 0.01,
      socMaxMwh: 0.09,
      maxSegments: 3,
      intervals: [
        interval({
          endMs: START + H / 2,
          plannedNetKw: 0,
          forecastPriceUsdPerMwh: -20,
          marginalCostUsdPerMwh: 0,
          socMwh: 0.05,
        }),
      ],
    });
    assert.deepEqual(offer?.curve, [
      { mw: -0.08, price: -22 },
      { mw: 0, price: -20 },
      { mw: 0.08, price: -18 },
    ]);
    assert.equal(offer?.initialSocMwh, 0.05);
    assert.equal(offer?.socMinMwh, 0.01);
  });

  test('a plan at full discharge offers only less; no limits offers the plan alone', () => {
    // P = D = 0.1: no room up, 9 pairs down from 0.1 to -0.1 in steps of 0.2/9.
    const [full] = buildEnergyOffers({
      resourceId: 'R',
      timeZone: 'UTC',
      market: 'DA',
      intervals: [interval({ plannedNetKw: 100, marginalCostUsdPerMwh: 0 })],
    });
    assert.equal(full?.curve.length, 10);
    assert.deepEqual(full?.curve.at(-1), { mw: 0.1, price: 50 });
    assert.deepEqual(full?.curve[0], { mw: -0.1, price: 5 }); // 50 - 9 x 5
    const [idle] = buildEnergyOffers({
      resourceId: 'R',
      timeZone: 'UTC',
      market: 'DA',
      intervals: [interval({ plannedNetKw: 0, maxChargeKw: 0, maxDischargeKw: 0 })],
    });
    assert.deepEqual(idle?.curve, [{ mw: 0, price: 50 }]);
  });

  test('seeded random plans: curves monotone, within the limits, at most 10 pairs, plan at the forecast', () => {
    const random = lcg(20_260_701);
    for (let n = 0; n < 300; n++) {
      const maxDischargeKw = Math.round(random() * 5000) / 10;
      const maxChargeKw = Math.round(random() * 5000) / 10;
      const plannedNetKw = -maxChargeKw + random() * (maxDischargeKw + maxChargeKw);
      const forecastPriceUsdPerMwh = Math.round((random() * 400 - 100) * 100) / 100;
      const maxSegments = 3 + Math.floor(random() * 8);
      const [offer] = buildEnergyOffers({
        resourceId: 'R',
        timeZone: 'UTC',
        market: 'DA',
        maxSegments,
        intervals: [
          interval({
            plannedNetKw,
            maxDischargeKw,
            maxChargeKw,
            forecastPriceUsdPerMwh,
            marginalCostUsdPerMwh: random() * 20,
          }),
        ],
      });
      const curve = offer?.curve ?? [];
      const context = JSON.stringify({ n, plannedNetKw, maxDischargeKw, maxChargeKw, forecastPriceUsdPerMwh });
      assert.ok(curve.length >= 1 && curve.length <= Math.min(maxSegments, MAX_OFFER_SEGMENTS), context);
      for (let k = 1; k < curve.length; k++) {
        assert.ok((curve[k]?.mw ?? 0) > (curve[k - 1]?.mw ?? 0), `mw rises: ${context}`);
        assert.ok((curve[k]?.price ?? 0) > (curve[k - 1]?.price ?? 0), `price rises: ${context}`);
      }
      assert.ok(Math.abs((curve[0]?.mw ?? 0) + maxChargeKw / 1000) <= 1e-6, `starts at -C: ${context}`);
      assert.ok(Math.abs((curve.at(-1)?.mw ?? 0) - maxDischargeKw / 1000) <= 1e-6, `ends at D: ${context}`);
      assert.ok(Math.abs(curveQuantityAt(curve, forecastPriceUsdPerMwh) - plannedNetKw / 1000) <= 1e-6, context);
    }
  });

  test('bad input is refused with paths', () => {
    const error = failure(() =>
      buildEnergyOffers({
        resourceId: 'R',
        timeZone: 'UTC',
        market: 'XX' as 'DA',
        maxSegments: 11,
        intervals: [
          interval({ plannedNetKw: 150 }),
          interval({ forecastPriceUsdPerMwh: Number.NaN, endMs: START }),
          interval({ maxChargeKw: -1, plannedNetKw: 0 }),
        ],
      }),
    );
    assert.equal(error.code, 'GW_ERR_VALIDATION');
    assert.deepEqual(error.issues.map((i) => i.path).sort(), [
      '/intervals/0/plannedNetKw',
      '/intervals/1/endMs',
      '/intervals/1/forecastPriceUsdPerMwh',
      '/intervals/2/maxChargeKw',
      '/market',
      '/maxSegments',
    ]);
  });
});

describe('buildCapacityOffers', () => {
  test('products scaled to the headroom when they ask for more; prices default to 0', () => {
    // 80 + 60 + 20 = 160 kW against 100 kW: scale 0.625 -> 50, 37.5, 12.5 kW = 0.1 MW in all.
    const offers = buildCapacityOffers({
      resourceId: 'R',
      timeZone: LA,
      market: 'DA',
      intervals: [
        {
          startMs: START,
          endMs: START + H,
          capacityKw: { regUp: 80, regDown: 60, spin: 20 },
          headroomKw: 100,
          priceUsdPerMwh: { regUp: 12.5, regDown: 7 },
        },
        {
          startMs: START + H,
          endMs: START + 2 * H,
          capacityKw: { regUp: 30, regDown: 0 },
          headroomKw: 100,
          priceUsdPerMwh: {},
        },
      ],
    });
    assert.deepEqual(
      offers.map((o) => [o.interval.start, o.product, o.mw, o.price]),
      [
        ['2026-07-01T15:00:00-07:00', 'REG_UP', 0.05, 12.5],
        ['2026-07-01T15:00:00-07:00', 'REG_DN', 0.0375, 7],
        ['2026-07-01T15:00:00-07:00', 'SPIN', 0.0125, 0],
        ['2026-07-01T16:00:00-07:00', 'REG_UP', 0.03, 0],
      ],
    );
  });

  test('seeded random holdings never offer more than the headroom in total', () => {
    const random = lcg(42);
    for (let n = 0; n < 300; n++) {
      const headroomKw = Math.round(random() * 1000 * 1000) / 1000;
      const capacityKw = {
        regUp: random() * 600,
        regDown: random() * 600,
        spin: random() < 0.5 ? 0 : random() * 300,
        nonSpin: random() * 300,
      };
      const offers = buildCapacityOffers({
        resourceId: 'R',
        timeZone: 'UTC',
        market: 'FMM',
        intervals: [{ startMs: START, endMs: START + 15 * 60_000, capacityKw, headroomKw, priceUsdPerMwh: {} }],
      });
      const totalMw = offers.reduce((s, o) => s + o.mw, 0);
      assert.ok(totalMw <= headroomKw / 1000 + 1e-12, `${n}: ${totalMw} > ${headroomKw / 1000}`);
      const asked = capacityKw.regUp + capacityKw.regDown + capacityKw.spin + capacityKw.nonSpin;
      // Rounded down to 1 W per product: at most 4 W short of min(asked, headroom).
      assert.ok(totalMw >= Math.min(asked, headroomKw) / 1000 - 4e-6, `${n}: ${totalMw} short`);
    }
  });

  test('negative capacity, unknown products and non-finite prices are refused', () => {
    const error = failure(() =>
      buildCapacityOffers({
        resourceId: 'R',
        timeZone: 'UTC',
        market: 'DA',
        intervals: [
          {
            startMs: START,
            endMs: START + H,
            capacityKw: { regUp: -1, bogus: 1 } as never,
            headroomKw: Number.POSITIVE_INFINITY,
            priceUsdPerMwh: { spin: Number.NaN },
          },
        ],
      }),
    );
    assert.deepEqual(error.issues.map((i) => i.path).sort(), [
      '/intervals/0/capacityKw/bogus',
      '/intervals/0/capacityKw/regUp',
      '/intervals/0/headroomKw',
      '/intervals/0/priceUsdPerMwh/spin',
    ]);
  });
});
