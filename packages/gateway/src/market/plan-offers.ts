/**
 * Offers for an aggregation from the latest dispatch plan (pure): per plan interval, the member
 * batteries in force at its start are summed into one resource, and @gridseam/settlement builds the
 * energy curve and the capacity offers (docs/settlement.md "Offers and awards").
 * - energy: the plan's net kW, the batteries' charge and discharge limits, the plan's price, the
 *   batteries' planned wear per MWh discharged (degradation cost / discharged MWh over the plan),
 *   the stored energy at the interval's start and the SoC bounds in MWh;
 * - capacity: the plan's capacityKw per product (regUp, regDown, spinning -> SPIN, nonSpinning ->
 *   NONSPIN; drCapacity is a retail DR product, not offered), capped by the headroom in each
 *   direction: up products by sum(max(0, dischargeKw - netKw)), regDown by sum(max(0, chargeKw +
 *   netKw)); prices from the plan's regUp / regDown prices, 0 (price taker) otherwise.
 */
import {
  type Aggregation,
  buildCapacityOffers,
  buildEnergyOffers,
  type CapacityOffer,
  type CapacityOfferInterval,
  type EnergyOffer,
  type MarketRun,
  membersAt,
} from '@gridseam/settlement';
import type { BatteryPlanDocument, DispatchPlanDocument } from '../dispatch/types.ts';

const HOUR_MS = 3_600_000;

export interface AggregationOffers {
  aggregationId: string;
  resourceId: string;
  market: MarketRun;
  timeZone: string;
  planId: string;
  planCreatedAt: number;
  /** Members the plan holds, and members in force over the window that it does not. */
  plannedDeviceIds: string[];
  unplannedDeviceIds: string[];
  energy: EnergyOffer[];
  capacity: CapacityOffer[];
}

/** Planned wear, $ per MWh discharged over the plan (0 without discharge). */
function wearUsdPerMwh(batteries: readonly BatteryPlanDocument[]): number {
  let cost = 0;
  let mwh = 0;
  for (const battery of batteries) {
    cost += battery.degradationCostUsd;
    for (const i of battery.intervals) mwh += (i.dischargeKw * (i.end - i.start)) / HOUR_MS / 1000;
  }
  return mwh > 0 ? cost / mwh : 0;
}

export function offersFromPlan(
  plan: DispatchPlanDocument,
  agg: Aggregation,
  options: { market: MarketRun; timeZone: string; from?: number; to?: number },
): AggregationOffers {
  const from = options.from ?? Number.NEGATIVE_INFINITY;
  const to = options.to ?? Number.POSITIVE_INFINITY;
  const byDevice = new Map(plan.batteries.map((b) => [b.deviceId, b]));
  const timeline = plan.batteries[0]?.intervals ?? [];
  const planned = new Set<string>();
  const unplanned = new Set<string>();
  const energy: EnergyOffer[] = [];
  const capacity: CapacityOffer[] = [];
  const memberBatteries = plan.batteries.filter((b) => agg.members.some((m) => m.deviceId === b.deviceId));
  const wear = wearUsdPerMwh(memberBatteries);

  timeline.forEach((slot, k) => {
    if (slot.end <= from || slot.start >= to) return;
    const price = plan.prices.energyUsdPerMwh[k];
    if (price === undefined) return;
    const batteries: BatteryPlanDocument[] = [];
    for (const member of membersAt(agg, slot.start)) {
      const battery = byDevice.get(member.deviceId);
      if (battery?.intervals[k] === undefined) unplanned.add(member.deviceId);
      else {
        batteries.push(battery);
        planned.add(member.deviceId);
      }
    }
    if (batteries.length === 0) return;
    let netKw = 0;
    let dischargeKw = 0;
    let chargeKw = 0;
    let socMwh = 0;
    let socMinMwh = 0;
    let socMaxMwh = 0;
    let upKw = 0;
    let downKw = 0;
    const held = { regUp: 0, regDown: 0, spin: 0, nonSpin: 0 };
    for (const battery of batteries) {
      const interval = battery.intervals[k];
      if (interval === undefined) continue;
      netKw += interval.netKw;
      dischargeKw += battery.dischargeKw;
      chargeKw += battery.chargeKw;
      const storedKwh =
        k === 0 ? (battery.soc0Pct / 100) * battery.usableKwh : (battery.intervals[k - 1]?.energyKwh ?? 0);
      socMwh += storedKwh / 1000;
      socMinMwh += ((battery.socMinPct / 100) * battery.usableKwh) / 1000;
      socMaxMwh += ((battery.socMaxPct / 100) * battery.usableKwh) / 1000;
      upKw += Math.max(0, battery.dischargeKw - interval.netKw);
      downKw += Math.max(0, battery.chargeKw + interval.netKw);
      held.regUp += interval.capacityKw?.regUp ?? 0;
      held.regDown += interval.capacityKw?.regDown ?? 0;
      held.spin += interval.capacityKw?.spinning ?? 0;
      held.nonSpin += interval.capacityKw?.nonSpinning ?? 0;
    }
    const common = { resourceId: agg.resourceId, timeZone: options.timeZone, market: options.market };
    energy.push(
      ...buildEnergyOffers({
        ...common,
        socMinMwh,
        socMaxMwh,
        intervals: [
          {
            startMs: slot.start,
            endMs: slot.end,
            plannedNetKw: netKw,
            maxDischargeKw: dischargeKw,
            maxChargeKw: chargeKw,
            forecastPriceUsdPerMwh: price,
            marginalCostUsdPerMwh: wear,
            socMwh: Math.max(0, socMwh),
          },
        ],
      }),
    );
    const regUpPrice = plan.prices.regUpUsdPerMwH?.[k];
    const regDownPrice = plan.prices.regDownUsdPerMwH?.[k];
    const up: CapacityOfferInterval = {
      startMs: slot.start,
      endMs: slot.end,
      capacityKw: { regUp: held.regUp, spin: held.spin, nonSpin: held.nonSpin },
      headroomKw: upKw,
      priceUsdPerMwh: regUpPrice === undefined ? {} : { regUp: regUpPrice },
    };
    const down: CapacityOfferInterval = {
      startMs: slot.start,
      endMs: slot.end,
      capacityKw: { regDown: held.regDown },
      headroomKw: downKw,
      priceUsdPerMwh: regDownPrice === undefined ? {} : { regDown: regDownPrice },
    };
    const offers = buildCapacityOffers({ ...common, intervals: [up, down] });
    const order = ['REG_UP', 'REG_DN', 'SPIN', 'NONSPIN'];
    capacity.push(...offers.sort((a, b) => order.indexOf(a.product) - order.indexOf(b.product)));
  });

  for (const id of planned) unplanned.delete(id);
  return {
    aggregationId: agg.id,
    resourceId: agg.resourceId,
    market: options.market,
    timeZone: options.timeZone,
    planId: plan.id,
    planCreatedAt: plan.createdAt,
    plannedDeviceIds: [...planned].sort(),
    unplannedDeviceIds: [...unplanned].sort(),
    energy,
    capacity,
  };
}
