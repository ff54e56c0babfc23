/**
 * Hand-checkable plans: each case is small enough to solve on paper, and the expected schedule
 * below is that paper solution (worked in the comments), asserted exactly (to 1e-6).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { BatteryParams, InfeasibilityDiagnosis } from '../src/contract.ts';
import { planDispatch } from '../src/index.ts';
import { battery, requestOf, round, series, violations } from './support.ts';

async function diagnosisOf(promise: Promise<unknown>): Promise<InfeasibilityDiagnosis> {
  try {
    await promise;
  } catch (error) {
    assert.ok(GridseamError.is(error), String(error));
    assert.equal(error.code, 'GW_ERR_INFEASIBLE', error.message);
    assert.equal(error.statusCode, 422);
    const diagnosis = error.details as unknown as InfeasibilityDiagnosis;
    assert.equal(error.message, diagnosis.message);
    return diagnosis;
  }
  assert.fail('expected GW_ERR_INFEASIBLE');
}

describe('planDispatch: energy arbitrage by hand', () => {
  it('two-interval spread: charge at 20, discharge at 100 (lossless)', async () => {
    // 50 kW for 1 h in, 50 kW out: (100 - 20) $/MWh x 50 kWh = $4.
    const request = requestOf([20, 100], [battery({ chargeKw: 50, dischargeKw: 50 })]);
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), [50, 0]);
    assert.deepEqual(round(s.discharge), [0, 50]);
    assert.deepEqual(round(s.energy), [50, 0]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 4);
    assert.equal(Number(plan.revenueUsd.energy.toFixed(9)), 4);
    assert.equal(Number(plan.batteries[0]?.cycles.toFixed(9)), 0.5);
    assert.equal(plan.solver.binaries, 0);
    assert.deepEqual(violations(request, plan), []);
  });

  it('two-interval spread with 0.9/0.9 efficiency: 50 kW in stores 45 kWh, 40.5 kW comes out', async () => {
    // Charging 1 kW costs $0.02 and returns 0.81 kWh at $0.10: worth it, so charge fully.
    const request = requestOf(
      [20, 100],
      [battery({ chargeKw: 50, dischargeKw: 50, etaCharge: 0.9, etaDischarge: 0.9 })],
    );
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), [50, 0]);
    assert.deepEqual(round(s.discharge), [0, 40.5]);
    assert.deepEqual(round(s.energy), [45, 0]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 3.05);
    assert.deepEqual(violations(request, plan), []);
  });

  it('an efficiency that kills the spread: 50 -> 60 $/MWh at 81% round trip does nothing', async () => {
    // 50 / 0.81 = 61.7 > 60: every kWh cycled loses money.
    const request = requestOf([50, 60], [battery({ etaCharge: 0.9, etaDischarge: 0.9 })]);
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), [0, 0]);
    assert.deepEqual(round(s.discharge), [0, 0]);
    assert.equal(plan.objectiveUsd, 0);
    assert.equal(plan.batteries[0]?.cycles, 0);
  });

  it('a full battery at the start sells first and buys back to end full (terminal >= initial)', async () => {
    // Full (100 kWh): sell 100 at 100, buy 100 at 20, idle at 50: $10 - $2 = $8.
    const request = requestOf([100, 20, 50], [battery({ soc0: 1, terminal: { kind: 'at-least-initial' } })]);
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.discharge), [100, 0, 0]);
    assert.deepEqual(round(s.charge), [0, 100, 0]);
    assert.deepEqual(round(s.energy), [0, 100, 100]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 8);
  });

  it('a negative price: exact no-simultaneous charge and discharge via binaries', async () => {
    // 100 kWh at 50%, 0.9/0.9. At -50 $/MWh the LP would charge 100 kW while discharging 36 kW
    // to burn the excess (earning $3.20). Exactly: charge only the 50 kWh of room,
    // 50 / 0.9 = 55.555... kW ($2.7778), then sell 100 kWh x 0.9 = 90 kW at 100 ($9).
    const request = requestOf([-50, 100], [battery({ soc0: 0.5, etaCharge: 0.9, etaDischarge: 0.9 })]);
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), round([50 / 0.9, 0]));
    assert.deepEqual(round(s.discharge), [0, 90]);
    assert.deepEqual(round(s.energy), [100, 0]);
    assert.equal(Number(plan.objectiveUsd.toFixed(6)), Number(((50 * (50 / 0.9)) / 1000 + 9).toFixed(6)));
    assert.ok(plan.solver.binaries >= 1, 'the LP overlapped, so binaries were added');
    assert.deepEqual(violations(request, plan), []);
  });

  it('a negative price on a full battery: exactly nothing (the LP alone would burn energy)', async () => {
    const request = requestOf([-50], [battery({ soc0: 1, etaCharge: 0.9, etaDischarge: 0.9 })]);
    const plan = await planDispatch(request);
    assert.deepEqual(round(series(plan).charge), [0]);
    assert.deepEqual(round(series(plan).discharge), [0]);
    assert.equal(plan.solver.binaries, 1);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 0);
  });
});

describe('planDispatch: terminal conditions', () => {
  // 100 kWh at 50%, lossless, prices 20 then 100.
  const at = (terminal: BatteryParams['terminal']) => requestOf([20, 100], [battery({ soc0: 0.5, terminal })]);

  it('at-least-initial: buy 50, sell 50, end at 50 ($4)', async () => {
    const plan = await planDispatch(at({ kind: 'at-least-initial' }));
    assert.deepEqual(round(series(plan).energy), [100, 50]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 4);
  });

  it('free: buy 50, sell all 100 ($9)', async () => {
    const plan = await planDispatch(at({ kind: 'free' }));
    assert.deepEqual(round(series(plan).energy), [100, 0]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 9);
  });

  it('target 80 kWh: buy 50, sell 20 ($1)', async () => {
    const plan = await planDispatch(at({ kind: 'target', energyKwh: 80 }));
    assert.deepEqual(round(series(plan).energy), [100, 80]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 1);
  });

  it('value 150 $/MWh: buy 50 and keep everything (-$1 + $15 of stored value)', async () => {
    const plan = await planDispatch(at({ kind: 'value', usdPerMwh: 150 }));
    assert.deepEqual(round(series(plan).energy), [100, 100]);
    assert.equal(Number(plan.terminalValueUsd.toFixed(9)), 15);
    assert.equal(Number(plan.revenueUsd.energy.toFixed(9)), -1);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 14);
    assert.equal(Number(plan.solver.objectiveValue.toFixed(9)), 14);
  });

  it('an unreachable target is diagnosed as terminal before solving', async () => {
    const diagnosis = await diagnosisOf(planDispatch(at({ kind: 'target', energyKwh: 100.5 })));
    assert.equal(diagnosis.constraint, 'terminal');
    assert.equal(diagnosis.subject, 'b1');
    const slow = requestOf(
      [20, 100],
      [battery({ soc0: 0, chargeKw: 10, terminal: { kind: 'target', energyKwh: 30 } })],
    );
    const reach = await diagnosisOf(planDispatch(slow));
    assert.equal(reach.constraint, 'terminal');
    assert.match(reach.message, /at most 20 kWh/);
  });
});

describe('planDispatch: SoC outside the band', () => {
  it('below the floor: a penalised slack that decays as the battery charges back in', async () => {
    // Floor 20 kWh, measured 10 kWh, 5 kW charge: 15 kWh after the first hour (5 kWh of slack),
    // 20 after the second; $1000/kWh x 5 = $5000 penalty; 10 kWh bought at 50 = $0.50.
    const request = requestOf(
      [50, 50, 50, 50],
      [battery({ soc0: 0.1, socMin: 0.2, chargeKw: 5, dischargeKw: 5, etaDischarge: 0.9 })],
    );
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), [5, 5, 0, 0]);
    assert.deepEqual(round(s.energy), [15, 20, 20, 20]);
    assert.equal(Number(plan.penaltyUsd.toFixed(6)), 5000);
    assert.equal(Number(plan.objectiveUsd.toFixed(6)), -5000.5);
    assert.equal(Number(plan.solver.objectiveValue.toFixed(6)), -5000.5);
  });

  it('above the ceiling: discharged back into the band, then held there (terminal = ceiling)', async () => {
    const request = requestOf(
      [50, 50, 50, 50],
      [
        battery({
          soc0: 0.9,
          socMax: 0.8,
          chargeKw: 5,
          dischargeKw: 5,
          etaCharge: 0.9,
          terminal: { kind: 'at-least-initial' },
        }),
      ],
      { socSlackPenaltyUsdPerKwh: 10 },
    );
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.discharge), [5, 5, 0, 0]);
    assert.deepEqual(round(s.energy), [85, 80, 80, 80]);
    assert.equal(Number(plan.penaltyUsd.toFixed(6)), 50);
    assert.equal(Number(plan.objectiveUsd.toFixed(6)), 0.5 - 50);
  });
});

describe('planDispatch: site, fleet and window constraints', () => {
  it('site export limit with PV: the battery absorbs exactly the excess even at a loss', async () => {
    // PV 80 kW, export limit 50: charge >= 30 at 40 $/MWh, sold back at 30: -$1.20 + $0.90.
    const request = requestOf([40, 30], [battery({ site: { exportLimitKw: 50, pvKw: [80, 0], loadKw: [0, 0] } })]);
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), [30, 0]);
    assert.deepEqual(round(s.discharge), [0, 30]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), -0.3);
    assert.deepEqual(violations(request, plan), []);
  });

  it('a site limit that PV alone breaks beyond the battery is diagnosed as site-limit', async () => {
    const request = requestOf([40, 30], [battery({ site: { exportLimitKw: 50, pvKw: [200, 0] } })]);
    const diagnosis = await diagnosisOf(planDispatch(request));
    assert.equal(diagnosis.constraint, 'site-limit');
    assert.equal(diagnosis.interval, 0);
  });

  it('PV a nearly full battery cannot store is found by the solver and diagnosed as site-limit', async () => {
    // 95 of 100 kWh, 50 kW of PV against a zero export limit: the checks before solving pass
    // (50 kW <= charge power) but only 5 kWh of room exists; no schedule, even burning energy.
    const request = requestOf(
      [-10, 50],
      [battery({ soc0: 0.95, etaCharge: 0.9, etaDischarge: 0.9, site: { exportLimitKw: 0, pvKw: [50, 0] } })],
    );
    const diagnosis = await diagnosisOf(planDispatch(request));
    assert.deepEqual(
      { constraint: diagnosis.constraint, subject: diagnosis.subject, interval: diagnosis.interval },
      { constraint: 'site-limit', subject: 'b1', interval: 0 },
    );
  });

  it('a power window (a control of higher precedence) holds net power; the plan re-solves around it', async () => {
    // Hour 1 is forced to charge 30 kW: the rest buys 70 at 20 and sells 100 at 100.
    const request = requestOf(
      [20, 60, 100],
      [battery({ powerWindows: [{ fromInterval: 1, toInterval: 2, minNetDischargeKw: -30, maxNetDischargeKw: -30 }] })],
    );
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), [70, 30, 0]);
    assert.deepEqual(round(s.discharge), [0, 0, 100]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), -1.4 - 1.8 + 10);
  });

  it('a power window an empty battery cannot hold is diagnosed, naming the battery and interval', async () => {
    const request = requestOf(
      [20, 60],
      [battery({ powerWindows: [{ fromInterval: 0, toInterval: 1, minNetDischargeKw: 50 }] })],
    );
    const diagnosis = await diagnosisOf(planDispatch(request));
    assert.deepEqual(
      { constraint: diagnosis.constraint, subject: diagnosis.subject, interval: diagnosis.interval },
      { constraint: 'input', subject: 'b1', interval: 0 },
    );
    assert.match(diagnosis.message, /power window/);
  });

  it('no-charge window: the cheapest hour is off limits, so it buys in the next', async () => {
    const request = requestOf([20, 30, 100], [battery()], { noChargeWindows: [{ fromInterval: 0, toInterval: 1 }] });
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), [0, 100, 0]);
    assert.deepEqual(round(s.discharge), [0, 0, 100]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 7);
  });
});

describe('planDispatch: capacity products', () => {
  const regUp = { regUp: { priceUsdPerMwH: [10], sustainHours: 1 } };

  it('regulation up bound by energy sustain: charging buys headroom and energy', async () => {
    // 30 kWh stored, 50 kW each way, 1 h sustain: r <= 30 + c (sustain) and r <= 50 + c
    // (headroom); at $5/MWh energy and $10/MW-h regulation, charge 50: r = 80.
    const request = requestOf([5], [battery({ soc0: 0.3, chargeKw: 50, dischargeKw: 50 })], { products: regUp });
    const plan = await planDispatch(request);
    const interval = plan.batteries[0]?.intervals[0];
    assert.equal(Number(interval?.chargeKw.toFixed(6)), 50);
    assert.equal(Number(interval?.capacityKw.regUp?.toFixed(6)), 80);
    assert.equal(Number(interval?.energyKwh.toFixed(6)), 80);
    assert.equal(Number(plan.revenueUsd.regUp?.toFixed(9)), 0.8);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 0.55);
    assert.deepEqual(violations(request, plan), []);
  });

  it('regulation up bound by power headroom: a nearly full battery charges only the room left', async () => {
    // 90 kWh stored: charge 10 (room), r = 50 + 10 = 60 <= 100 kWh of sustain.
    const request = requestOf([5], [battery({ soc0: 0.9, chargeKw: 50, dischargeKw: 50 })], { products: regUp });
    const plan = await planDispatch(request);
    const interval = plan.batteries[0]?.intervals[0];
    assert.equal(Number(interval?.chargeKw.toFixed(6)), 10);
    assert.equal(Number(interval?.capacityKw.regUp?.toFixed(6)), 60);
  });

  it('regulation down bound by room to charge: discharging makes room', async () => {
    // 70 kWh stored: r <= 100 - E = 30 + d - c; d = 50 earns energy too: r = 80, E = 20.
    const request = requestOf([5], [battery({ soc0: 0.7, chargeKw: 50, dischargeKw: 50 })], {
      products: { regDown: { priceUsdPerMwH: [10], sustainHours: 1 } },
    });
    const plan = await planDispatch(request);
    const interval = plan.batteries[0]?.intervals[0];
    assert.equal(Number(interval?.dischargeKw.toFixed(6)), 50);
    assert.equal(Number(interval?.capacityKw.regDown?.toFixed(6)), 80);
    assert.equal(Number(interval?.energyKwh.toFixed(6)), 20);
    assert.equal(Number(plan.revenueUsd.regDown?.toFixed(9)), 0.8);
  });
});

describe('planDispatch: cycle-depth segments (Xu et al. 2018)', () => {
  // J = 4 segments of 25 kWh, R = $100/MWh, Phi = depth^2, eta_d = 1:
  // c_j = R J (Phi(j/J) - Phi((j-1)/J)) = 25, 75, 125, 175 $/MWh.
  const cycleDepth = { segments: 4, replacementUsdPerMwh: 100, stress: { k: 1, b: 2 } };

  it('discharges the shallowest segment first: at 50 $/MWh only one segment pays', async () => {
    const request = requestOf([50], [battery({ soc0: 1, degradation: { cycleDepth } })]);
    const plan = await planDispatch(request);
    assert.deepEqual(round(series(plan).discharge), [25]);
    assert.equal(Number(plan.degradationCostUsd.toFixed(9)), 0.625);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 0.625);
  });

  it('at 100 $/MWh two segments pay (25 + 75 < 100 each), the third (125) does not', async () => {
    const request = requestOf([100], [battery({ soc0: 1, degradation: { cycleDepth } })]);
    const plan = await planDispatch(request);
    assert.deepEqual(round(series(plan).discharge), [50]);
    assert.equal(Number(plan.degradationCostUsd.toFixed(9)), 2.5);
  });

  it('shallow cycles repeat at the shallow rate: sell 25, refill at 0, sell 25 again', async () => {
    const request = requestOf(
      [60, 0, 60],
      [battery({ soc0: 1, chargeKw: 25, dischargeKw: 25, degradation: { cycleDepth } })],
    );
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.discharge), [25, 0, 25]);
    assert.deepEqual(round(s.charge), [0, 25, 0]);
    assert.deepEqual(round(s.energy), [75, 100, 75]);
    assert.equal(Number(plan.degradationCostUsd.toFixed(9)), 1.25);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 1.75);
  });
});

describe('planDispatch: commitments', () => {
  it('a commitment above the batteries discharge power is diagnosed as commitment', async () => {
    const request = requestOf([50, 50, 50], [battery({ soc0: 1, dischargeKw: 50 })], {
      commitments: [{ id: 'dr-1', fromInterval: 1, toInterval: 2, minNetDischargeKw: 80 }],
    });
    const diagnosis = await diagnosisOf(planDispatch(request));
    assert.deepEqual(
      { constraint: diagnosis.constraint, subject: diagnosis.subject, interval: diagnosis.interval },
      { constraint: 'commitment', subject: 'dr-1', interval: 1 },
    );
    assert.match(diagnosis.message, /at most 50 kW/);
  });

  it('a commitment above the energy reachable from soc0 is diagnosed as commitment', async () => {
    // Starts at interval 0 from 20 kWh: 150 kWh of discharge cannot be there.
    const request = requestOf([50, 50, 50], [battery({ soc0: 0.2 })], {
      commitments: [{ id: 'dr-2', fromInterval: 0, toInterval: 3, minNetDischargeKw: 50 }],
    });
    const diagnosis = await diagnosisOf(planDispatch(request));
    assert.equal(diagnosis.constraint, 'commitment');
    assert.equal(diagnosis.subject, 'dr-2');
    assert.match(diagnosis.message, /150 kWh/);
  });

  it('two commitments each feasible alone but not together: the solver-side diagnosis names one', async () => {
    // Full 100 kWh, 60 kW in hour 0 then 60 kW in hour 1: 120 kWh from 100.
    const request = requestOf([50, 50], [battery({ soc0: 1 })], {
      commitments: [
        { id: 'A', fromInterval: 0, toInterval: 1, minNetDischargeKw: 60 },
        { id: 'B', fromInterval: 1, toInterval: 2, minNetDischargeKw: 60 },
      ],
    });
    const diagnosis = await diagnosisOf(planDispatch(request));
    assert.equal(diagnosis.constraint, 'commitment');
    assert.ok(['A', 'B'].includes(diagnosis.subject));
    assert.match(diagnosis.message, /20 kWh|20 kW/);
  });

  it('a met commitment discharges K through its window with the energy reserved before it', async () => {
    // 40 kW in hours 2-3 from an empty battery: buy 100 kWh at 10, sell the minimum 40 at 30 and
    // the rest (60) at 35: -1 + 1.2 + 2.1 = $2.30.
    const request = requestOf([10, 20, 30, 35], [battery({ soc0: 0 })], {
      commitments: [{ id: 'dr', fromInterval: 2, toInterval: 4, minNetDischargeKw: 40 }],
    });
    const plan = await planDispatch(request);
    const s = series(plan);
    assert.deepEqual(round(s.charge), [100, 0, 0, 0]);
    assert.deepEqual(round(s.discharge), [0, 0, 40, 60]);
    assert.equal(Number(plan.objectiveUsd.toFixed(9)), 2.3);
    assert.deepEqual(violations(request, plan), []);
  });
});
