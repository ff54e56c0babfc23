/**
 * Solving a plan request with HiGHS (the `highs` WASM build; synchronous once loaded):
 * validate -> cheap feasibility checks -> build -> LP solve -> if any battery charges and
 * discharges at once in an interval, binaries for exactly those (battery, interval) pairs and a
 * MILP re-solve, repeated until none remain -> the plan, its objective checked against HiGHS's.
 *
 * `DispatchSession` keeps one persistent HiGHS model per key: a request whose matrix is the same
 * as the last one's (only prices, soc0 or bounds changed) updates costs and bounds in place and
 * re-solves from the previous basis. Models are disposed when replaced, evicted or closed (the
 * WASM heap is not garbage collected).
 */
import { GridseamError } from '@gridseam/model';
import highsPackage, { type Highs, type Model, type ModelData } from 'highs';
import { addExclusivity, buildModel, col, type DispatchModel, type ExclusivePair } from './build.ts';
import type { Plan, PlanRequest } from './contract.ts';
import { extractPlan, objectivesAgree } from './extract.ts';
import { diagnoseInfeasible, type ElasticModel, type ElasticSolver, infeasible, precheck } from './feasibility.ts';
import { type NormalRequest, normalizeRequest } from './normalize.ts';

/** Charge and discharge both above this (kW) in one interval count as simultaneous. */
export const SIMULTANEOUS_KW = 1e-7;
/** After this many rounds of adding binaries, every pair that could overlap gets one. */
const EXCLUSIVITY_ROUNDS = 4;
/** Bound on one MILP solve; the best schedule found by then is used. */
const MILP_TIME_LIMIT_SECONDS = 30;
/**
 * Relative MIP gap when binaries are needed (negative prices with a full battery). A proven-optimal
 * gap of 0 took 75 s on the shipped 2019-04-29 five-minute day (288 binaries), 1e-6 took 20 s and
 * 1e-4 about 3.5 s for an objective $0.00006 lower; exclusivity itself stays exact either way.
 */
const MILP_RELATIVE_GAP = 1e-4;

/**
 * The package is CommonJS with an ES module build: under Node's ESM loader the default import is
 * the loader function, while its declarations describe the CommonJS view (`.default`).
 */
const loadHighs = ((highsPackage as unknown as { default?: unknown }).default ??
  highsPackage) as unknown as (typeof highsPackage)['default'];

let runtime: Promise<Highs> | undefined;

/** Loads the HiGHS WASM runtime once per thread. */
export function loadSolver(): Promise<Highs> {
  const loading =
    runtime ??
    loadHighs().catch((error: unknown) => {
      runtime = undefined;
      throw new GridseamError('GW_ERR_INTERNAL', 'the HiGHS solver could not be loaded', { cause: error });
    });
  runtime = loading;
  return loading;
}

type Sense = 'maximize' | 'minimize';

function modelData(highs: Highs, model: ElasticModel & { offset?: number }, sense: Sense): ModelData {
  return {
    numCols: model.numCols,
    numRows: model.numRows,
    sense: highs.constants.objectiveSense[sense],
    offset: model.offset ?? 0,
    colCost: model.colCost,
    colLower: model.colLower,
    colUpper: model.colUpper,
    rowLower: model.rowLower,
    rowUpper: model.rowUpper,
    matrix: {
      format: 'csr',
      numRows: model.numRows,
      numCols: model.numCols,
      starts: model.starts,
      indices: model.indices,
      values: model.values,
    },
    ...(model.integrality ? { integrality: model.integrality } : {}),
  };
}

/**
 * LPs run without presolve: on these storage models it removes little and costs more than it
 * saves (measured: J = 10 single battery, 288 intervals, ~115 -> ~75 ms CPU; fleets likewise).
 * MILPs keep it.
 */
function createModel(highs: Highs, data: ModelData, mip: boolean): Model {
  const model = highs.createModel(data);
  try {
    model.options.set({ output_flag: false });
    if (mip)
      model.options.set({ mip_rel_gap: MILP_RELATIVE_GAP, mip_abs_gap: 1e-9, time_limit: MILP_TIME_LIMIT_SECONDS });
    else model.options.set({ presolve: 'off' });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** Runs the model; HiGHS's own run time in ms. */
function run(model: Model): number {
  model.zeroAllClocks();
  model.run();
  return model.getRunTime() * 1000;
}

const STATUS_WORDS: Record<number, string> = {
  13: 'reached its time limit',
  14: 'reached its iteration limit',
  15: 'ended in an unknown state',
  17: 'was interrupted',
};

function solverStopped(status: number): GridseamError {
  const what = STATUS_WORDS[status] ?? 'failed';
  return new GridseamError('GW_ERR_INTERNAL', `the dispatch solver ${what} before finding a plan`, {
    details: { modelStatus: status },
  });
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** True when the per-battery rows (everything before the coupling rows) have the same matrix. */
function samePerBattery(a: DispatchModel, b: DispatchModel): boolean {
  if (a.numCols !== b.numCols || a.couplingFrom !== b.couplingFrom) return false;
  const rows = a.couplingFrom;
  const nnz = a.starts[rows] as number;
  return (
    b.starts[rows] === nnz &&
    sameBytes(a.starts.subarray(0, rows + 1), b.starts.subarray(0, rows + 1)) &&
    sameBytes(a.indices.subarray(0, nnz), b.indices.subarray(0, nnz)) &&
    sameBytes(a.values.subarray(0, nnz), b.values.subarray(0, nnz))
  );
}

/** True when only costs and bounds differ: the persistent model can be updated in place. */
function sameStructure(a: DispatchModel, b: DispatchModel): boolean {
  return (
    a.numRows === b.numRows &&
    samePerBattery(a, b) &&
    sameBytes(a.starts, b.starts) &&
    sameBytes(a.indices, b.indices) &&
    sameBytes(a.values, b.values)
  );
}

/** Costs, column bounds, the bounds of the first `rows` rows and the offset, where they changed. */
function updateInPlace(model: Model, before: DispatchModel, after: DispatchModel, rows = after.numRows): void {
  const columns = { kind: 'range', from: 0, to: after.numCols - 1 } as const;
  if (!sameBytes(before.colCost, after.colCost)) model.changeColsCost(columns, after.colCost);
  if (!sameBytes(before.colLower, after.colLower) || !sameBytes(before.colUpper, after.colUpper)) {
    model.changeColsBounds(columns, after.colLower, after.colUpper);
  }
  const lower = after.rowLower.subarray(0, rows);
  const upper = after.rowUpper.subarray(0, rows);
  if (
    rows > 0 &&
    (!sameBytes(before.rowLower.subarray(0, rows), lower) || !sameBytes(before.rowUpper.subarray(0, rows), upper))
  ) {
    model.changeRowsBounds({ kind: 'range', from: 0, to: rows - 1 }, lower, upper);
  }
  if (before.offset !== after.offset) model.changeObjectiveOffset(after.offset);
}

/**
 * Swaps the coupling rows (commitments, shared limits) of a kept model for the new request's:
 * a commitment window moving through a rolling horizon changes only these rows.
 */
function replaceCouplingRows(model: Model, before: DispatchModel, after: DispatchModel): void {
  if (before.numRows > before.couplingFrom) {
    model.deleteRows({ kind: 'range', from: before.couplingFrom, to: before.numRows - 1 });
  }
  const from = after.couplingFrom;
  if (after.numRows === from) return;
  const nnz = after.starts[from] as number;
  model.addRows({
    lower: after.rowLower.subarray(from),
    upper: after.rowUpper.subarray(from),
    matrix: {
      format: 'csr',
      numRows: after.numRows - from,
      numCols: after.numCols,
      starts: Int32Array.from(after.starts.subarray(from), (start) => start - nnz),
      indices: after.indices.subarray(nnz),
      values: after.values.subarray(nnz),
    },
  });
}

/**
 * A kept model. A fleet model (batteries coupled by commitments or shared limits) also keeps its
 * decoupled companion: the same columns with only the per-battery rows.
 */
interface Slot {
  model: Model | undefined;
  built: DispatchModel;
  decoupled: Model | undefined;
}

/** The model restricted to its per-battery rows (no commitments, no shared limits). */
function decoupledView(built: DispatchModel): DispatchModel {
  const rows = built.couplingFrom;
  const nnz = built.starts[rows] as number;
  return {
    ...built,
    numRows: rows,
    rowLower: built.rowLower.subarray(0, rows),
    rowUpper: built.rowUpper.subarray(0, rows),
    starts: built.starts.subarray(0, rows + 1),
    indices: built.indices.subarray(0, nnz),
    values: built.values.subarray(0, nnz),
    rowKind: built.rowKind.subarray(0, rows),
    rowSubject: built.rowSubject.subarray(0, rows),
    rowInterval: built.rowInterval.subarray(0, rows),
  };
}

function disposeSlot(slot: Slot): void {
  slot.model?.dispose();
  slot.decoupled?.dispose();
  slot.model = undefined;
  slot.decoupled = undefined;
}

function isCoupledFleet(built: DispatchModel): boolean {
  return built.layouts.length > 1 && built.couplingFrom > 0 && built.couplingFrom < built.numRows;
}

interface Solved {
  x: Float64Array;
  objectiveValue: number;
  runMs: number;
  columns: number;
  rows: number;
  binaries: number;
}

const OPTIMAL = 7;
const INFEASIBLE = new Set([8, 9]);

function simultaneousPairs(request: NormalRequest, built: DispatchModel, x: Float64Array): ExclusivePair[] {
  const pairs: ExclusivePair[] = [];
  for (const battery of request.batteries) {
    const layout = built.layouts[battery.index];
    if (!layout) continue;
    for (let t = 0; t < request.intervals; t++) {
      const charge = x[col(layout, t, layout.charge)] as number;
      const discharge = x[col(layout, t, layout.discharge)] as number;
      if (charge > SIMULTANEOUS_KW && discharge > SIMULTANEOUS_KW) pairs.push([battery.index, t]);
    }
  }
  return pairs;
}

export interface SessionOptions {
  /** Persistent models kept (one per key); the least recently used is disposed beyond this. */
  maxModels?: number;
}

export class DispatchSession {
  readonly #highs: Highs;
  readonly #slots = new Map<string, Slot>();
  readonly #maxModels: number;
  #disposed = false;

  constructor(highs: Highs, options: SessionOptions = {}) {
    this.#highs = highs;
    this.#maxModels = Math.max(0, options.maxModels ?? 4);
  }

  static async open(options: SessionOptions = {}): Promise<DispatchSession> {
    return new DispatchSession(await loadSolver(), options);
  }

  /** Models currently kept for warm re-solves. */
  get models(): number {
    return this.#slots.size;
  }

  /**
   * Plans synchronously (blocks the thread for the solve). `key` names the persistent model to
   * reuse; requests with the same key and the same structure re-solve warm.
   */
  plan(input: PlanRequest, key = 'default'): Plan {
    if (this.#disposed) throw new GridseamError('GW_ERR_INTERNAL', 'the dispatch session is closed');
    const started = performance.now();
    const request = normalizeRequest(input);
    precheck(request);
    const built = buildModel(request);
    const lp = this.#solveLp(request, built, key);
    const pairs = simultaneousPairs(request, built, lp.solved.x);
    const solved = pairs.length === 0 ? lp.solved : this.#solveExclusive(request, built, pairs, lp.solved.runMs);
    const extracted = extractPlan(request, built, solved.x);
    if (!objectivesAgree(extracted.objectiveUsd, solved.objectiveValue)) {
      throw new GridseamError('GW_ERR_INTERNAL', 'the plan does not reproduce the solver objective (a model bug)', {
        details: { recomputed: extracted.objectiveUsd, solver: solved.objectiveValue },
      });
    }
    return {
      ...extracted,
      solver: {
        runMs: solved.runMs,
        totalMs: performance.now() - started,
        objectiveValue: solved.objectiveValue,
        columns: solved.columns,
        rows: solved.rows,
        binaries: solved.binaries,
        warm: lp.warm,
      },
    };
  }

  /** Disposes every persistent model. */
  dispose(): void {
    this.#disposed = true;
    for (const slot of this.#slots.values()) disposeSlot(slot);
    this.#slots.clear();
  }

  /**
   * The LP, cold or warm. Warm: the kept model (same matrix) gets the new costs and bounds. A
   * fleet model starts from the optimal basis of its decoupled companion (each battery on its
   * own) with the coupling rows' slacks basic: that basis is dual feasible, so the dual simplex
   * only has to repair the coupling. On a 400-battery fleet this is far fewer iterations than a
   * solve from scratch or from the previous fleet basis after a price change. The companion is
   * kept and re-solved warm even when the coupling changes shape (a commitment window moving
   * through a rolling horizon). runMs counts both HiGHS runs; `warm` says a kept model was used.
   */
  #solveLp(request: NormalRequest, built: DispatchModel, key: string): { solved: Solved; warm: boolean } {
    const previous = this.#slots.get(key);
    this.#slots.delete(key);
    const slot: Slot = { model: undefined, built, decoupled: undefined };
    let keep = false;
    try {
      let warm = false;
      let model: Model;
      if (previous?.model && samePerBattery(previous.built, built)) {
        model = previous.model;
        previous.model = undefined;
        slot.model = model;
        if (sameStructure(previous.built, built)) updateInPlace(model, previous.built, built);
        else {
          replaceCouplingRows(model, previous.built, built);
          updateInPlace(model, previous.built, built, built.couplingFrom);
        }
        warm = true;
      } else {
        model = createModel(this.#highs, modelData(this.#highs, built, 'maximize'), false);
        slot.model = model;
      }
      let runMs = 0;
      if (isCoupledFleet(built)) {
        const kept = previous?.decoupled;
        if (previous) previous.decoupled = undefined;
        const started = this.#startFromDecoupled(slot, kept, previous?.built);
        runMs += started.runMs;
        warm ||= started.warm;
      }
      runMs += run(model);
      const status = model.getModelStatus();
      if (INFEASIBLE.has(status)) throw infeasible(diagnoseInfeasible(request, built, this.#elasticSolver()));
      if (status !== OPTIMAL) throw solverStopped(status);
      const solved: Solved = {
        x: model.getSolution().colValue,
        objectiveValue: model.getObjectiveValue(),
        runMs,
        columns: built.numCols,
        rows: built.numRows,
        binaries: 0,
      };
      keep = this.#maxModels > 0;
      return { solved, warm };
    } finally {
      if (previous) disposeSlot(previous);
      if (keep) this.#remember(key, slot);
      else disposeSlot(slot);
    }
  }

  /**
   * Solves the decoupled companion (the kept one, warm, when its rows are unchanged) and installs
   * its basis in the fleet model.
   */
  #startFromDecoupled(slot: Slot, kept: Model | undefined, before: DispatchModel | undefined) {
    const view = decoupledView(slot.built);
    const previousView = before && isCoupledFleet(before) ? decoupledView(before) : undefined;
    let warm = false;
    if (kept && previousView && samePerBattery(previousView, view)) {
      slot.decoupled = kept;
      updateInPlace(kept, previousView, view);
      warm = true;
    } else {
      kept?.dispose();
      slot.decoupled = createModel(this.#highs, modelData(this.#highs, view, 'maximize'), false);
    }
    const runMs = run(slot.decoupled);
    // Infeasible on their own: leave the fleet model's basis; its solve will say so and diagnose.
    if (slot.decoupled.getModelStatus() === OPTIMAL && slot.model) {
      const basis = slot.decoupled.getBasis();
      const rowStatus = new Int32Array(slot.built.numRows).fill(this.#highs.constants.basisStatus.basic);
      rowStatus.set(basis.rowStatus);
      slot.model.setBasis({ colStatus: basis.colStatus, rowStatus });
    }
    return { runMs, warm };
  }

  #remember(key: string, slot: Slot): void {
    this.#slots.set(key, slot);
    for (const [oldest, evicted] of this.#slots) {
      if (this.#slots.size <= this.#maxModels) break;
      disposeSlot(evicted);
      this.#slots.delete(oldest);
    }
  }

  /**
   * Exact exclusivity: binaries for the overlapping pairs, MILP, then the binaries fixed at their
   * rounded values and the LP re-solved (so the schedule is exact, not within MIP tolerance).
   * Repeats while other pairs overlap; after EXCLUSIVITY_ROUNDS every pair that could overlap
   * gets a binary.
   */
  #solveExclusive(request: NormalRequest, built: DispatchModel, first: ExclusivePair[], lpMs: number): Solved {
    const pairs = new Map<number, ExclusivePair>();
    const add = (list: readonly ExclusivePair[]) => {
      for (const pair of list) pairs.set(pair[0] * request.intervals + pair[1], pair);
    };
    add(first);
    let runMs = lpMs;
    for (let round = 1; ; round++) {
      const extended = addExclusivity(built, request, [...pairs.values()]);
      const solved = this.#solveMilp(request, extended);
      runMs += solved.runMs;
      const overlapping = simultaneousPairs(request, built, solved.x).filter(
        ([b, t]) => !pairs.has(b * request.intervals + t),
      );
      if (overlapping.length === 0) return { ...solved, runMs };
      add(round >= EXCLUSIVITY_ROUNDS ? this.#everyPair(request) : overlapping);
    }
  }

  #everyPair(request: NormalRequest): ExclusivePair[] {
    const all: ExclusivePair[] = [];
    for (const battery of request.batteries) {
      if (battery.chargeKw === 0 || battery.dischargeKw === 0) continue;
      for (let t = 0; t < request.intervals; t++) if (!request.noCharge[t]) all.push([battery.index, t]);
    }
    return all;
  }

  #solveMilp(request: NormalRequest, extended: ReturnType<typeof addExclusivity>): Solved {
    const model = createModel(this.#highs, modelData(this.#highs, extended, 'maximize'), true);
    try {
      let runMs = run(model);
      const status = model.getModelStatus();
      if (INFEASIBLE.has(status)) throw infeasible(diagnoseInfeasible(request, extended, this.#elasticSolver()));
      const hasIncumbent = status === OPTIMAL || Number(model.info.get('primal_solution_status')) === 2;
      if (!hasIncumbent) throw solverStopped(status);
      const milp = model.getSolution().colValue;
      let x = milp;
      let objectiveValue = model.getObjectiveValue();
      // Fix the binaries where the MILP put them and re-solve the LP: exact exclusivity.
      const fixed = Float64Array.from(extended.binaryColumns, (c) => Math.round(milp[c] as number));
      model.changeColsBounds({ kind: 'set', indices: extended.binaryColumns }, fixed, fixed);
      model.clearIntegrality();
      runMs += run(model);
      if (model.getModelStatus() === OPTIMAL) {
        x = model.getSolution().colValue;
        objectiveValue = model.getObjectiveValue();
      }
      return {
        x,
        objectiveValue,
        runMs,
        columns: extended.numCols,
        rows: extended.numRows,
        binaries: extended.binaryColumns.length,
      };
    } finally {
      model.dispose();
    }
  }

  #elasticSolver(): ElasticSolver {
    return (elastic) => {
      const model = createModel(
        this.#highs,
        modelData(this.#highs, elastic, 'minimize'),
        elastic.integrality !== undefined,
      );
      try {
        run(model);
        const status = model.getModelStatus();
        if (status === OPTIMAL) return model.getSolution().colValue;
        return undefined;
      } finally {
        model.dispose();
      }
    };
  }
}

/** Plans one request in this thread with a fresh model (disposed before returning). */
export async function planDispatch(request: PlanRequest): Promise<Plan> {
  const session = new DispatchSession(await loadSolver(), { maxModels: 0 });
  try {
    return session.plan(request);
  } finally {
    session.dispose();
  }
}
