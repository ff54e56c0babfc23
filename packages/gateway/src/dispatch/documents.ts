/**
 * A solved plan as the document the gateway stores and serves (types.ts), with the wear of each
 * battery's planned SoC trace: rainflow cycle counting (ASTM E1049, @gridseam/dispatch rainflow)
 * and the life it consumes, sum of Phi(depth), depths as fractions of usable energy.
 */
import {
  type BatteryPlan,
  lifeConsumed,
  type Plan,
  type PlanRequest,
  rainflow,
  type StressFunction,
} from '@gridseam/dispatch';
import type { IntervalPrices } from './prices.ts';
import type { PlanTimeline } from './timescale.ts';
import type {
  BatteryPlanDocument,
  BatteryWear,
  DispatchPlanDocument,
  LeftOutBattery,
  OverrideWindow,
  PlanHistoryEntry,
  PlannedBattery,
  PlannedInterval,
} from './types.ts';

/** Rounds away float noise (the optimiser's values are exact to ~1e-9). */
const tidy = (value: number) => Math.round(value * 1e9) / 1e9 + 0;

export function wearOf(socFractions: readonly number[], stress: StressFunction): BatteryWear {
  const cycles = rainflow(socFractions);
  let counted = 0;
  let deepest = 0;
  for (const cycle of cycles) {
    counted += cycle.count;
    deepest = Math.max(deepest, cycle.depth);
  }
  return {
    rainflowCycles: counted,
    deepestCyclePct: tidy(deepest * 100),
    lifeConsumed: lifeConsumed(cycles, stress),
  };
}

/** The optimiser's intervals (simulated instants) at their real instants on the plan's timeline. */
function intervalsOf(battery: BatteryPlan, planned: PlannedBattery, timeline: PlanTimeline): PlannedInterval[] {
  return battery.intervals.map((interval, k) => {
    const out: PlannedInterval = {
      start: timeline.realBounds[k] as number,
      end: timeline.realBounds[k + 1] as number,
      chargeKw: tidy(interval.chargeKw),
      dischargeKw: tidy(interval.dischargeKw),
      netKw: tidy(interval.dischargeKw - interval.chargeKw),
      energyKwh: tidy(interval.energyKwh),
      socPct: tidy((interval.energyKwh / planned.usableKwh) * 100),
    };
    if (Object.keys(interval.capacityKw).length > 0) out.capacityKw = interval.capacityKw;
    return out;
  });
}

export interface PlanFacts {
  id: string;
  createdAt: number;
  triggers: string[];
  programId: string;
  primacy: number;
  request: PlanRequest;
  requestedIntervals: number;
  /** Plan interval, simulated ms (the configured one). */
  intervalMs: number;
  /** The plan's intervals on the real and the simulated clock. */
  timeline: PlanTimeline;
  priceSource: string;
  prices: IntervalPrices;
  batteries: PlannedBattery[];
  leftOut: LeftOutBattery[];
  overrides: ReadonlyMap<string, OverrideWindow[]>;
  overridesRelaxed: boolean;
  stress: StressFunction;
}

function baseDocument(facts: PlanFacts): Omit<DispatchPlanDocument, 'status'> {
  const intervals = facts.request.starts.length;
  const { timeline } = facts;
  const start = timeline.realBounds[0] ?? facts.createdAt;
  const doc: Omit<DispatchPlanDocument, 'status'> = {
    id: facts.id,
    createdAt: facts.createdAt,
    triggers: facts.triggers,
    programId: facts.programId,
    primacy: facts.primacy,
    horizon: {
      start,
      end: timeline.realBounds[intervals] ?? start,
      intervalSeconds: facts.intervalMs / 1000,
      intervals,
      requestedIntervals: facts.requestedIntervals,
      speed: timeline.speed,
      simulatedStart: timeline.simulatedStarts[0] ?? start,
      realIntervalSeconds: timeline.realIntervalMs / 1000,
    },
    prices: {
      source: facts.priceSource,
      energyUsdPerMwh: facts.prices.energyUsdPerMwh,
      openadrIntervals: facts.prices.openadrIntervals,
      ...(facts.request.products && facts.prices.regUpUsdPerMwH ? { regUpUsdPerMwH: facts.prices.regUpUsdPerMwH } : {}),
      ...(facts.request.products && facts.prices.regDownUsdPerMwH
        ? { regDownUsdPerMwH: facts.prices.regDownUsdPerMwH }
        : {}),
    },
    batteries: [],
    leftOut: facts.leftOut,
    overrides: [...facts.overrides.values()].flat(),
    revenueUsd: { energy: 0 },
    degradationCostUsd: 0,
    objectiveUsd: 0,
    penaltyUsd: 0,
    wear: { lifeConsumed: 0, cycles: 0 },
    events: [],
  };
  if (facts.overridesRelaxed) doc.overridesRelaxed = true;
  return doc;
}

/** A solved plan's document. */
export function planDocument(facts: PlanFacts, plan: Plan): DispatchPlanDocument {
  const doc: DispatchPlanDocument = { ...baseDocument(facts), status: 'ok' };
  const byId = new Map(facts.batteries.map((b) => [b.deviceId, b]));
  let life = 0;
  let cycles = 0;
  for (const battery of plan.batteries) {
    const planned = byId.get(battery.id);
    if (planned === undefined) continue;
    const intervals = intervalsOf(battery, planned, facts.timeline);
    const trace = [planned.soc0Pct / 100, ...intervals.map((i) => i.socPct / 100)];
    const wear = wearOf(trace, facts.stress);
    life += wear.lifeConsumed;
    cycles += battery.cycles;
    doc.batteries.push({
      ...planned,
      intervals,
      revenueUsd: battery.revenueUsd,
      degradationCostUsd: battery.degradationCostUsd,
      cycles: battery.cycles,
      wear,
      overrides: facts.overrides.get(battery.id) ?? [],
    } satisfies BatteryPlanDocument);
  }
  doc.revenueUsd = plan.revenueUsd;
  doc.degradationCostUsd = plan.degradationCostUsd;
  doc.objectiveUsd = plan.objectiveUsd;
  doc.penaltyUsd = plan.penaltyUsd;
  doc.wear = { lifeConsumed: life, cycles };
  if (plan.batteries.length > 0) doc.solver = plan.solver;
  return doc;
}

/** A plan that could not be made (no batteries is not a failure; an infeasible request is). */
export function failedDocument(
  facts: PlanFacts,
  failure: NonNullable<DispatchPlanDocument['failure']>,
): DispatchPlanDocument {
  return { ...baseDocument(facts), status: 'failed', failure };
}

/** The compact history entry of a plan: totals and each battery's first interval. */
export function historyEntry(doc: DispatchPlanDocument): PlanHistoryEntry {
  const batteries: PlanHistoryEntry['batteries'] = {};
  for (const battery of doc.batteries) {
    const first = battery.intervals[0];
    if (first === undefined) continue;
    batteries[battery.deviceId] = {
      start: first.start,
      end: first.end,
      netKw: first.netKw,
      soc0Pct: battery.soc0Pct,
      socPct: first.socPct,
    };
  }
  const revenue = Object.values(doc.revenueUsd).reduce((sum, value) => sum + (value ?? 0), 0);
  const entry: PlanHistoryEntry = {
    id: doc.id,
    status: doc.status,
    createdAt: doc.createdAt,
    triggers: doc.triggers,
    revenueUsd: revenue,
    degradationCostUsd: doc.degradationCostUsd,
    lifeConsumed: doc.wear.lifeConsumed,
    batteries,
  };
  if (doc.solver) entry.solverMs = doc.solver.totalMs;
  if (doc.failure) entry.failure = { code: doc.failure.code, message: doc.failure.message };
  return entry;
}
