/**
 * Event performance and payment (bess_market.md §3.6) per site, device and aggregation:
 *   delivered D = sum max(0, R_i)        (signed sum when netDelivered)
 *   PR          = sum min(R_i, O_i) / sum O_i   (sum R_i / sum O_i when credit is not capped)
 *   shortfall S = sum max(0, O_i - R_i);   penalty = S x rate
 *   payment     = sum max(0, R_i) x LMP_i  (Order 745 full LMP; $/MWh -> $/kWh / 1000)
 * R_i and O_i are energies (kWh) in interval i: O_i = obligationKw x durationH.
 */
import type {
  BaselineInterval,
  BaselineMethod,
  BaselineResult,
  EventIntervalInput,
  EventReport,
  EventSettlement,
  EventSettlementInput,
  EventSettlementInterval,
} from '../contract.ts';
import { invalid, requireFinite } from './support.ts';

/**
 * Settles one event for one resource. A zero total obligation gives PR = 1 (nothing was owed, so
 * nothing fell short). Throws GW_ERR_VALIDATION naming the field for non-finite numbers,
 * durationH <= 0, a negative obligation or a negative penalty rate.
 */
export function settleEvent(input: EventSettlementInput): EventSettlement {
  if (typeof input !== 'object' || input === null) throw invalid('', 'must be an event settlement input');
  const source = input.intervals;
  if (!Array.isArray(source)) throw invalid('/intervals', 'must be an array');
  const rate = input.penaltyUsdPerKwh === undefined ? 0 : requireFinite(input.penaltyUsdPerKwh, '/penaltyUsdPerKwh');
  if (rate < 0) throw invalid('/penaltyUsdPerKwh', 'must not be negative');
  const capCredit = input.capCreditAtObligation !== false;
  const netDelivered = input.netDelivered === true;
  let delivered = 0;
  let obligation = 0;
  let credit = 0;
  let shortfall = 0;
  let payment = 0;
  const intervals: EventSettlementInterval[] = new Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const item = source[i] as EventIntervalInput | undefined;
    if (typeof item !== 'object' || item === null) throw invalid(`/intervals/${i}`, 'must be an interval');
    const durationH = item.durationH;
    if (typeof durationH !== 'number' || !Number.isFinite(durationH) || durationH <= 0)
      throw invalid(`/intervals/${i}/durationH`, 'must be a finite number > 0');
    const reduction = item.reductionKwh;
    if (typeof reduction !== 'number' || !Number.isFinite(reduction))
      throw invalid(`/intervals/${i}/reductionKwh`, 'must be a finite number');
    const obligationKw = item.obligationKw;
    if (typeof obligationKw !== 'number' || !Number.isFinite(obligationKw) || obligationKw < 0)
      throw invalid(`/intervals/${i}/obligationKw`, 'must be a finite number >= 0');
    const price = item.priceUsdPerMwh;
    if (price !== undefined && (typeof price !== 'number' || !Number.isFinite(price)))
      throw invalid(`/intervals/${i}/priceUsdPerMwh`, 'must be a finite number');
    const obligationKwh = obligationKw * durationH;
    const positive = Math.max(reduction, 0);
    const deliveredKwh = netDelivered ? reduction : positive;
    const shortfallKwh = obligationKwh > reduction ? obligationKwh - reduction : 0;
    const energyPaymentUsd = price === undefined ? 0 : (positive * price) / 1000;
    delivered += deliveredKwh;
    obligation += obligationKwh;
    credit += capCredit && reduction > obligationKwh ? obligationKwh : reduction;
    shortfall += shortfallKwh;
    payment += energyPaymentUsd;
    const out: EventSettlementInterval = {
      reductionKwh: reduction,
      obligationKwh,
      deliveredKwh,
      shortfallKwh,
      energyPaymentUsd,
    };
    if (item.hour !== undefined) out.hour = item.hour;
    if (item.start !== undefined) out.start = item.start;
    if (price !== undefined) out.priceUsdPerMwh = price;
    intervals[i] = out;
  }
  return {
    deliveredKwh: delivered,
    obligationKwh: obligation,
    performanceRatio: obligation > 0 ? credit / obligation : 1,
    shortfallKwh: shortfall,
    penaltyUsd: shortfall * rate,
    energyPaymentUsd: payment,
    intervals,
  };
}

/**
 * A baseline's event intervals as settlement input: reduction from the baseline, a flat
 * obligation (kW), and an optional price per interval ($/MWh; undefined = no energy payment).
 */
export function intervalsFromBaseline(
  baseline: BaselineResult,
  obligationKw: number,
  prices?: (interval: BaselineInterval) => number | undefined,
): EventIntervalInput[] {
  requireFinite(obligationKw, '/obligationKw');
  if (obligationKw < 0) throw invalid('/obligationKw', 'must not be negative');
  const source = baseline.intervals;
  const out: EventIntervalInput[] = new Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const interval = source[i]!;
    const item: EventIntervalInput = {
      hour: interval.hour,
      durationH: interval.durationH,
      reductionKwh: interval.reduction,
      obligationKw,
    };
    if (interval.start !== undefined) item.start = interval.start;
    const price = prices?.(interval);
    if (price !== undefined) item.priceUsdPerMwh = price;
    out[i] = item;
  }
  return out;
}

export interface EventReportInput {
  eventId: string;
  programId: string;
  penaltyUsdPerKwh?: number;
  sites: Array<{ siteId: string; method: BaselineMethod; baseline?: BaselineResult; intervals: EventIntervalInput[] }>;
  devices?: Array<{ deviceId: string; siteId?: string; intervals: EventIntervalInput[] }>;
  aggregations?: Array<{ aggregationId: string; memberSiteIds: string[] }>;
}

/**
 * One event's report. Sites and devices are settled on their own intervals; an aggregation is
 * settled on the per-interval sum of its member sites' reductions and obligations (§3.6 applied to
 * the aggregate, so one member's over-delivery covers another's shortfall in the same interval).
 * Intervals match by start when every member interval has one, else by hour label (a repeated DST
 * hour matches by its occurrence). The aggregate interval's price is the members' price weighted
 * by their positive reduction (a plain mean when none delivered; absent when no member has one).
 */
export function eventReport(input: EventReportInput): EventReport {
  if (typeof input !== 'object' || input === null) throw invalid('', 'must be an event report input');
  if (typeof input.eventId !== 'string' || input.eventId === '')
    throw invalid('/eventId', 'must be a non-empty string');
  if (typeof input.programId !== 'string' || input.programId === '')
    throw invalid('/programId', 'must be a non-empty string');
  const rate = input.penaltyUsdPerKwh === undefined ? 0 : requireFinite(input.penaltyUsdPerKwh, '/penaltyUsdPerKwh');
  if (rate < 0) throw invalid('/penaltyUsdPerKwh', 'must not be negative');
  if (!Array.isArray(input.sites)) throw invalid('/sites', 'must be an array');
  const siteById = new Map<string, EventIntervalInput[]>();
  const sites = input.sites.map((site, i) => {
    if (typeof site !== 'object' || site === null || typeof site.siteId !== 'string' || site.siteId === '')
      throw invalid(`/sites/${i}/siteId`, 'must be a non-empty string');
    if (siteById.has(site.siteId)) throw invalid(`/sites/${i}/siteId`, `site ${site.siteId} listed twice`);
    siteById.set(site.siteId, site.intervals);
    const settlement = settleWithPath(site.intervals, rate, `/sites/${i}`);
    const entry: EventReport['sites'][number] = { siteId: site.siteId, method: site.method, settlement };
    if (site.baseline !== undefined) entry.baseline = site.baseline;
    return entry;
  });
  const devices = (input.devices ?? []).map((device, i) => {
    if (typeof device !== 'object' || device === null || typeof device.deviceId !== 'string' || device.deviceId === '')
      throw invalid(`/devices/${i}/deviceId`, 'must be a non-empty string');
    const entry: EventReport['devices'][number] = {
      deviceId: device.deviceId,
      settlement: settleWithPath(device.intervals, rate, `/devices/${i}`),
    };
    if (device.siteId !== undefined) entry.siteId = device.siteId;
    return entry;
  });
  const aggregations = (input.aggregations ?? []).map((aggregation, a) => {
    if (typeof aggregation !== 'object' || aggregation === null || !Array.isArray(aggregation.memberSiteIds))
      throw invalid(`/aggregations/${a}/memberSiteIds`, 'must be an array of site ids');
    const members = aggregation.memberSiteIds.map((siteId, m) => {
      const intervals = siteById.get(siteId);
      if (intervals === undefined)
        throw invalid(`/aggregations/${a}/memberSiteIds/${m}`, `site ${String(siteId)} is not in the report's sites`);
      return intervals;
    });
    return {
      aggregationId: aggregation.aggregationId,
      memberSiteIds: [...aggregation.memberSiteIds],
      settlement: settleWithPath(sumIntervals(members, `/aggregations/${a}`), rate, `/aggregations/${a}`),
    };
  });
  return { eventId: input.eventId, programId: input.programId, penaltyUsdPerKwh: rate, sites, devices, aggregations };
}

function settleWithPath(intervals: EventIntervalInput[], rate: number, path: string): EventSettlement {
  try {
    return settleEvent({ intervals, penaltyUsdPerKwh: rate });
  } catch (error) {
    const issue = (error as { issues?: ReadonlyArray<{ path: string; message: string }> }).issues?.[0];
    if (issue !== undefined) throw invalid(`${path}${issue.path}`, issue.message);
    throw error;
  }
}

interface Bucket {
  item: EventIntervalInput;
  priceWeight: number;
  priceWeighted: number;
  priceSum: number;
  priceCount: number;
}

/** Per-interval sums of several members' intervals (reduction kWh, obligation kW). */
function sumIntervals(members: ReadonlyArray<readonly EventIntervalInput[]>, path: string): EventIntervalInput[] {
  const byStart = members.every((intervals) => intervals.every((interval) => typeof interval.start === 'number'));
  const buckets = new Map<string, Bucket>();
  for (const intervals of members) {
    const seen = new Map<number, number>();
    for (const interval of intervals) {
      let key: string;
      if (byStart) key = `s${interval.start}`;
      else {
        if (typeof interval.hour !== 'number')
          throw invalid(path, 'member intervals need a start or an hour to be matched');
        const occurrence = seen.get(interval.hour) ?? 0;
        seen.set(interval.hour, occurrence + 1);
        key = `h${interval.hour}#${occurrence}`;
      }
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        const item: EventIntervalInput = { durationH: interval.durationH, reductionKwh: 0, obligationKw: 0 };
        if (interval.hour !== undefined) item.hour = interval.hour;
        if (interval.start !== undefined) item.start = interval.start;
        bucket = { item, priceWeight: 0, priceWeighted: 0, priceSum: 0, priceCount: 0 };
        buckets.set(key, bucket);
      } else if (bucket.item.durationH !== interval.durationH)
        throw invalid(path, `members disagree on the length of interval ${key.slice(1)}`);
      bucket.item.reductionKwh += interval.reductionKwh;
      bucket.item.obligationKw += interval.obligationKw;
      if (interval.priceUsdPerMwh !== undefined) {
        const weight = Math.max(interval.reductionKwh, 0);
        bucket.priceWeight += weight;
        bucket.priceWeighted += weight * interval.priceUsdPerMwh;
        bucket.priceSum += interval.priceUsdPerMwh;
        bucket.priceCount++;
      }
    }
  }
  const out: EventIntervalInput[] = [];
  for (const bucket of buckets.values()) {
    if (bucket.priceCount > 0)
      bucket.item.priceUsdPerMwh =
        bucket.priceWeight > 0 ? bucket.priceWeighted / bucket.priceWeight : bucket.priceSum / bucket.priceCount;
    out.push(bucket.item);
  }
  if (byStart) out.sort((a, b) => a.start! - b.start!);
  return out;
}
