/**
 * From a solved column vector to the Plan: per battery and interval the charge, discharge, energy
 * at the interval's end and capacity per product; revenue per product, degradation cost, penalty,
 * cycles; and the objective recomputed from that schedule, term by term, independently of the
 * objective coefficients the builder wrote.
 */

import { type BatteryLayout, col, type DispatchModel, segmentDischargeCol } from './build.ts';
import type { BatteryPlan, CapacityProduct, IntervalPlan } from './contract.ts';
import type { NormalBattery, NormalRequest } from './normalize.ts';

type Revenue = { energy: number } & Partial<Record<CapacityProduct, number>>;

/** Values this close to zero are solver noise and are reported as 0. */
const NOISE = 1e-9;
const clean = (value: number) => (Math.abs(value) < NOISE ? 0 : value);

/** Stored energy at the end of interval t, kWh: E_lo - u + sum_j e_j + v. */
export function energyAt(battery: NormalBattery, layout: BatteryLayout, x: Float64Array, t: number): number {
  let energy = battery.floorKwh;
  for (let j = 0; j < layout.segments; j++) energy += x[col(layout, t, layout.energy + j)] as number;
  if (layout.deficit >= 0) energy -= x[col(layout, t, layout.deficit)] as number;
  if (layout.excess >= 0) energy += x[col(layout, t, layout.excess)] as number;
  return energy;
}

interface BatteryResult {
  plan: BatteryPlan;
  penaltyUsd: number;
  terminalValueUsd: number;
}

function extractBattery(request: NormalRequest, battery: NormalBattery, layout: BatteryLayout, x: Float64Array) {
  const { hours } = request;
  const revenue: Revenue = { energy: 0 };
  for (const product of request.products) revenue[product.product] = 0;
  let wear = 0;
  let penaltyKwh = 0;
  let dischargedKwh = 0;
  const intervals: IntervalPlan[] = [];
  for (let t = 0; t < request.intervals; t++) {
    const charge = x[col(layout, t, layout.charge)] as number;
    const discharge = x[col(layout, t, layout.discharge)] as number;
    const energy = energyAt(battery, layout, x, t);
    revenue.energy += ((request.energyPriceUsdPerMwh[t] as number) * (discharge - charge) * hours) / 1000;
    dischargedKwh += discharge * hours;
    // Cycle-depth cost per segment discharged (energy above the band at the first segment's rate).
    for (let j = 0; j < layout.segments; j++) {
      const segmentDischarge = x[segmentDischargeCol(layout, t, j)] as number;
      wear += ((battery.segmentCostUsdPerMwh[j] as number) * segmentDischarge * hours) / 1000;
    }
    if (layout.excessDischarge >= 0) {
      const excessDischarge = x[col(layout, t, layout.excessDischarge)] as number;
      wear += ((battery.segmentCostUsdPerMwh[0] as number) * excessDischarge * hours) / 1000;
    }
    wear += (battery.calendarUsdPerMwhHour * energy * hours) / 1000;
    if (layout.deficit >= 0) penaltyKwh += x[col(layout, t, layout.deficit)] as number;
    if (layout.excess >= 0) penaltyKwh += x[col(layout, t, layout.excess)] as number;
    const capacityKw: IntervalPlan['capacityKw'] = {};
    for (let k = 0; k < request.products.length; k++) {
      const product = request.products[k] as NormalRequest['products'][number];
      const awarded = x[col(layout, t, layout.products + k)] as number;
      capacityKw[product.product] = clean(awarded);
      revenue[product.product] =
        (revenue[product.product] as number) + ((product.priceUsdPerMwH[t] as number) * awarded * hours) / 1000;
    }
    intervals.push({
      start: request.starts[t] as number,
      chargeKw: clean(charge),
      dischargeKw: clean(discharge),
      energyKwh: clean(energy),
      capacityKw,
    });
  }
  wear += (battery.throughputUsdPerMwh * dischargedKwh) / 1000;
  const usableKwh = battery.ceilingKwh - battery.floorKwh;
  const finalKwh = energyAt(battery, layout, x, request.intervals - 1);
  const result: BatteryResult = {
    plan: {
      id: battery.id,
      intervals,
      revenueUsd: revenue,
      degradationCostUsd: wear,
      cycles: usableKwh > 0 ? dischargedKwh / usableKwh : 0,
    },
    penaltyUsd: penaltyKwh * request.socSlackPenaltyUsdPerKwh,
    terminalValueUsd: battery.terminal.kind === 'value' ? (battery.terminal.usdPerMwh * finalKwh) / 1000 : 0,
  };
  return result;
}

export interface Extracted {
  objectiveUsd: number;
  revenueUsd: Revenue;
  degradationCostUsd: number;
  penaltyUsd: number;
  terminalValueUsd: number;
  batteries: BatteryPlan[];
}

export function extractPlan(request: NormalRequest, model: DispatchModel, x: Float64Array): Extracted {
  const revenue: Revenue = { energy: 0 };
  for (const product of request.products) revenue[product.product] = 0;
  let degradation = 0;
  let penalty = 0;
  let terminalValue = 0;
  const batteries: BatteryPlan[] = [];
  for (const battery of request.batteries) {
    const result = extractBattery(request, battery, model.layouts[battery.index] as BatteryLayout, x);
    batteries.push(result.plan);
    for (const [key, value] of Object.entries(result.plan.revenueUsd) as Array<[keyof Revenue, number]>) {
      revenue[key] = (revenue[key] ?? 0) + value;
    }
    degradation += result.plan.degradationCostUsd;
    penalty += result.penaltyUsd;
    terminalValue += result.terminalValueUsd;
  }
  let totalRevenue = 0;
  for (const value of Object.values(revenue)) totalRevenue += value ?? 0;
  return {
    objectiveUsd: totalRevenue - degradation - penalty + terminalValue,
    revenueUsd: revenue,
    degradationCostUsd: degradation,
    penaltyUsd: penalty,
    terminalValueUsd: terminalValue,
    batteries,
  };
}

/** The plan's objective and HiGHS's agree to 1e-6 relative, or the model has a bug. */
export function objectivesAgree(recomputed: number, solver: number): boolean {
  return Math.abs(recomputed - solver) <= 1e-6 * Math.max(1, Math.abs(recomputed), Math.abs(solver));
}
