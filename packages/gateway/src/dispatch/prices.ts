/**
 * Price sources for the rolling horizon. A source is a step function of time ($/MWh for energy,
 * $/MW-h for regulation); a plan interval's price is the time-weighted average of the steps it
 * overlaps, so a plan's intervals need not line up with the series' own.
 *
 * - `sample`: the CAISO days shipped in packages/dispatch/data (hourly, 2020), repeated: the day
 *   of year of an instant picks one of the days in turn, its time of day the hour (both on UTC
 *   plus `utcOffsetMinutes`).
 * - `csv`: a price file read by @gridseam/dispatch readPriceCsv, either on its own times
 *   (`absolute`: the horizon ends where the file does) or, like the sample, as days in turn.
 * - `inline`: prices written in the config from a start instant.
 * OpenADR PRICE signals (kept by the OpenADR 3 seam) replace the base price over the time they
 * cover (per kWh unless their units say MWh).
 */
import { fileURLToPath } from 'node:url';
import { type PriceSeries, readPriceCsv } from '@gridseam/dispatch';
import { GridseamError } from '@gridseam/model';
import type { DispatchPrices } from '../config/dispatch.ts';

const DAY_MS = 86_400_000;

/** The shipped sample's file and its regulation columns. */
export const SAMPLE_PRICES_FILE = new URL(
  '../data/caiso-2020-sample-days.csv',
  import.meta.resolve('@gridseam/dispatch'),
);
const SAMPLE_COLUMNS = { regUpColumn: 'Reg Up Price ($/kW)', regDownColumn: 'Reg Down Price ($/kW)' } as const;

/** Prices of a run of plan intervals. */
export interface IntervalPrices {
  /** One per covered interval: the run stops at the first interval the source does not cover. */
  energyUsdPerMwh: number[];
  regUpUsdPerMwH?: number[];
  regDownUsdPerMwH?: number[];
  /** Intervals whose energy price came (at least partly) from OpenADR price signals. */
  openadrIntervals: number;
}

/** An external price signal (the OpenADR 3 seam's PricePoint, structurally). */
export interface ExternalPricePoint {
  payloadType: string;
  start: number;
  durationS: number;
  value: number;
  units?: string;
}

export interface PriceSource {
  /** What the prices are, for the plan document. */
  readonly description: string;
  readonly hasRegulation: boolean;
  /** Prices of the intervals [starts[k], starts[k] + intervalMs). */
  prices(starts: readonly number[], intervalMs: number, external?: readonly ExternalPricePoint[]): IntervalPrices;
}

type Field = 'energy' | 'regUp' | 'regDown';

/** A step function: value[i] over [start[i], end[i]); steps sorted and not overlapping. */
class StepCurve {
  constructor(
    readonly start: Float64Array,
    readonly end: Float64Array,
    readonly values: Record<Field, Float64Array | undefined>,
  ) {}

  /** The time-weighted average over [from, to), or undefined when a gap lies inside it. */
  average(field: Field, from: number, to: number): number | undefined {
    const values = this.values[field];
    if (values === undefined || to <= from) return undefined;
    let i = this.#first(from);
    let at = from;
    let sum = 0;
    while (at < to) {
      const stepStart = this.start[i];
      if (stepStart === undefined || stepStart > at) return undefined;
      const stepEnd = Math.min(this.end[i] as number, to);
      sum += (values[i] as number) * (stepEnd - at);
      at = stepEnd;
      i++;
    }
    return sum / (to - from);
  }

  /** The step holding `at` (or the first after it). */
  #first(at: number): number {
    let lo = 0;
    let hi = this.start.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.end[mid] as number) <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function curveOf(
  starts: readonly number[],
  durationMs: number,
  energy: readonly number[],
  regUp?: readonly number[],
  regDown?: readonly number[],
): StepCurve {
  const start = Float64Array.from(starts);
  const end = Float64Array.from(starts, (s) => s + durationMs);
  return new StepCurve(start, end, {
    energy: Float64Array.from(energy),
    regUp: regUp ? Float64Array.from(regUp) : undefined,
    regDown: regDown ? Float64Array.from(regDown) : undefined,
  });
}

/** Any curve: absolute times, or days in turn. */
interface Curve {
  average(field: Field, from: number, to: number): number | undefined;
}

/** Whole days of a series, used in turn: instant t uses day floor((t + offset) / day) mod n at its time of day. */
class DailyCurve implements Curve {
  constructor(
    readonly days: StepCurve[],
    readonly offsetMs: number,
  ) {}

  average(field: Field, from: number, to: number): number | undefined {
    let sum = 0;
    for (let at = from; at < to; ) {
      const local = at + this.offsetMs;
      const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
      const pieceEnd = Math.min(to, dayStart + DAY_MS - this.offsetMs);
      const day = this.days[(((dayStart / DAY_MS) % this.days.length) + this.days.length) % this.days.length];
      const value = day?.average(field, local - dayStart, pieceEnd + this.offsetMs - dayStart);
      if (value === undefined) return undefined;
      sum += value * (pieceEnd - at);
      at = pieceEnd;
    }
    return to > from ? sum / (to - from) : undefined;
  }
}

/** The complete days of a price series (24 h of rows from midnight), each with its times of day. */
function wholeDays(series: PriceSeries): StepCurve[] {
  const intervalMs = series.intervalMinutes * 60_000;
  const perDay = DAY_MS / intervalMs;
  const byDay = new Map<number, number[]>();
  series.starts.forEach((start, row) => {
    const day = Math.floor(start / DAY_MS);
    const rows = byDay.get(day) ?? [];
    rows.push(row);
    byDay.set(day, rows);
  });
  const days: StepCurve[] = [];
  for (const [day, rows] of [...byDay].sort((a, b) => a[0] - b[0])) {
    if (rows.length !== perDay) continue;
    const pick = (values: readonly number[] | undefined) => values && rows.map((row) => values[row] as number);
    days.push(
      curveOf(
        rows.map((row) => (series.starts[row] as number) - day * DAY_MS),
        intervalMs,
        pick(series.energyPriceUsdPerMwh) ?? [],
        pick(series.regUpUsdPerMwH),
        pick(series.regDownUsdPerMwH),
      ),
    );
  }
  return days;
}

/** External price signals as energy prices, $/MWh: per kWh unless the units say MWh. */
function externalCurve(points: readonly ExternalPricePoint[]): StepCurve | undefined {
  const prices = points
    .filter((p) => p.payloadType === 'PRICE' && Number.isFinite(p.value) && p.durationS > 0)
    .sort((a, b) => a.start - b.start);
  if (prices.length === 0) return undefined;
  const kept: ExternalPricePoint[] = [];
  for (const point of prices) {
    const last = kept.at(-1);
    // Overlapping signals: the later one starts where the earlier one ends.
    if (last && point.start < last.start + last.durationS * 1000) continue;
    kept.push(point);
  }
  return new StepCurve(
    Float64Array.from(kept, (p) => p.start),
    Float64Array.from(kept, (p) => p.start + p.durationS * 1000),
    {
      energy: Float64Array.from(kept, (p) => (/mwh/i.test(p.units ?? '') ? p.value : p.value * 1000)),
      regUp: undefined,
      regDown: undefined,
    },
  );
}

/** The energy price of [from, to) with external signals over the time they cover. */
function blendedEnergy(base: Curve, external: StepCurve | undefined, from: number, to: number) {
  const basePrice = base.average('energy', from, to);
  if (external === undefined) return basePrice === undefined ? undefined : { price: basePrice, external: false };
  let coveredMs = 0;
  let externalSum = 0;
  for (let i = 0; i < external.start.length; i++) {
    const overlapFrom = Math.max(from, external.start[i] as number);
    const overlapTo = Math.min(to, external.end[i] as number);
    if (overlapTo <= overlapFrom) continue;
    coveredMs += overlapTo - overlapFrom;
    externalSum += (external.values.energy?.[i] as number) * (overlapTo - overlapFrom);
  }
  if (coveredMs === 0) return basePrice === undefined ? undefined : { price: basePrice, external: false };
  const restMs = to - from - coveredMs;
  if (restMs > 0 && basePrice === undefined) return undefined;
  return { price: (externalSum + (restMs > 0 ? (basePrice as number) * restMs : 0)) / (to - from), external: true };
}

class CurvePriceSource implements PriceSource {
  constructor(
    readonly description: string,
    readonly curve: Curve,
    readonly hasRegulation: boolean,
  ) {}

  prices(starts: readonly number[], intervalMs: number, external: readonly ExternalPricePoint[] = []): IntervalPrices {
    const signals = externalCurve(external);
    const out: IntervalPrices = { energyUsdPerMwh: [], openadrIntervals: 0 };
    const regUp: number[] = [];
    const regDown: number[] = [];
    for (const start of starts) {
      const energy = blendedEnergy(this.curve, signals, start, start + intervalMs);
      if (energy === undefined) break;
      if (this.hasRegulation) {
        const up = this.curve.average('regUp', start, start + intervalMs);
        const down = this.curve.average('regDown', start, start + intervalMs);
        if (up === undefined || down === undefined) break;
        regUp.push(up);
        regDown.push(down);
      }
      out.energyUsdPerMwh.push(energy.price);
      if (energy.external) out.openadrIntervals++;
    }
    if (this.hasRegulation) {
      out.regUpUsdPerMwH = regUp;
      out.regDownUsdPerMwH = regDown;
    }
    return out;
  }
}

function seriesCurve(series: PriceSeries): StepCurve {
  return curveOf(
    series.starts,
    series.intervalMinutes * 60_000,
    series.energyPriceUsdPerMwh,
    series.regUpUsdPerMwH,
    series.regDownUsdPerMwH,
  );
}

function dailySource(description: string, series: PriceSeries, offsetMinutes: number): PriceSource {
  const days = wholeDays(series);
  if (days.length === 0)
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `dispatch prices: ${description} has no complete day (24 h from midnight)`,
    );
  const regulation = series.regUpUsdPerMwH !== undefined && series.regDownUsdPerMwH !== undefined;
  return new CurvePriceSource(
    `${description}, ${days.length} day(s) in turn, UTC${offsetMinutes >= 0 ? '+' : ''}${offsetMinutes / 60} h`,
    new DailyCurve(days, offsetMinutes * 60_000),
    regulation,
  );
}

function inlineStart(start: string | number): number {
  const at = typeof start === 'number' ? start : Date.parse(start);
  if (!Number.isFinite(at) || (typeof start === 'string' && !/(Z|[+-]\d\d:?\d\d)$/i.test(start.trim())))
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `dispatch.prices.start: "${start}" is not an ISO 8601 instant with an offset`,
    );
  return at;
}

/** Opens the configured price source (reads its file once). */
export async function openPriceSource(config: DispatchPrices): Promise<PriceSource> {
  if (config.kind === 'inline') {
    const start = inlineStart(config.start);
    const step = config.intervalSeconds * 1000;
    const starts = config.usdPerMwh.map((_, i) => start + i * step);
    const sameLength = (list: readonly number[] | undefined, name: string) => {
      if (list !== undefined && list.length !== config.usdPerMwh.length)
        throw new GridseamError('GW_ERR_CONFIG', `dispatch.prices.${name} must have one price per usdPerMwh entry`);
    };
    sameLength(config.regUpUsdPerMwH, 'regUpUsdPerMwH');
    sameLength(config.regDownUsdPerMwH, 'regDownUsdPerMwH');
    const regulation = config.regUpUsdPerMwH !== undefined && config.regDownUsdPerMwH !== undefined;
    return new CurvePriceSource(
      `inline, ${starts.length} x ${config.intervalSeconds} s from ${new Date(start).toISOString()}`,
      curveOf(starts, step, config.usdPerMwh, config.regUpUsdPerMwH, config.regDownUsdPerMwH),
      regulation,
    );
  }
  if (config.kind === 'sample') {
    const series = await readPriceCsv(fileURLToPath(SAMPLE_PRICES_FILE), SAMPLE_COLUMNS);
    return dailySource('CAISO 2020 sample (packages/dispatch/data)', series, config.utcOffsetMinutes ?? 0);
  }
  const series = await readPriceCsv(config.path, {
    ...(config.priceColumn !== undefined ? { priceColumn: config.priceColumn } : {}),
    ...(config.timeColumn !== undefined ? { timeColumn: config.timeColumn } : {}),
    ...(config.regUpColumn !== undefined ? { regUpColumn: config.regUpColumn } : {}),
    ...(config.regDownColumn !== undefined ? { regDownColumn: config.regDownColumn } : {}),
    ...(config.intervalMinutes !== undefined ? { intervalMinutes: config.intervalMinutes } : {}),
  });
  if (config.mapping === 'repeat-days') return dailySource(config.path, series, config.utcOffsetMinutes ?? 0);
  const regulation = series.regUpUsdPerMwH !== undefined && series.regDownUsdPerMwH !== undefined;
  return new CurvePriceSource(`${config.path} (its own times)`, seriesCurve(series), regulation);
}
