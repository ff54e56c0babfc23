/**
 * The settlement package's contract: the shapes its parts exchange. Pure data; every function
 * that works on them is pure too (no clocks, files or sockets: callers pass instants and data).
 *
 * Facts behind the rules: ../shared/docs/notes/bess_market.md §1.4 (attribution), §3 (baselines
 * and M&V), §4 (FERC Order 2222 aggregations, offers, awards). docs/settlement.md documents every
 * default. Energy is kWh per interval, power kW, prices $/MWh (energy) or $/MW-h (capacity),
 * money USD. Signs follow the model's generator convention: discharge / export positive.
 */

// ====================================================================== time

/** A local operating day, `YYYY-MM-DD`, in the market's time zone. */
export type LocalDate = string;

/**
 * One day of interval data on the local clock. DST days have 23 or 25 hours: `slots` gives each
 * interval's local clock slot (hour-beginning x intervalsPerHour + k), so a 23-hour day lacks the
 * skipped hour's slots and a 25-hour day repeats the fall-back hour's slots, in time order.
 */
export interface LoadDay {
  date: LocalDate;
  /** Interval length, minutes; 60 / intervalMinutes intervals per hour (5, 15, 30 or 60). */
  intervalMinutes: number;
  /** Local clock slot of each interval, 0 .. 24 * 60 / intervalMinutes - 1. */
  slots: ArrayLike<number>;
  /** Energy per interval, kWh (site load: consumption positive); NaN = missing. */
  kwh: ArrayLike<number>;
  /** Interval starts, epoch ms, when known (data converted from instants). */
  starts?: ArrayLike<number>;
}

// ====================================================================== baselines

export type DayMatchingMethod = 'caiso-10in10' | 'caiso-5in10' | 'pjm-high4of5';
export type BaselineMethod = DayMatchingMethod | 'meter-before-meter-after' | 'device-metering';

/** Day-of adjustment over the window of `windowHours` hours ending `gapHours` before the event start. */
export interface AdjustmentRule {
  kind: 'ratio' | 'additive' | 'none';
  windowHours: number;
  gapHours: number;
  /** Ratio clamp (ratio only); additive is never capped unless these are given. */
  min?: number;
  max?: number;
}

/**
 * Every parameter of a day-matching baseline. Defaults per method (docs/settlement.md):
 * - caiso-10in10: lookback 45, weekday take 10 / min 5, weekend-holiday take 4 / min 2, ratio [0.8, 1.2], window 3 h gap 1 h.
 * - caiso-5in10: the same pool of 10 (4), keep the `highestOf` 5 (weekend 2) by event-hour load, ratio [0.6, 1.4].
 * - pjm-high4of5: weekday candidates 5 most recent eligible within 45 days, low-usage screen 25%, keep 4 highest;
 *   weekend/holiday 3 candidates keep 2; additive (symmetric) adjustment, no cap; window 3 h gap 1 h.
 */
export interface DayMatchingRules {
  lookbackDays: number;
  /** Days taken (or candidates, for pjm) for a weekday / weekend-or-holiday event day. */
  weekdayDays: number;
  weekendDays: number;
  /** Fewest acceptable; fewer -> GW_ERR_BASELINE_REFUSED. */
  weekdayMinDays: number;
  weekendMinDays: number;
  /** Keep the N highest by mean load over the event hours (5in10, pjm); undefined keeps all. */
  weekdayHighestOf?: number;
  weekendHighestOf?: number;
  /** pjm: drop a candidate whose event-hour mean is below this fraction of the candidates' mean. */
  lowUsageFraction?: number;
  adjustment: AdjustmentRule;
}

export interface DayMatchingInput {
  method: DayMatchingMethod;
  rules?: Partial<DayMatchingRules>;
  /** History and the event day, any order; one LoadDay per date. */
  days: readonly LoadDay[];
  eventDay: LocalDate;
  /** Local hour-beginning labels of the event, 0-23 (need not be contiguous; start = the smallest). */
  eventHours: readonly number[];
  /** Holidays count as weekend days (day type) for the day-type match. */
  holidays?: readonly LocalDate[];
  /** Days never eligible: past event days, test days, outage days, battery-dispatch days. */
  excludeDays?: readonly LocalDate[];
}

export interface BaselineInterval {
  /** Local hour-beginning label (0-23). */
  hour: number;
  /** Local clock slot (equals hour when hourly). */
  slot: number;
  start?: number;
  /** Interval length, hours. */
  durationH: number;
  unadjusted: number;
  /** Adjusted baseline, kWh in the interval. */
  baseline: number;
  actual: number;
  /** baseline - actual, kWh. */
  reduction: number;
}

export interface BaselineResult {
  method: BaselineMethod;
  eventDay: LocalDate;
  /** The days the baseline averages, ascending. */
  days: LocalDate[];
  /** raw = before the clamp; applied = after it (ratio: 1 = none; additive: kWh per interval, 0 = none). */
  adjustment: { kind: 'ratio' | 'additive' | 'none'; raw: number; applied: number };
  /** The event intervals in time order (a repeated DST hour appears twice). */
  intervals: BaselineInterval[];
  /** Human-readable notes: days dropped by the low-usage screen, a clipped window, ... */
  notes: string[];
}

/** Meter before / meter after (NAESB MBMA): reduction = mean of the intervals before the start minus each interval. */
export interface MeterBeforeAfterInput {
  /** Site load, kWh per interval, consecutive intervals, with their starts (epoch ms). */
  starts: ArrayLike<number>;
  kwh: ArrayLike<number>;
  intervalMinutes: number;
  eventStart: number;
  eventEnd: number;
  /** Minutes before the start averaged (default 60... documented: the hour before deployment). */
  beforeMinutes?: number;
}

/** Metering generator output (NAESB MGO) for storage: the device's own meter. */
export interface DeviceMeteringInput {
  starts: ArrayLike<number>;
  intervalMinutes: number;
  /** Device output, kWh per interval, discharge positive, charge negative. */
  deviceKwh: ArrayLike<number>;
  /** Site net at the point of interconnection, kWh per interval, import positive (load convention). */
  siteNetImportKwh: ArrayLike<number>;
  eventStart: number;
  eventEnd: number;
  /** Count exported discharge as reduction too (default false: CAISO MGO counts load offset only). */
  countExport?: boolean;
}

export interface DeviceMeteringInterval {
  start: number;
  durationH: number;
  outputKwh: number;
  /** Discharge that served on-site load. */
  loadOffsetKwh: number;
  /** Discharge that left the site. */
  exportKwh: number;
  /** Charging in the interval (a negative contribution), kWh >= 0. */
  chargeKwh: number;
  /** What the program credits: loadOffset (+ export when counted) - charge. */
  reduction: number;
}

// ====================================================================== performance (M&V)

export interface EventIntervalInput {
  hour?: number;
  start?: number;
  durationH: number;
  /** Measured response, kWh in the interval (baseline - actual, or metered output). */
  reductionKwh: number;
  /** Obligation, kW (an interval's obligation energy is obligationKw x durationH). */
  obligationKw: number;
  /** Energy price, $/MWh; absent = no energy payment for the interval. */
  priceUsdPerMwh?: number;
}

export interface EventSettlementInput {
  intervals: readonly EventIntervalInput[];
  penaltyUsdPerKwh?: number;
  /** Credit per interval capped at the obligation in the performance ratio (default true, §3.6). */
  capCreditAtObligation?: boolean;
  /** Net over- and under-performance in delivered energy (default false: sum of max(0, R)). */
  netDelivered?: boolean;
}

export interface EventSettlementInterval {
  hour?: number;
  start?: number;
  reductionKwh: number;
  obligationKwh: number;
  deliveredKwh: number;
  shortfallKwh: number;
  priceUsdPerMwh?: number;
  energyPaymentUsd: number;
}

/** §3.6: D = sum max(0,R)dt, PR = sum min(R,O) / sum O, S = sum max(0,O-R)dt, payment = sum max(0,R)dt LMP, penalty = S x rate. */
export interface EventSettlement {
  deliveredKwh: number;
  obligationKwh: number;
  performanceRatio: number;
  shortfallKwh: number;
  penaltyUsd: number;
  energyPaymentUsd: number;
  intervals: EventSettlementInterval[];
}

/** One event's report: per site, per device and per aggregation (sum of its members). */
export interface EventReport {
  eventId: string;
  programId: string;
  penaltyUsdPerKwh: number;
  sites: Array<{ siteId: string; method: BaselineMethod; settlement: EventSettlement; baseline?: BaselineResult }>;
  devices: Array<{ deviceId: string; siteId?: string; settlement: EventSettlement }>;
  aggregations: Array<{ aggregationId: string; memberSiteIds: string[]; settlement: EventSettlement }>;
}

// ====================================================================== aggregations (FERC 2222)

export type Iso = 'CAISO' | 'PJM' | 'ISO-NE' | 'NYISO' | 'MISO' | 'SPP' | 'ERCOT';

/** Draft -> utility review -> ISO review -> active; suspended, withdrawn, rejected (notes §4.1). */
export type RegistrationState =
  | 'draft'
  | 'utility-review'
  | 'iso-review'
  | 'active'
  | 'suspended'
  | 'rejected'
  | 'withdrawn';

export interface DistributionFactor {
  pnode: string;
  factor: number;
  validFrom: number;
  validTo?: number;
}

export interface RetailEnrolment {
  programId: string;
  /** The retail program lets the same kWh/kW also be sold wholesale (default false). */
  allowsWholesaleStacking?: boolean;
  validFrom: number;
  validTo?: number;
}

export interface AggregationMember {
  deviceId: string;
  siteId: string;
  /** Capacity the member brings, kW (discharge for storage). */
  capacityKw: number;
  pnode: string;
  validFrom: number;
  validTo?: number;
  retailPrograms?: RetailEnrolment[];
}

export interface Aggregation {
  id: string;
  iso: Iso;
  /** The ISO's resource id for the aggregation. */
  resourceId: string;
  name?: string;
  participationModel: string;
  /** Default per ISO: CAISO 500 kW (DERA), others 100 kW (Order 2222's ceiling on the minimum). */
  minimumSizeKw?: number;
  pricingNodes: string[];
  distributionFactors: DistributionFactor[];
  members: AggregationMember[];
  /** The distribution utility that reviews it; reviewDays default 60 (PJM). */
  utility: { name: string; reviewDays?: number };
  registration: {
    state: RegistrationState;
    history: Array<{ state: RegistrationState; at: number; actor: string; note?: string }>;
  };
  /** The control engine group that holds the members (awards target it). */
  groupId?: string;
  /** Primacy of the program events that awards become (default 150: after utilities, before dispatch's 200). */
  awardPrimacy?: number;
}

/** An aggregation with what follows from it at an instant (aggregationView): what the API and console show. */
export interface AggregationView {
  aggregation: Aggregation;
  /** validateAggregation from the instant on ('stacking' entries are warnings, the others block registration). */
  problems: AggregationProblem[];
  /** Capacity of the members in force, kW, and the minimum it must reach (the ISO's default when unset). */
  capacityKw: number;
  minimumSizeKw: number;
  /** The registration states it may move to next (REGISTRATION_MOVES). */
  nextStates: RegistrationState[];
  /** The ISO's market clock (offers and hour-ending awards use it). */
  timeZone: string;
  /** End of the distribution utility's review, while under review. */
  utilityReviewDue?: number;
}

export interface AggregationProblem {
  code: 'factor-sum' | 'factor-pnode' | 'minimum-size' | 'member-overlap' | 'member-pnode' | 'no-members' | 'stacking';
  at?: number;
  message: string;
}

// ====================================================================== offers and awards (notes §4.4)

export type MarketRun = 'DA' | 'RT' | 'FMM' | 'RTD';
export interface MarketInterval {
  /** ISO-8601 with offset, and the same instants as epoch ms. */
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  market: MarketRun;
}

export interface PriceQty {
  /** MW, discharge positive, charge negative. */
  mw: number;
  /** $/MWh (energy) or $/MW-h (capacity). */
  price: number;
}

export interface EnergyOffer {
  resourceId: string;
  interval: MarketInterval;
  /** Monotone: mw non-decreasing as price rises; at most 10 segments. */
  curve: PriceQty[];
  selfScheduleMw?: number;
  socMinMwh?: number;
  socMaxMwh?: number;
  initialSocMwh?: number;
}

export type MarketProduct = 'ENERGY' | 'REG_UP' | 'REG_DN' | 'SPIN' | 'NONSPIN';

export interface CapacityOffer {
  resourceId: string;
  interval: MarketInterval;
  product: Exclude<MarketProduct, 'ENERGY'>;
  mw: number;
  price: number;
}

export interface Award {
  resourceId: string;
  interval: MarketInterval;
  product: MarketProduct;
  /** Energy: MW, discharge positive; capacity: MW held. */
  mw: number;
  clearingPrice: number;
}

// ====================================================================== ledger and settlement (notes §1.4)

/** A program or market product a device's energy or capacity can be attributed to. */
export interface ProgramRule {
  id: string;
  kind: 'retail' | 'wholesale' | 'merchant';
  /** Lower first when two claims compete for the same kWh (the 2030.5 primacy habit). */
  precedence: number;
  /** Programs this one may share the same kWh/kW with (symmetric if either lists the other). */
  stacksWith?: string[];
  /** Charge codes of its settlement lines. */
  energyChargeCode?: string;
  capacityChargeCode?: string;
  penaltyChargeCode?: string;
}

/** What one program says it used of a device in one interval (from events, awards, plans). */
export interface Claim {
  deviceId: string;
  siteId?: string;
  programId: string;
  /** Interval start, epoch ms, and length, minutes. */
  start: number;
  intervalMinutes: number;
  /** Energy the program asked for, kWh, signed (discharge positive). */
  energyKwh?: number;
  /** Capacity the program holds, kW. */
  capacityKw?: number;
  /** Price for the interval ($/MWh energy, $/MW-h capacity), when the program pays by interval. */
  energyPriceUsdPerMwh?: number;
  capacityPriceUsdPerMwh?: number;
}

/** What the device's meter measured in one interval. */
export interface MeteredInterval {
  deviceId: string;
  siteId?: string;
  start: number;
  intervalMinutes: number;
  /** Signed energy, kWh, discharge positive. */
  energyKwh: number;
  /** Throughput |charge| + |discharge| when the interval held both; default |energyKwh|. */
  throughputKwh?: number;
  /** Headroom the device could offer as capacity, kW (its rating). */
  headroomKw: number;
  /** Degradation cost of the interval, USD (from rainflow / throughput pricing). */
  degradationUsd?: number;
}

/** One line of the ledger: one device, one interval, one program (or 'unattributed'). */
export interface LedgerEntry {
  deviceId: string;
  siteId?: string;
  start: number;
  intervalMinutes: number;
  programId: string;
  energyKwh: number;
  capacityKw: number;
  /** Degradation cost allocated by throughput share. */
  degradationUsd: number;
}

export const UNATTRIBUTED = 'unattributed';

export interface AttributionConflict {
  deviceId: string;
  start: number;
  kind: 'energy' | 'capacity' | 'metered';
  programs: string[];
  quantity: number;
  limit: number;
  message: string;
}

export interface Ledger {
  entries: LedgerEntry[];
  /** Claims cut short because the meter did not measure enough (not a double attribution). */
  curtailedClaims: Array<{
    deviceId: string;
    start: number;
    programId: string;
    /** kWh for energy, kW for capacity. */
    kind?: 'energy' | 'capacity';
    claimed: number;
    attributed: number;
  }>;
}

export interface SettlementLine {
  resourceId: string;
  programId: string;
  chargeCode: string;
  start: number;
  intervalMinutes: number;
  quantity: number;
  unit: 'kWh' | 'kW' | 'MWh' | 'MW' | 'USD';
  price: number;
  amount: number;
  source: 'ISO_STATEMENT' | 'SHADOW';
}

export interface ReconciliationGap {
  deviceId: string;
  start: number;
  kind: 'unmetered' | 'unsettled' | 'quantity' | 'statement';
  settledKwh: number;
  meteredKwh: number;
  message: string;
}

export interface ReconciliationReport {
  intervals: number;
  settledKwh: number;
  meteredKwh: number;
  gaps: ReconciliationGap[];
  toleranceKwh: number;
}

/** What a settlement run adds up to (settlementTotals). */
export interface SettlementTotals {
  /** Sum of |energy| over attributed ledger entries (unattributed excluded), kWh. */
  attributedKwh: number;
  /** Metered signed energy of the day, kWh, and its throughput. */
  meteredKwh: number;
  throughputKwh: number;
  /** Positive amounts of energy and capacity lines (dailySummaries' revenue). */
  revenueUsd: number;
  /** Negative amounts of energy and capacity lines (charging bought at the interval price), as a positive cost. */
  energyCostUsd: number;
  penaltyUsd: number;
  degradationUsd: number;
  /** revenue - energy cost - penalties - degradation. */
  netUsd: number;
  lines: number;
  entries: number;
  claims: number;
  curtailedClaims: number;
  gaps: number;
}

/** A day's summary per program: what the console and the JSON export show. */
export interface DailyProgramSummary {
  date: LocalDate;
  programId: string;
  energyKwh: number;
  capacityKwH: number;
  revenueUsd: number;
  penaltyUsd: number;
  degradationUsd: number;
}
