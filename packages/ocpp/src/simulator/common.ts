/** Pieces both dialects share: time stamps, composite schedules on the wire, sampled values. */
import type { CompositeSchedule } from '../contract.ts';
import { roundLimit } from '../smart-charging/units.ts';
import { SAMPLED_MEASURANDS, type SampledMeasurand } from './constants.ts';
import type { MeterSample } from './types.ts';

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export interface WirePeriod {
  startPeriod: number;
  limit: number;
  numberPhases?: number;
}

/**
 * Composite periods as `chargingSchedulePeriod`: whole seconds from the schedule start, limits to
 * one decimal; periods that collapse onto the same second or limit after rounding are merged.
 */
export function compositePeriods(schedule: CompositeSchedule): WirePeriod[] {
  const out: WirePeriod[] = [];
  for (const period of schedule.periods) {
    const wire: WirePeriod = {
      startPeriod: Math.max(0, Math.round((period.start - schedule.start) / 1000)),
      limit: roundLimit(period.limit),
    };
    if (period.numberPhases !== undefined) wire.numberPhases = period.numberPhases;
    const last = out[out.length - 1];
    if (last && last.startPeriod === wire.startPeriod) out.pop();
    const previous = out[out.length - 1];
    if (previous && previous.limit === wire.limit && previous.numberPhases === wire.numberPhases) continue;
    out.push(wire);
  }
  if (out.length === 0 || out[0]!.startPeriod !== 0)
    out.unshift({ startPeriod: 0, limit: roundLimit(schedule.periods[0]!.limit) });
  return out;
}

/** Parses a comma-separated measurand list; undefined when one is not sampled by the simulator. */
export function parseMeasurands(value: string): SampledMeasurand[] | undefined {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const known = new Set<string>(SAMPLED_MEASURANDS);
  if (items.some((item) => !known.has(item))) return undefined;
  return items as SampledMeasurand[];
}

export interface NeutralSampledValue {
  measurand: SampledMeasurand;
  value: number;
  unit: 'Wh' | 'W' | 'A' | 'Percent';
  phase?: 'L1' | 'L2' | 'L3';
  location?: 'Outlet' | 'EV';
}

const PHASES = ['L1', 'L2', 'L3'] as const;

/** The sampled values of one meter sample, restricted to `measurands`, values rounded to 0.1. */
export function sampledValues(sample: MeterSample, measurands: readonly SampledMeasurand[]): NeutralSampledValue[] {
  const wanted = new Set(measurands);
  const round = (x: number): number => Math.round(x * 10) / 10;
  const out: NeutralSampledValue[] = [];
  if (wanted.has('Energy.Active.Import.Register')) {
    out.push({
      measurand: 'Energy.Active.Import.Register',
      value: round(sample.energyWh),
      unit: 'Wh',
      location: 'Outlet',
    });
  }
  if (wanted.has('Power.Active.Import')) {
    out.push({ measurand: 'Power.Active.Import', value: round(sample.powerW), unit: 'W', location: 'Outlet' });
  }
  if (wanted.has('Current.Import')) {
    for (const phase of PHASES.slice(0, Math.max(1, sample.phases))) {
      out.push({ measurand: 'Current.Import', value: round(sample.currentA), unit: 'A', phase, location: 'Outlet' });
    }
  }
  if (wanted.has('Current.Offered')) {
    out.push({ measurand: 'Current.Offered', value: round(sample.offeredA), unit: 'A', location: 'Outlet' });
  }
  if (wanted.has('SoC') && sample.socPct !== undefined) {
    out.push({ measurand: 'SoC', value: round(sample.socPct), unit: 'Percent', location: 'EV' });
  }
  return out;
}
