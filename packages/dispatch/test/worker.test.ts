/**
 * The worker path: plans solved in a worker_threads worker equal in-process plans, warm
 * re-solves stay in the worker, errors (validation, infeasibility diagnosis) cross the thread with
 * their codes and details, a crashed worker fails what it held and is replaced, close() ends it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { InfeasibilityDiagnosis } from '../src/contract.ts';
import { DispatchWorker, planDispatch } from '../src/index.ts';
import { battery, requestOf } from './support.ts';

const prices = [30, 12, 8, 25, 60, 90, 70, 40];
const request = requestOf(prices, [battery({ soc0: 0.5, etaCharge: 0.95, etaDischarge: 0.95 })]);

describe('DispatchWorker', () => {
  const worker = new DispatchWorker({ testHooks: true });
  after(() => worker.close());

  it('plans in the worker exactly as in-process', async () => {
    const inWorker = await worker.plan(request, { key: 'site-1' });
    const inProcess = await planDispatch(request);
    assert.deepEqual(inWorker.batteries, inProcess.batteries);
    assert.equal(inWorker.objectiveUsd, inProcess.objectiveUsd);
    assert.equal(inWorker.solver.warm, false);
  });

  it('keeps the model in the worker: changed prices re-solve warm', async () => {
    const next = { ...request, energyPriceUsdPerMwh: prices.map((p) => p * 1.1) };
    const warm = await worker.plan(next, { key: 'site-1' });
    assert.equal(warm.solver.warm, true);
    const cold = await planDispatch(next);
    assert.ok(Math.abs(warm.objectiveUsd - cold.objectiveUsd) < 1e-6);
  });

  it('answers concurrent requests in order, each with its own plan', async () => {
    const scaled = [1, 2, 3].map((k) => ({ ...request, energyPriceUsdPerMwh: prices.map((p) => p * k) }));
    const plans = await Promise.all(scaled.map((r) => worker.plan(r)));
    for (const [i, plan] of plans.entries()) {
      assert.ok(Math.abs(plan.objectiveUsd - (i + 1) * (plans[0]?.objectiveUsd ?? 0)) < 1e-6);
    }
  });

  it('carries validation errors and infeasibility diagnoses across the thread', async () => {
    const bad = requestOf([1, Number.NaN], [battery()]);
    await assert.rejects(worker.plan(bad), (error: unknown) => {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_VALIDATION');
      assert.deepEqual(error.issues[0]?.path, '/energyPriceUsdPerMwh/1');
      return true;
    });
    const impossible = requestOf([10, 10], [battery({ soc0: 1, dischargeKw: 10 })], {
      commitments: [{ id: 'big', fromInterval: 1, toInterval: 2, minNetDischargeKw: 500 }],
    });
    await assert.rejects(worker.plan(impossible), (error: unknown) => {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_INFEASIBLE');
      const diagnosis = error.details as unknown as InfeasibilityDiagnosis;
      assert.equal(diagnosis.constraint, 'commitment');
      assert.equal(diagnosis.subject, 'big');
      return true;
    });
  });

  it('refuses a request that is not plain data without touching the worker', async () => {
    const withFunction = { ...request, extra: () => 1 } as unknown as typeof request;
    await assert.rejects(worker.plan(withFunction), { code: 'GW_ERR_VALIDATION' });
    assert.ok((await worker.plan(request)).objectiveUsd > 0);
  });

  it('a crashed worker fails what it held, then a new worker takes the next request', async () => {
    const startedBefore = worker.threadsStarted;
    worker.crashForTest();
    await assert.rejects(worker.plan(request), (error: unknown) => {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_INTERNAL');
      assert.match(error.message, /dispatch worker stopped/);
      return true;
    });
    const plan = await worker.plan(request, { key: 'site-1' });
    assert.equal(worker.threadsStarted, startedBefore + 1);
    assert.equal(plan.solver.warm, false, 'the models died with the old worker');
  });

  it('close() answers what was sent, ends the thread, and later requests are refused', async () => {
    const other = new DispatchWorker();
    const pending = other.plan(request);
    await other.close();
    assert.ok((await pending).objectiveUsd > 0);
    await assert.rejects(other.plan(request), { code: 'GW_ERR_INTERNAL' });
    await other.close();
  });
});
