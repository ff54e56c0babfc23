/**
 * Property tests: seeded random batteries, prices and constraints. Every plan must satisfy every
 * constraint of the request (re-derived independently in support.ts) within 1e-6, never charge
 * and discharge at once, and its objective recomputed from the schedule must equal HiGHS's.
 * Infeasible draws must come back as GW_ERR_INFEASIBLE with a diagnosis, nothing else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { InfeasibilityDiagnosis } from '../src/contract.ts';
import { buildModel, DispatchSession, normalizeRequest } from '../src/index.ts';
import { randomRequest, seeded, violations } from './support.ts';

const CASES = 80;

describe('property: random requests', () => {
  it(`${CASES} seeded cases: every constraint holds and the objective is HiGHS's`, async () => {
    const random = seeded(9_2025);
    const session = await DispatchSession.open({ maxModels: 0 });
    let solved = 0;
    let withBinaries = 0;
    const diagnosed: string[] = [];
    try {
      for (let i = 0; i < CASES; i++) {
        const request = randomRequest(random);
        let plan: ReturnType<DispatchSession['plan']>;
        try {
          plan = session.plan(request);
        } catch (error) {
          assert.ok(GridseamError.is(error) && error.code === 'GW_ERR_INFEASIBLE', `case ${i}: ${String(error)}`);
          const diagnosis = error.details as unknown as InfeasibilityDiagnosis;
          assert.ok(diagnosis.constraint && diagnosis.message.length > 20, `case ${i}: diagnosis ${diagnosis.message}`);
          diagnosed.push(diagnosis.constraint);
          continue;
        }
        assert.deepEqual(violations(request, plan), [], `case ${i}`);
        solved++;
        if (plan.solver.binaries > 0) withBinaries++;
      }
    } finally {
      session.dispose();
    }
    assert.ok(solved >= 60, `only ${solved} of ${CASES} draws were feasible (${diagnosed.join(', ')})`);
    assert.ok(withBinaries > 0, 'some draws needed the exact no-simultaneous step');
  });

  it('the builder writes a valid CSR matrix: ordered starts, indices in range, no repeated column in a row', () => {
    const random = seeded(77);
    for (let i = 0; i < 30; i++) {
      const model = buildModel(normalizeRequest(randomRequest(random)));
      assert.equal(model.starts[0], 0);
      assert.equal(model.starts[model.numRows], model.indices.length);
      assert.equal(model.values.length, model.indices.length);
      for (let r = 0; r < model.numRows; r++) {
        const from = model.starts[r] as number;
        const to = model.starts[r + 1] as number;
        assert.ok(from <= to);
        const columns = new Set(model.indices.subarray(from, to));
        assert.equal(columns.size, to - from, `row ${r} repeats a column`);
        for (const c of columns) assert.ok(c >= 0 && c < model.numCols);
      }
      for (let c = 0; c < model.numCols; c++) {
        assert.ok((model.colLower[c] as number) <= (model.colUpper[c] as number), `column ${c} bounds`);
        assert.ok(Number.isFinite(model.colCost[c]));
      }
    }
  });
});
