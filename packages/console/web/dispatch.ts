/**
 * What the dispatch pages compute from the plan documents (docs/dispatch-engine.md): revenue per
 * product in order, a battery's planned SoC at an instant, the SoC and power the past plans'
 * first intervals intended (what was executed) and the latest plan's, a failed plan in words, and
 * how the console finds the dispatch program without asking a gateway that has none.
 */
import { ApiError, get, getAll } from './api.ts';
import type { Series } from './chart.tsx';
import * as fmt from './format.ts';
import type {
  CapacityProduct,
  DispatchPlan,
  ExecutedInterval,
  PlanFailure,
  PlannedInterval,
  ProductRevenue,
  Program,
} from './types.ts';

export const PRODUCT_LABELS: Readonly<Record<'energy' | CapacityProduct, string>> = {
  energy: 'Energy arbitrage',
  regUp: 'Regulation up',
  regDown: 'Regulation down',
  spinning: 'Spinning reserve',
  nonSpinning: 'Non-spinning reserve',
  drCapacity: 'DR capacity',
};

const PRODUCT_ORDER = Object.keys(PRODUCT_LABELS) as Array<keyof typeof PRODUCT_LABELS>;

/** The products a revenue holds, energy first, in a fixed order. */
export function revenueByProduct(revenue: ProductRevenue): Array<{ product: string; label: string; usd: number }> {
  const known = PRODUCT_ORDER.filter((product) => revenue[product] !== undefined);
  const others = Object.keys(revenue).filter((product) => !(product in PRODUCT_LABELS));
  return [...known, ...others].map((product) => ({
    product,
    label: PRODUCT_LABELS[product as keyof typeof PRODUCT_LABELS] ?? product,
    usd: (revenue as Record<string, number>)[product] ?? 0,
  }));
}

export function totalRevenue(revenue: ProductRevenue): number {
  return Object.values(revenue).reduce((sum: number, value) => sum + (value ?? 0), 0);
}

/**
 * The planned SoC (%) at `at`: soc0 at the first interval's start, each interval's SoC at its
 * end, linear in between (constant power within an interval); undefined outside the plan.
 */
export function plannedSocAt(soc0Pct: number, intervals: readonly PlannedInterval[], at: number): number | undefined {
  let fromTime = intervals[0]?.start;
  let fromSoc = soc0Pct;
  if (fromTime === undefined || at < fromTime) return undefined;
  for (const interval of intervals) {
    if (at <= interval.end) {
      const share = interval.end === fromTime ? 1 : (at - fromTime) / (interval.end - fromTime);
      return fromSoc + (interval.socPct - fromSoc) * share;
    }
    fromTime = interval.end;
    fromSoc = interval.socPct;
  }
  return undefined;
}

/** The interval in force at `at`, else the first one (a plan made a moment ago starts now). */
export function intervalAt(intervals: readonly PlannedInterval[], at: number): PlannedInterval | undefined {
  return intervals.find((interval) => interval.start <= at && at < interval.end) ?? intervals[0];
}

export interface Trajectory {
  soc: Series;
  /** Net discharge, kW: one point per step start, the last one repeated at its end. */
  powerKw: Series;
}

/** The latest plan: SoC from soc0 at its start through each interval's end; power as steps. */
export function plannedTrajectory(soc0Pct: number, intervals: readonly PlannedInterval[]): Trajectory {
  const soc: Series = { times: [], values: [] };
  const powerKw: Series = { times: [], values: [] };
  const first = intervals[0];
  if (first === undefined) return { soc, powerKw };
  soc.times.push(first.start);
  soc.values.push(soc0Pct);
  for (const interval of intervals) {
    soc.times.push(interval.end);
    soc.values.push(interval.socPct);
    powerKw.times.push(interval.start);
    powerKw.values.push(interval.netKw);
  }
  const last = intervals[intervals.length - 1] as PlannedInterval;
  powerKw.times.push(last.end);
  powerKw.values.push(last.netKw);
  return { soc, powerKw };
}

/**
 * What the past plans intended while they were in force: each plan's first interval from its
 * start (the measured soc0) until the next plan replaced it (or the interval ended), the SoC
 * linear on the way to the interval's planned end. A plan ends a millisecond before the next
 * starts, so two points never share an instant.
 */
export function executedTrajectory(executed: readonly ExecutedInterval[], currentPlanId?: string): Trajectory {
  const soc: Series = { times: [], values: [] };
  const powerKw: Series = { times: [], values: [] };
  const past = executed.filter((entry) => entry.planId !== currentPlanId).sort((a, b) => a.start - b.start);
  past.forEach((entry, index) => {
    const next = past[index + 1]?.start ?? executed.find((e) => e.planId === currentPlanId)?.start;
    const until = Math.max(entry.start, Math.min(entry.end, next === undefined ? entry.end : next - 1));
    const share = entry.end === entry.start ? 1 : (until - entry.start) / (entry.end - entry.start);
    soc.times.push(entry.start, until);
    soc.values.push(entry.soc0Pct, entry.soc0Pct + (entry.socPct - entry.soc0Pct) * share);
    powerKw.times.push(entry.start);
    powerKw.values.push(entry.netKw);
    if (until > entry.start && index === past.length - 1) {
      powerKw.times.push(until);
      powerKw.values.push(entry.netKw);
    }
  });
  return { soc, powerKw };
}

const CONSTRAINT_WORDS: Readonly<Record<string, string>> = {
  commitment: 'a firm commitment cannot be met',
  terminal: 'the end-of-horizon energy condition cannot be met',
  'site-limit': "a site's import or export limit cannot be kept",
  'shared-limit': 'the shared feeder or aggregation limit cannot be kept',
  'no-charge-window': 'a no-charging window cannot be kept',
  'energy-sustain': 'the energy to sustain a capacity award is not there',
  input: 'the request itself is not valid',
};

/** A failed plan in words: what binds, for what and when, then the optimiser's own message. */
export function failureInWords(failure: PlanFailure, horizon: DispatchPlan['horizon']): string {
  const diagnosis = failure.diagnosis;
  if (diagnosis === undefined) return `No plan could be made: ${failure.message}`;
  const what = CONSTRAINT_WORDS[diagnosis.constraint] ?? `the ${diagnosis.constraint} constraint binds`;
  let when = '';
  if (diagnosis.interval !== undefined) {
    const start = horizon.start + diagnosis.interval * horizon.intervalSeconds * 1000;
    const end = start + horizon.intervalSeconds * 1000;
    when = ` in the interval ${fmt.clock(start)}–${fmt.clock(end)} (index ${diagnosis.interval})`;
  }
  const detail = diagnosis.message.charAt(0).toUpperCase() + diagnosis.message.slice(1);
  return `Infeasible: ${what} (${diagnosis.subject})${when}. ${detail}`;
}

/** A plan's trigger words, joined ("cadence", "soc-deviation" ...). */
export function triggersText(triggers: readonly string[]): string {
  return triggers.map((trigger) => trigger.replace(/-/g, ' ')).join(', ');
}

/**
 * The dispatch program's id, or undefined when the gateway has none: the scheduler creates it
 * with source 'market' and kind 'wholesale-market'. Asked first so a gateway without a `dispatch`
 * section is never asked for a plan (a 422 the browser would log).
 */
export async function dispatchProgramId(): Promise<string | undefined> {
  const programs = await getAll<Program>('/api/programs');
  return programs.find((program) => program.source === 'market' && program.kind === 'wholesale-market')?.id;
}

/** GET a dispatch route; undefined when dispatch is not configured or no plan exists yet. */
export async function getPlanOrNothing<T>(path: string): Promise<T | undefined> {
  try {
    return await get<T>(path);
  } catch (error) {
    if (error instanceof ApiError && (error.code === 'GW_ERR_NOT_SUPPORTED' || error.code === 'GW_ERR_NOT_FOUND'))
      return undefined;
    throw error;
  }
}
