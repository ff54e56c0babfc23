/**
 * Offers from a dispatch plan (bess_market.md §4.4): an energy price-quantity curve per interval
 * (discharge positive, charge negative, monotone, at most 10 segments) and capacity offers per
 * product. Pure. docs/settlement.md "Offers and awards" documents the construction.
 */
import { GridseamError } from '@gridseam/model';
import type { CapacityOffer, EnergyOffer, MarketInterval, MarketRun, PriceQty } from '../contract.ts';
import { isoWithOffset } from '../time.ts';
import { Issues, isFiniteNumber, isInstant } from './check.ts';

/** Segments (price-quantity pairs) per curve: about 10 is what ISOs accept (§4.4). */
export const MAX_OFFER_SEGMENTS = 10;
export const MARKET_RUNS: readonly MarketRun[] = ['DA', 'RT', 'FMM', 'RTD'];
const HOUR_MS = 3_600_000;

/** The interval of an offer or award: UTC instants and the same as ISO-8601 in the market's zone. */
export function marketInterval(startMs: number, endMs: number, market: MarketRun, timeZone: string): MarketInterval {
  return {
    start: isoWithOffset(startMs, timeZone),
    end: isoWithOffset(endMs, timeZone),
    startMs,
    endMs,
    market,
  };
}

export interface EnergyOfferInterval {
  startMs: number;
  endMs: number;
  /** The plan's net position, kW (discharge positive). */
  plannedNetKw: number;
  maxDischargeKw: number;
  maxChargeKw: number;
  /** The price the plan was made with, $/MWh. */
  forecastPriceUsdPerMwh: number;
  /** Wear per MWh moved, $/MWh (default 0). */
  marginalCostUsdPerMwh?: number;
  /** Stored energy at the interval's start, MWh (with socMinMwh / socMaxMwh it bounds the curve). */
  socMwh?: number;
}

export interface EnergyOfferInput {
  resourceId: string;
  timeZone: string;
  market: MarketRun;
  intervals: readonly EnergyOfferInterval[];
  socMinMwh?: number;
  socMaxMwh?: number;
  /** Price-quantity pairs per curve, 3..10 (default 10). */
  maxSegments?: number;
  /** Price step between adjacent pairs, $/MWh (default max($1, 10% of |forecast|)). */
  priceStepUsdPerMwh?: number;
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f + 0; // + 0 turns -0 into 0
};

function checkMarket(market: unknown, issues: Issues): void {
  if (!MARKET_RUNS.includes(market as MarketRun)) issues.add('/market', `must be one of ${MARKET_RUNS.join(', ')}`);
}

function checkSpan(startMs: unknown, endMs: unknown, path: string, issues: Issues): void {
  if (!isInstant(startMs)) issues.add(`${path}/startMs`, 'must be an instant, integer epoch ms');
  if (!isInstant(endMs)) issues.add(`${path}/endMs`, 'must be an instant, integer epoch ms');
  else if (isInstant(startMs) && endMs <= startMs) issues.add(`${path}/endMs`, 'must be after startMs');
}

/**
 * One energy offer per interval. The curve, in MW and $/MWh, with P the plan's net position
 * (clamped to the limits within 1 W), D the discharge limit and -C the charge limit (both narrowed
 * by the stored energy when socMwh and socMinMwh / socMaxMwh are given, never below the plan), F the
 * forecast price, w the wear cost and s the price step:
 *   (P, F) — clearing at the forecast gives the plan;
 *   above: k_up pairs (P + (D - P) j / k_up, F + w + j s), j = 1..k_up — more discharge only when
 *   the price beats the forecast by the wear plus a spread;
 *   below: k_dn pairs (P - (P + C) j / k_dn, F - w - j s) — less discharge, then more charge, as the
 *   price falls; the lowest pair is (-C, ...), the highest (D, ...).
 * k_up + k_dn = maxSegments - 1, split in proportion to the MW on each side (at least one per side
 * that has room). Pairs are sorted by price; MW rounded to 1 W (1e-6 MW), prices to cents; a pair
 * that rounds to its neighbour's MW is dropped. Read as steps: at a clearing price the position is
 * the MW of the highest pair priced at or below it (below the first pair: the first pair's MW).
 */
export function buildEnergyOffers(input: EnergyOfferInput): EnergyOffer[] {
  const issues = new Issues();
  checkMarket(input.market, issues);
  const segments = input.maxSegments ?? MAX_OFFER_SEGMENTS;
  if (!Number.isInteger(segments) || segments < 3 || segments > MAX_OFFER_SEGMENTS)
    issues.add('/maxSegments', `must be an integer in [3, ${MAX_OFFER_SEGMENTS}]`);
  for (const key of ['socMinMwh', 'socMaxMwh', 'priceStepUsdPerMwh'] as const) {
    const v = input[key];
    if (v !== undefined && (!isFiniteNumber(v) || v < 0)) issues.add(`/${key}`, 'must be a finite number >= 0');
  }
  if (input.priceStepUsdPerMwh !== undefined && input.priceStepUsdPerMwh === 0)
    issues.add('/priceStepUsdPerMwh', 'must be > 0');
  input.intervals.forEach((interval, i) => {
    const path = `/intervals/${i}`;
    checkSpan(interval.startMs, interval.endMs, path, issues);
    for (const key of ['plannedNetKw', 'forecastPriceUsdPerMwh'] as const)
      if (!isFiniteNumber(interval[key])) issues.add(`${path}/${key}`, 'must be a finite number');
    for (const key of ['maxDischargeKw', 'maxChargeKw'] as const)
      if (!isFiniteNumber(interval[key]) || interval[key] < 0)
        issues.add(`${path}/${key}`, 'must be a finite number >= 0');
    for (const key of ['marginalCostUsdPerMwh', 'socMwh'] as const) {
      const v = interval[key];
      if (v !== undefined && (!isFiniteNumber(v) || v < 0))
        issues.add(`${path}/${key}`, 'must be a finite number >= 0');
    }
    const tolerance = 1e-3; // kW: 1 W of solver noise
    const limitsOk = [interval.maxDischargeKw, interval.maxChargeKw].every((v) => isFiniteNumber(v) && v >= 0);
    if (
      limitsOk &&
      isFiniteNumber(interval.plannedNetKw) &&
      (interval.plannedNetKw > interval.maxDischargeKw + tolerance ||
        interval.plannedNetKw < -interval.maxChargeKw - tolerance)
    )
      issues.add(`${path}/plannedNetKw`, 'must lie within [-maxChargeKw, maxDischargeKw]');
  });
  issues.throwIfAny('energy offer input');

  return input.intervals.map((interval) => {
    const hours = (interval.endMs - interval.startMs) / HOUR_MS;
    const f = interval.forecastPriceUsdPerMwh;
    const w = interval.marginalCostUsdPerMwh ?? 0;
    const step = input.priceStepUsdPerMwh ?? Math.max(1, 0.1 * Math.abs(f));
    let dischargeMw = interval.maxDischargeKw / 1000;
    let chargeMw = interval.maxChargeKw / 1000;
    const plannedMw = Math.min(dischargeMw, Math.max(-chargeMw, interval.plannedNetKw / 1000));
    // Stored energy bounds the curve (efficiency aside), never below what the plan itself does.
    if (interval.socMwh !== undefined) {
      if (input.socMinMwh !== undefined)
        dischargeMw = Math.min(dischargeMw, Math.max(plannedMw, 0, (interval.socMwh - input.socMinMwh) / hours));
      if (input.socMaxMwh !== undefined)
        chargeMw = Math.min(chargeMw, Math.max(-plannedMw, 0, (input.socMaxMwh - interval.socMwh) / hours));
    }
    const up = dischargeMw - plannedMw;
    const down = plannedMw + chargeMw;
    const spare = segments - 1;
    let kUp = 0;
    let kDown = 0;
    if (up > 0 && down > 0) {
      kUp = Math.min(spare - 1, Math.max(1, Math.round((spare * up) / (up + down))));
      kDown = spare - kUp;
    } else if (up > 0) kUp = spare;
    else if (down > 0) kDown = spare;
    const pairs: PriceQty[] = [];
    for (let j = kDown; j >= 1; j--) pairs.push({ mw: plannedMw - (down * j) / kDown, price: f - w - j * step });
    pairs.push({ mw: plannedMw, price: f });
    for (let j = 1; j <= kUp; j++) pairs.push({ mw: plannedMw + (up * j) / kUp, price: f + w + j * step });
    const curve: PriceQty[] = [];
    for (const pair of pairs) {
      const rounded = { mw: round(pair.mw, 6), price: round(pair.price, 2) };
      if (curve.length > 0 && rounded.mw <= (curve.at(-1) as PriceQty).mw) continue;
      curve.push(rounded);
    }
    const offer: EnergyOffer = {
      resourceId: input.resourceId,
      interval: marketInterval(interval.startMs, interval.endMs, input.market, input.timeZone),
      curve,
    };
    if (input.socMinMwh !== undefined) offer.socMinMwh = input.socMinMwh;
    if (input.socMaxMwh !== undefined) offer.socMaxMwh = input.socMaxMwh;
    if (interval.socMwh !== undefined) offer.initialSocMwh = round(interval.socMwh, 6);
    return offer;
  });
}

export type CapacityKey = 'regUp' | 'regDown' | 'spin' | 'nonSpin';
export const CAPACITY_PRODUCT_OF: Readonly<Record<CapacityKey, CapacityOffer['product']>> = {
  regUp: 'REG_UP',
  regDown: 'REG_DN',
  spin: 'SPIN',
  nonSpin: 'NONSPIN',
};
const CAPACITY_KEYS = Object.keys(CAPACITY_PRODUCT_OF) as CapacityKey[];

export interface CapacityOfferInterval {
  startMs: number;
  endMs: number;
  /** What the plan holds per product, kW. */
  capacityKw: Partial<Record<CapacityKey, number>>;
  /** The most the resource can hold across all products together, kW. */
  headroomKw: number;
  /** Offer price per product, $/MW-h (absent: 0, a price taker). */
  priceUsdPerMwh: Partial<Record<CapacityKey, number>>;
}

export interface CapacityOfferInput {
  resourceId: string;
  timeZone: string;
  market: MarketRun;
  intervals: readonly CapacityOfferInterval[];
}

/**
 * Capacity offers per interval and product (order: REG_UP, REG_DN, SPIN, NONSPIN), never more than
 * the headroom in total (§1.4: sum of products <= headroom): when the products ask for more, each
 * is scaled by headroom / total, and MW are rounded down to 1 W so the sum stays within it.
 * Products at 0 MW are left out.
 */
export function buildCapacityOffers(input: CapacityOfferInput): CapacityOffer[] {
  const issues = new Issues();
  checkMarket(input.market, issues);
  input.intervals.forEach((interval, i) => {
    const path = `/intervals/${i}`;
    checkSpan(interval.startMs, interval.endMs, path, issues);
    if (!isFiniteNumber(interval.headroomKw) || interval.headroomKw < 0)
      issues.add(`${path}/headroomKw`, 'must be a finite number >= 0');
    for (const [key, kw] of Object.entries(interval.capacityKw)) {
      if (!CAPACITY_KEYS.includes(key as CapacityKey)) issues.add(`${path}/capacityKw/${key}`, 'is not a product');
      else if (!isFiniteNumber(kw) || kw < 0) issues.add(`${path}/capacityKw/${key}`, 'must be a finite number >= 0');
    }
    for (const [key, price] of Object.entries(interval.priceUsdPerMwh)) {
      if (!CAPACITY_KEYS.includes(key as CapacityKey)) issues.add(`${path}/priceUsdPerMwh/${key}`, 'is not a product');
      else if (!isFiniteNumber(price)) issues.add(`${path}/priceUsdPerMwh/${key}`, 'must be a finite number');
    }
  });
  issues.throwIfAny('capacity offer input');

  const offers: CapacityOffer[] = [];
  for (const interval of input.intervals) {
    const total = CAPACITY_KEYS.reduce((sum, key) => sum + (interval.capacityKw[key] ?? 0), 0);
    const scale = total > interval.headroomKw ? interval.headroomKw / total : 1;
    const marketSpan = marketInterval(interval.startMs, interval.endMs, input.market, input.timeZone);
    for (const key of CAPACITY_KEYS) {
      // W, rounded down (1e-6 W absorbs float noise such as 0.2 MW = 199999.99999999997 W).
      const mw = Math.floor((interval.capacityKw[key] ?? 0) * scale * 1000 + 1e-6) / 1e6;
      if (!(mw > 0)) continue;
      offers.push({
        resourceId: input.resourceId,
        interval: { ...marketSpan },
        product: CAPACITY_PRODUCT_OF[key],
        mw,
        price: round(interval.priceUsdPerMwh[key] ?? 0, 2),
      });
    }
  }
  return offers;
}

/** The MW a step curve offers at a clearing price (the reading buildEnergyOffers documents). */
export function curveQuantityAt(curve: readonly PriceQty[], price: number): number {
  const first = curve[0];
  if (first === undefined) throw new GridseamError('GW_ERR_VALIDATION', 'an empty curve offers nothing');
  let mw = first.mw;
  for (const pair of curve) if (pair.price <= price) mw = pair.mw;
  return mw;
}
