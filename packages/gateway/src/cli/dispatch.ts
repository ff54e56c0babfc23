/**
 * `gridseam dispatch plan --prices FILE.csv --power-kw P --energy-kwh E [...] [--json]`: a
 * perfect-foresight plan for one battery against a price CSV (issue 9's stable CLI), solved by
 * @gridseam/dispatch's planDispatch. `gridseam dispatch rainflow --soc FILE.csv [--json]`: rainflow
 * cycles (ASTM E1049-85) of a SoC trace and the life they consumed. docs/dispatch.md describes both.
 *
 * The price file is planned run by run: rows one interval apart form a run, a gap in time starts a
 * new one (the fixtures hold separate days), and each run starts from --soc0 with the default
 * terminal condition (final energy >= initial). --horizon-hours cuts a run into shorter horizons;
 * each then starts from the energy the previous one ended with.
 */
import type { PlanRequest, PriceSeries, StressFunction } from '@gridseam/dispatch';
import { GridseamError } from '@gridseam/model';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from './main.ts';
import { formatTable, numberIn, round6, write } from './output.ts';

function usage(message: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message);
}

function integerIn(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return Number(value);
  };
}

const STRESS_HELP = 'Phi(depth) = k * depth^b, as "k=...,b=..." (k a number or a fraction like 1/6000; b >= 1)';
export const DEFAULT_STRESS_TEXT = 'k=1/6000,b=2';

/** "k=1/6000,b=2" to a stress function; both keys, k >= 0, b >= 1. */
export function parseStress(value: string): StressFunction {
  const parts = new Map<string, number>();
  for (const part of value.split(',')) {
    const match = /^\s*([kb])\s*=\s*([^,]+?)\s*$/.exec(part);
    const fraction = match ? /^([^/]+)(?:\/([^/]+))?$/.exec(match[2] as string) : null;
    const numerator = Number(fraction?.[1]);
    const denominator = fraction?.[2] === undefined ? 1 : Number(fraction[2]);
    const number = numerator / denominator;
    if (!match || !fraction || !Number.isFinite(number) || parts.has(match[1] as string))
      throw new InvalidArgumentError(`--stress must be "k=...,b=..." (got ${JSON.stringify(value)})`);
    parts.set(match[1] as string, number);
  }
  const k = parts.get('k');
  const b = parts.get('b');
  if (k === undefined || b === undefined)
    throw new InvalidArgumentError('--stress needs both k and b, e.g. "k=1/6000,b=2"');
  if (k < 0 || b < 1) throw new InvalidArgumentError('--stress needs k >= 0 and b >= 1 (a convex stress function)');
  return { k, b };
}

export interface PlanOptions {
  prices: string;
  priceColumn?: string;
  timeColumn?: string;
  intervalMinutes?: number;
  powerKw: number;
  energyKwh: number;
  soc0: number;
  socMin: number;
  socMax: number;
  etaCharge: number;
  etaDischarge: number;
  selfDischargePerHour: number;
  throughputCost?: number;
  cycleSegments?: number;
  cycleCostUsdPerMwh?: number;
  stress?: StressFunction;
  regUpColumn?: string;
  regDownColumn?: string;
  reserveHours?: number;
  horizonHours?: number;
  json?: boolean;
}

function checkPlanOptions(options: PlanOptions): void {
  if (options.socMin >= options.socMax) throw usage('--soc-min must be below --soc-max');
  if ((options.cycleSegments === undefined) !== (options.cycleCostUsdPerMwh === undefined))
    throw usage('--cycle-segments and --cycle-cost-usd-per-mwh go together');
  if (options.stress !== undefined && options.cycleSegments === undefined)
    throw usage('--stress shapes the cycle-depth cost: it needs --cycle-segments and --cycle-cost-usd-per-mwh');
  const regulation = options.regUpColumn !== undefined || options.regDownColumn !== undefined;
  if (options.reserveHours !== undefined && !regulation)
    throw usage('--reserve-hours applies to regulation: give --reg-up-column and/or --reg-down-column');
}

/** Row ranges [from, to) planned one after another: the file's runs, cut to --horizon-hours. */
export function planHorizons(series: PriceSeries, horizonHours?: number): Array<{ from: number; to: number }> {
  if (horizonHours === undefined) return series.blocks.map((b) => ({ from: b.from, to: b.to }));
  const length = (horizonHours * 60) / series.intervalMinutes;
  if (!Number.isInteger(length))
    throw usage(`--horizon-hours ${horizonHours} is not a whole number of ${series.intervalMinutes}-min intervals`);
  return series.blocks.flatMap((block) => {
    const horizons = [];
    for (let from = block.from; from < block.to; from += length)
      horizons.push({ from, to: Math.min(block.to, from + length) });
    return horizons;
  });
}

/** The PlanRequest for rows [from, to) of the series, one battery. */
export function buildPlanRequest(
  series: PriceSeries,
  horizon: { from: number; to: number },
  options: PlanOptions,
  soc0: number,
): PlanRequest {
  const slice = (values: readonly number[]) => values.slice(horizon.from, horizon.to);
  const sustainHours = options.reserveHours ?? 1;
  const products: PlanRequest['products'] = {
    ...(series.regUpUsdPerMwH ? { regUp: { priceUsdPerMwH: slice(series.regUpUsdPerMwH), sustainHours } } : {}),
    ...(series.regDownUsdPerMwH ? { regDown: { priceUsdPerMwH: slice(series.regDownUsdPerMwH), sustainHours } } : {}),
  };
  const degradation = {
    ...(options.throughputCost ? { throughputUsdPerMwh: options.throughputCost } : {}),
    ...(options.cycleSegments !== undefined && options.cycleCostUsdPerMwh !== undefined
      ? {
          cycleDepth: {
            segments: options.cycleSegments,
            replacementUsdPerMwh: options.cycleCostUsdPerMwh,
            stress: options.stress ?? defaultStress(),
          },
        }
      : {}),
  };
  return {
    starts: slice(series.starts),
    intervalMinutes: series.intervalMinutes,
    energyPriceUsdPerMwh: slice(series.energyPriceUsdPerMwh),
    batteries: [
      {
        id: 'battery',
        energyKwh: options.energyKwh,
        chargeKw: options.powerKw,
        dischargeKw: options.powerKw,
        soc0,
        socMin: options.socMin,
        socMax: options.socMax,
        etaCharge: options.etaCharge,
        etaDischarge: options.etaDischarge,
        selfDischargePerHour: options.selfDischargePerHour,
        ...(Object.keys(degradation).length > 0 ? { degradation } : {}),
      },
    ],
    ...(Object.keys(products).length > 0 ? { products } : {}),
  };
}

function defaultStress(): StressFunction {
  return parseStress(DEFAULT_STRESS_TEXT);
}

export { round6 } from './output.ts';

export interface PlanJson {
  objective: number;
  revenue: { energy: number; regUp: number; regDown: number };
  degradationCost: number;
  cycles: number;
  intervals: Array<{
    start: string;
    chargeKw: number;
    dischargeKw: number;
    energyKwh: number;
    regUpKw: number;
    regDownKw: number;
  }>;
}

interface HorizonResult {
  from: number;
  to: number;
  energy: number;
  regUp: number;
  regDown: number;
  degradation: number;
  penalty: number;
  cycles: number;
  intervals: PlanJson['intervals'];
}

async function runPlan(options: PlanOptions): Promise<{ series: PriceSeries; horizons: HorizonResult[] }> {
  const { planDispatch, readPriceCsv } = await import('@gridseam/dispatch');
  const series = await readPriceCsv(options.prices, {
    ...(options.priceColumn !== undefined ? { priceColumn: options.priceColumn } : {}),
    ...(options.timeColumn !== undefined ? { timeColumn: options.timeColumn } : {}),
    ...(options.intervalMinutes !== undefined ? { intervalMinutes: options.intervalMinutes } : {}),
    ...(options.regUpColumn !== undefined ? { regUpColumn: options.regUpColumn } : {}),
    ...(options.regDownColumn !== undefined ? { regDownColumn: options.regDownColumn } : {}),
  });
  const results: HorizonResult[] = [];
  let carried: { blockEnd: number; soc: number } | undefined;
  for (const horizon of planHorizons(series, options.horizonHours)) {
    // A horizon that continues the previous one inside a run starts where that one ended.
    const soc0 = carried && carried.blockEnd === horizon.from ? carried.soc : options.soc0;
    const plan = await planDispatch(buildPlanRequest(series, horizon, options, soc0));
    const battery = plan.batteries[0];
    if (!battery) throw new GridseamError('GW_ERR_INTERNAL', 'the plan has no battery');
    const intervals = battery.intervals.map((interval) => ({
      start: new Date(interval.start).toISOString(),
      chargeKw: round6(interval.chargeKw),
      dischargeKw: round6(interval.dischargeKw),
      energyKwh: round6(interval.energyKwh),
      regUpKw: round6(interval.capacityKw.regUp ?? 0),
      regDownKw: round6(interval.capacityKw.regDown ?? 0),
    }));
    const last = battery.intervals[battery.intervals.length - 1];
    if (last) carried = { blockEnd: horizon.to, soc: last.energyKwh / options.energyKwh };
    results.push({
      ...horizon,
      energy: plan.revenueUsd.energy,
      regUp: plan.revenueUsd.regUp ?? 0,
      regDown: plan.revenueUsd.regDown ?? 0,
      degradation: plan.degradationCostUsd,
      penalty: plan.penaltyUsd,
      cycles: battery.cycles,
      intervals,
    });
  }
  return { series, horizons: results };
}

function sum(
  results: readonly HorizonResult[],
  key: 'energy' | 'regUp' | 'regDown' | 'degradation' | 'penalty' | 'cycles',
) {
  return results.reduce((total, result) => total + result[key], 0);
}

/** The JSON: objective = revenue - degradationCost, money in USD, power in kW, energy in kWh. */
export function planJson(results: readonly HorizonResult[]): PlanJson {
  const revenue = { energy: sum(results, 'energy'), regUp: sum(results, 'regUp'), regDown: sum(results, 'regDown') };
  const degradationCost = sum(results, 'degradation');
  return {
    objective: round6(revenue.energy + revenue.regUp + revenue.regDown - degradationCost),
    revenue: { energy: round6(revenue.energy), regUp: round6(revenue.regUp), regDown: round6(revenue.regDown) },
    degradationCost: round6(degradationCost),
    cycles: round6(sum(results, 'cycles')),
    intervals: results.flatMap((result) => result.intervals),
  };
}

function money(value: number): string {
  return value.toFixed(2);
}

function planText(options: PlanOptions, series: PriceSeries, results: readonly HorizonResult[]): string {
  const lines = [
    `prices: ${options.prices}: ${series.starts.length} intervals of ${series.intervalMinutes} min`,
    ...series.notes.map((note) => `  ${note}`),
    `battery: ${options.powerKw} kW / ${options.energyKwh} kWh, SoC ${options.soc0} in [${options.socMin}, ${options.socMax}], ` +
      `eta charge ${options.etaCharge}, discharge ${options.etaDischarge}, self-discharge ${options.selfDischargePerHour}/h`,
    '',
  ];
  const row = (label: string, r: Omit<HorizonResult, 'from' | 'to' | 'intervals'>, count: number) => [
    label,
    String(count),
    money(r.energy),
    money(r.regUp),
    money(r.regDown),
    money(r.degradation),
    money(r.energy + r.regUp + r.regDown - r.degradation),
    r.cycles.toFixed(2),
  ];
  const rows = results.map((r) => row(new Date(series.starts[r.from] as number).toISOString(), r, r.to - r.from));
  const total = {
    energy: sum(results, 'energy'),
    regUp: sum(results, 'regUp'),
    regDown: sum(results, 'regDown'),
    degradation: sum(results, 'degradation'),
    penalty: sum(results, 'penalty'),
    cycles: sum(results, 'cycles'),
  };
  if (results.length > 1) rows.push(row('total', total, series.starts.length));
  lines.push(
    formatTable(
      ['horizon start', 'intervals', 'energy $', 'regUp $', 'regDown $', 'degradation $', 'objective $', 'cycles'],
      rows,
    ),
  );
  if (total.penalty > 0)
    lines.push(`penalty for the initial SoC outside the band: $${money(total.penalty)} (not in the objective above)`);
  return lines.join('\n');
}

function registerPlan(dispatch: Command, io: CliIo): void {
  dispatch
    .command('plan')
    .description('plan one battery against a price CSV (perfect foresight) and print the schedule and revenue')
    .requiredOption(
      '--prices <file>',
      'price CSV: one row per interval, energy in $/MWh (a ($/kWh) header is converted)',
    )
    .option('--price-column <name>', 'energy price column (default: the first column named price or LMP)')
    .option('--time-column <name>', 'time column (default: the first column named date-time, interval start or end)')
    .option(
      '--interval-minutes <m>',
      'interval length (default: inferred from the time column)',
      integerIn('--interval-minutes', 1, 1440),
    )
    .requiredOption(
      '--power-kw <kW>',
      'charge and discharge power limit',
      numberIn('--power-kw', 0, Infinity, { minOpen: true }),
    )
    .requiredOption('--energy-kwh <kWh>', 'nameplate energy', numberIn('--energy-kwh', 0, Infinity, { minOpen: true }))
    .option('--soc0 <fraction>', 'initial SoC, fraction of nameplate energy', numberIn('--soc0', 0, 1), 0.5)
    .option('--soc-min <fraction>', 'lowest allowed SoC', numberIn('--soc-min', 0, 1), 0)
    .option('--soc-max <fraction>', 'highest allowed SoC', numberIn('--soc-max', 0, 1), 1)
    .option('--eta-charge <fraction>', 'charge efficiency', numberIn('--eta-charge', 0, 1, { minOpen: true }), 0.95)
    .option(
      '--eta-discharge <fraction>',
      'discharge efficiency',
      numberIn('--eta-discharge', 0, 1, { minOpen: true }),
      0.95,
    )
    .option(
      '--self-discharge-per-hour <fraction>',
      'fraction of stored energy lost per hour',
      numberIn('--self-discharge-per-hour', 0, 1),
      0,
    )
    .option(
      '--throughput-cost <usdPerMwh>',
      'wear cost per MWh discharged (default: none)',
      numberIn('--throughput-cost', 0, Infinity),
    )
    .option(
      '--cycle-segments <J>',
      'cycle-depth cost with J equal energy segments (Xu et al. 2018)',
      integerIn('--cycle-segments', 1, 100),
    )
    .option(
      '--cycle-cost-usd-per-mwh <R>',
      'battery replacement cost, $ per MWh of capacity (with --cycle-segments)',
      numberIn('--cycle-cost-usd-per-mwh', 0, Infinity),
    )
    .option(
      '--stress <k=...,b=...>',
      `cycle-depth stress ${STRESS_HELP} (default: ${DEFAULT_STRESS_TEXT})`,
      parseStress,
    )
    .option('--reg-up-column <name>', 'regulation-up price column, $/MW-h (a ($/kW) header is converted)')
    .option('--reg-down-column <name>', 'regulation-down price column, $/MW-h')
    .option(
      '--reserve-hours <tau>',
      'hours a regulation award must be sustainable (default: 1 when a reg column is given)',
      numberIn('--reserve-hours', 0, 24, { minOpen: true }),
    )
    .option(
      '--horizon-hours <h>',
      "plan in horizons of h hours, each from the previous one's end energy (default: each run of consecutive rows is one horizon)",
      numberIn('--horizon-hours', 0, 8784, { minOpen: true }),
    )
    .option('--json', 'print the plan as JSON: objective, revenue, degradationCost, cycles, intervals')
    .addHelpText(
      'after',
      `
Money in USD, power in kW, energy in kWh; SoC fractions are of nameplate energy. Times without an
offset are read as UTC wall clock. A gap in the file's times starts a new run, planned from --soc0
with final energy >= initial. See docs/dispatch.md.

Example:
  gridseam dispatch plan --prices prices.csv --power-kw 1000 --energy-kwh 2000 --eta-charge 0.938 \\
    --eta-discharge 0.938 --reg-up-column regup_usd_per_mw_h --reg-down-column regdn_usd_per_mw_h --json`,
    )
    .action(async (options: PlanOptions) => {
      checkPlanOptions(options);
      const { series, horizons } = await runPlan(options);
      if (options.json) write(io.stdout, JSON.stringify(planJson(horizons)));
      else write(io.stdout, planText(options, series, horizons));
    });
}

function registerRainflow(dispatch: Command, io: CliIo): void {
  dispatch
    .command('rainflow')
    .description('count the cycles of a SoC trace (rainflow, ASTM E1049-85) and the life they consumed')
    .requiredOption(
      '--soc <file>',
      'CSV with a "soc" column (or a single column) of SoC fractions (a % header: percent)',
    )
    .option('--stress <k=...,b=...>', `${STRESS_HELP} (default: ${DEFAULT_STRESS_TEXT})`, parseStress)
    .option('--json', 'print {cycles: [{depth, count, from, to}], totalCycles, lifeConsumed, stress} as JSON')
    .action(async (options: { soc: string; stress?: StressFunction; json?: boolean }) => {
      const { readSocCsv, rainflow, lifeConsumed } = await import('@gridseam/dispatch');
      const { soc, column } = await readSocCsv(options.soc);
      const stress = options.stress ?? defaultStress();
      const cycles = rainflow(soc);
      const life = lifeConsumed(cycles, stress);
      const totalCycles = cycles.reduce((total, cycle) => total + cycle.count, 0);
      if (options.json) {
        const rounded = cycles.map((c) => ({ depth: round6(c.depth), count: c.count, from: c.from, to: c.to }));
        write(io.stdout, JSON.stringify({ cycles: rounded, totalCycles, lifeConsumed: life, stress }));
        return;
      }
      const rows = cycles.map((c) => [c.depth.toFixed(4), String(c.count), String(c.from), String(c.to)]);
      write(
        io.stdout,
        [
          `${options.soc}: ${soc.length} SoC values (column ${JSON.stringify(column)})`,
          formatTable(['depth', 'count', 'from', 'to'], rows),
          `cycles: ${totalCycles} (${cycles.filter((c) => c.count === 1).length} full, ${cycles.filter((c) => c.count === 0.5).length} half)`,
          `life consumed: ${life.toPrecision(6)} (Phi(depth) = ${Number(stress.k.toPrecision(6))} * depth^${stress.b})`,
        ].join('\n'),
      );
    });
}

export function registerDispatchCommands(program: Command, io: CliIo): void {
  const dispatch = program
    .command('dispatch')
    .description('battery dispatch: plan against a price file, count cycles of a SoC trace');
  registerPlan(dispatch, io);
  registerRainflow(dispatch, io);
}
