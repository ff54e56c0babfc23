/**
 * Dispatch benchmark (issue 9, `npm run bench:dispatch`), each figure next to the time HiGHS
 * itself reports for the same model in the same run (the floor: what no wrapper can beat).
 *
 * 1. One battery, 288 five-minute intervals, J = 10 cycle-depth segments: a cold build + solve +
 *    extraction per plan (fresh model each time), median of 20 over the three real CAISO 2019
 *    fixture days. Target < 100 ms.
 * 2. A fleet of 400 batteries, 96 fifteen-minute intervals, an aggregate 2-hour commitment: one
 *    cold solve, then 5 warm rolling re-plans (horizon one interval on, soc0 measured again) with
 *    the persistent model, median. Target warm < 1 s. `--with-feeder` repeats it with a shared
 *    feeder limit of +-50% of the fleet's power, which binds often and costs far more iterations.
 *
 * Prices: ../shared/data/prices/fixture_5min_288step_3days.csv (DER-VET, EPRI; see its README);
 * the fleet uses 15-minute means of the same days.
 */
import { readFileSync } from 'node:fs';
import type { BatteryParams, Plan, PlanRequest } from '../src/contract.ts';
import { DispatchSession } from '../src/index.ts';
import { parseCsv } from '../src/prices.ts';

const FIXTURE = new URL('../../../../shared/data/prices/fixture_5min_288step_3days.csv', import.meta.url);

function fixtureDays(): Map<string, number[]> {
  const table = parseCsv(readFileSync(FIXTURE, 'utf8'), FIXTURE.pathname);
  const dayColumn = table.header.indexOf('fixture');
  const priceColumn = table.header.indexOf('price_usd_per_mwh');
  const days = new Map<string, number[]>();
  for (const row of table.rows) {
    const day = row.fields[dayColumn] as string;
    const list = days.get(day) ?? [];
    list.push(Number(row.fields[priceColumn]));
    days.set(day, list);
  }
  return days;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

interface Run {
  plan: Plan;
  /** CPU time of this thread for the plan, ms: less sensitive than wall time to a busy machine. */
  cpuMs: number;
}

function timed(session: DispatchSession, request: PlanRequest, key: string): Run {
  const before = process.cpuUsage();
  const plan = session.plan(request, key);
  const used = process.cpuUsage(before);
  return { plan, cpuMs: (used.user + used.system) / 1000 };
}

function report(name: string, runs: Run[], target: number) {
  const ours = median(runs.map((r) => r.plan.solver.totalMs));
  const floor = median(runs.map((r) => r.plan.solver.runMs));
  const cpu = median(runs.map((r) => r.cpuMs));
  const first = (runs[0] as Run).plan;
  console.log(
    `${name.padEnd(32)} ours ${ms(ours).padStart(10)}  HiGHS ${ms(floor).padStart(10)}  floor/ours ${(floor / ours).toFixed(2)}` +
      `  (cpu ${ms(cpu)})  ${first.solver.columns} cols x ${first.solver.rows} rows` +
      `  ${Number.isFinite(target) ? `target < ${target} ms: ${ours < target ? 'met' : 'MISSED'}` : ''}`,
  );
}

function singleBattery(prices: number[]): PlanRequest {
  const battery: BatteryParams = {
    id: 'bess',
    energyKwh: 2000,
    chargeKw: 1000,
    dischargeKw: 1000,
    soc0: 0.5,
    socMin: 0.1,
    socMax: 0.9,
    etaCharge: 0.95,
    etaDischarge: 0.95,
    // Notes §1.2 (b): R = $250k/MWh, Phi(d) = d^2 / 6000, J = 10.
    degradation: { cycleDepth: { segments: 10, replacementUsdPerMwh: 250_000, stress: { k: 1 / 6000, b: 2 } } },
  };
  return {
    starts: prices.map((_, i) => i * 300_000),
    intervalMinutes: 5,
    energyPriceUsdPerMwh: prices,
    batteries: [battery],
  };
}

function quarterHourly(prices: number[]): number[] {
  return Array.from(
    { length: prices.length / 3 },
    (_, i) => (prices[3 * i]! + prices[3 * i + 1]! + prices[3 * i + 2]!) / 3,
  );
}

/** 400 mixed batteries; `step` moves the horizon on by that many intervals (a rolling re-plan). */
function fleet(day: number[], count: number, step: number, feeder: boolean): PlanRequest {
  const prices = day.map((_, t) => day[(t + step) % day.length] as number);
  const batteries: BatteryParams[] = Array.from({ length: count }, (_, i) => ({
    id: `bess-${i}`,
    energyKwh: 100 + (i % 5) * 50,
    chargeKw: 50 + (i % 3) * 25,
    dischargeKw: 50 + (i % 3) * 25,
    // Measured SoC drifts between re-plans.
    soc0: 0.3 + (i % 7) * 0.08 + 0.01 * Math.sin(i + step),
    socMin: 0.1,
    socMax: 0.95,
    etaCharge: 0.95,
    etaDischarge: 0.95,
    degradation: { throughputUsdPerMwh: 10 },
  }));
  const totalKw = batteries.reduce((sum, b) => sum + b.dischargeKw, 0);
  return {
    starts: prices.map((_, i) => (i + step) * 900_000),
    intervalMinutes: 15,
    energyPriceUsdPerMwh: prices,
    batteries,
    // A 2-hour evening commitment at 30% of the fleet's power, fixed in time as the horizon rolls.
    commitments: [
      { id: 'evening-dr', fromInterval: 72 - step, toInterval: 80 - step, minNetDischargeKw: 0.3 * totalKw },
    ],
    ...(feeder ? { shared: { exportLimitKw: 0.5 * totalKw, importLimitKw: 0.5 * totalKw } } : {}),
  };
}

function fleetRuns(session: DispatchSession, day: number[], feeder: boolean, label: string) {
  const key = feeder ? 'fleet-feeder' : 'fleet';
  const cold = timed(session, fleet(day, 400, 0, feeder), key);
  report(`fleet 400 x 96 x 15 min${label} (cold)`, [cold], Number.POSITIVE_INFINITY);
  const warm: Run[] = [];
  for (let step = 1; step <= 5; step++) {
    const run = timed(session, fleet(day, 400, step, feeder), key);
    if (!run.plan.solver.warm) throw new Error('expected a warm re-solve');
    warm.push(run);
  }
  report(`fleet 400 x 96 x 15 min${label} (warm)`, warm, 1000);
}

async function main() {
  const days = [...fixtureDays().values()];
  const load = (await import('node:os')).loadavg()[0] ?? 0;
  console.log(`dispatch bench (node ${process.version}, load average ${load.toFixed(1)}); figures are medians`);
  const session = await DispatchSession.open({ maxModels: 1 });
  try {
    // Warm-up: the first WASM solve pays for compilation tiers.
    session.plan(singleBattery(days[0] as number[]), 'warm-up');

    const single: Run[] = [];
    for (let i = 0; i < 20; i++)
      single.push(timed(session, singleBattery(days[i % days.length] as number[]), `single-${i}`));
    report('single 288 x 5 min, J=10 (cold)', single, 100);

    // Rolling re-plans: each warm solve moves the horizon one interval on and updates soc0.
    const day = quarterHourly(days[2] as number[]);
    fleetRuns(session, day, false, '');
    if (process.argv.includes('--with-feeder')) fleetRuns(session, day, true, ' + feeder limit');
  } finally {
    session.dispose();
  }
}

await main();
