/**
 * Fleet mode and warm re-solves: many batteries in one model with a shared commitment and a
 * shared feeder limit; a persistent model re-solved in place when only prices or soc0 change gives
 * the same optimum as a cold solve.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BatteryParams, PlanRequest } from '../src/contract.ts';
import { DispatchSession, planDispatch } from '../src/index.ts';
import { requestOf, seeded, violations } from './support.ts';

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

function fleetRequest(seed: number, count: number, intervals: number): PlanRequest {
  const random = seeded(seed);
  const prices = Array.from(
    { length: intervals },
    (_, t) => 40 + 60 * Math.sin((t / intervals) * 2 * Math.PI) + random.between(-10, 10),
  );
  const batteries: BatteryParams[] = Array.from({ length: count }, (_, i) => ({
    id: `bess-${i}`,
    energyKwh: random.between(100, 400),
    chargeKw: 100,
    dischargeKw: 100,
    soc0: random.between(0.3, 0.7),
    socMin: 0.1,
    socMax: 0.9,
    degradation: { throughputUsdPerMwh: 5 },
  }));
  return requestOf(
    prices,
    batteries,
    {
      // 250 kW needs at least three of the 100 kW batteries discharging together.
      commitments: [
        { id: 'dr-evening', fromInterval: intervals - 6, toInterval: intervals - 3, minNetDischargeKw: 250 },
      ],
      shared: { exportLimitKw: 60 * count, importLimitKw: 40 * count },
    },
    15,
  );
}

describe('fleet mode', () => {
  it('a shared commitment beyond any one battery is met by several, within the feeder limits', async () => {
    const request = fleetRequest(1, 6, 32);
    const plan = await planDispatch(request);
    assert.deepEqual(violations(request, plan), []);
    for (let t = 26; t < 29; t++) {
      const net = plan.batteries.reduce(
        (sum, b) => sum + (b.intervals[t]?.dischargeKw ?? 0) - (b.intervals[t]?.chargeKw ?? 0),
        0,
      );
      assert.ok(net >= 250 - 1e-6, `interval ${t}: ${net}`);
      const contributors = plan.batteries.filter((b) => (b.intervals[t]?.dischargeKw ?? 0) > 1e-6).length;
      assert.ok(contributors >= 3, `interval ${t}: ${contributors} batteries discharge`);
    }
    assert.equal(plan.batteries.length, 6);
    assert.ok(close(plan.objectiveUsd, plan.solver.objectiveValue));
  });

  it('a commitment some batteries do not share leaves them free', async () => {
    const request = fleetRequest(2, 4, 16);
    request.commitments = [
      { id: 'two', fromInterval: 8, toInterval: 10, minNetDischargeKw: 150, batteryIds: ['bess-0', 'bess-1'] },
    ];
    const plan = await planDispatch(request);
    assert.deepEqual(violations(request, plan), []);
    for (let t = 8; t < 10; t++) {
      const pair = [0, 1].reduce((sum, b) => sum + (plan.batteries[b]?.intervals[t]?.dischargeKw ?? 0), 0);
      assert.ok(pair >= 150 - 1e-6);
    }
  });
});

describe('warm re-solves', () => {
  let session: DispatchSession;
  before(async () => {
    session = await DispatchSession.open({ maxModels: 2 });
  });
  after(() => session.dispose());

  it('changed prices: the kept model is updated in place and gives the cold optimum', async () => {
    const first = fleetRequest(3, 8, 24);
    const cold1 = session.plan(first, 'fleet');
    assert.equal(cold1.solver.warm, false);
    const random = seeded(4);
    const second = {
      ...first,
      energyPriceUsdPerMwh: first.energyPriceUsdPerMwh.map((p) => p * random.between(0.5, 1.5) - 5),
    };
    const warm = session.plan(second, 'fleet');
    assert.equal(warm.solver.warm, true);
    const cold = await planDispatch(second);
    assert.equal(cold.solver.warm, false);
    assert.ok(close(warm.objectiveUsd, cold.objectiveUsd), `${warm.objectiveUsd} vs ${cold.objectiveUsd}`);
    assert.deepEqual(violations(second, warm), []);
  });

  it('changed soc0 (and prices): warm again, same optimum as cold', async () => {
    const base = fleetRequest(3, 8, 24);
    session.plan(base, 'fleet');
    const moved: PlanRequest = {
      ...base,
      energyPriceUsdPerMwh: base.energyPriceUsdPerMwh.map((p) => p + 3),
      batteries: base.batteries.map((b, i) => ({ ...b, soc0: 0.2 + 0.08 * i })),
    };
    const warm = session.plan(moved, 'fleet');
    assert.equal(warm.solver.warm, true);
    const cold = await planDispatch(moved);
    assert.ok(close(warm.objectiveUsd, cold.objectiveUsd), `${warm.objectiveUsd} vs ${cold.objectiveUsd}`);
    assert.deepEqual(violations(moved, warm), []);
  });

  it('a commitment window moving through a rolling horizon swaps rows in the kept model: warm, same as cold', async () => {
    const base = fleetRequest(6, 6, 24);
    session.plan(base, 'rolling');
    for (const step of [1, 2]) {
      const moved: PlanRequest = {
        ...base,
        energyPriceUsdPerMwh: base.energyPriceUsdPerMwh.map((_, t, all) => all[(t + step) % all.length] as number),
        commitments: [{ id: 'dr-evening', fromInterval: 18 - step, toInterval: 21 - step, minNetDischargeKw: 250 }],
      };
      const warm = session.plan(moved, 'rolling');
      assert.equal(warm.solver.warm, true);
      const cold = await planDispatch(moved);
      assert.ok(close(warm.objectiveUsd, cold.objectiveUsd), `${warm.objectiveUsd} vs ${cold.objectiveUsd}`);
      assert.deepEqual(violations(moved, warm), []);
    }
  });

  it('a different structure (another battery) rebuilds the model cold; keys keep separate models', async () => {
    const base = fleetRequest(5, 5, 12);
    session.plan(base, 'a');
    const bigger = fleetRequest(5, 6, 12);
    assert.equal(session.plan(bigger, 'a').solver.warm, false);
    assert.equal(session.plan(base, 'b').solver.warm, false);
    assert.equal(session.plan(bigger, 'a').solver.warm, true);
    assert.ok(session.models <= 2, 'least recently used models are disposed beyond maxModels');
  });
});
