/**
 * Test support for the optimiser: request builders, a seeded generator of random requests, and an
 * independent checker that re-derives every constraint of a plan from the request alone (its own
 * defaults and arithmetic, not the builder's) and lists what is violated.
 */

import { seededRandom } from '@gridseam/model';
import type { BatteryParams, CapacityProduct, Plan, PlanRequest, ProductOffer } from '../src/contract.ts';

export const HOUR_MS = 3_600_000;

/** A request over `prices.length` intervals of `minutes` starting at epoch 0. */
export function requestOf(
  prices: number[],
  batteries: BatteryParams[],
  extra: Partial<PlanRequest> = {},
  minutes = 60,
): PlanRequest {
  return {
    starts: prices.map((_, i) => i * minutes * 60_000),
    intervalMinutes: minutes,
    energyPriceUsdPerMwh: prices,
    batteries,
    ...extra,
  };
}

/** An ideal 100 kWh / 100 kW battery (efficiency 1), empty, free terminal; override per test. */
export function battery(overrides: Partial<BatteryParams> = {}): BatteryParams {
  return {
    id: 'b1',
    energyKwh: 100,
    chargeKw: 100,
    dischargeKw: 100,
    soc0: 0,
    etaCharge: 1,
    etaDischarge: 1,
    terminal: { kind: 'free' },
    ...overrides,
  };
}

export function series(plan: Plan, battery = 0) {
  const intervals = plan.batteries[battery]?.intervals ?? [];
  return {
    charge: intervals.map((i) => i.chargeKw),
    discharge: intervals.map((i) => i.dischargeKw),
    energy: intervals.map((i) => i.energyKwh),
  };
}

/** Rounds for exact comparison of hand-computed schedules. */
export const round = (values: number[], digits = 6) => values.map((v) => Number(v.toFixed(digits)) + 0);

/** mulberry32: small, seeded, good enough for test data. */
export function seeded(seed: number) {
  const next = seededRandom(seed);
  return {
    next,
    between: (lo: number, hi: number) => lo + (hi - lo) * next(),
    int: (lo: number, hi: number) => lo + Math.floor((hi - lo + 1) * next()),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T,
  };
}
export type Random = ReturnType<typeof seeded>;

function randomBattery(random: Random, id: string, intervals: number): BatteryParams {
  const energyKwh = random.between(20, 2000);
  const power = energyKwh * random.between(0.2, 1.5);
  const socMin = random.chance(0.5) ? random.between(0, 0.2) : 0;
  const socMax = random.chance(0.5) ? random.between(0.8, 1) : 1;
  const soh = random.chance(0.5) ? random.between(0.7, 1) : 1;
  const params: BatteryParams = {
    id,
    energyKwh,
    chargeKw: power * random.between(0.5, 1),
    dischargeKw: power,
    soh,
    socMin,
    socMax,
    // Mostly inside the band; sometimes outside it (telemetry from another controller).
    soc0: random.chance(0.12)
      ? random.chance(0.5) && socMin > 0
        ? random.between(0, socMin * soh)
        : random.between(socMax * soh, 1)
      : random.between(socMin, socMax) * soh,
    etaCharge: random.between(0.85, 1),
    etaDischarge: random.between(0.85, 1),
    selfDischargePerHour: random.chance(0.3) ? random.between(0, 0.01) : 0,
    terminal: random.pick([
      { kind: 'at-least-initial' },
      { kind: 'free' },
      { kind: 'value', usdPerMwh: random.between(0, 80) },
      { kind: 'target', energyKwh: energyKwh * soh * random.between(socMin, (socMin + socMax) / 2) },
    ] as const),
  };
  const degradation: BatteryParams['degradation'] = {};
  if (random.chance(0.5)) degradation.throughputUsdPerMwh = random.between(0, 30);
  if (random.chance(0.5)) degradation.calendarUsdPerMwhHour = random.between(0, 0.5);
  if (random.chance(0.5)) {
    degradation.cycleDepth = {
      segments: random.int(1, 6),
      replacementUsdPerMwh: random.between(20_000, 300_000),
      stress: { k: random.between(1e-5, 5e-4), b: random.between(1, 2.5) },
    };
  }
  params.degradation = degradation;
  if (random.chance(0.15) && intervals > 2) {
    // A control of higher precedence holding the net power for a while.
    const from = random.int(0, intervals - 2);
    const kw = random.between(-0.5, 0.5) * power;
    params.powerWindows = [
      { fromInterval: from, toInterval: from + random.int(1, 2), minNetDischargeKw: kw, maxNetDischargeKw: kw },
    ];
  }
  if (random.chance(0.4)) {
    const loadKw = Array.from({ length: intervals }, () => random.between(0, power));
    const pvKw = Array.from({ length: intervals }, () => (random.chance(0.5) ? random.between(0, power) : 0));
    params.site = { loadKw, pvKw, exportLimitKw: 2 * power + 1, importLimitKw: 3 * power + 1 };
  }
  return params;
}

/** A random request that is usually feasible: generous limits, small commitments after interval 0. */
export function randomRequest(random: Random): PlanRequest {
  const intervals = random.int(3, 36);
  const minutes = random.pick([15, 30, 60]);
  const prices = Array.from({ length: intervals }, () =>
    random.chance(0.15) ? random.between(-60, 0) : random.between(0, 250),
  );
  const count = random.int(1, 3);
  const batteries = Array.from({ length: count }, (_, i) => randomBattery(random, `b${i}`, intervals));
  const extra: Partial<PlanRequest> = {};
  if (random.chance(0.35)) {
    const products: Partial<Record<CapacityProduct, ProductOffer>> = {};
    for (const product of ['regUp', 'regDown', 'spinning'] as const) {
      if (!random.chance(0.6)) continue;
      products[product] = {
        priceUsdPerMwH: Array.from({ length: intervals }, () => random.between(0, 40)),
        sustainHours: random.pick([0, 0.25, 0.5, 1]),
      };
    }
    extra.products = products;
  }
  if (random.chance(0.35) && intervals > 4) {
    const from = random.int(2, intervals - 2);
    const total = batteries.reduce((sum, b) => sum + b.dischargeKw, 0);
    extra.commitments = [
      {
        id: 'c1',
        fromInterval: from,
        toInterval: from + random.int(1, 2),
        minNetDischargeKw: total * random.between(0, 0.2),
      },
    ];
  }
  if (random.chance(0.2) && intervals > 3) {
    const from = random.int(1, intervals - 2);
    extra.noChargeWindows = [{ fromInterval: from, toInterval: from + 1 }];
  }
  if (random.chance(0.25)) {
    const total = batteries.reduce((sum, b) => sum + b.dischargeKw + b.chargeKw, 0);
    extra.shared = { exportLimitKw: total * 2, importLimitKw: total * 2 };
  }
  return requestOf(prices, batteries, extra, minutes);
}

const DEFAULT_ETA = 0.95;

/** Every constraint of the issue, re-derived from the request; returns the violations found. */
export function violations(request: PlanRequest, plan: Plan, tolerance = 1e-6): string[] {
  const found: string[] = [];
  const hours = request.intervalMinutes / 60;
  const T = request.starts.length;
  const near = (value: number, scale: number) => value <= tolerance * Math.max(1, Math.abs(scale));
  const windowed = new Set<number>();
  for (const w of request.noChargeWindows ?? []) for (let t = w.fromInterval; t < w.toInterval; t++) windowed.add(t);
  const products = Object.entries(request.products ?? {}) as Array<[CapacityProduct, ProductOffer]>;
  const up = new Set<CapacityProduct>(['regUp', 'spinning', 'nonSpinning', 'drCapacity']);
  const energyAtEnd: number[][] = [];
  request.batteries.forEach((params, b) => {
    const out = plan.batteries[b];
    if (!out || out.id !== params.id || out.intervals.length !== T) {
      found.push(`battery ${params.id}: missing or wrong length`);
      return;
    }
    const soh = params.soh ?? 1;
    const floor = params.energyKwh * soh * (params.socMin ?? 0);
    const ceiling = params.energyKwh * soh * (params.socMax ?? 1);
    const etaC = params.etaCharge ?? DEFAULT_ETA;
    const etaD = params.etaDischarge ?? DEFAULT_ETA;
    const keep = 1 - (params.selfDischargePerHour ?? 0) * hours;
    const initial = params.soc0 * params.energyKwh;
    let previous = initial;
    const energies: number[] = [];
    out.intervals.forEach((interval, t) => {
      const { chargeKw: c, dischargeKw: d, energyKwh: e } = interval;
      const where = `${params.id}[${t}]`;
      const chargeCap = windowed.has(t) ? 0 : params.chargeKw;
      if (c < -tolerance || !near(c - chargeCap, chargeCap))
        found.push(`${where} charge ${c} outside [0, ${chargeCap}]`);
      if (d < -tolerance || !near(d - params.dischargeKw, params.dischargeKw)) found.push(`${where} discharge ${d}`);
      if (Math.min(c, d) > 1e-7) found.push(`${where} charges ${c} and discharges ${d} at once`);
      for (const window of params.powerWindows ?? []) {
        if (t < window.fromInterval || t >= window.toInterval) continue;
        const min = Math.max(window.minNetDischargeKw ?? Number.NEGATIVE_INFINITY, -chargeCap);
        const max = Math.min(window.maxNetDischargeKw ?? Number.POSITIVE_INFINITY, params.dischargeKw);
        if (!near(min - (d - c), min) || (max >= min && !near(d - c - max, max))) {
          found.push(`${where} net ${d - c} outside power window [${min}, ${max}]`);
        }
      }
      const expected = keep * previous + etaC * hours * c - (hours / etaD) * d;
      if (!near(Math.abs(e - expected), expected)) found.push(`${where} energy ${e} != dynamics ${expected}`);
      if (initial >= floor - 1e-9 && !near(floor - e, floor)) found.push(`${where} energy ${e} below floor ${floor}`);
      if (initial <= ceiling + 1e-9 && !near(e - ceiling, ceiling)) found.push(`${where} energy ${e} above ceiling`);
      const own = (params.site?.pvKw?.[t] ?? 0) - (params.site?.loadKw?.[t] ?? 0);
      const net = own + d - c;
      const exportLimit = params.site?.exportLimitKw ?? Number.POSITIVE_INFINITY;
      const importLimit = params.site?.importLimitKw ?? Number.POSITIVE_INFINITY;
      if (!near(net - exportLimit, exportLimit) || !near(-net - importLimit, importLimit)) {
        found.push(`${where} site net export ${net} outside limits`);
      }
      let upKw = 0;
      let downKw = 0;
      let upKwh = 0;
      let downKwh = 0;
      for (const [product, offer] of products) {
        const r = interval.capacityKw[product] ?? 0;
        if (r < -tolerance) found.push(`${where} ${product} ${r} < 0`);
        if (up.has(product)) {
          upKw += r;
          upKwh += (r * offer.sustainHours) / etaD;
        } else {
          downKw += r;
          downKwh += r * offer.sustainHours * etaC;
        }
      }
      if (products.length > 0) {
        if (!near(d - c + upKw - params.dischargeKw, params.dischargeKw)) found.push(`${where} up headroom`);
        if (!near(c - d + downKw - params.chargeKw, params.chargeKw)) found.push(`${where} down headroom`);
        // Outside the band (soc0 outside it) there is no room in that direction: the award must be 0.
        const above = Math.max(0, e - floor);
        const below = Math.max(0, ceiling - e);
        if (!near(upKwh - above, e)) found.push(`${where} up sustain ${upKwh} > ${above}`);
        if (!near(downKwh - below, ceiling)) found.push(`${where} down sustain ${downKwh} > ${below}`);
      }
      energies.push(e);
      previous = e;
    });
    const final = energies[T - 1] as number;
    const terminal = params.terminal ?? { kind: 'at-least-initial' };
    if (terminal.kind === 'at-least-initial') {
      const target = Math.min(Math.max(initial, floor), ceiling);
      if (!near(target - final, target)) found.push(`${params.id} ends at ${final} < initial ${target}`);
    }
    if (terminal.kind === 'target' && !near(terminal.energyKwh - final, final))
      found.push(`${params.id} misses target`);
    energyAtEnd.push(energies);
  });
  for (const commitment of request.commitments ?? []) {
    const members = request.batteries
      .map((params, b) => [params, b] as const)
      .filter(([params]) => !commitment.batteryIds || commitment.batteryIds.includes(params.id));
    for (let t = commitment.fromInterval; t < commitment.toInterval; t++) {
      let net = 0;
      for (const [, b] of members) {
        const interval = plan.batteries[b]?.intervals[t];
        net += (interval?.dischargeKw ?? 0) - (interval?.chargeKw ?? 0);
      }
      if (!near(commitment.minNetDischargeKw - net, net)) found.push(`${commitment.id}[${t}] net ${net} < K`);
    }
    if (commitment.fromInterval > 0) {
      let deliverable = 0;
      for (const [params, b] of members) {
        const floor = params.energyKwh * (params.soh ?? 1) * (params.socMin ?? 0);
        const e = energyAtEnd[b]?.[commitment.fromInterval - 1] ?? 0;
        deliverable += (params.etaDischarge ?? DEFAULT_ETA) * (e - floor);
      }
      const needed = commitment.minNetDischargeKw * (commitment.toInterval - commitment.fromInterval) * hours;
      if (!near(needed - deliverable, needed)) found.push(`${commitment.id} reserve ${deliverable} < ${needed}`);
    }
  }
  if (request.shared) {
    for (let t = 0; t < T; t++) {
      let net = 0;
      request.batteries.forEach((params, b) => {
        const interval = plan.batteries[b]?.intervals[t];
        net += (params.site?.pvKw?.[t] ?? 0) - (params.site?.loadKw?.[t] ?? 0);
        net += (interval?.dischargeKw ?? 0) - (interval?.chargeKw ?? 0);
      });
      const exportLimit = request.shared.exportLimitKw ?? Number.POSITIVE_INFINITY;
      const importLimit = request.shared.importLimitKw ?? Number.POSITIVE_INFINITY;
      if (!near(net - exportLimit, exportLimit) || !near(-net - importLimit, importLimit)) found.push(`shared[${t}]`);
    }
  }
  found.push(...objectiveViolations(request, plan));
  return found;
}

/** Revenue recomputed from the schedule and prices; objective = parts = HiGHS's value. */
function objectiveViolations(request: PlanRequest, plan: Plan): string[] {
  const found: string[] = [];
  const hours = request.intervalMinutes / 60;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  let energy = 0;
  const capacity: Partial<Record<CapacityProduct, number>> = {};
  let throughputAndCalendar = 0;
  let hasCycleCost = false;
  request.batteries.forEach((params, b) => {
    const intervals = plan.batteries[b]?.intervals ?? [];
    intervals.forEach((interval, t) => {
      energy += ((request.energyPriceUsdPerMwh[t] ?? 0) * (interval.dischargeKw - interval.chargeKw) * hours) / 1000;
      for (const [product, offer] of Object.entries(request.products ?? {}) as Array<[CapacityProduct, ProductOffer]>) {
        capacity[product] =
          (capacity[product] ?? 0) +
          ((offer.priceUsdPerMwH[t] ?? 0) * (interval.capacityKw[product] ?? 0) * hours) / 1000;
      }
      throughputAndCalendar += ((params.degradation?.throughputUsdPerMwh ?? 0) * interval.dischargeKw * hours) / 1000;
      throughputAndCalendar += ((params.degradation?.calendarUsdPerMwhHour ?? 0) * interval.energyKwh * hours) / 1000;
    });
    if (params.degradation?.cycleDepth) hasCycleCost = true;
  });
  if (!close(energy, plan.revenueUsd.energy)) found.push(`energy revenue ${plan.revenueUsd.energy} != ${energy}`);
  for (const [product, value] of Object.entries(capacity) as Array<[CapacityProduct, number]>) {
    if (!close(value, plan.revenueUsd[product] ?? Number.NaN)) found.push(`${product} revenue mismatch`);
  }
  if (
    hasCycleCost
      ? throughputAndCalendar > plan.degradationCostUsd + 1e-6
      : !close(throughputAndCalendar, plan.degradationCostUsd)
  ) {
    found.push(`degradation ${plan.degradationCostUsd} vs throughput+calendar ${throughputAndCalendar}`);
  }
  const revenue = Object.values(plan.revenueUsd).reduce((sum, value) => sum + (value ?? 0), 0);
  const parts = revenue - plan.degradationCostUsd - plan.penaltyUsd + plan.terminalValueUsd;
  if (!close(parts, plan.objectiveUsd)) found.push(`objective ${plan.objectiveUsd} != parts ${parts}`);
  if (!close(plan.objectiveUsd, plan.solver.objectiveValue)) {
    found.push(`objective ${plan.objectiveUsd} != HiGHS ${plan.solver.objectiveValue}`);
  }
  return found;
}
