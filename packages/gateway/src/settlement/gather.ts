/**
 * What settlement reads from the gateway's records for one local day, as pure functions (the
 * service does the store reads): telemetry to metered intervals, program events, market awards
 * and the dispatch plan to per-device claims (bess_market.md §1.4: one ledger row per device,
 * interval and program).
 *
 * Rules (docs/reference/api.md "Settlement"):
 * - Metering: a device's activePower (W, discharge positive) in 1-minute bucket averages; an
 *   interval's energy = mean of its minutes with data x its hours; throughput = mean |minute| x hours
 *   (>= |energy| when the interval held both charge and discharge). No reading in an interval: no
 *   metered interval (reconciliation reports it).
 * - Claims are per device and settlement interval; an event interval that covers part of a
 *   settlement interval claims its share (energy over the overlap, capacity time-weighted).
 * - Energy: `fixedW` (W) is an obligation; else `energyAward` (MW by default) is one. A target
 *   device takes the value; a site, group or enrolment scope shares it over its storage devices by
 *   headroom in the value's direction (discharge rating for discharge, charge rating for charge),
 *   as the control engine's allocation does. An event of a 'demand-response' program without an
 *   energy signal claims what each device discharges, up to its rating (DR pays for delivery in
 *   the event window), which is not an obligation (no shortfall penalty).
 * - Capacity: `capacityAward` (W), else `regulationUp` + `regulationDown` (W), shared the same way.
 * - Prices: a `price` signal (USD/kWh unless its unit says MWh) first, then the clearing price of
 *   the stored award for the same instant and product that names the event (else has the same MW),
 *   then the dispatch plan's interval price for the dispatch program's events.
 * - Cancelled, superseded and opted-out events count up to the time they took that status.
 * - The latest dispatch plan's capacityKw per product becomes capacity claims of the program
 *   `<dispatch program>:<product>` priced by the plan's regulation prices, unless a market event
 *   already holds capacity on that device in that interval (an award replaces the plan's intent).
 */
import {
  type Device,
  type Enrolment,
  type Membership,
  membersAt,
  type Program,
  type ProgramEvent,
  type Signal,
} from '@gridseam/model';
import type { Award, Claim, MarketProduct, MeteredInterval } from '@gridseam/settlement';
import type { DispatchPlanDocument } from '../dispatch/types.ts';
import type { Bucket } from '../store/types.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** The settlement intervals to settle: consecutive starts, each `intervalMinutes` long. */
export interface SettlementGrid {
  starts: readonly number[];
  intervalMinutes: number;
}

/** What settlement needs of a storage device. */
export interface StorageFacts {
  deviceId: string;
  siteId: string;
  maxDischargeKw: number;
  maxChargeKw: number;
  /** The power it can hold as capacity, kW: the larger of its charge and discharge ratings. */
  headroomKw: number;
}

/** A device's storage facts, or undefined when it stores no energy (only storage is settled). */
export function storageFactsOf(device: Device): StorageFacts | undefined {
  const storage = device.capabilities.storage;
  if (storage === undefined) return undefined;
  const maxDischargeKw = storage.maxDischargeW / 1000;
  const maxChargeKw = storage.maxChargeW / 1000;
  const ratedKw = (device.capabilities.ratings?.maxW ?? 0) / 1000;
  return {
    deviceId: device.id,
    siteId: device.siteId,
    maxDischargeKw,
    maxChargeKw,
    headroomKw: Math.max(maxDischargeKw, maxChargeKw) || ratedKw,
  };
}

/**
 * A device's metered intervals on the grid from its activePower minute buckets (W, discharge
 * positive). `degradationUsdPerKwh` prices its throughput (MeteredInterval.degradationUsd).
 */
export function meteredIntervals(
  device: StorageFacts,
  minuteBuckets: readonly Bucket[],
  grid: SettlementGrid,
  degradationUsdPerKwh: number,
): MeteredInterval[] {
  const count = grid.starts.length;
  const first = grid.starts[0];
  if (first === undefined) return [];
  const intervalMs = grid.intervalMinutes * MINUTE_MS;
  const hours = grid.intervalMinutes / 60;
  const sum = new Float64Array(count);
  const sumAbs = new Float64Array(count);
  const minutes = new Uint32Array(count);
  for (const bucket of minuteBuckets) {
    const k = Math.floor((bucket.start - first) / intervalMs);
    if (k < 0 || k >= count || !Number.isFinite(bucket.avg)) continue;
    sum[k] = (sum[k] as number) + bucket.avg;
    sumAbs[k] = (sumAbs[k] as number) + Math.abs(bucket.avg);
    minutes[k] = (minutes[k] as number) + 1;
  }
  const out: MeteredInterval[] = [];
  for (let k = 0; k < count; k++) {
    const n = minutes[k] as number;
    if (n === 0) continue;
    const energyKwh = ((sum[k] as number) / n / 1000) * hours;
    const throughputKwh = ((sumAbs[k] as number) / n / 1000) * hours;
    out.push({
      deviceId: device.deviceId,
      siteId: device.siteId,
      start: grid.starts[k] as number,
      intervalMinutes: grid.intervalMinutes,
      energyKwh,
      throughputKwh,
      headroomKw: device.headroomKw,
      degradationUsd: degradationUsdPerKwh * throughputKwh,
    });
  }
  return out;
}

/** An award as stored by the market interface: the ISO's award and, when known, the events carrying it. */
export type SettlementAward = Award & { eventIds?: readonly string[] };

/** A claim with what part of its energy is an obligation (for shortfall penalties). */
export interface GatheredClaim extends Claim {
  /** Energy the program demanded (fixedW, energy award), kWh, signed; 0 for delivery-only claims. */
  obligationKwh: number;
}

export interface ClaimSources {
  grid: SettlementGrid;
  /** Claims cover only time before this instant (what has been metered). */
  until: number;
  events: readonly ProgramEvent[];
  programs: ReadonlyMap<string, Program>;
  storage: ReadonlyMap<string, StorageFacts>;
  enrolments: readonly Enrolment[];
  /** Membership history per group id. */
  memberships: ReadonlyMap<string, readonly Membership[]>;
  awards: readonly SettlementAward[];
  plan?: DispatchPlanDocument | undefined;
}

export interface GatheredClaims {
  claims: GatheredClaim[];
  notes: string[];
}

/** Statuses whose event applied for its whole window (completed ones ran their course). */
const APPLIED_STATUSES: ReadonlySet<ProgramEvent['status']> = new Set(['scheduled', 'active', 'completed']);

/** The instant an event stopped applying: never for applied statuses, else when it took its status. */
export function eventStoppedAt(event: ProgramEvent): number {
  if (APPLIED_STATUSES.has(event.status)) return Number.POSITIVE_INFINITY;
  for (let i = event.statusHistory.length - 1; i >= 0; i--) {
    const change = event.statusHistory[i];
    if (change?.status === event.status) return change.at;
  }
  return Number.NEGATIVE_INFINITY; // no record of when: it never applied
}

/** Watts of a power signal in its unit ('W', 'kW', 'MW'; `fallback` when absent or unknown). */
function wattsOf(signal: Signal, fallback: 'W' | 'MW'): number {
  const unit = (signal.unit ?? fallback).trim();
  if (unit === 'kW') return signal.value * 1e3;
  if (unit === 'MW') return signal.value * 1e6;
  if (unit === 'W') return signal.value;
  return fallback === 'MW' ? signal.value * 1e6 : signal.value;
}

/** $/MWh of a price signal: USD/kWh unless the unit names MWh (the model: currency per kWh). */
function priceUsdPerMwhOf(signal: Signal): number {
  return /mwh/i.test(signal.unit ?? '') ? signal.value : signal.value * 1000;
}

/** A set of devices an event value applies to: one device (takes the value) or an aggregate (shares it). */
interface Scope {
  deviceIds: string[];
  aggregate: boolean;
}

function storageAtSite(storage: ReadonlyMap<string, StorageFacts>, siteId: string): string[] {
  const ids: string[] = [];
  for (const facts of storage.values()) if (facts.siteId === siteId) ids.push(facts.deviceId);
  return ids.sort();
}

/** The scopes of an event at an instant, storage devices only (control/intents.ts eventScopes, resolved to devices). */
function scopesAt(event: ProgramEvent, at: number, sources: ClaimSources): Scope[] {
  const { storage } = sources;
  const scopes: Scope[] = [];
  const { siteIds = [], groupIds = [], deviceIds = [] } = event.targets;
  for (const id of siteIds) scopes.push({ deviceIds: storageAtSite(storage, id), aggregate: true });
  for (const id of groupIds)
    scopes.push({
      deviceIds: membersAt(sources.memberships.get(id) ?? [], at).filter((d) => storage.has(d)),
      aggregate: true,
    });
  for (const id of deviceIds) if (storage.has(id)) scopes.push({ deviceIds: [id], aggregate: false });
  if (siteIds.length + groupIds.length + deviceIds.length > 0) return scopes;
  // No targets: every site or device enrolled in the program at the instant.
  for (const enrolment of sources.enrolments) {
    if (enrolment.programId !== event.programId || enrolment.status !== 'active') continue;
    if (enrolment.validFrom > at || (enrolment.validTo !== undefined && at >= enrolment.validTo)) continue;
    if (enrolment.siteId !== undefined)
      scopes.push({ deviceIds: storageAtSite(storage, enrolment.siteId), aggregate: true });
    else if (enrolment.deviceId !== undefined && storage.has(enrolment.deviceId))
      scopes.push({ deviceIds: [enrolment.deviceId], aggregate: false });
  }
  return scopes;
}

/**
 * Each device's share of a scope's value (W): the device's own value when the scope is one
 * device, else shares by headroom in the value's direction (equal shares when none is rated).
 */
function shares(scope: Scope, valueW: number, storage: ReadonlyMap<string, StorageFacts>): Map<string, number> {
  const out = new Map<string, number>();
  if (!scope.aggregate) {
    for (const id of scope.deviceIds) out.set(id, valueW);
    return out;
  }
  const weight = (id: string) => {
    const facts = storage.get(id);
    if (facts === undefined) return 0;
    return valueW >= 0 ? facts.maxDischargeKw : facts.maxChargeKw;
  };
  const total = scope.deviceIds.reduce((sum, id) => sum + weight(id), 0);
  for (const id of scope.deviceIds)
    out.set(id, total > 0 ? (valueW * weight(id)) / total : valueW / scope.deviceIds.length);
  return out;
}

const CAPACITY_SIGNAL_PRODUCT: Readonly<Record<string, MarketProduct | undefined>> = {
  regulationUp: 'REG_UP',
  regulationDown: 'REG_DN',
  capacityAward: undefined, // any capacity product
};

/**
 * The clearing price of the stored award for this instant and product: the award that names the
 * event among the events carrying it (the market interface records `eventIds`; an award split
 * over members gives each its share of the MW), else one with the same MW (|mw| within 1e-6).
 */
function awardPrice(
  awards: readonly SettlementAward[],
  eventId: string,
  start: number,
  products: (product: MarketProduct) => boolean,
  mw: number,
): number | undefined {
  let byMw: number | undefined;
  for (const award of awards) {
    if (!(award.interval.startMs <= start && start < award.interval.endMs && products(award.product))) continue;
    if (award.eventIds?.includes(eventId)) return award.clearingPrice;
    if (byMw === undefined && Math.abs(Math.abs(award.mw) - Math.abs(mw)) < 1e-6) byMw = award.clearingPrice;
  }
  return byMw;
}

/** The dispatch plan's interval index holding an instant, or -1. */
function planIntervalAt(plan: DispatchPlanDocument, at: number): number {
  const intervals = plan.batteries[0]?.intervals;
  if (intervals !== undefined && intervals.length > 0) {
    for (let k = 0; k < intervals.length; k++) {
      const interval = intervals[k];
      if (interval !== undefined && interval.start <= at && at < interval.end) return k;
    }
    return -1;
  }
  const lengthMs = (plan.horizon.realIntervalSeconds ?? plan.horizon.intervalSeconds) * 1000;
  if (at < plan.horizon.start || at >= plan.horizon.end || lengthMs <= 0) return -1;
  return Math.floor((at - plan.horizon.start) / lengthMs);
}

/** A quantity-weighted mean `mean` over `weight` with one more `value` over `more` (the value alone at no weight). */
function withWeighted(mean: number | undefined, weight: number, value: number, more: number): number {
  return weight + more > 0 ? ((mean ?? 0) * weight + value * more) / (weight + more) : value;
}

/** Accumulates claims per (device, start, program); prices are quantity-weighted when parts differ. */
class ClaimBook {
  readonly #claims = new Map<string, GatheredClaim & { energyPriced: number; capacityPriced: number }>();

  add(
    base: { deviceId: string; siteId: string; programId: string; start: number; intervalMinutes: number },
    part: {
      energyKwh?: number;
      obligationKwh?: number;
      capacityKw?: number;
      energyPrice?: number | undefined;
      capacityPrice?: number | undefined;
    },
  ): void {
    const key = `${base.deviceId}\u0000${base.start}\u0000${base.programId}`;
    let claim = this.#claims.get(key);
    if (claim === undefined) {
      claim = { ...base, obligationKwh: 0, energyPriced: 0, capacityPriced: 0 };
      this.#claims.set(key, claim);
    }
    if (part.energyKwh !== undefined) {
      claim.energyKwh = (claim.energyKwh ?? 0) + part.energyKwh;
      if (part.energyPrice !== undefined) {
        const weight = Math.abs(part.energyKwh);
        claim.energyPriceUsdPerMwh = withWeighted(
          claim.energyPriceUsdPerMwh,
          claim.energyPriced,
          part.energyPrice,
          weight,
        );
        claim.energyPriced += weight;
      }
    }
    if (part.obligationKwh !== undefined) claim.obligationKwh += part.obligationKwh;
    if (part.capacityKw !== undefined) {
      claim.capacityKw = (claim.capacityKw ?? 0) + part.capacityKw;
      if (part.capacityPrice !== undefined) {
        const weight = Math.abs(part.capacityKw);
        claim.capacityPriceUsdPerMwh = withWeighted(
          claim.capacityPriceUsdPerMwh,
          claim.capacityPriced,
          part.capacityPrice,
          weight,
        );
        claim.capacityPriced += weight;
      }
    }
  }

  claims(): GatheredClaim[] {
    return [...this.#claims.values()]
      .map(({ energyPriced: _e, capacityPriced: _c, ...claim }) => claim)
      .sort((a, b) => a.start - b.start || cmp(a.deviceId, b.deviceId) || cmp(a.programId, b.programId));
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Per-device claims of one local day from events, awards (prices) and the latest dispatch plan. */
export function gatherClaims(sources: ClaimSources): GatheredClaims {
  const { grid, storage } = sources;
  const notes: string[] = [];
  const book = new ClaimBook();
  const intervalMs = grid.intervalMinutes * MINUTE_MS;
  const first = grid.starts[0];
  if (first === undefined) return { claims: [], notes };
  const gridEnd = Math.min(first + grid.starts.length * intervalMs, sources.until);
  const marketCapacity = new Set<string>(); // device|start held by a market event's capacity

  for (const event of sources.events) {
    const program = sources.programs.get(event.programId);
    const stoppedAt = eventStoppedAt(event);
    const isDr = program?.kind === 'demand-response';
    for (const interval of event.intervals) {
      const ivStart = interval.start;
      const ivEnd = Math.min(interval.start + interval.durationS * 1000, stoppedAt, gridEnd);
      if (ivEnd <= ivStart || ivEnd <= first) continue;
      const signal = (kind: string) => interval.signals.find((s) => s.kind === kind);
      const fixedW = signal('fixedW');
      const energyAward = signal('energyAward');
      const energyW =
        fixedW !== undefined
          ? wattsOf(fixedW, 'W')
          : energyAward !== undefined
            ? wattsOf(energyAward, 'MW')
            : undefined;
      const capacityAward = signal('capacityAward');
      const regUp = signal('regulationUp');
      const regDown = signal('regulationDown');
      const capacitySignals = [capacityAward, regUp, regDown].filter((s): s is Signal => s !== undefined);
      const capacityW =
        capacityAward !== undefined
          ? wattsOf(capacityAward, 'W')
          : regUp !== undefined || regDown !== undefined
            ? (regUp ? wattsOf(regUp, 'W') : 0) + (regDown ? wattsOf(regDown, 'W') : 0)
            : undefined;
      const priceSignal = signal('price');
      if (energyW === undefined && capacityW === undefined && !isDr) continue;

      // Prices of this event interval: price signal, else the award's clearing price, else the plan's.
      let energyPrice = priceSignal ? priceUsdPerMwhOf(priceSignal) : undefined;
      if (energyPrice === undefined && energyAward !== undefined)
        energyPrice = awardPrice(sources.awards, event.id, ivStart, (p) => p === 'ENERGY', energyAward.value);
      let capacityPrice: number | undefined;
      for (const s of capacitySignals) {
        const product = CAPACITY_SIGNAL_PRODUCT[s.kind];
        capacityPrice ??= awardPrice(
          sources.awards,
          event.id,
          ivStart,
          (p) => (product === undefined ? p !== 'ENERGY' : p === product),
          wattsOf(s, 'W') / 1e6,
        );
      }

      const k0 = Math.max(0, Math.floor((ivStart - first) / intervalMs));
      for (let k = k0; k < grid.starts.length; k++) {
        const start = grid.starts[k] as number;
        const from = Math.max(start, ivStart);
        const to = Math.min(start + intervalMs, ivEnd);
        if (to <= from) {
          if (start >= ivEnd) break;
          continue;
        }
        const overlapH = (to - from) / HOUR_MS;
        const fraction = (to - from) / intervalMs;
        let planPrice: number | undefined;
        if (energyPrice === undefined && sources.plan && sources.plan.programId === event.programId) {
          const p = planIntervalAt(sources.plan, from);
          planPrice = p >= 0 ? sources.plan.prices.energyUsdPerMwh[p] : undefined;
        }
        const seen = new Set<string>();
        for (const scope of scopesAt(event, from, sources)) {
          const ids = scope.deviceIds.filter((id) => !seen.has(id));
          if (ids.length === 0) continue;
          for (const id of ids) seen.add(id);
          const live = { deviceIds: ids, aggregate: scope.aggregate };
          const energyShares = energyW !== undefined ? shares(live, energyW, storage) : undefined;
          const capacityShares = capacityW !== undefined ? shares(live, capacityW, storage) : undefined;
          for (const id of ids) {
            const facts = storage.get(id) as StorageFacts;
            const base = {
              deviceId: id,
              siteId: facts.siteId,
              programId: event.programId,
              start,
              intervalMinutes: grid.intervalMinutes,
            };
            const energyShare = energyShares?.get(id);
            if (energyShare !== undefined) {
              const kwh = (energyShare / 1000) * overlapH;
              book.add(base, { energyKwh: kwh, obligationKwh: kwh, energyPrice: energyPrice ?? planPrice });
            } else if (isDr) {
              // A DR event without an energy signal claims the device's discharge in its window, up to its rating.
              book.add(base, { energyKwh: facts.maxDischargeKw * overlapH, energyPrice: energyPrice ?? planPrice });
            }
            const capacityShare = capacityShares?.get(id);
            if (capacityShare !== undefined) {
              book.add(base, { capacityKw: (capacityShare / 1000) * fraction, capacityPrice });
              if (event.source === 'market') marketCapacity.add(`${id}|${start}`);
            }
          }
        }
      }
    }
  }

  const plan = sources.plan;
  if (plan !== undefined && plan.status === 'ok') {
    const regPrices: Partial<Record<string, readonly number[] | undefined>> = {
      regUp: plan.prices.regUpUsdPerMwH,
      regDown: plan.prices.regDownUsdPerMwH,
    };
    for (const battery of plan.batteries) {
      const facts = storage.get(battery.deviceId);
      if (facts === undefined) continue;
      battery.intervals.forEach((interval, p) => {
        for (const [product, kw] of Object.entries(interval.capacityKw ?? {})) {
          if (kw === undefined || kw <= 0) continue;
          for (let k = 0; k < grid.starts.length; k++) {
            const start = grid.starts[k] as number;
            const from = Math.max(start, interval.start);
            const to = Math.min(start + intervalMs, interval.end, gridEnd);
            if (to <= from) continue;
            if (marketCapacity.has(`${battery.deviceId}|${start}`)) continue;
            book.add(
              {
                deviceId: battery.deviceId,
                siteId: facts.siteId,
                programId: planCapacityProgramId(plan.programId, product),
                start,
                intervalMinutes: grid.intervalMinutes,
              },
              { capacityKw: kw * ((to - from) / intervalMs), capacityPrice: regPrices[product]?.[p] },
            );
          }
        }
      });
    }
  }

  const claims = book.claims();
  const unpriced = claims.filter(
    (c) =>
      (c.energyKwh !== undefined && c.energyPriceUsdPerMwh === undefined) ||
      (c.capacityKw !== undefined && c.capacityPriceUsdPerMwh === undefined),
  ).length;
  if (unpriced > 0)
    notes.push(`${unpriced} claim(s) carry no price (no price signal, award or plan price): quantities only`);
  return { claims, notes };
}

/** The program id of a dispatch plan's capacity product (its own ledger row, beside the energy). */
export function planCapacityProgramId(programId: string, product: string): string {
  return `${programId}:${product}`;
}

/** ISO product names of the optimiser's capacity products (notes §4.4: REG_UP, REG_DN, SPIN, NONSPIN). */
const PRODUCT_CODES: Readonly<Record<string, string>> = {
  regUp: 'REG_UP',
  regDown: 'REG_DN',
  spinning: 'SPIN',
  nonSpinning: 'NONSPIN',
  drCapacity: 'DR_CAPACITY',
};

/** The charge code of a dispatch plan's capacity product line, e.g. `dispatch:REG_UP`. */
export function planCapacityChargeCode(programId: string, product: string): string {
  return `${programId}:${PRODUCT_CODES[product] ?? product.toUpperCase()}`;
}

/**
 * Awards as the market interface stores them: a document is one Award or `{awards: Award[]}`;
 * anything else is skipped and counted (bounded, defensive: these are another component's files).
 */
export function awardsOf(docs: readonly unknown[]): { awards: SettlementAward[]; skipped: number } {
  const awards: SettlementAward[] = [];
  let skipped = 0;
  const take = (value: unknown) => {
    if (isAward(value)) awards.push(value);
    else skipped++;
  };
  for (const doc of docs) {
    const list = isRecord(doc) && Array.isArray(doc.awards) ? (doc.awards as unknown[]) : undefined;
    if (list !== undefined) for (const item of list) take(item);
    else take(doc);
  }
  return { awards, skipped };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function isAward(value: unknown): value is SettlementAward {
  if (!isRecord(value) || !isRecord(value.interval)) return false;
  const eventIds = value.eventIds;
  if (eventIds !== undefined && !(Array.isArray(eventIds) && eventIds.every((id) => typeof id === 'string')))
    return false;
  return (
    typeof value.resourceId === 'string' &&
    typeof value.product === 'string' &&
    finite(value.mw) &&
    finite(value.clearingPrice) &&
    finite(value.interval.startMs) &&
    finite(value.interval.endMs)
  );
}
