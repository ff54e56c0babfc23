/**
 * The request check and the pure model builder: bad input is GW_ERR_VALIDATION naming the field;
 * the layout (columns, rows, names) is what the formulation says; c_j follows Xu et al.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { PlanRequest } from '../src/contract.ts';
import { objectivesAgree } from '../src/extract.ts';
import { buildModel, describeColumn, normalizeRequest, planDispatch, ROW_KIND, segmentCosts } from '../src/index.ts';
import { battery, requestOf } from './support.ts';

function issuePaths(request: unknown): string[] {
  try {
    normalizeRequest(request as PlanRequest);
  } catch (error) {
    assert.ok(GridseamError.is(error));
    assert.equal(error.code, 'GW_ERR_VALIDATION');
    assert.equal(error.statusCode, 400);
    return error.issues.map((issue) => issue.path);
  }
  assert.fail('expected GW_ERR_VALIDATION');
}

describe('request validation', () => {
  const good = requestOf([10, 20, 30], [battery()]);

  it('accepts a good request and applies the defaults', () => {
    const normal = normalizeRequest(
      requestOf([10], [{ id: 'x', energyKwh: 10, chargeKw: 5, dischargeKw: 5, soc0: 0.5 }]),
    );
    const b = normal.batteries[0];
    assert.equal(b?.etaCharge, 0.95);
    assert.equal(b?.etaDischarge, 0.95);
    assert.equal(b?.floorKwh, 0);
    assert.equal(b?.ceilingKwh, 10);
    assert.deepEqual(b?.terminal, { kind: 'at-least-initial' });
    assert.equal(normal.socSlackPenaltyUsdPerKwh, 1000);
  });

  it('names NaN, Infinity and negative sizes by their JSON Pointer', () => {
    assert.deepEqual(issuePaths({ ...good, energyPriceUsdPerMwh: [10, Number.NaN, 30] }), ['/energyPriceUsdPerMwh/1']);
    assert.deepEqual(issuePaths({ ...good, batteries: [battery({ energyKwh: Number.POSITIVE_INFINITY })] }), [
      '/batteries/0/energyKwh',
    ]);
    assert.deepEqual(issuePaths({ ...good, batteries: [battery({ chargeKw: -1 })] }), ['/batteries/0/chargeKw']);
    assert.deepEqual(issuePaths({ ...good, batteries: [battery({ soc0: 1.2 })] }), ['/batteries/0/soc0']);
    assert.deepEqual(issuePaths({ ...good, batteries: [battery({ etaCharge: 0 })] }), ['/batteries/0/etaCharge']);
    assert.deepEqual(issuePaths({ ...good, intervalMinutes: 0 }), ['/intervalMinutes']);
  });

  it('names mismatched series lengths and inconsistent fields', () => {
    assert.deepEqual(issuePaths({ ...good, energyPriceUsdPerMwh: [1, 2] }), ['/energyPriceUsdPerMwh']);
    assert.deepEqual(issuePaths({ ...good, batteries: [battery({ site: { loadKw: [1, 2] } })] }), [
      '/batteries/0/site/loadKw',
    ]);
    assert.deepEqual(issuePaths({ ...good, batteries: [battery({ socMin: 0.6, socMax: 0.4 })] }), [
      '/batteries/0/socMin',
    ]);
    assert.deepEqual(issuePaths({ ...good, starts: [0, 3_600_000, 9_000_000] }), ['/starts/2']);
    assert.deepEqual(issuePaths({ ...good, batteries: [battery(), battery()] }), ['/batteries/1/id']);
    assert.deepEqual(
      issuePaths({ ...good, commitments: [{ id: 'c', fromInterval: 2, toInterval: 1, minNetDischargeKw: 1 }] }),
      ['/commitments/0/toInterval'],
    );
    assert.deepEqual(
      issuePaths({
        ...good,
        commitments: [{ id: 'c', fromInterval: 0, toInterval: 1, minNetDischargeKw: 1, batteryIds: ['nope'] }],
      }),
      ['/commitments/0/batteryIds/0'],
    );
    assert.deepEqual(issuePaths({ ...good, products: { mileage: { priceUsdPerMwH: [1, 1, 1], sustainHours: 1 } } }), [
      '/products/mileage',
    ]);
    assert.deepEqual(
      issuePaths({
        ...good,
        batteries: [
          battery({ degradation: { cycleDepth: { segments: 0, replacementUsdPerMwh: 1, stress: { k: 1, b: 0.5 } } } }),
        ],
      }),
      ['/batteries/0/degradation/cycleDepth/segments', '/batteries/0/degradation/cycleDepth/stress/b'],
    );
  });

  it('refuses non-objects and empty fleets without throwing anything else', () => {
    assert.deepEqual(issuePaths(null).slice(0, 1), ['']);
    assert.ok(issuePaths({ ...good, batteries: [] }).includes('/batteries'));
    assert.ok(issuePaths({ ...good, starts: 'soon' }).includes('/starts'));
  });

  it('planDispatch rejects with the same error (never a crash)', async () => {
    await assert.rejects(planDispatch({ ...good, energyPriceUsdPerMwh: [1, 2] }), { code: 'GW_ERR_VALIDATION' });
  });
});

describe('model builder', () => {
  it('the plain battery is 3 columns and 1 dynamics row per interval (plus the terminal row)', () => {
    const request = normalizeRequest(requestOf([1, 2, 3, 4], [battery({ terminal: { kind: 'at-least-initial' } })]));
    const model = buildModel(request);
    assert.equal(model.numCols, 12);
    assert.equal(model.numRows, 5);
    assert.equal(model.rowKind.filter((k) => k === ROW_KIND.segmentDynamics).length, 4);
    assert.equal(model.rowKind.filter((k) => k === ROW_KIND.terminal).length, 1);
    assert.deepEqual(
      Array.from({ length: 3 }, (_, c) => describeColumn(model, request, c)),
      ['b1.charge[0]', 'b1.discharge[0]', 'b1.e[0]'],
    );
  });

  it('J segments: e_j, c_j, d_j per interval with their split rows; products get one column each', () => {
    const request = normalizeRequest(
      requestOf(
        [1, 2],
        [battery({ degradation: { cycleDepth: { segments: 3, replacementUsdPerMwh: 1, stress: { k: 1, b: 2 } } } })],
        {
          products: { regUp: { priceUsdPerMwH: [1, 1], sustainHours: 1 } },
        },
      ),
    );
    const model = buildModel(request);
    // charge, discharge, 3 x (e, c, d), regUp = 12 per interval.
    assert.equal(model.numCols, 24);
    assert.equal(describeColumn(model, request, 12 + 2 + 3 + 1), 'b1.c2[1]');
    assert.equal(describeColumn(model, request, 11), 'b1.regUp[0]');
    const kinds = Array.from(model.rowKind);
    assert.equal(kinds.filter((k) => k === ROW_KIND.segmentDynamics).length, 6);
    assert.equal(kinds.filter((k) => k === ROW_KIND.chargeSplit).length, 2);
    assert.equal(kinds.filter((k) => k === ROW_KIND.headroomUp).length, 2);
    assert.equal(kinds.filter((k) => k === ROW_KIND.sustainUp).length, 2);
  });

  it('segment costs follow c_j = (R J / eta_d) (Phi(j/J) - Phi((j-1)/J)) and increase with depth', () => {
    const costs = Array.from(segmentCosts(4, 100, { k: 1, b: 2 }, 1));
    assert.deepEqual(costs, [25, 75, 125, 175]);
    const withLoss = Array.from(segmentCosts(10, 250_000, { k: 1 / 6000, b: 2 }, 0.9));
    for (let j = 1; j < withLoss.length; j++) assert.ok((withLoss[j] as number) > (withLoss[j - 1] as number));
    // Sum over all segments: a full cycle costs R x Phi(1) per MWh of capacity, x J / eta_d per segment width.
    const total = withLoss.reduce((sum, c) => sum + c, 0);
    assert.ok(Math.abs(total - (250_000 * 10 * (1 / 6000)) / 0.9) < 1e-9);
  });

  it('objectives agree within 1e-6 relative, and a real discrepancy is caught', () => {
    assert.ok(objectivesAgree(1000, 1000 + 1e-4));
    assert.ok(!objectivesAgree(1000, 1000.01));
    assert.ok(objectivesAgree(0, 5e-7));
    assert.ok(!objectivesAgree(0, 1e-5));
  });
});
