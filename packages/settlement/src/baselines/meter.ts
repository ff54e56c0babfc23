/**
 * NAESB non-baseline methods (bess_market.md §3.1): Meter Before / Meter After (MBMA) and Metering
 * Generator Output (MGO) for storage, with load offset and export kept apart (§3.5).
 */
import { GridseamError } from '@gridseam/model';
import type {
  BaselineInterval,
  BaselineResult,
  DeviceMeteringInput,
  DeviceMeteringInterval,
  MeterBeforeAfterInput,
} from '../contract.ts';
import { localParts } from '../time.ts';
import { invalid, requireFinite } from './support.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

function requireArrayLike(value: unknown, path: string): ArrayLike<number> {
  if (value === null || typeof value !== 'object' || typeof (value as ArrayLike<number>).length !== 'number')
    throw invalid(path, 'must be an array of numbers');
  return value as ArrayLike<number>;
}

function requireWindow(input: { eventStart: number; eventEnd: number; intervalMinutes: number }): void {
  requireFinite(input.eventStart, '/eventStart');
  requireFinite(input.eventEnd, '/eventEnd');
  if (input.eventEnd <= input.eventStart) throw invalid('/eventEnd', 'must be after eventStart');
  const minutes = requireFinite(input.intervalMinutes, '/intervalMinutes');
  if (minutes <= 0 || minutes > 1440) throw invalid('/intervalMinutes', 'must be in (0, 1440]');
}

/** Local date and hour label of an instant: in `timeZone` when given, else UTC. */
function localLabel(ms: number, timeZone: string | undefined): { date: string; hour: number; minute: number } {
  if (timeZone !== undefined) return localParts(ms, timeZone);
  const date = new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
  const inDay = ms - Math.floor(ms / DAY_MS) * DAY_MS;
  return { date, hour: Math.floor(inDay / HOUR_MS), minute: Math.floor((inDay % HOUR_MS) / 60_000) };
}

/**
 * MBMA (NAESB; ERCOT Load Resources): baseline of every event interval = mean load of the
 * intervals starting in [eventStart - beforeMinutes, eventStart) (default 60 min, the hour before
 * deployment); reduction = baseline - actual. No day-of adjustment; `days` is empty. Hour labels
 * and the event day are local to `timeZone` when given (an extension of the contract's input),
 * else UTC. Refused (GW_ERR_BASELINE_REFUSED) when no before-interval has data.
 */
export function meterBeforeMeterAfter(input: MeterBeforeAfterInput & { timeZone?: string }): BaselineResult {
  if (typeof input !== 'object' || input === null) throw invalid('', 'must be an object');
  requireWindow(input);
  const starts = requireArrayLike(input.starts, '/starts');
  const kwh = requireArrayLike(input.kwh, '/kwh');
  if (kwh.length !== starts.length) throw invalid('/kwh', 'must be as long as starts');
  const beforeMinutes = input.beforeMinutes === undefined ? 60 : requireFinite(input.beforeMinutes, '/beforeMinutes');
  if (beforeMinutes <= 0) throw invalid('/beforeMinutes', 'must be positive');
  const beforeFrom = input.eventStart - beforeMinutes * 60_000;
  const eventDay = localLabel(input.eventStart, input.timeZone).date;
  let beforeSum = 0;
  let beforeCount = 0;
  const eventIndexes: number[] = [];
  for (let i = 0; i < starts.length; i++) {
    const start = requireFinite(starts[i], `/starts/${i}`);
    const value = kwh[i]!;
    if (typeof value !== 'number' || value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY)
      throw invalid(`/kwh/${i}`, 'must be a finite number (NaN marks missing data)');
    if (start >= beforeFrom && start < input.eventStart) {
      if (!Number.isNaN(value)) {
        beforeSum += value;
        beforeCount++;
      }
    } else if (start >= input.eventStart && start < input.eventEnd) {
      if (Number.isNaN(value))
        throw new GridseamError('GW_ERR_BASELINE_REFUSED', `no load data for the event interval starting ${start}`, {
          details: { method: 'meter-before-meter-after', eventDay, interval: start },
        });
      eventIndexes.push(i);
    }
  }
  if (beforeCount === 0)
    throw new GridseamError(
      'GW_ERR_BASELINE_REFUSED',
      `meter-before-meter-after refused: no load data in the ${beforeMinutes} minutes before the event`,
      { details: { method: 'meter-before-meter-after', eventDay, found: 0, minimum: 1, days: [] } },
    );
  const baseline = beforeSum / beforeCount;
  const durationH = input.intervalMinutes / 60;
  const perHour = Math.max(1, Math.round(60 / input.intervalMinutes));
  const intervals: BaselineInterval[] = eventIndexes.map((i) => {
    const start = starts[i]!;
    const label = localLabel(start, input.timeZone);
    const actual = kwh[i]!;
    return {
      hour: label.hour,
      slot: label.hour * perHour + Math.floor((label.minute * perHour) / 60),
      start,
      durationH,
      unadjusted: baseline,
      baseline,
      actual,
      reduction: baseline - actual,
    };
  });
  return {
    method: 'meter-before-meter-after',
    eventDay,
    days: [],
    adjustment: { kind: 'none', raw: 0, applied: 0 },
    intervals,
    notes: [`baseline = mean of ${beforeCount} interval(s) in the ${beforeMinutes} minutes before the event`],
  };
}

/**
 * MGO for storage (§3.5): per event interval, discharge serves the site's gross load first
 * (gross = siteNetImport + deviceOutput, when positive) and the rest is export; charging counts
 * as chargeKwh. reduction = loadOffset (+ export when countExport; CAISO MGO counts load offset
 * only, so the default is false) - charge.
 */
export function deviceMetering(input: DeviceMeteringInput): DeviceMeteringInterval[] {
  if (typeof input !== 'object' || input === null) throw invalid('', 'must be an object');
  requireWindow(input);
  const starts = requireArrayLike(input.starts, '/starts');
  const device = requireArrayLike(input.deviceKwh, '/deviceKwh');
  const site = requireArrayLike(input.siteNetImportKwh, '/siteNetImportKwh');
  if (device.length !== starts.length) throw invalid('/deviceKwh', 'must be as long as starts');
  if (site.length !== starts.length) throw invalid('/siteNetImportKwh', 'must be as long as starts');
  const countExport = input.countExport === true;
  const durationH = input.intervalMinutes / 60;
  const out: DeviceMeteringInterval[] = [];
  for (let i = 0; i < starts.length; i++) {
    const start = requireFinite(starts[i], `/starts/${i}`);
    if (start < input.eventStart || start >= input.eventEnd) continue;
    const outputKwh = requireFinite(device[i], `/deviceKwh/${i}`);
    const netImport = requireFinite(site[i], `/siteNetImportKwh/${i}`);
    let loadOffsetKwh = 0;
    let exportKwh = 0;
    let chargeKwh = 0;
    if (outputKwh > 0) {
      const grossLoad = Math.max(0, netImport + outputKwh);
      loadOffsetKwh = Math.min(outputKwh, grossLoad);
      exportKwh = outputKwh - loadOffsetKwh;
    } else if (outputKwh < 0) chargeKwh = -outputKwh;
    out.push({
      start,
      durationH,
      outputKwh,
      loadOffsetKwh,
      exportKwh,
      chargeKwh,
      reduction: loadOffsetKwh + (countExport ? exportKwh : 0) - chargeKwh,
    });
  }
  return out;
}
