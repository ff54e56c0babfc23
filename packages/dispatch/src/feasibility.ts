/**
 * Infeasibility, explained: cheap checks before the model is built (a commitment above what the
 * batteries can discharge or hold, a terminal target out of reach, a site or feeder limit the
 * load and PV break beyond what the batteries can absorb), and, when HiGHS still finds no
 * schedule, which constraint group binds: each group in turn is made elastic (violations allowed
 * at a cost) and the cheapest violation names the group, the subject and the interval. The
 * result is GW_ERR_INFEASIBLE with an InfeasibilityDiagnosis, never a solver status string.
 */
import { GridseamError } from '@gridseam/model';
import { type BatteryLayout, col, type DispatchModel, ROW_KIND, terminalFloorKwh } from './build.ts';
import type { InfeasibilityDiagnosis } from './contract.ts';
import type { NormalBattery, NormalRequest } from './normalize.ts';

const TOLERANCE = 1e-6;

export function infeasible(diagnosis: InfeasibilityDiagnosis): GridseamError {
  return new GridseamError('GW_ERR_INFEASIBLE', diagnosis.message, {
    details: diagnosis as unknown as Record<string, unknown>,
  });
}

const kw = (value: number) => `${Number(value.toFixed(3))} kW`;
const kwh = (value: number) => `${Number(value.toFixed(3))} kWh`;

function ownExportKw(battery: NormalBattery, t: number): number {
  return (battery.pvKw[t] as number) - (battery.loadKw[t] as number);
}

/**
 * The most energy the battery can hold at the end of each interval (kWh): charging as hard as its
 * power, site import limit and (optionally) the no-charge windows allow, never above the ceiling,
 * with self-discharge. Commitments and products are ignored, so this is an upper bound.
 */
export function reachableMaxKwh(request: NormalRequest, battery: NormalBattery, noChargeWindows = true): Float64Array {
  const out = new Float64Array(request.intervals);
  let energy = battery.initialKwh;
  for (let t = 0; t < request.intervals; t++) {
    const power = noChargeWindows && request.noCharge[t] ? 0 : battery.chargeKw;
    const net = Math.min(power, battery.importLimitKw + ownExportKw(battery, t));
    const kept = battery.retention * energy;
    energy =
      net >= 0
        ? Math.max(kept, Math.min(battery.ceilingKwh, kept + battery.etaCharge * request.hours * net))
        : kept + (net * request.hours) / battery.etaDischarge;
    out[t] = energy;
  }
  return out;
}

function checkSiteLimits(request: NormalRequest, battery: NormalBattery): void {
  for (let t = 0; t < request.intervals; t++) {
    const own = ownExportKw(battery, t);
    const mustAbsorb = own - battery.exportLimitKw;
    const canAbsorb = request.noCharge[t] ? 0 : battery.chargeKw;
    if (mustAbsorb > canAbsorb + TOLERANCE) {
      const window = mustAbsorb <= battery.chargeKw + TOLERANCE;
      throw infeasible({
        constraint: window ? 'no-charge-window' : 'site-limit',
        subject: battery.id,
        interval: t,
        message:
          `the site of battery "${battery.id}" exports ${kw(own)} of PV net of load in interval ${t}, ` +
          `${kw(mustAbsorb)} above its export limit of ${kw(battery.exportLimitKw)}, and the battery can absorb ` +
          (window ? 'nothing there: the interval is in a no-charge window' : `at most ${kw(battery.chargeKw)}`),
      });
    }
    const mustSupply = -own - battery.importLimitKw;
    if (mustSupply > battery.dischargeKw + TOLERANCE) {
      throw infeasible({
        constraint: 'site-limit',
        subject: battery.id,
        interval: t,
        message:
          `the site of battery "${battery.id}" imports ${kw(-own)} of load net of PV in interval ${t}, ` +
          `${kw(mustSupply)} above its import limit of ${kw(battery.importLimitKw)}, and the battery can supply ` +
          `at most ${kw(battery.dischargeKw)}`,
      });
    }
  }
}

function checkSharedLimits(request: NormalRequest): void {
  if (
    request.sharedExportLimitKw === Number.POSITIVE_INFINITY &&
    request.sharedImportLimitKw === Number.POSITIVE_INFINITY
  )
    return;
  for (let t = 0; t < request.intervals; t++) {
    let own = 0;
    let absorb = 0;
    let supply = 0;
    for (const battery of request.batteries) {
      own += ownExportKw(battery, t);
      absorb += request.noCharge[t] ? 0 : battery.chargeKw;
      supply += battery.dischargeKw;
    }
    if (
      own - request.sharedExportLimitKw > absorb + TOLERANCE ||
      -own - request.sharedImportLimitKw > supply + TOLERANCE
    ) {
      const exporting = own - request.sharedExportLimitKw > absorb + TOLERANCE;
      throw infeasible({
        constraint: 'shared-limit',
        subject: exporting ? 'shared export limit' : 'shared import limit',
        interval: t,
        message: exporting
          ? `the sites export ${kw(own)} net in interval ${t}, above the shared export limit of ` +
            `${kw(request.sharedExportLimitKw)} by more than the batteries can absorb (${kw(absorb)})`
          : `the sites import ${kw(-own)} net in interval ${t}, above the shared import limit of ` +
            `${kw(request.sharedImportLimitKw)} by more than the batteries can supply (${kw(supply)})`,
      });
    }
  }
}

function checkCommitmentPower(request: NormalRequest, index: number, reach: Float64Array[]): void {
  const commitment = request.commitments[index];
  if (!commitment) return;
  const members = new Set(commitment.members);
  const names = commitment.members.map((b) => `"${request.batteries[b]?.id}"`).join(', ');
  for (let t = commitment.fromInterval; t < commitment.toInterval; t++) {
    let deliverable = 0;
    let othersAbsorb = 0;
    let own = 0;
    for (const battery of request.batteries) {
      own += ownExportKw(battery, t);
      if (members.has(battery.index)) {
        deliverable += Math.min(battery.dischargeKw, battery.exportLimitKw - ownExportKw(battery, t));
      } else othersAbsorb += request.noCharge[t] ? 0 : battery.chargeKw;
    }
    if (deliverable < commitment.minNetDischargeKw - TOLERANCE) {
      throw infeasible({
        constraint: 'commitment',
        subject: commitment.id,
        interval: t,
        message:
          `commitment "${commitment.id}" needs ${kw(commitment.minNetDischargeKw)} of net discharge in interval ${t} ` +
          `but batteries ${names} can deliver at most ${kw(deliverable)} (discharge power and site export limits)`,
      });
    }
    const underFeeder = request.sharedExportLimitKw - own + othersAbsorb;
    if (underFeeder < commitment.minNetDischargeKw - TOLERANCE) {
      throw infeasible({
        constraint: 'shared-limit',
        subject: 'shared export limit',
        interval: t,
        message:
          `commitment "${commitment.id}" needs ${kw(commitment.minNetDischargeKw)} of net discharge in interval ${t} ` +
          `but the shared export limit of ${kw(request.sharedExportLimitKw)} leaves room for ${kw(underFeeder)}`,
      });
    }
  }
  // Energy: what the members can deliver over the window is at most eta_d x (energy at its start
  // - floor) each; at best they start it as full as charging from soc0 allows.
  const needed = commitment.minNetDischargeKw * (commitment.toInterval - commitment.fromInterval) * request.hours;
  let available = 0;
  for (const b of commitment.members) {
    const battery = request.batteries[b] as NormalBattery;
    const start = commitment.fromInterval === 0 ? battery.initialKwh : (reach[b]?.[commitment.fromInterval - 1] ?? 0);
    available += battery.etaDischarge * Math.max(0, start - battery.floorKwh);
  }
  if (available < needed - TOLERANCE * Math.max(1, needed)) {
    throw infeasible({
      constraint: 'commitment',
      subject: commitment.id,
      interval: commitment.fromInterval,
      message:
        `commitment "${commitment.id}" needs ${kwh(needed)} of discharge over intervals ` +
        `${commitment.fromInterval}-${commitment.toInterval - 1} but batteries ${names} can hold at most ` +
        `${kwh(available)} of deliverable energy at its start (from soc0, charge power and efficiency)`,
    });
  }
}

function checkEnergyReach(request: NormalRequest, battery: NormalBattery, reach: Float64Array): void {
  if (battery.initialKwh >= battery.floorKwh) {
    const t = reach.findIndex((energy) => energy < battery.floorKwh - TOLERANCE);
    if (t >= 0) {
      const withoutWindows = reachableMaxKwh(request, battery, false);
      const windows = (withoutWindows[t] as number) >= battery.floorKwh - TOLERANCE;
      throw infeasible({
        constraint: windows ? 'no-charge-window' : 'input',
        subject: battery.id,
        interval: t,
        message:
          `battery "${battery.id}" cannot stay above its floor of ${kwh(battery.floorKwh)} in interval ${t}: ` +
          (windows
            ? 'self-discharge needs charging inside a no-charge window'
            : 'its charge power and site import limit cannot make up its self-discharge and the site load'),
      });
    }
  }
  const target = terminalFloorKwh(battery);
  if (target === undefined) return;
  const last = reach[request.intervals - 1] as number;
  if (target > Math.max(battery.ceilingKwh, battery.initialKwh) + TOLERANCE || last < target - TOLERANCE) {
    const what = battery.terminal.kind === 'target' ? 'its terminal target' : 'its initial energy (terminal condition)';
    throw infeasible({
      constraint: 'terminal',
      subject: battery.id,
      interval: request.intervals - 1,
      message:
        `battery "${battery.id}" cannot end the horizon with ${kwh(target)} (${what}): ` +
        (target > battery.ceilingKwh + TOLERANCE
          ? `that is above its SoC ceiling of ${kwh(battery.ceilingKwh)}`
          : `charging as hard as allowed it reaches at most ${kwh(last)}`),
    });
  }
}

/** Throws GW_ERR_INFEASIBLE when a cheap check already shows the request cannot be met. */
export function precheck(request: NormalRequest): void {
  const reach = request.batteries.map((battery) => reachableMaxKwh(request, battery));
  for (const battery of request.batteries) checkSiteLimits(request, battery);
  checkSharedLimits(request);
  for (let index = 0; index < request.commitments.length; index++) checkCommitmentPower(request, index, reach);
  for (const battery of request.batteries) checkEnergyReach(request, battery, reach[battery.index] as Float64Array);
}

/** A model in HiGHS's shape, minimised by the elastic solves. */
export interface ElasticModel {
  numCols: number;
  numRows: number;
  colCost: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
  rowLower: Float64Array;
  rowUpper: Float64Array;
  starts: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  integrality?: Int32Array;
}

/** Solves a minimisation; the column values when optimal, undefined when (still) infeasible. */
export type ElasticSolver = (model: ElasticModel) => Float64Array | undefined;

type Group = { constraint: InfeasibilityDiagnosis['constraint']; kinds: readonly number[] };
const ROW_GROUPS: readonly Group[] = [
  { constraint: 'commitment', kinds: [ROW_KIND.commitment, ROW_KIND.commitmentReserve] },
  { constraint: 'terminal', kinds: [ROW_KIND.terminal] },
  { constraint: 'site-limit', kinds: [ROW_KIND.siteLimit] },
  { constraint: 'shared-limit', kinds: [ROW_KIND.sharedLimit] },
];

/**
 * The model with a group's rows made elastic (two slack columns each, cost 1, minimised) and,
 * for the no-charge group, the charge columns inside the windows reopened at cost 1 per kW.
 * Every other cost is zero: the optimum is the least violation that makes a schedule possible.
 */
function elasticModel(
  request: NormalRequest,
  model: DispatchModel,
  kinds: ReadonlySet<number>,
  reopenCharging: boolean,
): { elastic: ElasticModel; slackRows: Int32Array } {
  const slackRows: number[] = [];
  for (let r = 0; r < model.numRows; r++) if (kinds.has(model.rowKind[r] as number)) slackRows.push(r);
  const numCols = model.numCols + 2 * slackRows.length;
  const colCost = new Float64Array(numCols);
  const colLower = new Float64Array(numCols);
  const colUpper = new Float64Array(numCols).fill(Number.POSITIVE_INFINITY);
  colLower.set(model.colLower);
  colUpper.set(model.colUpper);
  colCost.fill(1, model.numCols);
  if (reopenCharging) reopenChargeColumns(request, model, colCost, colUpper);
  const nnz = model.indices.length + 2 * slackRows.length;
  const starts = new Int32Array(model.numRows + 1);
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let at = 0;
  let slack = 0;
  for (let r = 0; r < model.numRows; r++) {
    const from = model.starts[r] as number;
    const to = model.starts[r + 1] as number;
    indices.set(model.indices.subarray(from, to), at);
    values.set(model.values.subarray(from, to), at);
    at += to - from;
    if (slackRows[slack] === r) {
      indices[at] = model.numCols + 2 * slack;
      values[at++] = 1;
      indices[at] = model.numCols + 2 * slack + 1;
      values[at++] = -1;
      slack++;
    }
    starts[r + 1] = at;
  }
  let integrality: Int32Array | undefined;
  if (model.integrality) {
    integrality = new Int32Array(numCols);
    integrality.set(model.integrality);
  }
  const elastic: ElasticModel = {
    numCols,
    numRows: model.numRows,
    colCost,
    colLower,
    colUpper,
    rowLower: model.rowLower,
    rowUpper: model.rowUpper,
    starts,
    indices,
    values,
    ...(integrality ? { integrality } : {}),
  };
  return { elastic, slackRows: Int32Array.from(slackRows) };
}

function reopenChargeColumns(request: NormalRequest, model: DispatchModel, cost: Float64Array, upper: Float64Array) {
  for (const battery of request.batteries) {
    const layout = model.layouts[battery.index] as BatteryLayout;
    for (let t = 0; t < request.intervals; t++) {
      if (!request.noCharge[t]) continue;
      cost[col(layout, t, layout.charge)] = 1;
      upper[col(layout, t, layout.charge)] = battery.chargeKw;
      for (let j = 0; j < layout.segments && layout.segmentCharge >= 0; j++) {
        upper[col(layout, t, layout.segmentCharge + j)] = battery.chargeKw;
      }
      if (layout.deficitCharge >= 0) upper[col(layout, t, layout.deficitCharge)] = battery.chargeKw;
    }
  }
}

/** Reopens the charge and discharge columns that power windows (controls of higher precedence) bound. */
function reopenPowerWindows(request: NormalRequest, model: DispatchModel, lower: Float64Array, upper: Float64Array) {
  for (const battery of request.batteries) {
    if (!battery.netMinKw) continue;
    const layout = model.layouts[battery.index] as BatteryLayout;
    for (let t = 0; t < request.intervals; t++) {
      lower[col(layout, t, layout.charge)] = 0;
      upper[col(layout, t, layout.charge)] = request.noCharge[t] ? 0 : battery.chargeKw;
      lower[col(layout, t, layout.discharge)] = 0;
      upper[col(layout, t, layout.discharge)] = battery.dischargeKw;
    }
  }
}

/** The first battery and interval whose net power leaves its power window in a relaxed solution. */
function powerWindowViolation(request: NormalRequest, model: DispatchModel, x: Float64Array) {
  for (const battery of request.batteries) {
    if (!battery.netMinKw || !battery.netMaxKw) continue;
    const layout = model.layouts[battery.index] as BatteryLayout;
    for (let t = 0; t < request.intervals; t++) {
      const net = (x[col(layout, t, layout.discharge)] as number) - (x[col(layout, t, layout.charge)] as number);
      const min = battery.netMinKw[t] as number;
      const max = battery.netMaxKw[t] as number;
      if (net < min - 1e-6 || net > max + 1e-6) {
        return {
          constraint: 'input' as const,
          subject: battery.id,
          interval: t,
          message:
            `battery "${battery.id}" cannot hold the net power its power window sets in interval ${t} ` +
            `(${kw(min)} to ${kw(max)}, a control of higher precedence) together with its energy limits and ` +
            'the other constraints',
        };
      }
    }
  }
  return undefined;
}

/** The largest violation among the elastic rows: which row, by how much. */
function worstViolation(slackRows: Int32Array, x: Float64Array, firstSlack: number) {
  let best: { row: number; amount: number } | undefined;
  for (let k = 0; k < slackRows.length; k++) {
    const amount = (x[firstSlack + 2 * k] as number) + (x[firstSlack + 2 * k + 1] as number);
    if (amount > 1e-7 && (!best || amount > best.amount + 1e-9)) best = { row: slackRows[k] as number, amount };
  }
  return best;
}

function describeRowViolation(
  request: NormalRequest,
  model: DispatchModel,
  constraint: InfeasibilityDiagnosis['constraint'],
  row: number,
  amount: number,
): InfeasibilityDiagnosis {
  const subjectIndex = model.rowSubject[row] as number;
  const interval = model.rowInterval[row] as number;
  const kind = model.rowKind[row];
  switch (constraint) {
    case 'commitment': {
      const commitment = request.commitments[subjectIndex];
      const id = commitment?.id ?? String(subjectIndex);
      const message =
        kind === ROW_KIND.commitmentReserve
          ? `commitment "${id}" cannot be met: the energy reserved for it before interval ${interval + 1} falls ` +
            `at least ${kwh(amount)} short of what ${kw(commitment?.minNetDischargeKw ?? 0)} over its window needs`
          : `commitment "${id}" cannot be met: in interval ${interval} its batteries fall at least ${kw(amount)} short ` +
            `of ${kw(commitment?.minNetDischargeKw ?? 0)} of net discharge`;
      return { constraint, subject: id, interval, message };
    }
    case 'terminal': {
      const id = request.batteries[subjectIndex]?.id ?? String(subjectIndex);
      return {
        constraint,
        subject: id,
        interval,
        message: `battery "${id}" cannot meet its terminal condition: it ends at least ${kwh(amount)} short`,
      };
    }
    case 'site-limit': {
      const id = request.batteries[subjectIndex]?.id ?? String(subjectIndex);
      return {
        constraint,
        subject: id,
        interval,
        message: `the site of battery "${id}" cannot stay within its import/export limits in interval ${interval}: at least ${kw(amount)} over`,
      };
    }
    default:
      return {
        constraint,
        subject: 'shared limit',
        interval,
        message: `the shared import/export limit cannot be kept in interval ${interval}: at least ${kw(amount)} over`,
      };
  }
}

function noChargeViolation(request: NormalRequest, model: DispatchModel, x: Float64Array) {
  for (let t = 0; t < request.intervals; t++) {
    if (!request.noCharge[t]) continue;
    for (const battery of request.batteries) {
      const layout = model.layouts[battery.index] as BatteryLayout;
      const charge = x[col(layout, t, layout.charge)] as number;
      if (charge > 1e-7) {
        return {
          constraint: 'no-charge-window' as const,
          subject: battery.id,
          interval: t,
          message:
            `battery "${battery.id}" would have to charge ${kw(charge)} in interval ${t}, inside a no-charge window, ` +
            'to meet the other constraints',
        };
      }
    }
  }
  return undefined;
}

/**
 * Names the constraint group that makes a model infeasible: each group made elastic alone, in the
 * order commitments, terminal conditions, site limits, shared limits, no-charge windows; then all
 * together (a combination binds); else the batteries' own limits.
 */
export function diagnoseInfeasible(
  request: NormalRequest,
  model: DispatchModel,
  solve: ElasticSolver,
): InfeasibilityDiagnosis {
  const present = new Set<number>(model.rowKind);
  const hasWindows = request.noCharge.some((flag) => flag === 1);
  for (const group of ROW_GROUPS) {
    if (!group.kinds.some((kind) => present.has(kind))) continue;
    const { elastic, slackRows } = elasticModel(request, model, new Set(group.kinds), false);
    const x = solve(elastic);
    if (!x) continue;
    const worst = worstViolation(slackRows, x, model.numCols);
    if (worst) return describeRowViolation(request, model, group.constraint, worst.row, worst.amount);
  }
  if (hasWindows) {
    const { elastic } = elasticModel(request, model, new Set(), true);
    const x = solve(elastic);
    const found = x && noChargeViolation(request, model, x);
    if (found) return found;
  }
  if (request.batteries.some((battery) => battery.netMinKw)) {
    const { elastic } = elasticModel(request, model, new Set(), false);
    reopenPowerWindows(request, model, elastic.colLower, elastic.colUpper);
    const x = solve(elastic);
    const found = x && powerWindowViolation(request, model, x);
    if (found) return found;
  }
  const allKinds = new Set(ROW_GROUPS.flatMap((group) => group.kinds));
  const { elastic, slackRows } = elasticModel(request, model, allKinds, hasWindows);
  const x = solve(elastic);
  if (x) {
    const worst = worstViolation(slackRows, x, model.numCols);
    const blamed = worst && ROW_GROUPS.find((group) => group.kinds.includes(model.rowKind[worst.row] as number));
    if (worst && blamed) {
      const diagnosis = describeRowViolation(request, model, blamed.constraint, worst.row, worst.amount);
      return { ...diagnosis, message: `${diagnosis.message} (together with the other constraints)` };
    }
    const window = noChargeViolation(request, model, x);
    if (window) return window;
  }
  return {
    constraint: 'input',
    subject: request.batteries.map((battery) => battery.id).join(', '),
    message:
      'no schedule satisfies the batteries own limits (power, SoC band, self-discharge, efficiency) ' +
      'even with every commitment, terminal condition and site or feeder limit relaxed',
  };
}
